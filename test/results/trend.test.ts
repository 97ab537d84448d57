import { afterEach, describe, expect, it } from 'vitest';
import { buildTrend, type TrendReport } from '../../results/report/report.js';
import { renderTrend } from '../../results/render/report-text.js';
import { Store } from '../../results/store/store.js';
import { call, newRun, parseCsv, score } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

/**
 * Suite weekly: run A created 2025-01-08 (stored first, so it has the lower id) and run B created
 * 2025-01-01. alpha is in both; beta only in A; a run of another suite is ignored.
 *   B (older): alpha r1 ✓ lat 100 $0.001, r2 ✗ lat 300 $0.003; served a-2024
 *   A (newer): alpha r1 ✓ lat 200 $0.002, r2 ✓ lat 400 $0.002, r3 ✗ error; served a-2025
 *              beta r1 ✓ lat 50
 */
function fixture(simulated = false): { older: number; newer: number } {
  store = new Store(':memory:');
  const newer = newRun(
    store,
    1,
    3,
    [
      ['alpha', 'gpt-a'],
      ['beta', 'gpt-b'],
    ],
    { suite: 'weekly', createdAt: '2025-01-08T00:00:00.000Z' },
  );
  const older = newRun(store, 1, 2, [['alpha', 'gpt-a-old']], {
    suite: 'weekly',
    createdAt: '2025-01-01T00:00:00.000Z',
  });
  const other = newRun(store, 1, 1, [['alpha', 'x']], { suite: 'daily' });
  const ok = (
    runId: number,
    recordId: string,
    latencyMs: number,
    costUsd: number | null,
    pass: boolean,
    over = {},
  ) =>
    store.recordCall(call(runId, { recordId, latencyMs, costUsd, ...over }), [
      score('s', pass ? 1 : 0, pass),
    ]);
  ok(older, 'r1', 100, 0.001, true, { servedModel: 'a-2024' });
  ok(older, 'r2', 300, 0.003, false, { servedModel: 'a-2024' });
  ok(newer, 'r1', 200, 0.002, true, { servedModel: 'a-2025', simulated });
  ok(newer, 'r2', 400, 0.002, true, { servedModel: 'a-2025', simulated });
  store.recordCall(call(newer, { recordId: 'r3', status: 'error', errorKind: 'timeout' }), []);
  ok(newer, 'r1', 50, null, true, { candidate: 'beta' });
  ok(other, 'r1', 1, 1, true);
  store.setRunStatus(older, 'finished', '2025-01-01T01:00:00.000Z');
  return { older, newer };
}

function series(t: TrendReport, candidate: string) {
  const s = t.candidates.find((c) => c.candidate === candidate);
  if (!s) throw new Error(`no series ${candidate}`);
  return s.points;
}

