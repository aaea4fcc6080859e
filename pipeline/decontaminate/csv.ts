/**
 * An RFC 4180 CSV parser fed text in chunks of any size (quoted fields may hold commas, quotes written
 * twice and line breaks); rows come out as they complete, so a file is never held whole. Pure and total:
 * any text parses (a stray quote inside an unquoted field is kept as text).
 */
export class CsvParser {
  private field = '';
  private row: string[] = [];
  private quoted = false;
  /** In a quoted field, a quote seen: either the field's end or the first of a doubled quote. */
  private quotePending = false;
  private atFieldStart = true;
  private pendingCR = false;
  /** 1-based line where the current row starts. */
  private line = 1;
  private rowLine = 1;

  constructor(private readonly onRow: (row: string[], line: number) => void) {}

  write(chunk: string): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === '\n') continue;
      }
      if (this.quoted) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === '"') {
            this.field += '"';
            continue;
          }
          this.quoted = false;
          // Fall through: the character after a closing quote is read as unquoted.
        } else if (c === '"') {
          this.quotePending = true;
          continue;
        } else {
          if (c === '\n') this.line++;
          this.field += c;
          continue;
        }
      }
      if (c === '"' && this.atFieldStart) {
        this.quoted = true;
        this.atFieldStart = false;
      } else if (c === ',') {
        this.endField();
      } else if (c === '\n' || c === '\r') {
        this.endRow();
        this.line++;
        if (c === '\r') this.pendingCR = true;
      } else {
        this.field += c;
        this.atFieldStart = false;
      }
    }
  }

  /** The last row, when the text does not end with a line break. */
  end(): void {
    this.quoted = false;
    this.quotePending = false;
    if (this.field !== '' || this.row.length > 0) this.endRow();
  }

  private endField(): void {
    this.row.push(this.field);
    this.field = '';
    this.atFieldStart = true;
  }

  private endRow(): void {
    this.endField();
    const row = this.row;
    this.row = [];
    // Blank lines are not rows.
    if (!(row.length === 1 && row[0] === '')) this.onRow(row, this.rowLine);
    this.rowLine = this.line + 1;
  }
}
