/**
 * Keeps the endpoint's secrets out of everything we write. A server may echo the caller's key in a
 * reply (a task "explain this key: sk-…") or quote it, whole or abbreviated (`sk-relte...776d`), in an
 * error body; a base URL may carry a password in its userinfo. Every reply and every error message of
 * the LLM layer passes through `Redactor.text` before it leaves the layer, so no byte of a secret
 * reaches the database, a log, an export or the terminal. Pure and linear in the text's length.
 */

/** What replaces a secret: short, fixed, and not itself shaped like a key. */
export const REDACTED = '[REDACTED]';

/** Shorter strings are not treated as secrets: replacing every "abc" in replies would mangle data. */
const MIN_SECRET_LENGTH = 8;
/** A prefix or suffix this short of a key proves nothing (every key starts with "sk-"). */
const MIN_SHOWN_PART = 4;

/** Anything shaped like an OpenAI-style key, whole (sk-…, sk-proj-…). */
const KEY_SHAPED = /\bsk-[A-Za-z0-9_-]{8,}/g;
/**
 * An abbreviated key as error pages print them: a head, an ellipsis or a run of stars, a tail
 * (`sk-relte...776d`, `sk-abc*****wxyz`, `sk-ab…yz`). Bounded quantifiers: linear time.
 */
const ABBREVIATED = /[A-Za-z0-9_-]{1,64}(?:\.{2,8}|…{1,3}|\*{2,64})[A-Za-z0-9_-]{0,64}/g;

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: readonly (string | undefined)[]) {
    // Longest first, so a key that contains another secret is replaced whole.
    this.secrets = [...new Set(secrets.filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH))].sort(
      (a, b) => b.length - a.length,
    );
  }

  /** The secrets of an endpoint: its key and any password (or token-shaped user) in its base URL. */
  static forEndpoint(apiKey: string | undefined, baseURL?: string): Redactor {
    const { username, password, rawUsername, rawPassword } = userinfo(baseURL);
    return new Redactor([apiKey, password, username, rawPassword, rawUsername]);
  }

  /** `text` with every secret, key-shaped string and abbreviation of a secret replaced by REDACTED. */
  text(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    // Abbreviations first: a key-shaped head would otherwise be replaced alone, leaving its "..." behind.
    out = out.replace(ABBREVIATED, (match) => (this.abbreviates(match) ? REDACTED : match));
    return out.replace(KEY_SHAPED, REDACTED);
  }

  /** Whether `match` (head, ellipsis, tail) shortens a secret or a key-shaped string. */
  private abbreviates(match: string): boolean {
    const parts = /^([A-Za-z0-9_-]+)(?:\.+|…+|\*+)([A-Za-z0-9_-]*)$/.exec(match);
    if (parts === null) return false;
    const [, head = '', tail = ''] = parts;
    if (head.startsWith('sk-') && head.length >= 3 + 1) return true;
    return this.secrets.some(
      (s) => head.length >= MIN_SHOWN_PART && s.startsWith(head) && s.endsWith(tail) && head.length + tail.length < s.length,
    );
  }
}

/** A base URL as it may be shown: any userinfo (`user:key@`) replaced. Unparsable URLs are redacted whole. */
export function displayURL(baseURL: string): string {
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    return /@/.test(baseURL) ? REDACTED : baseURL;
  }
  if (url.username === '' && url.password === '') return baseURL;
  url.username = '';
  url.password = '';
  return url.toString().replace('://', `://${REDACTED}@`);
}

/** Whether a base URL carries credentials in its userinfo. */
export function hasUserinfo(baseURL: string | undefined): boolean {
  const { username, password } = userinfo(baseURL);
  return username !== undefined || password !== undefined;
}

/** The userinfo of a URL, decoded and as written (percent-encoded): a secret may show up either way. */
function userinfo(baseURL: string | undefined): { username?: string; password?: string; rawUsername?: string; rawPassword?: string } {
  if (baseURL === undefined) return {};
  try {
    const url = new URL(baseURL);
    return {
      ...(url.username !== '' && { username: safeDecode(url.username), rawUsername: url.username }),
      ...(url.password !== '' && { password: safeDecode(url.password), rawPassword: url.password }),
    };
  } catch {
    return {};
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
