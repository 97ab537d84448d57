import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
import { SCHEMA_VERSION } from '../../results/schema.js';
import { Store } from '../../results/store.js';
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
