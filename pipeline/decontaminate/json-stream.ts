/**
 * Finds the records of a JSON benchmark file in text fed in chunks, so a large file is never held
 * whole: the elements of a top-level array, or of the array under a top-level `example` key
 * (GAOKAO-Bench's `{"keywords": …, "example": [ … ]}`; also `examples`, `data`, `questions`). Each
 * element's text is parsed on its own. Pure and total: the outcome says what went wrong, nothing throws.
 */

export const RECORD_KEYS = ['example', 'examples', 'data', 'questions'] as const;
const TARGET_KEYS: ReadonlySet<string> = new Set(RECORD_KEYS);

export type ElementResult = { ok: true; value: unknown } | { ok: false; error: string };

export type ScanOutcome =
  | { kind: 'ok'; elements: number }
  /** No records array: a top-level object without one of RECORD_KEYS (its keys listed), or a bare value. */
  | { kind: 'unknown-shape'; keys: string[] }
  | { kind: 'truncated' };

const WS = new Set([' ', '\t', '\n', '\r', '\ufeff']);

export class JsonRecordScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private top: '{' | '[' | null = null;
  /** Depth at which records start; -1 not found yet, -2 the records array has closed. */
  private target = -1;
  private capturing = false;
  private buf = '';
  private keyBuf = '';
  private keyString = false;
  private lastKey = '';
  private readonly keys: string[] = [];
  private elements = 0;

  constructor(private readonly onElement: (element: ElementResult, index: number) => void) {}

  write(chunk: string): void {
    let start = this.capturing ? 0 : -1;
    let keyStart = this.keyString ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          if (this.keyString) {
            this.keyBuf += chunk.slice(keyStart, i + 1);
            this.keyString = false;
            keyStart = -1;
          }
        }
        continue;
      }
      if (WS.has(c)) continue;
      const atRecord = this.depth === this.target;
      if (atRecord && this.capturing && (c === ',' || c === ']')) {
        // A record that is a bare value (string, number) ends here.
        this.buf += chunk.slice(start, i);
        this.emit();
        start = -1;
      }
      if (c === '"') {
        this.inString = true;
        if (atRecord && !this.capturing) {
          this.capturing = true;
          start = i;
        } else if (this.depth === 1 && this.top === '{' && this.target === -1) {
          this.keyString = true;
          this.keyBuf = '';
          keyStart = i;
        }
      } else if (c === '{' || c === '[') {
        if (this.depth === 0) {
          this.top = c;
          if (c === '[') this.target = 1;
        } else if (this.depth === 1 && this.top === '{' && c === '[' && this.target === -1 && TARGET_KEYS.has(this.lastKey)) {
          this.target = 2;
        } else if (atRecord && !this.capturing) {
          this.capturing = true;
          start = i;
        }
        this.depth++;
      } else if (c === '}' || c === ']') {
        this.depth--;
        if (this.capturing && this.depth === this.target) {
          this.buf += chunk.slice(start, i + 1);
          this.emit();
          start = -1;
        } else if (this.depth === this.target - 1 && this.target > 0) {
          this.target = -2;
        }
      } else if (c === ':' && this.depth === 1 && this.top === '{') {
        this.lastKey = parseKey(this.keyBuf);
        this.keys.push(this.lastKey);
      } else if (atRecord && !this.capturing && c !== ',') {
        this.capturing = true;
        start = i;
      }
    }
    if (this.capturing && start >= 0) this.buf += chunk.slice(start);
    if (this.keyString && keyStart >= 0) this.keyBuf += chunk.slice(keyStart);
  }

  end(): ScanOutcome {
    if (this.depth !== 0 || this.inString || this.capturing) return { kind: 'truncated' };
    if (this.target === -1) return { kind: 'unknown-shape', keys: this.keys };
    return { kind: 'ok', elements: this.elements };
  }

  private emit(): void {
    const text = this.buf;
    this.buf = '';
    this.capturing = false;
    const index = this.elements++;
    let element: ElementResult;
    try {
      element = { ok: true, value: JSON.parse(text) };
    } catch (err) {
      element = { ok: false, error: (err as Error).message };
    }
    this.onElement(element, index);
  }
}

function parseKey(raw: string): string {
  try {
    const key: unknown = JSON.parse(raw);
    return typeof key === 'string' ? key : '';
  } catch {
    return '';
  }
}
