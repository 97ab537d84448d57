import { randomUUID } from 'node:crypto';
import { mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { BatchRow } from '../../results/store/store.js';
import { printable } from '../../datasets/printable.js';
import { classifyError } from '../providers/openai.js';
import { safeErrorText } from '../secrets.js';
import { tokenizersFor, worstCaseCost } from '../run/estimate.js';
import { batchBody, batchKey, batchLedger, holdOpenBatches } from './budget.js';
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
  /** Requests left unsubmitted because their worst case did not fit in the budget. */
  heldBack: number;
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
  const out: SubmitSummary = {
    aborted: false,
    stopped: {},
    budgetReached: false,
    batches: 0,
    requests: 0,
    heldBack: 0,
  };
  // Batches of earlier sessions still running hold their worst case before anything new is sent.
  const ledger = batchLedger(plan, deps);
  if (ledger) await holdOpenBatches(plan, deps, ledger);
  for (const c of plan.candidates) {
    if (deps.signal?.aborted) break;
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
      // The SDK's error text (an endpoint may echo the key, or send escape sequences): scrubbed, escaped.
      out.stopped[c.id] = safeErrorText(err.message);
      deps.stderr.write(`warning: ${out.stopped[c.id]}; no more batches for ${c.id} in this session\n`);
    }
  }
  out.aborted ||= deps.signal?.aborted ?? false;
  if (out.budgetReached && ledger) {
    const usd = (x: number) => `$${x.toFixed(4)}`;
    deps.stderr.write(
      `warning: budget ${usd(ledger.capUsd!)}: ${out.heldBack} batch request${out.heldBack === 1 ? '' : 's'} held back, ` +
        `since their worst case at the batch rate does not fit (${usd(ledger.spent)} spent, ${usd(ledger.reserved)} held by batches not yet collected); ` +
        'raise budget_usd (or pass --budget) and rerun to submit them\n',
    );
  }
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
      deps.stderr.write(
        `${c.id}: found batch ${printable(batch.id)}, created just before the last session stopped\n`,
      );
    } else {
      store.updateBatch(row.id, {
        status: 'abandoned',
        collectedAt: clock.isoNow(),
        note: 'never created: no batch carries its token',
      });
      plan.ledger?.unpin(batchKey(row));
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
    plan.ledger?.unpin(batchKey(row));
    deps.stderr.write(
      `${c.id}: batch ${printable(row.batch_id ?? '')} is gone (${why}): its ${row.request_count} requests are submitted again\n`,
    );
    return undefined;
  }
  const reason = `batch ${printable(row.batch_id ?? '')} is not found at the endpoint`;
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
  const ledger = batchLedger(plan, deps);
  const tokenizer = ledger ? (await tokenizersFor([c.model]))(c.model) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'holdout-batch-'));
  let file: InputFile | undefined;
  let fileWorst = 0;
  let files = 0;
  // Set once a request's worst case did not fit: it and every later one of this candidate wait.
  let holding = false;
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
          if (holding) {
            // Held back: counted for the warning, never submitted this session.
            out.heldBack++;
            continue;
          }
          record ??= JSON.parse(rec.body_json) as HoldoutRecord;
          const { body, dropped } = batchBody(c, record);
          if (dropped.length > 0 && !warnedDropped) {
            warnedDropped = true;
            deps.stderr.write(
              `warning: ${c.id}: the ${c.api} API has no equivalent for ${dropped.join(', ')} (record ${printable(rec.record_id)}); left out\n`,
            );
          }
          const line = inputLine(id, c.api, body);
          const bytes = Buffer.byteLength(line);
          const worst = tokenizer ? worstCaseCost(tokenizer, body, c.price, 'batch').usd : 0;
          if (ledger && !ledger.fits(ledger.scaled(c.id, fileWorst + worst))) {
            // The budget cannot cover this request too: what is in the file goes as a smaller batch,
            // and this request and everything after it are held back.
            holding = true;
            out.budgetReached = true;
            out.heldBack++;
            if (file) {
              const f = file;
              file = undefined;
              if (!(await send(plan, deps, c, f, out, fileWorst))) return;
            }
            continue;
          }
          if (file && !file.fits(bytes, limits)) {
            const f = file;
            file = undefined;
            if (!(await send(plan, deps, c, f, out, fileWorst))) return;
          }
          if (!file) {
            file = new InputFile(dir, `holdout-run${plan.runId}-${c.id}-${++files}.jsonl`);
            fileWorst = 0;
          }
          file.add(id, line, bytes);
          fileWorst += worst;
        }
      }
    }
    if (file) {
      const f = file;
      file = undefined;
      await send(plan, deps, c, f, out, fileWorst);
    }
  } finally {
    file?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Uploads one input file and creates its batch, holding `worstUsd` (its requests' worst case) in the
 * run's budget from before the upload until it is collected; false when submitting must stop.
 */
async function send(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
  file: InputFile,
  out: SubmitSummary,
  worstUsd: number,
): Promise<boolean> {
  file.close();
  const token = randomUUID();
  const ledger = batchLedger(plan, deps);
  if (ledger && !ledger.pin(batchKey({ token }), c.id, worstUsd)) {
    out.budgetReached = true;
    out.heldBack += file.count;
    return false;
  }
  try {
    return await create(plan, deps, c, file, out, token, worstUsd);
  } catch (err) {
    // Certainly not created (no row: the upload failed; or refused outright): nothing to hold. A row
    // left 'submitting' may be a batch that exists: it stays held.
    const row = deps.store.runBatches(plan.runId).find((b) => b.token === token);
    if (!row || row.status === 'abandoned') ledger?.unpin(batchKey({ token }));
    throw err;
  }
}

async function create(
  plan: BatchPlan,
  deps: BatchDeps,
  c: BatchCandidatePlan,
  file: InputFile,
  out: SubmitSummary,
  token: string,
  worstUsd: number,
): Promise<boolean> {
  const { store, clock } = deps;
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
    worstCaseUsd: worstUsd,
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
        note: safeErrorText(err.message).slice(0, 2000),
      });
    }
    throw err;
  }
  store.updateBatch(rowId, { batchId: batch.id, status: batch.status });
  out.batches++;
  out.requests += file.count;
  deps.stderr.write(
    `${c.id}: batch ${printable(batch.id)} submitted: ${file.count} request${file.count === 1 ? '' : 's'}, ${formatBytes(file.bytes)} (${printable(uploaded.id)})\n`,
  );
  return true;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}
