import { afterEach, describe, expect, it } from 'vitest';
import { buildReport, type Figures, type RunReport } from '../../results/report/report.js';
import { Store } from '../../results/store/store.js';
import { addRecords, call, newRun, score } from './report-helpers.js';

// Expected figures are worked out by hand in the comments; order-statistic ranks come from
// scipy.stats.binom.ppf (R's qbinom), pasted as literals.

let store: Store;
afterEach(() => store?.close());

/**
 * alpha and beta over 5 records tagged by task:
 *   r1 extract  alpha ok lat 100 ttft 20  $0.001   ✓    beta ok lat 5  $0      ✓
 *   r2 extract  alpha ok lat 200 ttft 40  $0.002   ✗    beta error rate_limit
 *   r3 chat     alpha ok lat 300          $0.0015  ✓    beta error rate_limit
 *   r4 chat     alpha ok lat 400 ttft 60  $0.00085 -    beta error (no kind)
 *   r5 (no tag) alpha error timeout                    beta ok lat 7 (no cost) ✓
 * plus a judge call ($0.01, 900 in / 20 out tokens) and a router call ($0.002) on r1.
 */
function fixture(): number {
  store = new Store(':memory:');
  const runId = newRun(store, 1, 5, [
    ['alpha', 'gpt-a'],
    ['beta', 'gpt-b'],
  ]);
  addRecords(store, runId, [
    ['r1', { task: 'extract', tenant: 'acme' }],
    ['r2', { task: 'extract' }],
    ['r3', { task: 'chat' }],
    ['r4', { task: 'chat' }],
    ['r5', {}],
  ]);
  const a = (over: Parameters<typeof call>[1], scores = [score('exact', 1, true)]) =>
    store.recordCall(call(runId, { candidate: 'alpha', ...over }), scores);
  a({ recordId: 'r1', latencyMs: 100, ttftMs: 20, outputTokens: 40, costUsd: 0.001 });
  a({ recordId: 'r2', latencyMs: 200, ttftMs: 40, outputTokens: 80, costUsd: 0.002 }, [
    score('exact', 0, false),
  ]);
  a({ recordId: 'r3', latencyMs: 300, outputTokens: 60, costUsd: 0.0015 });
  a({ recordId: 'r4', latencyMs: 400, ttftMs: 60, outputTokens: 100, costUsd: 0.00085 }, []);
  a({ recordId: 'r5', status: 'error', errorKind: 'timeout', output: null }, []);
  const b = (over: Parameters<typeof call>[1], scores = [score('exact', 1, true)]) =>
    store.recordCall(call(runId, { candidate: 'beta', ...over }), scores);
  b({ recordId: 'r1', latencyMs: 5, costUsd: 0 });
  b({ recordId: 'r2', status: 'error', errorKind: 'rate_limit' }, []);
  b({ recordId: 'r3', status: 'error', errorKind: 'rate_limit' }, []);
  b({ recordId: 'r4', status: 'error' }, []);
  b({ recordId: 'r5', latencyMs: 7 });
  store.recordCall(
    call(runId, {
      role: 'judge',
      candidate: 'judge-model',
      costUsd: 0.01,
      inputTokens: 900,
      outputTokens: 20,
    }),
    [],
  );
  store.recordCall(call(runId, { role: 'router', candidate: 'router-model', costUsd: 0.002 }), []);
  store.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return runId;
}

function report(opts: { by?: string } = {}): RunReport {
  const runId = fixture();
  return buildReport(store, runId, opts);
}

/** Numbers rounded to 12 significant digits, recursively. */
function rounded(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? Number(v.toPrecision(12)) : v;
  if (Array.isArray(v)) return v.map(rounded);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rounded(x)]));
  return v;
}

function slice(r: RunReport, value: string | null, candidate: string): Figures {
  const s = r.slices.find((x) => x.value === value);
  const c = s?.candidates.find((x) => x.candidate === candidate);
  if (!c) throw new Error(`no slice ${value} / ${candidate}`);
  return c;
}

