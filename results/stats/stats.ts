/**
 * Small, dependency-free statistics for reports: Wilson and t intervals, type-7 percentiles and the
 * normal and Student t quantiles they need. Pure functions; formulas follow STATS.md.
 */

export interface Proportion {
  p: number;
  lo: number;
  hi: number;
}

export interface MeanInterval {
  mean: number;
  lo: number;
  hi: number;
  sd: number;
  n: number;
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be between 0 and 1 (exclusive), got ${confidence}`);
  }
}

/**
 * Wilson score interval for k successes out of n. Unlike the Wald interval it keeps a nonzero
 * width at k = 0 and k = n. With n = 0 nothing is known: p is NaN and the interval is [0, 1].
 */
export function wilson(k: number, n: number, confidence = 0.95): Proportion {
  checkConfidence(confidence);
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`n must be a whole number >= 0, got ${n}`);
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) {
    throw new RangeError(`k must be a whole number from 0 to n (${n}), got ${k}`);
  }
  if (n === 0) return { p: Number.NaN, lo: 0, hi: 1 };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = k / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  // At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding would leave a hair off it.
  return {
    p,
    lo: k === 0 ? 0 : Math.max(0, centre - half),
    hi: k === n ? 1 : Math.min(1, centre + half),
  };
}

/** mean ± t(1 − α/2, n − 1)·sd/√n from a summary; n < 2 leaves the bounds NaN. */
export function tIntervalFromSummary(n: number, mean: number, sd: number, confidence = 0.95): MeanInterval {
  checkConfidence(confidence);
  if (n < 2) return { mean: n === 1 ? mean : Number.NaN, lo: Number.NaN, hi: Number.NaN, sd: Number.NaN, n };
  const half = (studentTQuantile(1 - (1 - confidence) / 2, n - 1) * sd) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half, sd, n };
}

/**
 * The interval with its bounds clipped to the parameter space [min, max]; NaN bounds stay NaN.
 * For a parameter that always lies in [min, max] (a mean of scores in [0, 1]; a difference of two
 * such means in [−1, 1]) coverage is exactly unchanged: the true value is inside [lo, hi] if and only
 * if it is inside the clipped interval. So a t interval of a mean score never reads "1.126".
 */
export function clipInterval<T extends { lo: number; hi: number }>(iv: T, min: number, max: number): T {
  const clip = (x: number) => (Number.isNaN(x) ? x : Math.min(max, Math.max(min, x)));
  return { ...iv, lo: clip(iv.lo), hi: clip(iv.hi) };
}

/** t interval for the mean of `values`, with the sample (n − 1) standard deviation. */
export function tInterval(values: readonly number[], confidence = 0.95): MeanInterval {
  const n = values.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = n > 0 ? sum / n : Number.NaN;
  // Two passes: the sum of squared deviations does not cancel the way Σx² − n·mean² can.
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : Number.NaN;
  return tIntervalFromSummary(n, mean, sd, confidence);
}

/**
 * Type-7 percentile (R's default, numpy's 'linear'): h = (n − 1)p, interpolated between the
 * neighbouring order statistics. The input must already be sorted ascending; empty gives NaN.
 */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be between 0 and 1, got ${p}`);
  const n = sortedAscending.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * p;
  const i = Math.floor(h);
  const lo = sortedAscending[i]!;
  const hi = sortedAscending[Math.min(i + 1, n - 1)]!;
  return lo + (h - i) * (hi - lo);
}

// Wichura, Algorithm AS 241 (PPND16), Applied Statistics 37 (1988) 477-484: about 1e-16 relative.
// The published 20-digit coefficients, written as the doubles they round to.
const AS241_A = [
  3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987,
  67265.7709270087, 33430.57558358813, 2509.0809287301227,
];
const AS241_B = [
  1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271,
  28729.085735721943, 5226.495278852854,
];
const AS241_C = [
  1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684,
  0.2417807251774506, 0.022723844989269184, 0.0007745450142783414,
];
const AS241_D = [
  1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008, 0.015198666563616457,
  0.0005475938084995345, 1.0507500716444169e-9,
];
const AS241_E = [
  6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124,
  0.0012426609473880784, 2.7115555687434876e-5, 2.0103343992922881e-7,
];
const AS241_F = [
  1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133,
  1.8463183175100548e-5, 1.421511758316446e-7, 2.0442631033899397e-15,
];

