import { afterEach, describe, expect, it } from 'vitest';
import {
  armFigures,
  escalation,
  neededTier,
  type Outcomes,
  oracleChoice,
  relativeTiers,
  singleArm,
  tiers,
} from '../../results/route/metrics.js';
import { apgr, cpt, hullValue, pgr, pgrCurve, zeroRouterHull } from '../../results/route/curves.js';
import { loadRouteRun } from '../../results/route/data.js';
import { Store } from '../../results/store/store.js';
import { call, newRun, score } from './report-helpers.js';

/** Outcomes from rows of [pass, cost] per candidate. */
function outcomes(rows: [number, number][][], perPrompt = false): Outcomes {
  const n = rows.length;
  const k = rows[0]!.length;
  const pass = new Float64Array(n * k);
  const cost = new Float64Array(n * k);
  rows.forEach((row, i) => {
    row.forEach(([p, c], j) => {
      pass[i * k + j] = p;
      cost[i * k + j] = c;
    });
  });
  return {
    n,
    k,
    names: Array.from({ length: k }, (_, j) => `c${j}`),
    pass,
    score: Float64Array.from(pass),
    cost,
    latency: new Float64Array(n * k).fill(100),
    perPrompt,
  };
}

describe('zero-router hull', () => {
  it('keeps the upper-left non-decreasing convex hull: dominated points and points under a chord go', () => {
    /*
     * a (1, .50), b (2, .48) dominated by a, c (3, .60), d (5, .61) under the chord c→e
     * (at x = 5: .60 + 2·(.80 − .60)/6 = .6667 > .61), e (9, .80), f (12, .80) not better than e.
     * Chords: a→c slope .05, c→e slope .0333: concave at c, so c stays.
     */
    const hull = zeroRouterHull([
      { x: 3, y: 0.6, name: 'c' },
      { x: 1, y: 0.5, name: 'a' },
      { x: 2, y: 0.48, name: 'b' },
      { x: 5, y: 0.61, name: 'd' },
      { x: 9, y: 0.8, name: 'e' },
      { x: 12, y: 0.8, name: 'f' },
    ]);
    expect(hull.map((h) => h.name)).toEqual(['a', 'c', 'e']);
    // Linear between vertices, flat beyond both ends.
    expect(hullValue(hull, 0.5)).toBe(0.5);
    expect(hullValue(hull, 2)).toBeCloseTo(0.55, 12);
    expect(hullValue(hull, 6)).toBeCloseTo(0.7, 12);
    expect(hullValue(hull, 20)).toBe(0.8);
  });

  it('a middle point exactly on the chord is not a vertex', () => {
    const hull = zeroRouterHull([
      { x: 1, y: 0.2, name: 'a' },
      { x: 2, y: 0.4, name: 'b' },
      { x: 3, y: 0.6, name: 'c' },
    ]);
    expect(hull.map((h) => h.name)).toEqual(['a', 'c']);
  });
});

describe('PGR, APGR and CPT', () => {
  it('PGR is undefined when the strong model is not better than the weak one', () => {
    expect(pgr(0.7, 0.6, 0.8)).toBeCloseTo(0.5, 12);
    expect(pgr(0.7, 0.8, 0.8)).toBeNaN();
    expect(apgr([{ c: 0.5, pgr: Number.NaN }])).toBeNaN();
    expect(cpt([{ c: 0.5, pgr: Number.NaN }], 0.5)).toBeNaN();
  });

  it('uses the sweep’s own end points instead of the anchors, and one point per share', () => {
    // Points at c = 0 (PGR .1: rules still send some records up) and c = 1 (PGR .9); two at c = .5.
    const pts = [
      { c: 1, pgr: 0.9 },
      { c: 0.5, pgr: 0.6 },
      { c: 0, pgr: 0.1 },
      { c: 0.5, pgr: 0.6 },
    ];
    expect(pgrCurve(pts)).toEqual([
      { c: 0, pgr: 0.1 },
      { c: 0.5, pgr: 0.6 },
      { c: 1, pgr: 0.9 },
    ]);
    // .5·(.1 + .6)/2 + .5·(.6 + .9)/2 = .175 + .375 = .55.
    expect(apgr(pts)).toBeCloseTo(0.55, 12);
    // PGR ≥ .5 first at (.5, .6), from (0, .1): c = (.5 − .1)·.5/.5 = .4.
    expect(cpt(pts, 0.5)).toBeCloseTo(0.4, 12);
    // PGR ≥ .1 at the first point itself: c = 0.
    expect(cpt(pts, 0.1)).toBe(0);
    // Never reaches .95.
    expect(cpt(pts, 0.95)).toBeNaN();
  });

  it('a random router (PGR = c) has APGR .5', () => {
    const pts = [0.1, 0.3, 0.6].map((c) => ({ c, pgr: c }));
    expect(apgr(pts)).toBeCloseTo(0.5, 12);
    expect(cpt(pts, 0.5)).toBeCloseTo(0.5, 12);
  });
});

