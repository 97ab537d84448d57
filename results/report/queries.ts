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

/**
 * Where a run's calls are read from. The index on run_id finds them anywhere, but then looks every
 * row up in the table, out of order: on a million calls that costs three times a plain walk over
 * the table. A run's calls are written together, so they usually fill one range of call ids: then
 * the aggregates walk that range in id order and skip the odd row of another run (`+c.run_id` keeps
 * the planner off the index). `span` is that range, or null when the run's calls are spread out
 * (runs written at the same time into one database) and the index is cheaper.
 */
export interface CallSpan {
  lo: number;
  hi: number;
  /** The run's calls (all in the span). */
  n: number;
}

/** The run's first and last call id and how many calls lie between them (the run_id index alone). */
export const CALL_SPAN_SQL =
  'SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM calls WHERE run_id = @run';

function runCalls(span: CallSpan | null): string {
  return span === null ? 'c.run_id = @run' : 'c.id BETWEEN @lo AND @hi AND +c.run_id = @run';
}

/*
 * One scan of the run's calls, every role: candidate figures, errors by kind, served models, cost by
 * role and the simulated flag. Grouping by served model (ok calls) and error kind (errors) as well
 * makes a few more groups but saves two more scans of the calls. The latencies and TTFTs of ok
 * candidate calls come along as JSON arrays, one per group (SQLite writes a REAL to JSON with enough
 * digits to read back the same double): plucking them in a second pass per candidate cost more than
 * this whole query on a million calls. Their order does not matter: they are sorted before use.
 * A group's calls are all ok (kind NULL) or all errors, so ok, errors and ok calls without a cost
 * follow from calls and costed (aggregate.ts, callAggregates) instead of three more sums per call.
 */
/*
 * Without repeats, and when no call has two scored scores (one scorer per call, the usual case), the
 * score figures come with the calls query: a call's score is then its one scored value, so the sums
 * are the ones scoresSql makes, over the same calls, and one pass over the calls is saved (on a
 * million calls, a second). aggregate.ts guesses from the span's first scores (SCORES_SAMPLE_SQL:
 * several scorers score every call, so the first calls show it) and checks after: a call with two
 * scored scores is joined twice, so the calls counted exceed the span's count, and then it runs
 * the two queries apart. The sums are per group of callsSql, finer than scoresSql's candidate ×
 * slice: they are used only where one group holds all of a slice's scored calls (one served model),
 * else adding two rounded sums could differ from scoresSql's in the last bit.
 */
const SCORED_JOIN = `LEFT JOIN scores s ON s.call_id = c.id AND c.role = 'candidate' AND s.value IS NOT NULL
  `;
const SCORE_SUMS = `
    count(s.value) AS units, sum(s.passed IS 1) AS passes, sum(s.value) AS sum_score,
    sum(s.value * s.value) AS ss_score`;

/** The call ids of the span's first scored scores, in primary key order (a call's scores together). */
export const SCORES_SAMPLE_SQL = `
  SELECT call_id FROM scores WHERE call_id BETWEEN @lo AND @hi AND value IS NOT NULL LIMIT 2000`;

export function callsSql(s: Slicing, span: CallSpan | null, withScores = false): string {
  const timed = (column: string) =>
    `json_group_array(c.${column}) FILTER (WHERE c.role = 'candidate' AND c.status = 'ok' AND c.${column} IS NOT NULL)`;
  return `
  SELECT c.role, c.candidate, ${s.key} AS slice,
    CASE WHEN c.status = 'ok' THEN c.served_model END AS served,
    CASE WHEN c.status = 'error' THEN coalesce(c.error_kind, 'unknown') END AS kind,
    count(*) AS calls,
    sum(c.attempts > 1) AS retried,
    sum(c.cost_usd) AS cost,
    coalesce(sum(c.input_tokens), 0) AS input_tokens,
    coalesce(sum(c.cached_tokens), 0) AS cached_tokens,
    coalesce(sum(c.output_tokens), 0) AS output_tokens,
    coalesce(sum(c.reasoning_tokens), 0) AS reasoning_tokens,
    coalesce(sum(c.queue_ms), 0) AS queue_ms,
    coalesce(sum(c.backoff_ms), 0) AS backoff_ms,
    count(c.cost_usd) AS costed,
    sum(c.finish_reason IN ('length', 'max_output_tokens')) AS cut_off,
    sum(c.finish_reason = 'content_filter') AS filtered,
    sum(CASE WHEN ${STREAMED} THEN c.output_tokens END) AS stream_tokens,
    sum(CASE WHEN ${STREAMED} THEN c.latency_ms - c.ttft_ms END) AS stream_ms,
    max(c.simulated) AS simulated,
    ${timed('latency_ms')} AS latencies,
    ${timed('ttft_ms')} AS ttfts${withScores ? `,${SCORE_SUMS}` : ''}
  FROM calls c ${withScores ? SCORED_JOIN : ''}${s.join('c')} WHERE ${runCalls(span)}
  GROUP BY c.candidate, c.role${s.group}, served, kind`;
}

