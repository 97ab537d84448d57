/**
 * The e-processes of SEQUENTIAL.md §1 against independently computed wealth paths: a plain
 * product (no logs) written straight from the formulas below, and a 3-step path worked by hand.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../harness/random.js';
import {
  anytimePValues,
  confidenceSequence,
  promptDifference,
  replaySequential,
  SEQUENTIAL_DEFAULTS,
  type SequentialSettings,
  sequentialVerdict,
  startSequential,
  stepSequential,
} from '../results/stats/sequential.js';

/**
 * The reference: E_t(δ, σ) = (G_t + M_t)/2 as plain products, every step's wealth kept.
 * d̄_{t−1} = Σ_{i<t} d_i / t, s²_{t−1} = (1 + Σ_{i<t} (d_i − d̄_i)²)/t, d̄_i = Σ_{j≤i} d_j/(i + 1).
 */
function naivePath(ds: number[], delta: number, sign: 1 | -1, s: SequentialSettings) {
  const out: { G: number; M: number; E: number }[] = [];
  let G = 1;
  let M = 1;
  for (let t = 1; t <= ds.length; t++) {
    const prev = ds.slice(0, t - 1);
    const dbar = prev.reduce((x, y) => x + y, 0) / t;
    let sq = 0;
    for (let i = 1; i <= prev.length; i++) {
      const di = prev.slice(0, i).reduce((x, y) => x + y, 0) / (i + 1);
      sq += (prev[i - 1]! - di) ** 2;
    }
    const s2 = (1 + sq) / t;
    const g = sign * (dbar - delta);
    const cap = s.c / (1 + sign * delta);
    const lg = Math.min(Math.max(g / (s2 + g * g), 0), cap);
    const lm = Math.min(Math.max(s.margin / (s2 + s.margin ** 2), 0), cap);
    G *= 1 + sign * lg * (ds[t - 1]! - delta);
    M *= 1 + sign * lm * (ds[t - 1]! - delta);
    out.push({ G, M, E: (G + M) / 2 });
  }
  return out;
}

const S = SEQUENTIAL_DEFAULTS;

