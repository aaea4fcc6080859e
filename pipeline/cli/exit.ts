/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  failure: 1,
  /** Bad usage: unknown flag, bad value, bad input file, missing API key. */
  usage: 2,
} as const;

/** An error the CLI reports as one line and exits with `code`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly code: number = EXIT.usage) {
    super(message);
  }
}