describe('tiers, the oracle and escalation', () => {
  // Three candidates: c0 cheap, c1 middle, c2 dear (mean costs 1, 2, 5).
  const o = outcomes([
    [
      [1, 1],
      [1, 2],
      [1, 5],
    ], // all pass: oracle c0, no escalation needed
    [
      [0, 1],
      [1, 2],
      [1, 5],
    ], // c1 is enough: needed tier 1
    [
      [0, 1],
      [0, 2],
      [1, 5],
    ], // needs c2: tier 2
    [
      [0, 1],
      [1, 3],
      [1, 1],
    ], // c1 and c2 pass; c2 is cheaper on this record: the oracle takes c2, the needed tier is 1
  ]);

  it('tiers follow mean cost; the oracle takes the cheapest on the record among the best', () => {
    // Mean costs: c0 1, c1 (2+2+2+3)/4 = 2.25, c2 (5+5+5+1)/4 = 4.
    const tier = tiers(o);
    expect(tier).toEqual([0, 1, 2]);
    expect(Array.from(oracleChoice(o, tier))).toEqual([0, 1, 2, 2]);
    expect(Array.from(neededTier(o, tier))).toEqual([0, 1, 2, 1]);
  });

  it('precision, recall, needless, missed, overshoot and undershoot', () => {
    const tier = tiers(o);
    const need = neededTier(o, tier);
    // Choices: r1 c2 (needless), r2 c2 (needed, overshoot), r3 c1 (needed, undershoot), r4 c0 (missed).
    const e = escalation(Int32Array.from([2, 2, 1, 0]), tier, need);
    expect(e).toEqual({
      escalated: 3,
      needed: 3,
      correct: 2,
      needless: 1,
      missed: 1,
      overshoot: 1,
      undershoot: 1,
      precision: 2 / 3,
      recall: 2 / 3,
    });
  });

  it('relative tiers start from the policy’s own cheapest candidate', () => {
    // A policy that routes between c1 and c2 only: c1 becomes tier 0, c2 tier 1, c0 (never chosen) after.
    expect(relativeTiers([0, 1, 2], [1, 2])).toEqual([2, 0, 1]);
    const rt = relativeTiers(tiers(o), [1, 2]);
    // Among c1, c2: r1 both pass → c1 (0); r2 both → 0; r3 only c2 → 1; r4 both → 0.
    expect(Array.from(neededTier(o, rt, [1, 2]))).toEqual([0, 0, 1, 0]);
  });

  it('figures of an arm: shares and escalation share', () => {
    const f = armFigures(
      o,
      { choice: Int32Array.from([0, 1, 2, 2]), routerCost: null, routerLatency: null },
      tiers(o),
    );
    expect(f.share).toEqual([0.25, 0.25, 0.5]);
    expect(f.escalationShare).toBe(0.75);
    // Cost 1 + 2 + 5 + 1 = 9 over 4 records.
    expect(f.cost.totalUsd).toBe(9);
    expect(f.cost.per1kRecords).toBe(2250);
    expect(f.passRate.p).toBe(1);
    expect(armFigures(o, singleArm(o, 0), tiers(o)).passRate.p).toBe(0.25);
  });
});

describe('repeats', () => {
  let store: Store;
  afterEach(() => store?.close());

  it('a candidate’s outcome on a record is the mean of its repeats; pass rates use a t interval over records', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 2, 3, [
      ['a', 'model-a'],
      ['b', 'model-b'],
    ]);
    store.insertRecords(
      runId,
      ['r1', 'r2', 'r3'].map((id) => ({ id, api: 'chat', tags: {}, json: '{}' })),
      0,
    );
    // a: r1 pass both repeats; r2 one of two; r3 neither. Costs .001 and .003 (mean .002).
    // A call passes only when every non-null score on it passed (r2 repeat 1: one of two scores fails).
    const rows: [string, number, boolean[]][] = [
      ['r1', 0, [true]],
      ['r1', 1, [true]],
      ['r2', 0, [true]],
      ['r2', 1, [true, false]],
      ['r3', 0, [false]],
      ['r3', 1, [false]],
    ];
    for (const [id, repeat, passes] of rows) {
      store.recordCall(
        call(runId, { recordId: id, candidate: 'a', repeat, costUsd: repeat === 0 ? 0.001 : 0.003 }),
        passes.map((p, i) => score(`s${i}`, p ? 1 : 0, p)),
      );
      store.recordCall(call(runId, { recordId: id, candidate: 'b', repeat, costUsd: 0.01 }), [
        score('s0', 1, true),
      ]);
    }
    const run = loadRouteRun(store, runId);
    // a on r2: pass shares 1 and 0 → .5; score: repeat 0 mean 1, repeat 1 mean .5 → .75.
    expect(Array.from(run.pass)).toEqual([1, 1, 0.5, 1, 0, 1]);
    expect(run.score[2]).toBeCloseTo(0.75, 12);
    expect(run.cost[0]).toBeCloseTo(0.002, 12);
    const o: Outcomes = {
      n: 3,
      k: 2,
      names: ['a', 'b'],
      pass: run.pass,
      score: run.score,
      cost: run.cost,
      latency: run.latency,
      perPrompt: true,
    };
    const f = armFigures(o, singleArm(o, 0), [0, 1]);
    // Per-record shares 1, .5, 0: mean .5, sd .5, t(.975, 2) = 4.302653 → half 4.302653·.5/√3 = 1.242070,
    // clipped to [0, 1].
    expect(f.passRate).toEqual({ method: 'per-prompt-t', p: 0.5, lo: 0, hi: 1 });
  });
});
