/**
 * results/view/cache.ts: the run and compare pages are built once and served again until the run's
 * rows change (a write by this connection, or by another process on the same file).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PageCache } from '../../results/view/cache.js';
import { startViewServer } from '../../results/view/server.js';
import { Store } from '../../results/store/store.js';
import { tempDir } from '../support/cli.js';
import { fakeClock } from '../support/fakes.js';
import { http, rid, viewRun } from './view-fixture.js';

const dir = tempDir('holdout-view-cache-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function counted(cache: PageCache, runId: number, key = 'k') {
  let builds = 0;
  const get = () => cache.get(runId, key, () => `page ${++builds}`);
  return { get, builds: () => builds };
}

describe('PageCache', () => {
  it('builds once while nothing changes, again after a write to the run', () => {
    const store = new Store(':memory:');
    const { runId } = viewRun(store, { records: 10 });
    const cache = new PageCache(store.db);
    const page = counted(cache, runId);
    expect(page.get()).toBe('page 1');
    expect(page.get()).toBe('page 1');
    expect(page.builds()).toBe(1);
    // A score changed in place (as a rescore writes it): the run's fingerprint moves.
    store.db
      .prepare(
        `UPDATE scores SET value = 0, passed = 0 WHERE call_id = (SELECT min(id) FROM calls WHERE run_id = ?)`,
      )
      .run(runId);
    expect(page.get()).toBe('page 2');
    // A grade (the viewer's own write).
    store.db
      .prepare(
        `INSERT INTO grades (run_id, record_id, candidate, repeat, reviewer, value, created_at)
         VALUES (?, ?, 'mini', 0, 'ann', 'pass', '2025-01-01')`,
      )
      .run(runId, rid(0));
    expect(page.get()).toBe('page 3');
    // Status and end of the run.
    store.setRunStatus(runId, 'interrupted');
    expect(page.get()).toBe('page 4');
    expect(page.get()).toBe('page 4');
    store.close();
  });

  it('keeps a run’s page across writes to another run, and sees writes of another connection', () => {
    const path = join(dir, 'two.db');
    const store = new Store(path);
    const { runId } = viewRun(store, { records: 10 });
    const other = viewRun(store, { records: 2 }).runId;
    const cache = new PageCache(store.db);
    const page = counted(cache, runId);
    page.get();
    const writer = new Store(path);
    writer.db.prepare('UPDATE runs SET status = ? WHERE id = ?').run('interrupted', other);
    expect(page.get()).toBe('page 1');
    writer.db
      .prepare('DELETE FROM scores WHERE call_id = (SELECT max(id) FROM calls WHERE run_id = ?)')
      .run(runId);
    expect(page.get()).toBe('page 2');
    expect(page.get()).toBe('page 2');
    writer.close();
    store.close();
  });

  it('keeps a bounded number of pages, the least recently used out first', () => {
    const store = new Store(':memory:');
    const { runId } = viewRun(store, { records: 2 });
    const cache = new PageCache(store.db, 2);
    const a = counted(cache, runId, 'a');
    const b = counted(cache, runId, 'b');
    const c = counted(cache, runId, 'c');
    a.get();
    b.get();
    a.get(); // b is now the oldest
    c.get();
    expect(cache.length).toBe(2);
    a.get();
    b.get();
    expect([a.builds(), b.builds(), c.builds()]).toEqual([1, 2, 1]);
    store.close();
  });
});

describe('the run and compare pages through the server', () => {
  it('show a changed score on the next request', async () => {
    const store = new Store(':memory:');
    const { runId } = viewRun(store, { records: 12 });
    const server = await startViewServer(store, { clock: fakeClock() });
    const get = async (path: string) => (await http(`${server.url}runs/${runId}${path}`)).body;
    try {
      for (const path of ['', '?by=task', '/compare?a=mini&b=frontier']) {
        const before = await get(path);
        expect(await get(path)).toBe(before);
        const ids = store.db
          .prepare(`SELECT id FROM calls WHERE run_id = ? AND candidate = 'frontier' AND status = 'ok'`)
          .pluck()
          .all(runId) as number[];
        store.db
          .prepare(
            `UPDATE scores SET value = 1 - value, passed = 1 - passed WHERE call_id IN (${ids.join(',')})`,
          )
          .run();
        const after = await get(path);
        expect(after).not.toBe(before);
        // What a server without a cache answers.
        const fresh = await startViewServer(store, { clock: fakeClock(), cachedPages: 0 });
        const uncached = (await http(`${fresh.url}runs/${runId}${path}`)).body;
        await fresh.close();
        expect(after).toBe(uncached);
      }
    } finally {
      await server.close();
      store.close();
    }
  });
});
