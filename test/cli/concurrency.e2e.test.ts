import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../harness/paths.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { SCHEMA_VERSION } from '../../results/store/schema.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';
import { peek, startHoldout, until } from './child.js';

/** Two processes on one database: migrations race safely, and a run has one worker at a time. */
const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    // Slow enough (16 calls, 2 at a time: about 2 s) that a second process, started once the first
    // has stored a call, still finds it working on a loaded machine.
    profiles: { ...DEFAULT_PROFILES, 'sim-slow': { latencyMs: { median: 250 }, ttftMs: 5, accuracy: 0.9 } },
  });
});
afterAll(() => sim.close());

function writeConfig(dir: string, records: number): string {
  const path = join(dir, 'run.yaml');
  writeFileSync(
    path,
    [
      'suite: two-processes',
      `dataset: ${sampleSlice(dir, records)}`,
      'concurrency: 2',
      'timeout_ms: 10000',
      'candidates:',
      `  - { id: a, model: sim-slow, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, price: { input: 1, cached_input: 0.1, output: 2 } }`,
      'scorers:',
      '  - { kind: label, match: { task: classify } }',
    ].join('\n'),
  );
  return path;
}

describe('several holdout processes on one database', () => {
  it('opening a new database from several processes at once migrates it once, without error', async () => {
    const db = join(tempDir(), 'race.db');
    const store = join(packageRoot(), 'dist/results/store/store.js');
    // Every process waits for the same instant, then opens the store (and so migrates).
    const at = Date.now() + 700;
    const script = `const { Store } = await import(${JSON.stringify(store)});
      while (Date.now() < ${at});
      new Store(${JSON.stringify(db)}).close();`;
    const runs = Array.from({ length: 6 }, () => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      p.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
      });
      return new Promise<{ code: number | null; err: string }>((resolve) =>
        p.on('exit', (code) => resolve({ code, err })),
      );
    });
    const results = await Promise.all(runs);
    for (const r of results) expect(r, r.err).toEqual({ code: 0, err: '' });
    expect(queryDb<{ user_version: number }>(db, 'PRAGMA user_version')[0]!.user_version).toBe(
      SCHEMA_VERSION,
    );
    expect(queryDb(db, "SELECT name FROM sqlite_master WHERE name = 'runs'")).toHaveLength(1);
  });

  it('a second `holdout run` on a run another process is working on is refused (exit 2), naming that process', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, 16);
    const db = join(dir, 'h.db');
    sim.reset();
    const first = startHoldout(['run', cfg, '--db', db], ENV);
    try {
      // The first process has its lease and has started calling.
      await until(() => (peek<{ n: number }>(db, 'SELECT count(*) AS n FROM calls')?.n ?? 0) > 0);
      const lease = peek<{ pid: number; host: string }>(
        db,
        'SELECT pid, host FROM run_leases WHERE run_id = 1',
      );
      expect(lease).toEqual({ pid: first.proc.pid, host: hostname() });

      const again = await runCli(['run', cfg, '--db', db], { env: ENV });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(
        new RegExp(
          `run 1 is being worked on by another holdout process: pid ${first.proc.pid} on host ${hostname()}, since \\d{4}-\\d\\d-\\d\\dT`,
        ),
      );
      expect(again.stderr).toMatch(/hint: wait for that process to finish/);
      expect(again.stderr).not.toMatch(/unexpected error/);
      const resumed = await runCli(['run', '--resume', '1', '--db', db], { env: ENV });
      expect(resumed.code).toBe(2);
      expect(resumed.stderr).toMatch(/run 1 is being worked on by another holdout process/);
    } finally {
      expect(await first.exited, first.stderr).toBe(0);
    }
    // The first process did all the work, once: one request and one row per item.
    expect(sim.stats().requests).toBe(16);
    const rows = queryDb<{ n: number; items: number }>(
      db,
      'SELECT count(*) AS n, count(DISTINCT record_id) AS items FROM calls',
    )[0];
    expect(rows).toEqual({ n: 16, items: 16 });
    // Released on exit: the run can be resumed (here: it is finished, nothing to do).
    expect(queryDb(db, 'SELECT * FROM run_leases')).toHaveLength(0);
    expect((await runCli(['run', '--resume', '1', '--db', db], { env: ENV })).code).toBe(0);
    expect(sim.stats().requests).toBe(16);
  });

  it('the lease of a process killed with SIGKILL is taken over at once by the next run', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, 16);
    const db = join(dir, 'h.db');
    const first = startHoldout(['run', cfg, '--db', db], ENV);
    await until(() => (peek<{ n: number }>(db, 'SELECT count(*) AS n FROM calls')?.n ?? 0) >= 2);
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const pid = first.proc.pid;
    expect(peek<{ pid: number }>(db, 'SELECT pid FROM run_leases')?.pid).toBe(pid);

    const next = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/resuming unfinished run 1/);
    const rows = queryDb<{ n: number; items: number }>(
      db,
      'SELECT count(*) AS n, count(DISTINCT record_id) AS items FROM calls',
    )[0];
    expect(rows).toEqual({ n: 16, items: 16 });
    expect(queryDb(db, 'SELECT * FROM run_leases')).toHaveLength(0);
  });
});
