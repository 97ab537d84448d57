/**
 * Routing figures over a set of records on which every candidate has a scored answer (pure; no I/O).
 * A routed arm picks one candidate per record; its outcome on the record is that candidate's stored
 * outcome, plus the router's own cost and latency where a router was consulted.
 *
 * Definitions (STATS.md "Routing"; RouteLLM, RouterBench):
 * - Tiers: candidates ordered by mean cost per record over the records evaluated (ties: candidate
 *   order); tier 0 is the cheapest. For a policy, tiers are re-ranked among the candidates it can
 *   route to (relativeTiers): tier 0 is then the policy's own cheapest candidate (e.g. mini for
 *   "mini by default, frontier when needed", even when the run also has a cheaper nano). A record is
 *   ESCALATED when its arm chose a candidate above tier 0.
 * - Oracle: per record, among the candidates with the best pass (share, with repeats), the one with
 *   the lowest cost on that record (unknown cost last; ties: lower tier). For a policy's escalation
 *   figures the oracle chooses among the policy's candidates only.
 * - An escalation is NEEDED on a record when the tier-0 candidate does not reach the oracle's best
 *   pass there. Precision = escalated and needed / escalated; recall = escalated and needed / needed.
 *   Escalated needlessly = escalated, not needed (the cheapest candidate already did as well as any:
 *   the oracle's choice was cheaper); missed = needed, not escalated. Of the needed escalations:
 *   overshoot = went above the lowest tier that reaches the best pass (the oracle's tier);
 *   undershoot = escalated, but below it.
 * - PGR = (q − q_weak)/(q_strong − q_weak) on pass rate q; undefined (NaN) when q_strong ≤ q_weak.
 * - APGR: trapezoid area under PGR against the escalation share c over [0, 1], through the sweep's
 *   points sorted by c, with the anchors (0, 0) (everything to the weak model) and (1, 1) (everything
 *   to the strong one) added where the sweep has no point at c = 0 or c = 1. A random router scores 0.5.
 * - CPT(x): the smallest escalation share at which PGR reaches x, by linear interpolation between
 *   the first point at or above x and the point before it on the same curve; NaN if never reached.
 * - Zero-router hull: the upper-left, non-decreasing convex hull of the single candidates' (cost,
 *   pass rate) points; mixing candidates at random reaches any point on it without a router. Its
 *   value is linear between vertices, the cheapest vertex's quality to the left and the best vertex's
 *   to the right. A point is above the hull when its pass rate exceeds the hull's at its cost.
 */
import { type BinaryMetric, binaryMetric } from '../compare/compare.js';
import { pairedT } from '../stats/paired.js';
import { clipInterval, percentile, tInterval, wilson } from '../stats/stats.js';

/** Outcomes of every candidate on the evaluated records: value [i * k + j] is record i, candidate j. */
export interface Outcomes {
  /** Records. */
  n: number;
  /** Candidates. */
  k: number;
  names: readonly string[];
  /** Pass share over the record's scored repeats (0 or 1 without repeats). Never NaN here. */
  pass: Float64Array;
  /** Mean score value. Never NaN here. */
  score: Float64Array;
  /** Mean cost of an answer, USD; NaN when unknown (no price). */
  cost: Float64Array;
  /** Mean latency, ms; NaN when unknown. */
  latency: Float64Array;
  /** More than one repeat per record: intervals and paired tests work on per-record means. */
  perPrompt: boolean;
}

/** How one arm routes: a candidate per record, and the router's own cost and latency per record. */
export interface Arm {
  choice: Int32Array;
  /** Router cost per record (0 where not consulted, NaN where unknown); null without a router. */
  routerCost: Float64Array | null;
  routerLatency: Float64Array | null;
}

export interface ArmValues {
  pass: Float64Array;
  score: Float64Array;
  /** Candidate cost plus router cost; NaN when either is unknown. */
  cost: Float64Array;
  latency: Float64Array;
}

