import { setMaxListeners } from 'node:events';
import type { ApiStyle, HoldoutRecord } from '../datasets/record.js';
import type { CallRow, ScoreRow, Store } from '../results/store.js';
import type { BoundScorer } from '../scorers/index.js';
import type { Clock } from './clock.js';
import { type PriceRule, costUsd } from './pricing.js';
import type { Completion, ErrorKind, Provider, RetryDecision } from './provider.js';
import { buildRequest } from './request.js';
import { dispatch, type Lane } from './scheduler.js';

export interface CandidatePlan {
  id: string;
  model: string;
  api: ApiStyle;
  params: Record<string, unknown>;
  concurrency: number;
  price: PriceRule;
  provider: Provider;
}

export interface RunPlan {
  runId: number;
  candidates: CandidatePlan[];
  repeats: number;
  /** Calls in flight across all candidates. */
  concurrency: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Per attempt, the whole response included (a stream that stalls mid-body times out too). */
  timeoutMs: number;
  stream: boolean;
  /** Re-attempt work items whose stored row is an error (the new row replaces it). */
  retryErrors: boolean;
}

export interface RunProgress {
  total: number;
  done: number;
  errors: number;
  costUsd: number;
  /** Items finished by this process (not counting those found already done). */
  doneNow: number;
}

export interface RunReporter {
  start(p: RunProgress): void;
  callDone(row: CallRow, p: RunProgress): void;
  warn(message: string): void;
}

export interface RunSummary extends RunProgress {
  aborted: boolean;
  /** Candidates stopped early by an error that every further call would repeat (key, model, quota). */
  stopped: Record<string, string>;
  /** Every work item has a row. */
  complete: boolean;
}

export interface RunDeps {
  store: Store;
  scorers: BoundScorer[];
  clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  reporter?: Partial<RunReporter>;
  signal?: AbortSignal;
}

interface WorkItem {
  recordId: string;
  bodyJson: string;
  repeat: number;
  replace: boolean;
  pulledAt: number;
}

/** Errors that every further call of the candidate would repeat: stop sending, record nothing, resume later. */
const STOPS_CANDIDATE: ReadonlySet<ErrorKind> = new Set(['auth', 'not_found', 'insufficient_quota']);
const PAGE = 256;

class TimeoutError extends Error {}

/** Exponential backoff like the SDK's: min(0.5 s · 2^(n−1), 8 s), less up to 25% jitter. */
export function backoffMs(retry: number, random: () => number): number {
  return Math.min(500 * 2 ** (retry - 1), 8000) * (1 - 0.25 * random());
}

/**
 * Replays every record through every candidate (× repeats), scores each output and commits each
 * call with its scores as soon as it finishes. Work already in the store is skipped, so a rerun
 * after a crash or Ctrl-C does only what is missing.
 */
