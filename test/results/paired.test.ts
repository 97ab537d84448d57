import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  holm,
  mcnemar,
  mulberry32,
  pairedBootstrap,
  pairedT,
  pairedTClustered,
  tangoInterval,
  tangoZ,
  wilcoxonSignedRank,
} from '../../results/stats/paired.js';
import { normalCdf } from '../../results/stats/stats.js';

// Reference values were computed with scipy 1.17.1 and statsmodels 0.15.0 (python 3.11) and pasted
// as literals with the expression that produced them. `st` = scipy.stats; mcnemar and multipletests
// are statsmodels.stats.contingency_tables.mcnemar and statsmodels.stats.multitest.multipletests;
// mcnemar(T) is called on the table T = [[0, b], [c, 0]]. 1e-6 means toBeCloseTo(x, 6).

describe('mcnemar', () => {
  it('matches statsmodels and scipy binomial tails', () => {
    // mcnemar(T, exact=True).pvalue; mcnemar(T, exact=False, correction=True).statistic / .pvalue;
    // st.binom.sf(b - 1, b + c, .5); st.binom.sf(b, b + c, .5) + .5 * st.binom.pmf(b, b + c, .5)
    const cases: [number, number, number, number, number, number, number][] = [
      [3, 10, 0.09228515625, 2.769230769230769, 0.0960923294556734, 0.98876953125, 0.9713134765625],
      [10, 3, 0.09228515625, 2.769230769230769, 0.0960923294556734, 0.046142578125, 0.028686523437499986],
      [0, 5, 0.0625, 3.2, 0.07363827012030258, 1, 0.984375],
      [
        12, 30, 0.007915897334896727, 6.880952380952381, 0.008711912962379598, 0.9985563760128571,
        0.9972992136727044,
      ],
    ];
    for (const [b, c, exact, chi2, pChi2, worse, mid] of cases) {
      const m = mcnemar(b, c);
      expect(m.n).toBe(b + c);
      expect(m.exactTwoSided).toBeCloseTo(exact, 12);
      expect(m.chi2cc).toBeCloseTo(chi2, 12);
      expect(m.pChi2cc).toBeCloseTo(pChi2, 12);
      expect(m.oneSidedWorse).toBeCloseTo(worse, 12);
      expect(m.midP).toBeCloseTo(mid, 12);
    }
  });

  it('b = c: two-sided p is 1 and the corrected χ² is 0 (STATS.md max(0, ·))', () => {
    // st.binom.sf(6, 14, .5) = 0.604736328125; st.binom.sf(7, 14, .5) + .5 * st.binom.pmf(7, 14, .5) = 0.5
    // (statsmodels gives χ² = (|b − c| − 1)²/(b + c) = 1/14 here: no max(0, ·); STATS.md clips it.)
    const m = mcnemar(7, 7);
    expect(m.exactTwoSided).toBe(1);
    expect(m.oneSidedWorse).toBeCloseTo(0.604736328125, 12);
    expect(m.midP).toBeCloseTo(0.5, 12);
    expect(m.chi2cc).toBe(0);
    expect(m.pChi2cc).toBe(1);
    // b + c = 1: mcnemar(T, exact=True).pvalue = 1.0, st.binom.sf(0, 1, .5) = 0.5, mid-p 0.25
    expect(mcnemar(1, 0)).toMatchObject({ exactTwoSided: 1, oneSidedWorse: 0.5, midP: 0.25, chi2cc: 0 });
  });

  it('b + c = 0: every p is 1', () => {
    expect(mcnemar(0, 0)).toEqual({
      b: 0,
      c: 0,
      n: 0,
      exactTwoSided: 1,
      oneSidedWorse: 1,
      midP: 1,
      chi2cc: 0,
      pChi2cc: 1,
    });
  });

  it('stays exact with a million discordant pairs', () => {
    // b, c = 500100, 499900: mcnemar(T, exact=True).pvalue, st.binom.sf(b - 1, 10**6, .5),
    // st.binom.sf(b, 10**6, .5) + .5 * st.binom.pmf(b, 10**6, .5), mcnemar(T, exact=False).pvalue
    const m = mcnemar(500_100, 499_900);
    expect(m.exactTwoSided).toBeCloseTo(0.8422627570516166, 10);
    expect(m.oneSidedWorse).toBeCloseTo(0.4211313785258083, 10);
    expect(m.midP).toBeCloseTo(0.4207403359218208, 10);
    expect(m.pChi2cc).toBeCloseTo(0.8422627445931308, 12);
    // b, c = 498000, 502000: mcnemar(T, exact=True).pvalue, st.binom.cdf(b, 10**6, .5)
    const f = mcnemar(498_000, 502_000);
    expect(f.exactTwoSided / 6.3609337500788e-5 - 1).toBeLessThan(1e-9);
    expect(f.oneSidedWorse).toBeCloseTo(0.9999684629880654, 12); // st.binom.sf(497999, 10**6, .5)
  });

  it('rejects impossible counts', () => {
    expect(() => mcnemar(-1, 2)).toThrow(/b must be/);
    expect(() => mcnemar(1, 2.5)).toThrow(/c must be/);
  });
});

