/**
 * Builds the report model of one run from the database alone. Aggregation happens in SQL
 * (GROUP BY per candidate and slice, never a query per call), so a run of a million calls reports in
 * seconds; percentiles come from values plucked per candidate and sorted in JS.
 */
import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import { mcnemar, pairedBootstrap, pairedT, tangoInterval } from '../stats/paired.js';
import { type AgreementReport, classificationSections, type LabelReport } from './labels.js';
import { percentile, percentileCI, tIntervalFromSummary, wilson } from '../stats/stats.js';
import type { RunRow, Store } from '../store/store.js';

export type {
  AgreementFigures,
  AgreementReport,
  LabelCandidateReport,
  LabelReport,
} from './labels.js';

/** Interval of a pass rate, as a share in [0, 1]. */
export interface PassRate {
  /**
   * 'wilson': Wilson score interval over scored calls (one sample per call).
   * 'per-prompt-t': each prompt's repeats are averaged first, then a t interval over prompts,
   * clipped to [0, 1] (STATS.md: repeats are never independent samples).
   */
  method: 'wilson' | 'per-prompt-t';
  /** Units the interval is over: scored calls ('wilson') or prompts with a scored call. */
  n: number;
  p: number;
  lo: number;
  hi: number;
}

/** t interval of the mean score; over calls, or over per-prompt means when the run has repeats. */
export interface MeanScore {
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

/**
 * A type-7 percentile with its distribution-free 95% interval from order statistics (percentileCI):
 * a bound is null ("unbounded") when the sample is too small to give it, e.g. the upper bound of
 * p95 below 72 values and of p99 below 368.
 */
export interface Quantile {
  /** The type-7 estimate; null without values. */
  value: number | null;
  lo: number | null;
  hi: number | null;
  /** Both bounds finite. */
  bounded: boolean;
}

export interface ScorerReport {
  scorer: string;
  /** Score rows with a value. */
  scored: number;
  /** Score rows where the scorer could not judge (value NULL). */
  unscored: number;
  /** Scored rows that passed. */
  passes: number;
  passRate: PassRate;
  /** Mean value over scored rows (per-prompt means first when the run has repeats). */
  meanValue: number;
}

/** The figures of one candidate over a set of its calls: the whole run, or one slice of it. */
export interface Figures {
  /** Rows in the calls table (ok + errors), role 'candidate' only. */
  calls: number;
  ok: number;
  errors: number;
  /** error_kind → count; errors without a kind count as 'unknown'. */
  errorsByKind: Record<string, number>;
  /** Calls that needed more than one attempt. */
  retried: number;
  /** Calls with at least one non-null score. Errored calls have no scores, so they are never scored. */
  scored: number;
  /** Scored calls on which every non-null score passed. */
  passes: number;
  passRate: PassRate;
  /** A call's score is the mean of its non-null score values. */
  meanScore: MeanScore;
  /** Sum of known call costs; null when no call has a cost (no price configured). */
  totalCostUsd: number | null;
  /** totalCostUsd / calls × 1000. */
  costPer1kCalls: number | null;
  /**
   * totalCostUsd / passes: what one passing answer costs, failures and errors paid for included.
   * Null without a cost or without any pass.
   */
  costPerPass: number | null;
  /** Ok calls without a cost (no price known): the total leaves them out. */
  costUnknown: number;
  tokens: { input: number; cached: number; output: number; reasoning: number };
  /** Latency of ok calls (ms), type-7 percentiles with order-statistic 95% intervals. */
  latency: { n: number; p50: Quantile; p95: Quantile; p99: Quantile };
  /** Time to first token over ok streamed calls (ms), type-7 percentiles; null without any. */
  ttft: { n: number; p50: number | null; p95: number | null };
  /** Σ output tokens / Σ (latency − TTFT) over ok streamed calls: the speed after the first token. */
  outputTokensPerSec: number | null;
  /** Time spent waiting for a concurrency slot, outside latency. */
  queue: { totalMs: number; meanMs: number };
  /** Retry waits and failed attempts, outside latency. */
  backoff: { totalMs: number; meanMs: number };
}

export interface CandidateReport extends Figures {
  candidate: string;
  /** The model configured for the candidate. */
  model: string;
  /** What the API said it served, over ok calls that reported it; most calls first. */
  servedModels: { model: string; calls: number }[];
  /**
   * The type-7 latency percentiles 0, 1, …, 100 of ok calls (101 values; empty without any): the
   * distribution the HTML report draws, without a second read of the database.
   */
  latencyQuantiles: number[];
  scorers: ScorerReport[];
}

/** One value of the `by` tag: the figures of every candidate over the records carrying it. */
export interface SliceReport {
  /** The tag's value as text; null for records without the tag. */
  value: string | null;
  /** Records of the run in this slice. */
  records: number;
  /** One entry per candidate, in candidate order. */
  candidates: (Figures & { candidate: string })[];
}

/** Cost and tokens of every call of one role: judges and routers are kept apart from candidates. */
export interface RoleCost {
  role: string;
  calls: number;
  /** Sum of known costs; null when none of these calls has a cost. */
  costUsd: number | null;
  tokens: { input: number; cached: number; output: number; reasoning: number };
}

/** One prompt that flipped between the baseline and a candidate. */
export interface Flip {
  recordId: string;
  /** Position of the record in the dataset; null when the records table does not have it. */
  seq: number | null;
  tags: Record<string, string>;
  /** Share of the prompt's scored ok repeats that passed: 0 or 1 without repeats. */
  baselineRate: number;
  candidateRate: number;
  /** The first ok output of each, whitespace collapsed, cut to 200 characters ('…' marks a cut). */
  baselineExcerpt: string | null;
  candidateExcerpt: string | null;
}

/**
 * A candidate B against the baseline A, paired per prompt (STATS.md). A prompt enters a test when
 * both have the figure on it: a scored ok call for pass rate and score, a known cost, an ok latency.
 * With repeats, each prompt's ok repeats are averaged first.
 */
export interface Comparison {
  candidate: string;
  baseline: string;
  /**
   * Δ pass rate = B − A. 'mcnemar-tango' (one sample per prompt): Tango score interval and McNemar's
   * exact two-sided p. 'paired-t' (repeats): paired t over per-prompt pass rates.
   */
  passRate: {
    method: 'mcnemar-tango' | 'paired-t';
    n: number;
    delta: number;
    lo: number;
    hi: number;
    p: number;
  };
  /** Prompts that regressed (b: A passed, B failed; with repeats: B passed less often). */
  regressions: number;
  /** Prompts that B fixed (c: A failed, B passed; with repeats: B passed more often). */
  fixes: number;
  /** Δ mean score = B − A, paired t over per-prompt scores; p two-sided. */
  meanScore: { n: number; delta: number; lo: number; hi: number; p: number };
  /**
   * Cost ratio B/A as a ratio of mean per-prompt costs, with a paired bootstrap interval (BCa, or
   * the percentile interval where BCa is undefined). Null without paired costs or when A cost $0.
   */
  costRatio: {
    n: number;
    ratio: number;
    lo: number;
    hi: number;
    interval: 'bca' | 'percentile';
    resamples: number;
    seed: number;
  } | null;
  /** Δ p50 latency = median(B) − median(A) over prompts both answered ok; bootstrap percentile CI. */
  latencyP50: { n: number; delta: number; lo: number; hi: number; resamples: number; seed: number } | null;
  /** The first 50 flips each way in dataset order; the counts are `regressions` and `fixes`. */
  flips: { regressions: Flip[]; fixes: Flip[] };
}

export interface RunHeader {
  id: number;
  suite: string;
  status: 'running' | 'interrupted' | 'finished';
  createdAt: string;
  finishedAt: string | null;
  datasetPath: string;
  recordCount: number;
  repeats: number;
  configPath: string | null;
}

/**
 * The report of one run: what every output format renders. Stable: fields are only added; a
 * rename, removal or change of meaning bumps `version`. Statistics that are undefined (a mean of
 * nothing, an interval from one sample) are NaN, which JSON writes as null; figures that may simply
 * be absent (cost without prices, latency without ok calls) are null.
 *
 * Version 2 (from 1):
 * - candidate `latency` is `{ n, p50, p95, p99 }` of Quantile objects (value and order-statistic
 *   interval) instead of `{ n, p50, p95 }` numbers;
 * - `ttftP50` became `ttft: { n, p50, p95 }`;
 * - added per candidate: `costPerPass`, `latencyQuantiles`; at the top: `by`, `slices`,
 *   `costByRole`, `baseline`, `comparisons`; `method.latencyInterval` and `method.bootstrap`.
 * Added later in version 2 (optional, present only when relevant): `labels`, `agreement`.
 */
export interface RunReport {
  version: 2;
  /** True when any call of the run, of any role, was served by holdout's local simulator. */
  simulated: boolean;
  /** calls.candidate of every simulated call (judges and routers included), sorted. */
  simulatedCandidates: string[];
  /** Caveats that must be read before any figure; the SIMULATED notice comes first. */
  warnings: string[];
  run: RunHeader;
  method: {
    confidence: 0.95;
    percentiles: 'type-7';
    latencyInterval: 'order-statistic';
    passRate: PassRate['method'];
    meanScore: 'per-call-t' | 'per-prompt-t';
    /** Seed and most resamples of the paired bootstraps (fewer when n is large: see each result). */
    bootstrap: { seed: number; maxResamples: number };
  };
  /** role = 'candidate' only, in the order of the candidates table. */
  candidates: CandidateReport[];
  /** The tag the report is sliced by, or null. */
  by: string | null;
  /** One entry per value of `by`, sorted by value, records without the tag last; [] without `by`. */
  slices: SliceReport[];
  /** Cost of the run's calls by role: 'candidate', 'judge', 'router' always, then any other role. */
  costByRole: RoleCost[];
  /** The candidate the others are compared with, or null. */
  baseline: string | null;
  /** Every other candidate against `baseline`, in candidate order; [] without a baseline. */
  comparisons: Comparison[];
  /**
   * Per-class precision, recall, F1 and the confusion matrix of each `label` scorer, per candidate.
   * Absent when the run has no label scorer or no record with `reference.label`.
   */
  labels?: LabelReport[];
  /**
   * Agreement of each model-graded judge (`judge_*` kinds) with the human grades in `reference.grade`:
   * accuracy and Cohen's kappa, per candidate and pooled. Absent without a judge or a graded record.
   */
  agreement?: AgreementReport[];
  /** Quieter caveats: what was left out and why. */
  notes: string[];
}

export interface ReportOptions {
  /** Slice every candidate's figures by the value of this record tag. */
  by?: string;
  /** Compare every other candidate with this one, paired per prompt. */
  baseline?: string;
}

export function simulatedNotice(candidates: readonly string[]): string {
  return (
    "SIMULATED: these models were served by holdout's local simulator, not real models " +
    `(candidates: ${candidates.join(', ')})`
  );
}

export const BOOTSTRAP_SEED = 1;
export const MAX_RESAMPLES = 10_000;
/**
 * Index draws allowed per bootstrap interval (about a quarter of a second): resamples × n stays under
 * this, so 10,000 resamples up to 5,000 pairs, and a million-call run stays fast. A median costs three
 * times a mean per draw, so it gets a third.
 */
const BOOTSTRAP_DRAWS = 50_000_000;
const MIN_RESAMPLES = 100;
const FLIPS_SHOWN = 50;
const EXCERPT_CHARS = 200;
const QUANTILE_STEPS = 100;

/**
 * Resamples for a bootstrap over n pairs: 10,000, or fewer (down to 100) when n × 10,000 draws would
 * be slow. `cost` is the work of one draw relative to a mean's (3 for a median).
 */
export function bootstrapResamples(n: number, cost = 1): number {
  const budget = Math.floor(BOOTSTRAP_DRAWS / cost / Math.max(1, n));
  return Math.min(MAX_RESAMPLES, Math.max(MIN_RESAMPLES, budget));
}

// --- SQL ----------------------------------------------------------------------------------------

/**
 * How calls map to slices. Unsliced, every call is in the one slice NULL. Sliced, the tag value comes
 * from records.tags_json through json_extract (the path a bound parameter, '$."name"', quoted so a
 * tag name with dots or dashes is one key). It is extracted once per record into a temporary map
 * keyed by record id, which the aggregates join: parsing the tags on every call, or looking the
 * record up in the records table per call, made a sliced report of a million calls twice as slow.
 */
interface Slicing {
  /** Joins records r to the rows named `alias`. */
  join(alias: string): string;
  /** The slice expression. */
  key: string;
  /** Appended to GROUP BY: empty unsliced, where grouping by a constant would cost a sort. */
  group: string;
}

const UNSLICED: Slicing = { join: () => '', key: 'NULL', group: '' };
/** A TEMP table: private to this connection, so a concurrent writer of the database never sees it. */
const SLICE_MAP = 'temp.holdout_report_slices';
const SLICED: Slicing = {
  join: (alias) => `LEFT JOIN ${SLICE_MAP} m ON m.record_id = ${alias}.record_id`,
  key: 'm.slice',
  group: ', slice',
};

const SLICE_MAP_SQL = [
  `DROP TABLE IF EXISTS ${SLICE_MAP}`,
  `CREATE TABLE ${SLICE_MAP} (record_id TEXT PRIMARY KEY, slice) WITHOUT ROWID`,
  // In key order (the records index gives it without a sort): appending is faster than inserting.
  `INSERT INTO ${SLICE_MAP}
    SELECT record_id, json_extract(tags_json, @path) FROM records WHERE run_id = @run ORDER BY record_id`,
];

const STREAMED = `c.status = 'ok' AND c.ttft_ms IS NOT NULL AND c.latency_ms IS NOT NULL
  AND c.output_tokens IS NOT NULL`;

/*
 * One scan of the run's calls, every role: candidate figures, errors by kind, served models, cost by
 * role and the simulated flag. Grouping by served model (ok calls) and error kind (errors) as well
 * makes a few more groups but saves two more scans of the calls.
 */
function callsSql(s: Slicing): string {
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
function scoresSql(perPrompt: boolean, s: Slicing): string {
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

function scorersSql(perPrompt: boolean): string {
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
 * Latency values are plucked unsorted and sorted as a Float64Array: measured on 1M calls that is
 * about twice as fast as ORDER BY latency_ms, which spills SQLite's sorter to a temp B-tree.
 */
function valuesSql(column: 'latency_ms' | 'ttft_ms'): string {
  return `
  SELECT ${column} FROM calls
  WHERE run_id = @run AND candidate = @candidate AND role = 'candidate' AND status = 'ok'
    AND ${column} IS NOT NULL`;
}

/** Sliced, latency and TTFT come together: one join per ok call, not two. */
const SLICED_VALUES_SQL = `
  SELECT ${SLICED.key} AS slice, c.latency_ms, c.ttft_ms FROM calls c ${SLICED.join('c')}
  WHERE c.run_id = @run AND c.candidate = @candidate AND c.role = 'candidate' AND c.status = 'ok'
    AND (c.latency_ms IS NOT NULL OR c.ttft_ms IS NOT NULL)`;

const SLICE_RECORDS_SQL = `SELECT slice, count(*) AS n FROM ${SLICE_MAP} GROUP BY slice`;

const TAG_NAMES_SQL = `
  SELECT DISTINCT t.key FROM records r, json_each(r.tags_json) t WHERE r.run_id = @run ORDER BY t.key`;

/*
 * Per prompt and candidate, over ok calls: pass rate and mean score over scored repeats, mean cost
 * over costed ones, mean latency. Without repeats a call is a prompt, and the calls come in the unique
 * index's order (record, candidate), so nothing is sorted; with repeats they are averaged per prompt.
 */
const PER_CALL_SQL = `
  SELECT c.record_id, c.candidate, CASE WHEN count(s.value) > 0 THEN min(s.passed IS 1) END AS rate,
    avg(s.value) AS score, c.cost_usd AS cost, c.latency_ms AS latency
  FROM calls c LEFT JOIN scores s ON s.call_id = c.id AND s.value IS NOT NULL
  WHERE c.run_id = @run AND c.role = 'candidate' AND c.status = 'ok'
  GROUP BY c.record_id, c.candidate, c.repeat`;

function pairedSql(perPrompt: boolean): string {
  if (!perPrompt) return PER_CALL_SQL;
  return `
    SELECT record_id, candidate, avg(rate) AS rate, avg(score) AS score, avg(cost) AS cost,
      avg(latency) AS latency
    FROM (${PER_CALL_SQL}) GROUP BY record_id, candidate`;
}

const FLIP_RECORDS_SQL = `
  SELECT record_id, seq, tags_json FROM records
  WHERE run_id = @run AND record_id IN (SELECT value FROM json_each(@ids))`;

const FLIP_OUTPUTS_SQL = `
  SELECT record_id, candidate, output FROM calls
  WHERE run_id = @run AND role = 'candidate' AND status = 'ok' AND candidate IN (@a, @b)
    AND record_id IN (SELECT value FROM json_each(@ids))
  ORDER BY record_id, candidate, repeat`;

// --- aggregation --------------------------------------------------------------------------------

interface CallAggregate {
  role: string;
  candidate: string;
  slice: unknown;
  /** The served model of the group's ok calls; null for errors and for calls without one. */
  served: string | null;
  /** The error kind of the group's errors; null for ok calls. */
  kind: string | null;
  calls: number;
  ok: number;
  errors: number;
  retried: number;
  cost: number | null;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  queue_ms: number;
  backoff_ms: number;
  ok_uncosted: number;
  stream_tokens: number | null;
  stream_ms: number | null;
  simulated: number;
}

interface ScoreAggregate {
  candidate: string;
  slice: unknown;
  units: number;
  scored: number;
  passes: number;
  sum_rate: number;
  ss_rate: number;
  sum_score: number;
  ss_score: number;
}

interface ScorerAggregate {
  candidate: string;
  scorer: string;
  scored: number;
  unscored: number;
  passes: number;
  units: number;
  sum_rate: number | null;
  ss_rate: number | null;
  mean: number | null;
}

/** Summable raw figures of one candidate over one slice (or the whole run). */
interface Acc {
  calls: number;
  ok: number;
  errors: number;
  retried: number;
  cost: number | null;
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  queueMs: number;
  backoffMs: number;
  okUncosted: number;
  streamTokens: number | null;
  streamMs: number | null;
  errorsByKind: Map<string, number>;
  units: number;
  scored: number;
  passes: number;
  sumRate: number;
  ssRate: number;
  sumScore: number;
  ssScore: number;
  latencies: number[];
  ttfts: number[];
}

function emptyAcc(): Acc {
  return {
    calls: 0,
    ok: 0,
    errors: 0,
    retried: 0,
    cost: null,
    input: 0,
    cached: 0,
    output: 0,
    reasoning: 0,
    queueMs: 0,
    backoffMs: 0,
    okUncosted: 0,
    streamTokens: null,
    streamMs: null,
    errorsByKind: new Map(),
    units: 0,
    scored: 0,
    passes: 0,
    sumRate: 0,
    ssRate: 0,
    sumScore: 0,
    ssScore: 0,
    latencies: [],
    ttfts: [],
  };
}

/** null + null = null; a known value plus an unknown one is the known value. */
function addNullable(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

/** A slice key as the report shows it: text, null for a missing tag. */
function sliceText(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** Map key for a slice (Map keys compare null fine, but a stable string keeps ordering simple). */
const NO_TAG = '\u0000none';
const keyOf = (v: string | null) => (v === null ? NO_TAG : `=${v}`);

interface Collected {
  /** candidate → slice key → Acc; the whole run is the sum over slices. */
  bySlice: Map<string, Map<string, Acc>>;
  /** candidate → whole-run Acc. */
  total: Map<string, Acc>;
  /** Slice keys → display value. */
  sliceValues: Map<string, string | null>;
  /** Slice key → records of the run in that slice (empty unsliced). */
  records: Map<string, number>;
  /** candidate → served model → ok calls, over the whole run. */
  served: Map<string, Map<string, number>>;
  aggregates: CallAggregate[];
}

/**
 * Runs the aggregate queries of one run, sliced or not, and sums slices into the whole. Every query
 * is a GROUP BY over the run's calls; values for percentiles are plucked once per candidate.
 */
function collect(db: Database.Database, runId: number, perPrompt: boolean, path: string | null): Collected {
  if (path === null) return aggregate(db, runId, perPrompt, null);
  for (const sql of SLICE_MAP_SQL) db.prepare(sql).run({ run: runId, path });
  try {
    return aggregate(db, runId, perPrompt, path);
  } finally {
    db.prepare(SLICE_MAP_SQL[0]!).run();
  }
}

function aggregate(db: Database.Database, runId: number, perPrompt: boolean, path: string | null): Collected {
  const s = path === null ? UNSLICED : SLICED;
  const params = path === null ? { run: runId } : { run: runId, path };
  const bySlice = new Map<string, Map<string, Acc>>();
  const total = new Map<string, Acc>();
  const sliceValues = new Map<string, string | null>();
  const sliced = path !== null;
  /** The accumulators a row adds to: its slice's and the whole run's (only the whole run's unsliced). */
  const acc = (candidate: string, slice: unknown): Acc[] => {
    const t = getOr(total, candidate, emptyAcc);
    if (!sliced) return [t];
    const value = sliceText(slice);
    const key = keyOf(value);
    sliceValues.set(key, value);
    const a = getOr(
      getOr(bySlice, candidate, () => new Map<string, Acc>()),
      key,
      emptyAcc,
    );
    return [a, t];
  };

  const aggregates = db.prepare(callsSql(s)).all(params) as CallAggregate[];
  const served = new Map<string, Map<string, number>>();
  for (const g of aggregates) {
    if (g.role !== 'candidate') continue;
    if (g.served !== null) {
      const models = getOr(served, g.candidate, () => new Map<string, number>());
      models.set(g.served, (models.get(g.served) ?? 0) + g.ok);
    }
    for (const a of acc(g.candidate, g.slice)) {
      if (g.kind !== null) a.errorsByKind.set(g.kind, (a.errorsByKind.get(g.kind) ?? 0) + g.errors);
      a.calls += g.calls;
      a.ok += g.ok;
      a.errors += g.errors;
      a.retried += g.retried;
      a.cost = addNullable(a.cost, g.cost);
      a.input += g.input_tokens;
      a.cached += g.cached_tokens;
      a.output += g.output_tokens;
      a.reasoning += g.reasoning_tokens;
      a.queueMs += g.queue_ms;
      a.backoffMs += g.backoff_ms;
      a.okUncosted += g.ok_uncosted;
      a.streamTokens = addNullable(a.streamTokens, g.stream_tokens);
      a.streamMs = addNullable(a.streamMs, g.stream_ms);
    }
  }
  for (const g of db.prepare(scoresSql(perPrompt, s)).all(params) as ScoreAggregate[]) {
    for (const a of acc(g.candidate, g.slice)) {
      a.units += g.units;
      a.scored += g.scored;
      a.passes += g.passes;
      a.sumRate += g.sum_rate;
      a.ssRate += g.ss_rate;
      a.sumScore += g.sum_score;
      a.ssScore += g.ss_score;
    }
  }
  if (!sliced) {
    // One column, no slice: pluck straight into an array.
    const latencyStmt = db.prepare(valuesSql('latency_ms')).pluck();
    const ttftStmt = db.prepare(valuesSql('ttft_ms')).pluck();
    for (const [candidate, t] of total) {
      t.latencies = latencyStmt.all({ run: runId, candidate }) as number[];
      t.ttfts = ttftStmt.all({ run: runId, candidate }) as number[];
    }
  } else {
    // Values go to their slice only; the whole run's are the slices' joined afterwards. The slice's
    // accumulator is looked up once per distinct value, not once per call.
    const valuesStmt = db.prepare(SLICED_VALUES_SQL).raw();
    for (const [candidate, t] of total) {
      const rows = valuesStmt.iterate({ ...params, candidate }) as Iterable<
        [unknown, number | null, number | null]
      >;
      const accOf = new Map<unknown, Acc>();
      for (const [slice, latency, ttft] of rows) {
        let a = accOf.get(slice);
        if (a === undefined) {
          a = acc(candidate, slice)[0]!;
          accOf.set(slice, a);
        }
        if (latency !== null) a.latencies.push(latency);
        if (ttft !== null) a.ttfts.push(ttft);
      }
      t.latencies = [...accOf.values()].flatMap((a) => a.latencies);
      t.ttfts = [...accOf.values()].flatMap((a) => a.ttfts);
    }
  }
  const records = new Map<string, number>();
  if (sliced) {
    for (const r of db.prepare(SLICE_RECORDS_SQL).all() as { slice: unknown; n: number }[]) {
      const value = sliceText(r.slice);
      const key = keyOf(value);
      sliceValues.set(key, value);
      records.set(key, (records.get(key) ?? 0) + r.n);
    }
  }
  return { bySlice, total, sliceValues, records, served, aggregates };
}

/** What the API said it served a candidate, most calls first. */
function servedModels(collected: Collected, candidate: string): { model: string; calls: number }[] {
  return [...(collected.served.get(candidate) ?? [])]
    .map(([model, calls]) => ({ model, calls }))
    .sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function quantile(sortedValues: Float64Array, p: number): Quantile {
  const ci = percentileCI(sortedValues, p);
  return { value: orNull(ci.estimate), lo: ci.lo, hi: ci.hi, bounded: ci.bounded };
}

/** Figures from the summed aggregates; sorts the plucked values (and returns them sorted). */
function figures(a: Acc, method: PassRate['method']): { figures: Figures; latencies: Float64Array } {
  const latencies = sorted(a.latencies);
  const ttfts = sorted(a.ttfts);
  const cost = a.cost;
  const calls = a.calls;
  const errorsByKind = Object.fromEntries(
    [...a.errorsByKind].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)),
  );
  return {
    latencies,
    figures: {
      calls,
      ok: a.ok,
      errors: a.errors,
      errorsByKind,
      retried: a.retried,
      scored: a.scored,
      passes: a.passes,
      passRate: passRate(method, a.units, a.passes, a.sumRate, a.ssRate),
      meanScore: meanOf(a.units, a.sumScore, a.ssScore),
      totalCostUsd: cost,
      costPer1kCalls: cost === null || calls === 0 ? null : (cost / calls) * 1000,
      costPerPass: cost === null || a.passes === 0 ? null : cost / a.passes,
      costUnknown: a.okUncosted,
      tokens: { input: a.input, cached: a.cached, output: a.output, reasoning: a.reasoning },
      latency: {
        n: latencies.length,
        p50: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
        p99: quantile(latencies, 0.99),
      },
      ttft: { n: ttfts.length, p50: orNull(percentile(ttfts, 0.5)), p95: orNull(percentile(ttfts, 0.95)) },
      outputTokensPerSec:
        a.streamTokens !== null && a.streamMs !== null && a.streamMs > 0
          ? a.streamTokens / (a.streamMs / 1000)
          : null,
      queue: { totalMs: a.queueMs, meanMs: calls > 0 ? a.queueMs / calls : Number.NaN },
      backoff: { totalMs: a.backoffMs, meanMs: calls > 0 ? a.backoffMs / calls : Number.NaN },
    },
  };
}

function tagPath(by: string): string {
  if (by === '' || /["\\]/.test(by)) {
    throw new HarnessError('USAGE', `cannot slice by tag ${JSON.stringify(by)}: give a tag name`, {
      hint: 'name a tag of the records, e.g. --by task',
    });
  }
  return `$."${by}"`;
}

function roleCosts(aggregates: CallAggregate[]): RoleCost[] {
  const out = new Map<string, RoleCost>();
  for (const role of ['candidate', 'judge', 'router']) {
    out.set(role, {
      role,
      calls: 0,
      costUsd: null,
      tokens: { input: 0, cached: 0, output: 0, reasoning: 0 },
    });
  }
  for (const g of aggregates) {
    let r = out.get(g.role);
    if (!r) {
      r = { role: g.role, calls: 0, costUsd: null, tokens: { input: 0, cached: 0, output: 0, reasoning: 0 } };
      out.set(g.role, r);
    }
    r.calls += g.calls;
    r.costUsd = addNullable(r.costUsd, g.cost);
    r.tokens.input += g.input_tokens;
    r.tokens.cached += g.cached_tokens;
    r.tokens.output += g.output_tokens;
    r.tokens.reasoning += g.reasoning_tokens;
  }
  return [...out.values()];
}

function header(run: RunRow): RunHeader {
  return {
    id: run.id,
    suite: run.suite,
    status: run.status,
    createdAt: run.created_at,
    finishedAt: run.finished_at,
    datasetPath: run.dataset_path,
    recordCount: run.record_count,
    repeats: run.repeats,
    configPath: run.config_path,
  };
}

function getRun(store: Store, runId: number): RunRow {
  const run = store.getRun(runId);
  if (!run) {
    throw new HarnessError('RUN_NOT_FOUND', `no run with id ${runId} in this database`, {
      hint: 'list the runs in the database and pass one of their ids',
    });
  }
  return run;
}

/**
 * Reads run `runId` and aggregates it; throws RUN_NOT_FOUND when there is no such run, USAGE for a
 * baseline that is not a candidate of the run or a `by` tag that no record has.
 */
export function buildReport(store: Store, runId: number, opts: ReportOptions = {}): RunReport {
  const run = getRun(store, runId);
  const db = store.db;
  const perPrompt = run.repeats > 1;
  const method: PassRate['method'] = perPrompt ? 'per-prompt-t' : 'wilson';
  const configured = store.candidates(runId);
  const baseline = opts.baseline ?? null;
  const names = configured.map((c) => c.candidate).join(', ');
  if (baseline !== null && !configured.some((c) => c.candidate === baseline)) {
    throw new HarnessError(
      'USAGE',
      `unknown baseline '${baseline}': the candidates of run ${runId} are ${names || '(none)'}`,
      { hint: 'pass one of those names to --baseline' },
    );
  }
  const by = opts.by ?? null;
  const path = by === null ? null : tagPath(by);

  const collected = collect(db, runId, perPrompt, path);
  const simulatedCandidates = [
    ...new Set(collected.aggregates.filter((a) => a.simulated === 1).map((a) => a.candidate)),
  ].sort();
  const scorersOf = groupBy(db.prepare(scorersSql(perPrompt)).all({ run: runId }) as ScorerAggregate[]);

  const candidates = configured.map(({ candidate, model }): CandidateReport => {
    const { figures: f, latencies } = figures(collected.total.get(candidate) ?? emptyAcc(), method);
    return {
      candidate,
      model,
      servedModels: servedModels(collected, candidate),
      ...f,
      latencyQuantiles:
        latencies.length === 0
          ? []
          : Array.from({ length: QUANTILE_STEPS + 1 }, (_, i) => percentile(latencies, i / QUANTILE_STEPS)),
      scorers: (scorersOf.get(candidate) ?? []).map((r) => ({
        scorer: r.scorer,
        scored: r.scored,
        unscored: r.unscored,
        passes: r.passes,
        passRate: passRate(method, r.units, r.passes, r.sum_rate ?? 0, r.ss_rate ?? 0),
        meanValue: r.mean ?? Number.NaN,
      })),
    };
  });

  const slices = by === null ? [] : buildSlices(db, runId, by, collected, configured, method);
  const comparisons = baseline === null ? [] : compare(db, runId, perPrompt, baseline, configured);
  const stray = [...collected.total.keys()].filter((c) => !configured.some((k) => k.candidate === c));
  const costByRole = roleCosts(collected.aggregates);
  const classification = classificationSections(
    db,
    runId,
    run.scorers_json,
    configured.map((c) => c.candidate),
    run.repeats,
    new Set(candidates.flatMap((c) => c.scorers.filter((s) => s.scored > 0).map((s) => s.scorer))),
  );
  return {
    version: 2,
    simulated: simulatedCandidates.length > 0,
    simulatedCandidates,
    warnings: simulatedCandidates.length > 0 ? [simulatedNotice(simulatedCandidates)] : [],
    run: header(run),
    method: {
      confidence: 0.95,
      percentiles: 'type-7',
      latencyInterval: 'order-statistic',
      passRate: method,
      meanScore: perPrompt ? 'per-prompt-t' : 'per-call-t',
      bootstrap: { seed: BOOTSTRAP_SEED, maxResamples: MAX_RESAMPLES },
    },
    candidates,
    by,
    slices,
    costByRole,
    baseline,
    comparisons,
    ...(classification.labels.length > 0 ? { labels: classification.labels } : {}),
    ...(classification.agreement.length > 0 ? { agreement: classification.agreement } : {}),
    notes: [...notes(run, candidates, slices, costByRole, comparisons, stray), ...classification.notes],
  };
}

function buildSlices(
  db: Database.Database,
  runId: number,
  by: string,
  collected: Collected,
  configured: { candidate: string }[],
  method: PassRate['method'],
): SliceReport[] {
  const records = collected.records;
  const values = [...collected.sliceValues.entries()];
  if (values.length > 0 && values.every(([, v]) => v === null)) {
    const tags = (db.prepare(TAG_NAMES_SQL).pluck().all({ run: runId }) as string[]).join(', ');
    throw new HarnessError('USAGE', `no record of run ${runId} has a tag '${by}'`, {
      hint: tags ? `the records' tags are: ${tags}` : 'the records of this run have no tags',
    });
  }
  values.sort(([, a], [, b]) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return values.map(([key, value]) => ({
    value,
    records: records.get(key) ?? 0,
    candidates: configured.map(({ candidate }) => ({
      candidate,
      ...figures(collected.bySlice.get(candidate)?.get(key) ?? emptyAcc(), method).figures,
    })),
  }));
}

// --- paired comparison --------------------------------------------------------------------------

interface PairAcc {
  candidate: string;
  n: number;
  b: number;
  c: number;
  rateD: number[];
  scoreD: number[];
  costA: number[];
  costB: number[];
  latA: number[];
  latB: number[];
  regressions: { recordId: string; a: number; b: number }[];
  fixes: { recordId: string; a: number; b: number }[];
}

/** Where a flipped record sits in the dataset, and its tags. */
type RecordInfo = { seq: number | null; tags: Record<string, string> };

type PromptRow = [
  recordId: string,
  candidate: string,
  rate: number | null,
  score: number | null,
  cost: number | null,
  latency: number | null,
];

function compare(
  db: Database.Database,
  runId: number,
  perPrompt: boolean,
  baseline: string,
  configured: { candidate: string }[],
): Comparison[] {
  const pairs = new Map<string, PairAcc>();
  for (const { candidate } of configured) {
    if (candidate === baseline) continue;
    pairs.set(candidate, {
      candidate,
      n: 0,
      b: 0,
      c: 0,
      rateD: [],
      scoreD: [],
      costA: [],
      costB: [],
      latA: [],
      latB: [],
      regressions: [],
      fixes: [],
    });
  }
  // Rows come grouped by record: gather one record's rows, then pair the baseline with each other.
  let current: string | null = null;
  let group: PromptRow[] = [];
  const flush = () => {
    const a = group.find((r) => r[1] === baseline);
    if (a) {
      for (const r of group) {
        const p = pairs.get(r[1]);
        if (p) addPair(p, a, r);
      }
    }
    group = [];
  };
  for (const row of db.prepare(pairedSql(perPrompt)).raw().iterate({ run: runId }) as Iterable<PromptRow>) {
    if (row[0] !== current) {
      flush();
      current = row[0];
    }
    group.push(row);
  }
  flush();

  const accs = [...pairs.values()];
  const flipped = new Set<string>();
  for (const p of accs) for (const f of [...p.regressions, ...p.fixes]) flipped.add(f.recordId);
  const recordInfo = new Map<string, RecordInfo>();
  if (flipped.size > 0) {
    const rows = db.prepare(FLIP_RECORDS_SQL).all({ run: runId, ids: JSON.stringify([...flipped]) }) as {
      record_id: string;
      seq: number;
      tags_json: string;
    }[];
    for (const r of rows) recordInfo.set(r.record_id, { seq: r.seq, tags: parseTags(r.tags_json) });
  }
  const outputsStmt = db.prepare(FLIP_OUTPUTS_SQL);
  return accs.map((p) => comparison(p, baseline, perPrompt, recordInfo, outputsStmt, runId));
}

function addPair(p: PairAcc, a: PromptRow, b: PromptRow): void {
  const [recordId, , rateA, scoreA, costA, latA] = a;
  const [, , rateB, scoreB, costB, latB] = b;
  if (rateA !== null && rateB !== null) {
    p.n++;
    p.rateD.push(rateB - rateA);
    if (rateB < rateA) {
      p.b++;
      p.regressions.push({ recordId, a: rateA, b: rateB });
    } else if (rateB > rateA) {
      p.c++;
      p.fixes.push({ recordId, a: rateA, b: rateB });
    }
  }
  if (scoreA !== null && scoreB !== null) p.scoreD.push(scoreB - scoreA);
  if (costA !== null && costB !== null) {
    p.costA.push(costA);
    p.costB.push(costB);
  }
  if (latA !== null && latB !== null) {
    p.latA.push(latA);
    p.latB.push(latB);
  }
}

function comparison(
  p: PairAcc,
  baseline: string,
  perPrompt: boolean,
  recordInfo: Map<string, RecordInfo>,
  outputsStmt: Database.Statement,
  runId: number,
): Comparison {
  const nan = Number.NaN;
  let passRate: Comparison['passRate'];
  if (perPrompt) {
    const t = pairedT(p.rateD);
    passRate = { method: 'paired-t', n: p.n, delta: t.mean, lo: t.lo, hi: t.hi, p: t.pTwoSided };
  } else if (p.n > 0) {
    const ci = tangoInterval(p.b, p.c, p.n);
    passRate = { method: 'mcnemar-tango', n: p.n, ...ci, p: mcnemar(p.b, p.c).exactTwoSided };
  } else {
    passRate = { method: 'mcnemar-tango', n: 0, delta: nan, lo: nan, hi: nan, p: nan };
  }
  const s = pairedT(p.scoreD);

  let costRatio: Comparison['costRatio'] = null;
  const sumA = p.costA.reduce((x, y) => x + y, 0);
  if (p.costA.length > 0 && sumA > 0) {
    const resamples = bootstrapResamples(p.costA.length);
    const boot = pairedBootstrap(p.costA, p.costB, {
      statistic: 'ratio-of-means',
      seed: BOOTSTRAP_SEED,
      resamples,
    });
    const bca = Number.isFinite(boot.bca.lo) && Number.isFinite(boot.bca.hi);
    const ci = bca ? boot.bca : boot.percentile;
    costRatio = {
      n: p.costA.length,
      ratio: boot.estimate,
      lo: ci.lo,
      hi: ci.hi,
      interval: bca ? 'bca' : 'percentile',
      resamples,
      seed: BOOTSTRAP_SEED,
    };
  }
  let latencyP50: Comparison['latencyP50'] = null;
  if (p.latA.length > 0) {
    const resamples = bootstrapResamples(p.latA.length, 3);
    const boot = pairedBootstrap(p.latA, p.latB, {
      statistic: 'median-diff',
      seed: BOOTSTRAP_SEED,
      resamples,
    });
    latencyP50 = {
      n: p.latA.length,
      delta: boot.estimate,
      lo: boot.percentile.lo,
      hi: boot.percentile.hi,
      resamples,
      seed: BOOTSTRAP_SEED,
    };
  }

  const first = (list: { recordId: string; a: number; b: number }[]) =>
    list
      .map((f) => ({ ...f, info: recordInfo.get(f.recordId) ?? { seq: null, tags: {} } }))
      .sort((x, y) => (x.info.seq ?? Number.MAX_SAFE_INTEGER) - (y.info.seq ?? Number.MAX_SAFE_INTEGER))
      .slice(0, FLIPS_SHOWN);
  const regressions = first(p.regressions);
  const fixes = first(p.fixes);
  const ids = [...regressions, ...fixes].map((f) => f.recordId);
  const outputs = new Map<string, string | null>();
  if (ids.length > 0) {
    const rows = outputsStmt.all({ run: runId, a: baseline, b: p.candidate, ids: JSON.stringify(ids) }) as {
      record_id: string;
      candidate: string;
      output: string | null;
    }[];
    for (const r of rows) {
      const key = `${r.candidate}\u0000${r.record_id}`;
      if (!outputs.has(key)) outputs.set(key, r.output);
    }
  }
  const flip = (f: (typeof regressions)[number]): Flip => ({
    recordId: f.recordId,
    seq: f.info.seq,
    tags: f.info.tags,
    baselineRate: f.a,
    candidateRate: f.b,
    baselineExcerpt: excerpt(outputs.get(`${baseline}\u0000${f.recordId}`) ?? null),
    candidateExcerpt: excerpt(outputs.get(`${p.candidate}\u0000${f.recordId}`) ?? null),
  });
  return {
    candidate: p.candidate,
    baseline,
    passRate,
    regressions: p.b,
    fixes: p.c,
    meanScore: { n: p.scoreD.length, delta: s.mean, lo: s.lo, hi: s.hi, p: s.pTwoSided },
    costRatio,
    latencyP50,
    flips: { regressions: regressions.map(flip), fixes: fixes.map(flip) },
  };
}

function excerpt(output: string | null): string | null {
  if (output === null) return null;
  const flat = output.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > EXCERPT_CHARS ? `${chars.slice(0, EXCERPT_CHARS - 1).join('')}…` : flat;
}

/** A record's stored tags; a non-string value (from a hand-made database) becomes its JSON. */
export function parseTags(json: string): Record<string, string> {
  try {
    const v = JSON.parse(json) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]),
    );
  } catch {
    return {};
  }
}

// --- trend --------------------------------------------------------------------------------------

/** One candidate in one run of a suite. */
export interface TrendPoint {
  runId: number;
  createdAt: string;
  status: RunHeader['status'];
  /** The configured model in that run. */
  model: string;
  calls: number;
  errors: number;
  passRate: PassRate;
  meanScore: MeanScore;
  costPer1kCalls: number | null;
  latency: { n: number; p50: number | null; p95: number | null };
  servedModels: { model: string; calls: number }[];
  simulated: boolean;
}

/**
 * Each candidate id across the runs of a suite, oldest run first: the same SQL aggregates as
 * buildReport, one run at a time. Version 1.
 */
export interface TrendReport {
  version: 1;
  suite: string;
  simulated: boolean;
  warnings: string[];
  method: { confidence: 0.95; percentiles: 'type-7' };
  /** The suite's runs by created_at, then id. */
  runs: {
    id: number;
    createdAt: string;
    status: RunHeader['status'];
    recordCount: number;
    repeats: number;
  }[];
  /** Candidate ids in order of first appearance; points only for the runs that had the candidate. */
  candidates: { candidate: string; points: TrendPoint[] }[];
  notes: string[];
}

const SUITE_RUNS_SQL = 'SELECT id FROM runs WHERE suite = ? ORDER BY created_at, id';

/** Builds the trend of `suite`; throws RUN_NOT_FOUND when the suite has no runs. */
export function buildTrend(store: Store, suite: string): TrendReport {
  const db = store.db;
  const ids = db.prepare(SUITE_RUNS_SQL).pluck().all(suite) as number[];
  if (ids.length === 0) {
    const suites = (
      db.prepare('SELECT DISTINCT suite FROM runs ORDER BY suite').pluck().all() as string[]
    ).join(', ');
    throw new HarnessError('RUN_NOT_FOUND', `no runs of suite '${suite}' in this database`, {
      hint: suites ? `suites in this database: ${suites}` : 'run `holdout run <config>` first',
    });
  }
  const series = new Map<string, TrendPoint[]>();
  const runs: TrendReport['runs'] = [];
  const simulated = new Set<string>();
  for (const id of ids) {
    const run = getRun(store, id);
    runs.push({
      id,
      createdAt: run.created_at,
      status: run.status,
      recordCount: run.record_count,
      repeats: run.repeats,
    });
    const method: PassRate['method'] = run.repeats > 1 ? 'per-prompt-t' : 'wilson';
    const collected = collect(db, id, run.repeats > 1, null);
    const simulatedHere = new Set(
      collected.aggregates.filter((a) => a.simulated === 1).map((a) => a.candidate),
    );
    for (const c of simulatedHere) simulated.add(c);
    for (const { candidate, model } of store.candidates(id)) {
      const { figures: f } = figures(collected.total.get(candidate) ?? emptyAcc(), method);
      getOr(series, candidate, (): TrendPoint[] => []).push({
        runId: id,
        createdAt: run.created_at,
        status: run.status,
        model,
        calls: f.calls,
        errors: f.errors,
        passRate: f.passRate,
        meanScore: f.meanScore,
        costPer1kCalls: f.costPer1kCalls,
        latency: { n: f.latency.n, p50: f.latency.p50.value, p95: f.latency.p95.value },
        servedModels: servedModels(collected, candidate),
        simulated: simulatedHere.has(candidate),
      });
    }
  }
  const candidates = [...series].map(([candidate, points]) => ({ candidate, points }));
  const simulatedList = [...simulated].sort();
  return {
    version: 1,
    suite,
    simulated: simulatedList.length > 0,
    warnings: simulatedList.length > 0 ? [simulatedNotice(simulatedList)] : [],
    method: { confidence: 0.95, percentiles: 'type-7' },
    runs,
    candidates,
    notes: trendNotes(candidates),
  };
}

function trendNotes(candidates: TrendReport['candidates']): string[] {
  const out: string[] = [];
  const served = (p: TrendPoint) => p.servedModels.map((s) => s.model).join(', ');
  for (const { candidate, points } of candidates) {
    for (let i = 1; i < points.length; i++) {
      const prev = points[i - 1]!;
      const cur = points[i]!;
      if (prev.model !== cur.model) {
        out.push(
          `${candidate}: configured model changed from ${prev.model} (run ${prev.runId}) ` +
            `to ${cur.model} (run ${cur.runId}).`,
        );
      }
      const a = served(prev);
      const b = served(cur);
      if (a !== '' && b !== '' && a !== b) {
        out.push(
          `${candidate}: served model changed from ${a} (run ${prev.runId}) to ${b} (run ${cur.runId}).`,
        );
      }
    }
  }
  return out;
}

// --- helpers ------------------------------------------------------------------------------------

function passRate(
  method: PassRate['method'],
  units: number,
  passes: number,
  sumRate: number,
  ssRate: number,
): PassRate {
  if (method === 'wilson') return { method, n: units, ...wilson(passes, units) };
  const m = meanOf(units, sumRate, ssRate);
  const clip = (x: number) => (Number.isNaN(x) ? x : Math.min(1, Math.max(0, x)));
  return { method, n: units, p: m.mean, lo: clip(m.lo), hi: clip(m.hi) };
}

/** t interval from n, Σx and Σx². */
function meanOf(n: number, sum: number, sumSquares: number): MeanScore {
  const mean = n > 0 ? sum / n : Number.NaN;
  const sd = n > 1 ? Math.sqrt(Math.max(0, (sumSquares - n * mean * mean) / (n - 1))) : Number.NaN;
  const t = tIntervalFromSummary(n, mean, sd);
  return { n, mean: t.mean, lo: t.lo, hi: t.hi };
}

/** The value of `key`, set to `make()` first when missing. */
function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

function orNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

function groupBy<T extends { candidate: string }>(rows: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const list = out.get(r.candidate);
    if (list) list.push(r);
    else out.set(r.candidate, [r]);
  }
  return out;
}

function notes(
  run: RunRow,
  candidates: CandidateReport[],
  slices: SliceReport[],
  costByRole: RoleCost[],
  comparisons: Comparison[],
  stray: string[],
): string[] {
  const out: string[] = [];
  if (run.status !== 'finished')
    out.push(`The run is ${run.status}: figures cover only the calls stored so far.`);
  if (run.repeats > 1) {
    out.push(
      `${run.repeats} repeats per prompt: pass rates and mean scores average each prompt's repeats first, ` +
        'then take a t interval over prompts.',
    );
  }
  if (run.record_count < 100) {
    out.push(
      `Only ${run.record_count} prompts (fewer than 100): intervals are wide, read differences with care.`,
    );
  }
  for (const c of candidates) {
    if (c.errors > 0) {
      out.push(
        `${c.candidate}: ${calls(c.errors, 'errored')} left out of its pass rate (errors are not scored).`,
      );
    }
    if (c.costUnknown > 0) {
      out.push(
        `${c.candidate}: cost unknown for ${calls(c.costUnknown, 'ok')}, left out of its cost figures.`,
      );
    }
    const unscored = c.ok - c.scored;
    if (unscored > 0) {
      out.push(`${c.candidate}: ${calls(unscored, 'ok')} without a usable score left out of its pass rate.`);
    }
  }
  const unbounded = (p: 'p95' | 'p99', min: number) => {
    const short = candidates.filter((c) => c.latency.n > 0 && !c.latency[p].bounded).map((c) => c.candidate);
    if (short.length > 0) {
      out.push(
        `Latency ${p} intervals need about ${min} ok calls for a finite upper bound; ` +
          'shown as unbounded for ' +
          `${short.join(', ')}.`,
      );
    }
  };
  unbounded('p95', 72);
  unbounded('p99', 368);
  const others = costByRole.filter((r) => r.role !== 'candidate' && r.calls > 0);
  if (others.length > 0) {
    const parts = others.map((r) => {
      const cost = r.costUsd === null ? 'cost unknown' : `$${r.costUsd.toPrecision(4)}`;
      return `${r.role} calls ${r.calls} (${cost})`;
    });
    out.push(`Kept apart from the candidates' figures: ${parts.join(', ')}.`);
  }
  const small = slices.filter((s) => s.records < 30).map((s) => s.value ?? '(no tag)');
  if (small.length > 0) {
    out.push(`Slices with fewer than 30 records are descriptive only: ${small.join(', ')}.`);
  }
  for (const c of comparisons) {
    const discordant = c.regressions + c.fixes;
    if (c.passRate.n > 0 && discordant < 10) {
      out.push(
        `${c.candidate} vs ${c.baseline}: only ${discordant} prompts flipped (fewer than 10): ` +
          'the paired test has little power.',
      );
    }
    const boot = [c.costRatio, c.latencyP50].find((x) => x !== null && x.resamples < MAX_RESAMPLES);
    if (boot) {
      out.push(
        `${c.candidate} vs ${c.baseline}: bootstrap intervals use ${boot.resamples} resamples ` +
          `(seed ${boot.seed}), ` +
          `fewer than ${MAX_RESAMPLES} because ${boot.n} pairs make each resample slow.`,
      );
    }
  }
  if (comparisons.length > 0 && run.repeats > 1) {
    out.push(
      'With repeats, a prompt flips when the candidate passed a smaller (larger) share of its repeats.',
    );
  }
  if (stray.length > 0) {
    out.push(`Calls from candidates missing from the candidates table were ignored: ${stray.join(', ')}.`);
  }
  return out;
}

function calls(n: number, kind: string): string {
  return `${n} ${kind} ${n === 1 ? 'call' : 'calls'}`;
}