export async function runEval(plan: RunPlan, deps: RunDeps): Promise<RunSummary> {
  const { store, clock, signal } = deps;
  const random = deps.random ?? Math.random;
  const reporter = deps.reporter ?? {};
  const stopped: Record<string, string> = {};
  const warnedDropped = new Set<string>();
  const total = store.recordCount(plan.runId) * plan.repeats * plan.candidates.length;
  const existing = store.runTotals(plan.runId);
  const progress: RunProgress = {
    total,
    done: existing.n,
    errors: existing.errors,
    costUsd: existing.cost,
    doneNow: 0,
  };
  if (plan.retryErrors) {
    progress.done -= existing.errors;
    progress.errors = 0;
  }
  reporter.start?.({ ...progress });

  // Every attempt in flight listens on the run's signal; without this Node warns of a leak past 10.
  if (signal) setMaxListeners(plan.concurrency + 16, signal);
  const lanes = plan.candidates.map((c) => lane(c));
  await dispatch(lanes, plan.concurrency, (item, i) => execute(plan.candidates[i]!, item), signal);

  const aborted = signal?.aborted ?? false;
  return { ...progress, aborted, stopped, complete: !aborted && progress.done >= total };

  function lane(c: CandidatePlan): Lane<WorkItem> {
    let afterSeq = -1;
    let page: { seq: number; record_id: string; body_json: string }[] = [];
    let index = 0;
    let repeat = 0;
    return {
      limit: c.concurrency,
      next() {
        for (;;) {
          if (stopped[c.id] !== undefined) return undefined;
          if (index >= page.length) {
            page = store.recordPage(plan.runId, afterSeq, PAGE);
            index = 0;
            repeat = 0;
            if (page.length === 0) return undefined;
            afterSeq = page.at(-1)!.seq;
          }
          const rec = page[index]!;
          const r = repeat;
          if (++repeat >= plan.repeats) {
            repeat = 0;
            index++;
          }
          // A fresh run has no rows to skip: no lookup per work item on the hot path.
          const status = existing.n > 0 ? store.callStatus(plan.runId, rec.record_id, c.id, r) : undefined;
          if (status === 'ok' || (status === 'error' && !plan.retryErrors)) continue;
          return {
            recordId: rec.record_id,
            bodyJson: rec.body_json,
            repeat: r,
            replace: status === 'error',
            pulledAt: clock.now(),
          };
        }
      },
    };
  }

  async function execute(c: CandidatePlan, item: WorkItem): Promise<void> {
    const record = JSON.parse(item.bodyJson) as HoldoutRecord;
    const { body, dropped } = buildRequest(record, {
      model: c.model,
      api: c.api,
      params: c.params,
      stream: plan.stream,
    });
    if (dropped.length > 0 && !warnedDropped.has(c.id)) {
      warnedDropped.add(c.id);
      reporter.warn?.(
        `${c.id}: the ${c.api} API has no equivalent for ${dropped.join(', ')} (record ${item.recordId}); left out`,
      );
    }
    const startedAt = clock.isoNow();
    let queueMs = 0;
    let waitedMs = 0;
    let attempts = 0;
    let completion: Completion | undefined;
    let failure: RetryDecision | undefined;

    while (completion === undefined) {
      attempts++;
      const attemptStart = clock.now();
      if (attempts === 1) queueMs = attemptStart - item.pulledAt;
      // One controller per attempt, aborted by the timer or by the run's signal. Not AbortSignal.any:
      // on Node 20 every signal it derives stays referenced by the long-lived run signal, so memory
      // grew with the number of calls.
      const attempt = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        attempt.abort(new TimeoutError());
      }, plan.timeoutMs);
      const onAbort = () => attempt.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        completion = await c.provider.complete(body, attempt.signal);
      } catch (err) {
        if (signal?.aborted) return; // Ctrl-C: an unfinished call is not a result; resume redoes it.
        failure = timedOut
          ? { retry: true, kind: 'timeout', message: `no complete response within ${plan.timeoutMs} ms` }
          : c.provider.classify(err);
        waitedMs += clock.now() - attemptStart;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (completion !== undefined) break;
      if (STOPS_CANDIDATE.has(failure!.kind)) {
        if (stopped[c.id] === undefined) {
          stopped[c.id] = `${failure!.kind}: ${failure!.message}`;
          reporter.warn?.(
            `${c.id}: stopped sending after ${failure!.kind} (${failure!.message}); rerun to resume`,
          );
        }
        return;
      }
      if (!failure!.retry || attempts > plan.maxRetries) break;
      const wait = failure!.afterMs ?? backoffMs(attempts, random);
      const sleepStart = clock.now();
      try {
        await clock.sleep(wait, signal);
      } catch {
        return;
      }
      waitedMs += clock.now() - sleepStart;
    }

    const scores: ScoreRow[] = [];
    if (completion) {
      const output = { text: completion.text, toolCalls: completion.toolCalls };
      for (const s of deps.scorers) {
        if (!s.appliesTo(record)) continue;
        const score = await s.score({ record, output });
        scores.push({ scorer: s.name, ...score });
      }
    }
    const row = toRow(c, item, { completion, failure, attempts, queueMs, waitedMs, startedAt });
    store.recordCall(row, scores, item.replace);
    progress.done++;
    progress.doneNow++;
    if (row.status === 'error') progress.errors++;
    progress.costUsd += row.costUsd ?? 0;
    reporter.callDone?.(row, progress);
  }

  function toRow(
    c: CandidatePlan,
    item: WorkItem,
    a: {
      completion?: Completion;
      failure?: RetryDecision;
      attempts: number;
      queueMs: number;
      waitedMs: number;
      startedAt: string;
    },
  ): CallRow {
    // One flat literal: a spread of shared fields into each branch was a slow path in V8 (≈18 µs a row).
    const x = a.completion;
    const f = a.failure;
    return {
      runId: plan.runId,
      recordId: item.recordId,
      candidate: c.id,
      repeat: item.repeat,
      role: 'candidate',
      status: x ? 'ok' : 'error',
      output: x ? x.text : null,
      toolCallsJson: x && x.toolCalls.length > 0 ? JSON.stringify(x.toolCalls) : null,
      finishReason: x ? x.finishReason : null,
      inputTokens: x ? x.usage.inputTokens : null,
      cachedTokens: x ? x.usage.cachedTokens : null,
      outputTokens: x ? x.usage.outputTokens : null,
      reasoningTokens: x ? x.usage.reasoningTokens : null,
      costUsd: x ? costUsd(x.usage, c.price, x.serviceTier) : null,
      latencyMs: x ? x.latencyMs : null,
      ttftMs: x ? x.ttftMs : null,
      queueMs: a.queueMs,
      backoffMs: a.waitedMs,
      attempts: a.attempts,
      errorKind: f && !x ? f.kind : null,
      errorMessage: f && !x ? f.message.slice(0, 2000) : null,
      httpStatus: x ? 200 : (f?.status ?? null),
      servedModel: x ? x.servedModel : null,
      requestId: x ? x.requestId : null,
      serverMs: x ? x.serverMs : null,
      serviceTier: x ? x.serviceTier : null,
      simulated: x ? x.simulated : false,
      startedAt: a.startedAt,
      finishedAt: clock.isoNow(),
    };
  }
}
