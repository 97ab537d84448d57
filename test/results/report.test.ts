import { afterEach, describe, expect, it } from 'vitest';
import { buildReport, type RunReport } from '../../results/report/report.js';
import { formatMs, formatPercent, formatUsd, renderReport } from '../../results/render/report-text.js';
import { type CallRow, type ScoreRow, Store } from '../../results/store/store.js';
import { addRecords, call, newRun, parseCsv } from './report-helpers.js';

// Every expected figure is worked out by hand in the comments; intervals use z = 1.959963985 and
// R's qt values, pasted as literals.

let store: Store;
afterEach(() => store?.close());

const score = (scorer: string, value: number | null, passed: boolean | null): ScoreRow => ({
  scorer,
  value,
  passed,
});

/**
 * alpha, 5 records:
 *   r1 ok  lat 100 ttft 20  out 40  in 100 cached 10  $0.001    served a-2024  exact 1 ✓, judge 0.8 ✓
 *   r2 ok  lat 200 ttft 40  out 80  in 200 reason 30  $0.002    served a-2024  exact 0 ✗, judge 0.6 ✓
 *   r3 ok  lat 300 no ttft  out 60  in 150            $0.0015   served a-2025  exact 1 ✓, judge unscored
 *   r4 ok  lat 400 ttft 60  out 100 in 100            $0.00085  served a-2024  judge unscored only
 *          attempts 2, backoff 500
 *   r5 error timeout, attempts 3, backoff 1500, no scores
 *   queue 10 ms on every call
 * beta, 5 records:
 *   r1 ok lat 5 $0 exact ✓; r2, r3 error rate_limit; r4 error without a kind; r5 ok lat 7 no cost exact ✓
 * judge-model: one judge call ($0.01), which must not count for any candidate.
 */
function fixture(simulated: boolean): number {
  const runId = newRun(store, 1, 5, [
    ['alpha', 'gpt-a'],
    ['beta', 'gpt-b'],
    ['gamma', 'gpt-c'],
  ]);
  const a = (over: Partial<CallRow>, scores: ScoreRow[] = []) =>
    store.recordCall(call(runId, { candidate: 'alpha', queueMs: 10, ...over }), scores);
  a(
    {
      recordId: 'r1',
      latencyMs: 100,
      ttftMs: 20,
      outputTokens: 40,
      inputTokens: 100,
      cachedTokens: 10,
      reasoningTokens: 0,
      costUsd: 0.001,
      servedModel: 'a-2024',
    },
    [score('exact', 1, true), score('judge', 0.8, true)],
  );
  a(
    {
      recordId: 'r2',
      latencyMs: 200,
      ttftMs: 40,
      outputTokens: 80,
      inputTokens: 200,
      reasoningTokens: 30,
      costUsd: 0.002,
      servedModel: 'a-2024',
    },
    [score('exact', 0, false), score('judge', 0.6, true)],
  );
  a(
    {
      recordId: 'r3',
      latencyMs: 300,
      outputTokens: 60,
      inputTokens: 150,
      costUsd: 0.0015,
      servedModel: 'a-2025',
    },
    [score('exact', 1, true), score('judge', null, null)],
  );
  a(
    {
      recordId: 'r4',
      latencyMs: 400,
      ttftMs: 60,
      outputTokens: 100,
      inputTokens: 100,
      costUsd: 0.00085,
      servedModel: 'a-2024',
      attempts: 2,
      backoffMs: 500,
    },
    [score('judge', null, null)],
  );
  a({ recordId: 'r5', status: 'error', output: null, errorKind: 'timeout', attempts: 3, backoffMs: 1500 });

  const b = (over: Partial<CallRow>, scores: ScoreRow[] = []) =>
    store.recordCall(call(runId, { candidate: 'beta', simulated, ...over }), scores);
  b({ recordId: 'r1', latencyMs: 5, costUsd: 0 }, [score('exact', 1, true)]);
  b({ recordId: 'r2', status: 'error', errorKind: 'rate_limit', attempts: 2 });
  b({ recordId: 'r3', status: 'error', errorKind: 'rate_limit' });
  b({ recordId: 'r4', status: 'error' });
  b({ recordId: 'r5', latencyMs: 7 }, [score('exact', 1, true)]);

  store.recordCall(call(runId, { role: 'judge', candidate: 'judge-model', costUsd: 0.01, simulated }), []);
  store.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return runId;
}

