/**
 * `holdout compare --against previous` (harness/cli/compare-command.ts, previousRun in run-ref.ts):
 * B is the run (default latest), A the newest earlier finished run of the same suite and config hash;
 * a suite's first run is exit 4 with a notice and writes nothing. CI uses it so it needs no run ids.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { previousRun } from '../../harness/cli/run-ref.js';
import { Store } from '../../results/store/store.js';
import { answerKeyPath, runCli, sampleSlice, tempDir } from '../support/cli.js';
import { addRecords, call, score } from '../results/report-helpers.js';

let store: Store | undefined;
afterEach(() => store?.close());

const RECORDS = 40;

/**
 * A run of one candidate `m` on RECORDS records whose first `passes` calls pass, the rest fail.
 * Candidate `n` (always passing) is there so that "which candidate?" has to be answered.
 */
function addRun(
  s: Store,
  o: { suite: string; hash: string; passes: number; status?: 'finished' | 'interrupted' },
) {
  const runId = s.createRun(
    {
      suite: o.suite,
      configPath: 'gate.yaml',
      configJson: '{}',
      configHash: o.hash,
      datasetPath: 'records.jsonl',
      datasetHash: 'd',
      recordCount: RECORDS,
      repeats: 1,
      scorersJson: '[]',
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    ['m', 'n'].map((candidate) => ({
      candidate,
      model: `gpt-${candidate}`,
      api: 'chat',
      paramsJson: '{}',
      priceJson: '{}',
    })),
  );
  const ids = Array.from({ length: RECORDS }, (_, i) => `r${i}`);
  addRecords(
    s,
    runId,
    ids.map((id) => [id, { task: 'x' }]),
  );
  ids.forEach((recordId, i) => {
    s.recordCall(call(runId, { recordId, candidate: 'm' }), [
      score('exact', i < o.passes ? 1 : 0, i < o.passes),
    ]);
    s.recordCall(call(runId, { recordId, candidate: 'n' }), [score('exact', 1, true)]);
  });
  if (o.status !== 'interrupted') s.setRunStatus(runId, 'finished', '2026-01-01T01:00:00.000Z');
  else s.setRunStatus(runId, 'interrupted');
  return runId;
}

function dbWith(runs: Parameters<typeof addRun>[1][]): string {
  const db = join(tempDir(), 'h.db');
  store = new Store(db);
  for (const r of runs) addRun(store, r);
  store.close();
  store = undefined;
  return db;
}

const json = (text: string) =>
  JSON.parse(text) as { verdict: string; baseline: { runId: number }; candidate: { runId: number } };

describe('previousRun', () => {
  it('skips other suites, other config hashes, unfinished runs and later runs', () => {
    store = new Store(join(tempDir(), 'h.db'));
    const s = store;
    const r1 = addRun(s, { suite: 'gate', hash: 'A', passes: 40 });
    const r2 = addRun(s, { suite: 'gate', hash: 'A', passes: 40, status: 'interrupted' });
    const r3 = addRun(s, { suite: 'gate', hash: 'B', passes: 40 });
    const r4 = addRun(s, { suite: 'other', hash: 'A', passes: 40 });
    const r5 = addRun(s, { suite: 'gate', hash: 'A', passes: 40 });
    const r6 = addRun(s, { suite: 'gate', hash: 'A', passes: 40 });
    const prev = (id: number) => previousRun(s, s.getRun(id)!)?.id;
    expect(prev(r6)).toBe(r5);
    expect(prev(r5)).toBe(r1); // not 4 (other suite), 3 (other config) nor 2 (interrupted)
    expect(prev(r1)).toBeUndefined();
    expect(prev(r3)).toBeUndefined();
    expect(prev(r4)).toBeUndefined();
    expect(prev(r2)).toBe(r1);
  });
});

describe('holdout compare --against previous', () => {
  it('compares the latest run with the previous one of its suite and config: a regression fails', async () => {
    // Run 1: m passes 40/40; run 2 (another config), run 3: m passes 20/40. The 20 discordant pairs
    // all go one way: exact one-sided McNemar p = 0.5^20 ≈ 9.5e-7 < 0.025, so FAIL, exit 1.
    const db = dbWith([
      { suite: 'gate', hash: 'A', passes: 40 },
      { suite: 'gate', hash: 'B', passes: 40 },
      { suite: 'gate', hash: 'A', passes: 20 },
    ]);
    const res = await runCli([
      'compare',
      '--db',
      db,
      '--against',
      'previous',
      '--candidate',
      'm',
      '--format',
      'json',
    ]);
    expect(res.code).toBe(1);
    const c = json(res.stdout);
    expect(c.verdict).toBe('FAIL');
    expect([c.baseline.runId, c.candidate.runId]).toEqual([1, 3]);
  });

  it('--run picks the candidate side; --baseline alone names both sides', async () => {
    const db = dbWith([
      { suite: 'gate', hash: 'A', passes: 20 },
      { suite: 'gate', hash: 'A', passes: 40 },
      { suite: 'gate', hash: 'A', passes: 20 },
    ]);
    const res = await runCli([
      'compare',
      '--db',
      db,
      '--against',
      'previous',
      '--run',
      '2',
      '--baseline',
      'm',
      '--format',
      'json',
    ]);
    const c = json(res.stdout);
    expect([c.baseline.runId, c.candidate.runId]).toEqual([1, 2]);
    expect(c.verdict).not.toBe('FAIL'); // 20 → 40 passes is an improvement
    expect(res.code).toBe(0);
  });

  it('--suite counts latest within the suite', async () => {
    const db = dbWith([
      { suite: 'gate', hash: 'A', passes: 40 },
      { suite: 'gate', hash: 'A', passes: 40 },
      { suite: 'other', hash: 'A', passes: 40 },
    ]);
    const res = await runCli([
      'compare',
      '--db',
      db,
      '--against',
      'previous',
      '--suite',
      'gate',
      '--candidate',
      'm',
      '--format',
      'json',
    ]);
    expect([json(res.stdout).baseline.runId, json(res.stdout).candidate.runId]).toEqual([1, 2]);
    // Without --suite, latest is run 3, the first of suite "other": nothing to compare with.
    const first = await runCli(['compare', '--db', db, '--against', 'previous', '--candidate', 'm']);
    expect(first.code).toBe(4);
    expect(first.stderr).toContain('run 3 is the first finished run of suite "other"');
  });

  it('a first run is exit 4 with a notice, and nothing is written', async () => {
    const db = dbWith([{ suite: 'gate', hash: 'A', passes: 40 }]);
    const out = join(tempDir(), 'compare.md');
    const res = await runCli([
      'compare',
      '--db',
      db,
      '--against',
      'previous',
      '--candidate',
      'm',
      '--format',
      'md',
      '--out',
      out,
    ]);
    expect(res.code).toBe(4);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/nothing to compare with: run 1 is the first finished run of suite "gate"/);
    expect(res.stderr).toContain('exit 4');
    expect(existsSync(out)).toBe(false);
  });

  it('several candidates and none named is exit 2 listing them; flags that do not fit are exit 2', async () => {
    const db = dbWith([
      { suite: 'gate', hash: 'A', passes: 40 },
      { suite: 'gate', hash: 'A', passes: 40 },
    ]);
    const none = await runCli(['compare', '--db', db, '--against', 'previous']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('run 2 has 2 candidates (m, n): name one with --candidate');
    const missing = await runCli(['compare', '--db', db, '--candidate', 'm']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('give --baseline A and --candidate B (or --against previous)');
    const both = await runCli([
      'compare',
      '--db',
      db,
      '--against',
      'previous',
      '--runs',
      '1',
      '2',
      '--candidate',
      'm',
    ]);
    expect(both.code).toBe(2);
    const bad = await runCli(['compare', '--db', db, '--against', 'last', '--candidate', 'm']);
    expect(bad.code).toBe(2);
  });

  it('two real runs of one config on the simulator share a config hash, so the second compares with the first', async () => {
    const dir = tempDir();
    const dataset = sampleSlice(dir, 24);
    const cfg = join(dir, 'gate.yaml');
    writeFileSync(
      cfg,
      [
        'suite: ci-gate',
        `dataset: ${dataset}`,
        `simulator: { answer_key: ${answerKeyPath()} }`,
        'candidates:',
        '  - { id: mini, model: sim-mini, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
        'scorers:',
        '  - { kind: label, match: { task: classify } }',
        '  - { kind: json, match: { task: extract }, equals_reference: true }',
        '  - { kind: normalized, match: { task: reformat } }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const ran = await runCli(['run', cfg, '--db', db]);
    expect(ran.code, ran.stderr).toBe(0);
    const first = await runCli(['compare', '--db', db, '--against', 'previous']);
    expect(first.code).toBe(4);
    const again = await runCli(['run', cfg, '--db', db]);
    expect(again.code, again.stderr).toBe(0);
    const second = await runCli(['compare', '--db', db, '--against', 'previous', '--format', 'json']);
    const c = json(second.stdout);
    expect([c.baseline.runId, c.candidate.runId]).toEqual([1, 2]);
    // The simulator answers the same records the same way: b = c = 0 discordant pairs on 24, too few
    // to show non-inferiority at 3 points, so INCONCLUSIVE, which does not block (exit 0).
    expect(c.verdict).toBe('INCONCLUSIVE');
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('b = 0 regressions, c = 0 fixes, n = 24');
  });
});
