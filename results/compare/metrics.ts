/**
 * The metrics of a comparison (STATS.md "The regression gate"): pass/fail pairs (McNemar, Tango,
 * or a paired t over prompts), continuous scores (paired t, non-inferiority, bootstrap, Wilcoxon)
 * and cost and latency (ratio and difference of means, never gating); per scorer and per slice.
 */
import type { PairRows, ScorerRows } from '../pairing/pairing.js';
import type {
  BinaryMetric,
  CompareSettings,
  ContinuousMetric,
  NonInferiority,
  Resampled,
  ResourceMetric,
  Verdict,
} from './types.js';
import { type Grouping, range, type Units, unitsOf } from '../pairing/units.js';
import {
  mcnemar,
  type PairedT,
  pairedBootstrap,
  pairedT,
  pairedTClustered,
  tangoInterval,
  tangoZ,
  wilcoxonSignedRank,
} from '../stats/paired.js';
import { clipInterval, normalCdf, normalQuantile, studentTCdf } from '../stats/stats.js';

/** Above this many units the bootstrap is replaced by the normal approximation (speed). */
export const BOOTSTRAP_MAX_N = 20_000;

function mean(x: readonly number[]): number {
  if (x.length === 0) return Number.NaN;
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

function diffs(u: Units): number[] {
  return u.a.map((v, i) => u.b[i]! - v);
}

/**
 * A t interval of a difference of two means of values in [0, 1] (pass shares, scores): the
 * difference lies in [−1, 1], so the interval is clipped to it (coverage unchanged; NaN stays NaN).
 * Tango's interval is inside [−1, 1] already; cost and latency differences are never clipped.
 */
function clipDelta(t: { lo: number; hi: number }): { lo: number; hi: number } {
  const c = clipInterval(t, -1, 1);
  return { lo: c.lo, hi: c.hi };
}

/** FAIL when B is shown worse at α, else PASS when non-inferiority at the margin is shown. */
export function verdictOf(pWorse: number, pNI: number, alpha: number): Verdict {
  if (pWorse < alpha) return 'FAIL';
  if (pNI < alpha) return 'PASS';
  return 'INCONCLUSIVE';
}

/** NI by t: t = (d̄ + m)/SE, p = P(T_df ≥ t). */
function tNonInferiority(t: PairedT, margin: number): NonInferiority {
  const shifted = t.mean + margin;
  let statistic: number;
  let p: number;
  if (!(t.df >= 1) || Number.isNaN(t.se) || Number.isNaN(t.mean)) {
    statistic = Number.NaN;
    p = Number.NaN;
  } else if (t.se === 0) {
    statistic = shifted > 0 ? Number.POSITIVE_INFINITY : shifted < 0 ? Number.NEGATIVE_INFINITY : 0;
    p = shifted > 0 ? 0 : shifted < 0 ? 1 : 0.5;
  } else {
    statistic = shifted / t.se;
    p = studentTCdf(-statistic, t.df);
  }
  return { margin, statistic, p, test: 't' };
}

function runT(d: number[], u: Units, confidence: number): { t: PairedT; clusters: number | null } {
  if (u.cluster) {
    const t = pairedTClustered(d, u.cluster, confidence);
    return { t, clusters: t.clusters };
  }
  return { t: pairedT(d, confidence), clusters: null };
}

/** Pass/fail pairs (or per-prompt pass shares): the gating analysis of STATS.md. */
export function binaryMetric(
  name: string,
  u: Units,
  unit: 'call' | 'prompt',
  s: Pick<CompareSettings, 'alpha' | 'margin'>,
): BinaryMetric {
  const confidence = 1 - 2 * s.alpha;
  const n = u.a.length;
  const rateA = mean(u.a);
  const rateB = mean(u.b);
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (u.b[i]! < u.a[i]!) b++;
    else if (u.b[i]! > u.a[i]!) c++;
  }
  const mc = unit === 'call' ? mcnemar(b, c) : null;
  if (unit === 'call' && !u.cluster) {
    const nan = Number.NaN;
    const est = n > 0 ? tangoInterval(b, c, n, confidence) : { delta: nan, lo: nan, hi: nan };
    const z = n > 0 ? tangoZ(b, c, n, -s.margin) : nan;
    const pNI = Number.isNaN(z) ? nan : 1 - normalCdf(z);
    const pWorse = mc!.oneSidedWorse;
    return {
      kind: 'binary',
      name,
      unit,
      test: 'mcnemar',
      n,
      calls: u.calls,
      clusters: null,
      rateA,
      rateB,
      b,
      c,
      estimate: { ...est, method: 'tango' },
      mcnemar: mc,
      t: null,
      pWorse,
      nonInferiority: { margin: s.margin, statistic: z, p: pNI, test: 'tango-z' },
      verdict: n > 0 ? verdictOf(pWorse, pNI, s.alpha) : 'INCONCLUSIVE',
    };
  }
  const { t, clusters } = runT(diffs(u), u, confidence);
  const ni = tNonInferiority(t, s.margin);
  return {
    kind: 'binary',
    name,
    unit,
    test: u.cluster ? 'clustered-t' : 'paired-t',
    n,
    calls: u.calls,
    clusters,
    rateA,
    rateB,
    b,
    c,
    estimate: { delta: t.mean, ...clipDelta(t), method: u.cluster ? 'clustered-t' : 't' },
    mcnemar: mc,
    t,
    pWorse: t.pOneSidedLess,
    nonInferiority: ni,
    verdict: verdictOf(t.pOneSidedLess, ni.p, s.alpha),
  };
}

