/**
 * The report's SQL: one GROUP BY per figure family over a run's calls, sliced through a temporary
 * record → tag map. Nothing here runs a query; aggregate.ts does.
 */

/**
 * How calls map to slices. Unsliced, every call is in the one slice NULL. Sliced, the tag value comes
 * from records.tags_json through json_extract (the path a bound parameter, '$."name"', quoted so a
 * tag name with dots or dashes is one key). It is extracted once per record into a temporary map
 * keyed by record id, which the aggregates join: parsing the tags on every call, or looking the
 * record up in the records table per call, made a sliced report of a million calls twice as slow.
 */
export interface Slicing {
  /** Joins records r to the rows named `alias`. */
  join(alias: string): string;
  /** The slice expression. */
  key: string;
  /** Appended to GROUP BY: empty unsliced, where grouping by a constant would cost a sort. */
  group: string;
}

export const UNSLICED: Slicing = { join: () => '', key: 'NULL', group: '' };
/**
 * A TEMP table: private to this connection, so a concurrent writer of the database never sees it.
 * Made by results/pairing/record-tags.ts (createRecordTags), which also maps the read-back form of
 * record ids with a lone surrogate: count records with alias = 0.
 */
export const SLICE_MAP = 'temp.holdout_report_slices';
export const SLICED: Slicing = {
  join: (alias) => `LEFT JOIN ${SLICE_MAP} m ON m.record_id = ${alias}.record_id`,
  key: 'm.slice',
  group: ', slice',
};

const STREAMED = `c.status = 'ok' AND c.ttft_ms IS NOT NULL AND c.latency_ms IS NOT NULL
  AND c.output_tokens IS NOT NULL`;

/*
 * One scan of the run's calls, every role: candidate figures, errors by kind, served models, cost by
 * role and the simulated flag. Grouping by served model (ok calls) and error kind (errors) as well
 * makes a few more groups but saves two more scans of the calls.
 */
export function callsSql(s: Slicing): string {
  return `
  SELECT c.role, c.candidate, ${s.key} AS slice,
    CASE WHEN c.status = 'ok' THEN c.served_model END AS served,
    CASE WHEN c.status = 'error' THEN coalesce(c.error_kind, 'unknown') END AS kind,
    count(*) AS calls,
    sum(c.status = 'ok') AS ok,
    sum(c.status = 'error') AS errors,
    sum(c.attempts > 1) AS retried,
    sum(c.cost_usd) AS cost,
    coalesce(sum(c.input_tokens), 0) AS input_tokens,
    coalesce(sum(c.cached_tokens), 0) AS cached_tokens,
    coalesce(sum(c.output_tokens), 0) AS output_tokens,
    coalesce(sum(c.reasoning_tokens), 0) AS reasoning_tokens,
    coalesce(sum(c.queue_ms), 0) AS queue_ms,
    coalesce(sum(c.backoff_ms), 0) AS backoff_ms,
    sum(c.status = 'ok' AND c.cost_usd IS NULL) AS ok_uncosted,
    sum(CASE WHEN ${STREAMED} THEN c.output_tokens END) AS stream_tokens,
    sum(CASE WHEN ${STREAMED} THEN c.latency_ms - c.ttft_ms END) AS stream_ms,
    max(c.simulated) AS simulated
  FROM calls c ${s.join('c')} WHERE c.run_id = @run
  GROUP BY c.candidate, c.role${s.group}, served, kind`;
}

/*
 * A score is "scored" when its value is non-null; it passes when passed = 1 (a value whose passed
 * is NULL counts as not passed). A call is scored when any of its scores is, and passes when every
 * scored score on it passed. Calls are grouped by the calls table's unique key in its index order,
 * which SQLite aggregates without sorting. With repeats the calls of each prompt are averaged
 * first. Σx and Σx² give the variance; scores are small numbers, so the cancellation in
 * Σx² − n·x̄² costs nothing visible. Every figure is a sum, so slices add up to the whole.
 */
