import { describe, expect, it } from 'vitest';
import {
  combinedRatio,
  knownAuxiliaryMean,
  pooledSkewness,
  scaleEstimate,
  stratifiedBootstrap,
  stratifiedCost,
  stratifiedMean,
  stratifiedPassRate,
  type StratumValues,
  wilsonAt,
} from '../../results/stats/projection.js';
import { studentTQuantile, wilson } from '../../results/stats/stats.js';

// Expected values: worked by hand where small (shown), else computed with an independent
// straightforward numpy/scipy 1.17.1 script (python 3.11) that implements SEQUENTIAL.md §2 literally:
//   W = N_h/ΣN; mean = Σ W·mean(y_h); g_h = W²·(1 − n_h/N_h)·var(y_h, ddof=1)/n_h; v = Σ g_h;
//   df = v²/Σ(g_h²/(n_h − 1)); CI = mean ± scipy.stats.t.ppf(0.975, df)·√v.

const COSTS: StratumValues[] = [
  { key: 'a', N: 6000, y: [0.012, 0.01, 0.015, 0.011, 0.013], x: [120, 100, 150, 110, 130] },
  { key: 'b', N: 3000, y: [0.03, 0.028, 0.035, 0.031], x: [300, 270, 360, 310] },
  { key: 'c', N: 1000, y: [0.1, 0.08, 0.12], x: [1000, 790, 1230] },
];

describe('stratified mean', () => {
  it('matches a hand computation (two strata, FPC)', () => {
    // A: N 100, y 1, 3 (mean 2, s² 2); B: N 300, y 2, 4, 6 (mean 4, s² 4). W = .25, .75.
    // ȳ = .25·2 + .75·4 = 3.5. g_A = .0625·(1 − 2/100)·2/2 = .06125; g_B = .5625·(1 − 3/300)·4/3 = .7425.
    // v = .80375; df = .80375²/(.06125²/1 + .7425²/2) = .6460140625/.2794046875 = 2.312108...
    const e = stratifiedMean(
      [
        { key: 'A', N: 100, y: [1, 3] },
        { key: 'B', N: 300, y: [2, 4, 6] },
      ],
      { fpc: true },
    );
    expect(e.estimate).toBeCloseTo(3.5, 12);
    expect(e.v).toBeCloseTo(0.80375, 12);
    expect(e.df).toBeCloseTo(0.6460140625 / 0.2794046875, 10);
    const half = studentTQuantile(0.975, 0.6460140625 / 0.2794046875) * Math.sqrt(0.80375);
    expect(e.lo).toBeCloseTo(3.5 - half, 10);
    expect(e.method).toBe('t');
    expect(e.small).toEqual(['A', 'B']);
  });

  it('matches numpy/scipy with and without the finite-population correction', () => {
    const fpc = stratifiedMean(COSTS, { fpc: true });
    // strat(N, y, fpc=True) → (0.02662, 1.790251333333333e-06, 3.506881066116299, 0.022689744226639455, 0.03055025577336054)
    expect(fpc.estimate).toBeCloseTo(0.02662, 12);
    expect(fpc.v).toBeCloseTo(1.790251333333333e-6, 15);
    expect(fpc.df).toBeCloseTo(3.506881066116299, 9);
    expect(fpc.lo).toBeCloseTo(0.022689744226639455, 9);
    expect(fpc.hi).toBeCloseTo(0.03055025577336054, 9);
    const month = stratifiedMean(COSTS, { fpc: false });
    // fpc=False → (…, 1.7947333333333331e-06, 3.5038031799819427, 0.022683221657190146, 0.03055677834280985)
    expect(month.v).toBeCloseTo(1.7947333333333331e-6, 15);
    expect(month.df).toBeCloseTo(3.5038031799819427, 9);
    expect(month.lo).toBeCloseTo(0.022683221657190146, 9);
    expect(month.hi).toBeCloseTo(0.03055677834280985, 9);
  });

  it('monthly total = V·ȳ_st with variance V²·v (no FPC)', () => {
    const v = 250_000;
    const m = scaleEstimate(stratifiedMean(COSTS, { fpc: false }), v);
    expect(m.estimate).toBeCloseTo(0.02662 * v, 8);
    expect(m.v).toBeCloseTo(1.7947333333333331e-6 * v * v, 6);
    expect(m.lo).toBeCloseTo(0.022683221657190146 * v, 5);
    expect(m.hi).toBeCloseTo(0.03055677834280985 * v, 5);
    // A negative scale (never used for volumes) keeps lo ≤ hi.
    const neg = scaleEstimate(stratifiedMean(COSTS, { fpc: false }), -1);
    expect(neg.lo).toBeLessThan(neg.hi);
  });

  it('pools the variance of a one-prompt stratum and flags it; df counts the pooled df', () => {
    // A [1, 3] s² 2 (1 df), B [2, 4, 6] s² 4 (2 df), C one prompt: s²_pool = (1·2 + 2·4)/3 = 10/3 on 3 df.
    // numpy: mean 3.8, v 0.6464, df 3.474639956571257, CI [1.4281452239303998, 6.171854776069599]
    const e = stratifiedMean(
      [
        { key: 'A', N: 100, y: [1, 3] },
        { key: 'B', N: 300, y: [2, 4, 6] },
        { key: 'C', N: 100, y: [5] },
      ],
      { fpc: true },
    );
    expect(e.estimate).toBeCloseTo(3.8, 12);
    expect(e.v).toBeCloseTo(0.6464, 12);
    expect(e.df).toBeCloseTo(3.474639956571257, 9);
    expect(e.lo).toBeCloseTo(1.4281452239303998, 9);
    expect(e.hi).toBeCloseTo(6.171854776069599, 9);
    expect(e.pooled).toEqual(['C']);
  });

  it('reports strata without a sampled prompt as uncovered and renormalises over the rest', () => {
    // C (share 100/500 = 0.2) is uncovered: the estimate is the two-strata one above, 3.5.
    const e = stratifiedMean(
      [
        { key: 'A', N: 100, y: [1, 3] },
        { key: 'B', N: 300, y: [2, 4, 6] },
        { key: 'C', N: 100, y: [] },
      ],
      { fpc: true },
    );
    expect(e.uncovered).toEqual([{ key: 'C', share: 0.2 }]);
    expect(e.uncoveredShare).toBeCloseTo(0.2, 12);
    expect(e.estimate).toBeCloseTo(3.5, 12);
    expect(e.v).toBeCloseTo(0.80375, 12);
  });

  it('is undefined without any variance estimate, and a point when every stratum is constant', () => {
    const one = stratifiedMean(
      [
        { key: 'A', N: 10, y: [1] },
        { key: 'B', N: 10, y: [3] },
      ],
      { fpc: false },
    );
    expect(one.estimate).toBe(2);
    expect(one.lo).toBeNaN();
    const flat = stratifiedMean([{ key: 'A', N: 10, y: [2, 2, 2] }], { fpc: false });
    expect([flat.lo, flat.estimate, flat.hi]).toEqual([2, 2, 2]);
    expect(() => stratifiedMean([], { fpc: false })).toThrow(/at least one stratum/);
    expect(() => stratifiedMean([{ key: 'A', N: 1, y: [1, 2] }], { fpc: true })).toThrow(
      /2 sampled of N = 1/,
    );
  });
});

