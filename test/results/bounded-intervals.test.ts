/**
 * Mean-score intervals stay inside [0, 1] and Δ intervals inside [−1, 1]: the t interval is clipped
 * to the parameter space (coverage unchanged, since the true value always lies there); NaN stays NaN.
 *
 * Unclipped intervals from scipy 1.17.1:
 *   scipy.stats.t.interval(0.95, n - 1, loc=mean(x), scale=scipy.stats.sem(x))
 *   x = [1, 1, 1, 1, 0.5]  → (0.622355489480221, 1.17764451051978)   mean 0.9
 *   x = [0, 0, 0, 0, 0.5]  → (−0.177644510519779, 0.377644510519779) mean 0.1
 *   d = [1, 1, 1, 1, 0]    → (0.24471097896044136, 1.3552890210395587) mean 0.8
 *   d = [1, 1, −1]         → (−2.53510181983297, 3.20176848649964)    mean 1/3
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildComparison } from '../../results/compare/compare.js';
import { renderReport } from '../../results/render/report-text.js';
import { buildReport } from '../../results/report/build.js';
import { buildTrend } from '../../results/report/trend.js';
import { armFigures, type Outcomes, singleArm } from '../../results/route/metrics.js';
import { clipInterval } from '../../results/stats/stats.js';
import { Store } from '../../results/store/store.js';
import { addRecords, call, newRun, score } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

const HI = [1, 1, 1, 1, 0.5];
const LO = [0, 0, 0, 0, 0.5];
const HI_T = { lo: 0.622355489480221, hi: 1.17764451051978 };
const LO_T = { lo: -0.177644510519779, hi: 0.377644510519779 };

/** Five records tagged task=t; candidate `hi` scores HI, `lo` scores LO, one call each. */
function fiveRecords(): number {
  const run = newRun(store, 1, 5, [
    ['lo', 'model-lo'],
    ['hi', 'model-hi'],
  ]);
  const ids = HI.map((_, i) => `r${i + 1}`);
  addRecords(
    store,
    run,
    ids.map((id) => [id, { task: 't' }]),
  );
  ids.forEach((recordId, i) => {
    store.recordCall(call(run, { recordId, candidate: 'lo' }), [score('s', LO[i]!, LO[i] === 1)]);
    store.recordCall(call(run, { recordId, candidate: 'hi' }), [score('s', HI[i]!, HI[i] === 1)]);
  });
  store.setRunStatus(run, 'finished', '2025-01-01T01:00:00.000Z');
  return run;
}

describe('clipInterval', () => {
  it('clips to the bounds given, keeps what is inside, keeps NaN', () => {
    expect(clipInterval({ mean: 0.9, lo: HI_T.lo, hi: HI_T.hi }, 0, 1)).toEqual({
      mean: 0.9,
      lo: HI_T.lo,
      hi: 1,
    });
    expect(clipInterval({ lo: -2.53510181983297, hi: 3.20176848649964 }, -1, 1)).toEqual({ lo: -1, hi: 1 });
    const nan = clipInterval({ lo: Number.NaN, hi: Number.NaN }, 0, 1);
    expect(Number.isNaN(nan.lo) && Number.isNaN(nan.hi)).toBe(true);
  });
});

describe('report: mean score intervals in [0, 1]', () => {
  it('per candidate and per slice: the t interval clipped at 1 (hi) and at 0 (lo)', () => {
    store = new Store(':memory:');
    const run = fiveRecords();
    const r = buildReport(store, run, { by: 'task' });
    const hi = r.candidates.find((c) => c.candidate === 'hi')!.meanScore;
    const lo = r.candidates.find((c) => c.candidate === 'lo')!.meanScore;
    expect(hi.mean).toBeCloseTo(0.9, 12);
    expect(hi.lo).toBeCloseTo(HI_T.lo, 9);
    expect(hi.hi).toBe(1);
    expect(lo.mean).toBeCloseTo(0.1, 12);
    expect(lo.lo).toBe(0);
    expect(lo.hi).toBeCloseTo(LO_T.hi, 9);
    const slice = r.slices.find((s) => s.value === 't')!;
    const sHi = slice.candidates.find((c) => c.candidate === 'hi')!.meanScore;
    const sLo = slice.candidates.find((c) => c.candidate === 'lo')!.meanScore;
    expect([sHi.lo, sHi.hi]).toEqual([hi.lo, 1]);
    expect([sLo.lo, sLo.hi]).toEqual([0, lo.hi]);
    // The rendered table reads [0.622, 1.000], never 1.178.
    const table = renderReport(r, 'table');
    expect(table).toContain('0.900 [0.622, 1.000]');
    expect(table).toContain('0.100 [0.000, 0.378]');
    expect(table).not.toContain('1.178');
  });

  it('one scored call: the bounds stay NaN (null in JSON)', () => {
    store = new Store(':memory:');
    const run = newRun(store, 1, 1, [['a', 'm']]);
    addRecords(store, run, [['r1', {}]]);
    store.recordCall(call(run, { recordId: 'r1', candidate: 'a' }), [score('s', 1, true)]);
    const m = buildReport(store, run).candidates[0]!.meanScore;
    expect(m.mean).toBe(1);
    expect(Number.isNaN(m.lo) && Number.isNaN(m.hi)).toBe(true);
  });

  it('trend points carry the clipped interval', () => {
    store = new Store(':memory:');
    fiveRecords();
    const t = buildTrend(store, 'nightly');
    const hi = t.candidates.find((c) => c.candidate === 'hi')!.points[0]!.meanScore;
    const lo = t.candidates.find((c) => c.candidate === 'lo')!.points[0]!.meanScore;
    expect(hi.lo).toBeCloseTo(HI_T.lo, 9);
    expect(hi.hi).toBe(1);
    expect(lo.lo).toBe(0);
    expect(lo.hi).toBeCloseTo(LO_T.hi, 9);
  });
});

