/**
 * Projection to production volume (SEQUENTIAL.md §2; Cochran 1977, ch. 5–6): a holdout drawn per
 * stratum, weighted back to the production mix. Pure functions over per-prompt values y_hi (a cost,
 * a pass share, a score, or a paired difference D_hi = y^B_hi − y^A_hi).
 *
 * - Stratified mean ȳ_st = Σ W_h ȳ_h over the covered strata (n_h ≥ 1), W_h = N_h/N renormalised
 *   over them; v = Σ W_h²(1 − f_h)s_h²/n_h (s_h² with divisor n_h − 1, f_h = n_h/N_h, or 0 without
 *   a finite-population correction); Satterthwaite df = (Σ g_h)²/Σ(g_h²/(n_h − 1)), g_h the terms of v;
 *   interval ȳ_st ± t(df)·√v.
 * - Strata with n_h = 0 are uncovered: reported with their share, never silently dropped. A stratum
 *   with n_h = 1 borrows s²_pool = Σ(n_g − 1)s_g²/Σ(n_g − 1) over strata with n_g ≥ 2 (its term then
 *   counts Σ(n_g − 1) degrees of freedom, the pooled variance's own); strata under 10 are flagged.
 * - Pass rate: the stratified mean of pass shares, Wilson at n_eff = p̂(1 − p̂)/v (Σ n_h when v = 0 or
 *   p̂ ∈ {0, 1}). Never Wald.
 * - Combined ratio R̂ = ȳ_st/x̄_st, v(R̂) = v(e)/x̄_st², e_hi = y_hi − R̂x_hi, z interval; with a known
 *   auxiliary mean X̄ = X/N (e.g. logged input tokens per request): X̄·R̂, variance v(e) per request
 *   (N²v(e) for the total).
 * - Within-stratum bootstrap (for a skewed cost when df < 10): draw n_h − 1 of the n_h values with
 *   replacement in every stratum (its variance is then exactly s_h²/n_h), scaled by √(1 − f_h).
 */
import { mulberry32 } from '../../harness/random.js';
import { normalQuantile, percentile, studentTQuantile } from './stats.js';

/** One stratum of the frame: N_h requests in production, and the values of its sampled prompts. */
export interface StratumValues {
  key: string;
  /** N_h: the stratum's requests in the frame (> 0). */
  N: number;
  y: readonly number[];
  /** The auxiliary variable x_hi (ratio estimators only), aligned with y. */
  x?: readonly number[];
}

export interface DesignOptions {
  /** Apply the finite-population correction 1 − n_h/N_h (the frame's own requests); false: future traffic. */
  fpc: boolean;
  confidence?: number;
}

export interface StratifiedEstimate {
  estimate: number;
  /** The variance v of the estimate. */
  v: number;
  se: number;
  /** Satterthwaite df; NaN when v = 0 or undefined (a z interval has df Infinity). */
  df: number;
  lo: number;
  hi: number;
  method: 't' | 'wilson-neff' | 'z' | 'bootstrap';
  /** Prompts behind it (Σ n_h over covered strata). */
  n: number;
  /** Wilson only: the effective sample size. */
  nEff?: number;
  /** Strata without a sampled prompt, and their share of the frame (left out, the rest renormalised). */
  uncovered: { key: string; share: number }[];
  uncoveredShare: number;
  /** Strata with n_h = 1: their variance is the pooled within-stratum variance. */
  pooled: string[];
  /** Strata with 1 ≤ n_h < 10. */
  small: string[];
}

export const SMALL_STRATUM = 10;

function z(confidence: number): number {
  return normalQuantile(1 - (1 - confidence) / 2);
}

function checkStrata(strata: readonly StratumValues[]): void {
  if (strata.length === 0) throw new RangeError('a projection needs at least one stratum');
  const seen = new Set<string>();
  for (const s of strata) {
    if (!(s.N > 0 && Number.isFinite(s.N)))
      throw new RangeError(`stratum ${s.key}: N must be > 0, got ${s.N}`);
    if (s.y.length > s.N) throw new RangeError(`stratum ${s.key}: ${s.y.length} sampled of N = ${s.N}`);
    if (s.x && s.x.length !== s.y.length) throw new RangeError(`stratum ${s.key}: x and y differ in length`);
    if (seen.has(s.key)) throw new RangeError(`stratum ${s.key} given twice`);
    seen.add(s.key);
  }
}

