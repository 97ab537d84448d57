import { describe, expect, it } from 'vitest';
import {
  binomCdf,
  binomPmf,
  binomQuantile,
  binomSf,
  clusteredMean,
  normalCdf,
  normalQuantile,
  percentile,
  percentileCI,
  perPromptMeans,
  studentTCdf,
  studentTQuantile,
  tInterval,
  tIntervalFromSummary,
  wilson,
} from '../../results/stats/stats.js';

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

/** |actual/expected − 1| ≤ rel: for tail probabilities too small for an absolute tolerance. */
function expectRel(actual: number, expected: number, rel = 1e-12): void {
  expect(Math.abs(actual / expected - 1)).toBeLessThanOrEqual(rel);
}

describe('normalCdf (Cody)', () => {
  it('matches scipy.stats.norm.cdf to 1e-15 absolute', () => {
    // [float(st.norm.cdf(x)) for x in xs]
    const cases: [number, number][] = [
      [-3, 0.0013498980316300933],
      [-1, 0.15865525393145707],
      [-0.7, 0.24196365222307303],
      [-0.6, 0.2742531177500736],
      [0.3, 0.6179114221889526],
      [0.68, 0.7517477695464294],
      [1.5, 0.9331927987311419],
      [1.959963984540054, 0.975], // st.norm.cdf(st.norm.ppf(0.975))
      [5, 0.9999997133484281],
      [8, 0.9999999999999993],
    ];
    for (const [x, p] of cases) expect(Math.abs(normalCdf(x) - p)).toBeLessThan(1e-15);
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(-1e-17)).toBe(0.5);
    expect(normalCdf(9)).toBe(1);
  });

  it('keeps relative precision in the lower tail', () => {
    expectRel(normalCdf(-5.6), 1.0717590258310887e-8); // st.norm.cdf(-5.6), below √32
    expectRel(normalCdf(-5.7), 5.99037140106353e-9); // st.norm.cdf(-5.7), above √32
    expectRel(normalCdf(-6), 9.865876450376946e-10); // st.norm.cdf(-6)
    expectRel(normalCdf(-10), 7.61985302416047e-24); // st.norm.cdf(-10)
    expectRel(normalCdf(-30), 4.906713927147908e-198); // st.norm.cdf(-30)
    expectRel(normalCdf(-37.5), 4.605353009581954e-308); // st.norm.cdf(-37.5)
    expect(normalCdf(-40)).toBe(0); // st.norm.cdf(-40) == 0.0
    expect(normalCdf(Number.NaN)).toBeNaN();
  });

  it('inverts normalQuantile', () => {
    for (const p of [1e-10, 0.001, 0.3, 0.5, 0.8, 0.975]) expectRel(normalCdf(normalQuantile(p)), p, 1e-13);
  });
});

describe('studentTCdf', () => {
  it('matches scipy.stats.t.cdf', () => {
    expect(studentTCdf(-3, 4)).toBeCloseTo(0.019970984035859413, 12); // st.t.cdf(-3, 4)
    expect(studentTCdf(0.5, 7.5)).toBeCloseTo(0.6842945176887727, 12); // st.t.cdf(0.5, 7.5)
    expect(studentTCdf(2, 1)).toBeCloseTo(0.8524163823495667, 12); // st.t.cdf(2, 1)
    expect(studentTCdf(-2, 2)).toBeCloseTo(0.09175170953613698, 12); // st.t.cdf(-2, 2)
    expect(studentTCdf(-1e-3, 1000)).toBeCloseTo(0.4996011575092264, 12); // st.t.cdf(-1e-3, 1000)
    expect(studentTCdf(3, 1e6)).toBeCloseTo(0.9986500687292891, 12); // st.t.cdf(3, 1e6)
    expectRel(studentTCdf(-50, 3), 8.808576020635984e-6, 1e-10); // st.t.cdf(-50, 3)
    expectRel(studentTCdf(-12, 999999), 1.7858425717667325e-33, 1e-9); // st.t.cdf(-12, 999999)
  });

  it('is ½ at 0 and inverts studentTQuantile', () => {
    expect(studentTCdf(0, 5)).toBe(0.5);
    expect(studentTCdf(Number.NEGATIVE_INFINITY, 5)).toBe(0);
    expect(studentTCdf(Number.POSITIVE_INFINITY, 5)).toBe(1);
    expect(studentTCdf(studentTQuantile(0.975, 9), 9)).toBeCloseTo(0.975, 12);
    expect(studentTCdf(1.959963984540054, Number.POSITIVE_INFINITY)).toBeCloseTo(0.975, 12);
    expect(() => studentTCdf(1, 0)).toThrow(/degrees of freedom/);
  });
});

