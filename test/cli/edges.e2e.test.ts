/**
 * Bad flags and signals at the command line: each is exit 2 with one message and no stack, checked
 * before any work (nothing written, no run created), and SIGTERM stops a run like Ctrl-C.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../harness/paths.js';
import {
  DEFAULT_PROFILES,
  loadAnswerKey,
  type SimProfile,
  type SimServer,
  startSimulator,
} from '../../harness/sim/index.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
const PROFILES: Record<string, SimProfile> = {
  ...DEFAULT_PROFILES,
  'sim-fast': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 },
  'sim-slow': { latencyMs: { median: 150 }, ttftMs: 20, accuracy: 0.9 },
};

let sim: SimServer;
let dir: string;
let db: string;
let policy: string;

function config(path: string, dataset: string, model: string, concurrency = 8): string {
  writeFileSync(
    path,
    [
      'suite: edges',
      `dataset: ${dataset}`,
      `concurrency: ${concurrency}`,
      'stream: false',
      'candidates:',
      ...['a', 'b'].map(
        (id) =>
          `  - { id: ${id}, model: ${model}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ` +
          'price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
      ),
      'scorers:',
      '  - { kind: label, match: { task: classify } }',
      '  - { kind: normalized, match: { task: reformat } }',
    ].join('\n'),
  );
  return path;
}

/** An exit-2 answer: one message, a hint, no stack trace. */
function expectUsage(res: { code: number; stderr: string }, message: RegExp): void {
  expect(res.code, res.stderr).toBe(2);
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/unexpected error| {4}at /);
}

beforeAll(async () => {
  sim = await startSimulator({ answerKey: loadAnswerKey(answerKeyPath()), profiles: PROFILES });
  dir = tempDir();
  db = join(dir, 'h.db');
  const cfg = config(join(dir, 'run.yaml'), sampleSlice(dir, 30), 'sim-fast');
  const res = await runCli(['run', cfg, '--db', db], { env: ENV });
  expect(res.code, res.stderr).toBe(0);
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    'name: p\ndefault: a\nrules:\n  - when: { tags: { task: classify } }\n    route: b\n',
  );
});

afterAll(async () => {
  await sim.close();
});