describe('e-process wealth paths', () => {
  it('matches a 3-step path worked by hand (d = 1, 0, −1; α 0.025, m 0.03, c 0.9)', () => {
    // By hand (checked with a 10-line Python loop):
    // t=1: d̄0 = 0, s²0 = 1. FAIL (δ 0, σ −1): g = 0 → λG = 0; λM = .03/1.0009 = .0299730;
    //      x = −1 → G 1, M .9700270, E .9850135. PASS (δ −.03, σ +1): g = .03 → λG = λM = .0299730;
    //      x = 1.03 → G = M = E = 1.0308722. Then d̄1 = 1/2, Σsq = .25.
    // t=2: d̄ = .5, s² = 1.25/2 = .625. FAIL: x = 0 → unchanged. PASS: g = .53 → λG = .53/.9059 =
    //      .585054, λM = .03/.6259 = .047931; x = .03 → G 1.0489657, M 1.0323545. d̄2 = 1/3, Σsq = .361111.
    // t=3: d̄ = 1/3, s² = 1.361111/3 = .453704. FAIL: λM = .03/.454604 = .0659915, x = 1 →
    //      M 1.0340406, E 1.0170203. PASS: λG = .363333/.585715 = .620324, x = −.97 → G .4177874;
    //      λM = .0659915 → M .9662717; E .6920295.
    const ds = [1, 0, -1];
    const fail = [0.9850135, 0.9850135, 1.0170203];
    const pass = [1.0308722, 1.0406601, 0.6920295];
    const st = startSequential(S);
    ds.forEach((d, i) => {
      stepSequential(st, d);
      expect(Math.exp(st.fail.logG)).toBeCloseTo(1, 9);
      expect(Math.exp(Math.log((Math.exp(st.fail.logG) + Math.exp(st.fail.logM)) / 2))).toBeCloseTo(
        fail[i]!,
        6,
      );
      expect((Math.exp(st.pass.logG) + Math.exp(st.pass.logM)) / 2).toBeCloseTo(pass[i]!, 6);
    });
    expect(Math.exp(st.pass.logG)).toBeCloseTo(0.4177874, 6);
    expect(Math.exp(st.fail.logM)).toBeCloseTo(1.0340406, 6);
    // max_{s≤3} E_s: PASS 1.0406601 (t = 2); FAIL 1.0170203 (t = 3).
    expect(Math.exp(st.pass.logMax)).toBeCloseTo(1.0406601, 6);
    expect(Math.exp(st.fail.logMax)).toBeCloseTo(1.0170203, 6);
    const p = anytimePValues(st);
    expect(p.nonInferior).toBeCloseTo(1 / 1.0406601, 6);
    expect(p.worse).toBeCloseTo(1 / 1.0170203, 6);
    expect(st.decided).toBeNull();
    expect(sequentialVerdict(st, false)).toBeNull();
    expect(sequentialVerdict(st, true)).toBe('INCONCLUSIVE');
  });

  it.each([
    ['binary, B worse', 0.1, 0.25, 'binary'],
    ['binary, equal', 0.15, 0.15, 'binary'],
    ['scores in [0, 1]', 0, 0, 'score'],
  ] as const)('follows the plain product step by step: %s', (_, b, c, kind) => {
    const rnd = mulberry32(kind === 'score' ? 7 : Math.round(b * 100 + c * 1000));
    const ds = Array.from({ length: 300 }, () => {
      if (kind === 'score') return Math.round((rnd() - rnd()) * 1000) / 1000;
      const u = rnd();
      return u < b ? -1 : u < b + c ? 1 : 0;
    });
    for (const settings of [S, { alpha: 0.05, margin: 0.05, c: 0.5 }]) {
      const fail = naivePath(ds, 0, -1, settings);
      const pass = naivePath(ds, -settings.margin, 1, settings);
      const st = startSequential(settings);
      let maxF = 1;
      let maxP = 1;
      let stop: { verdict: string; t: number } | null = null;
      ds.forEach((d, i) => {
        stepSequential(st, d);
        const f = fail[i]!;
        const p = pass[i]!;
        expect(st.fail.logG).toBeCloseTo(Math.log(f.G), 9);
        expect(st.fail.logM).toBeCloseTo(Math.log(f.M), 9);
        expect(st.pass.logG).toBeCloseTo(Math.log(p.G), 9);
        expect(st.pass.logM).toBeCloseTo(Math.log(p.M), 9);
        maxF = Math.max(maxF, f.E);
        maxP = Math.max(maxP, p.E);
        expect(st.fail.logMax).toBeCloseTo(Math.log(maxF), 9);
        expect(st.pass.logMax).toBeCloseTo(Math.log(maxP), 9);
        if (!stop && maxF >= 1 / settings.alpha) stop = { verdict: 'FAIL', t: i + 1 };
        if (!stop && maxP >= 1 / settings.alpha) stop = { verdict: 'PASS', t: i + 1 };
      });
      expect(st.decided).toEqual(stop);
      expect(replaySequential(ds, settings)).toEqual(st);
    }
  });

  it('decides FAIL on a clear regression and PASS on a clear improvement', () => {
    const worse = replaySequential(Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? -1 : 0)));
    expect(worse.decided?.verdict).toBe('FAIL');
    expect(sequentialVerdict(worse, false)).toBe('FAIL');
    const better = replaySequential(Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 1 : 0)));
    expect(better.decided?.verdict).toBe('PASS');
    expect(anytimePValues(better).nonInferior).toBeLessThan(0.025);
    expect(anytimePValues(better).worse).toBe(1);
  });

  it('keeps wealth positive and finite at the cap, over long adverse paths', () => {
    // Each factor ≥ 1 − c: after 5,000 adverse pairs log wealth ≥ 5,000·log(0.1), never −∞ or NaN.
    const st = replaySequential(new Array<number>(5000).fill(-1));
    expect(Number.isFinite(st.pass.logG)).toBe(true);
    expect(st.pass.logG).toBeGreaterThanOrEqual(5000 * Math.log(1 - S.c) - 1e-6);
    expect(st.decided?.verdict).toBe('FAIL');
    const up = replaySequential(new Array<number>(5000).fill(1));
    expect(Number.isFinite(up.fail.logM)).toBe(true);
    expect(up.fail.logM).toBeGreaterThanOrEqual(5000 * Math.log(1 - S.c) - 1e-6);
  });

  it('refuses a difference outside [−1, 1] and bad settings', () => {
    expect(() => stepSequential(startSequential(), 1.5)).toThrow(/\[-1, 1\]/);
    expect(() => stepSequential(startSequential(), Number.NaN)).toThrow(/\[-1, 1\]/);
    expect(() => startSequential({ alpha: 0.6, margin: 0.03, c: 0.9 })).toThrow(/alpha/);
    expect(() => startSequential({ alpha: 0.025, margin: 0.03, c: 1 })).toThrow(/c must/);
  });
});