describe('pass rate at the production mix', () => {
  it('wilsonAt equals the ordinary Wilson interval at whole counts', () => {
    // wilson(k, n) is itself tested against statsmodels' proportion_confint(method='wilson').
    for (const [k, n] of [
      [7, 20],
      [0, 12],
      [12, 12],
      [431, 500],
    ] as const) {
      const w = wilsonAt(k / n, n);
      const ref = wilson(k, n);
      expect(w.lo).toBeCloseTo(ref.lo, 12);
      expect(w.hi).toBeCloseTo(ref.hi, 12);
    }
    // The textbook value for 7/20: [0.1812, 0.5671].
    expect(wilsonAt(0.35, 20).lo).toBeCloseTo(0.18121, 4);
  });

  it('uses Wilson at n_eff = p(1 − p)/v (numpy)', () => {
    // N 5000/3000/2000, passes 18/20, 12/20, 5/10: p 0.73, v 0.0034142923976608194,
    // n_eff 57.72792047190687, Wilson [0.6038308706567358, 0.82746864416992]
    const flags = (k: number, n: number) => Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
    const e = stratifiedPassRate(
      [
        { key: 'a', N: 5000, y: flags(18, 20) },
        { key: 'b', N: 3000, y: flags(12, 20) },
        { key: 'c', N: 2000, y: flags(5, 10) },
      ],
      { fpc: true },
    );
    expect(e.estimate).toBeCloseTo(0.73, 12);
    expect(e.v).toBeCloseTo(0.0034142923976608194, 14);
    expect(e.nEff).toBeCloseTo(57.72792047190687, 8);
    expect(e.lo).toBeCloseTo(0.6038308706567358, 10);
    expect(e.hi).toBeCloseTo(0.82746864416992, 10);
    expect(e.method).toBe('wilson-neff');
  });

  it('falls back to n_eff = Σ n_h when every stratum passed everything', () => {
    const e = stratifiedPassRate(
      [
        { key: 'a', N: 50, y: [1, 1, 1] },
        { key: 'b', N: 50, y: [1, 1] },
      ],
      { fpc: false },
    );
    expect(e.nEff).toBe(5);
    expect(e.hi).toBe(1);
    expect(e.lo).toBeCloseTo(wilson(5, 5).lo, 12);
  });
});