describe('--out is checked before any work', () => {
  const commands: [string, string[]][] = [
    ['report', ['report', '--format', 'md']],
    ['compare', ['compare', '--baseline', 'a', '--candidate', 'b']],
    ['route', ['route', 'POLICY']],
  ];
  it.each(commands)('%s: --out a directory is exit 2, nothing written', async (_name, args) => {
    const out = join(dir, 'a-folder');
    mkdirSync(out, { recursive: true });
    const argv = args.map((a) => (a === 'POLICY' ? policy : a));
    expectUsage(await runCli([...argv, '--db', db, '--out', out]), /--out .*a-folder is a directory/);
  });
  it.each(commands)('%s: --out in a missing folder is exit 2, nothing written', async (_name, args) => {
    const out = join(dir, 'no-such-folder', 'r.txt');
    const argv = args.map((a) => (a === 'POLICY' ? policy : a));
    expectUsage(
      await runCli([...argv, '--db', db, '--out', out]),
      /the folder .*no-such-folder does not exist/,
    );
    expect(existsSync(out)).toBe(false);
  });
  it('a report written with --out is readable by its owner only', async () => {
    const out = join(dir, 'r.md');
    const res = await runCli(['report', '--format', 'md', '--db', db, '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});

describe('numbers are checked before any work', () => {
  it.each(['0', '-5', 'abc', '1.5'])('demo --concurrency %s is exit 2 and creates no run', async (value) => {
    const fresh = join(tempDir(), 'demo.db');
    expectUsage(
      await runCli(['demo', '--db', fresh, '--concurrency', value]),
      /--concurrency must be an integer/,
    );
    expect(existsSync(fresh)).toBe(false);
  });
  it.each(['0', '-5', 'abc'])(
    "rescore --concurrency %s is exit 2 and leaves the run's scorers alone",
    async (value) => {
      const before = queryDb<{ scorers_json: string }>(db, 'SELECT scorers_json FROM runs WHERE id = 1');
      expectUsage(
        await runCli(['rescore', '1', '--db', db, '--concurrency', value]),
        /--concurrency must be an integer/,
      );
      expect(queryDb(db, 'SELECT scorers_json FROM runs WHERE id = 1')).toEqual(before);
    },
  );
  it.each(['99999', '-1', 'abc'])('sim --port %s is exit 2', async (value) => {
    expectUsage(await runCli(['sim', '--port', value]), /--port must be an integer from 0 to 65535/);
  });
  it('sim on a port in use is exit 2, naming the port', async () => {
    expectUsage(
      await runCli(['sim', '--port', String(sim.port)]),
      new RegExp(`port ${sim.port} .*already in use`),
    );
  });
});

describe('a run id the database does not have', () => {
  it.each([
    ['report', ['report', '99']],
    ['route', ['route', 'POLICY', '--run', '99']],
    ['rescore', ['rescore', '99']],
  ])('%s: exit 2, listing the runs it has', async (_name, args) => {
    const argv = args.map((a) => (a === 'POLICY' ? policy : a));
    expectUsage(
      await runCli([...argv, '--db', db]),
      /run 99 is not in this database\nhint: its runs: 1 \(edges, finished\)/,
    );
  });
});

describe('the database', () => {
  it.each([
    ['report', ['report']],
    ['compare', ['compare', '--baseline', 'a', '--candidate', 'b']],
    ['route', ['route', 'POLICY']],
    ['run --resume', ['run', '--resume', '1']],
  ])('%s on a mistyped --db: exit 2, and no file is created', async (_name, args) => {
    const typo = join(tempDir(), 'typo.db');
    const argv = args.map((a) => (a === 'POLICY' ? policy : a));
    expectUsage(await runCli([...argv, '--db', typo], { env: ENV }), /no database at .*typo\.db/);
    expect(existsSync(typo)).toBe(false);
  });

  it('a --db that is not a SQLite file: exit 2 naming it', async () => {
    const notDb = join(tempDir(), 'notes.txt');
    writeFileSync(
      notDb,
      'this is not a database, just some text that is long enough to have a header\n'.repeat(20),
    );
    expectUsage(await runCli(['report', '--db', notDb]), /notes\.txt is not a holdout database/);
  });

  it('report and compare read a database opened read-only; a write there is a clear error', async () => {
    const { openStore } = await import('../../results/store/store.js');
    const { buildReport } = await import('../../results/report/report.js');
    const { buildComparison } = await import('../../results/compare/compare.js');
    const copy = join(tempDir(), 'ro.db');
    copyFileSync(db, copy);
    const s = openStore(copy, { mustExist: true, readOnly: true });
    try {
      expect(s.readOnly).toBe(true);
      expect(buildReport(s, 1).candidates.map((c) => c.candidate)).toEqual(['a', 'b']);
      expect(
        buildComparison(s, { runId: 1, candidate: 'a' }, { runId: 1, candidate: 'b' }).verdict,
      ).toBeDefined();
      expect(() => s.setRunStatus(1, 'finished')).toThrow(/the database is read-only/);
    } finally {
      s.close();
    }
  });

  it.skipIf(process.getuid?.() === 0)(
    'read commands work on a file they may not write (chmod 444)',
    async () => {
      const copy = join(tempDir(), 'ro.db');
      copyFileSync(db, copy);
      chmodSync(copy, 0o444);
      for (const args of [
        ['report'],
        ['compare', '--baseline', 'a', '--candidate', 'b'],
        ['route', policy],
      ]) {
        const res = await runCli([...args, '--db', copy]);
        expect([0, 1]).toContain(res.code);
        expect(res.stderr).not.toMatch(/readonly|unexpected error/);
      }
    },
  );

  it('a new database is readable by its owner only, and the db: of a config is honoured', async () => {
    const d = tempDir();
    const cfg = config(join(d, 'run.yaml'), sampleSlice(d, 4), 'sim-fast');
    writeFileSync(cfg, `db: nested/own.db\n${readFileSync(cfg, 'utf8')}`);
    const res = await runCli(['run', cfg], { env: ENV });
    expect(res.code, res.stderr).toBe(0);
    const file = join(d, 'nested', 'own.db');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(queryDb<{ n: number }>(file, 'SELECT count(*) AS n FROM calls')[0]!.n).toBe(8);
  });
});

describe('signals', () => {
  it('SIGTERM stops a run like Ctrl-C: exit 130, run interrupted, finished calls kept, a rerun completes it', async () => {
    const d = tempDir();
    const file = join(d, 't.db');
    const cfg = config(join(d, 'slow.yaml'), sampleSlice(d, 40), 'sim-slow', 4);
    const child = spawn(process.execPath, [join(packageRoot(), 'bin/holdout.js'), 'run', cfg, '--db', file], {
      env: { ...process.env, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until some calls are stored, then ask it to stop.
    const deadline = Date.now() + 15_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      let rows = 0;
      try {
        rows = queryDb<{ n: number }>(file, 'SELECT count(*) AS n FROM calls')[0]!.n;
      } catch {
        // Not created, or not migrated yet.
      }
      if (rows >= 4 || Date.now() > deadline) break;
    }
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/SIGTERM received: finishing writes/);
    const [run] = queryDb<{ status: string }>(file, 'SELECT status FROM runs');
    expect(run!.status).toBe('interrupted');
    const kept = queryDb<{ n: number }>(file, 'SELECT count(*) AS n FROM calls')[0]!.n;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(80);

    const again = await runCli(['run', cfg, '--db', file], { env: ENV });
    expect(again.code, again.stderr).toBe(0);
    expect(queryDb<{ n: number }>(file, 'SELECT count(*) AS n FROM calls')[0]!.n).toBe(80);
  });
});
