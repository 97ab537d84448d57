/** A scorer that scored none of its calls gets a note naming it and the reason its rows give most often. */
import { afterEach, describe, expect, it } from 'vitest';
import { renderReport } from '../../results/render/report-text.js';
import { buildReport } from '../../results/report/build.js';
import { Store } from '../../results/store/store.js';
import { addRecords, call, newRun } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

const unscored = (scorer: string, detail?: string) => ({
  scorer,
  value: null,
  passed: null,
  ...(detail !== undefined ? { detail } : {}),
});
const scored = (scorer: string, value: number) => ({ scorer, value, passed: value >= 1 });

/** Three records, two candidates (6 calls); `scores(record index)` gives each call's score rows. */
function fixture(scores: (i: number) => ReturnType<typeof unscored | typeof scored>[]): number {
  const run = newRun(store, 1, 3, [
    ['nano', 'm1'],
    ['mini', 'm2'],
  ]);
  addRecords(store, run, [
    ['r1', {}],
    ['r2', {}],
    ['r3', {}],
  ]);
  for (const candidate of ['nano', 'mini']) {
    for (let i = 0; i < 3; i++) store.recordCall(call(run, { recordId: `r${i + 1}`, candidate }), scores(i));
  }
  store.setRunStatus(run, 'finished', '2025-01-01T01:00:00.000Z');
  return run;
}

describe('report: scorers unscored on every call', () => {
  it('names the scorer, the calls and the stored detail', () => {
    store = new Store(':memory:');
    const run = fixture(() => [unscored('label', 'no reference.label'), scored('exact', 1)]);
    const r = buildReport(store, run);
    expect(r.notes).toContain('label: unscored on all 6 calls (no reference.label).');
    // The scored scorer gets no such note, and the text formats show it.
    expect(r.notes.some((n) => n.startsWith('exact:'))).toBe(false);
    expect(renderReport(r, 'table')).toContain('label: unscored on all 6 calls (no reference.label).');
  });

  it('with several details, the most common one and its count', () => {
    store = new Store(':memory:');
    const run = fixture((i) => [
      unscored('json_fields', i < 2 ? 'no reference.json' : 'invalid reference.schema: not an object'),
      scored('exact', 0),
    ]);
    expect(buildReport(store, run).notes).toContain(
      'json_fields: unscored on all 6 calls (most often: no reference.json, 4 of 6).',
    );
  });

  it('rows without a detail say so; a scorer scored on some call gets no note', () => {
    store = new Store(':memory:');
    const run = fixture((i) => [
      unscored('mystery'),
      i === 0 ? scored('partial', 1) : unscored('partial', 'x'),
    ]);
    const notes = buildReport(store, run).notes;
    expect(notes).toContain('mystery: unscored on all 6 calls (no reason stored).');
    expect(notes.some((n) => n.startsWith('partial:'))).toBe(false);
  });

  it('reads the details with one GROUP BY, whatever the number of calls', () => {
    store = new Store(':memory:');
    const run = fixture(() => [
      unscored('label', 'no reference.label'),
      unscored('json', 'no reference.json'),
    ]);
    const prepare = store.db.prepare.bind(store.db);
    const seen: string[] = [];
    store.db.prepare = ((sql: string) => {
      seen.push(sql);
      return prepare(sql);
    }) as typeof store.db.prepare;
    const notes = buildReport(store, run).notes;
    expect(notes).toContain('label: unscored on all 6 calls (no reference.label).');
    expect(notes).toContain('json: unscored on all 6 calls (no reference.json).');
    expect(seen.filter((sql) => /s\.detail/.test(sql))).toHaveLength(1);
  });
});