/*
 * A score is "scored" when its value is non-null; it passes when passed = 1 (a value whose passed
 * is NULL counts as not passed). A call is scored when any of its scores is, and passes when every
 * scored score on it passed. With repeats the calls of each prompt are averaged first: their calls
 * are grouped by the calls table's unique key in its index order, which SQLite aggregates without
 * sorting. Without repeats, and the run's calls in one span of ids, the scores are walked in call id
 * order instead (the scores' primary key, then each call by its id): in order, where the unique
 * key's record order reaches the scores at random. Σx and Σx² give the variance; scores are small
 * numbers, so the cancellation in Σx² − n·x̄² costs nothing visible. Every figure is a sum, so slices
 * add up to the whole.
 */
export function scoresSql(perPrompt: boolean, s: Slicing, span: CallSpan | null): string {
  if (!perPrompt) {
    const perCall =
      span === null
        ? `
      SELECT c.candidate, c.record_id, avg(s.value) AS score, min(s.passed IS 1) AS passed
      FROM calls c JOIN scores s ON s.call_id = c.id
      WHERE c.run_id = @run AND c.role = 'candidate' AND s.value IS NOT NULL
      GROUP BY c.record_id, c.candidate, c.repeat`
        : `
      SELECT c.candidate, c.record_id, avg(s.value) AS score, min(s.passed IS 1) AS passed
      FROM scores s JOIN calls c ON c.id = s.call_id
      WHERE s.call_id BETWEEN @lo AND @hi AND +c.run_id = @run AND c.role = 'candidate' AND s.value IS NOT NULL
      GROUP BY s.call_id`;
    // One call per prompt: passed is 0 or 1, so Σpassed² = Σpassed.
    return `
      SELECT p.candidate, ${s.key} AS slice, count(*) AS units, count(*) AS scored, sum(p.passed) AS passes,
        sum(p.passed) AS sum_rate, sum(p.passed) AS ss_rate, sum(p.score) AS sum_score,
        sum(p.score * p.score) AS ss_score
      FROM (${perCall}) p ${s.join('p')} GROUP BY p.candidate${s.group}`;
  }
  const perCall = `
    SELECT c.candidate, c.record_id, avg(s.value) AS score, min(s.passed IS 1) AS passed
    FROM calls c JOIN scores s ON s.call_id = c.id
    WHERE c.run_id = @run AND c.role = 'candidate' AND s.value IS NOT NULL
    GROUP BY c.record_id, c.candidate, c.repeat`;
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

export function scorersSql(perPrompt: boolean, span: CallSpan | null): string {
  const counts = `count(s.value) AS scored, count(*) - count(s.value) AS unscored,
    sum(s.value IS NOT NULL AND s.passed IS 1) AS passes`;
  if (!perPrompt) {
    // A scorer's calls in call id order either way, so its mean sums the same values in the same order.
    const from =
      span === null
        ? `FROM calls c JOIN scores s ON s.call_id = c.id
    WHERE c.run_id = @run AND c.role = 'candidate'`
        : `FROM scores s JOIN calls c ON c.id = s.call_id
    WHERE s.call_id BETWEEN @lo AND @hi AND +c.run_id = @run AND c.role = 'candidate'`;
    return `
      SELECT c.candidate, s.scorer, ${counts}, count(s.value) AS units, NULL AS sum_rate, NULL AS ss_rate,
        avg(s.value) AS mean
      ${from} GROUP BY c.candidate, s.scorer ORDER BY c.candidate, s.scorer`;
  }
  return `
    WITH per_prompt AS (
      SELECT c.candidate, s.scorer, ${counts},
        avg(CASE WHEN s.value IS NOT NULL THEN s.passed IS 1 END) AS rate, avg(s.value) AS mean
      FROM calls c JOIN scores s ON s.call_id = c.id
      WHERE c.run_id = @run AND c.role = 'candidate' GROUP BY c.record_id, c.candidate, s.scorer
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

export const SLICE_RECORDS_SQL = `SELECT slice, count(*) AS n FROM ${SLICE_MAP} WHERE alias = 0 GROUP BY slice`;

export const TAG_NAMES_SQL = `
  SELECT DISTINCT t.key FROM records r, json_each(r.tags_json) t WHERE r.run_id = @run ORDER BY t.key`;
