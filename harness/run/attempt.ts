import type { CallRow } from '../../results/store/store.js';
import type { Clock } from '../clock.js';
import { costUsd, type PriceRule } from '../providers/pricing.js';
import type { Completion, ErrorKind, Provider, RetryDecision } from '../providers/provider.js';
import { safeErrorText } from '../secrets.js';

/** Errors that every further call to the same endpoint would repeat: stop sending, record nothing, resume later. */
export const FATAL_KINDS: ReadonlySet<ErrorKind> = new Set([
  'auth',
  'not_found',
  'insufficient_quota',
  'no_stream_usage',
]);

export interface AttemptPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Per attempt, the whole response included (a stream that stalls mid-body times out too). */
  timeoutMs: number;
  clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  /** The run's signal (Ctrl-C). */
  signal?: AbortSignal;
}

export interface CallOutcome {
  completion?: Completion;
  /** The last failure: the reason there is no completion, or a retried error before it. */
  failure?: RetryDecision;
  attempts: number;
  /** Retry waits and failed attempts: kept apart from latency. */
  waitedMs: number;
  startedAt: string;
  /** The run's signal aborted the call: an unfinished call is not a result, so it must not be stored. */
  interrupted: boolean;
  /** A failure that every further call would repeat (key, model, quota): not stored either. */
  fatal: boolean;
  /** Price the call by this rule instead of the candidate's (a replayed answer logged from another model). */
  price?: PriceRule;
}

class TimeoutError extends Error {}

/**
 * The attempts in flight under each run signal, aborted together by one listener on it. A listener
 * per attempt meant adding and removing one on an EventTarget that holds all the others (64 at the
 * benchmark's concurrency), which Node walks on every add and remove: the largest cost of this file
 * in the benchmark's profile.
 */
const inFlight = new WeakMap<AbortSignal, Set<AbortController>>();

/** Aborts `attempt` when `signal` aborts (at once if it has); returns the function that stops that. */
function follow(signal: AbortSignal, attempt: AbortController): () => void {
  if (signal.aborted) {
    attempt.abort(signal.reason);
    return () => {};
  }
  let attempts = inFlight.get(signal);
  if (!attempts) {
    const all = new Set<AbortController>();
    signal.addEventListener(
      'abort',
      () => {
        for (const a of all) a.abort(signal.reason);
        all.clear();
      },
      { once: true },
    );
    inFlight.set(signal, all);
    attempts = all;
  }
  const set = attempts;
  set.add(attempt);
  return () => set.delete(attempt);
}

/** Exponential backoff like the SDK's: min(0.5 s · 2^(n−1), 8 s), less up to 25% jitter. */
export function backoffMs(retry: number, random: () => number): number {
  return Math.min(500 * 2 ** (retry - 1), 8000) * (1 - 0.25 * random());
}

/**
 * One logical call: attempts with a timeout each, retried on retryable errors (Retry-After honoured,
 * else exponential backoff with jitter). The provider's own latency figure covers the successful
 * attempt alone, so neither retries nor waits inflate it.
 */
export async function callWithRetries(
  provider: Provider,
  body: Record<string, unknown>,
  policy: AttemptPolicy,
): Promise<CallOutcome> {
  const { clock, signal } = policy;
  const random = policy.random ?? Math.random;
  // An endpoint's own timeout_ms wins over the run's (or the router's).
  const timeoutMs = provider.timeoutMs ?? policy.timeoutMs;
  const out: CallOutcome = {
    attempts: 0,
    waitedMs: 0,
    startedAt: clock.isoNow(),
    interrupted: false,
    fatal: false,
  };
  for (;;) {
    out.attempts++;
    const attemptStart = clock.now();
    // One controller per attempt, aborted by the timer or by the run's signal. Not AbortSignal.any:
    // on Node 20 every signal it derives stays referenced by the long-lived run signal, so memory
    // grew with the number of calls.
    const attempt = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort(new TimeoutError());
    }, timeoutMs);
    const unfollow = signal ? follow(signal, attempt) : undefined;
    try {
      out.completion = await provider.complete(body, attempt.signal);
      return out;
    } catch (err) {
      if (signal?.aborted) {
        out.interrupted = true;
        return out;
      }
      const failure: RetryDecision = timedOut
        ? { retry: true, kind: 'timeout', message: `no complete response within ${timeoutMs} ms` }
        : provider.classify(err);
      // The message goes into rows, warnings and "stopped" lines: no key, no control character.
      out.failure = { ...failure, message: safeErrorText(failure.message) };
      out.waitedMs += clock.now() - attemptStart;
    } finally {
      clearTimeout(timer);
      unfollow?.();
    }
    const failure = out.failure;
    if (FATAL_KINDS.has(failure.kind)) {
      out.fatal = true;
      return out;
    }
    if (!failure.retry || out.attempts > policy.maxRetries) return out;
    const wait = failure.afterMs ?? backoffMs(out.attempts, random);
    const sleepStart = clock.now();
    try {
      await clock.sleep(wait, signal);
    } catch {
      out.interrupted = true;
      return out;
    }
    out.waitedMs += clock.now() - sleepStart;
  }
}

