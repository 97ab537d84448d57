import type { Batch } from 'openai/resources/batches';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { BatchRow, ScoreRow } from '../../results/store/store.js';
import { callRowFrom } from '../run/attempt.js';
import { ControlError, Interrupted, linked, withRetries } from './control.js';
import { classifyError } from '../providers/openai.js';
import { parseCustomId } from './custom-id.js';
import { type LineResult, readOutputLine, textLines } from './output.js';
import type { BatchCandidatePlan, BatchDeps, BatchPlan } from './plan.js';

export interface Collected {
  /** Call rows written, of them errors, and their cost. */
  rows: number;
  errors: number;
  costUsd: number;
  /** Requests of the batch with no result (expired, cancelled, or absent from both files). */
  missing: number;
}

/** The batch's final timestamp as ISO, from the provider's clock. */
export function finishedAtOf(b: Batch): string | undefined {
  const s = b.completed_at ?? b.expired_at ?? b.cancelled_at ?? b.failed_at;
  return typeof s === 'number' ? new Date(s * 1000).toISOString() : undefined;
}

/**
 * Writes the results of a batch in a final status as call rows: each line of the output and error
 * files, in whatever order they come, through the scorers and `store.recordCall` as a live call's.
 * Rows already written (a collection cut short earlier) are kept, so collecting twice is harmless;
 * a line for a request the batch does not cover is ignored. Requests with no result get no row:
 * they are what the next run submits again. Marks the batch collected when done.
 */
export async function collectBatch(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
  row: BatchRow,
  batch: Batch,
): Promise<Collected> {
  const { store, clock } = deps;
  const covered = new Set(JSON.parse(row.custom_ids_json) as string[]);
  const answered = new Set<string>();
  const out: Collected = { rows: 0, errors: 0, costUsd: 0, missing: 0 };
  const finishedAt = finishedAtOf(batch) ?? clock.isoNow();
  let malformed = 0;
  let strangers = 0;
  const write = async (result: LineResult): Promise<void> => {
    const id = result.customId;
    const key = covered.has(id) ? parseCustomId(id) : undefined;
    if (!key) {
      strangers++;
      return;
    }
    if (answered.has(id) || !result.outcome) return; // a duplicate, or never ran: no row
    answered.add(id);
    const status = store.callStatus(plan.runId, key.recordId, c.id, key.repeat);
    if (status === 'ok') return;
    const body = store.recordBody(plan.runId, key.recordId);
    if (body === undefined) {
      strangers++;
      return;
    }
    const record = JSON.parse(body) as HoldoutRecord;
    const outcome = result.outcome;
    const scores: ScoreRow[] = [];
    if (outcome.completion) {
      const output = { text: outcome.completion.text, toolCalls: outcome.completion.toolCalls };
      for (const s of deps.scorers) {
        // Model-graded scorers run in the scoring pass after every candidate call (harness/score-pass.ts).
        if (s.deferred || !s.appliesTo(record)) continue;
        scores.push({ scorer: s.name, ...(await s.score({ record, output })) });
      }
    }
    const call = callRowFrom(
      { runId: plan.runId, recordId: key.recordId, candidate: c.id, repeat: key.repeat, role: 'candidate' },
      c.price,
      outcome,
      0,
      finishedAt,
    );
    // An error row here was sent again (--retry-errors): this result replaces it.
    store.recordCall(call, scores, status === 'error');
    out.rows++;
    if (call.status === 'error') out.errors++;
    out.costUsd += call.costUsd ?? 0;
  };
  for (const fileId of [batch.output_file_id, batch.error_file_id]) {
    if (!fileId) continue;
    // One signal for the request and for reading its body, which streams on after the call returns.
    const what = `${c.id}: downloading ${fileId} of batch ${batch.id}`;
    await linked(deps.signal, async (signal) => {
      const res = await withRetries(
        what,
        () => c.client.files.content(fileId, { signal, timeout: plan.transferTimeoutMs }),
        { maxRetries: plan.maxRetries, clock, random: deps.random, signal: deps.signal },
      );
      const simulated = res.headers.get('x-holdout-simulator') !== null;
      const lines = textLines(res.body as AsyncIterable<Uint8Array> | null)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<string>;
        try {
          next = await lines.next();
        } catch (err) {
          // Cut off mid-body: the rows written so far stay, and the next collection skips them.
          if (deps.signal?.aborted) throw new Interrupted(`${what}: interrupted`);
          throw new ControlError(what, classifyError(err), { cause: err });
        }
        if (next.done) break;
        let result: LineResult;
        try {
          result = readOutputLine(JSON.parse(next.value), c.api, { startedAt: row.created_at, simulated });
        } catch {
          malformed++;
          continue;
        }
        await write(result);
      }
    });
  }
  out.missing = covered.size - answered.size;
  if (malformed > 0 || strangers > 0) {
    deps.stderr.write(
      `warning: ${c.id}: batch ${batch.id}: ${malformed} unreadable line(s) and ${strangers} line(s) for requests it does not cover were skipped\n`,
    );
  }
  if (out.missing > 0) {
    deps.stderr.write(
      `${c.id}: batch ${batch.id} ${batch.status}: ${out.missing} of ${covered.size} requests have no result; the next run submits them again\n`,
    );
  }
  store.updateBatch(row.id, {
    collectedAt: clock.isoNow(),
    ...(out.missing > 0 ? { note: `${out.missing} requests without a result (${batch.status})` } : {}),
  });
  return out;
}
