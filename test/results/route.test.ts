import { afterEach, describe, expect, it } from 'vitest';
import { prepareMatcher, type RouteRecord, routeRecord } from '../../harness/route/conditions.js';
import { decide, type RouterOutcome } from '../../harness/route/decide.js';
import { checkCandidates, type Policy, parsePolicy } from '../../harness/route/policy.js';
import { routerAux, storedRouterRows } from '../../harness/route/router.js';
import { buildRouteResult, type RouteResult, type RouteSettings } from '../../results/route/route.js';
import { loadRouteRun } from '../../results/route/data.js';
import { renderRoute } from '../../results/render/route-text.js';
import { studentTCdf } from '../../results/stats/stats.js';
import { Store } from '../../results/store/store.js';
import { call, newRun, score } from './report-helpers.js';

/*
 * The hand-built run: 8 records, 3 candidates, one answer each. Costs and latencies are the same on
 * every record: w $0.001 100 ms, m $0.004 200 ms, s $0.010 400 ms. Score value = pass (0 or 1).
 *
 *   rec  task  w  m  s   router score
 *   r1   a     1  1  1   0.1
 *   r2   a     0  1  1   0.8
 *   r3   b     0  0  1   0.9
 *   r4   b     1  0  1   0.3
 *   r5   a     0  0  0   0.6
 *   r6   b     0  1  0   0.2
 *   r7   a     0  1  1   0.7
 *   r8   b     0  0  1   0.4
 *
 * Singles: pass w 2/8 = 0.25, m 4/8 = 0.5, s 6/8 = 0.75; cost per 1K records w $1, m $4, s $10.
 * Tiers by mean cost: w 0, m 1, s 2. Cheapest w, strongest s.
 * Zero-router hull: (1, .25) → (4, .5) → (10, .75); slopes .25/3 = .08333 then .25/6 = .041667,
 * decreasing, so m is a vertex.
 * Oracle (cheapest with the best pass): r1 w, r2 m, r3 s, r4 w, r5 w (all fail), r6 m, r7 m, r8 s:
 * pass 7/8; cost 3·.001 + 3·.004 + 2·.010 = .035 → $4.375 per 1K; hull at 4.375 = .5 + .375·.041667
 * = .515625 < .875, so above the hull. Escalated above w: r2, r3, r6, r7, r8 → 5/8.
 */
const PASS: Record<string, [number, number, number]> = {
  r1: [1, 1, 1],
  r2: [0, 1, 1],
  r3: [0, 0, 1],
  r4: [1, 0, 1],
  r5: [0, 0, 0],
  r6: [0, 1, 0],
  r7: [0, 1, 1],
  r8: [0, 0, 1],
};
const TASK: Record<string, string> = {
  r1: 'a',
  r2: 'a',
  r3: 'b',
  r4: 'b',
  r5: 'a',
  r6: 'b',
  r7: 'a',
  r8: 'b',
};
const ROUTER_SCORE: Record<string, string> = {
  r1: '0.1',
  r2: 'difficulty: 0.8',
  r3: '0.9',
  r4: '0.3',
  r5: '0.6',
  r6: '0.2',
  r7: '0.7',
  r8: '0.4',
};
const CANDS: [string, number, number][] = [
  ['w', 0.001, 100],
  ['m', 0.004, 200],
  ['s', 0.01, 400],
];
const IDS = Object.keys(PASS);

let store: Store;
afterEach(() => store?.close());

function handBuiltRun(): number {
  store = new Store(':memory:');
  const runId = newRun(
    store,
    1,
    IDS.length,
    CANDS.map(([c]) => [c, `model-${c}`]),
  );
  store.insertRecords(
    runId,
    IDS.map((id) => {
      const tags = { task: TASK[id]! };
      const rec = {
        id,
        api: 'chat',
        tags,
        request: { model: 'gpt-x', messages: [{ role: 'user', content: `q ${id}` }] },
      };
      return { id, api: 'chat', tags, json: JSON.stringify(rec) };
    }),
    0,
  );
  for (const id of IDS) {
    CANDS.forEach(([c, cost, latency], j) => {
      const pass = PASS[id]![j]!;
      store.recordCall(call(runId, { recordId: id, candidate: c, costUsd: cost, latencyMs: latency }), [
        score('exact', pass, pass === 1),
      ]);
    });
  }
  return runId;
}

