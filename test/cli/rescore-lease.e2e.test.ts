/**
 * `holdout rescore` and `holdout route` (when it makes router calls) take the run's lease as
 * `holdout run` does: a rescore cannot race a run or another rescore of the same run, and the refusal
 * names the holder (exit 2). Real processes: the bin (dist/) against the simulator.
 */
import { hostname } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { claimLease, leaseOf } from '../../results/store/lease.js';
import { Store } from '../../results/store/store.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';
import { peek, startHoldout, until } from './child.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
const PRICE = 'price: { input: 1, cached_input: 0.1, output: 2 }';
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 },
      'sim-slow': { latencyMs: { median: 80 }, ttftMs: 5, accuracy: 0.9 },
      'sim-judge': { latencyMs: { median: 80 }, ttftMs: 5, accuracy: 1 },
    },
  });
});
afterAll(() => sim.close());

const endpoint = (id: string, model: string) =>
  `  - { id: ${id}, model: ${model}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ${PRICE} }`;

/** A finished run of 20 reformat records on a fast candidate, and a judge config to rescore it with. */
async function finishedRun(
  model = 'sim-fast',
): Promise<{ dir: string; db: string; config: string; judged: string }> {
  const dir = tempDir();
  const db = join(dir, 'h.db');
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    [
      'suite: lease',
      `dataset: ${sampleSlice(dir, 20, (r) => r.tags.task === 'reformat')}`,
      'concurrency: 1',
      'candidates:',
      endpoint('a', model),
      'scorers:',
      '  - { kind: normalized }',
    ].join('\n'),
  );
  const judged = join(dir, 'judged.yaml');
  writeFileSync(
    judged,
    [
      'judges:',
      `  - { id: grader, model: sim-judge, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ${PRICE}, concurrency: 1 }`,
      'scorers:',
      '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Right format" }',
    ].join('\n'),
  );
  if (model === 'sim-fast') {
    const r = await runCli(['run', config, '--db', db], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
  }
  return { dir, db, config, judged };
}

const leaseRow = (db: string) => peek<{ pid: number }>(db, 'SELECT pid FROM run_leases WHERE run_id = 1');

describe('rescore takes the run lease', () => {
  it('is refused while `holdout run` works on the run, naming its process; runs once it is done', async () => {
    const { db, config, judged } = await finishedRun('sim-slow');
    const run = startHoldout(['run', config, '--db', db], ENV);
    await until(() => leaseRow(db) !== undefined);
    const busy = await runCli(['rescore', '1', '--config', judged, '--db', db], { env: ENV });
    expect(busy.code, busy.stderr).toBe(2);
    expect(busy.stderr).toContain(
      `rescore: run 1 is being worked on by another holdout process: pid ${run.proc.pid} on host ${hostname()}`,
    );
    expect(busy.stderr).not.toMatch(/ {4}at /);
    // Nothing of the rescore happened: no new scorer, no judge call.
    expect(queryDb(db, "SELECT id FROM calls WHERE role = 'judge'")).toEqual([]);
    expect(await run.exited, run.stderr).toBe(0);
    const after = await runCli(['rescore', '1', '--config', judged, '--db', db], { env: ENV });
    expect(after.code, after.stderr).toBe(0);
    expect(queryDb(db, 'SELECT * FROM run_leases')).toEqual([]);
  }, 60_000);

  it('a rescore in progress holds off another rescore and `holdout run --resume`', async () => {
    const { db, judged } = await finishedRun();
    const first = startHoldout(['rescore', '1', '--config', judged, '--db', db], ENV);
    await until(() => leaseRow(db)?.pid === first.proc.pid);
    const second = await runCli(['rescore', '1', '--db', db], { env: ENV });
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain(`pid ${first.proc.pid} on host ${hostname()}`);
    const resume = await runCli(['run', '--resume', '1', '--db', db], { env: ENV });
    expect(resume.code, resume.stderr).toBe(2);
    expect(resume.stderr).toContain(
      `run 1 is being worked on by another holdout process: pid ${first.proc.pid}`,
    );
    expect(await first.exited, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/20 of 20 missing scores computed/);
    expect(queryDb(db, 'SELECT * FROM run_leases')).toEqual([]);
  }, 60_000);

  it('--dry-run takes no lease: it only reads', async () => {
    const { db, judged } = await finishedRun();
    const store = new Store(db);
    store.immediate(() => claimLease(store, 1));
    try {
      const dry = await runCli(['rescore', '1', '--config', judged, '--db', db, '--dry-run'], { env: ENV });
      expect(dry.code, dry.stderr).toBe(0);
      expect(leaseOf(store, 1)?.pid).toBe(process.pid);
    } finally {
      store.close();
    }
  });
});

describe('route takes the run lease when it makes router calls', () => {
  const policy = (dir: string, withRouter: boolean) => {
    const path = join(dir, withRouter ? 'router.yaml' : 'rules.yaml');
    writeFileSync(
      path,
      withRouter
        ? [
            'name: routed',
            'default: a',
            'router:',
            '  name: r',
            '  candidate: { model: sim-nano, base_url: simulator, price: { input: 0.2, cached_input: 0.02, output: 1.25 } }',
            '  prompt: "Easy or hard?\\n{{prompt}}"',
            '  labels: { easy: a, hard: a }',
            '  simulator: { truth_tag: difficulty, truth: { easy: easy, hard: hard } }',
          ].join('\n')
        : 'name: rules\ndefault: a\n',
    );
    return path;
  };

  it('refused while another process holds the lease; rules alone need none', async () => {
    const { dir, db } = await finishedRun();
    const store = new Store(db);
    // A live holder on this host: this very process.
    store.immediate(() => claimLease(store, 1));
    try {
      const busy = await runCli(['route', policy(dir, true), '--db', db], { env: ENV });
      expect(busy.code, busy.stderr).toBe(2);
      expect(busy.stderr).toContain(
        `route: run 1 is being worked on by another holdout process: pid ${process.pid} on host ${hostname()}`,
      );
      expect(queryDb(db, "SELECT id FROM calls WHERE role = 'router'")).toEqual([]);
      const rules = await runCli(['route', policy(dir, false), '--db', db], { env: ENV });
      expect(rules.code, rules.stderr).toBe(0);
    } finally {
      store.close();
    }
    const store2 = new Store(db);
    store2.db.prepare('DELETE FROM run_leases').run();
    store2.close();
    const free = await runCli(['route', policy(dir, true), '--db', db], { env: ENV });
    expect(free.code, free.stderr).toBe(0);
    expect(queryDb<{ n: number }>(db, "SELECT count(*) AS n FROM calls WHERE role = 'router'")[0]!.n).toBe(
      20,
    );
    expect(queryDb(db, 'SELECT * FROM run_leases')).toEqual([]);
  });
});