/** Horner evaluation of c[0] + c[1]x + … */
function poly(c: readonly number[], x: number): number {
  let v = 0;
  for (let i = c.length - 1; i >= 0; i--) v = v * x + c[i]!;
  return v;
}

/** Standard normal quantile Φ⁻¹(p); ±Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be between 0 and 1, got ${p}`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(AS241_A, r)) / poly(AS241_B, r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x = poly(AS241_C, r) / poly(AS241_D, r);
  } else {
    r -= 5;
    x = poly(AS241_E, r) / poly(AS241_F, r);
  }
  return q < 0 ? -x : x;
}

// Lanczos approximation (g = 7, 9 terms), good to about 1e-15 for x > 0.
const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
  12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
];

function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let a = LANCZOS[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * ln Γ(a + ½) − ln Γ(a). For large a the two log-gammas are huge and nearly equal, so their
 * difference would lose digits: there the asymptotic series is used (error < 1e-13 from a = 10).
 */
function logGammaRatioHalf(a: number): number {
  if (a < 10) return logGamma(a + 0.5) - logGamma(a);
  const u = 1 / a;
  const u2 = u * u;
  const series = u * (-1 / 8 + u2 * (1 / 192 + u2 * (-1 / 640 + u2 * (17 / 14336 - (u2 * 31) / 18432))));
  return 0.5 * Math.log(a) + series;
}

/** Continued fraction for the incomplete beta function (modified Lentz; Numerical Recipes §6.4). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  // Convergence takes O(√max(a, b)) terms, so large degrees of freedom need a larger cap.
  const maxIter = 1000 + Math.ceil(10 * Math.sqrt(Math.max(a, b)));
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIter; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) return h;
  }
  return h;
}

/**
 * P(T > t) for t > 0 under Student's t with ν = df: ½·I_x(ν/2, ½) with x = ν/(ν + t²), the
 * regularized incomplete beta function. x, 1 − x and their logs are formed without subtraction,
 * so nothing cancels when t is tiny or huge.
 */
function tUpperTail(t: number, df: number): number {
  const a = df / 2;
  const b = 0.5;
  const r = (t / Math.sqrt(df)) ** 2; // t²/ν
  const x = 1 / (1 + r);
  const oneMinusX = r / (1 + r);
  const logBeta = 0.5 * Math.log(Math.PI) - logGammaRatioHalf(a); // ln B(a, ½)
  const front = Math.exp(-a * Math.log1p(r) + b * (Math.log(r) - Math.log1p(r)) - logBeta);
  // The continued fraction converges fast only below the mean of the beta; use symmetry above it.
  const ix =
    x < (a + 1) / (a + b + 2)
      ? (front * betaContinuedFraction(a, b, x)) / a
      : 1 - (front * betaContinuedFraction(b, a, oneMinusX)) / b;
  return 0.5 * ix;
}

function tDensity(t: number, df: number): number {
  const logC = logGammaRatioHalf(df / 2) - 0.5 * Math.log(df * Math.PI);
  return Math.exp(logC - ((df + 1) / 2) * Math.log1p((t / Math.sqrt(df)) ** 2));
}

/**
 * Student t quantile: the t with P(T ≤ t) = p, for any df > 0 (Infinity gives the normal).
 * Closed forms for 1 and 2 degrees of freedom; otherwise Newton's method on the upper tail,
 * started from a Cornish-Fisher expansion and kept inside a bisection bracket.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be between 0 and 1, got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  if (df === Number.POSITIVE_INFINITY) return normalQuantile(p);
  // Solve on the smaller tail, whose probability is exact, never on 1 − p.
  const q = Math.min(p, 1 - p);
  const t = upperTailQuantile(q, df);
  return p < 0.5 ? -t : t;
}

/** The t > 0 with P(T > t) = q, for 0 < q < ½. */
function upperTailQuantile(q: number, df: number): number {
  if (df === 1) return 1 / Math.tan(Math.PI * q);
  if (df === 2) return Math.sqrt(2 / (4 * q * (1 - q)) - 2);
  const z = -normalQuantile(q);
  const z3 = z * z * z;
  const z5 = z3 * z * z;
  let t = z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
  // Bracket the root: the tail falls from ½ at t = 0 towards 0.
  let lo = 0;
  let hi = Math.max(t, 1);
  while (tUpperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
  }
  if (!(t > lo && t < hi)) t = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const f = tUpperTail(t, df) - q;
    if (f === 0) return t;
    if (f > 0) lo = t;
    else hi = t;
    // Newton on the log of the tail: far out the tail is tiny and a plain Newton step overshoots.
    let next = t + Math.log((f + q) / q) / (tDensity(t, df) / (f + q));
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-15 * t || hi - lo <= 1e-15 * hi) return next;
    t = next;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Distribution functions: normal and Student t CDFs, binomial probabilities and quantiles.