// Tango references: scipy root-finding on the STATS.md formula, in python:
//   import numpy as np; from scipy.optimize import brentq; from scipy.stats import norm
//   def z(b, c, n, d0):
//       A = 2*n; B = -b - c + (2*n - c + b)*d0; C = -b*d0*(1 - d0)
//       p = (-B + np.sqrt(B*B - 4*A*C))/(2*A)
//       return (c - b - n*d0)/np.sqrt(n*(2*p + d0*(1 - d0)))
//   def tango(b, c, n, conf=0.95):
//       zc = norm.ppf(1 - (1 - conf)/2); d = (c - b)/n; e = 1e-12
//       lo = brentq(lambda x: z(b, c, n, x) - zc, -1 + e, d - e, xtol=1e-15, rtol=1e-15) \
//           if z(b, c, n, -1 + e) > zc else -1.0
//       hi = brentq(lambda x: z(b, c, n, x) + zc, d + e, 1 - e, xtol=1e-15, rtol=1e-15) \
//           if z(b, c, n, 1 - e) < -zc else 1.0
//       return lo, hi
// p̃ was also checked against a numerical maximisation of the constrained likelihood
// b·ln p + c·ln(p + Δ₀) + (n − b − c)·ln(1 − 2p − Δ₀) (scipy minimize_scalar): equal to 1e-9.
describe('tangoInterval', () => {
  it('matches root-finding on the STATS.md formula', () => {
    const cases: [number, number, number, number, number][] = [
      [1, 7, 21, 0.026003032480868545, 0.5172322764213773], // tango(1, 7, 21)
      [40, 20, 160, -0.21806424416682482, -0.030864533133086725], // tango(40, 20, 160)
      [3, 10, 50, -0.0014977421484242332, 0.2854749222624601], // tango(3, 10, 50)
      [12, 30, 200, 0.027641709436084797, 0.15508205324273558], // tango(12, 30, 200)
      [2, 3, 1000, -0.004580381309732797, 0.0070058430607948695], // tango(2, 3, 1000)
    ];
    for (const [b, c, n, lo, hi] of cases) {
      const t = tangoInterval(b, c, n);
      expect(t.delta).toBeCloseTo((c - b) / n, 15);
      expect(t.lo).toBeCloseTo(lo, 10);
      expect(t.hi).toBeCloseTo(hi, 10);
    }
    // tango(3, 10, 50, 0.9)
    const t90 = tangoInterval(3, 10, 50, 0.9);
    expect(t90.lo).toBeCloseTo(0.02338059195823388, 10);
    expect(t90.hi).toBeCloseTo(0.26074496362711647, 10);
  });

  it('b = c = 0: symmetric, ±z²/(n + z²), no NaN', () => {
    // tango(0, 0, 20) = (-0.16112515805281938, 0.16112515805281935); by hand: with b = c = 0,
    // p̃ = max(0, −Δ₀) and z² = nΔ₀/(1 − Δ₀), so the bound is z²/(n + z²) = 3.841459/23.841459.
    const t = tangoInterval(0, 0, 20);
    expect(t.delta).toBe(0);
    expect(t.lo).toBeCloseTo(-0.16112515805281938, 10);
    expect(t.hi).toBeCloseTo(0.16112515805281935, 10);
  });

  it('all pairs discordant one way: the bound at ±1 is exact', () => {
    // tango(0, 10, 10) = (0.4449344002742216, 1.0); tango(5, 0, 5) = (-1.0, -0.1310350704336504)
    const up = tangoInterval(0, 10, 10);
    expect(up.delta).toBe(1);
    expect(up.lo).toBeCloseTo(0.4449344002742216, 10);
    expect(up.hi).toBe(1);
    const down = tangoInterval(5, 0, 5);
    expect(down.lo).toBe(-1);
    expect(down.hi).toBeCloseTo(-0.1310350704336504, 10);
    // n = 1 with one concordant pair: the b = c = 0 bound z²/(1 + z²),
    // z = norm.ppf(0.975); z*z/(1 + z*z) = 0.7934506856227626
    const one = tangoInterval(0, 0, 1);
    expect(one.lo).toBeCloseTo(-0.7934506856227626, 10);
    expect(one.hi).toBeCloseTo(0.7934506856227626, 10);
  });

  it('every table up to n = 12 gives a finite interval around the estimate', () => {
    for (let n = 1; n <= 12; n++) {
      for (let b = 0; b <= n; b++) {
        for (let c = 0; b + c <= n; c++) {
          const t = tangoInterval(b, c, n);
          expect(Number.isFinite(t.lo) && Number.isFinite(t.hi)).toBe(true);
          expect(t.lo).toBeGreaterThanOrEqual(-1);
          expect(t.hi).toBeLessThanOrEqual(1);
          expect(t.lo).toBeLessThanOrEqual(t.delta);
          expect(t.hi).toBeGreaterThanOrEqual(t.delta);
          expect(t.hi - t.lo).toBeGreaterThan(0);
        }
      }
    }
  });

  it('the interval is where |z| ≤ z_crit', () => {
    for (const [b, c, n] of [
      [3, 10, 50],
      [12, 30, 200],
      [0, 4, 9],
    ] as const) {
      const t = tangoInterval(b, c, n);
      if (t.lo > -1) expect(tangoZ(b, c, n, t.lo)).toBeCloseTo(1.959963984540054, 9);
      if (t.hi < 1) expect(tangoZ(b, c, n, t.hi)).toBeCloseTo(-1.959963984540054, 9);
    }
  });
});

