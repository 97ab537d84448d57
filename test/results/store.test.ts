import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
import { claimLease, holdLease, leaseOf, takeLease } from '../../results/store/lease.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../results/store/schema.js';
import { Store } from '../../results/store/store.js';
import { memoryStoreWithRun } from '../support/fakes.js';
import { call } from './report-helpers.js';
import { tempDir } from '../support/cli.js';

describe('Store', () => {
  it('creates the schema once, in WAL mode, and records its version', () => {
    const path = join(tempDir(), 'nested', 'h.db');
    new Store(path).close();
    const again = new Store(path); // opening an up-to-date database migrates nothing
    expect(again.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(again.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('refuses a database written by a newer holdout', () => {
    const path = join(tempDir(), 'h.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new Store(path)).toThrow(HarnessError);
    expect(() => new Store(path)).toThrow(/newer than this holdout understands/);
  });

  it('allows one row per (run, record, candidate, repeat, role) and stores request bodies once per record', () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    const row = call(runId, { recordId: 'a', candidate: 'c', servedModel: 'm', requestId: 'r' });

    store.recordCall(row, [{ scorer: 's', value: 1, passed: true }]);
    expect(() => store.recordCall(row, [])).toThrow(/UNIQUE/);
    store.recordCall({ ...row, repeat: 1 }, []);
    const cols = store.db.prepare('PRAGMA table_info(calls)').all() as { name: string }[];
    expect(cols.map((c) => c.name)).not.toContain('body_json');
    expect(store.db.prepare('SELECT count(*) FROM records').pluck().get()).toBe(1);
    // a failed transaction leaves no half-written call behind
    expect(() =>
      store.recordCall({ ...row, repeat: 2 }, [
        { scorer: 's', value: 1, passed: true },
        { scorer: 's', value: 0, passed: false },
      ]),
    ).toThrow();
    expect(store.db.prepare('SELECT count(*) FROM calls WHERE repeat = 2').pluck().get()).toBe(0);
    store.close();
  });
});

describe('Store migrations', () => {
  it('moves a version-1 database to the current schema without losing calls or scores', () => {
    const path = join(tempDir(), 'v1.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.exec(`INSERT INTO runs (id, suite, status, created_at, config_json, config_hash, dataset_path, dataset_hash,
        record_count, repeats, scorers_json) VALUES (1, 's', 'finished', 't', '{}', 'h', 'd', 'dh', 1, 1, '[]');
      INSERT INTO calls (id, run_id, record_id, candidate, repeat, role, status, output, attempts, cost_usd,
        started_at, finished_at) VALUES (7, 1, 'r1', 'mini', 0, 'candidate', 'ok', 'hello', 1, 0.25, 't', 't');
      INSERT INTO scores (call_id, scorer, value, passed) VALUES (7, 'exact', 1, 1);`);
    raw.close();

    const store = new Store(path);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const row = store.db.prepare('SELECT id, aux, output, cost_usd FROM calls').get();
    expect(row).toEqual({ id: 7, aux: '', output: 'hello', cost_usd: 0.25 });
    expect(store.db.prepare('SELECT call_id, scorer FROM scores').get()).toEqual({
      call_id: 7,
      scorer: 'exact',
    });
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    // The new key: two judge rows on one (record, candidate, repeat) differ by aux.
    store.recordCall(call(1, { recordId: 'r1', candidate: 'mini', role: 'judge', aux: 'rubric' }), []);
    store.recordCall(call(1, { recordId: 'r1', candidate: 'mini', role: 'judge', aux: 'pairwise:ab' }), []);
    expect(() =>
      store.recordCall(call(1, { recordId: 'r1', candidate: 'mini', role: 'judge', aux: 'rubric' }), []),
    ).toThrow(/UNIQUE/);
    expect(store.callStatus(1, 'r1', 'mini', 0, 'judge', 'pairwise:ab')).toBe('ok');
    store.close();
  });
});

describe('Store writes on a full disk', () => {
  it('turns SQLITE_FULL into STORE_FULL (exit 1) and keeps every earlier commit', () => {
    const path = join(tempDir(), 'full.db');
    const store = new Store(path);
    const runId = store.createRun(
      {
        suite: 's',
        configJson: '{}',
        configHash: 'h',
        datasetPath: 'd',
        datasetHash: 'dh',
        recordCount: 1,
        repeats: 1,
        scorersJson: '[]',
        createdAt: 't',
      },
      [],
    );
    store.insertRecords(runId, [{ id: 'r', api: 'chat', tags: {}, json: '{}' }], 0);
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages}`);
    let stored = 0;
    let err: unknown;
    try {
      for (let i = 0; i < 1000; i++) {
        store.recordCall(
          call(runId, { recordId: 'r', candidate: 'c', repeat: i, output: 'x'.repeat(500) }),
          [],
        );
        stored++;
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HarnessError);
    expect(err).toMatchObject({ code: 'STORE_FULL', exitCode: 1 });
    expect((err as Error).message).toMatch(/the disk holding .*full\.db is full/);
    expect(store.db.prepare('SELECT count(*) FROM calls').pluck().get()).toBe(stored);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    store.close();
  });
});

describe('run leases', () => {
  const setup = () => {
    const store = new Store(join(tempDir(), 'lease.db'));
    const runId = store.createRun(
      {
        suite: 's',
        configJson: '{}',
        configHash: 'h',
        datasetPath: 'd',
        datasetHash: 'dh',
        recordCount: 0,
        repeats: 1,
        scorersJson: '[]',
        createdAt: 't',
      },
      [],
    );
    return { store, runId };
  };

  it('refuses a run whose lease a live process holds, naming it; takes over a stale one', () => {
    const { store, runId } = setup();
    let now = 1_000_000;
    const clock = { now: () => now };
    // Another host, heartbeat fresh: live whatever its pid.
    store.immediate(() => claimLease(store, runId, { ...clock, pid: 42, host: 'other-host' }));
    expect(() => takeLease(store, runId, clock)).toThrow(HarnessError);
    try {
      takeLease(store, runId, clock);
    } catch (e) {
      expect(e).toMatchObject({ code: 'RUN_BUSY', exitCode: 2 });
      expect((e as Error).message).toBe(
        `run ${runId} is being worked on by another holdout process: pid 42 on host other-host, since ${new Date(1_000_000).toISOString()} (heartbeat 0 s ago)`,
      );
    }
    // Its heartbeat older than the timeout: stale, taken over.
    now += 61_000;
    const mine = takeLease(store, runId, clock);
    expect(leaseOf(store, runId)).toMatchObject({ pid: process.pid, token: mine.token });
    mine.release();
    expect(leaseOf(store, runId)).toBeUndefined();

    // This host, a pid that is gone: stale at once, heartbeat or not.
    store.immediate(() => claimLease(store, runId, { ...clock, pid: 7, host: 'h1', isAlive: () => true }));
    expect(() => takeLease(store, runId, { ...clock, host: 'h1', isAlive: () => true })).toThrow(
      /pid 7 on host h1/,
    );
    const next = takeLease(store, runId, { ...clock, host: 'h1', isAlive: (pid) => pid !== 7 });
    expect(leaseOf(store, runId)?.token).toBe(next.token);
    // A second taker in this very process is refused too: one worker per run.
    expect(() => takeLease(store, runId, { ...clock, host: 'h1' })).toThrow(`pid ${process.pid} on host h1`);
    next.release();
    store.close();
  });

  it('renews its heartbeat, notices a takeover, and releases only its own lease', () => {
    const { store, runId } = setup();
    let now = 5_000;
    const clock = { now: () => now };
    let lostTo: unknown;
    const lease = takeLease(store, runId, { ...clock, onLost: (by) => (lostTo = by?.pid) });
    now += 9_000;
    lease.renew();
    expect(leaseOf(store, runId)?.heartbeat_ms).toBe(14_000);
    // Deemed stale elsewhere (say this process was suspended) and taken over by pid 99.
    now += 70_000;
    const claim = store.immediate(() => claimLease(store, runId, { ...clock, pid: 99, host: 'elsewhere' }));
    lease.renew();
    expect(lease.lost).toBe(true);
    expect(lostTo).toBe(99);
    lease.release(); // not ours any more: left alone
    expect(leaseOf(store, runId)).toMatchObject({ pid: 99, token: claim.token });
    holdLease(store, claim).release();
    expect(leaseOf(store, runId)).toBeUndefined();
    store.close();
  });

  it('v4 adds the lease table and the batch worst case to a v3 database', () => {
    const path = join(tempDir(), 'v3.db');
    const raw = new Database(path);
    for (const m of MIGRATIONS.slice(0, 3)) raw.exec(m);
    raw.pragma('user_version = 3');
    raw.close();
    const store = new Store(path);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const cols = (t: string) =>
      (store.db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
    expect(cols('run_leases')).toEqual(['run_id', 'pid', 'host', 'token', 'since', 'heartbeat_ms']);
    expect(cols('batches')).toContain('worst_case_usd');
    store.close();
  });
});
