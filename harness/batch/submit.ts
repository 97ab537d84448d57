import { randomUUID } from 'node:crypto';
import { mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { BatchRow } from '../../results/store/store.js';
import { classifyError } from '../providers/openai.js';
import { buildRequest } from '../providers/request.js';
import { ControlError, type ControlPolicy, Interrupted, linked, withRetries } from './control.js';
import { customId } from './custom-id.js';
import { BATCH_LIMITS, ENDPOINT_OF, InputFile, inputLine } from './input.js';
import type { BatchCandidatePlan, BatchDeps, BatchPlan } from './plan.js';

export interface SubmitSummary {
  aborted: boolean;
  /** Candidates that could not submit (or check) their batches, and why. */
  stopped: Record<string, string>;
  budgetReached: boolean;
  /** Batches created now, and the requests in them. */
  batches: number;
  requests: number;
}

const PAGE = 256;

/**
 * Puts every work item of the batch candidates that has no row yet, and is in no batch still
 * running, into new batches. Before that, it settles what an earlier session left: a batch stored as
 * 'submitting' (the process stopped while creating it) is looked up by the token in its metadata,
 * and a batch the endpoint no longer knows is given up when that is safe (see `checkOpen`).
 *
 * A batch's row is written before `batches.create` and given the provider's id as soon as the call
 * returns; the create call itself is never aborted, so Ctrl-C cannot lose a batch already paid for.
 */
export async function submitBatches(plan: BatchPlan, deps: BatchDeps): Promise<SubmitSummary> {
  const out: SubmitSummary = { aborted: false, stopped: {}, budgetReached: false, batches: 0, requests: 0 };
  for (const c of plan.candidates) {
    if (deps.signal?.aborted || out.budgetReached) break;
    try {
      await settleUnconfirmed(plan, deps, c);
      const stop = await checkOpen(plan, deps, c);
      if (stop) {
        out.stopped[c.id] = stop;
        continue;
      }
      await submitMissing(plan, deps, c, out);
    } catch (err) {
      if (err instanceof Interrupted) {
        out.aborted = true;
        break;
      }
      if (!(err instanceof ControlError)) throw err;
      out.stopped[c.id] = err.message;
      deps.stderr.write(`warning: ${err.message}; no more batches for ${c.id} in this session\n`);
    }
  }
  out.aborted ||= deps.signal?.aborted ?? false;
  return out;
}

function policyOf(plan: BatchPlan, deps: BatchDeps): ControlPolicy {
  return { maxRetries: plan.maxRetries, clock: deps.clock, random: deps.random, signal: deps.signal };
}

/** Batches whose `holdout_token` metadata is one of `tokens`, looked up newest first back to `since`. */
async function findByTokens(
  c: BatchCandidatePlan,
  tokens: ReadonlySet<string>,
  sinceIso: string,
  signal?: AbortSignal,
): Promise<Map<string, Batch>> {
  // Ten minutes of slack for a clock that differs from the provider's.
  const since = Date.parse(sinceIso) / 1000 - 600;
  const found = new Map<string, Batch>();
  for await (const b of c.client.batches.list({ limit: 100 }, { signal })) {
    const token = b.metadata?.holdout_token;
    if (token && tokens.has(token)) found.set(token, b);
    if (found.size === tokens.size || b.created_at < since) break;
  }
  return found;
}

/** Rows left as 'submitting': the batch was created (then it carries our token) or it was not. */
async function settleUnconfirmed(plan: BatchPlan, deps: BatchDeps, c: BatchCandidatePlan): Promise<void> {
  const { store, clock } = deps;
  const pending = store.openBatches(plan.runId, c.id).filter((b) => b.batch_id === null);
  if (pending.length === 0) return;
  const found = await withRetries(
    `${c.id}: looking for batches created just before the last session stopped`,
    () =>
      linked(deps.signal, (signal) =>
        findByTokens(
          c,
          new Set(pending.map((b) => b.token)),
          pending.map((b) => b.created_at).sort()[0]!,
          signal,
        ),
      ),
    policyOf(plan, deps),
  );
  for (const row of pending) {
    const batch = found.get(row.token);
    if (batch) {
      store.updateBatch(row.id, { batchId: batch.id, status: batch.status });
      deps.stderr.write(`${c.id}: found batch ${batch.id}, created just before the last session stopped\n`);
    } else {
      store.updateBatch(row.id, {
        status: 'abandoned',
        collectedAt: clock.isoNow(),
        note: 'never created: no batch carries its token',
      });
    }
  }
}

/**
 * Checks that every open batch still exists. One the endpoint does not know is given up (its requests
 * are submitted again now) when it ran on the in-process simulator, which forgets its batches when
 * its process ends, or with --retry-errors. Otherwise the candidate stops: on a real endpoint a
 * missing batch more likely means another key or project, and submitting again would pay twice.
 */
async function checkOpen(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
): Promise<string | undefined> {
  for (const row of deps.store.openBatches(plan.runId, c.id)) {
    if (row.batch_id === null) continue;
    try {
      const id = row.batch_id;
      await linked(deps.signal, (signal) => c.client.batches.retrieve(id, { signal }));
    } catch (err) {
      if (deps.signal?.aborted) throw new Interrupted('interrupted');
      const d = classifyError(err);
      // Anything else is for the polling that follows to retry or report.
      if (d.kind !== 'not_found') continue;
      const stop = giveUpLost(plan, deps, c, row);
      if (stop) return stop;
    }
  }
  return undefined;
}

/** A batch the endpoint says does not exist: gives it up when safe, else returns why the candidate stops. */
export function giveUpLost(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
  row: BatchRow,
): string | undefined {
  if (c.ephemeral || plan.retryErrors) {
    const why = c.ephemeral
      ? 'the in-process simulator that ran it has stopped'
      : 'not found at the endpoint; given up with --retry-errors';
    deps.store.updateBatch(row.id, { status: 'lost', collectedAt: deps.clock.isoNow(), note: why });
    deps.stderr.write(
      `${c.id}: batch ${row.batch_id} is gone (${why}): its ${row.request_count} requests are submitted again\n`,
    );
    return undefined;
  }
  const reason = `batch ${row.batch_id} is not found at the endpoint`;
  deps.stderr.write(
    `warning: ${c.id}: ${reason}. If another key or project created it, set that key and rerun; ` +
      `to give it up and submit its ${row.request_count} requests again, rerun with --retry-errors\n`,
  );
  return reason;
}

/** Builds the input files of everything missing, within the limits, and submits each as it fills. */
async function submitMissing(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
  out: SubmitSummary,
): Promise<void> {
  const { store } = deps;
  const limits = plan.limits ?? BATCH_LIMITS;
  const covered = new Set<string>();
  for (const b of store.openBatches(plan.runId, c.id)) {
    for (const id of JSON.parse(b.custom_ids_json) as string[]) covered.add(id);
  }
  const dir = mkdtempSync(join(tmpdir(), 'holdout-batch-'));
  let file: InputFile | undefined;
  let files = 0;
  let warnedDropped = false;
  try {
    let afterSeq = -1;
    for (;;) {
      const page = store.recordPage(plan.runId, afterSeq, PAGE);
      if (page.length === 0) break;
      afterSeq = page.at(-1)!.seq;
      for (const rec of page) {
        let record: HoldoutRecord | undefined;
        for (let r = 0; r < plan.repeats; r++) {
          const id = customId(rec.record_id, r);
          if (covered.has(id)) continue;
          const status = store.callStatus(plan.runId, rec.record_id, c.id, r);
          if (status === 'ok' || (status === 'error' && !plan.retryErrors)) continue;
          record ??= JSON.parse(rec.body_json) as HoldoutRecord;
          const { body, dropped } = buildRequest(record, {
            model: c.model,
            api: c.api,
            params: c.params,
            stream: false,
          });
          if (dropped.length > 0 && !warnedDropped) {
            warnedDropped = true;
            deps.stderr.write(
              `warning: ${c.id}: the ${c.api} API has no equivalent for ${dropped.join(', ')} (record ${rec.record_id}); left out\n`,
            );
          }
          const line = inputLine(id, c.api, body);
          const bytes = Buffer.byteLength(line);
          if (file && !file.fits(bytes, limits)) {
            const sent = await send(plan, deps, c, file, out);
            file = undefined;
            if (!sent) return;
          }
          file ??= new InputFile(dir, `holdout-run${plan.runId}-${c.id}-${++files}.jsonl`);
          file.add(id, line, bytes);
        }
      }
    }
    if (file) await send(plan, deps, c, file, out);
    file = undefined;
  } finally {
    file?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Uploads one input file and creates its batch; false when submitting must stop (budget). */
async function send(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
  file: InputFile,
  out: SubmitSummary,
): Promise<boolean> {
  const { store, clock } = deps;
  file.close();
  if (plan.budgetUsd !== undefined && (deps.spent?.() ?? 0) >= plan.budgetUsd) {
    out.budgetReached = true;
    return false;
  }
  const policy = policyOf(plan, deps);
  const name = file.path.slice(file.path.lastIndexOf('/') + 1);
  const uploaded = await withRetries(
    `${c.id}: uploading ${name}`,
    async () => {
      const upload = await toFile(await openAsBlob(file.path), name, { type: 'application/jsonl' });
      return linked(deps.signal, (signal) =>
        c.client.files.create(
          { file: upload, purpose: 'batch' },
          { signal, timeout: plan.transferTimeoutMs },
        ),
      );
    },
    policy,
  );
  const endpoint = ENDPOINT_OF[c.api];
  const token = randomUUID();
  const createdAt = clock.isoNow();
  const rowId = store.insertBatch({
    runId: plan.runId,
    candidate: c.id,
    token,
    endpoint,
    inputFileId: uploaded.id,
    requestCount: file.count,
    customIds: file.customIds,
    createdAt,
  });
  let batch: Batch;
  try {
    batch = await withRetries(
      `${c.id}: creating a batch`,
      // No signal: a create aborted in flight may exist with an id we would never learn.
      () =>
        c.client.batches.create({
          input_file_id: uploaded.id,
          endpoint,
          completion_window: '24h',
          metadata: {
            holdout_token: token,
            holdout_run: String(plan.runId),
            holdout_candidate: c.id.slice(0, 512),
          },
        }),
      policy,
      // A failed attempt may have created the batch anyway (a reset after the server acted).
      async () => {
        try {
          return (await findByTokens(c, new Set([token]), createdAt)).get(token);
        } catch (err) {
          // Unknown whether it exists: never create it again blind. The row stays 'submitting' (a
          // retryable decision) and the next session looks for it.
          const d = classifyError(err);
          throw new ControlError(`${c.id}: checking whether a failed create made a batch`, {
            ...d,
            retry: true,
          });
        }
      },
    );
  } catch (err) {
    // Refused outright (4xx other than 408/409/429): nothing was created. Otherwise the row stays
    // 'submitting' and the next session looks the batch up by its token.
    if (err instanceof ControlError && !err.decision.retry) {
      store.updateBatch(rowId, {
        status: 'abandoned',
        collectedAt: clock.isoNow(),
        note: err.message.slice(0, 2000),
      });
    }
    throw err;
  }
  store.updateBatch(rowId, { batchId: batch.id, status: batch.status });
  out.batches++;
  out.requests += file.count;
  deps.stderr.write(
    `${c.id}: batch ${batch.id} submitted: ${file.count} request${file.count === 1 ? '' : 's'}, ${formatBytes(file.bytes)} (${uploaded.id})\n`,
  );
  return true;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}
