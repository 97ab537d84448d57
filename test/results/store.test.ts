import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
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
