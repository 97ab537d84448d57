/**
 * Sample size, power and minimum detectable effect for paired pass/fail comparisons (STATS.md).
 * ψ is the share of discordant pairs (b + c)/n, Δ = p_B − p_A; |Δ| can never exceed ψ.
 * The closed forms are normal approximations; powerNonInferiorityExact is the exact power of the
 * Tango non-inferiority test itself, for when few discordant pairs make the approximation optimistic.
 * Pure functions, no I/O.
 */

import { tangoZ } from './paired.js';
import { binomPmf, normalCdf, normalQuantile } from './stats.js';

function checkProb(name: string, v: number): void {
  if (!(v > 0 && v < 1)) throw new RangeError(`${name} must be between 0 and 1 (exclusive), got ${v}`);
}

function checkPsi(psi: number): void {
  if (!(psi > 0 && psi <= 1)) throw new RangeError(`psi must be in (0, 1], got ${psi}`);
}

function checkPsiDelta(delta: number, psi: number): void {
  checkPsi(psi);
  if (!(Math.abs(delta) > 0 && Math.abs(delta) <= psi)) {
    throw new RangeError(`|delta| must be in (0, psi] (psi = ${psi}), got ${delta}`);
  }
}

/** Round a sample size up, forgiving the last bits of rounding (312.0000000001 is 312). */
function ceilN(x: number): number {
  return Math.ceil(x * (1 - 1e-12));
}

/** Connor's n before rounding up. */
function connorN(delta: number, psi: number, zA: number, zB: number): number {
  const d2 = delta * delta;
  return (zA * Math.sqrt(psi) + zB * Math.sqrt(Math.max(0, psi - d2))) ** 2 / d2;
}

/**
 * Pairs needed to detect Δ with a two-sided McNemar test (Connor 1987; STATS.md):
 * n = (z_{1−α/2}√ψ + z_{1−β}√(ψ − Δ²))²/Δ², rounded up. ψ = 0.10, Δ = 0.05 → 312.
 */
export function pairedBinaryN(delta: number, psi: number, alpha = 0.05, power = 0.8): number {
  checkPsiDelta(delta, psi);
  checkProb('alpha', alpha);
  checkProb('power', power);
  return ceilN(connorN(delta, psi, normalQuantile(1 - alpha / 2), normalQuantile(power)));
}

/**
 * Power of the two-sided McNemar test at n pairs, Connor's approximation solved for 1 − β:
 * Φ((|Δ|√n − z_{1−α/2}√ψ)/√(ψ − Δ²)).
 */
export function pairedBinaryPower(n: number, delta: number, psi: number, alpha = 0.05): number {
  checkPsiDelta(delta, psi);
  checkProb('alpha', alpha);
  if (!(n > 0)) throw new RangeError(`n must be > 0, got ${n}`);
  const x = Math.abs(delta) * Math.sqrt(n) - normalQuantile(1 - alpha / 2) * Math.sqrt(psi);
  const s = Math.sqrt(Math.max(0, psi - delta * delta));
  if (s === 0) return x >= 0 ? 1 : 0;
  return normalCdf(x / s);
}

/**
 * Minimum detectable effect: the Δ > 0 at which Connor's n equals the given n (bisection; the
 * formula falls as Δ grows). NaN when even Δ = ψ (every discordant pair one way) needs more pairs.
 * ψ = 0.15: n = 100 → 0.107, 500 → 0.048, 2,000 → 0.024.
 */