describe('confidence sequence', () => {
  const rnd = mulberry32(11);
  const ds = Array.from({ length: 400 }, (): number => {
    const u = rnd();
    return u < 0.09 ? -1 : u < 0.15 ? 1 : 0;
  });

  it('bounds where the plain-product wealth crosses 1/α', () => {
    const { lo, hi } = confidenceSequence(ds, S);
    const maxE = (delta: number, sign: 1 | -1) =>
      Math.max(1, ...naivePath(ds, delta, sign, S).map((x) => x.E));
    expect(maxE(lo - 1e-6, 1)).toBeGreaterThanOrEqual(40);
    expect(maxE(lo + 1e-6, 1)).toBeLessThan(40);
    expect(maxE(hi + 1e-6, -1)).toBeGreaterThanOrEqual(40);
    expect(maxE(hi - 1e-6, -1)).toBeLessThan(40);
    const mean = ds.reduce((a: number, b: number) => a + b, 0) / ds.length;
    expect(lo).toBeLessThan(mean);
    expect(hi).toBeGreaterThan(mean);
  });

  it('agrees with the decision: PASS ⇔ lo > −m, FAIL ⇔ hi < 0', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = mulberry32(seed);
      const b = 0.02 + r() * 0.2;
      const n = 50 + Math.floor(r() * 400);
      const path = Array.from({ length: n }, () => {
        const u = r();
        return u < b ? -1 : u < 0.22 ? 1 : 0;
      });
      const st = replaySequential(path, S);
      const v = sequentialVerdict(st, true);
      const { lo, hi } = confidenceSequence(path, S);
      expect(hi < 0, `seed ${seed}`).toBe(v === 'FAIL');
      if (v !== 'FAIL') expect(lo > -S.margin, `seed ${seed}`).toBe(v === 'PASS');
    }
  });

  it('is [−1, 1] before any pair', () => {
    const { lo, hi } = confidenceSequence([], S);
    expect(lo).toBeCloseTo(-1, 6);
    expect(hi).toBeCloseTo(1, 6);
  });
});

describe('promptDifference', () => {
  it('averages repeats per side, counts errors (0) and leaves out unscored calls', () => {
    expect(promptDifference([1], [0])).toBe(-1);
    expect(promptDifference([1, 0, 1], [1, 1, 1])).toBeCloseTo(1 / 3, 12);
    expect(promptDifference([1, Number.NaN], [0, 1])).toBe(-0.5);
    expect(promptDifference([Number.NaN], [1])).toBeNull();
    expect(promptDifference([], [1])).toBeNull();
  });
});
