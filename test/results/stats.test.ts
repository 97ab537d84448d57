import { describe, expect, it } from 'vitest';
import {
  normalQuantile,
  percentile,
  studentTQuantile,
  tInterval,
  tIntervalFromSummary,
  wilson,
} from '../../results/stats.js';

// Every expected value below was computed outside this code (R / scipy, or by hand as shown) and
// pasted as a literal. 1e-6 means toBeCloseTo(x, 6).

describe('normalQuantile', () => {
  it('matches R qnorm', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8); // qnorm(0.975)
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 8); // qnorm(0.001)
    expect(normalQuantile(0.3)).toBeCloseTo(-0.5244005127, 8); // qnorm(0.3), central region
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902, 8); // qnorm(1e-10), far tail (r > 5)
    expect(normalQuantile(0.999999)).toBeCloseTo(4.753424309, 8); // qnorm(0.999999)
    expect(normalQuantile(0.5)).toBe(0);
  });

  it('is infinite at 0 and 1 and rejects other values', () => {
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(() => normalQuantile(1.5)).toThrow(/between 0 and 1/);
    expect(() => normalQuantile(Number.NaN)).toThrow(/between 0 and 1/);
  });
});

describe('studentTQuantile', () => {
  it('matches R qt', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.70620474, 6); // qt(0.975, 1)
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.30265273, 6); // qt(0.975, 2)
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776445105, 6); // qt(0.975, 4)
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.262157163, 6); // qt(0.975, 9)
    expect(studentTQuantile(0.975, 29)).toBeCloseTo(2.045229642, 6); // qt(0.975, 29)
    expect(studentTQuantile(0.995, 4)).toBeCloseTo(4.604094871, 6); // qt(0.995, 4)
    expect(studentTQuantile(0.999, 3)).toBeCloseTo(10.21453185, 6); // qt(0.999, 3)
    expect(studentTQuantile(0.025, 5)).toBeCloseTo(-2.570581836, 6); // qt(0.025, 5)
    expect(studentTQuantile(0.9, 7.5)).toBeCloseTo(1.405211846, 6); // qt(0.9, 7.5): fractional df
    // scipy.stats.t.ppf(0.975, 999999): a million-call run's df, where log-gammas nearly cancel.
    expect(studentTQuantile(0.975, 999_999)).toBeCloseTo(1.959966357, 8);
  });

  it('is symmetric, zero at the median and the normal at infinite df', () => {
    expect(studentTQuantile(0.5, 7)).toBe(0);
    expect(studentTQuantile(0.1, 12)).toBeCloseTo(-studentTQuantile(0.9, 12), 12);
    expect(studentTQuantile(0.975, Number.POSITIVE_INFINITY)).toBeCloseTo(1.959963985, 8);
    expect(() => studentTQuantile(0.975, 0)).toThrow(/degrees of freedom/);
  });
});

describe('wilson', () => {
  it('k = 8, n = 10 matches the worked formula', () => {
    // z = 1.959963985, z² = 3.841458821, z²/n = 0.3841458821, p̂ = 0.8
    // centre = (0.8 + 0.1920729411) / 1.3841458821 = 0.7167401600
    // half   = (1.959963985 / 1.3841458821) · √(0.16/10 + 3.841458821/400)
    //        = 1.4160097 · √0.0256036471 = 1.4160097 · 0.1600114 = 0.2265776885
    // → [0.4901625, 0.9433178]
    const w = wilson(8, 10);
    expect(w.p).toBe(0.8);
    expect(w.lo).toBeCloseTo(0.4901625, 6);
    expect(w.hi).toBeCloseTo(0.9433178, 6);
  });

  it('keeps a nonzero width at k = 0 and k = n', () => {
    // k = 0: lo = 0, hi = (z²/n)/(1 + z²/n) = 0.3841458821/1.3841458821 = 0.2775328
    expect(wilson(0, 10)).toEqual({ p: 0, lo: 0, hi: expect.closeTo(0.2775328, 6) });
    // k = n mirrors it: lo = 1 − 0.2775328
    const all = wilson(10, 10);
    expect(all.lo).toBeCloseTo(0.7224672, 6);
    expect(all.hi).toBe(1);
  });

  it('n = 0 knows nothing', () => {
    const w = wilson(0, 0);
    expect(w.p).toBeNaN();
    expect(w.lo).toBe(0);
    expect(w.hi).toBe(1);
  });

  it('rejects impossible counts', () => {
    expect(() => wilson(3, 2)).toThrow(/k must be/);
    expect(() => wilson(1, 2.5)).toThrow(/n must be/);
    expect(() => wilson(1, 2, 1)).toThrow(/confidence/);
  });
});

describe('tInterval', () => {
  it('[1, 2, 3, 4, 5]: mean ± qt(0.975, 4)·sd/√n', () => {
    // mean 3, sd = √2.5 = 1.5811388, se = 0.7071068, qt(0.975, 4) = 2.7764451
    // half = 1.9632432 → [1.0367568, 4.9632432]
    const t = tInterval([1, 2, 3, 4, 5]);
    expect(t.mean).toBe(3);
    expect(t.n).toBe(5);
    expect(t.sd).toBeCloseTo(1.5811388, 6);
    expect(t.lo).toBeCloseTo(1.0367568, 6);
    expect(t.hi).toBeCloseTo(4.9632432, 6);
  });

  it('needs two values for an interval', () => {
    const one = tInterval([4]);
    expect(one.mean).toBe(4);
    expect(one.lo).toBeNaN();
    expect(one.hi).toBeNaN();
    expect(tInterval([]).mean).toBeNaN();
  });

  it('agrees with the summary form', () => {
    const s = tIntervalFromSummary(5, 3, Math.sqrt(2.5));
    expect(s.lo).toBeCloseTo(1.0367568, 6);
    expect(s.hi).toBeCloseTo(4.9632432, 6);
  });
});

describe('percentile (type 7)', () => {
  it('matches numpy.percentile', () => {
    // h = (4 − 1)·0.95 = 2.85 → x[2] + 0.85·(x[3] − x[2]) = 3 + 0.85 = 3.85
    expect(percentile([1, 2, 3, 4], 0.95)).toBeCloseTo(3.85, 12);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0)).toBe(1);
    expect(percentile([1, 2, 3, 4], 1)).toBe(4);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 95)).toThrow(/between 0 and 1/);
  });
});
