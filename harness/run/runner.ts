import { setMaxListeners } from 'node:events';
import type { ApiStyle, HoldoutRecord } from '../../datasets/record.js';
import { type CallWriter, GroupCommit } from '../../results/store/group-commit.js';
import type { CallRow, FinishedCall, ScoreRow, Store } from '../../results/store/store.js';
import type { BoundScorer } from '../../scorers/index.js';
import {
  ConnectionWatch,
  callRowFrom,
  callWithRetries,
  MAX_CONSECUTIVE_CONNECTION_FAILURES,
} from './attempt.js';
import type { Clock } from '../clock.js';
import type { ScorePassSummary } from './score-pass.js';
import type { PriceRule } from '../providers/pricing.js';
import type { Provider } from '../providers/provider.js';
import { replayOutcome } from './replay.js';
import { buildRequest } from '../providers/request.js';
import { type Hold, SpendLedger, tokenizersFor, worstCaseCost } from './estimate.js';
import type { RunProgress, RunReporter } from './progress.js';
import { dispatch, type Lane } from './scheduler.js';

export type { RunProgress, RunReporter } from './progress.js';

export interface CandidatePlan {
  id: string;
  model: string;
  api: ApiStyle;
  params: Record<string, unknown>;
  concurrency: number;
  price: PriceRule;
  provider: Provider;
  /** The record's logged production response is this candidate's answer: no call is made. */
  replay?: boolean;
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
  /**
   * The run's spend cap, when no `ledger` is given: each call's worst case is reserved before it is
   * sent (harness/run/estimate.ts), so the recorded spend of the run's candidate calls never passes it.
   */
  budgetUsd?: number;
}

export interface RunSummary extends RunProgress {
  aborted: boolean;
  /** Candidates stopped early by an error that every further call would repeat (key, model, quota). */
  stopped: Record<string, string>;
  /** Every work item has a row (and, after the scoring pass, every deferred score is known). */
  complete: boolean;
  /** The budget stopped the run before every call was made. */
  budgetReached?: boolean;
  /** The pass of model-graded scorers over the stored outputs, when the run has any. */
  scoring?: ScorePassSummary;
}

export interface RunDeps {
  store: Store;
  scorers: BoundScorer[];
  clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  reporter?: Partial<RunReporter>;
  signal?: AbortSignal;
  /** The run's budget, shared with its batches, judges and routers (default: one from `plan.budgetUsd`). */
  ledger?: SpendLedger;
  /** Early stopping (sequential-stop.ts): the order records are issued in, and when to stop issuing. */
  gate?: RunGate;
  /**
   * Where finished calls are committed (default: `store`). The benchmark passes one that keeps
   * nothing, to measure what storing costs the run.
   */
  callWriter?: CallWriter;
}

/** What the runner asks of an early-stopping gate. */
export interface RunGate {
  /** Like Store.recordPage, in the gate's order (`seq` is the position in it). */
  recordPage(
    runId: number,
    afterSeq: number,
    limit: number,
  ): { seq: number; record_id: string; body_json: string }[];
  /** Issue nothing new. */
  decided(): boolean;
  /** A call was committed. */
  stored(row: CallRow): void;
  /** Waits for work the gate started on stored calls (model-graded scoring). */
  settle(): Promise<void>;
  /** The lanes, paced so that none runs ahead of the others in the order (calls past a stop are waste). */
  pace<T extends { recordId: string }>(lanes: Lane<T>[]): Lane<T>[];
}

interface WorkItem {
  recordId: string;
  bodyJson: string;
  repeat: number;
  replace: boolean;
  pulledAt: number;
}

const PAGE = 256;

/**
 * Replays every record through every candidate (× repeats), scores each output and commits each
 * call with its scores as soon as it finishes (with the others that finish in the same event-loop
 * turn: one transaction for them all). Work already in the store is skipped, so a rerun after a
 * crash or Ctrl-C does only what is missing.
 */
