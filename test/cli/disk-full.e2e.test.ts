import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../harness/clock.js';
import { HarnessError } from '../../harness/errors.js';
import { runCommand } from '../../harness/run/start.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { Store } from '../../results/store/store.js';
import { answerKeyPath, queryDb, sampleSlice, tempDir } from '../support/cli.js';
import { countingProxy, type CountingProxy } from './child.js';

/**
 * A full disk while a run stores its calls (SQLITE_FULL, simulated with PRAGMA max_page_count on the
 * run's own connection): a clear error with the resume command, exit 1, and what was committed kept.
 */
const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
let sim: SimServer;
let proxy: CountingProxy;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: { ...DEFAULT_PROFILES, 'sim-fast': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 } },
  });
  proxy = await countingProxy(sim.url);
});
afterAll(async () => {
  await proxy.close();
  await sim.close();
});

const quiet = new Writable({ write: (_c, _e, done) => done() });
const io = (signal?: AbortSignal) => ({ stderr: quiet, env: ENV, clock: systemClock, signal });

describe('a full disk', () => {
  it('stops the run with STORE_FULL (exit 1, resume hint), keeps every committed call, and resumes cleanly', async () => {
    const dir = tempDir();
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        `dataset: ${sampleSlice(dir, 40)}`,
        'concurrency: 4',
        'candidates:',
        `  - { id: a, model: sim-fast, base_url: "${proxy.url}", api_key_env: HOLDOUT_TEST_KEY, price: { input: 1, cached_input: 0.1, output: 2 } }`,
        'scorers:',
        '  - { kind: label, match: { task: classify } }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    // The run and its records, no call yet (stopped before the first).
    const setup = new Store(db);
    const stopped = new AbortController();
    stopped.abort();
    const made = await runCommand(setup, { configPath: config }, io(stopped.signal));
    expect(made.summary.aborted).toBe(true);

    // One page of room left on the connection the run writes with.
    const pages = setup.db.pragma('page_count', { simple: true }) as number;
    setup.db.pragma(`max_page_count = ${pages + 1}`);
    let err: unknown;
    try {
      await runCommand(setup, { resume: 1 }, io());
    } catch (e) {
      err = e;
    }
    setup.close();
    expect(err).toBeInstanceOf(HarnessError);
    const e = err as HarnessError;
    expect(e.code).toBe('STORE_FULL');
    expect(e.exitCode).toBe(1);
    expect(e.message).toMatch(/^run 1 stopped: the disk holding .*h\.db is full/);
    expect(e.message).toMatch(/everything committed before it is kept/);
    expect(e.hint).toBe(`free some disk space, then resume with: holdout run --resume 1 --db ${db}`);

    const kept = queryDb<{ record_id: string }>(db, 'SELECT record_id FROM calls ORDER BY id');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(40);
    expect(queryDb<{ integrity_check: string }>(db, 'PRAGMA integrity_check')[0]!.integrity_check).toBe('ok');
    // The run is not finished, and its lease was released.
    expect(queryDb(db, "SELECT status FROM runs WHERE id = 1 AND status != 'finished'")).toHaveLength(1);
    expect(queryDb(db, 'SELECT * FROM run_leases')).toHaveLength(0);

    // Space again: the resume asks only for what has no row (the failed session let its calls in
    // flight finish before it returned: none of them reaches the simulator later).
    const before = new Map(proxy.counts);
    const again = new Store(db);
    const done = await runCommand(again, { resume: 1 }, io());
    again.close();
    expect(done.summary.complete).toBe(true);
    const rows = queryDb<{ n: number; items: number }>(
      db,
      'SELECT count(*) AS n, count(DISTINCT record_id) AS items FROM calls',
    )[0];
    expect(rows).toEqual({ n: 40, items: 40 });
    let asked = 0;
    for (const [key, n] of proxy.counts) asked += n - (before.get(key) ?? 0);
    expect(asked).toBe(40 - kept.length);
  });
});
