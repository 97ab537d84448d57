import { afterEach, describe, expect, it } from 'vitest';
import { pairedBootstrap } from '../../results/stats/paired.js';
import { bootstrapResamples, buildReport, type Comparison } from '../../results/report/report.js';
import { Store } from '../../results/store/store.js';
import { addRecords, call, newRun, score } from './report-helpers.js';

// Reference values from scipy (scipy.stats.ttest_rel, scipy.stats.binom, and Tango's interval by
// brentq on the score statistic), pasted as literals.

let store: Store;
afterEach(() => store?.close());

const LONG = `first line\n\n   ${'word '.repeat(60)}`;

/**
 * base (A) and cand (B) on 21 prompts p00…p20, one call each; records stored in reverse order
 * (p20 has seq 0), so dataset order differs from id order.
 *   p00–p09 both pass; p10–p14 A passes, B fails (b = 5); p15 A fails, B passes (c = 1);
 *   p16–p19 both fail; p20 A passes, B errored (not a pair).
 * cost A = 0.001·(1 + i), B = 0.0004·(1 + i) + 0.0001·(i mod 3); latency A = 100 + i, B = 150 + 2i.
 * A third candidate, other, never answers; a judge call must be ignored.
 */
function fixture(): number {
  store = new Store(':memory:');
  const runId = newRun(store, 1, 21, [
    ['base', 'model-a'],
    ['cand', 'model-b'],
    ['other', 'model-c'],
  ]);
  const ids = Array.from({ length: 21 }, (_, i) => `p${String(i).padStart(2, '0')}`);
  addRecords(
    store,
    runId,
    [...ids].reverse().map((id, i) => [id, { task: i % 2 === 0 ? 'even' : 'odd' }]),
  );
  ids.forEach((id, i) => {
    const aPass = i < 15 || i === 20;
    const bPass = i < 10 || i === 15;
    store.recordCall(
      call(runId, {
        recordId: id,
        candidate: 'base',
        output: `base answer ${id}`,
        costUsd: 0.001 * (1 + i),
        latencyMs: 100 + i,
      }),
      [score('exact', aPass ? 1 : 0, aPass)],
    );
    if (i === 20) {
      store.recordCall(call(runId, { recordId: id, candidate: 'cand', status: 'error', output: null }), []);
      return;
    }
    store.recordCall(
      call(runId, {
        recordId: id,
        candidate: 'cand',
        output: i === 10 ? LONG : `cand answer ${id}`,
        costUsd: 0.0004 * (1 + i) + 0.0001 * (i % 3),
        latencyMs: 150 + 2 * i,
      }),
      [score('exact', bPass ? 1 : 0, bPass)],
    );
  });
  store.recordCall(call(runId, { role: 'judge', candidate: 'base', recordId: 'p00', costUsd: 1 }), []);
  return runId;
}

function comparison(runId: number, candidate: string): Comparison {
  const c = buildReport(store, runId, { baseline: 'base' }).comparisons.find(
    (x) => x.candidate === candidate,
  );
  if (!c) throw new Error(`no comparison for ${candidate}`);
  return c;
}