const RULES: Policy = parsePolicy(
  { name: 'rules', default: 'w', rules: [{ when: { tags: { task: 'b' } }, route: 's' }] },
  'rules.yaml',
);

const SCORED: Policy = parsePolicy(
  {
    name: 'scored',
    default: 'w',
    router: {
      name: 'r',
      candidate: { model: 'router-model', price: { input: 1, cached_input: 0.1, output: 1 } },
      prompt: 'rate {{prompt}}',
      score: { sweep: { from: 0.25, to: 0.75, step: 0.25 }, below: 'w', above: 's' },
    },
  },
  'scored.yaml',
);

/** Router rows as a previous `route` would have stored them: $0.0001 and 50 ms each. */
function storeRouterRows(runId: number, policy: Policy): void {
  for (const id of IDS) {
    store.recordCall(
      call(runId, {
        recordId: id,
        candidate: policy.router!.name,
        role: 'router',
        aux: routerAux(policy.router!),
        output: ROUTER_SCORE[id]!,
        costUsd: 0.0001,
        latencyMs: 50,
      }),
      [],
    );
  }
}

async function evaluate(
  runId: number,
  policies: Policy[],
  settings: Partial<RouteSettings> = {},
): Promise<RouteResult> {
  const run = loadRouteRun(store, runId);
  const names = run.candidates.map((c) => c.name);
  const records: RouteRecord[] = run.records.map((r) => routeRecord(r.id, r.tags, r.bodyJson));
  const decisions = [];
  for (const p of policies) {
    checkCandidates(p, `${p.name}.yaml`, runId, names);
    const matcher = await prepareMatcher(p, records);
    const router: RouterOutcome | null = p.router
      ? { rows: storedRouterRows(store, runId, p.router), calls: { reused: IDS.length, made: 0, errors: 0 } }
      : null;
    decisions.push(decide(p, `${p.name}.yaml`, records, names, matcher, router));
  }
  return buildRouteResult(run, decisions, {
    alpha: 0.025,
    margin: 0.03,
    fitOn: 'all',
    evaluateOn: 'all',
    sides: null,
    split: null,
    ...settings,
  });
}

