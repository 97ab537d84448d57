import { describe, expect, it } from 'vitest';
import {
  nonInferiorityN,
  pairedBinaryMDE,
  pairedBinaryN,
  pairedBinaryPower,
  powerNonInferiority,
} from '../../results/stats/power.js';

// References with scipy 1.17.1, in python:
//   from scipy.stats import norm; from scipy.optimize import brentq; import numpy as np
//   za, zb = norm.ppf(0.975), norm.ppf(0.8)
//   connor = lambda d, psi: (za*np.sqrt(psi) + zb*np.sqrt(psi - d*d))**2/d**2

describe('pairedBinaryN (Connor 1987)', () => {
  it('STATS.md: 85% → 80%, ψ = 0.10, power 0.8, α 0.05 → 312', () => {
    // connor(0.05, 0.10) = 311.5868751756675 → 312
    expect(pairedBinaryN(0.05, 0.1)).toBe(312);
    expect(pairedBinaryN(-0.05, 0.1)).toBe(312);
  });

  it('rejects an effect larger than the discordant share', () => {
    expect(() => pairedBinaryN(0.2, 0.1)).toThrow(/delta/);
    expect(() => pairedBinaryN(0, 0.1)).toThrow(/delta/);
    expect(() => pairedBinaryN(0.05, 0)).toThrow(/psi/);
  });
});

describe('pairedBinaryPower', () => {
  it('inverts the sample size', () => {
    // norm.cdf((0.05*np.sqrt(312) - za*np.sqrt(0.1))/np.sqrt(0.1 - 0.0025)) = 0.8005240128627502
    expect(pairedBinaryPower(312, 0.05, 0.1)).toBeCloseTo(0.8005240128627502, 12);
    expect(pairedBinaryPower(311.5868751756675, 0.05, 0.1)).toBeCloseTo(0.8, 9);
  });
});

describe('pairedBinaryMDE', () => {
  it('STATS.md: ψ = 0.15, n = 100 → 10.7 points, 500 → 4.8, 2,000 → 2.4', () => {
    // brentq(lambda d: connor(d, 0.15) - n, 1e-6, 0.15, xtol=1e-15) for n = 100, 500, 2000
    expect(pairedBinaryMDE(100, 0.15)).toBeCloseTo(0.10723068654510882, 10);
    expect(pairedBinaryMDE(500, 0.15)).toBeCloseTo(0.04841055404767204, 10);
    expect(pairedBinaryMDE(2000, 0.15)).toBeCloseTo(0.024248140582529266, 10);
    expect((100 * pairedBinaryMDE(100, 0.15)).toFixed(1)).toBe('10.7');
    expect((100 * pairedBinaryMDE(500, 0.15)).toFixed(1)).toBe('4.8');
    expect((100 * pairedBinaryMDE(2000, 0.15)).toFixed(1)).toBe('2.4');
  });

  it('round-trips with pairedBinaryN and is NaN when nothing possible is detectable', () => {
    const mde = pairedBinaryMDE(312, 0.1);
    expect(pairedBinaryN(mde, 0.1)).toBe(312);
    // connor(0.15, 0.15) = 49.90100747718166: below that n even Δ = ψ is out of reach.
    expect(pairedBinaryMDE(49, 0.15)).toBeNaN();
    expect(pairedBinaryMDE(50, 0.15)).toBeLessThanOrEqual(0.15);
  });
});

describe('non-inferiority', () => {
  it('(z_{1−α} + z_{1−β})² = 7.85 at α = 0.025 one-sided, power 0.8', () => {
    // (norm.ppf(0.975) + norm.ppf(0.8))**2 = 7.848879734349088
    expect(nonInferiorityN(1, 0.5)).toBe(Math.ceil(7.848879734349088 / 0.25)); // 31.4 → 32
  });

  it('ψ = 0.15, m = 0.03 → 1,309 (STATS.md prints 1,308: 1308.15 rounded, not rounded up)', () => {
    // (norm.ppf(0.975) + norm.ppf(0.8))**2 * 0.15 / 0.03**2 = 1308.1466223915147
    expect(nonInferiorityN(0.15, 0.03)).toBe(1309);
  });

  it('powerNonInferiority inverts it', () => {
    // norm.cdf(0.03*np.sqrt(1309/0.15) - norm.ppf(0.975)) = 0.8002556935575985
    expect(powerNonInferiority(1309, 0.15, 0.03)).toBeCloseTo(0.8002556935575985, 12);
    // norm.cdf(0.03*np.sqrt(500/0.15) - norm.ppf(0.975)) = 0.4098568692768829
    expect(powerNonInferiority(500, 0.15, 0.03)).toBeCloseTo(0.4098568692768829, 12);
    expect(powerNonInferiority(1308.1466223915147, 0.15, 0.03)).toBeCloseTo(0.8, 9);
    expect(powerNonInferiority(0, 0.15, 0.03)).toBeCloseTo(0.025, 12);
  });
});