export function pairedBinaryMDE(n: number, psi: number, alpha = 0.05, power = 0.8): number {
  checkPsi(psi);
  checkProb('alpha', alpha);
  checkProb('power', power);
  if (!(n > 0)) throw new RangeError(`n must be > 0, got ${n}`);
  const zA = normalQuantile(1 - alpha / 2);
  const zB = normalQuantile(power);
  if (connorN(psi, psi, zA, zB) > n) return Number.NaN;
  let lo = 0;
  let hi = psi;
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (connorN(mid, psi, zA, zB) > n) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Pairs for a one-sided non-inferiority test at margin m when the true Δ is 0 (STATS.md):
 * n = (z_{1−α} + z_{1−β})²·ψ/m², rounded up; 7.85·ψ/m² at α = 0.025, power 0.8.
 */
export function nonInferiorityN(psi: number, margin: number, alpha = 0.025, power = 0.8): number {
  checkPsi(psi);
  checkProb('alpha', alpha);
  checkProb('power', power);
  if (!(margin > 0 && margin < 1)) throw new RangeError(`margin must be between 0 and 1, got ${margin}`);
  return ceilN(((normalQuantile(1 - alpha) + normalQuantile(power)) ** 2 * psi) / (margin * margin));
}

/**
 * Power of the one-sided non-inferiority test at n pairs, true Δ = 0, the same approximation
 * solved for 1 − β: Φ(m·√(n/ψ) − z_{1−α}).
 */
export function powerNonInferiority(n: number, psi: number, margin: number, alpha = 0.025): number {
  checkPsi(psi);
  checkProb('alpha', alpha);
  if (!(n >= 0)) throw new RangeError(`n must be >= 0, got ${n}`);
  if (!(margin > 0 && margin < 1)) throw new RangeError(`margin must be between 0 and 1, got ${margin}`);
  return normalCdf(margin * Math.sqrt(n / psi) - normalQuantile(1 - alpha));
}

/**
 * Exact power of the one-sided Tango score non-inferiority test the gate runs (reject H0: Δ ≤ −m when
 * 1 − Φ(z(−m)) < α, z from tangoZ) at n pairs, when each pair is (A pass, B fail) with probability
 * p10 and (A fail, B pass) with probability p01, so the true Δ = p01 − p10. No approximation: the
 * rejection probability is summed over the whole distribution of (b, c), the trinomial
 * (b, c, n − b − c) ~ Mult(n; p10, p01, 1 − p10 − p01), enumerated as D = b + c ~ Bin(n, ψ) with
 * ψ = p10 + p01 and b | D ~ Bin(D, p10/ψ). The D tail is cut where the mass left is below 1e-16.
 *
 * The work grows as (nψ)², so it is meant for few discordant pairs (where the normal approximation
 * powerNonInferiority is optimistic: at n = 100, ψ = 0.02, m = 0.05 it says 94% where the test has
 * 61%). This is the power of the test actually run, not of an exact conditional (binomial) test: for
 * a margin on the difference, the conditional null distribution of b given D depends on the unknown ψ,
 * so no exact conditional test exists to take the power of.
 */
export function powerNonInferiorityExact(
  n: number,
  p10: number,
  p01: number,
  margin: number,
  alpha = 0.025,
): number {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`n must be a whole number >= 0, got ${n}`);
  if (!(p10 >= 0 && p01 >= 0 && p10 + p01 <= 1)) {
    throw new RangeError(`p10 and p01 must be >= 0 with p10 + p01 <= 1, got ${p10} and ${p01}`);
  }
  checkProb('alpha', alpha);
  if (!(margin > 0 && margin < 1)) throw new RangeError(`margin must be between 0 and 1, got ${margin}`);
  if (n === 0) return 0;
  const psi = Math.min(1, p10 + p01);
  const split = psi > 0 ? Math.min(1, p10 / psi) : 0.5;
  let power = 0;
  for (let d = 0; d <= n; d++) {
    const pd = binomPmf(d, n, psi);
    if (pd > 0) {
      for (let b = 0; b <= d; b++) {
        const pb = binomPmf(b, d, split);
        if (pb > 0 && 1 - normalCdf(tangoZ(b, d - b, n, -margin)) < alpha) power += pd * pb;
      }
    }
    // Past the mode the terms fall by at least r each step, so the rest is below pd·r/(1 − r).
    const r = ((n - d) * psi) / ((d + 1) * (1 - psi));
    if (d >= n * psi && r < 1 && (pd * r) / (1 - r) < 1e-16) break;
  }
  return Math.min(1, power);
}