describe('routing evaluation on a hand-built run', () => {
  it('singles, tiers, the oracle and the zero-router hull', async () => {
    const runId = handBuiltRun();
    const r = await evaluate(runId, []);
    expect(r.records).toMatchObject({ total: 8, complete: 8, evaluated: 8 });
    expect(r.cheapest).toBe('w');
    expect(r.strongest).toBe('s');
    expect(r.candidates.map((c) => c.tier)).toEqual([0, 1, 2]);
    expect(r.singles.map((s) => s.passRate.p)).toEqual([0.25, 0.5, 0.75]);
    expect(r.singles.map((s) => s.cost.per1kRecords)).toEqual([
      expect.closeTo(1, 12),
      expect.closeTo(4, 12),
      expect.closeTo(10, 12),
    ]);
    // PGR of the singles between w (.25) and s (.75): 0, .5, 1.
    expect(r.singles.map((s) => s.pgr)).toEqual([0, 0.5, 1]);
    expect(r.hull.map((h) => h.candidate)).toEqual(['w', 'm', 's']);
    expect(r.singles.map((s) => s.aboveHull)).toEqual([false, false, false]);

    expect(r.oracle.passRate.p).toBe(7 / 8);
    expect(r.oracle.share).toEqual([3 / 8, 3 / 8, 2 / 8]);
    expect(r.oracle.cost.totalUsd).toBeCloseTo(0.035, 12);
    expect(r.oracle.cost.per1kRecords).toBeCloseTo(4.375, 12);
    expect(r.oracle.escalationShare).toBe(5 / 8);
    expect(r.oracle.aboveHull).toBe(true);
    // Oracle PGR: (.875 − .25)/.5 = 1.25.
    expect(r.oracle.pgr).toBeCloseTo(1.25, 12);
    // Needed escalations above w (w not among the best): r2, r3, r6, r7, r8.
    expect(r.oracle.escalation).toMatchObject({
      needed: 5,
      escalated: 5,
      correct: 5,
      precision: 1,
      recall: 1,
    });
    // Wilson for 2/8 at z = 1.959964 (z² = 3.841459): centre (.25 + .240091)/1.480182 = .331101,
    // half (1.959964/1.480182)·√(.0234375 + .0150057) = 1.324134·.196069 = .259622 → [.071479, .590723].
    expect(r.singles[0]!.passRate.lo).toBeCloseTo(0.071479, 5);
    expect(r.singles[0]!.passRate.hi).toBeCloseTo(0.590723, 5);
  });

  it('a rules policy: quality, cost, latency, shares, PGR, escalation precision and recall, the paired tests', async () => {
    const runId = handBuiltRun();
    const r = await evaluate(runId, [RULES]);
    const p = r.policies[0]!;
    // task b → s (r3, r4, r6, r8), else w (r1, r2, r5, r7).
    // Pass: r1 w1, r2 w0, r3 s1, r4 s1, r5 w0, r6 s0, r7 w0, r8 s1 → 4/8.
    expect(p.figures.passRate.p).toBe(0.5);
    expect(p.figures.share).toEqual([0.5, 0, 0.5]);
    expect(p.routedBy).toEqual({
      rules: [{ index: 0, route: 's', records: 4 }],
      router: 0,
      fallback: 0,
      default: 4,
    });
    // Cost: 4·.001 + 4·.010 = .044 → $5.5 per 1K.
    expect(p.figures.cost.totalUsd).toBeCloseTo(0.044, 12);
    expect(p.figures.cost.per1kRecords).toBeCloseTo(5.5, 12);
    expect(p.figures.cost.routerUsd).toBeNull();
    // Latency 100 ×4, 400 ×4: p50 at h = 3.5 → 100 + .5·300 = 250; p95 at h = 6.65 → 400.
    expect(p.figures.latency).toEqual({ n: 8, p50: 250, p95: 400 });
    // PGR (.5 − .25)/(.75 − .25) = .5, both between the run's w and s and its own w and s.
    expect(p.figures.pgr).toBe(0.5);
    expect(p.pgr).toBe(0.5);
    expect([p.cheapest, p.strongest]).toEqual(['w', 's']);
    // Hull at 5.5: .5 + 1.5·.041667 = .5625 > .5: not above.
    expect(p.figures.aboveHull).toBe(false);
    // Its tiers: w 0, s 1. Needed (w not among the best of w, s): r2, r3, r7, r8.
    // Escalated: r3, r4, r6, r8. Correct r3, r8 → precision 2/4, recall 2/4; needless r4, r6; missed r2, r7.
    expect(p.escalation).toEqual({
      escalated: 4,
      needed: 4,
      correct: 2,
      needless: 2,
      missed: 2,
      overshoot: 0,
      undershoot: 0,
      precision: 0.5,
      recall: 0.5,
    });
    expect(p.figures.escalationShare).toBe(0.5);
    // Against s: b = #(s pass, policy fail) = r2, r7 = 2; c = 0; Δ = −2/8.
    const q = p.comparison.quality;
    expect([q.b, q.c, q.n]).toEqual([2, 0, 8]);
    expect(q.estimate.delta).toBe(-0.25);
    expect(p.comparison.verdict).toBe('NOT SHOWN');
    // Cost d = policy − s: w records −.009 (×4), s records 0 (×4): mean −.0045, sd = .0045·√(8/7),
    // se = sd/√8 = .0045/√7 = .00170084, t = −2.645751 on 7 df.
    const t = -0.0045 / (0.0045 / Math.sqrt(7));
    expect(p.comparison.cost.meanDiff).toBeCloseTo(-0.0045, 12);
    expect(p.comparison.cost.t).toBeCloseTo(t, 9);
    expect(p.comparison.cost.p).toBeCloseTo(studentTCdf(t, 7), 12);
    expect(p.comparison.cost.p).toBeGreaterThan(0.01);
    expect(p.comparison.cost.p).toBeLessThan(0.025);
    expect(p.comparison.p).toBe(Math.max(q.nonInferiority.p, p.comparison.cost.p));
    expect(p.sweep).toBeNull();
    expect(p.threshold).toBeNull();
  });

  it('a score router: the sweep, PGR at each threshold, APGR, CPT, the hull, router cost, and the fitted threshold with its WARNING', async () => {
    const runId = handBuiltRun();
    storeRouterRows(runId, SCORED);
    const r = await evaluate(runId, [SCORED]);
    const p = r.policies[0]!;
    const s = p.sweep!;
    expect([s.below, s.above]).toEqual(['w', 's']);
    /*
     * t = .25: scores ≥ .25 → s: r2, r3, r4, r5, r7, r8 (6/8); w: r1, r6. Pass 1,1,1,1,0,0,1,1 = 6/8.
     *   PGR (.75 − .25)/.5 = 1. Cost 2·.001 + 6·.010 + 8·.0001 = .0628 → $7.85 per 1K;
     *   hull at 7.85 = .5 + 3.85·.041667 = .660417 < .75: above.
     * t = .5: → s: r2, r3, r5, r7 (4/8). Pass r1 1, r2 1, r3 1, r4 w1, r5 0, r6 0, r7 1, r8 w0 = 5/8.
     *   PGR .75. Cost 4·.001 + 4·.010 + .0008 = .0448 → $5.6; hull at 5.6 = .566667 < .625: above.
     * t = .75: → s: r2, r3 (2/8). Pass r1, r2, r3, r4 = 4/8. PGR .5. Cost 6·.001 + 2·.01 + .0008 = .0268
     *   → $3.35; hull at 3.35 = .25 + 2.35·.083333 = .445833 < .5: above.
     */
    expect(s.points.map((x) => x.threshold)).toEqual([0.25, 0.5, 0.75]);
    expect(s.points.map((x) => x.escalationShare)).toEqual([0.75, 0.5, 0.25]);
    expect(s.points.map((x) => x.passRate)).toEqual([0.75, 0.625, 0.5]);
    expect(s.points.map((x) => x.pgr)).toEqual([1, 0.75, 0.5]);
    expect(s.points.map((x) => x.per1kRecords)).toEqual([
      expect.closeTo(7.85, 10),
      expect.closeTo(5.6, 10),
      expect.closeTo(3.35, 10),
    ]);
    expect(s.points.map((x) => x.aboveHull)).toEqual([true, true, true]);
    /*
     * The curve with its anchors: (0, 0), (.25, .5), (.5, .75), (.75, 1), (1, 1).
     * APGR = .25·(0 + .5)/2 + .25·(.5 + .75)/2 + .25·(.75 + 1)/2 + .25·(1 + 1)/2
     *      = .0625 + .15625 + .21875 + .25 = .6875.
     * CPT(50%): first point with PGR ≥ .5 is (.25, .5): from (0, 0), c = .5·.25/.5 = .25.
     * CPT(80%): first point ≥ .8 is (.75, 1), from (.5, .75): c = .5 + (.8 − .75)·.25/.25 = .55.
     */
    expect(s.apgr).toBeCloseTo(0.6875, 12);
    expect(s.cpt50).toBeCloseTo(0.25, 12);
    expect(s.cpt80).toBeCloseTo(0.55, 12);
    // No threshold configured: fitted on all records (default: cheapest with PGR ≥ .9) → .25 only.
    expect(p.threshold).toMatchObject({ value: 0.25, fitted: true, fittedOn: 'all', met: true });
    expect(s.points.find((x) => x.chosen)?.threshold).toBe(0.25);
    expect(
      r.warnings.some((w) => w.startsWith('WARNING: the threshold of policy scored (0.25) was fitted')),
    ).toBe(true);
    // At .25 the policy's figures include the router: $.0628 in all, $.0008 of it the router's.
    expect(p.figures.cost.totalUsd).toBeCloseTo(0.0628, 12);
    expect(p.figures.cost.routerUsd).toBeCloseTo(0.0008, 12);
    expect(p.router).toMatchObject({ name: 'r', kind: 'score', consulted: 8, calls: { reused: 8, made: 0 } });
    // Latency = router 50 + answer: r1, r6 150; the other six 450 → p50 450, p95 450.
    expect(p.figures.latency).toEqual({ n: 8, p50: 450, p95: 450 });
    // Escalation (tiers w 0, s 1): escalated r2, r3, r4, r5, r7, r8; needed r2, r3, r7, r8 →
    // precision 4/6, recall 4/4; needless r4, r5.
    expect(p.escalation).toMatchObject({ escalated: 6, needed: 4, correct: 4, needless: 2, missed: 0 });
    expect(p.escalation.precision).toBeCloseTo(2 / 3, 12);
    expect(p.escalation.recall).toBe(1);
    /*
     * Against s the policy passes on exactly the same records: b = c = 0, n = 8. Tango at Δ₀ = −.03:
     * A = 16, B = −.48, C = 0 → p̃ = .96/32 = .03; variance 8·(.06 − .03·1.03) = .2328;
     * z = .24/√.2328 = .497416, p = 1 − Φ(z) = .30945. Not non-inferior at n = 8.
     * Cost d: r1, r6 (w + router − s) = −.0089; the rest +.0001. Mean −.00215, sd √(1.215e-4/7),
     * t = −.00215/(sd/√8) = −1.459641.
     */
    const q = p.comparison.quality;
    expect([q.b, q.c]).toEqual([0, 0]);
    expect(q.nonInferiority.statistic).toBeCloseTo(0.24 / Math.sqrt(0.2328), 9);
    expect(q.nonInferiority.p).toBeCloseTo(0.30945, 4);
    const sd = Math.sqrt(1.215e-4 / 7);
    expect(p.comparison.cost.meanDiff).toBeCloseTo(-0.00215, 12);
    expect(p.comparison.cost.t).toBeCloseTo(-0.00215 / (sd / Math.sqrt(8)), 6);
    expect(p.comparison.verdict).toBe('NOT SHOWN');
  });

  it('--fit-on tune --evaluate-on holdout: the threshold is fitted on one side and evaluated on the other, without a warning', async () => {
    const runId = handBuiltRun();
    storeRouterRows(runId, SCORED);
    /*
     * Tune: r1–r4. There w passes r1, r4 (.5) and s all four (1). t = .25 sends r2, r3, r4 to s and
     * passes all four (PGR 1); t = .5 and t = .75 both send r2, r3 (same records, same cost) and pass all
     * four too. The cheapest meeting PGR ≥ .9 is a tie between .5 and .75 → the higher threshold, .75.
     * Holdout: r5–r8, scores .6, .2, .7, .4: none reaches .75 → all to w, which passes none of them.
     */
    const sides = IDS.map((_, i) => (i < 4 ? 'tune' : 'holdout') as 'tune' | 'holdout');
    const r = await evaluate(runId, [SCORED], {
      fitOn: 'tune',
      evaluateOn: 'holdout',
      sides,
      split: { fraction: 0.5, key: 'id', source: 'test' },
    });
    const p = r.policies[0]!;
    expect(r.records).toMatchObject({ evaluated: 4, fittedOn: 4 });
    expect(p.threshold).toMatchObject({ value: 0.75, fitted: true, fittedOn: 'tune' });
    expect(p.figures.passRate.p).toBe(0);
    expect(p.figures.share).toEqual([1, 0, 0]);
    expect(r.warnings.filter((w) => w.startsWith('WARNING'))).toEqual([]);
    // The holdout singles: w 0/4, m (r6, r7) 2/4, s (r7, r8) 2/4: m and s tie, the cheaper m is the strongest.
    expect(r.singles.map((s) => s.passRate.p)).toEqual([0, 0.5, 0.5]);
    expect(r.strongest).toBe('m');
  });

  it('a configured threshold is not fitted and draws no warning', async () => {
    const runId = handBuiltRun();
    const p = parsePolicy(
      { ...SCORED, router: { ...SCORED.router, score: { ...SCORED.router!.score, threshold: 0.5 } } },
      'x.yaml',
    );
    storeRouterRows(runId, p);
    const r = await evaluate(runId, [p]);
    expect(r.policies[0]!.threshold).toEqual({
      value: 0.5,
      fitted: false,
      fittedOn: null,
      criterion: null,
      met: null,
    });
    expect(r.policies[0]!.figures.passRate.p).toBe(0.625);
    expect(r.warnings).toEqual([]);
  });

  it('per-slice figures and the recommendation table', async () => {
    const runId = handBuiltRun();
    const r = await evaluate(runId, [RULES], { by: 'task' });
    // Slice a: r1, r2, r5, r7 → w 1/4, m 3/4, s 3/4; slice b: r3, r4, r6, r8 → w 1/4, m 1/4, s 3/4.
    expect(r.slices.map((s) => [s.value, s.n])).toEqual([
      ['a', 4],
      ['b', 4],
    ]);
    const a = Object.fromEntries(r.slices[0]!.arms.map((x) => [x.name, x.passRate]));
    expect(a).toEqual({ w: 0.25, m: 0.75, s: 0.75, oracle: 0.75, rules: 0.25 });
    const b = Object.fromEntries(r.slices[1]!.arms.map((x) => [x.name, x.passRate]));
    expect(b).toEqual({ w: 0.25, m: 0.25, s: 0.75, oracle: 1, rules: 0.75 });
    /*
     * Slice a: m and s tie at 3/4; the tie goes to the cheaper, so m is the best and itself the
     * recommendation (only w is cheaper: 1/4, not non-inferior). Whole run and slice b: s is best;
     * nothing cheaper is non-inferior at 3 points on so few records, so s.
     */
    expect(r.recommendations.map((x) => [x.slice, x.best, x.recommended])).toEqual([
      [null, 's', 's'],
      ['a', 'm', 'm'],
      ['b', 's', 's'],
    ]);
    expect(r.notes.some((n) => n.startsWith('Slices with fewer than 30 records'))).toBe(true);
  });

  it('records without a scored answer from every candidate are left out, and said so', async () => {
    const runId = handBuiltRun();
    store.recordCall(call(runId, { recordId: 'r9', candidate: 'w', costUsd: 0.001 }), [
      score('exact', 1, true),
    ]);
    store.insertRecords(runId, [{ id: 'r9', api: 'chat', tags: { task: 'a' }, json: '{}' }], 8);
    store.recordCall(call(runId, { recordId: 'r9', candidate: 'm', status: 'error', output: null }), []);
    store.recordCall(call(runId, { recordId: 'r9', candidate: 's', costUsd: 0.01 }), []);
    const r = await evaluate(runId, [RULES]);
    expect(r.records).toMatchObject({ total: 9, complete: 8, evaluated: 8 });
    expect(r.notes[0]).toBe(
      '1 records left out: not every candidate has a scored answer on them (m: 1 errored, 0 unscored, 0 missing; s: 0 errored, 1 unscored, 0 missing).',
    );
    expect(r.policies[0]!.figures.passRate.p).toBe(0.5);
  });

  it('a candidate without any scored answer is left out (said so), and a policy cannot route to it', async () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 2, [
      ['w', 'model-w'],
      ['dead', 'model-dead'],
      ['s', 'model-s'],
    ]);
    store.insertRecords(
      runId,
      [
        { id: 'a', api: 'chat', tags: {}, json: '{}' },
        { id: 'b', api: 'chat', tags: {}, json: '{}' },
      ],
      0,
    );
    for (const id of ['a', 'b']) {
      store.recordCall(call(runId, { recordId: id, candidate: 'w', costUsd: 0.001 }), [
        score('exact', 0, false),
      ]);
      store.recordCall(call(runId, { recordId: id, candidate: 'dead', status: 'error', output: null }), []);
      store.recordCall(call(runId, { recordId: id, candidate: 's', costUsd: 0.01 }), [
        score('exact', 1, true),
      ]);
    }
    const run = loadRouteRun(store, runId);
    expect(run.candidates.map((c) => c.name)).toEqual(['w', 's']);
    expect(run.excluded).toEqual(['dead']);
    // w and s on a, b: [0, 1, 0, 1].
    expect(Array.from(run.pass)).toEqual([0, 1, 0, 1]);
    const r = await evaluate(runId, [RULES]);
    expect(r.records.evaluated).toBe(2);
    expect(r.notes).toContain('Left out, without a single scored answer in the run: dead.');
    const toDead = parsePolicy({ name: 'd', default: 'dead' }, 'd.yaml');
    expect(() => checkCandidates(toDead, 'd.yaml', runId, ['w', 's'], run.excluded)).toThrow(
      /default: "dead" has no scored answer in run 1, so it cannot be evaluated/,
    );
  });

  it('"cheaper and no worse": shown when both one-sided tests reject (intersection–union)', async () => {
    store = new Store(':memory:');
    const n = 200;
    const runId = newRun(store, 1, n, [
      ['w', 'model-w'],
      ['s', 'model-s'],
    ]);
    // x0–x99 easy, x100–x199 hard. s passes everything ($.010); w passes the easy ones only ($.001).
    const ids = Array.from({ length: n }, (_, i) => `x${i}`);
    const easy = (i: number) => i < 100;
    store.insertRecords(
      runId,
      ids.map((id, i) => ({ id, api: 'chat', tags: { level: easy(i) ? 'easy' : 'hard' }, json: '{}' })),
      0,
    );
    ids.forEach((id, i) => {
      store.recordCall(call(runId, { recordId: id, candidate: 'w', costUsd: 0.001 }), [
        score('exact', easy(i) ? 1 : 0, easy(i)),
      ]);
      store.recordCall(call(runId, { recordId: id, candidate: 's', costUsd: 0.01 }), [
        score('exact', 1, true),
      ]);
    });
    const split = parsePolicy(
      { name: 'by-level', default: 's', rules: [{ when: { tags: { level: 'easy' } }, route: 'w' }] },
      'p.yaml',
    );
    const r = await evaluate(runId, [split]);
    const c = r.policies[0]!.comparison;
    expect(r.strongest).toBe('s');
    expect(r.policies[0]!.figures.passRate.p).toBe(1);
    /*
     * The policy passes exactly where s does: b = c = 0, n = 200. Tango at Δ₀ = −.03: numerator 6,
     * p̃ = .03, variance 200·(.06 − .0309) = 5.82, z = 6/√5.82 = 2.487079 → p = 1 − Φ(z) = .006440.
     * Cost d: −.009 on the 100 easy records, 0 on the hard: mean −.0045, sd = .0045·√(200/199),
     * t = −.0045/(sd/√200) = −14.107; one-sided p far below .025. IUT p = max = .006440.
     */
    expect(c.quality.nonInferiority.statistic).toBeCloseTo(6 / Math.sqrt(5.82), 9);
    expect(c.quality.nonInferiority.p).toBeCloseTo(0.00644, 5);
    expect(c.cost.meanDiff).toBeCloseTo(-0.0045, 12);
    expect(c.cost.t).toBeCloseTo(-0.0045 / ((0.0045 * Math.sqrt(200 / 199)) / Math.sqrt(200)), 6);
    expect(c.cost.p).toBeLessThan(1e-10);
    expect(c.p).toBe(c.quality.nonInferiority.p);
    expect(c.verdict).toBe('CHEAPER AND NO WORSE');
    expect(c.why).toBe('');
    // The whole-run recommendation: w (.5) is far from non-inferior to s (1), so s.
    expect(r.recommendations[0]).toMatchObject({ best: 's', recommended: 's' });
  });
});

describe('renderers', () => {
  it('table, Markdown and JSON carry the figures; JSON writes NaN as null', async () => {
    const runId = handBuiltRun();
    storeRouterRows(runId, SCORED);
    const r = await evaluate(runId, [RULES, SCORED], { by: 'task' });
    const table = renderRoute(r, 'table');
    expect(table).toMatch(/^rules\s+policy\s+50\.0% \[/m);
    expect(table).toMatch(
      /APGR 0\.688 \(random routing: 0\.5\) · CPT\(50%\) 25\.0% · CPT\(80%\) 55\.0% escalated/,
    );
    expect(table).toMatch(/^WARNING: the threshold of policy scored/m);
    const md = renderRoute(r, 'md');
    expect(md).toMatch(/^\| rules \| policy \| 50\.0% \[/m);
    expect(md).toContain('> **WARNING: the threshold of policy scored');
    const json = JSON.parse(renderRoute(r, 'json')) as RouteResult;
    expect(json.version).toBe(1);
    expect(json.policies[1]!.sweep!.apgr).toBeCloseTo(0.6875, 12);
    // The rules policy has no router: its router cost is null.
    expect(json.policies[0]!.figures.cost.routerUsd).toBeNull();
  });
});