function candidate(report: RunReport, name: string) {
  const c = report.candidates.find((x) => x.candidate === name);
  if (!c) throw new Error(`no candidate ${name}`);
  return c;
}

describe('buildReport', () => {
  it('reads the run header', () => {
    store = new Store(':memory:');
    const runId = fixture(false);
    const r = buildReport(store, runId);
    expect(r.version).toBe(2);
    expect(r.run).toEqual({
      id: runId,
      suite: 'nightly',
      status: 'finished',
      createdAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T01:00:00.000Z',
      datasetPath: 'data/prod.jsonl',
      recordCount: 5,
      repeats: 1,
      configPath: 'holdout.yaml',
    });
    expect(r.method).toEqual({
      confidence: 0.95,
      percentiles: 'type-7',
      latencyInterval: 'order-statistic',
      passRate: 'wilson',
      meanScore: 'per-call-t',
      bootstrap: { seed: 1, maxResamples: 10_000 },
    });
    expect([r.by, r.slices, r.baseline, r.comparisons]).toEqual([null, [], null, []]);
    expect(r.simulated).toBe(false);
    expect(r.simulatedCandidates).toEqual([]);
    expect(r.warnings).toEqual([]);
    // Candidates in table order, judges excluded.
    expect(r.candidates.map((c) => c.candidate)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('counts calls, errors, retries, tokens, cost and served models', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'alpha');
    expect(c.model).toBe('gpt-a');
    expect(c.calls).toBe(5);
    expect(c.ok).toBe(4);
    expect(c.errors).toBe(1);
    expect(c.errorsByKind).toEqual({ timeout: 1 });
    expect(c.retried).toBe(2); // r4 (2 attempts) and r5 (3)
    // 0.001 + 0.002 + 0.0015 + 0.00085 = 0.00535; per 1K calls: 0.00535 / 5 × 1000 = 1.07
    expect(c.totalCostUsd).toBeCloseTo(0.00535, 12);
    expect(c.costPer1kCalls).toBeCloseTo(1.07, 10);
    expect(c.costUnknown).toBe(0);
    // input 100 + 200 + 150 + 100; cached 10; output 40 + 80 + 60 + 100; reasoning 30
    expect(c.tokens).toEqual({ input: 550, cached: 10, output: 280, reasoning: 30 });
    expect(c.servedModels).toEqual([
      { model: 'a-2024', calls: 3 },
      { model: 'a-2025', calls: 1 },
    ]);
    // queue 5 × 10; backoff 500 + 1500 over 5 calls
    expect(c.queue).toEqual({ totalMs: 50, meanMs: 10 });
    expect(c.backoff).toEqual({ totalMs: 2000, meanMs: 400 });
  });

  it('computes pass rate with Wilson over scored calls, ignoring unscored scores', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'alpha');
    // Scored: r1, r2, r3 (r4 has only an unscored score, r5 errored). Passing: r1, r3
    // (r2 failed exact; r3's unscored judge is ignored).
    expect(c.scored).toBe(3);
    expect(c.passes).toBe(2);
    // Wilson(2, 3): z²/n = 1.2804863, centre = (0.6666667 + 0.6402431)/2.2804863 = 0.5730851,
    // half = (1.959964/2.2804863)·√(0.2222222/3 + 3.8414588/36) = 0.3654255 → [0.2076596, 0.9385081]
    expect(c.passRate.method).toBe('wilson');
    expect(c.passRate.n).toBe(3);
    expect(c.passRate.p).toBeCloseTo(0.6666667, 6);
    expect(c.passRate.lo).toBeCloseTo(0.2076596, 6);
    expect(c.passRate.hi).toBeCloseTo(0.9385081, 6);
  });

  it('computes the mean score with a t interval over scored calls', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'alpha');
    // Call scores: r1 (1 + 0.8)/2 = 0.9, r2 (0 + 0.6)/2 = 0.3, r3 = 1 (unscored judge ignored).
    // mean 2.2/3 = 0.7333333; sd = √((0.1666667² + 0.4333333² + 0.2666667²)/2) = √0.1433333 = 0.3785939
    // half = qt(0.975, 2)·sd/√3 = 4.3026527 × 0.2185812 = 0.9404793 → [−0.2071460, 1.6738127],
    // clipped to [0, 1] where scores live → [0, 1].
    expect(c.meanScore.n).toBe(3);
    expect(c.meanScore.mean).toBeCloseTo(0.7333333, 6);
    expect(c.meanScore.lo).toBe(0);
    expect(c.meanScore.hi).toBe(1);
  });

  it('computes latency percentiles, TTFT and tokens per second', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'alpha');
    // ok latencies [100, 200, 300, 400]: p50 h = 1.5 → 250; p95 h = 2.85 → 300 + 0.85 × 100 = 385
    expect(c.latency.n).toBe(4);
    expect(c.latency.p50.value).toBeCloseTo(250, 10);
    expect(c.latency.p95.value).toBeCloseTo(385, 10);
    // p99: h = 2.97 → 300 + 0.97 × 100 = 397
    expect(c.latency.p99.value).toBeCloseTo(397, 10);
    // TTFTs [20, 40, 60] → p50 40; p95 h = 1.9 → 40 + 0.9 × 20 = 58
    expect(c.ttft).toEqual({ n: 3, p50: 40, p95: expect.closeTo(58, 10) });
    // Streamed ok calls r1, r2, r4: (40 + 80 + 100) tokens / ((80 + 160 + 340) ms / 1000) = 220/0.58
    expect(c.outputTokensPerSec).toBeCloseTo(379.3103448, 6);
  });

  it('handles errors without a kind, free and unpriced calls, and no streaming', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'beta');
    expect(c.errors).toBe(3);
    expect(c.errorsByKind).toEqual({ rate_limit: 2, unknown: 1 });
    expect(c.scored).toBe(2);
    expect(c.passes).toBe(2);
    expect(c.totalCostUsd).toBe(0); // $0 + unknown
    expect(c.costUnknown).toBe(1);
    // [5, 7]: p50 = 6, p95 = 5 + 0.95 × 2 = 6.9
    expect(c.latency.p50.value).toBeCloseTo(6, 10);
    expect(c.latency.p95.value).toBeCloseTo(6.9, 10);
    expect(c.ttft).toEqual({ n: 0, p50: null, p95: null });
    expect(c.outputTokensPerSec).toBeNull();
    // Both scores 1: sd 0, so the interval collapses on the mean.
    expect(c.meanScore).toEqual({ n: 2, mean: 1, lo: 1, hi: 1 });
  });

  it('reports a candidate without calls as empty', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'gamma');
    expect(c.calls).toBe(0);
    expect(c.scored).toBe(0);
    expect(c.passRate.p).toBeNaN();
    expect([c.passRate.lo, c.passRate.hi]).toEqual([0, 1]);
    expect(c.meanScore.mean).toBeNaN();
    expect(c.totalCostUsd).toBeNull();
    expect(c.costPer1kCalls).toBeNull();
    const none = { value: null, lo: null, hi: null, bounded: false };
    expect(c.latency).toEqual({ n: 0, p50: none, p95: none, p99: none });
    expect(c.latencyQuantiles).toEqual([]);
    expect(c.costPerPass).toBeNull();
    expect(c.scorers).toEqual([]);
  });

  it('breaks figures down per scorer', () => {
    store = new Store(':memory:');
    const c = candidate(buildReport(store, fixture(false)), 'alpha');
    const [exact, judge] = c.scorers;
    // exact: r1 ✓, r2 ✗, r3 ✓ → 2/3, Wilson as above; mean (1 + 0 + 1)/3
    expect(exact).toMatchObject({ scorer: 'exact', scored: 3, unscored: 0, passes: 2 });
    expect(exact?.passRate.lo).toBeCloseTo(0.2076596, 6);
    expect(exact?.passRate.hi).toBeCloseTo(0.9385081, 6);
    expect(exact?.meanValue).toBeCloseTo(0.6666667, 6);
    // judge: r1 0.8 ✓, r2 0.6 ✓, r3 and r4 unscored → 2/2; mean 0.7.
    // Wilson(2, 2): hi = 1; lo = centre − half = (1 + 0.9603647)/2.9207294 − 0.9603647/2.9207294 = 0.3423802
    expect(judge).toMatchObject({ scorer: 'judge', scored: 2, unscored: 2, passes: 2 });
    expect(judge?.passRate.lo).toBeCloseTo(0.3423802, 6);
    expect(judge?.passRate.hi).toBe(1);
    expect(judge?.meanValue).toBeCloseTo(0.7, 10);
  });

  it('flags simulated calls, judges included', () => {
    store = new Store(':memory:');
    const r = buildReport(store, fixture(true));
    expect(r.simulated).toBe(true);
    expect(r.simulatedCandidates).toEqual(['beta', 'judge-model']);
    expect(r.warnings[0]).toBe(
      "SIMULATED: these models were served by holdout's local simulator, not real models " +
        '(candidates: beta, judge-model)',
    );
  });

  it('writes notes on what was left out', () => {
    store = new Store(':memory:');
    const notes = buildReport(store, fixture(false)).notes.join('\n');
    expect(notes).toMatch(/Only 5 prompts/);
    expect(notes).toMatch(/alpha: 1 errored call left out of its pass rate/);
    expect(notes).toMatch(/alpha: 1 ok call without a usable score/);
    expect(notes).toMatch(/beta: 3 errored calls left out/);
    expect(notes).toMatch(/beta: cost unknown for 1 ok call, left out/);
  });

  it('counts and notes answers cut off at the token limit or stopped by a content filter, per candidate and slice', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 4, [
      ['chat', 'gpt-a'],
      ['resp', 'gpt-b'],
    ]);
    addRecords(store, runId, [
      ['r1', { task: 'a' }],
      ['r2', { task: 'a' }],
      ['r3', { task: 'b' }],
      ['r4', { task: 'b' }],
    ]);
    const put = (candidate: string, recordId: string, over: Partial<CallRow>) =>
      store.recordCall(call(runId, { candidate, recordId, ...over }), [score('exact', 1, true)]);
    // chat: 2 cut at the limit (Chat's finish_reason), 1 filtered, 1 whole; resp: 1 cut (Responses').
    put('chat', 'r1', { finishReason: 'length' });
    put('chat', 'r2', { finishReason: 'length' });
    put('chat', 'r3', { finishReason: 'content_filter' });
    put('chat', 'r4', { finishReason: 'stop' });
    put('resp', 'r1', { finishReason: 'max_output_tokens' });
    put('resp', 'r2', { finishReason: 'completed' });
    put('resp', 'r3', { finishReason: null });
    // An error row's finish reason (none) counts for nothing.
    put('resp', 'r4', { status: 'error', errorKind: 'server_error', finishReason: null, output: null });
    const r = buildReport(store, runId);
    expect(candidate(r, 'chat')).toMatchObject({ ok: 4, cutOff: 2, contentFiltered: 1 });
    expect(candidate(r, 'resp')).toMatchObject({ ok: 3, cutOff: 1, contentFiltered: 0 });
    const notes = r.notes.join('\n');
    expect(notes).toMatch(/chat: 2 of 4 ok calls stopped at the output token limit \(finish_reason length/);
    expect(notes).toMatch(/resp: 1 of 3 ok calls stopped at the output token limit/);
    expect(notes).toMatch(/chat: 1 of 4 ok calls stopped by the provider's content filter/);
    expect(notes).not.toMatch(/resp: .*content filter/);
    // Slices add up to the whole.
    const sliced = buildReport(store, runId, { by: 'task' });
    const chat = (value: string) =>
      sliced.slices.find((x) => x.value === value)?.candidates.find((x) => x.candidate === 'chat');
    expect([chat('a')?.cutOff, chat('a')?.contentFiltered]).toEqual([2, 0]);
    expect([chat('b')?.cutOff, chat('b')?.contentFiltered]).toEqual([0, 1]);
  });

  it('averages repeats per prompt before the interval', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 3, 6, [['alpha', 'gpt-a']]);
    // value ≥ 0.5 passes. Per prompt: pass rate, mean value
    const values = [
      [0.9, 0.7, 0.2], // 2/3, 0.6
      [0.8, 0.6, 0.1], // 2/3, 0.5
      [1.0, 0.5, 0.0], // 2/3, 0.5
      [0.6, 0.9, 0.3], // 2/3, 0.6
      [1.0, 1.0, 0.7], // 1,   0.9
      [0.4, 0.2, 0.9], // 1/3, 0.5
    ];
    values.forEach((vs, i) => {
      vs.forEach((v, repeat) => {
        store.recordCall(call(runId, { recordId: `p${i}`, repeat, latencyMs: 10 }), [
          score('q', v, v >= 0.5),
        ]);
      });
    });
    const r = buildReport(store, runId);
    expect(r.method.passRate).toBe('per-prompt-t');
    expect(r.method.meanScore).toBe('per-prompt-t');
    const c = candidate(r, 'alpha');
    expect(c.scored).toBe(18);
    expect(c.passes).toBe(12);
    // Rates [2/3 ×4, 1, 1/3]: mean 2/3, sd = √((2 × (1/3)²)/5) = 0.2108185, se = 0.0860663,
    // half = qt(0.975, 5) × se = 2.5705818 × 0.0860663 = 0.2212404 → [0.4454262, 0.8879071]
    expect(c.passRate).toMatchObject({ method: 'per-prompt-t', n: 6 });
    expect(c.passRate.p).toBeCloseTo(0.6666667, 6);
    expect(c.passRate.lo).toBeCloseTo(0.4454262, 6);
    expect(c.passRate.hi).toBeCloseTo(0.8879071, 6);
    // Means [0.6, 0.5, 0.5, 0.6, 0.9, 0.5]: mean 0.6, sd = √(0.12/5) = 0.1549193,
    // half = 2.5705818 × 0.1549193/√6 = 0.1625779 → [0.4374221, 0.7625779]
    expect(c.meanScore.n).toBe(6);
    expect(c.meanScore.mean).toBeCloseTo(0.6, 10);
    expect(c.meanScore.lo).toBeCloseTo(0.4374221, 6);
    expect(c.meanScore.hi).toBeCloseTo(0.7625779, 6);
    const [q] = c.scorers;
    expect(q).toMatchObject({ scorer: 'q', scored: 18, unscored: 0, passes: 12 });
    expect(q?.passRate.lo).toBeCloseTo(0.4454262, 6);
    expect(q?.meanValue).toBeCloseTo(0.6, 10);
    expect(r.notes.join('\n')).toMatch(/3 repeats per prompt/);
  });

  it('clips a per-prompt interval to [0, 1]', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 2, 3, [['alpha', 'gpt-a']]);
    // Rates [1, 0.5, 0]: mean 0.5, sd 0.5, half = qt(0.975, 2) × 0.5/√3 = 1.242 → clipped to [0, 1]
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
    const c = candidate(buildReport(store, runId), 'alpha');
    expect(c.passRate).toEqual({ method: 'per-prompt-t', n: 3, p: 0.5, lo: 0, hi: 1 });
  });

  it('throws RUN_NOT_FOUND for an unknown run', () => {
    store = new Store(':memory:');
    expect(() => buildReport(store, 42)).toThrow(expect.objectContaining({ code: 'RUN_NOT_FOUND' }));
  });
});