const SQRT_32 = 5.656854249492381;
const INV_SQRT_2PI = 0.3989422804014327;
// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
// 631-637, with the split exp(-x²/2) = exp(-xsq²/2)·exp(-del/2) of R's pnorm.c; the published
// coefficients written as the doubles they round to.
const CODY_A = [2.2352520354606837, 161.02823106855587, 1067.6894854603709, 18154.98125334356];
const CODY_A4 = 0.06568233791820745;
const CODY_B = [47.202581904688245, 976.0985517377767, 10260.932208618979, 45507.78933502673];
const CODY_C = [
  0.39894151208813466, 8.883149794388377, 93.50665613217785, 597.2702763948002, 2494.5375852903726,
  6848.190450536283, 11602.65143764735, 9842.714838383978,
];
const CODY_C8 = 1.0765576773720192e-8;
const CODY_D = [
  22.266688044328117, 235.387901782625, 1519.3775994075547, 6485.558298266761, 18615.571640885097,
  34900.95272114598, 38912.00328609327, 19685.429676859992,
];
const CODY_P = [
  0.215898534057957, 0.12740116116024736, 0.022235277870649807, 0.0014216191932278934, 2.9112874951168793e-5,
];
const CODY_P5 = 0.023073441764940174;
const CODY_Q = [
  1.284260096144911, 0.4682382124808651, 0.06598813786892856, 0.0037823963320275824, 7.297515550839662e-5,
];

/** exp(−x²/2)·r, with x² split so that the exponent keeps full precision far out in the tail. */
function gaussTail(x: number, r: number): number {
  const xsq = Math.trunc(x * 16) / 16;
  const del = (x - xsq) * (x + xsq);
  return Math.exp(-xsq * xsq * 0.5) * Math.exp(-del * 0.5) * r;
}

/**
 * Standard normal CDF Φ(x), Cody's algorithm as in R's pnorm: near full double precision, also
 * relative precision in the lower tail (Φ(−37) ≈ 6e-300). Use normalCdf(−x) for an upper tail.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  if (y <= 0.67448975) {
    let xnum = 0;
    let xden = 0;
    if (y > 1.1102230246251565e-16) {
      const xsq = x * x;
      xnum = CODY_A4 * xsq;
      xden = xsq;
      for (let i = 0; i < 3; i++) {
        xnum = (xnum + CODY_A[i]!) * xsq;
        xden = (xden + CODY_B[i]!) * xsq;
      }
    }
    return 0.5 + (x * (xnum + CODY_A[3]!)) / (xden + CODY_B[3]!);
  }
  let tail: number; // P(Z > y)
  if (y <= SQRT_32) {
    let xnum = CODY_C8 * y;
    let xden = y;
    for (let i = 0; i < 7; i++) {
      xnum = (xnum + CODY_C[i]!) * y;
      xden = (xden + CODY_D[i]!) * y;
    }
    tail = gaussTail(y, (xnum + CODY_C[7]!) / (xden + CODY_D[7]!));
  } else if (y < 37.5193) {
    const xsq = 1 / (x * x);
    let xnum = CODY_P5 * xsq;
    let xden = xsq;
    for (let i = 0; i < 4; i++) {
      xnum = (xnum + CODY_P[i]!) * xsq;
      xden = (xden + CODY_Q[i]!) * xsq;
    }
    const r = (xsq * (xnum + CODY_P[4]!)) / (xden + CODY_Q[4]!);
    tail = gaussTail(y, (INV_SQRT_2PI - r) / y);
  } else {
    tail = 0;
  }
  return x > 0 ? 1 - tail : tail;
}

/** P(T > t) under Student's t, any real t (NaN gives NaN). */
function tSf(t: number, df: number): number {
  if (Number.isNaN(t)) return Number.NaN;
  if (df === Number.POSITIVE_INFINITY) return normalCdf(-t);
  if (t === 0) return 0.5;
  if (t === Number.POSITIVE_INFINITY) return 0;
  if (t === Number.NEGATIVE_INFINITY) return 1;
  return t > 0 ? tUpperTail(t, df) : 1 - tUpperTail(-t, df);
}