export function armValues(o: Outcomes, arm: Arm): ArmValues {
  const { n, k } = o;
  const v: ArmValues = {
    pass: new Float64Array(n),
    score: new Float64Array(n),
    cost: new Float64Array(n),
    latency: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const at = i * k + arm.choice[i]!;
    v.pass[i] = o.pass[at]!;
    v.score[i] = o.score[at]!;
    v.cost[i] = o.cost[at]! + (arm.routerCost ? arm.routerCost[i]! : 0);
    v.latency[i] = o.latency[at]! + (arm.routerLatency ? arm.routerLatency[i]! : 0);
  }
  return v;
}

/** The arm that sends every record to candidate j. */
export function singleArm(o: Outcomes, j: number): Arm {
  return { choice: new Int32Array(o.n).fill(j), routerCost: null, routerLatency: null };
}

// --- tiers and the oracle --------------------------------------------------------------------------

/** Mean cost per record of each candidate over records where it is known (NaN when never). */
export function meanCosts(o: Outcomes): number[] {
  const out: number[] = [];
  for (let j = 0; j < o.k; j++) {
    let s = 0;
    let m = 0;
    for (let i = 0; i < o.n; i++) {
      const c = o.cost[i * o.k + j]!;
      if (!Number.isNaN(c)) {
        s += c;
        m++;
      }
    }
    out.push(m > 0 ? s / m : Number.NaN);
  }
  return out;
}

/** tier[j]: rank of candidate j by mean cost (0 = cheapest; unknown costs last; ties by order). */
export function tiers(o: Outcomes): number[] {
  const mc = meanCosts(o);
  const key = (j: number) => (Number.isNaN(mc[j]!) ? Number.POSITIVE_INFINITY : mc[j]!);
  const order = [...Array(o.k).keys()].sort((a, b) => key(a) - key(b) || a - b);
  const tier = new Array<number>(o.k);
  order.forEach((j, r) => {
    tier[j] = r;
  });
  return tier;
}