interface Covered {
  key: string;
  W: number;
  n: number;
  f: number;
  mean: number;
  /** s_h², the pooled variance when n_h = 1. */
  s2: number;
  /** Degrees of freedom of s2. */
  dfS2: number;
}

function meanOf(y: readonly number[]): number {
  let s = 0;
  for (const v of y) s += v;
  return s / y.length;
}

function varOf(y: readonly number[], mean: number): number {
  let ss = 0;
  for (const v of y) ss += (v - mean) * (v - mean);
  return ss / (y.length - 1);
}

/** The covered strata with renormalised weights and their variances (n_h = 1 pooled), and what is left out. */
function design(
  strata: readonly StratumValues[],
  values: (s: StratumValues) => readonly number[],
  fpc: boolean,
) {
  checkStrata(strata);
  const total = strata.reduce((t, s) => t + s.N, 0);
  const uncovered = strata.filter((s) => s.y.length === 0).map((s) => ({ key: s.key, share: s.N / total }));
  const live = strata.filter((s) => s.y.length > 0);
  const coveredN = live.reduce((t, s) => t + s.N, 0);
  let pooledSs = 0;
  let pooledDf = 0;
  const rows = live.map((s) => {
    const y = values(s);
    const mean = meanOf(y);
    const s2 = y.length > 1 ? varOf(y, mean) : Number.NaN;
    if (y.length > 1) {
      pooledSs += (y.length - 1) * s2;
      pooledDf += y.length - 1;
    }
    return { s, mean, s2 };
  });
  const pooled = pooledDf > 0 ? pooledSs / pooledDf : Number.NaN;
  const covered: Covered[] = rows.map(({ s, mean, s2 }) => ({
    key: s.key,
    W: s.N / coveredN,
    n: s.y.length,
    f: fpc ? s.y.length / s.N : 0,
    mean,
    s2: s.y.length > 1 ? s2 : pooled,
    dfS2: s.y.length > 1 ? s.y.length - 1 : pooledDf,
  }));
  return {
    covered,
    uncovered,
    uncoveredShare: uncovered.reduce((t, u) => t + u.share, 0),
    pooled: covered.filter((c) => c.n === 1).map((c) => c.key),
    small: covered.filter((c) => c.n < SMALL_STRATUM).map((c) => c.key),
  };
}

/** ȳ_st, v and the Satterthwaite df over covered strata (terms with a zero variance add no df). */
function moments(covered: readonly Covered[]): { mean: number; v: number; df: number; n: number } {
  let mean = 0;
  let v = 0;
  let dfDen = 0;
  let n = 0;
  for (const c of covered) {
    mean += c.W * c.mean;
    const g = (c.W * c.W * (1 - c.f) * c.s2) / c.n;
    v += g;
    if (g > 0) dfDen += (g * g) / c.dfS2;
    n += c.n;
  }
  return { mean, v, df: v > 0 && dfDen > 0 ? (v * v) / dfDen : Number.NaN, n };
}

function emptyEstimate(
  d: ReturnType<typeof design>,
  method: StratifiedEstimate['method'],
): StratifiedEstimate {
  return {
    estimate: Number.NaN,
    v: Number.NaN,
    se: Number.NaN,
    df: Number.NaN,
    lo: Number.NaN,
    hi: Number.NaN,
    method,
    n: 0,
    uncovered: d.uncovered,
    uncoveredShare: d.uncoveredShare,
    pooled: [],
    small: [],
  };
}

/**
 * The stratified mean with its t interval on Satterthwaite df. v = 0 (every covered stratum
 * constant) gives the point as its interval; a variance that cannot be estimated (every covered
 * stratum has one prompt) gives NaN bounds.
 */
export function stratifiedMean(strata: readonly StratumValues[], opts: DesignOptions): StratifiedEstimate {
  const confidence = opts.confidence ?? 0.95;
  const d = design(strata, (s) => s.y, opts.fpc);
  if (d.covered.length === 0) return emptyEstimate(d, 't');
  const m = moments(d.covered);
  const half =
    m.v === 0
      ? 0
      : Number.isNaN(m.v)
        ? Number.NaN
        : studentTQuantile(1 - (1 - confidence) / 2, m.df) * Math.sqrt(m.v);
  return {
    estimate: m.mean,
    v: m.v,
    se: Math.sqrt(m.v),
    df: m.df,
    lo: m.mean - half,
    hi: m.mean + half,
    method: 't',
    n: m.n,
    uncovered: d.uncovered,
    uncoveredShare: d.uncoveredShare,
    pooled: d.pooled,
    small: d.small,
  };
}