/**
 * Student t CDF P(T ≤ t) for df > 0, from the regularized incomplete beta function (the same one
 * studentTQuantile inverts). The lower tail keeps relative precision for very negative t.
 */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  return tSf(-t, df);
}

const LN_2PI = 1.8378770664093453;

/**
 * Stirling's error δ(n) = ln n! − ((n + ½)ln n − n + ½ln 2π), Loader (2000) as in R's dbinom: exact
 * log-factorials up to 15, the asymptotic series above.
 */
function stirlerr(n: number): number {
  if (n <= 15) {
    let f = 1;
    for (let i = 2; i <= n; i++) f *= i; // exact up to 15!
    return Math.log(f) - (n + 0.5) * Math.log(n) + n - 0.5 * LN_2PI;
  }
  const nn = n * n;
  const s0 = 1 / 12;
  const s1 = 1 / 360;
  const s2 = 1 / 1260;
  const s3 = 1 / 1680;
  const s4 = 1 / 1188;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/** Deviance term x·ln(x/m) + m − x without cancellation (Loader 2000, R's bd0). */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
  }
  return x * Math.log(x / m) + m - x;
}

/** ln P(X = k) for X ~ Bin(n, p), 0 ≤ k ≤ n whole, 0 < p < 1 (Loader's saddle-point form). */
function logBinomPmf(k: number, n: number, p: number): number {
  const q = 1 - p;
  if (k === 0) return n * Math.log1p(-p);
  if (k === n) return n * Math.log(p);
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
  return lc - 0.5 * (LN_2PI + Math.log(k) + Math.log1p(-k / n));
}

function checkBinom(n: number, p: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`n must be a whole number >= 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be between 0 and 1, got ${p}`);
}

/** Σ of the pmf from k away from the mean, by the term ratio; stops once terms stop counting. */
function sumTail(k: number, n: number, p: number, down: boolean): number {
  let term = Math.exp(logBinomPmf(k, n, p));
  let sum = term;
  const odds = p / (1 - p);
  if (down) {
    for (let j = k; j > 0 && term > sum * 1e-17; j--) {
      term *= j / ((n - j + 1) * odds); // P(j − 1)/P(j)
      sum += term;
    }
  } else {
    for (let j = k; j < n && term > sum * 1e-17; j++) {
      term *= ((n - j) * odds) / (j + 1); // P(j + 1)/P(j)
      sum += term;
    }
  }
  return sum;
}

/** P(X = k) for X ~ Bin(n, p). */
export function binomPmf(k: number, n: number, p: number): number {
  checkBinom(n, p);
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) return 0;
  if (p === 0) return k === 0 ? 1 : 0;
  if (p === 1) return k === n ? 1 : 0;
  return Math.exp(logBinomPmf(k, n, p));
}

/**
 * P(X ≤ k) for X ~ Bin(n, p). The pmf terms come from Loader's saddle-point form (R's dbinom),
 * summed outward from k, so a tail keeps relative precision; n up to 10⁶ and beyond.
 */
export function binomCdf(k: number, n: number, p: number): number {
  checkBinom(n, p);
  k = Math.floor(k);
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  // The smaller of the two tails is summed; the other is its complement.
  return k < n * p ? sumTail(k, n, p, true) : 1 - sumTail(k + 1, n, p, false);
}

/** P(X ≥ k) for X ~ Bin(n, p), with relative precision in the upper tail. */
export function binomSf(k: number, n: number, p: number): number {
  checkBinom(n, p);
  k = Math.ceil(k);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  return k > n * p ? sumTail(k, n, p, false) : 1 - sumTail(k - 1, n, p, true);
}

/**
 * Binomial quantile as R's qbinom: the smallest k with P(X ≤ k) ≥ q, after R's fuzz q·(1 − 64ε)
 * so that a q equal to a CDF value up to rounding still lands on that k.
 */