export function scoresSql(perPrompt: boolean, s: Slicing): string {
  const perCall = `
    SELECT c.candidate, c.record_id, avg(s.value) AS score, min(s.passed IS 1) AS passed
    FROM calls c JOIN scores s ON s.call_id = c.id
    WHERE c.run_id = @run AND c.role = 'candidate' AND s.value IS NOT NULL
    GROUP BY c.record_id, c.candidate, c.repeat`;
  if (!perPrompt) {
    // One call per prompt: passed is 0 or 1, so Σpassed² = Σpassed.
    return `
      SELECT p.candidate, ${s.key} AS slice, count(*) AS units, count(*) AS scored, sum(p.passed) AS passes,
        sum(p.passed) AS sum_rate, sum(p.passed) AS ss_rate, sum(p.score) AS sum_score,
        sum(p.score * p.score) AS ss_score
      FROM (${perCall}) p ${s.join('p')} GROUP BY p.candidate${s.group}`;
  }
  return `
    WITH per_prompt AS (
      SELECT candidate, record_id, count(*) AS calls, sum(passed) AS passes, avg(passed) AS rate,
        avg(score) AS score
      FROM (${perCall}) GROUP BY record_id, candidate
    )
    SELECT p.candidate, ${s.key} AS slice, count(*) AS units, sum(p.calls) AS scored, sum(p.passes) AS passes,
      sum(p.rate) AS sum_rate, sum(p.rate * p.rate) AS ss_rate, sum(p.score) AS sum_score,
      sum(p.score * p.score) AS ss_score
    FROM per_prompt p ${s.join('p')} GROUP BY p.candidate${s.group}`;
}

export function scorersSql(perPrompt: boolean): string {
  const counts = `count(s.value) AS scored, count(*) - count(s.value) AS unscored,
    sum(s.value IS NOT NULL AND s.passed IS 1) AS passes`;
  const from = `FROM calls c JOIN scores s ON s.call_id = c.id
    WHERE c.run_id = @run AND c.role = 'candidate'`;
  if (!perPrompt) {
    return `
      SELECT c.candidate, s.scorer, ${counts}, count(s.value) AS units, NULL AS sum_rate, NULL AS ss_rate,
        avg(s.value) AS mean
      ${from} GROUP BY c.candidate, s.scorer ORDER BY c.candidate, s.scorer`;
  }
  return `
    WITH per_prompt AS (
      SELECT c.candidate, s.scorer, ${counts},
        avg(CASE WHEN s.value IS NOT NULL THEN s.passed IS 1 END) AS rate, avg(s.value) AS mean
      ${from} GROUP BY c.record_id, c.candidate, s.scorer
    )
    SELECT candidate, scorer, sum(scored) AS scored, sum(unscored) AS unscored, sum(passes) AS passes,
      count(rate) AS units, sum(rate) AS sum_rate, sum(rate * rate) AS ss_rate, avg(mean) AS mean
    FROM per_prompt GROUP BY candidate, scorer ORDER BY candidate, scorer`;
}

/*
 * Why scorers could not judge: the unscored rows (value NULL) of candidate calls by scorer and stored
 * detail, for the scorers named in @scorers (a JSON array). One GROUP BY, run only when some scorer
 * scored nothing at all.
 */
export const UNSCORED_DETAILS_SQL = `
  SELECT s.scorer, s.detail, count(*) AS n
  FROM calls c JOIN scores s ON s.call_id = c.id
  WHERE c.run_id = @run AND c.role = 'candidate' AND s.value IS NULL
    AND s.scorer IN (SELECT value FROM json_each(@scorers))
  GROUP BY s.scorer, s.detail`;

/*
 * Latency values are plucked unsorted and sorted as a Float64Array: measured on 1M calls that is
 * about twice as fast as ORDER BY latency_ms, which spills SQLite's sorter to a temp B-tree.
 */
export function valuesSql(column: 'latency_ms' | 'ttft_ms'): string {
  return `
  SELECT ${column} FROM calls
  WHERE run_id = @run AND candidate = @candidate AND role = 'candidate' AND status = 'ok'
    AND ${column} IS NOT NULL`;
}

/** Sliced, latency and TTFT come together: one join per ok call, not two. */
export const SLICED_VALUES_SQL = `
  SELECT ${SLICED.key} AS slice, c.latency_ms, c.ttft_ms FROM calls c ${SLICED.join('c')}
  WHERE c.run_id = @run AND c.candidate = @candidate AND c.role = 'candidate' AND c.status = 'ok'
    AND (c.latency_ms IS NOT NULL OR c.ttft_ms IS NOT NULL)`;

export const SLICE_RECORDS_SQL = `SELECT slice, count(*) AS n FROM ${SLICE_MAP} WHERE alias = 0 GROUP BY slice`;

export const TAG_NAMES_SQL = `
  SELECT DISTINCT t.key FROM records r, json_each(r.tags_json) t WHERE r.run_id = @run ORDER BY t.key`;