describe('buildReport against a baseline', () => {
  it('compares every other candidate, in candidate order', () => {
    const runId = fixture();
    const r = buildReport(store, runId, { baseline: 'base' });
    expect(r.baseline).toBe('base');
    expect(r.comparisons.map((c) => [c.baseline, c.candidate])).toEqual([
      ['base', 'cand'],
      ['base', 'other'],
    ]);
  });

  it('Δ pass rate: Tango interval and McNemar exact p on prompts both answered', () => {
    const c = comparison(fixture(), 'cand');
    expect(c.regressions).toBe(5);
    expect(c.fixes).toBe(1);
    // n = 20 pairs (p20 is out: B errored); Δ = (1 − 5)/20 = −0.2
    expect(c.passRate.method).toBe('mcnemar-tango');
    expect(c.passRate.n).toBe(20);
    expect(c.passRate.delta).toBeCloseTo(-0.2, 12);
    // Tango (scipy brentq on z(Δ₀) = ∓1.959964): [−0.4369082633934925, 0.04912859359484516]
    expect(c.passRate.lo).toBeCloseTo(-0.4369082633934925, 9);
    expect(c.passRate.hi).toBeCloseTo(0.04912859359484516, 9);
    // exact two-sided McNemar: 2·P(X ≤ 1), X ~ Bin(6, ½) = 2 × 7/64
    expect(c.passRate.p).toBeCloseTo(0.21875, 12);
  });

  it('Δ mean score: paired t', () => {
    const c = comparison(fixture(), 'cand');
    // d = B − A over 20 pairs: five −1, one +1, fourteen 0 (scipy.stats.ttest_rel)
    expect(c.meanScore.n).toBe(20);
    expect(c.meanScore.delta).toBeCloseTo(-0.2, 12);
    expect(c.meanScore.lo).toBeCloseTo(-0.44484097094432834, 9);
    expect(c.meanScore.hi).toBeCloseTo(0.04484097094432832, 9);
    expect(c.meanScore.p).toBeCloseTo(0.10360315910662697, 9);
  });

  it('cost ratio: ratio of means, paired bootstrap seed 1 with 10,000 resamples', () => {
    const c = comparison(fixture(), 'cand');
    const a = Array.from({ length: 20 }, (_, i) => 0.001 * (1 + i));
    const b = Array.from({ length: 20 }, (_, i) => 0.0004 * (1 + i) + 0.0001 * (i % 3));
    // Σb/Σa = (0.0004 × 210 + 0.0001 × 19)/(0.001 × 210) = 0.0859/0.21
    expect(c.costRatio?.ratio).toBeCloseTo(0.0859 / 0.21, 12);
    expect(c.costRatio).toMatchObject({ n: 20, resamples: 10_000, seed: 1, interval: 'bca' });
    // The same pairs, in record order, give the same bootstrap.
    const boot = pairedBootstrap(a, b, { statistic: 'ratio-of-means', seed: 1, resamples: 10_000 });
    expect(c.costRatio?.lo).toBe(boot.bca.lo);
    expect(c.costRatio?.hi).toBe(boot.bca.hi);
    expect(c.costRatio!.lo).toBeLessThan(c.costRatio!.ratio);
    expect(c.costRatio!.hi).toBeGreaterThan(c.costRatio!.ratio);
  });

  it('Δ latency p50: difference of medians over pairs both answered ok', () => {
    const c = comparison(fixture(), 'cand');
    // A 100…119 → median 109.5; B 150, 152, …, 188 → median 169; Δ = 59.5. Every resample moves
    // both medians together (B_i = 50 + A_i + i), yet not by a constant, so the interval has width.
    expect(c.latencyP50?.n).toBe(20);
    expect(c.latencyP50?.delta).toBeCloseTo(59.5, 12);
    const a = Array.from({ length: 20 }, (_, i) => 100 + i);
    const b = Array.from({ length: 20 }, (_, i) => 150 + 2 * i);
    const boot = pairedBootstrap(a, b, { statistic: 'median-diff', seed: 1, resamples: 10_000 });
    expect(c.latencyP50).toMatchObject({ lo: boot.percentile.lo, hi: boot.percentile.hi, resamples: 10_000 });
  });

  it('a candidate without answers compares on nothing', () => {
    const c = comparison(fixture(), 'other');
    expect(c.passRate.n).toBe(0);
    expect(c.passRate.delta).toBeNaN();
    expect([c.regressions, c.fixes]).toEqual([0, 0]);
    expect(c.costRatio).toBeNull();
    expect(c.latencyP50).toBeNull();
    expect(c.flips).toEqual({ regressions: [], fixes: [] });
  });

  it('flips: records, tags and excerpts in dataset order', () => {
    const c = comparison(fixture(), 'cand');
    // Records were stored in reverse, so dataset order is p14, p13, …
    expect(c.flips.regressions.map((f) => f.recordId)).toEqual(['p14', 'p13', 'p12', 'p11', 'p10']);
    expect(c.flips.regressions.map((f) => f.seq)).toEqual([6, 7, 8, 9, 10]);
    const p14 = c.flips.regressions[0]!;
    expect(p14).toEqual({
      recordId: 'p14',
      seq: 6,
      tags: { task: 'even' },
      baselineRate: 1,
      candidateRate: 0,
      baselineExcerpt: 'base answer p14',
      candidateExcerpt: 'cand answer p14',
      // The fixture's records store no request and no reference.
      promptExcerpt: null,
      referenceExcerpt: null,
    });
    // Whitespace collapsed, cut to 200 characters with an ellipsis.
    const p10 = c.flips.regressions[4]!.candidateExcerpt!;
    expect(p10.startsWith('first line word word')).toBe(true);
    expect(Array.from(p10)).toHaveLength(200);
    expect(p10.endsWith('…')).toBe(true);
    expect(c.flips.fixes).toEqual([
      expect.objectContaining({ recordId: 'p15', baselineRate: 0, candidateRate: 1 }),
    ]);
  });

  it('keeps the first 50 flips each way, with the full counts', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 60, [
      ['base', 'a'],
      ['cand', 'b'],
    ]);
    const ids = Array.from({ length: 60 }, (_, i) => `r${i}`);
    addRecords(
      store,
      runId,
      ids.map((id) => [id, {}]),
    );
    for (const id of ids) {
      store.recordCall(call(runId, { recordId: id, candidate: 'base' }), [score('s', 1, true)]);
      store.recordCall(call(runId, { recordId: id, candidate: 'cand' }), [score('s', 0, false)]);
    }
    const c = buildReport(store, runId, { baseline: 'base' }).comparisons[0]!;
    expect(c.regressions).toBe(60);
    expect(c.flips.regressions).toHaveLength(50);
    expect(c.flips.regressions[0]?.recordId).toBe('r0');
    expect(c.flips.regressions[49]?.recordId).toBe('r49');
  });

  it('with repeats: paired t over per-prompt pass rates', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 2, 4, [
      ['base', 'a'],
      ['cand', 'b'],
    ]);
    addRecords(
      store,
      runId,
      ['q0', 'q1', 'q2', 'q3'].map((id) => [id, {}]),
    );
    // Per-prompt rates A [1, 1, 0.5, 0], B [0.5, 1, 0, 0.5]
    const passes: Record<string, [boolean[], boolean[]]> = {
      q0: [
        [true, true],
        [true, false],
      ],
      q1: [
        [true, true],
        [true, true],
      ],
      q2: [
        [true, false],
        [false, false],
      ],
      q3: [
        [false, false],
        [false, true],
      ],
    };
    for (const [id, [a, b]] of Object.entries(passes)) {
      for (let k = 0; k < 2; k++) {
        store.recordCall(call(runId, { recordId: id, candidate: 'base', repeat: k }), [
          score('s', a[k] ? 1 : 0, a[k]!),
        ]);
        store.recordCall(call(runId, { recordId: id, candidate: 'cand', repeat: k }), [
          score('s', b[k] ? 1 : 0, b[k]!),
        ]);
      }
    }
    const r = buildReport(store, runId, { baseline: 'base' });
    const c = r.comparisons[0]!;
    // d = [−0.5, 0, −0.5, 0.5] (scipy.stats.ttest_rel)
    expect(c.passRate.method).toBe('paired-t');
    expect(c.passRate.n).toBe(4);
    expect(c.passRate.delta).toBeCloseTo(-0.125, 12);
    expect(c.passRate.lo).toBeCloseTo(-0.8867400904144062, 9);
    expect(c.passRate.hi).toBeCloseTo(0.6367400904144062, 9);
    expect(c.passRate.p).toBeCloseTo(0.6376180914006019, 9);
    // Regressions: q0 (1 → 0.5), q2 (0.5 → 0); fix: q3 (0 → 0.5)
    expect([c.regressions, c.fixes]).toEqual([2, 1]);
    expect(c.flips.regressions.map((f) => [f.recordId, f.baselineRate, f.candidateRate])).toEqual([
      ['q0', 1, 0.5],
      ['q2', 0.5, 0],
    ]);
    expect(r.notes.join('\n')).toContain('With repeats, a prompt flips when');
  });

  it('an unknown baseline is a usage error naming the candidates', () => {
    const runId = fixture();
    expect(() => buildReport(store, runId, { baseline: 'nope' })).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: `unknown baseline 'nope': the candidates of run ${runId} are base, cand, other`,
      }),
    );
  });

  it('notes few discordant pairs', () => {
    const runId = fixture();
    const r = buildReport(store, runId, { baseline: 'base' });
    expect(r.notes.join('\n')).toContain('cand vs base: only 6 prompts flipped (fewer than 10)');
  });
});

describe('bootstrapResamples', () => {
  it('10,000 up to 5,000 pairs, fewer above, never under 100', () => {
    expect(bootstrapResamples(20)).toBe(10_000);
    expect(bootstrapResamples(5_000)).toBe(10_000);
    expect(bootstrapResamples(20_000)).toBe(2_500);
    expect(bootstrapResamples(20_000, 3)).toBe(833);
    expect(bootstrapResamples(1_000_000)).toBe(100);
  });
});
