/**
 * `compare --by/--cluster` with a tag no record has is a usage error (exit 2) listing the tags, as
 * `report --by`; and a record id with a lone surrogate lands in its slice in both.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
import { buildComparison } from '../../results/compare/compare.js';
import { buildReport } from '../../results/report/build.js';
import { Store } from '../../results/store/store.js';
import { runCli, tempDir } from '../support/cli.js';
import { addRecords, call, newRun, score } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

/** Records with tags task and conv (one per record); old passes everything, new fails the first one. */
function tagged(ids: string[], opts: { readBack?: boolean } = {}): number {
  const run = newRun(store, 1, ids.length, [
    ['old', 'm'],
    ['new', 'm'],
  ]);
  addRecords(
    store,
    run,
    ids.map((id, i) => [id, { task: i % 2 === 0 ? 'classify' : 'extract', conv: `c${i}` }]),
  );
  // As the runner does: the ids of the calls are those read back from the records table.
  const recordIds = opts.readBack ? store.recordPage(run, -1, 1000).map((r) => r.record_id) : ids;
  recordIds.forEach((recordId, i) => {
    store.recordCall(call(run, { recordId, candidate: 'old' }), [score('exact', 1, true)]);
    store.recordCall(call(run, { recordId, candidate: 'new' }), [score('exact', i === 0 ? 0 : 1, i !== 0)]);
  });
  store.setRunStatus(run, 'finished', '2025-01-01T01:00:00.000Z');
  return run;
}

describe('compare --by a tag no record has', () => {
  it('is a USAGE error listing the tags the records have', () => {
    store = new Store(':memory:');
    const run = tagged(['a', 'b', 'c']);
    const side = (candidate: string) => ({ runId: run, candidate });
    let err: unknown;
    try {
      buildComparison(store, side('old'), side('new'), { by: 'nosuchtag' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('USAGE');
    expect((err as HarnessError).exitCode).toBe(2);
    expect((err as HarnessError).message).toMatch(/no record of run 1 has a tag 'nosuchtag'/);
    expect((err as HarnessError).hint).toBe("the records' tags are: conv, task");
    expect(() => buildComparison(store, side('old'), side('new'), { cluster: 'nosuchtag' })).toThrow(
      /--cluster nosuchtag: no record of run 1 has a tag 'nosuchtag'/,
    );
    // A tag some records have is fine: the rest form the '(none)' slice, as before.
    expect(buildComparison(store, side('old'), side('new'), { by: 'task' }).slices!.slices.length).toBe(2);
  });

  it('the CLI exits 2 and prints the tags, like report --by', async () => {
    const db = join(tempDir(), 'h.db');
    store = new Store(db);
    tagged(['a', 'b', 'c']);
    store.close();
    const cmp = await runCli([
      'compare',
      '--db',
      db,
      '--baseline',
      'old',
      '--candidate',
      'new',
      '--by',
      'nosuchtag',
    ]);
    expect(cmp.code).toBe(2);
    expect(cmp.stdout).toBe('');
    expect(cmp.stderr).toMatch(/no record of run 1 has a tag 'nosuchtag'/);
    expect(cmp.stderr).toMatch(/the records' tags are: conv, task/);
    const rep = await runCli(['report', '--db', db, '--by', 'nosuchtag']);
    expect(rep.code).toBe(2);
    expect(rep.stderr).toMatch(/the records' tags are: conv, task/);
    store = new Store(db);
  });
});

describe('record ids with a lone surrogate', () => {
  // "\ud800x" is stored as ED A0 80 78 (better-sqlite3 binds a lone surrogate as generalized UTF-8);
  // read back it is "\ufffd\ufffd\ufffdx", whose bytes EF BF BD ×3 78 are what the runner stores
  // for the calls. Before the fix the records join missed those calls: compare put them in '(none)'
  // and report --by in the null slice.
  const IDS = ['\ud800x', 'plain', '\udc00y', 'emoji \ud83d\ude00'];

  for (const readBack of [true, false]) {
    it(`compare --by and report --by agree (${readBack ? 'ids read back, as the runner' : 'ids as given'})`, () => {
      store = new Store(':memory:');
      const run = tagged(IDS, { readBack });
      if (readBack) {
        const hex = store.db.prepare("SELECT hex(record_id) FROM calls WHERE candidate = 'old' ORDER BY id");
        expect(hex.pluck().all()[0]).toBe('EFBFBDEFBFBDEFBFBD78');
      }
      const side = (candidate: string) => ({ runId: run, candidate });
      const cmp = buildComparison(store, side('old'), side('new'), { by: 'task' });
      expect(cmp.slices!.slices.map((s) => [s.value, s.n])).toEqual([
        ['classify', 2],
        ['extract', 2],
      ]);
      // The regression is record 0 ("\ud800x", classify).
      expect(cmp.slices!.slices[0]!.pass.b).toBe(1);
      const rep = buildReport(store, run, { by: 'task' });
      expect(rep.slices.map((s) => [s.value, s.records, s.candidates.map((c) => c.calls)])).toEqual([
        ['classify', 2, [2, 2]],
        ['extract', 2, [2, 2]],
      ]);
      expect(rep.slices[0]!.candidates.find((c) => c.candidate === 'new')!.passes).toBe(1);
    });
  }

  it('compare --cluster finds the cluster of such a record too', () => {
    store = new Store(':memory:');
    const run = tagged(IDS, { readBack: true });
    const side = (candidate: string) => ({ runId: run, candidate });
    // One conversation per record: 4 clusters (before the fix the two surrogate ids shared '(none)').
    const cmp = buildComparison(store, side('old'), side('new'), { cluster: 'conv' });
    expect(cmp.metrics.pass.clusters).toBe(4);
  });
});
