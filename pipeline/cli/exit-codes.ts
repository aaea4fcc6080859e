/**
 * The exit codes, documented in the README. Apart from exit.ts, which maps errors to them, so `--help` and an
 * unknown command exit without loading the library.
 */
export const EXIT = {
  ok: 0,
  /** The run failed: too many requests in a row failed, the API refused the key, a DB error. */
  failure: 1,
  /** Bad usage or bad input: unknown flag, bad value, bad seed/template/config/DB file, missing API key. */
  usage: 2,
  /** Stopped cleanly at --max-cost or --max-requests; the run can be resumed with a larger budget. */
  budget: 3,
  /** The model's base URL did not answer the start-up probe (sysexits EX_UNAVAILABLE). */
  unavailable: 69,
  /** Another process holds the database (sysexits EX_TEMPFAIL): try again later. */
  locked: 75,
  /** Stopped by SIGINT (Ctrl-C) / SIGTERM: 128 + signal number, as shells report it. */
  interrupted: 130,
  terminated: 143,
} as const;
