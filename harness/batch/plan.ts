import type OpenAI from 'openai';
import type { ApiStyle } from '../../datasets/record.js';
import type { Store } from '../../results/store/store.js';
import type { BoundScorer } from '../../scorers/index.js';
import type { Clock } from '../clock.js';
import type { PriceRule } from '../providers/pricing.js';
import type { SpendLedger } from '../run/estimate.js';
import type { BatchLimits } from './input.js';

/** Whether a configured candidate runs through the Batch API: `batch: true`, or `mode: batch` for the run. */
export function isBatchCandidate(c: { batch?: boolean; replay?: boolean }, run: { mode?: string }): boolean {
  return !c.replay && (c.batch === true || run.mode === 'batch');
}

export interface BatchCandidatePlan {
  id: string;
  model: string;
  api: ApiStyle;
  params: Record<string, unknown>;
  price: PriceRule;
  client: OpenAI;
  /** Its endpoint is the in-process simulator, whose batches end with the process that started it. */
  ephemeral: boolean;
}

export interface BatchPlan {
  runId: number;
  candidates: BatchCandidatePlan[];
  repeats: number;
  /** Send again the work items whose stored row is an error (the new row replaces it). */
  retryErrors: boolean;
  /** The longest wait between two polls; the first polls come sooner (1 s, doubling). */
  pollMs: number;
  /** Retries of a failed Files or Batches call, and failed polls in a row tolerated per batch. */
  maxRetries: number;
  /** Per upload or download of a file. */
  transferTimeoutMs: number;
  /** Per input file; default the Batch API's (harness/batch/input.ts). */
  limits?: BatchLimits;
  /**
   * The run's spend cap, when no `ledger` is given (one is then made from `deps.spent()`). A batch's
   * cost is known only when it ends: each batch holds its requests' worst case at the batch rate
   * (harness/run/estimate.ts) from before it is created until it is collected, and work that does
   * not fit is split off and held back.
   */
  budgetUsd?: number;
  /** The run's budget, shared with its live candidates and judges. */
  ledger?: SpendLedger;
}

export interface BatchDeps {
  store: Store;
  /** The run's scorers; deferred (model-graded) ones are skipped here and run in the scoring pass. */
  scorers: BoundScorer[];
  clock: Clock;
  /** Progress and notices. */
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  /** The run's recorded spend, every role, for the budget. */
  spent?: () => number;
}