describe('tangoZ', () => {
  it('matches the STATS.md formula', () => {
    expect(tangoZ(3, 10, 50, 0)).toBeCloseTo(1.9414506867883021, 12); // z(3, 10, 50, 0.0)
    expect(tangoZ(3, 10, 50, -0.03)).toBeCloseTo(2.301985080074959, 12); // z(3, 10, 50, -0.03)
    expect(tangoZ(12, 30, 200, -0.03)).toBeCloseTo(3.604059141205447, 12); // z(12, 30, 200, -0.03)
    expect(tangoZ(12, 30, 200, 0.2)).toBeCloseTo(-3.1949028604280767, 12); // z(12, 30, 200, 0.2)
  });

  it('non-inferiority p = 1 − Φ(z(−m))', () => {
    // 1 - norm.cdf(2.301985080074959), norm.sf(3.604059141205447)
    expect(1 - normalCdf(tangoZ(3, 10, 50, -0.03))).toBeCloseTo(0.010668006792631135, 12);
    expect(normalCdf(-tangoZ(12, 30, 200, -0.03))).toBeCloseTo(0.00015664286023474446, 12);
  });

  it('takes limits where the variance vanishes', () => {
    expect(tangoZ(0, 0, 20, 0)).toBe(0);
    expect(tangoZ(0, 10, 10, 1)).toBe(0);
    expect(tangoZ(3, 4, 10, 1)).toBe(Number.NEGATIVE_INFINITY);
    expect(tangoZ(3, 4, 10, -1)).toBe(Number.POSITIVE_INFINITY);
    expect(() => tangoZ(6, 6, 10, 0)).toThrow(/exceeds n/);
    expect(() => tangoZ(1, 1, 10, 1.5)).toThrow(/delta0/);
  });
});

