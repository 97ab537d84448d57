/**
 * `holdout view` (results/view/): the filters' SQL against known outcomes, and every page through
 * HTTP requests to the in-process server on a free port: deep links, paging, sorting, previous /
 * next within a filter, the grade POST and its protections, escaping.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../harness/cli/main.js';
import { EMPTY_FILTER, parseFilter, type RecordFilter } from '../../results/view/filter.js';
import { neighbours, recordPage } from '../../results/view/queries.js';
import { startViewServer, type ViewServer } from '../../results/view/server.js';
import { Store } from '../../results/store/store.js';
import { tempDir } from '../support/cli.js';
import { fakeClock } from '../support/fakes.js';
import { PAYLOADS } from './report-helpers.js';
import { http, listedIds, rid, viewRun } from './view-fixture.js';

let store: Store;
let server: ViewServer;
let runId: number;
let base: string;

beforeAll(async () => {
  store = new Store(':memory:');
  runId = viewRun(store, { records: 120 }).runId;
  viewRun(store, { records: 3 }); // a second run of the suite
  server = await startViewServer(store, { clock: fakeClock() });
  base = server.url.replace(/\/$/, '');
});

afterAll(async () => {
  await server.close();
  store.close();
});

const f = (query: string): RecordFilter => parseFilter(new URLSearchParams(query), ['mini', 'frontier']);
const ids = (query: string, page = 1) =>
  recordPage(store.db, runId, f(query), page).rows.map((r) => r.record_id);
const total = (query: string) => recordPage(store.db, runId, f(query), 1).total;
const get = (path: string) => http(`${base}${path}`);

describe('records filters (SQL)', () => {
  it('outcome per candidate: frontier passed, mini failed', () => {
    expect(ids('pass=frontier&fail=mini')).toEqual([rid(1), rid(7)]);
    expect(ids('fail=frontier')).toEqual([rid(2), rid(4), rid(5)]);
    // An error or an unscored call is neither a pass nor a fail.
    expect(ids('pass=mini').includes(rid(3))).toBe(false);
    expect(ids('fail=mini').includes(rid(4))).toBe(false);
  });

  it('flips between two candidates are the records holdout compare counts (both ok and scored)', () => {
    expect(ids('flips=mini,frontier')).toEqual([rid(1), rid(2), rid(7)]);
    expect(ids('flips=frontier,mini')).toEqual([rid(1), rid(2), rid(7)]);
  });

  it('error kinds, any error, tags, scorers', () => {
    expect(ids('error=rate_limit')).toEqual([rid(3)]);
    expect(ids('error=*')).toEqual([rid(3), rid(8)]);
    expect(total('tag=task:extract')).toBe(60);
    expect(ids('tag=task:extract&fail=mini')).toEqual([rid(1), rid(5), rid(7)]);
    expect(total('tag=task:nope')).toBe(0);
    expect(total('scorer=json')).toBe(60);
    expect(ids('scorer=label&fail=frontier')).toEqual([rid(2), rid(4)]);
  });

  it('text search in prompts (as JSON stores them) and outputs, LIKE wildcards taken literally', () => {
    expect(ids('q=refund')).toEqual([rid(2)]);
    expect(ids('q=zebra')).toEqual([rid(6)]);
    expect(ids(`q=${encodeURIComponent('said "hi"')}`)).toEqual([rid(5)]);
    expect(total('q=%25')).toBe(0);
    expect(total('q=answ_r')).toBe(0);
    expect(ids('q=lookup_order')).toEqual([rid(1)]);
  });

  it('sorts by a candidate’s latency, cost or score, missing values last, and pages by 50', () => {
    const slow = ids('sort=latency:frontier&dir=desc');
    expect(slow[0]).toBe(rid(119));
    expect(ids('sort=latency:frontier').at(-1)).toBe(rid(50)); // r008 is not among them
    // frontier errored on r008: no latency, so it sorts last in both directions.
    expect(recordPage(store.db, runId, f('sort=latency:frontier&dir=desc'), 3).rows.at(-1)?.record_id).toBe(
      rid(8),
    );
    expect(ids('sort=score:mini')[0]).toBe(rid(1));
    expect(ids('sort=id&dir=desc')[0]).toBe(rid(119));
    expect(ids('', 3)).toHaveLength(20);
    expect(ids('', 3)[0]).toBe(rid(100));
  });

  it('previous and next within the filter, from the position carried or by a search', () => {
    const filter = f('pass=frontier&fail=mini');
    expect(neighbours(store.db, runId, filter, rid(7), 1)).toEqual({
      index: 1,
      prev: rid(1),
      next: null,
      total: 2,
    });
    expect(neighbours(store.db, runId, filter, rid(7), 0)).toEqual({
      index: 1,
      prev: rid(1),
      next: null,
      total: 2,
    });
    expect(neighbours(store.db, runId, filter, rid(0), undefined)).toBeNull();
    expect(neighbours(store.db, runId, EMPTY_FILTER, rid(50), undefined)).toMatchObject({
      index: 50,
      prev: rid(49),
      next: rid(51),
    });
  });

  it('refuses unknown candidates, bad tags and sorts with a usage error', () => {
    expect(() => f('pass=nobody')).toThrow(/not a candidate/);
    expect(() => f('tag=novalue')).toThrow(/key:value/);
    expect(() => f('sort=speed:mini')).toThrow(/unknown column/);
    expect(() => f('flips=mini,mini')).toThrow(/two candidates/);
  });
});

describe('pages over HTTP', () => {
  it('/: runs grouped by suite, newest first, with records, calls and cost', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(
      /default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/,
    );
    expect(res.body).not.toMatch(/<script/i);
    const second = res.body.indexOf(`/runs/${runId + 1}"`);
    const first = res.body.indexOf(`/runs/${runId}"`);
    expect(second).toBeGreaterThan(0);
    expect(first).toBeGreaterThan(second);
    expect(res.body).toContain('suite view-suite');
    expect(res.body).toContain('mini, frontier');
    expect(res.body).toMatch(/>240</); // candidate calls
  });

  it('/runs/:id: the report, ?by= slices, links into the records', async () => {
    const res = await get(`/runs/${runId}?by=task`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('id="chart-frontier"');
    expect(res.body).toContain('id="slices"');
    expect(res.body).toContain(`href="/runs/${runId}/records?tag=task%3Aextract"`);
    expect(res.body).toContain(`href="/runs/${runId}/records?fail=mini"`);
    expect(res.body).toContain(`href="/runs/${runId}/records?error=rate_limit"`);
    expect(res.body).toContain(`href="/runs/${runId}/compare?a=mini&amp;b=frontier"`);
    expect((await get(`/runs/${runId}?by=nosuchtag`)).status).toBe(400);
    const missing = await get('/runs/999');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('run 999 is not in this database');
  });

  it('/runs/:id/records: a filtered page is a link; cells show outcome, score, cost, latency', async () => {
    const res = await get(`/runs/${runId}/records?pass=frontier&fail=mini`);
    expect(res.status).toBe(200);
    expect(listedIds(res.body)).toEqual([rid(1), rid(7)]);
    expect(res.body).toContain('1–2 of 2');
    expect(res.body).toMatch(/class="fail">FAIL<\/span><br>0\.000 · \$0\.001001 · 101 ms/);
    // The form shows the filter it applied; the record links carry it, with the position.
    expect(res.body).toMatch(/name="pass" value="frontier" checked="checked"/);
    expect(res.body).toContain(`/runs/${runId}/records/${rid(7)}?pass=frontier&amp;fail=mini&amp;i=1`);
    const page3 = await get(`/runs/${runId}/records?page=3`);
    expect(listedIds(page3.body)).toHaveLength(20);
    expect(page3.body).toContain('101–120 of 120');
    expect((await get(`/runs/${runId}/records?pass=nobody`)).status).toBe(400);
  });

  it('a submitted filter form (empty fields included) redirects to its clean link', async () => {
    const res = await get(`/runs/${runId}/records?tag=&pass=frontier&fail=mini&error=&scorer=&flips=&q=`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/runs/${runId}/records?pass=frontier&fail=mini`);
  });

  it('/runs/:id/records/:recordId: prompt, tools, format, reference, production, outputs, scores, usage', async () => {
    const res = await get(`/runs/${runId}/records/${rid(1)}?pass=frontier&fail=mini&i=0`);
    expect(res.status).toBe(200);
    for (const text of [
      'You triage tickets.',
      'ticket number 1',
      'lookup_order',
      'json_schema',
      'billing',
      'prod says billing',
      '321 ms',
      'mini answer 1',
      'frontier answer 1',
      'expected billing',
      'req_frontier_1',
      'frontier-2026-01-01',
      'reasoning tokens',
      'TTFT',
      '1 of 2 of the filtered records',
    ]) {
      expect(res.body, text).toContain(text);
    }
    expect(res.body).toContain(`/runs/${runId}/records/${rid(7)}?pass=frontier&amp;fail=mini&amp;i=1`);
    expect(res.body).toMatch(/name="token" value="[A-Za-z0-9_-]{43}"/);
    expect((await get(`/runs/${runId}/records/nope`)).status).toBe(404);
  });

  it('/runs/:id/compare: the verdict, the metric table, flips linking to their records', async () => {
    const res = await get(`/runs/${runId}/compare?a=mini&b=frontier`);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/class="verdict (PASS|FAIL|INCONCLUSIVE)"/);
    expect(res.body).toContain('Δ B − A [CI]');
    expect(res.body).toContain(`/runs/${runId}/records/${rid(2)}?pass=mini&amp;fail=frontier`);
    expect(res.body).toContain(`/runs/${runId}/records/${rid(1)}?pass=frontier&amp;fail=mini`);
    expect((await get(`/runs/${runId}/compare?a=mini&b=nobody`)).status).toBe(400);
  });

  it('answers only to its loopback address, and only GET and HEAD on pages', async () => {
    const evil = await http(`${base}/`, { headers: { Host: 'evil.example' } });
    expect(evil.status).toBe(421);
    expect((await http(`${base}/`, { method: 'POST' })).status).toBe(405);
    expect((await http(`${base}/`, { method: 'HEAD' })).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
  });
});

describe('grades', () => {
  const gradeUrl = () => `${base}/runs/${runId}/records/${rid(2)}/grades`;
  const form = (token: string, over: Record<string, string> = {}) =>
    new URLSearchParams({
      token,
      candidate: 'frontier',
      repeat: '0',
      value: 'pass',
      reviewer: 'ana',
      note: 'the label is right',
      back: 'fail=frontier&i=0#output-1-0',
      ...over,
    }).toString();
  const post = (body: string, headers: Record<string, string> = {}) =>
    http(gradeUrl(), {
      method: 'POST',
      body,
      headers: { Origin: base, 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    });
  const tokenOf = async () => {
    const page = await get(`/runs/${runId}/records/${rid(2)}`);
    return /name="token" value="([^"]+)"/.exec(page.body)![1]!;
  };
  const count = () => store.db.prepare('SELECT count(*) FROM grades').pluck().get() as number;

  it('stores a grade beside the scores and sends the reviewer back to the record and filter', async () => {
    const token = await tokenOf();
    const res = await post(form(token));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/runs/${runId}/records/${rid(2)}?fail=frontier&i=0#output-1-0`);
    const rows = store.db.prepare('SELECT * FROM grades').all();
    expect(rows).toEqual([
      expect.objectContaining({
        run_id: runId,
        record_id: rid(2),
        candidate: 'frontier',
        repeat: 0,
        reviewer: 'ana',
        value: 'pass',
        note: 'the label is right',
      }),
    ]);
    // The model's score is untouched.
    const scored = store.db
      .prepare(
        `SELECT s.passed FROM scores s JOIN calls c ON c.id = s.call_id
         WHERE c.run_id = ? AND c.record_id = ? AND c.candidate = 'frontier'`,
      )
      .pluck()
      .get(runId, rid(2));
    expect(scored).toBe(0);
    // A second grade: the newest wins in the records table; both are listed on the record.
    await post(form(token, { value: 'fail', reviewer: 'bo', note: '' }));
    const list = await get(`/runs/${runId}/records?fail=frontier`);
    expect(list.body).toMatch(/class="graded" title="bo: ">graded fail</);
    const page = await get(`/runs/${runId}/records/${rid(2)}`);
    expect(page.body).toMatch(/FAIL by bo, [^<]*\(current\)/);
    expect(page.body).toContain('PASS by ana');
  });

  it('refuses a grade without the right Origin, token, form, or fields', async () => {
    const token = await tokenOf();
    const before = count();
    expect((await post(form(token), { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(form(token), { Origin: 'null' })).status).toBe(403);
    const noOrigin = await http(gradeUrl(), {
      method: 'POST',
      body: form(token),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(noOrigin.status).toBe(403);
    expect((await post(form('x'.repeat(43)))).status).toBe(403);
    expect((await post(form(token), { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await post(form(token), { Host: 'evil.example' })).status).toBe(421);
    expect((await post(form(token, { value: 'maybe' }))).status).toBe(400);
    expect((await post(form(token, { reviewer: ' ' }))).status).toBe(400);
    expect((await post(form(token, { candidate: 'nobody' }))).status).toBe(400);
    expect((await post(form(token, { repeat: '3' }))).status).toBe(400);
    expect((await post(form(token, { note: 'x'.repeat(70_000) }))).status).toBe(413);
    expect((await http(gradeUrl())).status).toBe(405);
    expect(count()).toBe(before);
  });

  it('a back link is rebuilt from checked parts, never followed as given', async () => {
    const token = await tokenOf();
    const res = await post(form(token, { back: 'pass=nobody#//evil.example' }));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/runs/${runId}/records/${rid(2)}`);
  });
});

describe('untrusted text', () => {
  it('payloads in record ids, tags, prompts, outputs and candidate names come out escaped', async () => {
    const s = new Store(':memory:');
    const evil = viewRun(s, { records: 10, payload: PAYLOADS[0], names: [`mini${PAYLOADS[2]}`, 'frontier'] });
    const srv = await startViewServer(s);
    try {
      const b = srv.url.replace(/\/$/, '');
      const rec = `${PAYLOADS[0]}${rid(1)}`;
      const pages = [
        '/',
        `/runs/${evil.runId}?by=tenant`,
        `/runs/${evil.runId}/records`,
        `/runs/${evil.runId}/records/${encodeURIComponent(rec)}`,
        `/runs/${evil.runId}/compare?a=${encodeURIComponent(evil.names[0])}&b=frontier`,
      ];
      for (const p of pages) {
        const res = await http(`${b}${p}`);
        expect(res.status, p).toBe(200);
        expect(res.body, p).not.toContain('<script>window');
        expect(res.body, p).not.toContain('<svg onload');
      }
      const record = await http(`${b}${pages[3]}`);
      expect(record.body).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;r001');
    } finally {
      await srv.close();
      s.close();
    }
  });
});

describe('holdout view (the command)', () => {
  it('serves the database on 127.0.0.1, prints the URL, and stops on Ctrl-C', async () => {
    const dir = tempDir();
    const db = `${dir}/h.db`;
    const s = new Store(db);
    viewRun(s, { records: 5 });
    s.close();
    let printed = '';
    let onUrl: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => {
      onUrl = resolve;
    });
    const stdout = new Writable({
      write(chunk, _enc, done) {
        printed += String(chunk);
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(printed);
        if (m) onUrl(m[0]);
        done();
      },
    });
    const stderr = new Writable({ write: (_c, _e, done) => done() });
    const stop = new AbortController();
    const exit = main(['view', '--db', db], { stdout, stderr, env: {}, signal: stop.signal });
    const res = await http(await url);
    expect(res.status).toBe(200);
    expect(res.body).toContain('view-suite');
    stop.abort();
    expect(await exit).toBe(0);
  });

  it('a missing database is an error, not an empty page', async () => {
    const stderr = new Writable({ write: (_c, _e, done) => done() });
    const code = await main(['view', '--db', `${tempDir()}/missing.db`], {
      stdout: stderr,
      stderr,
      env: {},
      signal: new AbortController().signal,
    });
    expect(code).toBe(2);
  });
});