describe('binomial distribution', () => {
  it('matches scipy.stats.binom', () => {
    // st.binom.cdf(3, 10, .5), st.binom.sf(2, 10, .5), st.binom.pmf(3, 10, .5): exactly 176/1024 etc.
    expect(binomCdf(3, 10, 0.5)).toBeCloseTo(0.171875, 14);
    expect(binomSf(3, 10, 0.5)).toBeCloseTo(0.9453125, 14);
    expect(binomPmf(3, 10, 0.5)).toBeCloseTo(0.1171875, 14);
    expect(binomCdf(0, 10, 0.5)).toBe(0.0009765625);
    // st.binom.cdf(70, 72, .95), st.binom.sf(69, 72, .95), st.binom.pmf(70, 72, .95)
    expect(binomCdf(70, 72, 0.95)).toBeCloseTo(0.8807694980870402, 12);
    expect(binomSf(70, 72, 0.95)).toBeCloseTo(0.2954902838039522, 12);
    expect(binomPmf(70, 72, 0.95)).toBeCloseTo(0.17625978189099226, 12);
    expect(binomCdf(366, 368, 0.99)).toBeCloseTo(0.8832025669982451, 12); // st.binom.cdf(366, 368, .99)
  });

  it('is accurate at n = 10⁶ (McNemar with a million discordant pairs)', () => {
    const n = 1_000_000;
    expectRel(binomCdf(499_000, n, 0.5), 0.0228041499326948, 1e-11); // st.binom.cdf(499000, 1e6, .5)
    expectRel(binomSf(499_000, n, 0.5), 0.9773038320453267, 1e-12); // st.binom.sf(498999, 1e6, .5)
    expectRel(binomPmf(500_000, n, 0.5), 0.0007978843613317499, 1e-12); // st.binom.pmf(500000, 1e6, .5)
    expectRel(binomCdf(500_000, n, 0.5), 0.5003989421806654, 1e-12); // st.binom.cdf(500000, 1e6, .5)
    expectRel(binomCdf(497_000, n, 0.5), 9.92574881961445e-10, 1e-10); // st.binom.cdf(497000, 1e6, .5)
    expectRel(binomPmf(497_000, n, 0.5), 1.2150669037165992e-11, 1e-10); // st.binom.pmf(497000, 1e6, .5)
  });

  it('handles the edges', () => {
    expect(binomCdf(-1, 5, 0.3)).toBe(0);
    expect(binomCdf(5, 5, 0.3)).toBe(1);
    expect(binomSf(0, 5, 0.3)).toBe(1);
    expect(binomSf(6, 5, 0.3)).toBe(0);
    expect(binomPmf(0, 0, 0.5)).toBe(1);
    expect(binomCdf(2, 5, 0)).toBe(1);
    expect(binomSf(2, 5, 1)).toBe(1);
    expect(() => binomCdf(1, 2.5, 0.5)).toThrow(/n must be/);
  });
});

describe('binomQuantile (R qbinom)', () => {
  it('matches scipy.stats.binom.ppf', () => {
    expect(binomQuantile(0.025, 100, 0.5)).toBe(40); // st.binom.ppf(0.025, 100, 0.5)
    expect(binomQuantile(0.975, 100, 0.5)).toBe(60); // st.binom.ppf(0.975, 100, 0.5)
    expect(binomQuantile(0.975, 72, 0.95)).toBe(71); // st.binom.ppf(0.975, 72, 0.95)
    expect(binomQuantile(0.975, 71, 0.95)).toBe(71); // st.binom.ppf(0.975, 71, 0.95)
    expect(binomQuantile(0.05, 1, 0.95)).toBe(0); // st.binom.ppf(0.05, 1, 0.95)
    expect(binomQuantile(0.025, 1000, 0.99)).toBe(983); // st.binom.ppf(0.025, 1000, 0.99)
    expect(binomQuantile(0.975, 1000, 0.99)).toBe(996); // st.binom.ppf(0.975, 1000, 0.99)
    expect(binomQuantile(0, 10, 0.5)).toBe(0);
    expect(binomQuantile(1, 10, 0.5)).toBe(10);
  });

  it('lands on k when q equals P(X ≤ k) up to rounding (R fuzz)', () => {
    // P(X ≤ 3) = 176/1024 = 0.171875 exactly; st.binom.ppf(0.171875, 10, 0.5) == 3
    expect(binomQuantile(0.171875, 10, 0.5)).toBe(3);
  });
});

describe('perPromptMeans', () => {
  it('averages repeats per key in first-seen order', () => {
    const rows = [
      { key: 'b', value: 1 },
      { key: 'a', value: 0 },
      { key: 'b', value: 0 },
      { key: 'c', value: 0.5 },
      { key: 'b', value: 1 },
      { key: 'a', value: 1 },
    ];
    expect(perPromptMeans(rows)).toEqual([
      { key: 'b', value: 2 / 3, n: 3 },
      { key: 'a', value: 0.5, n: 2 },
      { key: 'c', value: 0.5, n: 1 },
    ]);
    expect(perPromptMeans([])).toEqual([]);
  });
});