export function binomQuantile(q: number, n: number, p: number): number {
  checkBinom(n, p);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be between 0 and 1, got ${q}`);
  const target = q * (1 - 64 * Number.EPSILON);
  if (q === 0 || p === 0) return 0;
  if (q === 1 || p === 1) return n;
  // Binary search on the monotone CDF: lo fails, hi succeeds.
  let lo = -1;
  let hi = n;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomCdf(mid, n, p) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

// ---------------------------------------------------------------------------------------------
// Per-prompt aggregation, clustered standard errors and percentile confidence intervals.

export interface PromptMean {
  key: string;
  /** Mean of the values seen for this key. */
  value: number;
  /** How many values were averaged. */
  n: number;
}

/**
 * Averages repeats per prompt, keys in first-seen order: the prompt is the unit of analysis, so
 * K samples of one prompt become one value before any test (STATS.md).
 */
export function perPromptMeans(rows: readonly { key: string; value: number }[]): PromptMean[] {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const { key, value } of rows) {
    const s = sums.get(key);
    if (s) {
      s.sum += value;
      s.n += 1;
    } else {
      sums.set(key, { sum: value, n: 1 });
    }
  }
  return [...sums].map(([key, { sum, n }]) => ({ key, value: sum / n, n }));
}

export interface ClusteredMean {
  mean: number;
  se: number;
  lo: number;
  hi: number;
  /** Number of distinct clusters C. */
  clusters: number;
  /** Degrees of freedom of the t used: C − 1. */
  df: number;
}

/** Clustered mean, SE and the C cluster count; shared by clusteredMean and pairedTClustered. */
export function clusteredSe(
  values: readonly number[],
  clusters: readonly (string | number)[],
): { n: number; mean: number; se: number; clusters: number } {
  const n = values.length;
  if (clusters.length !== n) {
    throw new RangeError(`values and clusters differ in length (${n} vs ${clusters.length})`);
  }
  let sum = 0;
  for (const v of values) sum += v;
  const mean = n > 0 ? sum / n : Number.NaN;
  const resid = new Map<string | number, number>();
  for (let i = 0; i < n; i++) {
    const c = clusters[i]!;
    resid.set(c, (resid.get(c) ?? 0) + (values[i]! - mean));
  }
  const C = resid.size;
  if (C < 2) return { n, mean, se: Number.NaN, clusters: C };
  let ss = 0;
  for (const r of resid.values()) ss += r * r;
  return { n, mean, se: Math.sqrt((C / (C - 1)) * ss) / n, clusters: C };
}

/**
 * Mean with the cluster-robust CR1 standard error (Miller 2024, eq. 4; STATS.md):
 * SE = √(C/(C−1)·Σ_c(Σ_{i∈c}(s_i − s̄))²)/n, interval s̄ ± t(1 − α/2, C − 1)·SE. Cluster ids are
 * compared with ===, so 1 and '1' are different clusters. Fewer than 2 clusters: NaN bounds.
 */
export function clusteredMean(
  values: readonly number[],
  clusters: readonly (string | number)[],
  confidence = 0.95,
): ClusteredMean {
  checkConfidence(confidence);
  const s = clusteredSe(values, clusters);
  const df = s.clusters - 1;
  if (s.clusters < 2) {
    return { mean: s.mean, se: Number.NaN, lo: Number.NaN, hi: Number.NaN, clusters: s.clusters, df };
  }
  const half = studentTQuantile(1 - (1 - confidence) / 2, df) * s.se;
  return { mean: s.mean, se: s.se, lo: s.mean - half, hi: s.mean + half, clusters: s.clusters, df };
}

export interface PercentileInterval {
  /** Type-7 percentile of the sample. */
  estimate: number;
  /** x_(l), or null when l < 1 (no order statistic is low enough). */
  lo: number | null;
  /** x_(u), or null when u > n: too few samples for a finite upper bound. */
  hi: number | null;
  /** Both bounds finite. */
  bounded: boolean;
}

/**
 * Distribution-free interval for the p-quantile from order statistics (STATS.md):
 * l = qbinom(α/2, n, p), u = qbinom(1 − α/2, n, p) + 1, CI = [x_(l), x_(u)] (1-based), coverage
 * at least 1 − α. For p = 0.95 (0.99) a finite 95% upper bound needs n ≥ 72 (368).
 */
export function percentileCI(
  sortedAscending: ArrayLike<number>,
  p: number,
  confidence = 0.95,
): PercentileInterval {
  checkConfidence(confidence);
  const estimate = percentile(sortedAscending, p);
  const n = sortedAscending.length;
  if (n === 0) return { estimate, lo: null, hi: null, bounded: false };
  const alpha = 1 - confidence;
  const l = binomQuantile(alpha / 2, n, p);
  const u = binomQuantile(1 - alpha / 2, n, p) + 1;
  const lo = l >= 1 ? sortedAscending[l - 1]! : null;
  const hi = u <= n ? sortedAscending[u - 1]! : null;
  return { estimate, lo, hi, bounded: lo !== null && hi !== null };
}
