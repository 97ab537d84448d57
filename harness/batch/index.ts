/**
 * Batch mode: a run's batch candidates go through the provider's Batch API (half price, results
 * within 24 h) instead of one call per work item. `submitBatches` puts the missing work into
 * batches (storing each batch id the moment it exists), `awaitBatches` polls them and writes one
 * call row per request through the same scoring and store path as live calls. Both are resumable:
 * a rerun polls the batches already submitted instead of paying for them twice.
 */
export { customId, parseCustomId } from './custom-id.js';
export { BATCH_LIMITS, type BatchLimits } from './input.js';
export { type BatchCandidatePlan, type BatchDeps, type BatchPlan, isBatchCandidate } from './plan.js';
export { type AwaitSummary, awaitBatches } from './poll.js';
export { type SubmitSummary, submitBatches } from './submit.js';