describe('formatting', () => {
  it('shows fractions of a cent and never rounds a nonzero cost to $0.00', () => {
    expect(formatUsd(0.00435)).toBe('$0.004350');
    expect(formatUsd(0.1234567)).toBe('$0.1235');
    expect(formatUsd(1.5e-7)).toBe('$0.0000001500');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(12.3456)).toBe('$12.35');
    expect(formatUsd(null)).toBe('-');
  });

  it('formats percent with one decimal and ms without decimals above 10 ms', () => {
    expect(formatPercent(0.66666)).toBe('66.7%');
    expect(formatPercent(Number.NaN)).toBe('-');
    expect(formatMs(384.6)).toBe('385');
    expect(formatMs(6.94)).toBe('6.9');
    expect(formatMs(null)).toBe('-');
  });
});

describe('renderReport', () => {
  const SIM = "SIMULATED: these models were served by holdout's local simulator, not real models";

  it('table: header, key figures, scorers and notes', () => {
    store = new Store(':memory:');
    const out = renderReport(buildReport(store, fixture(false)), 'table');
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^holdout run \d+ · suite nightly · finished/);
    expect(out).toContain('Percentiles are type 7');
    expect(out).toContain('intervals are 95%');
    expect(out).not.toContain('SIMULATED');
    const alpha = lines.find((l) => l.startsWith('alpha '))!;
    expect(alpha).toContain('gpt-a');
    expect(alpha).toContain('66.7% [20.8, 93.9]');
    expect(alpha).toContain('0.733 [0.000, 1.000]');
    expect(alpha).toContain('$0.005350'); // 4 significant digits, never $0.01
    expect(alpha).toContain('$1.07'); // $/1K calls
    // $/pass 0.00535 / 2; p50, p95, p99, tok/s
    expect(alpha).toMatch(/\$1\.07 +\$0\.002675 +250 +385 +397 +379\.3$/);
    const beta = lines.find((l) => l.startsWith('beta '))!;
    expect(beta).toContain('$0.00');
    expect(beta).toMatch(/ 6\.0 +6\.9 +7\.0 +-$/); // ms below 10 keep one decimal
    expect(out).toContain('Scorers');
    expect(out).toMatch(/alpha +judge +2 +2 +2 +100\.0% \[34\.2, 100\.0\]/);
    expect(out).toContain('beta: rate_limit 2, unknown 1');
    expect(out).toContain('Notes');
  });

  it('md: a heading, GitHub tables, and figures', () => {
    store = new Store(':memory:');
    const runId = fixture(false);
    const out = renderReport(buildReport(store, runId), 'md');
    expect(out.startsWith(`## holdout run ${runId}: suite nightly\n`)).toBe(true);
    expect(out).toContain('| candidate | model | n | err |');
    expect(out).toContain(
      '| alpha | gpt-a | 5 | 1 | 66.7% [20.8, 93.9] | 0.733 [0.000, 1.000] | \\$0.005350 |',
    );
    expect(out).toContain('\\$0.005350'); // $ escaped so GitHub does not start math mode
    expect(out).toContain('### Scorers');
    expect(out).toContain('Percentiles are type 7');
    expect(out).not.toContain('SIMULATED');
  });

  it('md: escapes pipes and newlines from the database', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 1, [['evil', 'gpt|4o\nmini']]);
    store.recordCall(call(runId, { candidate: 'evil', status: 'error', errorKind: 'bad|kind' }), []);
    const out = renderReport(buildReport(store, runId), 'md');
    const row = out.split('\n').find((l) => l.startsWith('| evil'))!;
    expect(row).toContain('gpt\\|4o mini');
    // As many unescaped pipes as the header: the name did not add a cell.
    const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    expect(cells(row)).toBe(cells(out.split('\n').find((l) => l.startsWith('| candidate'))!));
    expect(out).toContain('evil: bad\\|kind 1');
  });

  it('table: control characters from the database cannot reach the terminal', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 1, [['evil', 'gpt\u001b[31mred']]);
    const out = renderReport(buildReport(store, runId), 'table');
    expect(out).not.toContain('\u001b');
    expect(out).toContain('gpt?[31mred');
  });

  it('json: the model, NaN as null', () => {
    store = new Store(':memory:');
    const report = buildReport(store, fixture(false));
    const parsed = JSON.parse(renderReport(report, 'json'));
    expect(parsed.run.suite).toBe('nightly');
    expect(parsed.candidates[0].passRate.lo).toBeCloseTo(0.2076596, 6);
    expect(parsed.candidates[2].passRate.p).toBeNull(); // gamma: NaN
    expect(parsed.simulated).toBe(false);
  });

  it('csv: one header and one row per candidate, columns intact', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 1, [
      ['alpha', 'gpt-a'],
      ['comma', 'model, "quoted"\nline'],
    ]);
    const out = renderReport(buildReport(store, runId), 'csv');
    const rows = parseCsv(out);
    expect(rows).toHaveLength(3);
    const width = rows[0]!.length;
    expect(width).toBeGreaterThan(20);
    for (const row of rows) expect(row).toHaveLength(width);
    expect(rows[2]![rows[0]!.indexOf('model')]).toBe('model, "quoted"\nline');
    expect(out).not.toContain('SIMULATED');
  });

  it('csv: figures land in their columns', () => {
    store = new Store(':memory:');
    const rows = parseCsv(renderReport(buildReport(store, fixture(false)), 'csv'));
    const header = rows[0]!;
    const alpha = rows[1]!;
    const get = (col: string) => alpha[header.indexOf(col)];
    expect(get('candidate')).toBe('alpha');
    expect(Number(get('pass_rate_lo'))).toBeCloseTo(0.2076596, 6);
    expect(Number(get('total_cost_usd'))).toBeCloseTo(0.00535, 12);
    expect(get('latency_p95_ms')).toBe('385');
    expect(rows[3]![header.indexOf('pass_rate')]).toBe(''); // gamma: no scored calls
  });

  it('says SIMULATED at the top of every format, only when simulated', () => {
    store = new Store(':memory:');
    const report = buildReport(store, fixture(true));
    expect(renderReport(report, 'table').split('\n')[0]).toBe(`${SIM} (candidates: beta, judge-model)`);
    // md: right under the heading, with the candidate name's underscore-free text intact
    const md = renderReport(report, 'md').split('\n');
    expect(md[2]).toBe(`> **${SIM} (candidates: beta, judge-model)**`);
    // csv: the header is the first line (no '#' line above it); the rows carry a simulated column
    const csv = renderReport(report, 'csv');
    expect(csv.startsWith('run_id,')).toBe(true);
    const rows = parseCsv(csv);
    expect(rows[2]![rows[0]!.indexOf('simulated')]).toBe('true');
    expect(rows[1]![rows[0]!.indexOf('simulated')]).toBe('false');
    // json: the flag and the notice are the first keys
    const json = renderReport(report, 'json');
    expect(json.indexOf('"simulated": true')).toBeLessThan(json.indexOf('"run"'));
    expect(json.indexOf(SIM)).toBeLessThan(json.indexOf('"run"'));
  });
});
