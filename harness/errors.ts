/**
 * Expected failures: the CLI prints the message (and hint) without a stack and exits with
 * `exitCode`. Anything that is not a HarnessError is a bug and gets its full stack.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'DATASET_INVALID'
  | 'DATASET_EMPTY'
  | 'DATASET_NOT_FOUND'
  | 'STORE_OPEN'
  | 'STORE_VERSION'
  /** The disk holding the database is full (SQLITE_FULL): exit 1, the run resumable. */
  | 'STORE_FULL'
  /** The database could not be written (SQLITE_IOERR…): exit 1, the run resumable. */
  | 'STORE_WRITE'
  | 'RUN_NOT_FOUND'
  | 'RUN_MISMATCH'
  /** Another live holdout process holds the run's lease (results/store/lease.ts): exit 2. */
  | 'RUN_BUSY'
  /** Another process took the run's lease over while this one worked on it: exit 1. */
  | 'RUN_LEASE_LOST'
  /** A run's records cannot be completed from its dataset (missing or changed file): exit 2. */
  | 'RUN_RECORDS'
  /** The budget stopped a pass outside `holdout run` (router calls of `holdout route`): exit 1. */
  | 'BUDGET_REACHED'
  | 'PROVIDER_AUTH'
  | 'INTERRUPTED'
  | 'USAGE';

export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions & { hint?: string; exitCode?: number },
  ) {
    super(message, options);
    this.hint = options?.hint;
    this.exitCode = options?.exitCode ?? 2;
  }
  readonly hint: string | undefined;
  readonly exitCode: number;
}