describe('Δ intervals in [−1, 1], never [0, 1]', () => {
  it('report --baseline: Δ mean score d = [1, 1, 1, 1, 0] → [0.2447, 1.3553] clipped to [0.2447, 1]', () => {
    store = new Store(':memory:');
    const run = fiveRecords();
    const c = buildReport(store, run, { baseline: 'lo' }).comparisons[0]!;
    expect(c.meanScore.delta).toBeCloseTo(0.8, 12);
    expect(c.meanScore.lo).toBeCloseTo(0.24471097896044136, 9);
    expect(c.meanScore.hi).toBe(1);
  });

  it('compare: the score estimate is clipped to [−1, 1]; the t test keeps its own figures', () => {
    store = new Store(':memory:');
    const run = fiveRecords();
    const r = buildComparison(store, { runId: run, candidate: 'lo' }, { runId: run, candidate: 'hi' });
    const s = r.metrics.score!;
    expect(s.estimate.delta).toBeCloseTo(0.8, 12);
    expect(s.estimate.lo).toBeCloseTo(0.24471097896044136, 9);
    expect(s.estimate.hi).toBe(1);
    expect(s.t.hi).toBeCloseTo(1.3552890210395587, 9);
    // A negative lower bound is kept: Δ lives in [−1, 1], not [0, 1].
    const r2 = buildComparison(store, { runId: run, candidate: 'hi' }, { runId: run, candidate: 'lo' });
    expect(r2.metrics.score!.estimate.lo).toBe(-1);
    expect(r2.metrics.score!.estimate.hi).toBeCloseTo(-0.24471097896044136, 9);
  });

  it('repeats: Δ pass share by paired t, d = [1, 1, −1] → [−2.535, 3.202] clipped to [−1, 1]', () => {
    store = new Store(':memory:');
    const run = newRun(store, 2, 3, [
      ['a', 'm'],
      ['b', 'm'],
    ]);
    addRecords(store, run, [
      ['r1', {}],
      ['r2', {}],
      ['r3', {}],
    ]);
    // Pass shares per prompt: a = [0, 0, 1], b = [1, 1, 0] (both repeats alike).
    const passA = [false, false, true];
    passA.forEach((pa, i) => {
      for (const repeat of [0, 1]) {
        const recordId = `r${i + 1}`;
        store.recordCall(call(run, { recordId, candidate: 'a', repeat }), [score('s', pa ? 1 : 0, pa)]);
        store.recordCall(call(run, { recordId, candidate: 'b', repeat }), [score('s', pa ? 0 : 1, !pa)]);
      }
    });
    const rep = buildReport(store, run, { baseline: 'a' }).comparisons[0]!;
    expect(rep.passRate.method).toBe('paired-t');
    expect(rep.passRate.delta).toBeCloseTo(1 / 3, 12);
    expect([rep.passRate.lo, rep.passRate.hi]).toEqual([-1, 1]);
    expect([rep.meanScore.lo, rep.meanScore.hi]).toEqual([-1, 1]);
    const cmp = buildComparison(store, { runId: run, candidate: 'a' }, { runId: run, candidate: 'b' });
    expect(cmp.metrics.pass.test).toBe('paired-t');
    expect([cmp.metrics.pass.estimate.lo, cmp.metrics.pass.estimate.hi]).toEqual([-1, 1]);
    expect(cmp.metrics.pass.t!.lo).toBeCloseTo(-2.53510181983297, 9);
  });
});

describe('route: arm figures', () => {
  it("a single candidate's mean score interval is clipped to [0, 1]", () => {
    const n = HI.length;
    const o: Outcomes = {
      n,
      k: 1,
      names: ['c0'],
      pass: Float64Array.from(HI, (v) => (v === 1 ? 1 : 0)),
      score: Float64Array.from(HI),
      cost: new Float64Array(n).fill(0.001),
      latency: new Float64Array(n).fill(100),
      perPrompt: false,
    };
    const f = armFigures(o, singleArm(o, 0), [0]);
    expect(f.meanScore.mean).toBeCloseTo(0.9, 12);
    expect(f.meanScore.lo).toBeCloseTo(HI_T.lo, 9);
    expect(f.meanScore.hi).toBe(1);
  });
});
