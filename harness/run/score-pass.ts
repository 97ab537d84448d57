import { getMaxListeners, setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { Store } from '../../results/store/store.js';
import type { BoundScorer } from '../../scorers/index.js';
import type { Clock } from '../clock.js';
import { progressReporter } from './progress.js';

export interface ScorePassOptions {
  store: Store;
  runId: number;
  /** The scorers to apply; each fills only the scores it lacks on the run's ok candidate calls. */
  scorers: readonly BoundScorer[];
  concurrency: number;
  clock: Clock;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
  /** Judge spend so far in this pass, for the progress line (the judge service adds to it). */
  spent?: () => number;
  /** Why scoring must stop (a judge that cannot be called at all), if it must. */
  halted?: () => string | undefined;
  /** Why no further scoring may start (the budget is spent), if so; scores already made are kept. */
  stopBefore?: () => string | undefined;
}

export interface ScorePassSummary {
  /** Scores the pass had to compute. */
  pending: number;
  /** Scores it stored. */
  scored: number;
  /** Of those, unscored because the scorer (or its judge call) failed. */
  errors: number;
  /** Stopped by Ctrl-C or by a judge that cannot be called (key, model, quota): rerun to finish. */
  halted?: string;
}

interface Work {
  callId: number;
  recordId: string;
  candidate: string;
  repeat: number;
  output: string | null;
  toolCallsJson: string | null;
  scorer: BoundScorer;
}

/**
 * Scores stored outputs: what a run does after its candidate calls for model-graded scorers, and
 * what `holdout rescore` does. Only missing scores are computed, each stored as soon as it is known,
 * so an interrupted pass resumes where it stopped (judge calls already made are reused).
 */
export async function scoreStoredCalls(opts: ScorePassOptions): Promise<ScorePassSummary> {
  const { store, runId, scorers, signal } = opts;
  const work = pendingWork(store, runId, scorers);
  const summary: ScorePassSummary = { pending: work.length, scored: 0, errors: 0 };
  if (work.length === 0) return summary;
  const progress = opts.stderr
    ? progressReporter({ stream: opts.stderr, clock: opts.clock, unit: 'scores' })
    : undefined;
  const state = { total: work.length, done: 0, errors: 0, costUsd: 0, doneNow: 0 };
  progress?.start(state);
  const limit = pLimit(opts.concurrency);
  // Every judge call in flight listens on the run's signal (a pairwise scoring makes two at once).
  if (signal) setMaxListeners(Math.max(getMaxListeners(signal), 2 * opts.concurrency + 16), signal);
  const records = new Map<string, HoldoutRecord>();
  const recordOf = (id: string): HoldoutRecord => {
    let r = records.get(id);
    if (!r) {
      r = JSON.parse(store.recordBody(runId, id)!) as HoldoutRecord;
      // Calls are visited record by record per candidate; a small cache spares most re-parses.
      if (records.size > 1024) records.clear();
      records.set(id, r);
    }
    return r;
  };
  await Promise.all(
    work.map((w) =>
      limit(async () => {
        if (summary.halted || signal?.aborted) return;
        const stop = opts.stopBefore?.();
        if (stop) {
          summary.halted ??= stop;
          return;
        }
        const record = recordOf(w.recordId);
        const output = {
          text: w.output ?? '',
          toolCalls: w.toolCallsJson
            ? (JSON.parse(w.toolCallsJson) as { name: string; arguments: string }[])
            : [],
        };
        const score = await w.scorer.score({
          record,
          output,
          call: { candidate: w.candidate, repeat: w.repeat },
        });
        // An interrupted judge call, or one that can never succeed (key, model, quota), is not a
        // verdict: store nothing, and the rerun asks again.
        const halted = signal?.aborted ? 'interrupted' : opts.halted?.();
        if (halted) {
          summary.halted ??= halted;
          return;
        }
        store.upsertScore(w.callId, { scorer: w.scorer.name, ...score });
        summary.scored++;
        state.done++;
        state.doneNow++;
        if (score.value === null && score.detail?.startsWith('scorer error')) {
          summary.errors++;
          state.errors++;
        }
        state.costUsd = opts.spent?.() ?? 0;
        progress?.callDone(undefined as never, state);
      }),
    ),
  );
  if (!summary.halted && signal?.aborted) summary.halted = 'interrupted';
  progress?.finish(state);
  return summary;
}

/** An ok candidate call as the scoring pass reads it, with the scorers it already has a score from. */
export interface StoredOutputRow {
  id: number;
  record_id: string;
  candidate: string;
  repeat: number;
  output: string | null;
  tool_calls_json: string | null;
  tags_json: string;
  /** The names of the scorers with a stored score, joined by U+001F; null for none. */
  have: string | null;
}

/** The run's ok candidate calls in call order: what the pass (and the rescore dry run) walk. */
export function storedOutputs(store: Store, runId: number): IterableIterator<StoredOutputRow> {
  return store.db
    .prepare(
      `SELECT c.id, c.record_id, c.candidate, c.repeat, c.output, c.tool_calls_json, r.tags_json,
         (SELECT group_concat(s.scorer, char(31)) FROM scores s WHERE s.call_id = c.id) AS have
       FROM calls c JOIN records r ON r.run_id = c.run_id AND r.record_id = c.record_id
       WHERE c.run_id = ? AND c.role = 'candidate' AND c.status = 'ok'
       ORDER BY c.id`,
    )
    .iterate(runId) as IterableIterator<StoredOutputRow>;
}

/** Every (ok candidate call, applicable scorer) pair without a stored score, in call order. */
function pendingWork(store: Store, runId: number, scorers: readonly BoundScorer[]): Work[] {
  const rows = storedOutputs(store, runId);
  const work: Work[] = [];
  for (const row of rows) {
    const have = new Set(row.have ? row.have.split('\u001f') : []);
    // The tag filter reads tags alone: the full record is parsed only for work that remains.
    const tagsOnly = { tags: JSON.parse(row.tags_json) } as HoldoutRecord;
    for (const scorer of scorers) {
      if (have.has(scorer.name) || !scorer.appliesTo(tagsOnly)) continue;
      work.push({
        callId: row.id,
        recordId: row.record_id,
        candidate: row.candidate,
        repeat: row.repeat,
        output: row.output,
        toolCallsJson: row.tool_calls_json,
        scorer,
      });
    }
  }
  return work;
}
