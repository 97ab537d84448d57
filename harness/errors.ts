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
  | 'RUN_NOT_FOUND'
  | 'RUN_MISMATCH'
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