export async function runEval(plan: RunPlan, deps: RunDeps): Promise<RunSummary> {
  const { store, clock, signal } = deps;
  const random = deps.random ?? Math.random;
  const reporter = deps.reporter ?? {};
  const stopped: Record<string, string> = {};
  const warnedDropped = new Set<string>();
  let budgetReached = false;
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
  const ledger = deps.ledger ?? new SpendLedger(plan.budgetUsd, existing.cost);
  // Worst cases are counted only under a cap: no tokenizer on the hot path of an uncapped run.
  const tokenizer =
    ledger.capUsd === undefined
      ? undefined
      : await tokenizersFor(plan.candidates.filter((c) => !c.replay).map((c) => c.model));
  reporter.start?.({ ...progress });

  // Every attempt in flight listens on the run's signal; without this Node warns of a leak past 10.
  if (signal) setMaxListeners(plan.concurrency + 16, signal);
  // A candidate whose endpoint is dead (wrong base_url, nothing listening) stops after a few calls.
  const watches = new Map(plan.candidates.map((c) => [c.id, new ConnectionWatch<FinishedCall>()]));
  // The calls that finish in one event-loop turn are committed together (results/store/group-commit.ts).
  const writer = new GroupCommit(deps.callWriter ?? store, committed);
  const lanes = plan.candidates.map((c) => lane(c));
  const paced = deps.gate ? deps.gate.pace(lanes) : lanes;
  await dispatch(paced, plan.concurrency, (item, i) => execute(plan.candidates[i]!, item), signal);
  for (const [id, watch] of watches)
    for (const f of watch.drain()) if (stopped[id] === undefined) void writer.add(f).catch(() => {});
  writer.flush();
  // A commit that failed (a full disk) fails the run, as a failed write always has.
  if (writer.error !== undefined) throw writer.error;
  await deps.gate?.settle();

  const aborted = signal?.aborted ?? false;
  const complete = !aborted && progress.done >= total;
  budgetReached ||= plan.candidates.some((c) => ledger.refuses(c.id));
  return { ...progress, aborted, stopped, complete, budgetReached: budgetReached && !complete };

  function lane(c: CandidatePlan): Lane<WorkItem> {
    let afterSeq = -1;
    let page: { seq: number; record_id: string; body_json: string }[] = [];
    let index = 0;
    let repeat = 0;
    return {
      limit: c.concurrency,
      next() {
        for (;;) {
          if (stopped[c.id] !== undefined || deps.gate?.decided() || writer.error !== undefined)
            return undefined;
          if (ledger.refuses(c.id)) {
            budgetReached = true;
            return undefined;
          }
          if (index >= page.length) {
            page = (deps.gate ?? store).recordPage(plan.runId, afterSeq, PAGE);
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
    if (!c.replay && dropped.length > 0 && !warnedDropped.has(c.id)) {
      warnedDropped.add(c.id);
      reporter.warn?.(
        `${c.id}: the ${c.api} API has no equivalent for ${dropped.join(', ')} (record ${item.recordId}); left out`,
      );
    }
    // Under a budget, the call's worst case is held before it is sent; when the budget cannot cover it
    // (once the calls in flight have settled), no call is made and the run stops at its budget.
    let hold: Hold | undefined;
    if (tokenizer && !c.replay) {
      hold = await ledger.reserve(c.id, worstCaseCost(tokenizer(c.model), body, c.price).usd);
      if (!hold) {
        budgetReached = true;
        return;
      }
      if (signal?.aborted) {
        ledger.release(hold);
        return;
      }
    }
    let paid: number | undefined;
    try {
      const queueMs = clock.now() - item.pulledAt;
      const outcome = c.replay
        ? replayOutcome(record, clock.isoNow(), c, (m) => reporter.warn?.(m))
        : await callWithRetries(c.provider, body, {
            maxRetries: plan.maxRetries,
            timeoutMs: plan.timeoutMs,
            clock,
            random,
            signal,
          });
      // Ctrl-C: an unfinished call is not a result; resume redoes it.
      if (outcome.interrupted) return;
      if (outcome.fatal) {
        const f = outcome.failure!;
        if (stopped[c.id] === undefined) {
          stopped[c.id] = `${f.kind}: ${f.message}`;
          reporter.warn?.(`${c.id}: stopped sending after ${f.kind} (${f.message}); rerun to resume`);
        }
        return;
      }
      const completion = outcome.completion;
      const scores: ScoreRow[] = [];
      const row = callRowFrom(
        {
          runId: plan.runId,
          recordId: item.recordId,
          candidate: c.id,
          repeat: item.repeat,
          role: 'candidate',
        },
        c.price,
        outcome,
        queueMs,
        clock.isoNow(),
      );
      paid = row.costUsd ?? 0;
      if (completion) {
        const output = { text: completion.text, toolCalls: completion.toolCalls };
        for (const s of deps.scorers) {
          // Model-graded scorers run after the candidate calls (harness/score-pass.ts).
          if (s.deferred || !s.appliesTo(record)) continue;
          const score = await s.score({ record, output });
          scores.push({ scorer: s.name, ...score });
        }
      }
      const seen = watches.get(c.id)!.see(outcome, { row, scores, replace: item.replace });
      if (seen.stop && stopped[c.id] === undefined) {
        const url = c.provider.endpoint ?? 'its endpoint';
        const n = MAX_CONSECUTIVE_CONNECTION_FAILURES;
        stopped[c.id] = `connection: ${n} consecutive connection failures to ${url} and no successful call`;
        reporter.warn?.(
          `${c.id}: stopped sending after ${n} consecutive connection failures to ${url} and no successful call (${outcome.failure?.message}); check base_url and that the endpoint is up, then rerun to resume`,
        );
      }
      // Committed at the end of this turn with the others that finish in it; the slot is free at once
      // (holding it for the commit cost a turn per call at 50 ms latency). A failed commit stops the run.
      for (const f of seen.store) writer.add(f).catch(() => ledger.stop());
    } catch (err) {
      // The run fails (a full disk, a scorer bug): no call waiting for budget may start now.
      ledger.stop();
      throw err;
    } finally {
      // The real cost replaces the hold, even when storing failed: the call was paid for.
      if (hold) {
        if (paid !== undefined) ledger.settle(hold, paid);
        else ledger.release(hold);
      } else if (paid !== undefined && c.replay) ledger.charge(paid);
    }
  }

  /** A call's group was committed: only now is it done. */
  function committed(f: FinishedCall): void {
    progress.done++;
    progress.doneNow++;
    if (f.row.status === 'error') progress.errors++;
    progress.costUsd += f.row.costUsd ?? 0;
    reporter.callDone?.(f.row, progress);
    deps.gate?.stored(f.row);
  }
}
