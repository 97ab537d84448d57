/**
 * The two exported tables, as data: each column's name, type, the SQL that reads it and what it
 * means. The Parquet schema, the JSONL rows and docs/export.md's column list all follow from here,
 * so the two formats cannot drift apart.
 */

/** Column types, named as DuckDB shows them. TIMESTAMP: UTC, milliseconds. JSON: text holding JSON. */
export type ColumnType = 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'JSON' | 'TIMESTAMP';

export interface Column {
  name: string;
  type: ColumnType;
  /** The SQL expression, over the query's aliases. */
  sql: string;
  doc: string;
}

export interface Table {
  name: 'calls' | 'scores';
  doc: string;
  columns: readonly Column[];
  /**
   * `SELECT <columns> <from>`: one parameter, the run id. Ordered as the index on (run_id,
   * candidate, role) walks the calls (then by call id): SQLite streams the rows without sorting
   * the run first (a sort of a 1M-call run took most of the export's time).
   */
  from: string;
}

const c = (name: string, type: ColumnType, sql: string, doc: string): Column => ({ name, type, sql, doc });

export const CALLS: Table = {
  name: 'calls',
  doc: 'one row per call of the run: candidate calls, and the judge and router calls made for them (`role`)',
  columns: [
    c('run_id', 'BIGINT', 'c.run_id', 'the run'),
    c('suite', 'VARCHAR', 'r.suite', "the run's suite"),
    c('call_id', 'BIGINT', 'c.id', 'the call: joins scores.call_id'),
    c('record_id', 'VARCHAR', 'c.record_id', 'the record'),
    c('record_seq', 'BIGINT', 'rec.seq', "the record's position in the dataset (0-based)"),
    c(
      'candidate',
      'VARCHAR',
      'c.candidate',
      'candidate id; judge rows: the candidate judged; router rows: the router',
    ),
    c(
      'role',
      'VARCHAR',
      'c.role',
      "candidate, judge or router: filter role = 'candidate' for per-candidate figures",
    ),
    c('aux', 'VARCHAR', 'c.aux', "judge rows: the scorer (and pairwise order); '' otherwise"),
    c('repeat', 'INTEGER', 'c.repeat', 'the repeat (0-based)'),
    c(
      'model',
      'VARCHAR',
      "CASE WHEN c.role = 'candidate' THEN cand.model END",
      "the candidate's configured model (candidate rows)",
    ),
    c('served_model', 'VARCHAR', 'c.served_model', 'the model snapshot the API said it served'),
    c(
      'api',
      'VARCHAR',
      "CASE WHEN c.role = 'candidate' THEN cand.api END",
      'chat or responses (candidate rows)',
    ),
    c('status', 'VARCHAR', 'c.status', 'ok or error'),
    c('finish_reason', 'VARCHAR', 'c.finish_reason', 'stop, length, tool_calls, …'),
    c('input_tokens', 'BIGINT', 'c.input_tokens', 'all input tokens, cached and cache-written ones included'),
    c('cached_tokens', 'BIGINT', 'c.cached_tokens', 'input tokens read from the prompt cache'),
    c(
      'cache_write_tokens',
      'BIGINT',
      'c.cache_write_tokens',
      'input tokens written to the prompt cache (null before schema v5)',
    ),
    c('output_tokens', 'BIGINT', 'c.output_tokens', 'output tokens, reasoning tokens included'),
    c('reasoning_tokens', 'BIGINT', 'c.reasoning_tokens', 'reasoning tokens (a part of output_tokens)'),
    c('cost_usd', 'DOUBLE', 'c.cost_usd', 'USD, from the usage and the price stored with the run'),
    c('latency_ms', 'DOUBLE', 'c.latency_ms', 'the successful attempt: request sent to last byte'),
    c('ttft_ms', 'DOUBLE', 'c.ttft_ms', 'time to first output token (streamed calls)'),
    c('queue_ms', 'DOUBLE', 'c.queue_ms', 'waiting for a concurrency slot'),
    c('backoff_ms', 'DOUBLE', 'c.backoff_ms', 'retry waits and failed attempts'),
    c('server_ms', 'DOUBLE', 'c.server_ms', 'openai-processing-ms'),
    c('attempts', 'INTEGER', 'c.attempts', 'attempts made'),
    c('error_kind', 'VARCHAR', 'c.error_kind', 'rate_limit, timeout, server_error, …; null when ok'),
    c('error_message', 'VARCHAR', 'c.error_message', "the error's message"),
    c('http_status', 'INTEGER', 'c.http_status', 'HTTP status of a failed call'),
    c('request_id', 'VARCHAR', 'c.request_id', "the API's request id"),
    c('service_tier', 'VARCHAR', 'c.service_tier', 'the tier the response reported'),
    c('simulated', 'BOOLEAN', 'c.simulated', "answered by holdout's simulator"),
    c('started_at', 'TIMESTAMP', 'c.started_at', 'when the call started (UTC)'),
    c('finished_at', 'TIMESTAMP', 'c.finished_at', 'when it finished (UTC)'),
    c('tags', 'JSON', 'rec.tags_json', "the record's tags, a JSON object"),
    c('output', 'VARCHAR', 'c.output', "the model's answer (untrusted text)"),
    c('tool_calls', 'JSON', 'c.tool_calls_json', 'the tool calls it made, a JSON array'),
  ],
  from: `FROM calls c
    JOIN runs r ON r.id = c.run_id
    LEFT JOIN records rec ON rec.run_id = c.run_id AND rec.record_id = c.record_id
    LEFT JOIN candidates cand ON cand.run_id = c.run_id AND cand.candidate = c.candidate
    WHERE c.run_id = ?
    ORDER BY c.candidate, c.role, c.id`,
};

export const SCORES: Table = {
  name: 'scores',
  doc: 'one row per (call, scorer): the scores of the candidate calls',
  columns: [
    c('run_id', 'BIGINT', 'c.run_id', 'the run'),
    c('call_id', 'BIGINT', 's.call_id', 'the call scored: joins calls.call_id'),
    c('record_id', 'VARCHAR', 'c.record_id', 'the record'),
    c('candidate', 'VARCHAR', 'c.candidate', 'the candidate'),
    c('repeat', 'INTEGER', 'c.repeat', 'the repeat'),
    c('scorer', 'VARCHAR', 's.scorer', "the scorer's name"),
    c('value', 'DOUBLE', 's.value', 'the score in [0, 1]; null: unscored (the scorer could not judge)'),
    c('passed', 'BOOLEAN', 's.passed', 'value ≥ the threshold; null when unscored'),
    c('detail', 'VARCHAR', 's.detail', 'why (the scorer’s explanation, a judge’s rationale)'),
  ],
  from: `FROM calls c
    JOIN scores s ON s.call_id = c.id
    WHERE c.run_id = ?
    ORDER BY c.candidate, c.role, c.id, s.scorer`,
};

export const TABLES = [CALLS, SCORES] as const;

/** The query that streams a table's rows, columns in order. */
export function tableQuery(t: Table): string {
  return `SELECT ${t.columns.map((col) => `${col.sql} AS ${col.name}`).join(', ')} ${t.from}`;
}