/** Per record: the cheapest (on that record) of the candidates with the best pass. */
export function oracleChoice(o: Outcomes, tier: readonly number[]): Int32Array {
  const out = new Int32Array(o.n);
  for (let i = 0; i < o.n; i++) {
    let best = -1;
    for (let j = 0; j < o.k; j++) {
      if (best < 0) {
        best = j;
        continue;
      }
      const p = o.pass[i * o.k + j]!;
      const pb = o.pass[i * o.k + best]!;
      if (p > pb) best = j;
      else if (p === pb) {
        const c = nanToInf(o.cost[i * o.k + j]!);
        const cb = nanToInf(o.cost[i * o.k + best]!);
        if (c < cb || (c === cb && tier[j]! < tier[best]!)) best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

function nanToInf(x: number): number {
  return Number.isNaN(x) ? Number.POSITIVE_INFINITY : x;
}

/**
 * Per record: the lowest tier whose candidate reaches the record's best pass, over the candidates
 * `among` (default: all).
 */
export function neededTier(o: Outcomes, tier: readonly number[], among?: readonly number[]): Int32Array {
  const js = among ?? [...Array(o.k).keys()];
  const out = new Int32Array(o.n);
  for (let i = 0; i < o.n; i++) {
    let best = Number.NEGATIVE_INFINITY;
    for (const j of js) best = Math.max(best, o.pass[i * o.k + j]!);
    let t = Number.POSITIVE_INFINITY;
    for (const j of js) if (o.pass[i * o.k + j] === best) t = Math.min(t, tier[j]!);
    out[i] = t;
  }
  return out;
}

/**
 * Tiers among the candidates a policy can route to: their global tiers re-ranked from 0 (its
 * cheapest), so that escalating means going above the policy's own cheapest candidate. Candidates
 * it cannot reach keep a rank after those (they are never chosen).
 */
export function relativeTiers(tier: readonly number[], reachable: readonly number[]): number[] {
  const inSet = new Set(reachable);
  const order = [...tier.keys()].sort(
    (a, b) => Number(!inSet.has(a)) - Number(!inSet.has(b)) || tier[a]! - tier[b]!,
  );
  const out = new Array<number>(tier.length);
  order.forEach((j, r) => {
    out[j] = r;
  });
  return out;
}

export interface Escalation {
  /** Records escalated (routed above tier 0). */
  escalated: number;
  /** Records where escalation was needed (tier 0 is not among the best). */
  needed: number;
  /** Escalated and needed. */
  correct: number;
  /** Escalated, not needed. */
  needless: number;
  /** Needed, not escalated. */
  missed: number;
  /** Needed and escalated above the lowest tier that reaches the best pass. */
  overshoot: number;
  /** Needed and escalated, but below that tier. */
  undershoot: number;
  /** correct / escalated (NaN when nothing was escalated). */
  precision: number;
  /** correct / needed (NaN when nothing needed escalating). */
  recall: number;
}

export function escalation(choice: Int32Array, tier: readonly number[], need: Int32Array): Escalation {
  let escalated = 0;
  let needed = 0;
  let correct = 0;
  let overshoot = 0;
  let undershoot = 0;
  for (let i = 0; i < choice.length; i++) {
    const t = tier[choice[i]!]!;
    const e = t > 0;
    const nd = need[i]! > 0;
    if (e) escalated++;
    if (nd) needed++;
    if (e && nd) {
      correct++;
      if (t > need[i]!) overshoot++;
      else if (t < need[i]!) undershoot++;
    }
  }
  return {
    escalated,
    needed,
    correct,
    needless: escalated - correct,
    missed: needed - correct,
    overshoot,
    undershoot,
    precision: escalated > 0 ? correct / escalated : Number.NaN,
    recall: needed > 0 ? correct / needed : Number.NaN,
  };
}

// --- figures of one arm -------------------------------------------------------------------------------

export interface Interval {
  p: number;
  lo: number;
  hi: number;
}

export interface ArmFigures {
  n: number;
  /** 'wilson' over records (one answer per record), or 'per-prompt-t' over per-record pass shares. */
  passRate: Interval & { method: 'wilson' | 'per-prompt-t' };
  /** Mean score with its t interval, clipped to [0, 1] where scores live. */
  meanScore: { mean: number; lo: number; hi: number };
  cost: {
    /** Sum over records of known cost (candidate + router); null when none is known. */
    totalUsd: number | null;
    /** totalUsd / records with a known cost × 1000. */
    per1kRecords: number | null;
    /** Of which the router's. */
    routerUsd: number | null;
    /** Records whose cost is unknown, left out of the figures above. */
    unknown: number;
  };
  /** Per-record latency (router + candidate), type-7 percentiles; null without values. */
  latency: { n: number; p50: number | null; p95: number | null };
  /** Share of records sent to each candidate, in candidate order. */
  share: number[];
  /** Share of records routed above tier 0. */
  escalationShare: number;
}

export function armFigures(
  o: Outcomes,
  arm: Arm,
  tier: readonly number[],
  v = armValues(o, arm),
): ArmFigures {
  const n = o.n;
  let passes = 0;
  for (let i = 0; i < n; i++) passes += v.pass[i]!;
  let passRate: ArmFigures['passRate'];
  if (!o.perPrompt) passRate = { method: 'wilson', ...wilson(Math.round(passes), n) };
  else {
    const t = clipInterval(tInterval(Array.from(v.pass)), 0, 1);
    passRate = { method: 'per-prompt-t', p: t.mean, lo: t.lo, hi: t.hi };
  }
  // Scores lie in [0, 1]: the t interval is clipped to it (coverage unchanged; NaN stays NaN).
  const s = clipInterval(tInterval(Array.from(v.score)), 0, 1);
  let total = 0;
  let known = 0;
  let router = 0;
  let routerKnown = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(v.cost[i]!)) {
      total += v.cost[i]!;
      known++;
    }
    if (arm.routerCost && !Number.isNaN(arm.routerCost[i]!)) {
      router += arm.routerCost[i]!;
      routerKnown++;
    }
  }
  const lat = Float64Array.from(Array.from(v.latency).filter((x) => !Number.isNaN(x))).sort();
  const share = new Array<number>(o.k).fill(0);
  let escalated = 0;
  for (let i = 0; i < n; i++) {
    share[arm.choice[i]!]! += 1;
    if (tier[arm.choice[i]!]! > 0) escalated++;
  }
  return {
    n,
    passRate,
    meanScore: { mean: s.mean, lo: s.lo, hi: s.hi },
    cost: {
      totalUsd: known > 0 ? total : null,
      per1kRecords: known > 0 ? (total / known) * 1000 : null,
      routerUsd: arm.routerCost && routerKnown > 0 ? router : null,
      unknown: n - known,
    },
    latency: {
      n: lat.length,
      p50: lat.length > 0 ? percentile(lat, 0.5) : null,
      p95: lat.length > 0 ? percentile(lat, 0.95) : null,
    },
    share: share.map((x) => (n > 0 ? x / n : Number.NaN)),
    escalationShare: n > 0 ? escalated / n : Number.NaN,
  };
}

// --- paired comparison with the strongest single candidate ----------------------------------------------

export interface CostTest {
  /** Records with a known cost on both sides. */
  n: number;
  /** Mean cost per record of the policy minus the strongest's (negative: cheaper), USD. */
  meanDiff: number;
  lo: number;
  hi: number;
  /** One-sided paired t p-value for H1: the policy is cheaper. */
  p: number;
  t: number;
  df: number;
}

export interface CheaperAndNoWorse {
  against: string;
  alpha: number;
  margin: number;
  /** Policy (B) against the strongest (A): Tango / McNemar (one answer per record) or paired t. */
  quality: BinaryMetric;
  cost: CostTest;
  /** Intersection–union test: both one-sided tests reject at α; its p is the larger of the two. */
  p: number;
  verdict: 'CHEAPER AND NO WORSE' | 'NOT SHOWN';
  /** Why not shown, in words; empty when shown. */
  why: string;
}

export function cheaperAndNoWorse(
  strongest: ArmValues,
  policy: ArmValues,
  against: string,
  settings: { alpha: number; margin: number },
  perPrompt: boolean,
): CheaperAndNoWorse {
  const quality = binaryMetric(
    'pass',
    {
      a: Array.from(strongest.pass),
      b: Array.from(policy.pass),
      cluster: null,
      calls: strongest.pass.length,
    },
    perPrompt ? 'prompt' : 'call',
    settings,
  );
  const d: number[] = [];
  for (let i = 0; i < policy.cost.length; i++) {
    const a = strongest.cost[i]!;
    const b = policy.cost[i]!;
    if (!Number.isNaN(a) && !Number.isNaN(b)) d.push(b - a);
  }
  const t = pairedT(d, 1 - 2 * settings.alpha);
  const cost: CostTest = {
    n: d.length,
    meanDiff: t.mean,
    lo: t.lo,
    hi: t.hi,
    p: t.pOneSidedLess,
    t: t.t,
    df: t.df,
  };
  const pQ = quality.nonInferiority.p;
  const p = Number.isNaN(pQ) || Number.isNaN(cost.p) ? Number.NaN : Math.max(pQ, cost.p);
  const reasons: string[] = [];
  if (!(pQ < settings.alpha))
    reasons.push(`non-inferiority at ${pts(settings.margin)} not shown (p = ${fmt(pQ)})`);
  if (!(cost.p < settings.alpha)) reasons.push(`not shown cheaper (p = ${fmt(cost.p)})`);
  return {
    against,
    alpha: settings.alpha,
    margin: settings.margin,
    quality,
    cost,
    p,
    verdict: reasons.length === 0 ? 'CHEAPER AND NO WORSE' : 'NOT SHOWN',
    why: reasons.join('; '),
  };
}

const pts = (m: number) => `${(m * 100).toFixed(1)} points`;
const fmt = (p: number) => (Number.isFinite(p) ? (p < 1e-4 ? '< 0.0001' : p.toPrecision(2)) : '-');

// --- "the cheapest model that's smart enough" ---------------------------------------------------------

export interface Recommendation {
  /** Records in the slice. */
  n: number;
  /** The candidate with the highest pass rate (ties: cheaper). */
  best: string;
  bestPassRate: number;
  /** The cheapest candidate non-inferior to `best` at the margin (`best` itself when none is). */
  recommended: string;
  recommendedPassRate: number;
  /** Δ = recommended − best, its interval and the non-inferiority p; NaN when recommended = best. */
  delta: number;
  lo: number;
  hi: number;
  p: number;
  /** Mean cost per record of recommended / of best; NaN when unknown. */
  costRatio: number;
  /** Candidates cheaper than best that were tested, cheapest first, with their NI p. */
  tested: { candidate: string; passRate: number; p: number }[];
}

/** Over records `idx` of `o`: the cheapest candidate non-inferior to the best at the margin. */
export function recommend(
  o: Outcomes,
  idx: readonly number[],
  settings: { alpha: number; margin: number },
): Recommendation {
  const sub = subsetOutcomes(o, idx);
  const mc = meanCosts(sub);
  const rate = (j: number) => {
    let s = 0;
    for (let i = 0; i < sub.n; i++) s += sub.pass[i * sub.k + j]!;
    return sub.n > 0 ? s / sub.n : Number.NaN;
  };
  const rates = [...Array(sub.k).keys()].map(rate);
  const costKey = (j: number) => nanToInf(mc[j]!);
  let best = 0;
  for (let j = 1; j < sub.k; j++) {
    if (rates[j]! > rates[best]! || (rates[j] === rates[best] && costKey(j) < costKey(best))) best = j;
  }
  const cheaper = [...Array(sub.k).keys()]
    .filter((j) => j !== best && costKey(j) < costKey(best))
    .sort((a, b) => costKey(a) - costKey(b) || a - b);
  const bestPass = column(sub, best);
  const tested: Recommendation['tested'] = [];
  let chosen: { j: number; m: BinaryMetric } | null = null;
  for (const j of cheaper) {
    const m = binaryMetric(
      'pass',
      { a: bestPass, b: column(sub, j), cluster: null, calls: sub.n },
      sub.perPrompt ? 'prompt' : 'call',
      settings,
    );
    tested.push({ candidate: sub.names[j]!, passRate: rates[j]!, p: m.nonInferiority.p });
    if (chosen === null && m.nonInferiority.p < settings.alpha) chosen = { j, m };
  }
  const r = chosen?.j ?? best;
  const nan = Number.NaN;
  return {
    n: sub.n,
    best: sub.names[best]!,
    bestPassRate: rates[best]!,
    recommended: sub.names[r]!,
    recommendedPassRate: rates[r]!,
    delta: chosen ? chosen.m.estimate.delta : nan,
    lo: chosen ? chosen.m.estimate.lo : nan,
    hi: chosen ? chosen.m.estimate.hi : nan,
    p: chosen ? chosen.m.nonInferiority.p : nan,
    costRatio: mc[r]! / mc[best]!,
    tested,
  };
}

function column(o: Outcomes, j: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < o.n; i++) out.push(o.pass[i * o.k + j]!);
  return out;
}

/** The outcomes of records `idx` only. */
export function subsetOutcomes(o: Outcomes, idx: readonly number[]): Outcomes {
  const n = idx.length;
  const k = o.k;
  const take = (a: Float64Array) => {
    const out = new Float64Array(n * k);
    idx.forEach((i, r) => {
      out.set(a.subarray(i * k, i * k + k), r * k);
    });
    return out;
  };
  return {
    n,
    k,
    names: o.names,
    pass: take(o.pass),
    score: take(o.score),
    cost: take(o.cost),
    latency: take(o.latency),
    perPrompt: o.perPrompt,
  };
}

/** An arm restricted to records `idx`. */
export function subsetArm(arm: Arm, idx: readonly number[]): Arm {
  const pick = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
    const out = make(idx.length);
    idx.forEach((i, r) => {
      out[r] = a[i]!;
    });
    return out;
  };
  return {
    choice: pick(arm.choice, (n) => new Int32Array(n)),
    routerCost: arm.routerCost && pick(arm.routerCost, (n) => new Float64Array(n)),
    routerLatency: arm.routerLatency && pick(arm.routerLatency, (n) => new Float64Array(n)),
  };
}