const D = [0.1, -0.3, 0.25, -0.05, -0.4, 0.0, -0.15, 0.2, -0.35, -0.1];

describe('pairedT', () => {
  it('matches scipy.stats.ttest_1samp', () => {
    // r = st.ttest_1samp(D, 0): np.mean(D), np.std(D, ddof=1), r.statistic, r.pvalue, r.df,
    // st.ttest_1samp(D, 0, alternative='less').pvalue, r.confidence_interval(0.95)
    const r = pairedT(D);
    expect(r.n).toBe(10);
    expect(r.df).toBe(9);
    expect(r.mean).toBeCloseTo(-0.08, 12);
    expect(r.sd).toBeCloseTo(0.2250925735484551, 12);
    expect(r.t).toBeCloseTo(-1.1239029738980324, 12);
    expect(r.pTwoSided).toBeCloseTo(0.2901367728647106, 12);
    expect(r.pOneSidedLess).toBeCloseTo(0.1450683864323553, 12);
    expect(r.lo).toBeCloseTo(-0.24102152697059712, 10);
    expect(r.hi).toBeCloseTo(0.08102152697059714, 10);
  });

  it('all-equal differences: no NaN', () => {
    const zero = pairedT([0, 0, 0, 0]);
    expect(zero).toMatchObject({
      mean: 0,
      sd: 0,
      se: 0,
      t: 0,
      pTwoSided: 1,
      pOneSidedLess: 0.5,
      lo: 0,
      hi: 0,
    });
    const worse = pairedT([-0.5, -0.5, -0.5]);
    expect(worse).toMatchObject({ t: Number.NEGATIVE_INFINITY, pTwoSided: 0, pOneSidedLess: 0 });
    expect(worse.lo).toBe(-0.5);
    expect(pairedT([1, 1]).pOneSidedLess).toBe(1);
  });

  it('n < 2 has no test', () => {
    const one = pairedT([0.3]);
    expect(one.mean).toBe(0.3);
    expect(one.t).toBeNaN();
    expect(one.pTwoSided).toBeNaN();
    expect(pairedT([]).mean).toBeNaN();
  });
});

describe('pairedTClustered', () => {
  it('matches statsmodels OLS with cluster-robust SE and C − 1 df', () => {
    // g = [1, 1, 2, 2, 2, 3, 4, 4, 5, 5]
    // r = sm.OLS(D, np.ones(10)).fit(cov_type='cluster', cov_kwds={'groups': g}, use_t=True)
    // r.params[0], r.bse[0], r.tvalues[0], r.pvalues[0], r.conf_int(0.05)[0], r.df_resid_inference,
    // st.t.cdf(r.tvalues[0], 4)
    const g = [1, 1, 2, 2, 2, 3, 4, 4, 5, 5];
    const r = pairedTClustered(D, g);
    expect(r.clusters).toBe(5);
    expect(r.df).toBe(4);
    expect(r.mean).toBeCloseTo(-0.08, 12);
    expect(r.sd).toBeCloseTo(0.2250925735484551, 12);
    expect(r.se).toBeCloseTo(0.04150301193889425, 12);
    expect(r.t).toBeCloseTo(-1.9275709463637394, 12);
    expect(r.pTwoSided).toBeCloseTo(0.1261674213122754, 12);
    expect(r.pOneSidedLess).toBeCloseTo(0.0630837106561377, 12);
    expect(r.lo).toBeCloseTo(-0.1952308343487085, 10);
    expect(r.hi).toBeCloseTo(0.03523083434870855, 10);
  });

  it('one cluster: NaN test', () => {
    const r = pairedTClustered([1, 2, 3], ['a', 'a', 'a']);
    expect(r.clusters).toBe(1);
    expect(r.t).toBeNaN();
    expect(r.lo).toBeNaN();
  });
});

