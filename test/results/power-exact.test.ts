/**
 * The power to show non-inferiority when few pairs are discordant: exact, not the normal
 * approximation (which is optimistic there), and the JSON says which method was used.
 *
 * Reference values: an independent Python program (scipy 1.17.1) that writes Tango's z from
 * STATS.md afresh and sums scipy.stats.multinomial.pmf([b, c, n − b − c], n, [p10, p01, 1 − p10 − p01])
 * over every (b, c) with z(b, c; −m) > scipy.stats.norm.ppf(1 − α): no truncation, no shared code.
 * A Monte Carlo run of that program (400,000 trinomial draws, numpy seed 1) gave 0.815995 for the
 * first case below, against 0.816596 enumerated. The approximation Φ(m·√(n/ψ) − z_{1−α}) is
 * scipy.stats.norm.cdf of the same expression.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildComparison } from '../../results/compare/compare.js';
import { EXACT_POWER_BELOW_DISCORDANT } from '../../results/compare/power.js';
import { renderComparison } from '../../results/render/compare-text.js';
import { powerNonInferiority, powerNonInferiorityExact } from '../../results/stats/power.js';
import { Store } from '../../results/store/store.js';
import { addRecords, call, newRun, score } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

describe('powerNonInferiorityExact', () => {
  it('by hand: n = 1, p10 = p01 = ½, m = 0.5', () => {
    // The one pair is discordant. b = 0, c = 1: A = 2, B = −1 + (2 − 1 + 0)(−0.5) = −1.5, C = 0,
    // p̃ = (1.5 + 1.5)/4 = 0.75, variance = 1·(2·0.75 + (−0.5)(1.5)) = 0.75, z = (1 + 0.5)/√0.75
    // = 1.7320508: above z_{0.95} = 1.6448536, below z_{0.975} = 1.959964. b = 1, c = 0: numerator
    // 0 − 1 + 0.5 < 0, never rejects. So the power is P(b = 0, c = 1) = ½ at α = 0.05 and 0 at 0.025.
    expect(powerNonInferiorityExact(1, 0.5, 0.5, 0.5, 0.05)).toBeCloseTo(0.5, 14);
    expect(powerNonInferiorityExact(1, 0.5, 0.5, 0.5, 0.025)).toBe(0);
  });

  it.each([
    // n, p10, p01, margin, alpha, exact (scipy enumeration), normal approximation at Δ = 0
    [100, 0.05, 0.05, 0.1, 0.025, 0.816596419641, 0.885379],
    [20, 0.125, 0.125, 0.25, 0.025, 0.527765285637, 0.608766],
    [60, 0.1, 0.1, 0.1, 0.025, 0.358274875381, 0.409857],
    [100, 0.01, 0.01, 0.05, 0.025, 0.614964219662, 0.942438],
    [100, 0.01, 0.01, 0.03, 0.025, 0.263366778655, 0.564094],
    [30, 0.1, 0.1, 0.2, 0.05, 0.753580645215, 0.789485],
  ])(
    'n = %d, p10 = %d, p01 = %d, m = %d, α = %d: exact %d (approximation %d)',
    (n, p10, p01, m, alpha, exact, approx) => {
      expect(powerNonInferiorityExact(n, p10, p01, m, alpha)).toBeCloseTo(exact, 10);
      expect(powerNonInferiority(n, p10 + p01, m, alpha)).toBeCloseTo(approx, 6);
    },
  );

  it('a true improvement (p01 > p10) is covered too: n = 50, p10 = 0.02, p01 = 0.08, m = 0.05', () => {
    expect(powerNonInferiorityExact(50, 0.02, 0.08, 0.05, 0.025)).toBeCloseTo(0.588253414516, 10);
  });

  it('no pairs: power 0; bad arguments are refused', () => {
    expect(powerNonInferiorityExact(0, 0.1, 0.1, 0.03)).toBe(0);
    expect(() => powerNonInferiorityExact(10, 0.6, 0.6, 0.03)).toThrow(RangeError);
    expect(() => powerNonInferiorityExact(10.5, 0.1, 0.1, 0.03)).toThrow(RangeError);
    expect(() => powerNonInferiorityExact(10, 0.1, 0.1, 0)).toThrow(RangeError);
  });
});

/** n records; the first b pairs regress, the next c are fixed, the rest pass on both sides. */
function run(n: number, b: number, c: number): number {
  const id = newRun(store, 1, n, [
    ['old', 'm'],
    ['new', 'm'],
  ]);
  const ids = Array.from({ length: n }, (_, i) => `r${i}`);
  addRecords(
    store,
    id,
    ids.map((r) => [r, {}]),
  );
  ids.forEach((recordId, i) => {
    const passA = !(i >= b && i < b + c); // fails only on the fixed pairs
    const passB = i >= b; // fails only on the regressions
    store.recordCall(call(id, { recordId, candidate: 'old' }), [score('exact', passA ? 1 : 0, passA)]);
    store.recordCall(call(id, { recordId, candidate: 'new' }), [score('exact', passB ? 1 : 0, passB)]);
  });
  store.setRunStatus(id, 'finished', '2025-01-01T01:00:00.000Z');
  return id;
}

describe('compare: which power method', () => {
  it(`under ${EXACT_POWER_BELOW_DISCORDANT} discordant pairs the power is exact, and says so`, () => {
    store = new Store(':memory:');
    const id = run(100, 1, 1);
    const r = buildComparison(store, { runId: id, candidate: 'old' }, { runId: id, candidate: 'new' });
    // ψ = 2/100; p10 = p01 = 0.01; m = 0.03, α = 0.025: scipy enumeration 0.263366778655, where the
    // normal approximation said 0.564094.
    expect(r.power.powerMethod).toBe('exact');
    expect(r.power.expectedDiscordant).toBe(2);
    expect(r.power.powerAtMargin).toBeCloseTo(0.263366778655, 10);
    const json = JSON.parse(renderComparison(r, 'json'));
    expect(json.power.powerMethod).toBe('exact');
    expect(renderComparison(r, 'table')).toContain(
      'power to show non-inferiority at 3.0 points: 26% (if the true Δ is 0; exact, as only 2 discordant pairs are expected)',
    );
    expect(r.warnings.some((w) => /only 26% \(n = 100\)/.test(w))).toBe(true);
  });

  it('from 25 discordant pairs on: the normal approximation, labelled', () => {
    store = new Store(':memory:');
    const id = run(100, 13, 13);
    const r = buildComparison(store, { runId: id, candidate: 'old' }, { runId: id, candidate: 'new' });
    // scipy.stats.norm.cdf(0.03·√(100/0.26) − norm.ppf(0.975)) = 0.085091570685
    expect(r.power.powerMethod).toBe('normal-approximation');
    expect(r.power.expectedDiscordant).toBe(26);
    expect(r.power.powerAtMargin).toBeCloseTo(0.085091570685, 10);
    expect(renderComparison(r, 'table')).toContain('9% (if the true Δ is 0; normal approximation)');
  });
});
