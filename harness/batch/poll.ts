import type { Batch } from 'openai/resources/batches';
import type { BatchRow } from '../../results/store/store.js';
import { printable } from '../../datasets/printable.js';
import { classifyError } from '../providers/openai.js';
import { safeErrorText } from '../secrets.js';
import { batchKey, batchLedger, holdOpenBatches } from './budget.js';
import { type Collected, collectBatch, finishedAtOf } from './collect.js';
import { ControlError, Interrupted, linked } from './control.js';
import type { BatchCandidatePlan, BatchDeps, BatchPlan } from './plan.js';
import { giveUpLost } from './submit.js';

export interface AwaitSummary {
  aborted: boolean;
  stopped: Record<string, string>;
  /** Call rows written now, of them errors, their cost; requests left without a result. */
  rows: number;
  errors: number;
  costUsd: number;
  missing: number;
  /** Batches still to collect when polling stopped by Ctrl-C. */
  open: number;
}

const FINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'expired', 'cancelled']);

interface Tracked {
  c: BatchCandidatePlan;
  row: BatchRow;
  /** Failed polls in a row. */
  failures: number;
  status: string;
  shown: string;
}

/**
 * Polls every open batch of the batch candidates until it reaches a final status, then collects
 * it (harness/batch/collect.ts). Polls start 1 s apart (or `pollMs` if shorter) and back off to
 * `pollMs`; a line goes to stderr whenever a batch's status or counts change. Ctrl-C stops the
 * waiting, not the batches: their ids are stored, and the next run polls them again.
 */
export async function awaitBatches(plan: BatchPlan, deps: BatchDeps): Promise<AwaitSummary> {
  const { store, clock, signal, stderr } = deps;
  const out: AwaitSummary = {
    aborted: false,
    stopped: {},
    rows: 0,
    errors: 0,
    costUsd: 0,
    missing: 0,
    open: 0,
  };
  let open: Tracked[] = plan.candidates.flatMap((c) =>
    store
      .openBatches(plan.runId, c.id)
      // Still 'submitting': its lookup by token failed this session; the next one tries again.
      .filter((row) => row.batch_id !== null)
      .map((row) => ({ c, row, failures: 0, status: row.status, shown: '' })),
  );
  if (open.length === 0) return out;
  // Each batch holds its worst case until its rows are written (held already if submitted this session).
  const ledger = batchLedger(plan, deps);
  if (ledger) await holdOpenBatches(plan, deps, ledger);
  stderr.write(
    `waiting for ${open.length} batch${open.length === 1 ? '' : 'es'} (Ctrl-C stops waiting; the batches run on and a rerun collects them)\n`,
  );
  // Reasons quote the SDK's error text and the provider's batch ids: scrubbed and escaped.
  const stop = (c: BatchCandidatePlan, why: string) => {
    const reason = safeErrorText(why);
    out.stopped[c.id] ??= reason;
    stderr.write(`warning: ${c.id}: ${reason}; rerun to resume\n`);
    open = open.filter((t) => t.c !== c);
  };
  let wait = Math.min(1000, plan.pollMs);
  try {
    while (open.length > 0) {
      for (const t of [...open]) {
        if (!open.includes(t)) continue;
        const batch = await poll(t);
        if (!batch) continue;
        if (!FINAL.has(batch.status)) continue;
        await finish(t, batch);
        open = open.filter((x) => x !== t);
      }
      if (open.length === 0) break;
      try {
        await clock.sleep(wait, signal);
      } catch {
        throw new Interrupted('interrupted');
      }
      wait = Math.min(plan.pollMs, wait * 2);
    }
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    out.aborted = true;
  }
  out.aborted ||= signal?.aborted ?? false;
  out.open = open.length;
  for (const t of open) {
    stderr.write(
      `batch ${printable(t.row.batch_id ?? '')} (${t.c.id}) is still ${printable(t.status)} at the provider; its id is stored: rerun to collect it\n`,
    );
  }
  return out;

  /** One poll: the batch, or undefined when it could not be read this time. */
  async function poll(t: Tracked): Promise<Batch | undefined> {
    let batch: Batch;
    try {
      batch = await linked(signal, (s) => t.c.client.batches.retrieve(t.row.batch_id!, { signal: s }));
    } catch (err) {
      if (signal?.aborted) throw new Interrupted('interrupted');
      const d = classifyError(err);
      if (d.kind === 'not_found') {
        open = open.filter((x) => x !== t);
        const why = giveUpLost(plan, deps, t.c, t.row);
        if (why) stop(t.c, why);
        return undefined;
      }
      if (!d.retry || ++t.failures > plan.maxRetries)
        stop(t.c, `polling batch ${t.row.batch_id}: ${d.kind}: ${d.message}`);
      return undefined;
    }
    t.failures = 0;
    t.status = batch.status;
    const n = batch.request_counts;
    const counts = n ? { completedCount: n.completed, failedCount: n.failed } : {};
    store.updateBatch(t.row.id, { status: batch.status, ...counts });
    const line = `batch ${printable(batch.id)} (${t.c.id}): ${printable(batch.status)}${n && n.total > 0 ? ` · ${n.completed + n.failed}/${n.total} done, ${n.failed} failed` : ''}`;
    if (line !== t.shown) {
      t.shown = line;
      stderr.write(`${line}\n`);
    }
    return batch;
  }

  async function finish(t: Tracked, batch: Batch): Promise<void> {
    store.updateBatch(t.row.id, {
      ...(finishedAtOf(batch) ? { finishedAt: finishedAtOf(batch) } : {}),
      ...(batch.output_file_id ? { outputFileId: batch.output_file_id } : {}),
      ...(batch.error_file_id ? { errorFileId: batch.error_file_id } : {}),
    });
    if (batch.status === 'failed') {
      const errors = batch.errors?.data ?? [];
      const shown = errors
        .slice(0, 5)
        .map((e) => `${e.line != null ? `line ${e.line}: ` : ''}${e.code ?? 'error'}: ${e.message ?? ''}`);
      const more = errors.length > 5 ? ` (and ${errors.length - 5} more)` : '';
      // The provider's own words: scrubbed and escaped before they are stored or printed.
      const note = safeErrorText(`failed: ${shown.join('; ') || 'no reason given'}${more}`);
      store.updateBatch(t.row.id, { collectedAt: clock.isoNow(), note: note.slice(0, 2000) });
      ledger?.unpin(batchKey(t.row), 0);
      stderr.write(
        `${t.c.id}: batch ${printable(batch.id)} ${note}\n  none of its ${t.row.request_count} requests ran; the next run submits them again\n`,
      );
      out.missing += t.row.request_count;
      return;
    }
    let got: Collected;
    try {
      got = await collectBatch(plan, deps, t.c, t.row, batch);
    } catch (err) {
      if (err instanceof ControlError) {
        stop(t.c, err.message);
        return;
      }
      throw err;
    }
    ledger?.unpin(batchKey(t.row), got.costUsd);
    out.rows += got.rows;
    out.errors += got.errors;
    out.costUsd += got.costUsd;
    out.missing += got.missing;
    stderr.write(
      `${t.c.id}: batch ${printable(batch.id)}: ${got.rows} row${got.rows === 1 ? '' : 's'} written (${got.errors} error${got.errors === 1 ? '' : 's'}), $${got.costUsd.toFixed(4)} at the batch rate\n`,
    );
  }
}