// Bootstrap references: the mulberry32 index stream ported to python, the bootstrap distribution
// computed with numpy, and scipy's own BCa step (the function scipy.stats.bootstrap calls):
//   import numpy as np, scipy.stats as st
//   from scipy.stats._resampling import _bca_interval
//   from scipy._lib._array_api import array_namespace
//   M = 0xFFFFFFFF
//   def mulberry32(seed):  # yields the uint32 k; u = k/2^32
//       a = seed & M
//       while True:
//           a = (a + 0x6D2B79F5) & M
//           t = ((a ^ (a >> 15)) * (1 | a)) & M
//           t = ((t + (((t ^ (t >> 7)) * (61 | t)) & M)) & M) ^ t
//           yield (t ^ (t >> 14)) & M
//   def boot(a, b, stat, B, seed, conf=0.95):
//       a = np.asarray(a, float); b = np.asarray(b, float); n = len(a); g = mulberry32(seed)
//       idx = np.array([[(next(g) * n) >> 32 for _ in range(n)] for _ in range(B)])  # floor(u*n)
//       f = {'mean-diff': lambda i, axis=-1: b[i].mean(axis) - a[i].mean(axis),
//            'median-diff': lambda i, axis=-1: np.median(b[i], axis) - np.median(a[i], axis),
//            'ratio-of-means': lambda i, axis=-1: b[i].mean(axis) / a[i].mean(axis)}[stat]
//       th = f(idx); al = (1 - conf) / 2; e = f(np.arange(n))
//       th[np.abs(th - e) <= 1e-9 * (th.max() - th.min() + abs(e))] = e  # rounding-level misses are ties
//       a1, a2, _ = _bca_interval((np.arange(n),), f, -1, al, th, None, array_namespace(th))
//       return e, st.quantile(th, [al, 1 - al]), st.quantile(th, [float(a1), float(a2)])
describe('pairedBootstrap', () => {
  const A = [1.2, 0.8, 2.5, 3.1, 0.4, 1.9, 2.2, 0.7, 5.6, 1.1, 0.9, 3.3, 2.0, 1.4, 0.6];
  const B = [1.0, 1.1, 2.9, 2.6, 0.9, 2.4, 2.0, 1.5, 7.9, 1.0, 1.6, 3.0, 2.8, 1.3, 1.2];

  it('mulberry32 matches the reference stream', () => {
    // g = mulberry32(1); [next(g) for _ in range(3)]
    const r = mulberry32(1);
    expect([r(), r(), r()].map((u) => u * 2 ** 32)).toEqual([2693262067, 11749833, 2265367787]);
  });

  it('mean-diff matches scipy BCa on the same resamples', () => {
    // boot(A, B, 'mean-diff', 2000, 12345)
    const r = pairedBootstrap(A, B, { resamples: 2000, seed: 12345 });
    expect(r).toMatchObject({ resamples: 2000, seed: 12345, statistic: 'mean-diff' });
    expect(r.estimate).toBeCloseTo(0.3666666666666667, 12);
    expect(r.percentile.lo).toBeCloseTo(0.06666666666666687, 9);
    expect(r.percentile.hi).toBeCloseTo(0.7733333333333334, 9);
    expect(r.bca.lo).toBeCloseTo(0.10666666666666669, 9);
    expect(r.bca.hi).toBeCloseTo(0.8466666666666669, 9);
  });

  it('median-diff and ratio-of-means match scipy BCa on the same resamples', () => {
    // boot(A, B, 'median-diff', 2000, 12345)
    const m = pairedBootstrap(A, B, { resamples: 2000, seed: 12345, statistic: 'median-diff' });
    expect(m.estimate).toBeCloseTo(0.2, 12);
    expect(m.percentile.lo).toBeCloseTo(-0.2, 9);
    expect(m.percentile.hi).toBeCloseTo(0.7, 9);
    expect(m.bca.lo).toBeCloseTo(-0.2, 9);
    expect(m.bca.hi).toBeCloseTo(0.7, 9);
    // Even n (medians average the middle two): boot(A + [2.05], B + [2.45], 'median-diff', 1000, 77)
    const e = pairedBootstrap([...A, 2.05], [...B, 2.45], {
      resamples: 1000,
      seed: 77,
      statistic: 'median-diff',
    });
    expect(e.estimate).toBeCloseTo(0.15000000000000013, 12);
    expect(e.percentile.lo).toBeCloseTo(-0.09999999999999987, 9);
    expect(e.percentile.hi).toBeCloseTo(0.6499999999999997, 9);
    expect(e.bca.lo).toBeCloseTo(-0.20000000000000018, 9);
    expect(e.bca.hi).toBeCloseTo(0.4500000000000002, 9);
    // boot(A, B, 'ratio-of-means', 2000, 12345)
    const q = pairedBootstrap(A, B, { resamples: 2000, seed: 12345, statistic: 'ratio-of-means' });
    expect(q.estimate).toBeCloseTo(1.1985559566787003, 12);
    expect(q.percentile.lo).toBeCloseTo(1.0388992816521998, 9);
    expect(q.percentile.hi).toBeCloseTo(1.3742412582106702, 9);
    expect(q.bca.lo).toBeCloseTo(1.0368954931839158, 9);
    expect(q.bca.hi).toBeCloseTo(1.3721633301173328, 9);
  });

  it('reproduces exactly with the same seed and differs with another', () => {
    const x = pairedBootstrap(A, B, { resamples: 500, seed: 7 });
    expect(pairedBootstrap(A, B, { resamples: 500, seed: 7 })).toEqual(x);
    expect(pairedBootstrap(A, B, { resamples: 500, seed: 8 }).percentile).not.toEqual(x.percentile);
  });

  it('a constant difference gives a degenerate interval', () => {
    const a = [1, 2, 3, 4, 5, 6];
    const b = a.map((v) => v + 0.25);
    const r = pairedBootstrap(a, b, { resamples: 1000, seed: 3 });
    expect(r.estimate).toBeCloseTo(0.25, 12);
    expect(r.percentile.lo).toBeCloseTo(0.25, 12);
    expect(r.percentile.hi).toBeCloseTo(0.25, 12);
    expect(r.bca.lo).toBeCloseTo(0.25, 12);
    expect(r.bca.hi).toBeCloseTo(0.25, 12);
    const one = pairedBootstrap([2], [3], { resamples: 100, seed: 1 });
    expect(one).toMatchObject({ estimate: 1, percentile: { lo: 1, hi: 1 }, bca: { lo: 1, hi: 1 } });
    const med = pairedBootstrap([1, 1, 1], [2, 2, 2], { resamples: 100, statistic: 'median-diff' });
    expect(med).toMatchObject({ estimate: 1, percentile: { lo: 1, hi: 1 }, bca: { lo: 1, hi: 1 } });
  });

  it('large n: the percentile interval is close to mean ± 1.96·sd/√n', () => {
    const rand = mulberry32(99);
    const n = 4000;
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      const base = rand();
      a.push(base);
      b.push(base + 0.05 + (rand() - 0.5)); // d uniform on [−0.45, 0.55]
    }
    const r = pairedBootstrap(a, b, { resamples: 10_000, seed: 2024 });
    const t = pairedT(b.map((v, i) => v - a[i]!));
    const half = t.hi - t.mean; // 1.96·sd/√n (t ≈ z at df 3999)
    expect(Math.abs(r.percentile.lo - t.lo)).toBeLessThan(0.05 * half);
    expect(Math.abs(r.percentile.hi - t.hi)).toBeLessThan(0.05 * half);
    expect(Math.abs(r.bca.lo - t.lo)).toBeLessThan(0.05 * half);
    expect(Math.abs(r.bca.hi - t.hi)).toBeLessThan(0.05 * half);
  });

  it('validates its input', () => {
    expect(() => pairedBootstrap([1, 2], [1])).toThrow(/differ in length/);
    expect(() => pairedBootstrap([1], [1], { seed: -1 })).toThrow(/seed/);
    expect(() => pairedBootstrap([1], [1], { resamples: 0 })).toThrow(/resamples/);
    expect(pairedBootstrap([], []).estimate).toBeNaN();
  });
});

