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