describe('clusteredMean (CR1)', () => {
  it('matches statsmodels OLS with cluster-robust SE', () => {
    // s = [0.2, 0.5, 0.9, 0.4, 0.7, 0.1, 0.8, 0.6]; g = ['x','x','y','y','y','z','w','w']
    // r = sm.OLS(s, np.ones(8)).fit(cov_type='cluster', cov_kwds={'groups': codes(g)}, use_t=True)
    // r.params[0], r.bse[0], r.conf_int(0.05)[0], r.df_resid_inference
    // (statsmodels' factor C/(C−1)·(n−1)/(n−k) is C/(C−1) for an intercept-only model)
    const s = [0.2, 0.5, 0.9, 0.4, 0.7, 0.1, 0.8, 0.6];
    const g = ['x', 'x', 'y', 'y', 'y', 'z', 'w', 'w'];
    const r = clusteredMean(s, g);
    expect(r.mean).toBeCloseTo(0.525, 12);
    expect(r.se).toBeCloseTo(0.1123841996605098, 12);
    expect(r.lo).toBeCloseTo(0.16734331901814398, 9);
    expect(r.hi).toBeCloseTo(0.8826566809818559, 9);
    expect(r.clusters).toBe(4);
    expect(r.df).toBe(3);
  });

  it('one prompt per cluster is the ordinary SE; fewer than 2 clusters gives NaN bounds', () => {
    // With singleton clusters CR1 is √(n/(n−1)·Σ(s−s̄)²)/n = sd/√n.
    const v = [1, 2, 3, 4, 5];
    const r = clusteredMean(v, [1, 2, 3, 4, 5]);
    const t = tInterval(v);
    expect(r.se).toBeCloseTo(Math.SQRT1_2, 12); // √2.5/√5 = √½
    expect(r.lo).toBeCloseTo(t.lo, 12);
    expect(r.hi).toBeCloseTo(t.hi, 12);
    const one = clusteredMean([1, 2, 3], ['a', 'a', 'a']);
    expect(one.mean).toBe(2);
    expect(one.se).toBeNaN();
    expect(one.lo).toBeNaN();
    expect(one.clusters).toBe(1);
    expect(() => clusteredMean([1, 2], ['a'])).toThrow(/differ in length/);
  });
});

describe('percentileCI (order statistics)', () => {
  // x = 1.5, 3, …, 150: x_(k) = 1.5k, so the order statistics are easy to read off.
  const x = Array.from({ length: 100 }, (_, i) => 1.5 * (i + 1));

  it('median of 100: [x_(40), x_(61)]', () => {
    // l = st.binom.ppf(0.025, 100, .5) = 40, u = st.binom.ppf(0.975, 100, .5) + 1 = 61
    const r = percentileCI(x, 0.5);
    expect(r.estimate).toBeCloseTo(75.75, 12); // np.percentile(x, 50)
    expect(r).toMatchObject({ lo: 60, hi: 91.5, bounded: true });
  });

  it('p95 of 100: [x_(90), x_(100)]', () => {
    // l = st.binom.ppf(0.025, 100, .95) = 90, u = st.binom.ppf(0.975, 100, .95) + 1 = 100
    const r = percentileCI(x, 0.95);
    expect(r.estimate).toBeCloseTo(142.575, 12); // np.percentile(x, 95)
    expect(r).toMatchObject({ lo: 135, hi: 150, bounded: true });
  });

  it('p99 of 1000 at 90%: [x_(985), x_(996)]', () => {
    // l = st.binom.ppf(0.05, 1000, .99) = 985, u = st.binom.ppf(0.95, 1000, .99) + 1 = 996
    const y = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentileCI(y, 0.99, 0.9)).toMatchObject({ lo: 985, hi: 996, bounded: true });
  });

  it('too few samples leave the upper bound open', () => {
    const y = Array.from({ length: 71 }, (_, i) => i + 1);
    const r = percentileCI(y, 0.95);
    expect(r.hi).toBeNull();
    // l = st.binom.ppf(0.025, 71, .95) = 63; u = st.binom.ppf(0.975, 71, .95) + 1 = 72 > 71
    expect(r.lo).toBe(63);
    expect(r.bounded).toBe(false);
    expect(percentileCI([5], 0.5)).toEqual({ estimate: 5, lo: null, hi: null, bounded: false });
    expect(percentileCI([], 0.5)).toEqual({ estimate: Number.NaN, lo: null, hi: null, bounded: false });
  });

  it('STATS.md: a finite 95% upper bound needs n ≥ 72 for p95 and n ≥ 368 for p99', () => {
    // next(n for n in range(1, 2000) if st.binom.ppf(0.975, n, p) + 1 <= n) → 72 (p = .95), 368 (.99);
    // closed form: P(X ≤ n − 1) = 1 − pⁿ ≥ 0.975 ⇔ n ≥ ln 0.025 / ln p = 71.9 and 367.0.
    const smallest = (p: number) => {
      for (let n = 1; ; n++) {
        if (
          percentileCI(
            Array.from({ length: n }, (_, i) => i),
            p,
          ).hi !== null
        )
          return n;
      }
    };
    expect(smallest(0.95)).toBe(72);
    expect(smallest(0.99)).toBe(368);
    // And it stays bounded above those n.
    for (const n of [73, 100, 500])
      expect(
        percentileCI(
          Array.from({ length: n }, (_, i) => i),
          0.95,
        ).bounded,
      ).toBe(true);
    for (const n of [369, 1000])
      expect(
        percentileCI(
          Array.from({ length: n }, (_, i) => i),
          0.99,
        ).bounded,
      ).toBe(true);
  });
});
