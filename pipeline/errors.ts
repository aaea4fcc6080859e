/**
 * One error hierarchy for the library. Every error it throws on purpose is a `PipelineError` with a
 * `category`, which the CLI maps to an exit code in one place (`cli/exit.ts`), and an optional `cause`.
 *
 * Messages name library options (`maxCost`), never CLI flags: a caller of the library has no flags. An
 * error about one option carries it in `option`, and its message reads `option: detail`, so the CLI can
 * say `--max-cost: detail` instead.
 */

export type ErrorCategory =
  /** Bad options or bad input (a file, a value, a database of the wrong kind): nothing was sent or written. */
  | 'usage'
  /** Another process holds the database. Try again later. */
  | 'locked'
  /** The model API did not answer the start-up probe. */
  | 'unavailable'
  /** The run itself failed: the API refused the key, too many requests in a row failed, a database error. */
  | 'failed';

export interface PipelineErrorOptions {
  cause?: unknown;
  /** The option at fault, in the library's spelling (`maxCost`). */
  option?: string;
}

export class PipelineError extends Error {
  override name = 'PipelineError';
  readonly option: string | undefined;
  /** The message without the `option: ` prefix. */
  readonly detail: string;

  constructor(
    readonly category: ErrorCategory,
    detail: string,
    options: PipelineErrorOptions = {},
  ) {
    super(options.option === undefined ? detail : `${options.option}: ${detail}`, { cause: options.cause });
    this.option = options.option;
    this.detail = detail;
  }
}

/** Bad options or bad input, found before anything was sent or written. */
export class UsageError extends PipelineError {
  override name = 'UsageError';
  constructor(detail: string, options: PipelineErrorOptions = {}) {
    super('usage', detail, options);
  }
}

/** The model API did not answer the start-up probe (wrong base URL, server down, no network). */
export class UnavailableError extends PipelineError {
  override name = 'UnavailableError';
  constructor(detail: string, options: PipelineErrorOptions = {}) {
    super('unavailable', detail, options);
  }
}

/** The error's category, for any thrown value: anything not ours is a failed run. */
export function categoryOf(err: unknown): ErrorCategory {
  return err instanceof PipelineError ? err.category : 'failed';
}