function tInterval(d: number[], confidence: number): { estimate: number; lo: number; hi: number } {
  const t = pairedT(d, confidence);
  return { estimate: t.mean, lo: t.lo, hi: t.hi };
}

/** The mean difference by bootstrap; above BOOTSTRAP_MAX_N the metric's own (clustered) t interval. */
function resampleMeanDiff(u: Units, t: PairedT, s: CompareSettings, confidence: number): Resampled {
  if (u.a.length > BOOTSTRAP_MAX_N) {
    return { method: 'normal', estimate: t.mean, ...clipDelta(t), ...NO_BOOT };
  }
  return fromBootstrap(u, s, confidence, 'mean-diff');
}

const NO_BOOT = { percentile: null, bca: null, resamples: null, seed: null };

function fromBootstrap(
  u: Units,
  s: CompareSettings,
  confidence: number,
  statistic: 'mean-diff' | 'ratio-of-means',
): Resampled {
  const r = pairedBootstrap(u.a, u.b, { resamples: s.resamples, seed: s.seed, confidence, statistic });
  const useBca = Number.isFinite(r.bca.lo) && Number.isFinite(r.bca.hi);
  return {
    method: 'bootstrap',
    estimate: r.estimate,
    lo: useBca ? r.bca.lo : r.percentile.lo,
    hi: useBca ? r.bca.hi : r.percentile.hi,
    percentile: r.percentile,
    bca: r.bca,
    resamples: r.resamples,
    seed: r.seed,
  };
}

/** Ratio of means by the delta method: SE(R) = sd(b − R·a)/(√n·ā). */
function ratioNormal(u: Units, confidence: number): Resampled {
  const n = u.a.length;
  const ma = mean(u.a);
  const r = mean(u.b) / ma;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const e = u.b[i]! - r * u.a[i]!;
    ss += e * e;
  }
  const se = n > 1 ? Math.sqrt(ss / (n - 1)) / (Math.sqrt(n) * ma) : Number.NaN;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  return { method: 'normal', estimate: r, lo: r - z * se, hi: r + z * se, ...NO_BOOT };
}

/** A continuous metric (mean score, a scorer's mean value): paired t, NI at m, bootstrap, Wilcoxon. */
export function continuousMetric(
  name: string,
  u: Units,
  unit: 'call' | 'prompt',
  s: CompareSettings,
  robust: boolean,
): ContinuousMetric {
  const confidence = 1 - 2 * s.alpha;
  const d = diffs(u);
  const { t, clusters } = runT(d, u, confidence);
  const ni = tNonInferiority(t, s.margin);
  return {
    kind: 'continuous',
    name,
    unit,
    test: u.cluster ? 'clustered-t' : 'paired-t',
    n: u.a.length,
    clusters,
    meanA: mean(u.a),
    meanB: mean(u.b),
    estimate: { delta: t.mean, ...clipDelta(t), method: u.cluster ? 'clustered-t' : 't' },
    t,
    pWorse: t.pOneSidedLess,
    nonInferiority: ni,
    bootstrap: robust && u.a.length > 0 ? resampleMeanDiff(u, t, s, confidence) : null,
    wilcoxon: robust ? wilcoxonSignedRank(d) : null,
    verdict: verdictOf(t.pOneSidedLess, ni.p, s.alpha),
  };
}

