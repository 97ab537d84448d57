/** The rows of the database as the store writes and reads them (the schema is schema.ts). */
export interface NewRun {
  suite: string;
  configPath?: string;
  configJson: string;
  configHash: string;
  datasetPath: string;
  datasetHash: string;
  recordCount: number;
  repeats: number;
  scorersJson: string;
  createdAt: string;
}

export interface RunRow {
  id: number;
  suite: string;
  status: 'running' | 'interrupted' | 'finished';
  created_at: string;
  finished_at: string | null;
  config_path: string | null;
  config_json: string;
  config_hash: string;
  dataset_path: string;
  dataset_hash: string;
  record_count: number;
  repeats: number;
  scorers_json: string;
}

export interface CandidateRow {
  candidate: string;
  model: string;
  api: string;
  baseUrl?: string;
  paramsJson: string;
  priceJson: string;
}

export interface NewRecord {
  id: string;
  api: string;
  tags: Record<string, string>;
  /** The whole normalized record as JSON. */
  json: string;
}

export interface StoredRecord {
  seq: number;
  record_id: string;
  body_json: string;
}

/** One finished call, as it is written: every field the calls table holds but its id. */
export interface CallRow {
  runId: number;
  recordId: string;
  candidate: string;
  repeat: number;
  role: 'candidate' | 'judge' | 'router';
  /** Tells apart several calls of one role on one (record, candidate, repeat); '' for candidate calls. */
  aux?: string;
  status: 'ok' | 'error';
  output: string | null;
  toolCallsJson: string | null;
  finishReason: string | null;
  inputTokens: number | null;
  cachedTokens: number | null;
  /** Input tokens written to the prompt cache (schema v5); absent = NULL. */
  cacheWriteTokens?: number | null;
  outputTokens: number | null;
  reasoningTokens: number | null;
  costUsd: number | null;
  latencyMs: number | null;
  ttftMs: number | null;
  queueMs: number;
  backoffMs: number;
  attempts: number;
  errorKind: string | null;
  errorMessage: string | null;
  httpStatus: number | null;
  servedModel: string | null;
  requestId: string | null;
  serverMs: number | null;
  serviceTier: string | null;
  simulated: boolean;
  startedAt: string;
  finishedAt: string;
}

/** A Batch API batch as the batches table holds it (results/schema.ts, v3). */
export interface BatchRow {
  id: number;
  run_id: number;
  candidate: string;
  token: string;
  batch_id: string | null;
  endpoint: string;
  input_file_id: string;
  status: string;
  request_count: number;
  completed_count: number | null;
  failed_count: number | null;
  created_at: string;
  finished_at: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  custom_ids_json: string;
  collected_at: string | null;
  note: string | null;
  /** What it was reserved against the budget when submitted (v4); null for batches from before. */
  worst_case_usd: number | null;
}

export interface NewBatch {
  runId: number;
  candidate: string;
  token: string;
  endpoint: string;
  inputFileId: string;
  requestCount: number;
  customIds: readonly string[];
  createdAt: string;
  /** Its requests' worst-case cost at the batch rate (harness/run/estimate.ts), held against the budget. */
  worstCaseUsd?: number;
}

/** Fields a poll or a collection updates; absent fields keep their value. */
export interface BatchUpdate {
  batchId?: string;
  status?: string;
  completedCount?: number;
  failedCount?: number;
  finishedAt?: string;
  outputFileId?: string;
  errorFileId?: string;
  collectedAt?: string;
  note?: string;
}

export interface ScoreRow {
  scorer: string;
  value: number | null;
  passed: boolean | null;
  detail?: string;
}

/** A finished call waiting to be stored with its scores; `replace` supersedes an earlier error row. */
export interface FinishedCall {
  row: CallRow;
  scores: ScoreRow[];
  replace: boolean;
}
