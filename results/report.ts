/**
 * Builds the report model of one run from the database alone. Aggregation happens in SQL
 * (GROUP BY per candidate, never a query per call), so a run of a million calls reports in seconds.
 */
import type Database from 'better-sqlite3';
import { HarnessError } from '../harness/errors.js';
import { percentile, tIntervalFromSummary, wilson } from './stats.js';
import type { Store } from './store.js';

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

export interface CandidateReport {
  candidate: string;
  /** The model configured for the candidate. */
  model: string;
  /** What the API said it served, over ok calls that reported it; most calls first. */
  servedModels: { model: string; calls: number }[];
  /** Rows in the calls table (ok + errors). */
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
  /** Ok calls without a cost (no price known): the total leaves them out. */
  costUnknown: number;
  tokens: { input: number; cached: number; output: number; reasoning: number };
  /** Type-7 percentiles of latency_ms over ok calls; null without any. */
  latency: { n: number; p50: number | null; p95: number | null };
  /** Type-7 median time to first token over ok streamed calls, ms. */
  ttftP50: number | null;
  /** Σ output tokens / Σ (latency − TTFT) over ok streamed calls: generation speed after the first token. */
  outputTokensPerSec: number | null;
  /** Time spent waiting for a concurrency slot, outside latency. */
  queue: { totalMs: number; meanMs: number };
  /** Retry waits and failed attempts, outside latency. */
  backoff: { totalMs: number; meanMs: number };
  scorers: ScorerReport[];
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
 */
export interface RunReport {
  version: 1;
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
    passRate: PassRate['method'];
    meanScore: 'per-call-t' | 'per-prompt-t';
  };
  /** role = 'candidate' only, in the order of the candidates table. */
  candidates: CandidateReport[];
  /** Quieter caveats: what was left out and why. */
  notes: string[];
}

export function simulatedNotice(candidates: readonly string[]): string {
  return (
    "SIMULATED: these models were served by holdout's local simulator, not real models " +
    `(candidates: ${candidates.join(', ')})`
  );
}

