import { backoffMs } from '../run/attempt.js';
import type { Clock } from '../clock.js';
import type { RetryDecision } from '../providers/provider.js';
import { classifyError } from '../providers/openai.js';

export interface ControlPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  signal?: AbortSignal;
}

/** Ctrl-C while a Files or Batches call was waiting to be retried. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** A Files or Batches call that failed for good: what failed, and why, classified like a model call. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly what: string,
    readonly decision: RetryDecision,
    options?: ErrorOptions,
  ) {
    super(`${what}: ${decision.kind}: ${decision.message}`, options);
  }
}

/**
 * A Files or Batches call with the runner's retry rules: retryable errors (429, 5xx, timeouts,
 * connection) are retried after Retry-After or an exponential backoff, up to `maxRetries`.
 * `beforeRetry` may settle the call another way first: creating a batch is retried only after
 * checking that the failed attempt did not create it after all (harness/batch/submit.ts).
 */
export async function withRetries<T>(
  what: string,
  call: () => Promise<T>,
  policy: ControlPolicy,
  beforeRetry?: () => Promise<T | undefined>,
): Promise<T> {
  const random = policy.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    let decision: RetryDecision;
    let cause: unknown;
    try {
      return await call();
    } catch (err) {
      if (policy.signal?.aborted) throw new Interrupted(`${what}: interrupted`, { cause: err });
      decision = classifyError(err);
      cause = err;
    }
    if (!decision.retry || attempt > policy.maxRetries) throw new ControlError(what, decision, { cause });
    try {
      await policy.clock.sleep(decision.afterMs ?? backoffMs(attempt, random), policy.signal);
    } catch {
      throw new Interrupted(`${what}: interrupted`);
    }
    const settled = await beforeRetry?.();
    if (settled !== undefined) return settled;
  }
}

/**
 * Runs `fn` with a signal of its own that the run's signal aborts. The SDK adds an abort listener to
 * the signal of every request and never removes it: handing it the run's long-lived signal for each
 * poll of a batch that runs for hours would pile up one listener per poll.
 */
export async function linked<T>(
  signal: AbortSignal | undefined,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (!signal) return fn(undefined);
  const own = new AbortController();
  const onAbort = () => own.abort(signal.reason);
  if (signal.aborted) own.abort(signal.reason);
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(own.signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