describe('ratio estimators', () => {
  it('combined ratio (cost per input token here) matches numpy, z interval', () => {
    // R = ȳ_st/x̄_st; e = y − R·x; v(R) = v(e)/x̄_st². FPC: R 9.975018735948037e-05,
    // v 3.976794528908314e-13, CI [9.851419818391439e-05, 0.00010098617653504636]
    const r = combinedRatio(COSTS, { fpc: true });
    expect(r.estimate).toBeCloseTo(9.975018735948037e-5, 15);
    expect(r.v / 3.976794528908314e-13).toBeCloseTo(1, 9);
    expect(r.lo).toBeCloseTo(9.851419818391439e-5, 13);
    expect(r.hi).toBeCloseTo(0.00010098617653504636, 13);
    expect(r.method).toBe('z');
  });

  it('known auxiliary mean X̄·R̂ with variance v(e) matches numpy', () => {
    // X̄ = 400 tokens/request, no FPC: 0.03990007494379215, v(e) 2.838256570707951e-08,
    // CI [0.039569877340243316, 0.04023027254734098]
    const k = knownAuxiliaryMean(COSTS, 400, { fpc: false });
    expect(k.estimate).toBeCloseTo(0.03990007494379215, 14);
    expect(k.v / 2.838256570707951e-8).toBeCloseTo(1, 9);
    expect(k.lo).toBeCloseTo(0.039569877340243316, 12);
    expect(k.hi).toBeCloseTo(0.04023027254734098, 12);
    // Much tighter than the plain stratified mean of the same costs.
    const plain = stratifiedMean(COSTS, { fpc: false });
    expect(k.hi - k.lo).toBeLessThan((plain.hi - plain.lo) / 5);
  });
});

describe('within-stratum bootstrap for skewed costs at small df', () => {
  const skewed: StratumValues[] = [
    { key: 'a', N: 1000, y: [0.01, 0.011, 0.012, 0.01, 0.2] },
    { key: 'b', N: 500, y: [0.02, 0.021, 0.5, 0.022] },
  ];

  it('is reproducible by seed, asymmetric for a long tail, and needs n_h ≥ 2', () => {
    const t = stratifiedMean(skewed, { fpc: false });
    const a = stratifiedBootstrap(skewed, { fpc: false, resamples: 4000, seed: 7 });
    const b = stratifiedBootstrap(skewed, { fpc: false, resamples: 4000, seed: 7 });
    expect(a).toEqual(b);
    // The 95% percentile interval of a mean of heavy-tailed strata is asymmetric, unlike t's.
    expect(a!.hi - t.estimate).toBeGreaterThan(t.estimate - a!.lo);
    expect(
      stratifiedBootstrap([{ key: 'a', N: 9, y: [1] }], { fpc: false, resamples: 10, seed: 1 }),
    ).toBeNull();
  });

  it('has the stratified variance as its variance (Rao–Wu with m_h = n_h − 1)', () => {
    // Var(ȳ*_h) = ((n_h − 1)/n_h)·s_h²/(n_h − 1) = s_h²/n_h exactly; checked by simulation to 3%.
    const strata: StratumValues[] = [
      { key: 'a', N: 100, y: [1, 2, 4, 8] },
      { key: 'b', N: 300, y: [3, 5, 7] },
    ];
    const t = stratifiedMean(strata, { fpc: false });
    const boot = stratifiedBootstrap(strata, { fpc: false, resamples: 40_000, seed: 3 })!;
    // A near-normal bootstrap distribution puts its 2.5% and 97.5% points near ȳ ± 1.96·√v.
    const implied = ((boot.hi - boot.lo) / (2 * 1.959964)) ** 2;
    expect(implied / t.v).toBeGreaterThan(0.9);
    expect(implied / t.v).toBeLessThan(1.1);
  });

  it('replaces the t interval only for skewed values at df < 10', () => {
    expect(pooledSkewness(skewed)).toBeGreaterThan(1);
    const cost = stratifiedCost(skewed, { fpc: false, seed: 1, resamples: 2000 });
    expect(cost.method).toBe('bootstrap');
    expect(cost.estimate).toBeCloseTo(stratifiedMean(skewed, { fpc: false }).estimate, 14);
    // Symmetric values keep the t interval.
    expect(stratifiedCost(COSTS, { fpc: false }).method).toBe('t');
    // pooledSkewness by hand: one stratum [0, 0, 3]: deviations −1, −1, 2; m2 = 6/3 = 2, m3 = 6/3 = 2;
    // g1 = 2/2^1.5 = 0.7071.
    expect(pooledSkewness([{ key: 'x', N: 10, y: [0, 0, 3] }])).toBeCloseTo(1 / Math.SQRT2, 12);
  });
});