describe('wilcoxonSignedRank', () => {
  // w = st.wilcoxon(d, zero_method='wilcox', correction=True, method='approx'):
  // w.statistic = min(W+, W−), w.pvalue, w.zstatistic (scipy reports −|z|)
  it('matches scipy (a zero dropped, no ties)', () => {
    const r = wilcoxonSignedRank(D);
    expect(r.n).toBe(9);
    expect(r.wPlus).toBe(13.5); // ranks of 0.1, 0.25, 0.2 with the 0.1/−0.1 tie averaged
    expect(r.wMinus).toBe(31.5);
    expect(Math.min(r.wPlus, r.wMinus)).toBe(13.5); // w.statistic
    expect(r.z).toBeCloseTo(-1.0078775834388787, 12); // w.zstatistic
    expect(r.pTwoSided).toBeCloseTo(0.3135132343764383, 12); // w.pvalue
  });

  it('matches scipy with heavy ties and zeros', () => {
    // d = [1, 1, -1, 2, 2, 2, -3, 0, 0, 4, -1, 1]: statistic 15.0, p 0.21398839586682306,
    // z −1.2426728953883945; W+ = 55 − 15 = 40 is the larger sum, so our z is +1.2426…
    const r = wilcoxonSignedRank([1, 1, -1, 2, 2, 2, -3, 0, 0, 4, -1, 1]);
    expect(r.n).toBe(10);
    expect(r.wMinus).toBe(15);
    expect(r.wPlus).toBe(40);
    expect(r.z).toBeCloseTo(1.2426728953883945, 12);
    expect(r.pTwoSided).toBeCloseTo(0.21398839586682306, 12);
  });

  it('all negative; a single difference; only zeros', () => {
    // d = [-1, -2, -3, -4, -5, -6]: statistic 0.0, p 0.036031686218233584, z −2.0965696734438364
    const r = wilcoxonSignedRank([-1, -2, -3, -4, -5, -6]);
    expect(r.wPlus).toBe(0);
    expect(r.z).toBeCloseTo(-2.0965696734438364, 12);
    expect(r.pTwoSided).toBeCloseTo(0.036031686218233584, 12);
    // d = [0.5]: p 1.0, z −0.0
    expect(wilcoxonSignedRank([0.5])).toMatchObject({ n: 1, wPlus: 1, wMinus: 0, z: 0, pTwoSided: 1 });
    expect(wilcoxonSignedRank([0, 0, 0])).toEqual({ n: 0, wPlus: 0, wMinus: 0, z: 0, pTwoSided: 1 });
  });
});