/** What identifies a stored call besides its outcome. */
export interface CallKey {
  runId: number;
  recordId: string;
  /** For judge rows: the candidate whose output was judged; for router rows: the router's name. */
  candidate: string;
  repeat: number;
  role: CallRow['role'];
  /** Tells apart several calls of one role on the same (record, candidate, repeat): e.g. judge scorer and order. */
  aux?: string;
}

/** The row to store for a finished (not interrupted, not fatal) call. */
export function callRowFrom(
  key: CallKey,
  price: PriceRule,
  o: CallOutcome,
  queueMs: number,
  finishedAt: string,
): CallRow {
  // One flat literal: a spread of shared fields into each branch was a slow path in V8 (≈18 µs a row).
  const x = o.completion;
  const f = o.failure;
  return {
    runId: key.runId,
    recordId: key.recordId,
    candidate: key.candidate,
    repeat: key.repeat,
    role: key.role,
    aux: key.aux ?? '',
    status: x ? 'ok' : 'error',
    output: x ? x.text : null,
    toolCallsJson: x && x.toolCalls.length > 0 ? JSON.stringify(x.toolCalls) : null,
    finishReason: x ? x.finishReason : null,
    inputTokens: x ? x.usage.inputTokens : null,
    cachedTokens: x ? x.usage.cachedTokens : null,
    cacheWriteTokens: x ? (x.usage.cacheWriteTokens ?? 0) : null,
    outputTokens: x ? x.usage.outputTokens : null,
    reasoningTokens: x ? x.usage.reasoningTokens : null,
    costUsd: x ? costUsd(x.usage, o.price ?? price, x.serviceTier) : null,
    latencyMs: x ? x.latencyMs : null,
    ttftMs: x ? x.ttftMs : null,
    queueMs,
    backoffMs: o.waitedMs,
    attempts: o.attempts,
    errorKind: f && !x ? f.kind : null,
    errorMessage: f && !x ? safeErrorText(f.message).slice(0, 2000) : null,
    httpStatus: x ? 200 : (f?.status ?? null),
    servedModel: x ? x.servedModel : null,
    requestId: x ? x.requestId : null,
    serverMs: x ? x.serverMs : null,
    serviceTier: x ? x.serviceTier : null,
    simulated: x ? x.simulated : false,
    startedAt: o.startedAt,
    finishedAt,
  };
}

/** Consecutive connection failures, with no call of the candidate ever succeeding, that stop it. */
export const MAX_CONSECUTIVE_CONNECTION_FAILURES = 8;

/**
 * Tells a dead endpoint (a wrong `base_url`, a host that refuses or never answers) from a flaky one.
 * While a candidate has had no success at all, calls that end in a connection failure are held back
 * instead of stored; once `limit` of them come in a row, the endpoint is taken as dead: the held
 * calls are dropped (nothing stored, so a rerun after fixing the URL redoes them, as after the other
 * fatal stops) and the candidate stops. Any other outcome releases the held calls (they are real
 * errors then) and resets the count; the first success ends the watch.
 */
export class ConnectionWatch<T> {
  private succeeded = false;
  private stopped = false;
  private streak = 0;
  private held: T[] = [];

  constructor(private readonly limit = MAX_CONSECUTIVE_CONNECTION_FAILURES) {}

  /** What to store now, and whether this outcome is the one that stops the candidate. */
  see(outcome: CallOutcome, item: T): { store: T[]; stop: boolean } {
    const connectionFailure = !outcome.completion && outcome.failure?.kind === 'connection';
    if (this.succeeded || !connectionFailure) {
      if (outcome.completion) this.succeeded = true;
      this.streak = 0;
      if (this.held.length === 0) return { store: [item], stop: false };
      const out = [...this.held, item];
      this.held = [];
      return { store: out, stop: false };
    }
    if (this.stopped) return { store: [], stop: false };
    this.streak++;
    this.held.push(item);
    if (this.streak < this.limit) return { store: [], stop: false };
    this.stopped = true;
    this.held = [];
    return { store: [], stop: true };
  }

  /** At the end of the run: the calls still held (fewer than `limit` failures), to store as errors. */
  drain(): T[] {
    const out = this.held;
    this.held = [];
    return out;
  }
}
