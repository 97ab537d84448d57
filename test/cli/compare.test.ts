import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILES,
  loadAnswerKey,
  type SimProfile,
  type SimServer,
  startSimulator,
} from '../../harness/sim/index.js';
import { answerKeyPath, runCli, sampleSlice, tempDir } from '../support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
const fast = { latencyMs: { median: 2 }, ttftMs: 1 };
const PROFILES: Record<string, SimProfile> = {
  ...DEFAULT_PROFILES,
  'sim-good': { ...fast, accuracy: 0.95 },
  'sim-bad': { ...fast, accuracy: 0.6 },
  'sim-drift': { ...fast, accuracy: 0.9, servedModel: 'sim-drift-2026-03-17' },
};

let sim: SimServer;
let dir: string;
let db: string;

function writeConfig(path: string, dataset: string, candidates: [string, string][]): string {
  const lines = [
    'suite: gate',
    `dataset: ${dataset}`,
    'concurrency: 8',
    'stream: false',
    'timeout_ms: 10000',
    'candidates:',
    ...candidates.map(
      ([id, model]) =>
        `  - { id: ${id}, model: ${model}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ` +
        'price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
    ),
    'scorers:',
    '  - { kind: label, match: { task: classify } }',
    '  - { kind: json, match: { task: extract }, equals_reference: true }',
    '  - { kind: normalized, match: { task: reformat } }',
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

beforeAll(async () => {
  sim = await startSimulator({ answerKey: loadAnswerKey(answerKeyPath()), profiles: PROFILES });
  dir = tempDir();
  db = join(dir, 'h.db');
  // 200 records of the sample: classify, extract and reformat, every one scored. `good` and `good2`
  // are the same simulated model, so they answer identically (b = c = 0).
  const cfg = writeConfig(join(dir, 'run.yaml'), sampleSlice(dir, 200), [
    ['good', 'sim-good'],
    ['bad', 'sim-bad'],
    ['good2', 'sim-good'],
  ]);
  const res = await runCli(['run', cfg, '--db', db], { env: ENV });
  expect(res.code, res.stderr).toBe(0);
}, 30_000);

afterAll(async () => {
  await sim.close();
});

const compare = (...args: string[]) => runCli(['compare', '--db', db, ...args]);

describe('holdout compare against the simulator', () => {
  it('accuracy 0.95 → 0.60 is a supported regression: FAIL, exit 1, flips listed', async () => {
    const res = await compare('--baseline', 'good', '--candidate', 'bad');
    expect(res.stderr).not.toMatch(/unexpected error/);
    expect(res.code).toBe(1);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^SIMULATED: /);
    expect(res.stdout).toMatch(/^FAIL: bad is worse than good on pass rate: −\d+\.\d points \[/m);
    expect(res.stdout).toMatch(
      /McNemar one-sided p < 0\.0001 \(b = \d+ regressions, c = \d+ fixes, n = 200\)/,
    );
    expect(res.stdout).toMatch(/^Regressions \(pass → fail\): \d+ \(first 20; all in --format json\)$/m);
    expect(res.stdout).toMatch(/Paired 200 of 200 work items/);
  });

  it('the same model twice: PASS, exit 0 (n = 200, b = c = 0: Tango z = 2.49 at m = 0.03)', async () => {
    const res = await compare('--baseline', 'good', '--candidate', 'good2', '--format', 'json');
    expect(res.code).toBe(0);
    const r = JSON.parse(res.stdout);
    expect(r.version).toBe(1);
    expect(r.verdict).toBe('PASS');
    expect(r.metrics.pass).toMatchObject({ b: 0, c: 0, n: 200 });
    // tangoZ(0, 0, 200, −0.03) = 6/√(200·0.0291) = 2.48708001686903, p = norm.sf(z) = 0.00643.
    expect(r.metrics.pass.nonInferiority.statistic).toBeCloseTo(2.48708001686903, 9);
    expect(r.flips).toEqual({
      counts: { regressions: 0, fixes: 0 },
      listed: 'all',
      regressions: [],
      fixes: [],
    });
    expect(res.stderr).toMatch(/^PASS: good2 is not worse than good/m);
  });

  it('INCONCLUSIVE exits 0 with a loud warning, or 3 with --fail-on-inconclusive', async () => {
    // m = 0.01: tangoZ(0, 0, 200, −0.01) = 2/√(200·0.0099) = 1.421, p = norm.sf(z) = 0.0776: not shown.
    const args = ['--baseline', 'good', '--candidate', 'good2', '--margin', '0.01'];
    const soft = await compare(...args);
    expect(soft.code).toBe(0);
    expect(soft.stdout).toMatch(/^INCONCLUSIVE: /m);
    expect(soft.stderr).toMatch(/^WARNING: INCONCLUSIVE — .*exit 0/m);
    const strict = await compare(...args, '--fail-on-inconclusive');
    expect(strict.code).toBe(3);
    expect(strict.stderr).toMatch(/^WARNING: INCONCLUSIVE — .*exit 3 \(--fail-on-inconclusive\)/m);
  });

  it('md for a PR comment: the verdict line first; slices by task', async () => {
    const res = await compare('--baseline', 'good', '--candidate', 'bad', '--format', 'md', '--by', 'task');
    expect(res.code).toBe(1);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^\*\*FAIL\*\*: bad is worse than good on pass rate: −\d+\.\d points/);
    expect(lines[2]).toMatch(/^> \*\*SIMULATED: /);
    expect(res.stdout).toMatch(/^### Slices by task$/m);
    expect(res.stdout).toMatch(/^\| classify \| 78 \|/m);
    expect(res.stdout).toMatch(/<summary>Regressions \(pass → fail\): \d+, first 20 shown<\/summary>/);
  });

  it('junit to a file: one testsuite, a failed testcase for the pass metric', async () => {
    const out = join(dir, 'compare.xml');
    const res = await compare('--baseline', 'good', '--candidate', 'bad', '--format', 'junit', '--out', out);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/comparison written to /);
    expect(res.stderr).toMatch(/^FAIL: bad is worse than good/m);
    const xml = readFileSync(out, 'utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite ')).toBe(true);
    expect(xml.match(/<testsuite /g)).toHaveLength(1);
    expect(xml).toMatch(/<testcase classname="holdout.compare" name="pass rate">\n {4}<failure /);
    expect(xml).toMatch(/<property name="simulated" value="true"\/>/);
    expect(xml.trimEnd().endsWith('</testsuite>')).toBe(true);
  });

  it('usage errors exit 2: an unknown candidate lists the ones that exist; --run with --runs', async () => {
    const unknown = await compare('--baseline', 'good', '--candidate', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--candidate "nope" is not a candidate of run 1; its candidates: good, bad, good2/,
    );
    const both = await compare('--baseline', 'good', '--candidate', 'bad', '--run', '1', '--runs', '1', '1');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/mutually exclusive/);
    const missingRun = await compare('--baseline', 'good', '--candidate', 'bad', '--runs', '1', '9');
    expect(missingRun.code).toBe(2);
    expect(missingRun.stderr).toMatch(/run 9 \(candidate\) is not in this database/);
  });

  it('a served snapshot that changed between two runs is SNAPSHOT DRIFT in every format', async () => {
    const ddir = tempDir();
    const ddb = join(ddir, 'drift.db');
    const cfg = writeConfig(join(ddir, 'run.yaml'), sampleSlice(ddir, 40), [
      ['mini', 'sim-drift'],
      ['ref', 'sim-good'],
    ]);
    expect((await runCli(['run', cfg, '--db', ddb], { env: ENV })).code).toBe(0);
    sim.setProfiles({
      ...PROFILES,
      'sim-drift': { ...PROFILES['sim-drift']!, servedModel: 'sim-drift-2026-04-01' },
    });
    try {
      expect((await runCli(['run', cfg, '--db', ddb], { env: ENV })).code).toBe(0);
    } finally {
      sim.setProfiles(PROFILES);
    }
    const across = ['compare', '--db', ddb, '--runs', '1', '2', '--baseline', 'mini', '--candidate', 'mini'];
    const table = await runCli(across);
    expect(table.stdout).toMatch(
      /^SNAPSHOT DRIFT: mini \(run 1\) and mini \(run 2\) are both configured as sim-drift, but the API served sim-drift-2026-03-17 \(40 calls\) to mini \(run 1\) and sim-drift-2026-04-01 \(40 calls\) to mini \(run 2\)$/m,
    );
    // The same simulated profile answers the same way, whatever snapshot name it reports.
    expect(table.stdout).toMatch(/b = 0 regressions, c = 0 fixes, n = 40/);
    const json = JSON.parse((await runCli([...across, '--format', 'json'])).stdout);
    expect(json.drift.map((d: { kind: string }) => d.kind)).toEqual(['sides-differ']);
    const md = await runCli([...across, '--format', 'md']);
    expect(md.stdout).toMatch(/^> \*\*SNAPSHOT DRIFT: /m);
    expect(md.stderr).toMatch(/^SNAPSHOT DRIFT: /m);
    // Within run 2: mini's alias moved since run 1 of the suite.
    const within = await runCli([
      'compare',
      '--db',
      ddb,
      '--run',
      '2',
      '--baseline',
      'ref',
      '--candidate',
      'mini',
    ]);
    expect(within.stdout).toMatch(
      /^SNAPSHOT DRIFT: mini \(configured sim-drift\) was served sim-drift-2026-04-01 \(40 calls\) in run 2, but sim-drift-2026-03-17 \(40 calls\) in run 1, the previous run of suite gate: the alias moved$/m,
    );
  });
});