describe('holm and benjaminiHochberg', () => {
  const p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04];

  it('match statsmodels multipletests in the input order', () => {
    // multipletests(p, method='holm')[1]
    const h = holm(p);
    expect(h).toEqual([0.05, 0.12, 0.12, 0.03, 0.2, 0.12].map((v) => expect.closeTo(v, 12)));
    // multipletests(p, method='fdr_bh')[1]
    const bh = benjaminiHochberg(p);
    expect(bh).toEqual([0.03, 0.048, 0.048, 0.03, 0.2, 0.048].map((v) => expect.closeTo(v, 12)));
  });

  it('cap at 1 and handle the trivial cases', () => {
    expect(holm([0.5, 0.6, 1])).toEqual([1, 1, 1]);
    // BH by hand: min(1, 3·p_(j)/j) = 1, 0.9, 1; the step-up minimum from the top: 0.9, 0.9, 1
    const close = expect.closeTo(0.9, 12);
    expect(benjaminiHochberg([0.5, 0.6, 1])).toEqual([close, close, 1]);
    expect(holm([0.02])).toEqual([0.02]);
    expect(benjaminiHochberg([0.02])).toEqual([0.02]);
    expect(holm([])).toEqual([]);
    expect(benjaminiHochberg([])).toEqual([]);
    expect(() => holm([0.1, Number.NaN])).toThrow(/p-values/);
    expect(() => benjaminiHochberg([1.2])).toThrow(/p-values/);
  });
});