describe('buildReport v2 figures', () => {
  it('cost per passing answer: total cost over passes', () => {
    const r = report();
    const alpha = r.candidates[0]!;
    // $0.00535 over 2 passes (r1, r3); r2 failed, r4 unscored, r5 errored — all paid for.
    expect(alpha.costPerPass).toBeCloseTo(0.002675, 12);
    // beta: $0 known over 2 passes
    expect(r.candidates[1]!.costPerPass).toBe(0);
  });

  it('TTFT p50 and p95, latency p50/p95/p99 with order-statistic intervals', () => {
    const alpha = report().candidates[0]!;
    // TTFTs [20, 40, 60]: p50 40; p95 h = 2 × 0.95 = 1.9 → 40 + 0.9 × 20 = 58
    expect(alpha.ttft.n).toBe(3);
    expect(alpha.ttft.p50).toBe(40);
    expect(alpha.ttft.p95).toBeCloseTo(58, 10);
    // Latencies [100, 200, 300, 400], n = 4: every interval is unbounded above.
    // p50: l = qbinom(0.025, 4, 0.5) = 0 → no lower bound either.
    expect(alpha.latency.p50).toEqual({ value: 250, lo: null, hi: null, bounded: false });
    // p99: h = 2.97 → 397; l = qbinom(0.025, 4, 0.99) = 3 → x(3) = 300
    expect(alpha.latency.p99.value).toBeCloseTo(397, 10);
    expect(alpha.latency.p99).toMatchObject({ lo: 300, hi: null, bounded: false });
    // 101 quantiles from the fastest to the slowest
    expect(alpha.latencyQuantiles).toHaveLength(101);
    expect(alpha.latencyQuantiles[0]).toBe(100);
    expect(alpha.latencyQuantiles[50]).toBe(250);
    expect(alpha.latencyQuantiles[100]).toBe(400);
  });

  it('p99 is unbounded below 368 ok calls and bounded from 368', () => {
    store = new Store(':memory:');
    const at = (n: number) => {
      const runId = newRun(store, 1, n, [['alpha', 'gpt-a']]);
      // Latency of record i is i (1-based), so the k-th order statistic is k.
      store.db.transaction(() => {
        for (let i = 1; i <= n; i++) store.recordCall(call(runId, { recordId: `r${i}`, latencyMs: i }), []);
      })();
      return buildReport(store, runId).candidates[0]!.latency;
    };
    // n = 367: l = qbinom(0.025, 367, 0.99) = 359, u = qbinom(0.975, 367, 0.99) + 1 = 368 > n
    const short = at(367);
    expect(short.p99).toMatchObject({ lo: 359, hi: null, bounded: false });
    // p95 is bounded there: l = 340, u = 357
    expect(short.p95).toMatchObject({ lo: 340, hi: 357, bounded: true });
    // n = 368: l = 360, u = 368 = n → [x(360), x(368)]
    const enough = at(368);
    expect(enough.p99).toMatchObject({ lo: 360, hi: 368, bounded: true });
    // type 7: h = 367 × 0.99 = 363.33 → 364.33
    expect(enough.p99.value).toBeCloseTo(364.33, 10);
    const report = buildReport(store, 1);
    expect(report.notes.join('\n')).toMatch(/p99 intervals need about 368 ok calls.*alpha/);
  });

  it('cost by role: judges and routers apart, candidate figures candidate-only', () => {
    const r = report();
    expect(r.costByRole.map((x) => x.role)).toEqual(['candidate', 'judge', 'router']);
    const [cand, judge, router] = r.costByRole;
    // candidates: alpha 0.00535 + beta 0 (+ one unpriced call)
    expect(cand!.calls).toBe(10);
    expect(cand!.costUsd).toBeCloseTo(0.00535, 12);
    expect(judge).toEqual({
      role: 'judge',
      calls: 1,
      costUsd: 0.01,
      tokens: { input: 900, cached: 0, output: 20, reasoning: 0 },
    });
    expect(router).toMatchObject({ role: 'router', calls: 1, costUsd: 0.002 });
    // The candidates' own figures do not include the judge or router.
    expect(r.candidates[0]!.totalCostUsd).toBeCloseTo(0.00535, 12);
    expect(r.candidates.map((c) => c.calls)).toEqual([5, 5]);
    expect(r.notes.join('\n')).toContain(
      "Kept apart from the candidates' figures: judge calls 1 ($0.01000), router calls 1 ($0.002000).",
    );
  });

  it('a role with no calls has a null cost', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 1, [['alpha', 'gpt-a']]);
    const r = buildReport(store, runId);
    expect(r.costByRole).toEqual([
      {
        role: 'candidate',
        calls: 0,
        costUsd: null,
        tokens: { input: 0, cached: 0, output: 0, reasoning: 0 },
      },
      { role: 'judge', calls: 0, costUsd: null, tokens: { input: 0, cached: 0, output: 0, reasoning: 0 } },
      { role: 'router', calls: 0, costUsd: null, tokens: { input: 0, cached: 0, output: 0, reasoning: 0 } },
    ]);
  });
});

