/**
 * Runs the report's aggregate queries and turns the sums into figures: pass rates with their
 * intervals, mean scores, cost, tokens, latency quantiles with order-statistic intervals. Every figure
 * is a sum, so slices add up to the whole run.
 */
import type Database from 'better-sqlite3';
import { clipInterval, percentile, percentileCI, tIntervalFromSummary, wilson } from '../stats/stats.js';
import { createRecordTags, dropRecordTags } from '../pairing/record-tags.js';
import {
  CALL_SPAN_SQL,
  type CallSpan,
  SCORES_SAMPLE_SQL,
  callsSql,
  SLICE_MAP,
  SLICE_RECORDS_SQL,
  SLICED,
  scoresSql,
  UNSLICED,
} from './queries.js';
import type { Figures, MeanScore, PassRate, Quantile } from './types.js';
import type { Slicing } from './queries.js';

export interface CallAggregate {
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
  /**
   * Calls that stopped at the output token limit (finish_reason length, or max_output_tokens); only
   * ok calls have a finish reason. Null when no call of the group has one.
   */
  cut_off: number | null;
  /** Calls that the provider's content filter stopped (finish_reason content_filter); null as above. */
  filtered: number | null;
  stream_tokens: number | null;
  stream_ms: number | null;
  simulated: number;
  /** JSON arrays of the ok candidate calls' latencies and TTFTs ('[]' for other groups). */
  latencies: string;
  ttfts: string;
  /** With the scores (queries.ts, SCORED_JOIN): the group's scored candidate calls and their sums. */
  units?: number;
  passes?: number;
  sum_score?: number | null;
  ss_score?: number | null;
}