/**
 * Wilson score interval at a fractional sample size: the interval of STATS.md with k/n replaced by
 * p̂ and n by n_eff. At whole k and n it is the ordinary Wilson interval.
 */
export function wilsonAt(p: number, n: number, confidence = 0.95): { lo: number; hi: number } {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be in [0, 1], got ${p}`);
  if (!(n > 0)) throw new RangeError(`n must be > 0, got ${n}`);
  const zz = z(confidence);
  const z2n = (zz * zz) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (zz / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (zz * zz) / (4 * n * n));
  return { lo: p === 0 ? 0 : Math.max(0, centre - half), hi: p === 1 ? 1 : Math.min(1, centre + half) };
}

/** The stratified pass rate (y_hi pass shares in [0, 1]) with the Wilson interval at n_eff. */
export function stratifiedPassRate(
  strata: readonly StratumValues[],
  opts: DesignOptions,
): StratifiedEstimate {
  const t = stratifiedMean(strata, opts);
  if (t.n === 0) return { ...t, method: 'wilson-neff' };
  const p = Math.min(1, Math.max(0, t.estimate));
  // v undefined (one prompt per stratum everywhere) falls back to Σ n_h, as v = 0 does.
  const nEff = t.v > 0 && p > 0 && p < 1 ? (p * (1 - p)) / t.v : t.n;
  const w = wilsonAt(p, nEff, opts.confidence ?? 0.95);
  return { ...t, estimate: p, method: 'wilson-neff', nEff, lo: w.lo, hi: w.hi };
}

/**
 * The combined ratio R̂ = ȳ_st/x̄_st (e.g. cost per passing request: y cost, x pass) with
 * v(R̂) = v(e)/x̄_st² and a z interval. NaN when x̄_st = 0.
 */
export function combinedRatio(strata: readonly StratumValues[], opts: DesignOptions): StratifiedEstimate {
  const { r, e, xbar, d } = ratioParts(strata, opts);
  if (d.covered.length === 0 || !(xbar !== 0)) return emptyEstimate(d, 'z');
  const v = e.v / (xbar * xbar);
  return zEstimate(r, v, e, d, opts.confidence ?? 0.95);
}

/**
 * The mean per request with a known auxiliary mean X̄ = X/N (x logged for every request of the
 * frame): X̄·ȳ_st/x̄_st, variance v(e) (the total X·R̂ has N²·v(e)), z interval. Much tighter than
 * ȳ_st when y tracks x, as cost tracks input tokens.
 */
export function knownAuxiliaryMean(
  strata: readonly StratumValues[],
  auxMean: number,
  opts: DesignOptions,
): StratifiedEstimate {
  if (!(auxMean >= 0 && Number.isFinite(auxMean)))
    throw new RangeError(`auxiliary mean must be >= 0, got ${auxMean}`);
  const { r, e, xbar, d } = ratioParts(strata, opts);
  if (d.covered.length === 0 || !(xbar !== 0)) return emptyEstimate(d, 'z');
  return zEstimate(auxMean * r, e.v, e, d, opts.confidence ?? 0.95);
}

function ratioParts(strata: readonly StratumValues[], opts: DesignOptions) {
  for (const s of strata) if (!s.x) throw new RangeError(`stratum ${s.key}: a ratio needs x`);
  const ys = stratifiedMean(strata, opts);
  const xs = stratifiedMean(
    strata.map((s) => ({ key: s.key, N: s.N, y: s.x! })),
    opts,
  );
  const r = ys.estimate / xs.estimate;
  const residuals = strata.map((s) => ({ key: s.key, N: s.N, y: s.y.map((y, i) => y - r * s.x![i]!) }));
  const e = stratifiedMean(residuals, opts);
  return { r, e, xbar: xs.estimate, d: design(strata, (s) => s.y, opts.fpc) };
}

function zEstimate(
  estimate: number,
  v: number,
  e: StratifiedEstimate,
  d: ReturnType<typeof design>,
  confidence: number,
): StratifiedEstimate {
  const half = z(confidence) * Math.sqrt(v);
  return {
    estimate,
    v,
    se: Math.sqrt(v),
    df: Number.POSITIVE_INFINITY,
    lo: estimate - half,
    hi: estimate + half,
    method: 'z',
    n: e.n,
    uncovered: d.uncovered,
    uncoveredShare: d.uncoveredShare,
    pooled: d.pooled,
    small: d.small,
  };
}

/** The estimate and its interval times k (a volume, or 1000 for per 1K requests); v times k². */
export function scaleEstimate(e: StratifiedEstimate, k: number): StratifiedEstimate {
  const [lo, hi] = k >= 0 ? [e.lo * k, e.hi * k] : [e.hi * k, e.lo * k];
  return { ...e, estimate: e.estimate * k, v: e.v * k * k, se: e.se * Math.abs(k), lo, hi };
}

/**
 * Pooled within-stratum skewness g₁ = m₃/m₂^{3/2}, m_k = Σ_h Σ_i (y_hi − ȳ_h)^k / Σ n_h. Costs
 * are called skewed when |g₁| > 1 (a long right tail of expensive requests).
 */
export function pooledSkewness(strata: readonly StratumValues[]): number {
  let m2 = 0;
  let m3 = 0;
  let n = 0;
  for (const s of strata) {
    if (s.y.length === 0) continue;
    const mean = meanOf(s.y);
    for (const y of s.y) {
      const d = y - mean;
      m2 += d * d;
      m3 += d * d * d;
    }
    n += s.y.length;
  }
  if (n === 0 || m2 === 0) return 0;
  return m3 / n / (m2 / n) ** 1.5;
}

export const SKEWED = 1;

/**
 * Percentile interval from the within-stratum bootstrap: in each resample every covered stratum
 * draws n_h − 1 of its n_h values with replacement (Rao & Wu 1988 with m_h = n_h − 1, whose
 * variance of ȳ*_h is s_h²/n_h exactly), its mean moved to ȳ_h + √(1 − f_h)(ȳ*_h − ȳ_h), and the
 * strata weighted as in ȳ_st. Needs n_h ≥ 2 in every covered stratum: returns null otherwise.
 */
export function stratifiedBootstrap(
  strata: readonly StratumValues[],
  opts: DesignOptions & { resamples: number; seed: number },
): { lo: number; hi: number; resamples: number; seed: number } | null {
  const d = design(strata, (s) => s.y, opts.fpc);
  if (d.covered.length === 0 || d.covered.some((c) => c.n < 2)) return null;
  const live = strata.filter((s) => s.y.length > 0);
  const rand = mulberry32(opts.seed);
  const out = new Float64Array(opts.resamples);
  for (let b = 0; b < opts.resamples; b++) {
    let mean = 0;
    d.covered.forEach((c, h) => {
      const y = live[h]!.y;
      const m = c.n - 1;
      let sum = 0;
      for (let i = 0; i < m; i++) sum += y[Math.floor(rand() * c.n)]!;
      mean += c.W * (c.mean + Math.sqrt(1 - c.f) * (sum / m - c.mean));
    });
    out[b] = mean;
  }
  out.sort();
  const alpha = 1 - (opts.confidence ?? 0.95);
  return {
    lo: percentile(out, alpha / 2),
    hi: percentile(out, 1 - alpha / 2),
    resamples: opts.resamples,
    seed: opts.seed,
  };
}

/**
 * A cost (or cost difference): the stratified mean and t interval, or, when its df is under 10
 * and the values are skewed, the within-stratum bootstrap's percentile interval around the same
 * estimate (SEQUENTIAL.md §2, small strata).
 */
export function stratifiedCost(
  strata: readonly StratumValues[],
  opts: DesignOptions & { resamples?: number; seed?: number },
): StratifiedEstimate {
  const t = stratifiedMean(strata, opts);
  if (!(t.df < 10) || Math.abs(pooledSkewness(strata)) <= SKEWED) return t;
  const boot = stratifiedBootstrap(strata, {
    ...opts,
    resamples: opts.resamples ?? 10_000,
    seed: opts.seed ?? 1,
  });
  return boot ? { ...t, lo: boot.lo, hi: boot.hi, method: 'bootstrap' } : t;
}
