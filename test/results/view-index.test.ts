/**
 * The records index of `holdout view` (results/view/queries.ts, RecordIndex and its text index): every
 * filter, sort and text search read through it gives exactly the records the plain SQL (filter.ts's
 * subqueries over the records, calls and scores tables) gives, in the same order, with the same
 * neighbours; and it follows a run that is still being written by another connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageCache } from '../../results/view/cache.js';
import { parseFilter } from '../../results/view/filter.js';
import { neighbours, RecordIndex, recordPage, useRecordIndex } from '../../results/view/queries.js';
import { Store } from '../../results/store/store.js';
import { tempDir } from '../support/cli.js';
import { call, score } from './report-helpers.js';
import { rid, viewRun } from './view-fixture.js';

const QUERIES = [
  '',
  'pass=frontier',
  'fail=mini',
  'pass=frontier&fail=mini',
  'fail=mini&fail=frontier',
  'flips=mini,frontier',
  'flips=frontier,mini',
  'tag=task:extract',
  'tag=task:extract&fail=mini',
  'tag=tenant:acme&pass=mini',
  'error=*',
  'sort=latency:frontier&dir=desc',
  'sort=cost:mini',
  'sort=score:mini&dir=desc',
  'pass=frontier&fail=mini&sort=latency:mini&dir=desc',
  'q=refund',
  'q=REFUND',
  'q="hi"',
  'q=zebra',
  'q=ticket',
  'q=he',
  'q=answer 6',
  'q=%',
  'q=a_s',
  'q=triage',
  'q=platypus',
  'q=walrus',
  'pass=frontier&q=answer&sort=cost:frontier',
];

let dir: string;
let writer: Store;
let plain: Store;
let viewer: Store;
let runId: number;

beforeAll(() => {
  dir = tempDir();
  writer = new Store(`${dir}/view.db`);
  runId = viewRun(writer, { records: 120 }).runId;
  plain = new Store(`${dir}/view.db`);
  viewer = new Store(`${dir}/view.db`);
  useRecordIndex(viewer.db, new RecordIndex(viewer.db, new PageCache(viewer.db)));
});

afterAll(() => {
  for (const s of [writer, plain, viewer]) s.close();
});

const f = (query: string) => parseFilter(new URLSearchParams(query), ['mini', 'frontier']);
const listing = (store: Store, query: string) =>
  [1, 2, 3].map((page) => {
    const p = recordPage(store.db, runId, f(query), page);
    return { total: p.total, ids: p.rows.map((r) => r.record_id) };
  });

function expectSame(): void {
  for (const query of QUERIES) {
    const want = listing(plain, query);
    expect({ query, got: listing(viewer, query) }).toEqual({ query, got: want });
    for (const id of [want[0]!.ids[0], want[0]!.ids[7], rid(50)]) {
      if (id === undefined) continue;
      for (const hint of [undefined, 0, 7]) {
        expect(neighbours(viewer.db, runId, f(query), id, hint)).toEqual(
          neighbours(plain.db, runId, f(query), id, hint),
        );
      }
    }
  }
}

describe('records index', () => {
  it('gives the plain SQL its records, order, totals and neighbours under every filter and sort', () => {
    // Known answers first, so the comparison is not between two wrong lists.
    expect(listing(viewer, 'pass=frontier&fail=mini')[0]!.ids).toEqual([rid(1), rid(7)]);
    expect(listing(viewer, 'flips=mini,frontier')[0]!.ids).toEqual([rid(1), rid(2), rid(7)]);
    expect(listing(viewer, 'q=zebra')[0]!.ids).toEqual([rid(6)]);
    expect(listing(viewer, 'q=refund')[0]!.ids).toEqual([rid(2)]);
    expectSame();
  });

  it('follows a run being written: new records, new scores, a retried call replacing an output', () => {
    expectSame(); // both indexes built and kept
    // Another connection writes: a new record whose prompt has a rare word, frontier failing on it;
    // and a retry of mini's failed call on r003 (an error) replacing it: it now fails and says "walrus".
    const body = {
      id: 'r900',
      api: 'chat',
      tags: { task: 'extract' },
      request: { model: 'gpt-x', messages: [{ role: 'user', content: 'a platypus ate my parcel' }] },
      reference: { label: 'billing' },
    };
    writer.insertRecords(
      runId,
      [{ id: 'r900', api: 'chat', tags: body.tags, json: JSON.stringify(body) }],
      900,
    );
    for (const [candidate, passed] of [
      ['mini', true],
      ['frontier', false],
    ] as const) {
      writer.recordCall(call(runId, { recordId: 'r900', candidate, output: 'billing', latencyMs: 999 }), [
        score('json', passed ? 1 : 0, passed),
      ]);
    }
    writer.recordCall(
      call(runId, { recordId: rid(3), candidate: 'mini', output: 'a walrus', latencyMs: 5 }),
      [score('json', 0, false)],
      true,
    );
    expect(listing(plain, 'q=platypus')[0]!.ids).toEqual(['r900']);
    expect(listing(plain, 'q=walrus')[0]!.ids).toEqual([rid(3)]);
    expect(listing(plain, 'fail=mini')[0]!.ids).toContain(rid(3));
    expect(listing(plain, 'error=*')[0]!.ids).not.toContain(rid(3));
    expect(listing(plain, 'pass=mini&fail=frontier')[0]!.ids).toContain('r900');
    expectSame();
  });
});