export function resourceMetric(
  name: 'cost' | 'latency',
  u: Units,
  unit: 'call' | 'prompt',
  s: CompareSettings,
): ResourceMetric | null {
  if (u.a.length === 0) return null;
  const confidence = 1 - 2 * s.alpha;
  const big = u.a.length > BOOTSTRAP_MAX_N;
  return {
    kind: 'informational',
    name,
    unit,
    n: u.a.length,
    meanA: mean(u.a),
    meanB: mean(u.b),
    ratio: big ? ratioNormal(u, confidence) : fromBootstrap(u, s, confidence, 'ratio-of-means'),
    diff: big
      ? { method: 'normal', ...tInterval(diffs(u), confidence), ...NO_BOOT }
      : fromBootstrap(u, s, confidence, 'mean-diff'),
    wilcoxon: wilcoxonSignedRank(diffs(u)),
  };
}

/** One scorer's comparison before the gate: its pass/fail, and its value when not only 0 and 1. */
export interface ScorerMetrics {
  scorer: string;
  pass: BinaryMetric;
  value: ContinuousMetric | null;
}

/** A scorer's pass/fail and value metrics over the items both sides scored with it. */
export function scorerMetric(
  sc: ScorerRows,
  g: Grouping,
  unit: 'call' | 'prompt',
  s: CompareSettings,
): ScorerMetrics {
  const local: Grouping = {
    promptOf: g.promptOf ? Int32Array.from(sc.item, (i) => g.promptOf![i]!) : null,
    prompts: g.prompts,
    clusterOfItem: g.clusterOfItem ? sc.item.map((i) => g.clusterOfItem![i] ?? null) : null,
  };
  const passM = binaryMetric(
    sc.scorer,
    unitsOf(
      range(sc.item.length),
      (i) => sc.passA[i]!,
      (i) => sc.passB[i]!,
      local,
    ),
    unit,
    s,
  );
  const binaryOnly = [...sc.valueA, ...sc.valueB].every((v) => v === 0 || v === 1);
  const valueM = binaryOnly
    ? null
    : continuousMetric(
        sc.scorer,
        unitsOf(
          range(sc.item.length),
          (i) => sc.valueA[i]!,
          (i) => sc.valueB[i]!,
          local,
        ),
        unit,
        s,
        true,
      );
  return { scorer: sc.scorer, pass: passM, value: valueM };
}

/** One --by slice before the gate: its pass metric and mean score (no robustness checks). */
export interface SliceMetrics {
  value: string;
  n: number;
  pass: BinaryMetric;
  score: ContinuousMetric | null;
}

/** The slices by the --by tag value ('(none)' for records without it), sorted by value. */
export function sliceMetrics(
  p: PairRows,
  g: Grouping,
  unit: 'call' | 'prompt',
  s: CompareSettings,
): SliceMetrics[] {
  const nItems = p.callA.length;
  const bySlice = new Map<string, number[]>();
  for (let i = 0; i < nItems; i++) {
    const v = p.slice[i] ?? '(none)';
    const list = bySlice.get(v);
    if (list) list.push(i);
    else bySlice.set(v, [i]);
  }
  return [...bySlice.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([value, idx]) => {
      const pu = unitsOf(
        idx,
        (i) => p.passA[i]!,
        (i) => p.passB[i]!,
        g,
      );
      const su = unitsOf(
        idx,
        (i) => p.scoreA[i]!,
        (i) => p.scoreB[i]!,
        g,
      );
      return {
        value,
        n: pu.a.length,
        pass: binaryMetric('pass', pu, unit, s),
        score: su.a.length > 0 ? continuousMetric('score', su, unit, s, false) : null,
      };
    });
}