describe('buildTrend', () => {
  it('orders the suite runs by creation time, candidates by first appearance', () => {
    const { older, newer } = fixture();
    const t = buildTrend(store, 'weekly');
    expect(t.version).toBe(1);
    expect(t.runs.map((r) => r.id)).toEqual([older, newer]);
    expect(t.runs[0]).toEqual({
      id: older,
      createdAt: '2025-01-01T00:00:00.000Z',
      status: 'finished',
      recordCount: 2,
      repeats: 1,
    });
    expect(t.candidates.map((c) => c.candidate)).toEqual(['alpha', 'beta']);
    expect(series(t, 'alpha').map((p) => p.runId)).toEqual([older, newer]);
    expect(series(t, 'beta').map((p) => p.runId)).toEqual([newer]);
  });

  it('per run: n, pass rate with Wilson, mean score, cost per 1K, p50/p95, served models', () => {
    const { older, newer } = fixture();
    const [b, a] = series(buildTrend(store, 'weekly'), 'alpha');
    // older: 1 of 2 passed → Wilson(1, 2) = [0.0945312, 0.9054688]; $0.004 / 2 calls × 1000 = $2
    expect(b).toMatchObject({ runId: older, model: 'gpt-a-old', calls: 2, errors: 0, costPer1kCalls: 2 });
    expect(b!.passRate.p).toBe(0.5);
    expect(b!.passRate.lo).toBeCloseTo(0.0945312, 6);
    expect(b!.meanScore.mean).toBe(0.5);
    // [100, 300]: p50 200, p95 = 100 + 0.95 × 200 = 290
    expect(b!.latency).toEqual({ n: 2, p50: 200, p95: 290 });
    expect(b!.servedModels).toEqual([{ model: 'a-2024', calls: 2 }]);
    // newer: 2 of 2 scored passed, 1 error; $0.004 / 3 calls × 1000
    expect(a).toMatchObject({ runId: newer, model: 'gpt-a', calls: 3, errors: 1 });
    expect(a!.passRate).toMatchObject({ method: 'wilson', n: 2, p: 1, hi: 1 });
    expect(a!.costPer1kCalls).toBeCloseTo(4 / 3, 10);
    expect(a!.latency).toEqual({ n: 2, p50: 300, p95: 390 });
    expect(a!.servedModels).toEqual([{ model: 'a-2025', calls: 2 }]);
    // beta has no price
    expect(series(buildTrend(store, 'weekly'), 'beta')[0]!.costPer1kCalls).toBeNull();
  });

  it('notes when the configured or served model changed between runs', () => {
    const { older, newer } = fixture();
    expect(buildTrend(store, 'weekly').notes).toEqual([
      `alpha: configured model changed from gpt-a-old (run ${older}) to gpt-a (run ${newer}).`,
      `alpha: served model changed from a-2024 (run ${older}) to a-2025 (run ${newer}).`,
    ]);
  });

  it('says SIMULATED when any run was simulated', () => {
    fixture(true);
    const t = buildTrend(store, 'weekly');
    expect(t.simulated).toBe(true);
    expect(t.warnings[0]).toMatch(/^SIMULATED: .*\(candidates: alpha\)$/);
    expect(series(t, 'alpha').map((p) => p.simulated)).toEqual([false, true]);
  });

  it('an unknown suite is RUN_NOT_FOUND listing the suites', () => {
    fixture();
    expect(() => buildTrend(store, 'monthly')).toThrow(
      expect.objectContaining({ code: 'RUN_NOT_FOUND', hint: 'suites in this database: daily, weekly' }),
    );
  });
});

describe('renderTrend', () => {
  it('table and md: one row per candidate and run', () => {
    const { older, newer } = fixture();
    const t = buildTrend(store, 'weekly');
    const table = renderTrend(t, 'table');
    expect(table.split('\n')[0]).toBe('holdout trend · suite weekly · 2 runs, oldest first');
    const rows = table.split('\n').filter((l) => /^(alpha|beta) /.test(l));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(
      new RegExp(`^alpha +${older} +2025-01-01T00:00:00.000Z +finished +gpt-a-old +2 +0 +50\\.0%`),
    );
    expect(rows[1]).toMatch(new RegExp(`^alpha +${newer} .* 100\\.0% .* a-2025$`));
    expect(table).toContain('served model changed');
    const md = renderTrend(t, 'md');
    expect(md.startsWith('## holdout trend: suite weekly\n')).toBe(true);
    expect(md).toContain('| candidate | run | created |');
    expect(md).toContain('\\$2.00'); // cost per 1K, $ escaped
  });

  it('json and csv', () => {
    const { older } = fixture();
    const t = buildTrend(store, 'weekly');
    expect(JSON.parse(renderTrend(t, 'json')).candidates[0].points[0].runId).toBe(older);
    const rows = parseCsv(renderTrend(t, 'csv'));
    const header = rows[0]!;
    expect(rows).toHaveLength(4);
    const get = (row: number, col: string) => rows[row]![header.indexOf(col)];
    expect(get(1, 'candidate')).toBe('alpha');
    expect(get(1, 'run_id')).toBe(String(older));
    expect(get(1, 'pass_rate')).toBe('0.5');
    expect(get(1, 'latency_p95_ms')).toBe('290');
    expect(get(1, 'served_models')).toBe('a-2024:2');
    expect(get(3, 'cost_per_1k_calls_usd')).toBe('');
  });

  it('rejects html', () => {
    fixture();
    expect(() => renderTrend(buildTrend(store, 'weekly'), 'html' as 'md')).toThrow(
      /use table, md, json or csv/,
    );
  });
});
