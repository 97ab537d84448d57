import { afterEach, describe, expect, it } from 'vitest';
import { buildComparison, type Comparison, excerpt } from '../../results/compare/compare.js';
import { escapeXml, renderComparison } from '../../results/render/compare-text.js';
import { mulberry32, wilcoxonSignedRank } from '../../results/stats/paired.js';
import { Store } from '../../results/store/store.js';
import { call } from './report-helpers.js';

// Expected figures are worked by hand in the comments (binomial tails as fractions) or with
// scipy 1.x (pasted as literals, with the call that produced them).

let store: Store;
afterEach(() => store?.close());

interface RecordSpec {
  id: string;
  tags?: Record<string, string>;
}

function newRun(opts: {
  suite?: string;
  repeats?: number;
  candidates: [string, string][];
  records: RecordSpec[];
  status?: 'finished' | 'interrupted';
}): number {
  const runId = store.createRun(
    {
      suite: opts.suite ?? 'nightly',
      configJson: '{}',
      configHash: `h${Math.random()}`,
      datasetPath: 'data/prod.jsonl',
      datasetHash: 'd',
      recordCount: opts.records.length,
      repeats: opts.repeats ?? 1,
      scorersJson: '[]',
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    opts.candidates.map(([candidate, model]) => ({
      candidate,
      model,
      api: 'chat',
      paramsJson: '{}',
      priceJson: '{}',
    })),
  );
  store.insertRecords(
    runId,
    opts.records.map((r) => ({ id: r.id, api: 'chat', tags: r.tags ?? {}, json: '{}' })),
    0,
  );
  store.setRunStatus(runId, opts.status ?? 'finished', '2026-01-01T01:00:00.000Z');
  return runId;
}

interface CallSpec {
  /** true/false: one 'exact' score; null: unscored (value NULL); undefined with status error. */
  pass?: boolean | null;
  status?: 'ok' | 'error';
  repeat?: number;
  output?: string;
  served?: string | null;
  cost?: number | null;
  latency?: number | null;
  simulated?: boolean;
  /** An extra continuous scorer 'judge' with this value (passed when ≥ 0.5). */
  judge?: number;
}

function add(runId: number, candidate: string, recordId: string, spec: CallSpec = {}): void {
  const status = spec.status ?? 'ok';
  const row = call(runId, {
    recordId,
    candidate,
    repeat: spec.repeat ?? 0,
    status,
    output: status === 'ok' ? (spec.output ?? `answer of ${candidate} to ${recordId}`) : null,
    inputTokens: 100,
    cachedTokens: 0,
    outputTokens: 10,
    reasoningTokens: 0,
    costUsd: spec.cost === undefined ? 0.001 : spec.cost,
    latencyMs: spec.latency === undefined ? 100 : spec.latency,
    errorKind: status === 'error' ? 'server' : null,
    errorMessage: status === 'error' ? 'HTTP 500' : null,
    httpStatus: status === 'error' ? 500 : null,
    servedModel: spec.served === undefined ? 'model-2026-01-01' : spec.served,
    simulated: spec.simulated ?? false,
  });

  const scores = [];
  if (status === 'ok') {
    const pass = spec.pass === undefined ? true : spec.pass;
    scores.push({ scorer: 'exact', value: pass === null ? null : pass ? 1 : 0, passed: pass });
    if (spec.judge !== undefined)
      scores.push({ scorer: 'judge', value: spec.judge, passed: spec.judge >= 0.5 });
  }
  store.recordCall(row, scores);
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

/** Adds A and B calls for `n` records from `pattern`: [A passes, B passes] per record. */
function pairs(runId: number, recordIds: string[], pattern: [boolean, boolean][], a = 'old', b = 'new') {
  recordIds.forEach((id, i) => {
    const [pa, pb] = pattern[i]!;
    add(runId, a, id, { pass: pa });
    add(runId, b, id, { pass: pb });
  });
}

/** A pattern of b regressions, c fixes, then concordant passes (and `ff` concordant fails). */
function pattern(b: number, c: number, pp: number, ff = 0): [boolean, boolean][] {
  return [
    ...Array.from({ length: b }, (): [boolean, boolean] => [true, false]),
    ...Array.from({ length: c }, (): [boolean, boolean] => [false, true]),
    ...Array.from({ length: pp }, (): [boolean, boolean] => [true, true]),
    ...Array.from({ length: ff }, (): [boolean, boolean] => [false, false]),
  ];
}

function compareRun(runId: number, opts: Parameters<typeof buildComparison>[3] = {}, a = 'old', b = 'new') {
  return buildComparison(store, { runId, candidate: a }, { runId, candidate: b }, opts);
}

/** A small well-formedness check: balanced tags, quoted attributes, no raw '<' or stray '&' in text. */
function checkXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let roots = 0;
  m = token.exec(body);
  while (m) {
    if (m[6]) throw new Error(`raw '<' at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    const text = m[5] ?? m[3] ?? '';
    const amp = /&(?!(amp|lt|gt|quot|apos);)/.exec(text);
    if (amp) throw new Error(`stray '&' near ${text.slice(Math.max(0, amp.index - 20), amp.index + 20)}`);
    if (m[2]) {
      if (m[1]) {
        if (stack.pop() !== m[2]) throw new Error(`unbalanced </${m[2]}>`);
      } else if (!m[4]) {
        if (stack.length === 0) roots++;
        stack.push(m[2]);
      } else if (stack.length === 0) roots++;
    } else if (m[5] && stack.length === 0 && m[5].trim() !== '') throw new Error('text outside the root');
    m = token.exec(body);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

describe('compare: pairing and the McNemar gate (one call per prompt)', () => {
  /*
   * 23 records. r1-r8: A pass, B fail (b = 8); r9: A fail, B pass (c = 1); r10-r18 both pass;
   * r19-r20 both fail: n = 20 scored pairs. Dropped: r21 errors on B, r22 has no A call; r23 is
   * paired but A's only score is NULL (unscored), so it is left out of pass, not dropped.
   * One-sided McNemar "B worse": X ~ Bin(9, ½), P(X ≥ 8) = (C(9,8) + C(9,9))/512 = 10/512
   * = 0.01953125 < 0.025 → FAIL. Two-sided: 2·P(X ≤ 1) = 20/512 = 0.0390625. Mid-p: P(X > 8) +
   * ½P(X = 8) = 1/512 + 4.5/512 = 0.0107421875. χ²cc = (|8 − 1| − 1)²/9 = 4.
   * Δ = (1 − 8)/20 = −0.35.
   */
  function build(): Comparison {
    store = new Store(':memory:');
    const recs = ids('r', 23).map((id) => ({ id, tags: { task: 'classify' } }));
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: recs,
    });
    pairs(run, ids('r', 20), pattern(8, 1, 9, 2));
    add(run, 'old', 'r21', { pass: true });
    add(run, 'new', 'r21', { status: 'error' });
    add(run, 'new', 'r22', { pass: true });
    add(run, 'old', 'r23', { pass: null });
    add(run, 'new', 'r23', { pass: true });
    return compareRun(run);
  }

  it('counts b, c, n, the dropped items by reason and the unscored pairs', () => {
    const r = build();
    const m = r.metrics.pass;
    expect(m).toMatchObject({ b: 8, c: 1, n: 20, unit: 'call', test: 'mcnemar' });
    expect(r.pairing).toMatchObject({
      items: 23,
      paired: 21,
      dropped: { total: 2, errorA: 0, errorB: 1, missingA: 1, missingB: 0 },
      unscored: { a: 1, b: 0, pairs: 1 },
    });
    expect(m.rateA).toBeCloseTo(17 / 20, 12);
    expect(m.rateB).toBeCloseTo(10 / 20, 12);
  });

  it('McNemar by hand: one-sided 10/512 → FAIL at α 0.025', () => {
    const r = build();
    const mc = r.metrics.pass.mcnemar!;
    expect(mc.oneSidedWorse).toBeCloseTo(0.01953125, 14);
    expect(mc.exactTwoSided).toBeCloseTo(0.0390625, 14);
    expect(mc.midP).toBeCloseTo(0.0107421875, 14);
    expect(mc.chi2cc).toBeCloseTo(4, 14);
    expect(r.metrics.pass.pWorse).toBeCloseTo(0.01953125, 14);
    expect(r.metrics.pass.estimate.delta).toBeCloseTo(-0.35, 14);
    // Tango z(−0.03) for b = 8, c = 1, n = 20 (python, STATS.md formula): −2.1654798657110716.
    expect(r.metrics.pass.nonInferiority.statistic).toBeCloseTo(-2.1654798657110716, 10);
    expect(r.metrics.pass.verdict).toBe('FAIL');
    expect(r.verdict).toBe('FAIL');
    // The scorer 'exact' has the same p, but it gates on Holm over {pass, exact}: 2 × 10/512 = 0.039.
    expect(r.failedBy).toEqual(['pass']);
    expect(r.metrics.scorers[0]!.pHolm).toBeCloseTo(20 / 512, 14);
    expect(r.summary).toMatch(
      /^FAIL: new is worse than old on pass rate: −35\.0 points \[−\d+\.\d, −\d+\.\d\], McNemar one-sided p = 0\.020 \(b = 8 regressions, c = 1 fixes, n = 20\)$/,
    );
  });

  it('lists the flips with tags and single-line excerpts of both outputs', () => {
    const r = build();
    expect(r.flips.regressions.map((f) => f.recordId)).toEqual(ids('r', 8));
    expect(r.flips.fixes.map((f) => f.recordId)).toEqual(['r9']);
    expect(r.flips.regressions[0]).toEqual({
      recordId: 'r1',
      tags: { task: 'classify' },
      repeat: 0,
      passA: 1,
      passB: 0,
      outputA: 'answer of old to r1',
      outputB: 'answer of new to r1',
    });
  });

  it('lists only the first flips when asked, with complete counts', () => {
    build();
    const run = 1;
    const r = buildComparison(
      store,
      { runId: run, candidate: 'old' },
      { runId: run, candidate: 'new' },
      {},
      3,
    );
    expect(r.flips.counts).toEqual({ regressions: 8, fixes: 1 });
    expect(r.flips.listed).toBe(3);
    expect(r.flips.regressions.map((f) => f.recordId)).toEqual(['r1', 'r2', 'r3']);
    expect(r.flips.fixes.map((f) => f.recordId)).toEqual(['r9']);
    expect(renderComparison(r, 'table')).toMatch(
      /^Regressions \(pass → fail\): 8 \(first 3; all in --format json\)$/m,
    );
  });

  it('warns about few pairs and few discordant pairs; prints power figures', () => {
    const r = build();
    expect(r.warnings.some((w) => /Only 20 pairs \(fewer than 100\)/.test(w))).toBe(true);
    expect(r.warnings.some((w) => /Only 9 discordant pairs \(b \+ c < 10\)/.test(w))).toBe(true);
    expect(r.power.method).toBe('connor');
    expect(r.power.psi).toBeCloseTo(9 / 20, 14);
    expect(r.power.powerAtMargin).toBeLessThan(0.5);
    expect(r.warnings.some((w) => /^Power to show non-inferiority/.test(w))).toBe(true);
  });
});

describe('compare: PASS and INCONCLUSIVE', () => {
  it('PASS: b = c = 4 over n = 400 shows non-inferiority at 3 points', () => {
    /*
     * McNemar one-sided P(X ≥ 4 | Bin(8, ½)) = (70 + 56 + 28 + 8 + 1)/256 = 163/256: no regression.
     * Tango z(−0.03) = 2.9837500197832285, p = 1 − Φ(z) = 0.0014236964929398746 (python:
     * A = 800, B = −8 + 800·(−0.03), C = −4·(−0.03)·1.03; scipy.stats.norm.sf(z)) < 0.025 → PASS.
     */
    store = new Store(':memory:');
    const recs = ids('p', 400).map((id) => ({ id }));
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: recs,
    });
    pairs(run, ids('p', 400), pattern(4, 4, 380, 12));
    const r = compareRun(run);
    const m = r.metrics.pass;
    expect(m.mcnemar!.oneSidedWorse).toBeCloseTo(163 / 256, 14);
    expect(m.nonInferiority.statistic).toBeCloseTo(2.9837500197832285, 9);
    expect(m.nonInferiority.p).toBeCloseTo(0.0014236964929398746, 9);
    expect(m.estimate.delta).toBe(0);
    expect(m.estimate.lo).toBeLessThan(0);
    expect(m.estimate.lo).toBeGreaterThan(-0.03); // the same as NI: the lower bound above −m
    expect(r.verdict).toBe('PASS');
    expect(r.summary).toMatch(
      /^PASS: new is not worse than old by 3\.0 points or more on pass rate: 0\.0 points/,
    );
    expect(r.flips.regressions).toHaveLength(4);
  });

  it('INCONCLUSIVE: b = 3, c = 2 over n = 40', () => {
    // McNemar P(X ≥ 3 | Bin(5, ½)) = 16/32 = 0.5; Tango z(−0.03) = 0.0893899920966720 → p = 0.4644.
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: ids('q', 40).map((id) => ({ id })),
    });
    pairs(run, ids('q', 40), pattern(3, 2, 35));
    const r = compareRun(run);
    expect(r.metrics.pass.pWorse).toBeCloseTo(0.5, 14);
    expect(r.metrics.pass.nonInferiority.p).toBeCloseTo(0.46438598839067013, 9);
    expect(r.verdict).toBe('INCONCLUSIVE');
    expect(r.summary).toMatch(/^INCONCLUSIVE: neither a regression/);
  });
});

describe('compare: repeats, continuous metrics, cost', () => {
  it('K = 2: per-prompt pass shares, paired t over prompts', () => {
    /*
     * 40 prompts × 2 repeats. A passes all 80 calls; B fails one repeat of p1..p10 (share 0.5).
     * d = 10 × −0.5, 30 × 0: mean −0.125, sd = √(1.875/39) = 0.2192645, SE = 0.0346687623;
     * t = −3.60555127546399, df 39, one-sided p = 0.00043628677879939225
     * (scipy.stats.ttest_1samp(d, 0, alternative='less')) → FAIL. NI t = (−0.125 + 0.03)/SE.
     */
    store = new Store(':memory:');
    const recs = ids('p', 40).map((id) => ({ id }));
    const run = newRun({
      repeats: 2,
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-x'],
      ],
      records: recs,
    });
    ids('p', 40).forEach((id, i) => {
      for (const repeat of [0, 1]) {
        add(run, 'old', id, { repeat, pass: true });
        add(run, 'new', id, { repeat, pass: !(i < 10 && repeat === 1) });
      }
    });
    const r = compareRun(run);
    const m = r.metrics.pass;
    expect(r.pairing).toMatchObject({ unit: 'prompt', prompts: 40, repeats: 2, paired: 80 });
    expect(m).toMatchObject({ unit: 'prompt', test: 'paired-t', n: 40, calls: 80, b: 10, c: 0 });
    expect(m.mcnemar).toBeNull();
    expect(m.estimate.delta).toBeCloseTo(-0.125, 14);
    expect(m.t!.t).toBeCloseTo(-3.60555127546399, 10);
    expect(m.pWorse).toBeCloseTo(0.00043628677879939225, 10);
    expect(m.nonInferiority.statistic).toBeCloseTo((-0.125 + 0.03) / 0.034668762264076815, 9);
    expect(r.verdict).toBe('FAIL');
    expect(r.flips.regressions).toHaveLength(10);
    expect(r.flips.regressions[0]).toMatchObject({ recordId: 'p1', repeat: 1, passA: 1, passB: 0.5 });
    expect(r.power.method).toBe('normal-se');
  });

  it('a continuous scorer gets a value metric; cost and latency ratios are informational', () => {
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: ids('c', 50).map((id) => ({ id })),
    });
    ids('c', 50).forEach((id, i) => {
      add(run, 'old', id, { judge: 0.8, cost: 0.001 * (1 + (i % 3)), latency: 100 + i });
      add(run, 'new', id, { judge: 0.7, cost: 0.002 * (1 + (i % 3)), latency: 100 + i });
    });
    const r = compareRun(run);
    const judge = r.metrics.scorers.find((s) => s.scorer === 'judge')!;
    expect(judge.value!.estimate.delta).toBeCloseTo(-0.1, 12);
    expect(judge.value!.verdict).toBe('FAIL'); // every difference is −0.1: t = −∞
    expect(r.metrics.scorers.find((s) => s.scorer === 'exact')!.value).toBeNull(); // 0/1 only
    // A call's score is the mean of its scores: A (1 + 0.8)/2 = 0.9, B (1 + 0.7)/2 = 0.85.
    expect(r.metrics.score!.estimate.delta).toBeCloseTo(-0.05, 12);
    expect(r.metrics.score!.bootstrap!.method).toBe('bootstrap');
    expect(r.metrics.score!.bootstrap!.resamples).toBe(10_000);
    // B costs exactly twice A on every pair: the ratio and every resample are 2.
    expect(r.metrics.cost!.ratio.estimate).toBeCloseTo(2, 12);
    expect(r.metrics.cost!.ratio.lo).toBeCloseTo(2, 12);
    expect(r.metrics.latency!.ratio.estimate).toBeCloseTo(1, 12);
    // The judge scorer's pass/fail (≥ 0.5 both sides) did not change; the value metric never gates.
    expect(r.verdict).not.toBe('FAIL');
    const table = renderComparison(r, 'table');
    expect(table).toMatch(/new costs 2\.00× old per call \[2\.00, 2\.00\]/);
  });

  it('with --cluster the pass metric gates on the clustered t and warns under 30 clusters', () => {
    store = new Store(':memory:');
    const recs = ids('k', 60).map((id, i) => ({ id, tags: { conv: `c${i % 6}` } }));
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: recs,
    });
    pairs(run, ids('k', 60), pattern(6, 0, 54));
    const r = compareRun(run, { cluster: 'conv' });
    expect(r.metrics.pass.test).toBe('clustered-t');
    expect(r.metrics.pass.clusters).toBe(6);
    expect(r.metrics.pass.t!.df).toBe(5);
    expect(r.metrics.pass.mcnemar!.b).toBe(6);
    expect(r.warnings.some((w) => /Only 6 clusters of conv/.test(w))).toBe(true);
  });
});

describe('compare: slices with Holm and BH', () => {
  /*
   * task=a: 40 records, b = 8, c = 0 → P(X ≥ 8 | Bin(8, ½)) = 1/256 = 0.00390625.
   * task=b: 40 records, b = 0, c = 6 → p = 1. task=c: 5 records, b = 2 → descriptive (n < 30).
   * Overall: b = 10, c = 6 → P(X ≥ 10 | Bin(16, ½)) = 14893/65536 = 0.2272491455078125: the pass
   * metric alone does not fail. Family (4): pass 0.22725, scorer exact 0.22725 (the same calls),
   * task=a 0.00390625, task=b 1. Holm: task=a is smallest, 4 × 1/256 = 0.015625 < 0.025 → FAIL.
   * BH for task=a: 4 × (1/256)/1 = 0.015625 as well.
   */
  function build(): Comparison {
    store = new Store(':memory:');
    const a = ids('a', 40).map((id) => ({ id, tags: { task: 'a' } }));
    const b = ids('b', 40).map((id) => ({ id, tags: { task: 'b' } }));
    const c = ids('c', 5).map((id) => ({ id, tags: { task: 'c' } }));
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: [...a, ...b, ...c],
    });
    pairs(run, ids('a', 40), pattern(8, 0, 32));
    pairs(run, ids('b', 40), pattern(0, 6, 34));
    pairs(run, ids('c', 5), pattern(2, 0, 3));
    return compareRun(run, { by: 'task' });
  }

  it('gates on Holm-adjusted p, flags with BH, keeps small slices descriptive', () => {
    const r = build();
    expect(r.metrics.pass.pWorse).toBeCloseTo(0.2272491455078125, 14);
    expect(r.metrics.pass.verdict).toBe('INCONCLUSIVE');
    const [sa, sb, sc] = r.slices!.slices;
    expect(sa).toMatchObject({ value: 'a', n: 40, gated: true, verdict: 'FAIL' });
    expect(sa!.pass.pWorse).toBeCloseTo(1 / 256, 14);
    expect(sa!.pHolm).toBeCloseTo(0.015625, 14);
    expect(sa!.pBH).toBeCloseTo(0.015625, 14);
    expect(sb).toMatchObject({ value: 'b', n: 40, gated: true, pHolm: 1 });
    expect(sc).toMatchObject({ value: 'c', n: 5, gated: false, verdict: 'DESCRIPTIVE', pHolm: null });
    expect(r.gate.map((g) => g.id)).toEqual(['pass', 'scorer exact', 'task=a', 'task=b']);
    expect(r.verdict).toBe('FAIL');
    expect(r.failedBy).toEqual(['task=a']);
    expect(r.summary).toMatch(
      /^FAIL: new is worse than old on task=a \(Holm-adjusted one-sided p < 0\.025\)/,
    );
    expect(
      r.warnings.some((w) =>
        /1 slice of task under 30 pairs, descriptive only \(never gating\): c \(5\)/.test(w),
      ),
    ).toBe(true);
  });
});

describe('compare: snapshot drift', () => {
  it('the same configured model served different snapshots on the two sides', () => {
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['pinned', 'gpt-x'],
        ['alias', 'gpt-x'],
      ],
      records: ids('d', 3).map((id) => ({ id })),
    });
    for (const id of ids('d', 3)) {
      add(run, 'pinned', id, { served: 'gpt-x-2026-01-01' });
      add(run, 'alias', id, { served: 'gpt-x-2026-03-17' });
    }
    const r = compareRun(run, {}, 'pinned', 'alias');
    expect(r.drift).toHaveLength(1);
    expect(r.drift[0]).toMatchObject({ kind: 'sides-differ', side: 'both' });
    expect(r.drift[0]!.message).toMatch(
      /^SNAPSHOT DRIFT: pinned and alias are both configured as gpt-x, but the API served gpt-x-2026-01-01 \(3 calls\) to pinned and gpt-x-2026-03-17 \(3 calls\) to alias$/,
    );
    for (const format of ['table', 'md', 'junit'] as const) {
      expect(renderComparison(r, format)).toContain('SNAPSHOT DRIFT');
    }
    expect(JSON.parse(renderComparison(r, 'json')).drift).toHaveLength(1);
  });

  it('an alias that moved since the previous run of the suite, and two snapshots within one side', () => {
    store = new Store(':memory:');
    const recs = ids('e', 4).map((id) => ({ id }));
    const cands: [string, string][] = [
      ['mini', 'gpt-mini'],
      ['nano', 'gpt-nano'],
    ];
    const first = newRun({ suite: 'weekly', candidates: cands, records: recs });
    const other = newRun({ suite: 'other-suite', candidates: cands, records: recs });
    const second = newRun({ suite: 'weekly', candidates: cands, records: recs });
    for (const id of ids('e', 4)) {
      add(first, 'mini', id, { served: 'gpt-mini-2026-01' });
      add(first, 'nano', id, { served: 'gpt-nano-2026-01' });
      add(other, 'mini', id, { served: 'gpt-mini-2026-03' });
      add(second, 'nano', id, { served: 'gpt-nano-2026-01' });
    }
    ids('e', 4).forEach((id, i) => {
      add(second, 'mini', id, { served: i < 3 ? 'gpt-mini-2026-03' : 'gpt-mini-2026-04' });
    });
    const r = compareRun(second, {}, 'nano', 'mini');
    expect(r.drift.map((d) => [d.kind, d.side])).toEqual([
      ['mixed-snapshots', 'candidate'],
      ['alias-moved', 'candidate'],
    ]);
    expect(r.drift[1]!.message).toBe(
      'SNAPSHOT DRIFT: mini (configured gpt-mini) was served gpt-mini-2026-03 (3 calls), gpt-mini-2026-04 ' +
        '(1 calls) in run 3, but gpt-mini-2026-01 (4 calls) in run 1, the previous run of suite weekly: the alias moved',
    );
    // nano served the same snapshot as last time: nothing to say.
    expect(r.drift.some((d) => d.side === 'baseline')).toBe(false);
  });

  it('no drift when every side served what it served before', () => {
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: [{ id: 'x1' }],
    });
    add(run, 'old', 'x1', { served: 'gpt-x-1' });
    add(run, 'new', 'x1', { served: 'gpt-y-1' });
    expect(compareRun(run).drift).toEqual([]);
  });
});

describe('compare: two runs, errors and formats', () => {
  it('--runs pairs the same candidate id across runs; SIMULATED when a side was simulated', () => {
    store = new Store(':memory:');
    const cands: [string, string][] = [['mini', 'gpt-mini']];
    const r1 = newRun({ candidates: cands, records: ids('s', 5).map((id) => ({ id })) });
    // The second run's dataset lost s5 and gained s6.
    const r2 = newRun({ candidates: cands, records: [...ids('s', 4), 's6'].map((id) => ({ id })) });
    for (const id of ids('s', 5)) add(r1, 'mini', id, { simulated: true });
    for (const id of [...ids('s', 4), 's6']) add(r2, 'mini', id, { pass: id !== 's1', simulated: true });
    const r = buildComparison(store, { runId: r1, candidate: 'mini' }, { runId: r2, candidate: 'mini' });
    expect(r.baseline.label).toBe('mini (run 1)');
    expect(r.candidate.label).toBe('mini (run 2)');
    expect(r.pairing).toMatchObject({
      items: 6,
      paired: 4,
      dropped: { total: 2, missingA: 1, missingB: 1, errorA: 0, errorB: 0 },
    });
    expect(r.metrics.pass.b).toBe(1);
    expect(r.simulated).toBe(true);
    expect(r.warnings[0]).toMatch(/^SIMULATED: .*\(candidates: mini \(run 1\), mini \(run 2\)\)/);
    expect(renderComparison(r, 'table').startsWith('SIMULATED')).toBe(true);
  });

  it('an unknown candidate names the candidates that exist; an unknown run is RUN_NOT_FOUND', () => {
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: [{ id: 'x1' }],
    });
    expect(() => compareRun(run, {}, 'old', 'nope')).toThrow(
      /--candidate "nope" is not a candidate of run 1; its candidates: old, new/,
    );
    expect(() => compareRun(99)).toThrow(expect.objectContaining({ code: 'RUN_NOT_FOUND', exitCode: 2 }));
    expect(() => compareRun(run, {}, 'old', 'old')).toThrow(/the same calls/);
  });

  it('junit is well-formed with a <script> output escaped; md escapes it too', () => {
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: ids('j', 9).map((id) => ({ id, tags: { task: 'x<y & "z"' } })),
    });
    const evil = '<script>alert("pwned")</script> & \'quote\' ]]> \u0007bell\nsecond line';
    ids('j', 9).forEach((id, i) => {
      add(run, 'old', id, { pass: true });
      add(run, 'new', id, { pass: i >= 8, output: i === 0 ? evil : 'no' });
    });
    const r = compareRun(run);
    expect(r.verdict).toBe('FAIL'); // b = 8, c = 0: P(X ≥ 8 | Bin(8, ½)) = 1/256
    expect(r.flips.regressions[0]!.outputB).toBe(
      '<script>alert("pwned")</script> & \'quote\' ]]> bell second line',
    );
    const xml = renderComparison(r, 'junit');
    checkXml(xml);
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &apos;quote&apos;');
    expect(xml).toMatch(/<testsuite name="holdout compare old -&gt; new" tests="2" failures="2" skipped="0"/);
    expect(xml).toMatch(
      /<testcase classname="holdout.compare" name="pass rate">\n {4}<failure message="FAIL: /,
    );
    const md = renderComparison(r, 'md');
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\<script\\>');
    expect(md.split('\n')[0]).toMatch(/^\*\*FAIL\*\*: new is worse than old on pass rate: −88\.9 points/);
  });

  it('junit: INCONCLUSIVE is <skipped>, PASS an empty testcase', () => {
    store = new Store(':memory:');
    const run = newRun({
      candidates: [
        ['old', 'gpt-x'],
        ['new', 'gpt-y'],
      ],
      records: ids('q', 40).map((id) => ({ id })),
    });
    pairs(run, ids('q', 40), pattern(3, 2, 35));
    const xml = renderComparison(compareRun(run), 'junit');
    checkXml(xml);
    expect(xml).toMatch(/<skipped message="INCONCLUSIVE: −2\.5 points/);
    expect(xml).toMatch(/skipped="2"/);
  });

  it('escapeXml replaces characters XML 1.0 forbids; excerpt is one line of about 100 characters', () => {
    expect(escapeXml('a\u0000b\ud800c\u001bd')).toBe('a\ufffdb\ufffdc\ufffdd');
    expect(escapeXml('😀')).toBe('😀');
    const long = `${'word '.repeat(40)}\n\tend`;
    const e = excerpt(long);
    expect(e).toHaveLength(100);
    expect(e.endsWith('…')).toBe(true);
    expect(excerpt('a\r\nb\u001b[31mc')).toBe('a b [31mc');
    expect(excerpt(null)).toBe('(no output)');
  });
});

describe('compare: the Wilcoxon above BOOTSTRAP_MAX_N (20,000 units)', () => {
  // compare's robustness Wilcoxon is paired.ts's wilcoxonSignedRank at every n (a large-n copy was
  // removed); these check it at sizes the comparison reaches on big runs, against values worked by
  // hand and confirmed with st.wilcoxon(d, zero_method='wilcox', correction=True, method='approx').

  /** Fisher–Yates with the seeded generator: the differences arrive in no particular order. */
  function shuffled(d: number[], seed: number): number[] {
    const rand = mulberry32(seed);
    const out = d.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  it('no ties, n = 30,000: d_i = ±i/1000, positive for odd i', () => {
    // |d| has ranks 1…30,000 in order; W+ = Σ odd i = 15,000² = 225,000,000, total n(n+1)/2 =
    // 450,015,000, so W− = 225,015,000. Var = n(n+1)(2n+1)/24, z = (W+ − total/2 + ½)/√Var (+½: W+ is below total/2).
    const d = shuffled(
      Array.from({ length: 30_000 }, (_, k) => ((k + 1) % 2 ? k + 1 : -(k + 1)) / 1000),
      11,
    );
    const r = wilcoxonSignedRank(d);
    expect(r.n).toBe(30_000);
    expect(r.wPlus).toBe(225_000_000);
    expect(r.wMinus).toBe(225_015_000);
    expect(r.z).toBeCloseTo(-0.0049995416782983, 12); // scipy zstatistic −0.0049995416782983
    expect(r.pTwoSided).toBeCloseTo(0.9960109595017573, 12); // scipy pvalue
  });

  it('heavy ties and zeros, 24,200 non-zero: 10,100 × +1, 10,000 × −1, 2,000 × +2, 2,100 × −2, 5,000 × 0', () => {
    // |d| = 1 takes ranks 1…20,100 (average 10,050.5), |d| = 2 ranks 20,101…24,200 (average
    // 22,150.5): W+ = 10,100·10,050.5 + 2,000·22,150.5 = 145,811,050, total 292,832,100, W− =
    // 147,021,050. Ties Σ(t³ − t) over t = 20,100 and 4,100; Var = (n(n+1)(2n+1) − Σ/2)/24.
    const d = shuffled(
      [
        ...Array<number>(10_100).fill(1),
        ...Array<number>(10_000).fill(-1),
        ...Array<number>(2_000).fill(2),
        ...Array<number>(2_100).fill(-2),
        ...Array<number>(5_000).fill(0),
      ],
      12,
    );
    const r = wilcoxonSignedRank(d);
    expect(r.n).toBe(24_200);
    expect(r.wPlus).toBe(145_811_050);
    expect(r.wMinus).toBe(147_021_050);
    expect(r.z).toBeCloseTo(-0.601848396674322, 12); // scipy zstatistic −0.601848396674322
    expect(r.pTwoSided).toBeCloseTo(0.5472750565441534, 12); // scipy pvalue
  });
});