export interface ScoreAggregate {
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

export interface ScorerAggregate {
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
export interface Acc {
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
  cutOff: number;
  filtered: number;
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
  /** The values already sorted, when they were (then figures does not sort them again). */
  sorted?: { latencies: Float64Array; ttfts: Float64Array };
}

export function emptyAcc(): Acc {
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
    cutOff: 0,
    filtered: 0,
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
export function addNullable(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

/** A slice key as the report shows it: text, null for a missing tag. */
function sliceText(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** Map key for a slice (Map keys compare null fine, but a stable string keeps ordering simple). */
const NO_TAG = '\u0000none';
const keyOf = (v: string | null) => (v === null ? NO_TAG : `=${v}`);

export interface Collected {
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
  /** Where the run's calls lie (queries.ts, CallSpan), for the report's other queries. */
  span: CallSpan | null;
}

/**
 * The run's calls' id range when they fill at least half of it (so walking the range reads at most
 * twice the rows the index would, in order); null for a run without calls or spread out.
 */
export function callSpan(db: Database.Database, runId: number): CallSpan | null {
  const r = db.prepare(CALL_SPAN_SQL).get({ run: runId }) as {
    lo: number | null;
    hi: number | null;
    n: number;
  };
  if (r.lo === null || r.hi === null || r.hi - r.lo + 1 > 2 * r.n) return null;
  return { lo: r.lo, hi: r.hi, n: r.n };
}

/** Whether the span's first scored scores are one per call (queries.ts, SCORED_JOIN). */
function oneScorePerCall(db: Database.Database, span: CallSpan): boolean {
  const ids = db.prepare(SCORES_SAMPLE_SQL).pluck().all({ lo: span.lo, hi: span.hi }) as number[];
  return ids.every((id, i) => i === 0 || id !== ids[i - 1]);
}

/**
 * Runs the aggregate queries of one run, sliced or not, and sums slices into the whole. Every query
 * is a GROUP BY over the run's calls; values for percentiles are plucked once per candidate.
 */
export function collect(
  db: Database.Database,
  runId: number,
  perPrompt: boolean,
  path: string | null,
): Collected {
  if (path === null) return aggregate(db, runId, perPrompt, null);
  createRecordTags(db, SLICE_MAP, runId, [{ name: 'slice', path }]);
  try {
    return aggregate(db, runId, perPrompt, path);
  } finally {
    dropRecordTags(db, SLICE_MAP);
  }
}

function aggregate(db: Database.Database, runId: number, perPrompt: boolean, path: string | null): Collected {
  const s = path === null ? UNSLICED : SLICED;
  const span = callSpan(db, runId);
  const params = {
    run: runId,
    ...(path === null ? {} : { path }),
    ...(span && { lo: span.lo, hi: span.hi }),
  };
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

  const aggregates = callAggregates(db, s, span, perPrompt, params);
  const served = new Map<string, Map<string, number>>();
  for (const g of aggregates) {
    if (g.role !== 'candidate') continue;
    if (g.served !== null) {
      const models = getOr(served, g.candidate, () => new Map<string, number>());
      models.set(g.served, (models.get(g.served) ?? 0) + g.ok);
    }
    const into = acc(g.candidate, g.slice);
    for (const a of into) {
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
      a.cutOff += g.cut_off ?? 0;
      a.filtered += g.filtered ?? 0;
      a.streamTokens = addNullable(a.streamTokens, g.stream_tokens);
      a.streamMs = addNullable(a.streamMs, g.stream_ms);
    }
    // Values go to the first accumulator only (the slice's, sliced); the whole run's are the slices'
    // joined afterwards, so no value is copied twice.
    if (g.kind === null) {
      const a = into[0]!;
      a.latencies = joined(a.latencies, JSON.parse(g.latencies) as number[]);
      a.ttfts = joined(a.ttfts, JSON.parse(g.ttfts) as number[]);
    }
  }
  const scores =
    scoreAggregates(aggregates) ??
    (db.prepare(scoresSql(perPrompt, s, span)).all(params) as ScoreAggregate[]);
  for (const g of scores) {
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
  if (sliced) {
    for (const [candidate, t] of total) {
      const slices = [...(bySlice.get(candidate)?.values() ?? [])];
      // Each slice sorted, the whole run merged from them: sorting it again cost a fifth of the report.
      for (const a of slices) a.sorted = { latencies: sorted(a.latencies), ttfts: sorted(a.ttfts) };
      t.sorted = {
        latencies: mergeSorted(slices.map((a) => a.sorted!.latencies)),
        ttfts: mergeSorted(slices.map((a) => a.sorted!.ttfts)),
      };
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
  return { bySlice, total, sliceValues, records, served, aggregates, span };
}

/**
 * The calls query, with the score sums when they can come along (queries.ts, SCORED_JOIN): without
 * repeats, the calls in one span, one scored score per call. A call joined twice shows in the count,
 * and the calls are then read again without the scores.
 */
function callAggregates(
  db: Database.Database,
  s: Slicing,
  span: CallSpan | null,
  perPrompt: boolean,
  params: Record<string, unknown>,
): CallAggregate[] {
  const read = (withScores: boolean) =>
    (db.prepare(callsSql(s, span, withScores)).all(params) as (CallAggregate & { costed: number })[]).map(
      ({ costed, ...g }) => {
        const ok = g.kind === null ? g.calls : 0;
        return { ...g, ok, errors: g.calls - ok, ok_uncosted: ok - (g.kind === null ? costed : 0) };
      },
    );
  if (span !== null && !perPrompt && oneScorePerCall(db, span)) {
    const rows = read(true);
    if (rows.reduce((n, g) => n + g.calls, 0) === span.n) return rows;
  }
  return read(false);
}

/**
 * scoresSql's rows from the calls query's score sums, in its order (candidate, then slice), when each
 * candidate × slice has its scored calls in one group; else null (run scoresSql).
 */
function scoreAggregates(aggregates: CallAggregate[]): ScoreAggregate[] | null {
  const out: ScoreAggregate[] = [];
  const seen = new Set<string>();
  for (const g of aggregates) {
    if (g.units === undefined) return null;
    if (g.role !== 'candidate' || g.units === 0) continue;
    const key = `${g.candidate}\u0000${keyOf(sliceText(g.slice))}`;
    if (seen.has(key)) return null;
    seen.add(key);
    const passes = g.passes ?? 0;
    out.push({
      candidate: g.candidate,
      slice: g.slice,
      units: g.units,
      scored: g.units,
      passes,
      sum_rate: passes,
      ss_rate: passes,
      sum_score: g.sum_score ?? 0,
      ss_score: g.ss_score ?? 0,
    });
  }
  return out;
}

function joined(a: number[], b: number[]): number[] {
  return a.length === 0 ? b : b.length === 0 ? a : a.concat(b);
}

/** What the API said it served a candidate, most calls first. */
export function servedModels(collected: Collected, candidate: string): { model: string; calls: number }[] {
  return [...(collected.served.get(candidate) ?? [])]
    .map(([model, calls]) => ({ model, calls }))
    .sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** Sorted arrays merged into one, two at a time. */
export function mergeSorted(parts: Float64Array[]): Float64Array {
  if (parts.length === 0) return new Float64Array(0);
  let level = parts;
  while (level.length > 1) {
    const next: Float64Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? merge2(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

function merge2(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

function quantile(sortedValues: Float64Array, p: number): Quantile {
  const ci = percentileCI(sortedValues, p);
  return { value: orNull(ci.estimate), lo: ci.lo, hi: ci.hi, bounded: ci.bounded };
}

/** Figures from the summed aggregates; sorts the plucked values (and returns them sorted). */
export function figures(a: Acc, method: PassRate['method']): { figures: Figures; latencies: Float64Array } {
  const latencies = a.sorted?.latencies ?? sorted(a.latencies);
  const ttfts = a.sorted?.ttfts ?? sorted(a.ttfts);
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
      cutOff: a.cutOff,
      contentFiltered: a.filtered,
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

export function passRate(
  method: PassRate['method'],
  units: number,
  passes: number,
  sumRate: number,
  ssRate: number,
): PassRate {
  if (method === 'wilson') return { method, n: units, ...wilson(passes, units) };
  const m = meanOf(units, sumRate, ssRate);
  return { method, n: units, p: m.mean, lo: m.lo, hi: m.hi };
}

/**
 * t interval from n, Σx and Σx² of values in [0, 1] (scores, per-prompt pass shares), clipped to
 * [0, 1]: the mean lies there, so clipping keeps the coverage exactly and a mean of 0.9 over five
 * prompts reads [0.622, 1] rather than [0.622, 1.178]. NaN (n < 2) stays NaN.
 */
export function meanOf(n: number, sum: number, sumSquares: number): MeanScore {
  const mean = n > 0 ? sum / n : Number.NaN;
  const sd = n > 1 ? Math.sqrt(Math.max(0, (sumSquares - n * mean * mean) / (n - 1))) : Number.NaN;
  const t = clipInterval(tIntervalFromSummary(n, mean, sd), 0, 1);
  return { n, mean: t.mean, lo: t.lo, hi: t.hi };
}

/** The value of `key`, set to `make()` first when missing. */
export function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

export function orNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

export function groupBy<T extends { candidate: string }>(rows: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const list = out.get(r.candidate);
    if (list) list.push(r);
    else out.set(r.candidate, [r]);
  }
  return out;
}
