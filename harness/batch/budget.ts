/**
 * Batch mode under a budget. A batch's cost is known only once it has run, so each batch holds the
 * worst case of its requests (harness/run/estimate.ts: counted input tokens plus each request's output
 * limit, at the batch rate) in the run's SpendLedger from before it is created until its results are
 * rows; then its real cost replaces the hold. Work whose worst case does not fit is split off into a
 * smaller batch or held back (the run stops at its budget, exit 1).
 */
import type { HoldoutRecord } from '../../datasets/record.js';
import type { BatchRow } from '../../results/store/store.js';
import { buildRequest } from '../providers/request.js';
import { SpendLedger, tokenizersFor, worstCaseCost } from '../run/estimate.js';
import { parseCustomId } from './custom-id.js';
import type { BatchCandidatePlan, BatchDeps, BatchPlan } from './plan.js';

/** The ledger key of a batch's hold. */
export function batchKey(row: Pick<BatchRow, 'token'>): string {
  return `batch:${row.token}`;
}

/** The run's ledger when it has a cap: the plan's, else one made from `budgetUsd` and `deps.spent()`. */
export function batchLedger(plan: BatchPlan, deps: BatchDeps): SpendLedger | undefined {
  if (!plan.ledger && plan.budgetUsd !== undefined) {
    plan.ledger = new SpendLedger(plan.budgetUsd, deps.spent?.() ?? 0);
  }
  return plan.ledger?.capUsd !== undefined ? plan.ledger : undefined;
}

/** The body a batch line carries for a record (never streamed). */
export function batchBody(c: BatchCandidatePlan, record: HoldoutRecord) {
  return buildRequest(record, { model: c.model, api: c.api, params: c.params, stream: false });
}

/** A stored batch's worst case: as stored, or (a batch from before schema v4) worked out from its requests. */
async function storedWorstCase(plan: BatchPlan, deps: BatchDeps, c: BatchCandidatePlan, row: BatchRow) {
  if (row.worst_case_usd !== null) return row.worst_case_usd;
  const tok = (await tokenizersFor([c.model]))(c.model);
  let usd = 0;
  for (const id of JSON.parse(row.custom_ids_json) as string[]) {
    const key = parseCustomId(id);
    const body = key && deps.store.recordBody(plan.runId, key.recordId);
    if (!body) continue;
    usd += worstCaseCost(tok, batchBody(c, JSON.parse(body) as HoldoutRecord).body, c.price, 'batch').usd;
  }
  return usd;
}

/**
 * Holds every batch of the run not yet collected (submitted earlier, whose cost is committed at the
 * provider whatever the budget says now). Idempotent: a batch already held is left alone.
 */
export async function holdOpenBatches(plan: BatchPlan, deps: BatchDeps, ledger: SpendLedger): Promise<void> {
  for (const c of plan.candidates) {
    for (const row of deps.store.openBatches(plan.runId, c.id)) {
      if (ledger.pinned(batchKey(row))) continue;
      ledger.pin(batchKey(row), c.id, await storedWorstCase(plan, deps, c, row), true);
    }
  }
}
