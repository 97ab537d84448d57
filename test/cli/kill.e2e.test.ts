import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastUserText } from '../../datasets/record.js';
import { packageRoot } from '../../harness/paths.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, queryDb, tempDir } from '../support/cli.js';
import { type CountingProxy, countingProxy, itemKey, peek, startHoldout, until } from './child.js';

/**
 * kill -9 at random points (seeded), then resume, until the run finishes: after every kill the
 * database is intact, and no later session asks the simulator again for an item that has a row; at
 * the end there is exactly one row per work item.
 */
const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
const SEED = 20261203;
const KILLS = 4;
let sim: SimServer;
let proxy: CountingProxy;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-k1': { latencyMs: { median: 15, sigma: 0.5 }, ttftMs: 3, accuracy: 0.9 },
      'sim-k2': { latencyMs: { median: 25, sigma: 0.5 }, ttftMs: 3, accuracy: 0.8 },
    },
  });
  proxy = await countingProxy(sim.url);
});
afterAll(async () => {
  await proxy.close();
  await sim.close();
});

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODELS: Record<string, string> = { a: 'sim-k1', b: 'sim-k2' };

describe('holdout run killed with SIGKILL at random points', () => {
  it(`resumes to one row per item, never re-requesting a finished one (seed ${SEED}, ${KILLS} kills)`, async () => {
    const random = prng(SEED);
    const dir = tempDir();
    // Records with distinct prompts, so that a request names its work item at the simulator.
    const seen = new Set<string>();
    const lines = readFileSync(join(packageRoot(), 'datasets/sample/records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => {
        const text = lastUserText(JSON.parse(l).request);
        if (seen.has(text)) return false;
        seen.add(text);
        return true;
      })
      .slice(0, 60);
    const dataset = join(dir, 'records.jsonl');
    writeFileSync(dataset, `${lines.join('\n')}\n`);
    const items = new Map<string, string>(); // "record/candidate" → item key at the simulator
    for (const l of lines) {
      const rec = JSON.parse(l) as { id: string; request: Record<string, unknown> };
      for (const [c, model] of Object.entries(MODELS))
        items.set(`${rec.id}/${c}`, itemKey(model, rec.request));
    }
    const total = items.size;
    const config = join(dir, 'run.yaml');
    const endpoint = (id: string, api: string) =>
      `  - { id: ${id}, model: ${MODELS[id]}, api: ${api}, base_url: "${proxy.url}", api_key_env: HOLDOUT_TEST_KEY, price: { input: 1, cached_input: 0.1, output: 2 } }`;
    writeFileSync(
      config,
      [
        'suite: kill',
        `dataset: ${dataset}`,
        'concurrency: 6',
        'timeout_ms: 10000',
        'candidates:',
        endpoint('a', 'chat'),
        endpoint('b', 'responses'),
        'scorers:',
        '  - { kind: label, match: { task: classify } }',
        '  - { kind: json, match: { task: extract }, equals_reference: true }',
        '  - { kind: normalized, match: { task: reformat } }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const finished = (): Set<string> => {
      // Killed before the database (or its schema) existed: nothing finished.
      if (!existsSync(db) || queryDb(db, "SELECT name FROM sqlite_master WHERE name = 'calls'").length === 0)
        return new Set();
      return new Set(
        queryDb<{ k: string }>(db, `SELECT record_id || '/' || candidate AS k FROM calls`).map((r) => r.k),
      );
    };
    const asked = (key: string) => proxy.counts.get(key) ?? 0;

    let done = new Set<string>();
    let snapshot = new Map<string, number>();
    /** No item that had a row before this session was asked for again in it. */
    const noneAskedAgain = () => {
      const again = [...done].filter((k) => asked(items.get(k)!) !== snapshot.get(k));
      expect(again, 'finished items requested again').toEqual([]);
    };
    const points: string[] = [];
    for (let kill = 0; kill <= KILLS; kill++) {
      const session = startHoldout(['run', config, '--db', db], ENV);
      if (kill < KILLS) {
        if (kill === 0) {
          // Anywhere from start-up through migration, storing the records and the first calls.
          const ms = Math.floor(random() * 800);
          points.push(`${ms} ms`);
          await new Promise((r) => setTimeout(r, ms));
        } else {
          // After a random share of the remaining calls has reached the simulator.
          const left = total - done.size;
          const n = 1 + Math.floor(random() * Math.max(1, left - 1));
          points.push(`${n} of ${left} calls`);
          const start = proxy.total();
          await until(() => proxy.total() - start >= n || session.proc.exitCode !== null);
        }
        session.proc.kill('SIGKILL');
        const how = await session.exited;
        // A session that finished before its kill point ends the test early: that is no failure.
        if (how !== 'SIGKILL') expect(how, session.stderr).toBe(0);
      } else {
        expect(await session.exited, session.stderr).toBe(0);
        expect(session.stderr).not.toMatch(/unexpected error/);
      }
      // Every byte the dead process sent has reached the proxy before anything is compared.
      await proxy.quiet();
      noneAskedAgain();
      if (existsSync(db) && queryDb(db, "SELECT name FROM sqlite_master WHERE name = 'calls'").length > 0) {
        expect(queryDb<{ integrity_check: string }>(db, 'PRAGMA integrity_check')[0]!.integrity_check).toBe(
          'ok',
        );
        const dupes = queryDb(
          db,
          'SELECT record_id, candidate, repeat FROM calls GROUP BY 1, 2, 3 HAVING count(*) > 1',
        );
        expect(dupes).toEqual([]);
      }
      done = finished();
      snapshot = new Map([...done].map((k) => [k, asked(items.get(k)!)]));
      if (done.size === total) break;
    }
    // One row per work item, each asked for at least once; a single run.
    expect(done.size, `kill points: ${points.join(', ')}`).toBe(total);
    expect(queryDb<{ n: number }>(db, 'SELECT count(*) AS n FROM calls')[0]!.n).toBe(total);
    expect(queryDb<{ n: number }>(db, 'SELECT count(*) AS n FROM runs')[0]!.n).toBe(1);
    expect(queryDb(db, "SELECT * FROM runs WHERE status = 'finished'")).toHaveLength(1);
    expect(queryDb<{ n: number }>(db, 'SELECT count(*) AS n FROM records')[0]!.n).toBe(lines.length);
    for (const key of items.values()) expect(asked(key)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it(`a kill while the run's records are being stored: the rerun stores the rest and does every item (seed ${SEED})`, async () => {
    const random = prng(SEED + 1);
    const dir = tempDir();
    const sample = readFileSync(join(packageRoot(), 'datasets/sample/records.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const lines: string[] = [];
    for (let i = 0; lines.length < 5000; i++) {
      const rec = JSON.parse(sample[i % sample.length]!);
      rec.id = `${rec.id}-${i}`;
      lines.push(JSON.stringify(rec));
    }
    const dataset = join(dir, 'records.jsonl');
    writeFileSync(dataset, `${lines.join('\n')}\n`);
    const config = join(dir, 'run.yaml');
    // A replay candidate makes no call: every item is a row at once, so 5,000 items stay quick.
    writeFileSync(
      config,
      [`dataset: ${dataset}`, 'candidates:', '  - { id: logged, model: gpt-5.4-mini, replay: true }'].join(
        '\n',
      ),
    );
    const db = join(dir, 'h.db');
    // Killed once 1,000, 2,000 or 3,000 of the 5,000 records (whole transactions) are stored.
    const at = 1000 * (1 + Math.floor(random() * 3));
    const first = startHoldout(['run', config, '--db', db]);
    await until(
      () =>
        (peek<{ n: number }>(db, 'SELECT count(*) AS n FROM records')?.n ?? 0) >= at ||
        first.proc.exitCode !== null,
      20_000,
      1,
    );
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const left = queryDb<{ n: number; total: number; calls: number }>(
      db,
      'SELECT (SELECT count(*) FROM records) AS n, (SELECT record_count FROM runs) AS total, (SELECT count(*) FROM calls) AS calls',
    )[0]!;
    expect(left.total).toBe(5000);
    expect(left.n).toBeGreaterThanOrEqual(at);
    expect(left.n).toBeLessThan(5000);
    expect(left.n % 1000).toBe(0);
    expect(left.calls).toBe(0);
    expect(queryDb<{ integrity_check: string }>(db, 'PRAGMA integrity_check')[0]!.integrity_check).toBe('ok');

    const again = startHoldout(['run', config, '--db', db]);
    expect(await again.exited, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`run 1 has ${left.n} of its 5000 records stored`));
    const after = queryDb<{ records: number; calls: number; items: number; finished: number }>(
      db,
      `SELECT (SELECT count(*) FROM records) AS records, (SELECT count(*) FROM calls) AS calls,
         (SELECT count(DISTINCT record_id) FROM calls) AS items,
         (SELECT count(*) FROM runs WHERE status = 'finished') AS finished`,
    )[0];
    expect(after).toEqual({ records: 5000, calls: 5000, items: 5000, finished: 1 });
  }, 60_000);
});
