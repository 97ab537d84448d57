import type { Usage } from './pricing.js';

/** One successful call, as measured by the provider around the request alone. */
export interface Completion {
  text: string;
  toolCalls: { name: string; arguments: string }[];
  usage: Usage;
  finishReason: string | null;
  /** The snapshot the API reports serving (`model` in the response), which may differ from the alias asked for. */
  servedModel: string | null;
  requestId: string | null;
  /** `openai-processing-ms`: the server's own time. */
  serverMs: number | null;
  serviceTier: string | null;
  /** Request sent → last byte received; null only for a replayed production response logged without one. */
  latencyMs: number | null;
  /** Request sent → first output token; null when not streaming. */
  ttftMs: number | null;
  /** True when holdout's simulator served the call (it says so in a header). */
  simulated: boolean;
}

export type ErrorKind =
  | 'rate_limit'
  /** A 429 `rate_limit_exceeded` of type `tokens` saying the request alone exceeds the TPM limit: it can never succeed. */
  | 'request_too_large'
  | 'insufficient_quota'
  | 'server_error'
  | 'timeout'
  | 'connection'
  | 'truncated_stream'
  /** A Chat stream that finished (finish_reason, then a clean end) with no usage chunk: the endpoint ignores stream_options. */
  | 'no_stream_usage'
  | 'malformed_response'
  | 'response_failed'
  | 'bad_request'
  | 'context_length_exceeded'
  | 'auth'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'client_error'
  | 'no_production'
  | 'internal';

export type RetryDecision =
  | { retry: false; kind: ErrorKind; status?: number; message: string }
  | { retry: true; kind: ErrorKind; status?: number; message: string; afterMs?: number };

/** A provider makes one attempt and says which of its errors are retryable; the runner owns retries. */
export interface Provider {
  complete(body: Record<string, unknown>, signal: AbortSignal): Promise<Completion>;
  classify(err: unknown): RetryDecision;
  /** Where the calls go (the client's base URL), for messages; absent when there is no endpoint. */
  endpoint?: string;
  /** The endpoint's own per-attempt timeout (its `timeout_ms`), in place of the caller's policy. */
  timeoutMs?: number;
}

/** A stream that ended before its terminal event: the usage (and so the cost) never arrived. */
export class TruncatedStreamError extends Error {
  override readonly name = 'TruncatedStreamError';
}

/**
 * A Chat stream that finished normally but never sent the usage chunk `stream_options.include_usage`
 * asks for: the endpoint ignores the option (some Azure OpenAI API versions, some gateways), so every
 * call to it would be the same, and its cost unknowable.
 */
export class MissingStreamUsageError extends Error {
  override readonly name = 'MissingStreamUsageError';
}

/** A response whose terminal event reported failure (`response.failed`, or `status: failed`), with its error code. */
export class ResponseFailedError extends Error {
  override readonly name = 'ResponseFailedError';
  constructor(
    message: string,
    /** `response.error.code` (e.g. `server_error`, `rate_limit_exceeded`, `insufficient_quota`). */
    readonly code?: string | null,
  ) {
    super(message);
  }
}