describe('buildReport by a tag', () => {
  it('one slice per tag value, sorted, records without the tag last', () => {
    const r = report({ by: 'task' });
    expect(r.by).toBe('task');
    expect(r.slices.map((s) => [s.value, s.records])).toEqual([
      ['chat', 2],
      ['extract', 2],
      [null, 1],
    ]);
    for (const s of r.slices) expect(s.candidates.map((c) => c.candidate)).toEqual(['alpha', 'beta']);
  });

  it('per-slice figures', () => {
    const r = report({ by: 'task' });
    // alpha / extract: r1 ✓ $0.001 lat 100 ttft 20, r2 ✗ $0.002 lat 200 ttft 40
    const ae = slice(r, 'extract', 'alpha');
    expect(ae).toMatchObject({ calls: 2, ok: 2, errors: 0, scored: 2, passes: 1 });
    // Wilson(1, 2): centre 0.5, half = (1.959964/2.920729)·√(0.125 + 3.841459/16) = 0.4054688
    // → [0.0945312, 0.9054688]
    expect(ae.passRate.p).toBe(0.5);
    expect(ae.passRate.lo).toBeCloseTo(0.0945312, 6);
    expect(ae.passRate.hi).toBeCloseTo(0.9054688, 6);
    expect(ae.totalCostUsd).toBeCloseTo(0.003, 12);
    expect(ae.costPer1kCalls).toBeCloseTo(1.5, 10); // 0.003 / 2 × 1000
    expect(ae.costPerPass).toBeCloseTo(0.003, 12); // one pass
    expect(ae.latency.p50.value).toBe(150);
    expect(ae.ttft).toEqual({ n: 2, p50: 30, p95: 39 }); // h = 0.95 → 20 + 0.95 × 20
    // Streamed: (40 + 80) tokens over (80 + 160) ms
    expect(ae.outputTokensPerSec).toBeCloseTo(500, 10);
    // alpha / chat: r3 ✓ $0.0015 lat 300, r4 unscored $0.00085 lat 400 ttft 60
    const ac = slice(r, 'chat', 'alpha');
    expect(ac).toMatchObject({ calls: 2, ok: 2, scored: 1, passes: 1 });
    expect(ac.totalCostUsd).toBeCloseTo(0.00235, 12);
    expect(ac.costPerPass).toBeCloseTo(0.00235, 12);
    expect(ac.latency.p50.value).toBe(350);
    expect(ac.ttft).toEqual({ n: 1, p50: 60, p95: 60 });
    // alpha / no tag: the timeout
    const an = slice(r, null, 'alpha');
    expect(an).toMatchObject({ calls: 1, ok: 0, errors: 1, errorsByKind: { timeout: 1 }, scored: 0 });
    expect(an.totalCostUsd).toBeNull();
    expect(an.passRate.p).toBeNaN();
    // beta / chat: two errors, one without a kind
    const bc = slice(r, 'chat', 'beta');
    expect(bc).toMatchObject({ calls: 2, ok: 0, errors: 2, errorsByKind: { rate_limit: 1, unknown: 1 } });
    // beta / no tag: r5, ok without a cost
    expect(slice(r, null, 'beta')).toMatchObject({ calls: 1, costUnknown: 1, passes: 1, totalCostUsd: null });
  });

  it('slices add up to the whole run, and the whole is the same as without slicing', () => {
    const runId = fixture();
    const plain = buildReport(store, runId);
    const sliced = buildReport(store, runId, { by: 'task' });
    // Equal up to the order in which floating-point costs were summed.
    expect(rounded(sliced.candidates)).toEqual(rounded(plain.candidates));
    for (const [i, c] of plain.candidates.entries()) {
      const parts = sliced.slices.map((s) => s.candidates[i]!);
      expect(parts.reduce((n, p) => n + p.calls, 0)).toBe(c.calls);
      expect(parts.reduce((n, p) => n + p.passes, 0)).toBe(c.passes);
      expect(parts.reduce((n, p) => n + p.latency.n, 0)).toBe(c.latency.n);
    }
  });

  it('slices average repeats per prompt within the slice', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 2, 3, [['alpha', 'gpt-a']]);
    addRecords(store, runId, [
      ['p0', { task: 'a' }],
      ['p1', { task: 'a' }],
      ['p2', { task: 'b' }],
    ]);
    // Per-prompt pass rates: p0 1, p1 0.5 (task a), p2 0 (task b)
    const passed = [
      [true, true],
      [true, false],
      [false, false],
    ];
    passed.forEach((ps, i) => {
      ps.forEach((p, repeat) => {
        store.recordCall(call(runId, { recordId: `p${i}`, repeat }), [score('q', p ? 1 : 0, p)]);
      });
    });
    const r = buildReport(store, runId, { by: 'task' });
    const a = slice(r, 'a', 'alpha');
    // Rates [1, 0.5]: mean 0.75, sd 0.3535534, half = qt(0.975, 1) × 0.25 = 12.7062047 × 0.25 → clipped
    expect(a.passRate).toEqual({ method: 'per-prompt-t', n: 2, p: 0.75, lo: 0, hi: 1 });
    expect(a).toMatchObject({ scored: 4, passes: 3 });
    expect(slice(r, 'b', 'alpha').passRate).toMatchObject({ n: 1, p: 0 });
  });

  it('a tag name with dots is one key', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 1, [['alpha', 'gpt-a']]);
    addRecords(store, runId, [['r1', { 'app.route': 'x/y', app: 'nested?' }]]);
    store.recordCall(call(runId, { recordId: 'r1' }), []);
    expect(buildReport(store, runId, { by: 'app.route' }).slices.map((s) => s.value)).toEqual(['x/y']);
  });

  it('an unknown tag is a usage error listing the tags there are', () => {
    const runId = fixture();
    expect(() => buildReport(store, runId, { by: 'tenat' })).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: `no record of run ${runId} has a tag 'tenat'`,
        hint: "the records' tags are: task, tenant",
      }),
    );
    expect(() => buildReport(store, runId, { by: 'a"b' })).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    expect(() => buildReport(store, runId, { by: '' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('notes slices under 30 records as descriptive only', () => {
    const r = report({ by: 'task' });
    expect(r.notes.join('\n')).toContain(
      'Slices with fewer than 30 records are descriptive only: chat, extract, (no tag).',
    );
  });
});