interface CallAggregate {
  role: string;
  candidate: string;
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

const STREAMED = `status = 'ok' AND ttft_ms IS NOT NULL AND latency_ms IS NOT NULL AND output_tokens IS NOT NULL`;

// One scan of the run's calls, every role: candidate figures and the simulated flag together.
const CALLS_SQL = `
  SELECT role, candidate,
    count(*) AS calls,
    sum(status = 'ok') AS ok,
    sum(status = 'error') AS errors,
    sum(attempts > 1) AS retried,
    sum(cost_usd) AS cost,
    coalesce(sum(input_tokens), 0) AS input_tokens,
    coalesce(sum(cached_tokens), 0) AS cached_tokens,
    coalesce(sum(output_tokens), 0) AS output_tokens,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
    coalesce(sum(queue_ms), 0) AS queue_ms,
    coalesce(sum(backoff_ms), 0) AS backoff_ms,
    sum(status = 'ok' AND cost_usd IS NULL) AS ok_uncosted,
    sum(CASE WHEN ${STREAMED} THEN output_tokens END) AS stream_tokens,
    sum(CASE WHEN ${STREAMED} THEN latency_ms - ttft_ms END) AS stream_ms,
    max(simulated) AS simulated
  FROM calls WHERE run_id = ?
  GROUP BY candidate, role`;

const ERRORS_SQL = `
  SELECT candidate, coalesce(error_kind, 'unknown') AS kind, count(*) AS n
  FROM calls WHERE run_id = ? AND role = 'candidate' AND status = 'error'
  GROUP BY candidate, kind ORDER BY candidate, n DESC, kind`;

const SERVED_SQL = `
  SELECT candidate, served_model AS model, count(*) AS n
  FROM calls WHERE run_id = ? AND role = 'candidate' AND status = 'ok' AND served_model IS NOT NULL
  GROUP BY candidate, served_model ORDER BY candidate, n DESC, served_model`;

/*
 * A score is "scored" when its value is non-null; it passes when passed = 1 (a value whose passed
 * is NULL counts as not passed). A call is scored when any of its scores is, and passes when every
 * scored score on it passed. Calls are grouped by the calls table's unique key in its index order,
 * which SQLite aggregates without sorting. With repeats the calls of each prompt are averaged
 * first. Σx and Σx² give the variance; scores are small numbers, so the cancellation in
 * Σx² − n·x̄² costs nothing visible.
 */
function scoresSql(perPrompt: boolean): string {
  const perCall = `
    SELECT c.candidate, c.record_id, avg(s.value) AS score, min(s.passed IS 1) AS passed
    FROM calls c JOIN scores s ON s.call_id = c.id
    WHERE c.run_id = ? AND c.role = 'candidate' AND s.value IS NOT NULL
    GROUP BY c.record_id, c.candidate, c.repeat`;
  if (!perPrompt) {
    // One call per prompt: passed is 0 or 1, so Σpassed² = Σpassed.
    return `
      SELECT candidate, count(*) AS units, count(*) AS scored, sum(passed) AS passes,
        sum(passed) AS sum_rate, sum(passed) AS ss_rate, sum(score) AS sum_score, sum(score * score) AS ss_score
      FROM (${perCall}) GROUP BY candidate`;
  }
  return `
    WITH per_prompt AS (
      SELECT candidate, count(*) AS calls, sum(passed) AS passes, avg(passed) AS rate, avg(score) AS score
      FROM (${perCall}) GROUP BY record_id, candidate
    )
    SELECT candidate, count(*) AS units, sum(calls) AS scored, sum(passes) AS passes,
      sum(rate) AS sum_rate, sum(rate * rate) AS ss_rate, sum(score) AS sum_score, sum(score * score) AS ss_score
    FROM per_prompt GROUP BY candidate`;
}

function scorersSql(perPrompt: boolean): string {
  const counts = `count(s.value) AS scored, count(*) - count(s.value) AS unscored,
    sum(s.value IS NOT NULL AND s.passed IS 1) AS passes`;
  const from = `FROM calls c JOIN scores s ON s.call_id = c.id WHERE c.run_id = ? AND c.role = 'candidate'`;
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
const LATENCY_SQL = `
  SELECT latency_ms FROM calls
  WHERE run_id = ? AND candidate = ? AND role = 'candidate' AND status = 'ok' AND latency_ms IS NOT NULL`;

const TTFT_SQL = `
  SELECT ttft_ms FROM calls
  WHERE run_id = ? AND candidate = ? AND role = 'candidate' AND status = 'ok' AND ttft_ms IS NOT NULL`;

function sortedValues(stmt: Database.Statement<[number, string], number>, runId: number, candidate: string) {
  return Float64Array.from(stmt.all(runId, candidate)).sort();
}

/** Reads run `runId` and aggregates it; throws RUN_NOT_FOUND when there is no such run. */
export function buildReport(store: Store, runId: number): RunReport {
  const run = store.getRun(runId);
  if (!run) {
    throw new HarnessError('RUN_NOT_FOUND', `no run with id ${runId} in this database`, {
      hint: 'list the runs in the database and pass one of their ids',
    });
  }
  const db = store.db;
  const perPrompt = run.repeats > 1;
  const method: PassRate['method'] = perPrompt ? 'per-prompt-t' : 'wilson';

  const aggregates = db.prepare(CALLS_SQL).all(runId) as CallAggregate[];
  const simulatedCandidates = [
    ...new Set(aggregates.filter((a) => a.simulated === 1).map((a) => a.candidate)),
  ].sort();
  const callsOf = new Map(aggregates.filter((a) => a.role === 'candidate').map((a) => [a.candidate, a]));

  const errorsOf = groupBy(
    db.prepare(ERRORS_SQL).all(runId) as { candidate: string; kind: string; n: number }[],
  );
  const servedOf = groupBy(
    db.prepare(SERVED_SQL).all(runId) as { candidate: string; model: string; n: number }[],
  );
  const scoresOf = new Map(
    (db.prepare(scoresSql(perPrompt)).all(runId) as ScoreAggregate[]).map((s) => [s.candidate, s]),
  );
  const scorersOf = groupBy(db.prepare(scorersSql(perPrompt)).all(runId) as ScorerAggregate[]);
  const latencyStmt = db.prepare<[number, string], number>(LATENCY_SQL).pluck();
  const ttftStmt = db.prepare<[number, string], number>(TTFT_SQL).pluck();

  const configured = store.candidates(runId);
  const candidates = configured.map(({ candidate, model }): CandidateReport => {
    const a = callsOf.get(candidate);
    const s = scoresOf.get(candidate);
    const calls = a?.calls ?? 0;
    const latencies = sortedValues(latencyStmt, runId, candidate);
    const ttfts = sortedValues(ttftStmt, runId, candidate);
    const cost = a?.cost ?? null;
    return {
      candidate,
      model,
      servedModels: (servedOf.get(candidate) ?? []).map((r) => ({ model: r.model, calls: r.n })),
      calls,
      ok: a?.ok ?? 0,
      errors: a?.errors ?? 0,
      errorsByKind: Object.fromEntries((errorsOf.get(candidate) ?? []).map((r) => [r.kind, r.n])),
      retried: a?.retried ?? 0,
      scored: s?.scored ?? 0,
      passes: s?.passes ?? 0,
      passRate: passRate(method, s?.units ?? 0, s?.passes ?? 0, s?.sum_rate ?? 0, s?.ss_rate ?? 0),
      meanScore: meanOf(s?.units ?? 0, s?.sum_score ?? 0, s?.ss_score ?? 0),
      totalCostUsd: cost,
      costPer1kCalls: cost === null || calls === 0 ? null : (cost / calls) * 1000,
      costUnknown: a?.ok_uncosted ?? 0,
      tokens: {
        input: a?.input_tokens ?? 0,
        cached: a?.cached_tokens ?? 0,
        output: a?.output_tokens ?? 0,
        reasoning: a?.reasoning_tokens ?? 0,
      },
      latency: {
        n: latencies.length,
        p50: orNull(percentile(latencies, 0.5)),
        p95: orNull(percentile(latencies, 0.95)),
      },
      ttftP50: orNull(percentile(ttfts, 0.5)),
      outputTokensPerSec:
        a?.stream_tokens != null && a.stream_ms != null && a.stream_ms > 0
          ? a.stream_tokens / (a.stream_ms / 1000)
          : null,
      queue: { totalMs: a?.queue_ms ?? 0, meanMs: calls > 0 ? (a?.queue_ms ?? 0) / calls : Number.NaN },
      backoff: { totalMs: a?.backoff_ms ?? 0, meanMs: calls > 0 ? (a?.backoff_ms ?? 0) / calls : Number.NaN },
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

  const stray = [...callsOf.keys()].filter((c) => !configured.some((k) => k.candidate === c));
  return {
    version: 1,
    simulated: simulatedCandidates.length > 0,
    simulatedCandidates,
    warnings: simulatedCandidates.length > 0 ? [simulatedNotice(simulatedCandidates)] : [],
    run: {
      id: run.id,
      suite: run.suite,
      status: run.status,
      createdAt: run.created_at,
      finishedAt: run.finished_at,
      datasetPath: run.dataset_path,
      recordCount: run.record_count,
      repeats: run.repeats,
      configPath: run.config_path,
    },
    method: {
      confidence: 0.95,
      percentiles: 'type-7',
      passRate: method,
      meanScore: perPrompt ? 'per-prompt-t' : 'per-call-t',
    },
    candidates,
    notes: notes(run.status, run.record_count, run.repeats, candidates, stray),
  };
}

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
  status: RunHeader['status'],
  recordCount: number,
  repeats: number,
  candidates: CandidateReport[],
  stray: string[],
): string[] {
  const out: string[] = [];
  if (status !== 'finished') out.push(`The run is ${status}: figures cover only the calls stored so far.`);
  if (repeats > 1) {
    out.push(
      `${repeats} repeats per prompt: pass rates and mean scores average each prompt's repeats first, ` +
        'then take a t interval over prompts.',
    );
  }
  if (recordCount < 100) {
    out.push(`Only ${recordCount} prompts (fewer than 100): intervals are wide, read differences with care.`);
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
  if (stray.length > 0) {
    out.push(`Calls from candidates missing from the candidates table were ignored: ${stray.join(', ')}.`);
  }
  return out;
}

function calls(n: number, kind: string): string {
  return `${n} ${kind} ${n === 1 ? 'call' : 'calls'}`;
}
