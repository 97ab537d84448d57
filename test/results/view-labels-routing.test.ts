/**
 * `holdout view`'s labels and routing pages over HTTP: a 77-class label run (the per-class table
 * sorted on the server, the most-confused pairs and heatmap blocks leading to exactly their records,
 * every class on the heatmap's axes under a shortened name no other class has, the heatmap in its
 * scrolling box), the routing evaluation `holdout view --route` makes at start, and XSS payloads in
 * class names and policy names.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../harness/cli/main.js';
import { evaluateRouting } from '../../harness/route/evaluate.js';
import { Store } from '../../results/store/store.js';
import { AXIS_CHARS, confusionOrder, shortNames } from '../../results/view/labels-page.js';
import type { RouteResult } from '../../results/view/routing-page.js';
import { startViewServer, type ViewServer } from '../../results/view/server.js';
import { tempDir } from '../support/cli.js';
import { fakeClock } from '../support/fakes.js';
import { bakeoff, PAYLOADS } from './report-helpers.js';
import { http, type LabelCall, labelRun, listedIds } from './view-fixture.js';

const PAYLOAD = PAYLOADS.join('');

/** Text of HTML as the browser reads it (the few entities escapeHtml writes). */
const htmlText = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** The element `tag` with `attr="value"` in `html`, from its start tag to its end tag. */
function element(html: string, tag: string, marker: string): string {
  const at = html.indexOf(marker);
  expect(at, marker).toBeGreaterThanOrEqual(0);
  const start = html.lastIndexOf(`<${tag}`, at);
  return html.slice(start, html.indexOf(`</${tag}>`, at) + tag.length + 3);
}

const rowsOf = (table: string) => [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!).slice(1);
const cellsOf = (row: string) => [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
const hrefs = (html: string, cls: string) =>
  [...html.matchAll(new RegExp(`<a href="([^"]*)" class="${cls}">`, 'g'))].map((m) => htmlText(m[1]!));

/** The records of the plan's calls of `candidate` that expected `expected` and predicted `predicted`. */
function planned(
  calls: LabelCall[],
  candidate: string,
  expected: string,
  predicted?: string | null,
): string[] {
  const ids = calls
    .filter(
      (c) =>
        c.candidate === candidate &&
        c.expected === expected &&
        c.predicted !== expected &&
        (predicted === undefined || c.predicted === predicted),
    )
    .map((c) => c.recordId);
  return [...new Set(ids)];
}

describe('the labels page: a run of 77 classes', () => {
  let store: Store;
  let server: ViewServer;
  let base: string;
  let run: ReturnType<typeof labelRun>;
  const get = (path: string) => http(`${base}${path}`);

  beforeAll(async () => {
    store = new Store(':memory:');
    run = labelRun(store);
    server = await startViewServer(store, { clock: fakeClock() });
    base = server.url.replace(/\/$/, '');
  });

  afterAll(async () => {
    await server.close();
    store.close();
  });

  it('is linked from the run page, with the routing page', async () => {
    const res = await get(`/runs/${run.runId}`);
    expect(res.body).toContain(`href="/runs/${run.runId}/labels"`);
    expect(res.body).toContain(`href="/runs/${run.runId}/routing"`);
  });

  it('every class is on the heatmap, under a short name no other class has, in a scrolling box', async () => {
    const res = await get(`/runs/${run.runId}/labels?scorer=intent&candidate=mini`);
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.body).not.toMatch(/<script/i);
    const box = element(res.body, 'div', 'class="heatmap-box"');
    expect(box).toContain('<table class="heatmap" data-scorer="intent" data-candidate="mini">');
    // The box bounds the grid's width and scrolls: the page's stylesheet says so.
    expect(res.body).toMatch(/\.heatmap-box \{ max-width: 100%; max-height: 80vh; overflow: auto;/);
    const rowHeads = [...box.matchAll(/<th scope="row" title="([^"]*)">([^<]*)<\/th>/g)];
    const colHeads = [...box.matchAll(/<th scope="col" title="([^"]*)"><span>([^<]*)<\/span><\/th>/g)];
    expect(rowHeads.map((m) => htmlText(m[1]!))).toEqual(run.classes);
    expect(colHeads.map((m) => htmlText(m[1]!))).toEqual([...run.classes, '(no class)']);
    const shown = rowHeads.map((m) => htmlText(m[2]!));
    expect(new Set(shown).size).toBe(77);
    for (const s of shown) expect(Array.from(s).length).toBeLessThanOrEqual(AXIS_CHARS);
    expect(shown[0]).not.toBe(run.classes[0]); // shortened: the names are 40 characters and more
    expect(colHeads.map((m) => htmlText(m[2]!)).slice(0, 77)).toEqual(shown);
    // 77 rows of 78 blocks; only the non-zero ones hold a count (and a title).
    const rows = rowsOf(box.replace(/<thead>[\s\S]*<\/thead>/, '<tr></tr>'));
    expect(rows).toHaveLength(77);
    for (const r of rows) expect(r.match(/<td/g)).toHaveLength(78);
    expect(rows[1]).toMatch(/<td class="hd7" title="[^"]*_01 → [^"]*_01: 2 of 3 \(66\.7%\)">2<\/td>/);
    expect(box.match(/<td><\/td>/g)!.length).toBeGreaterThan(77 * 70);
  });

  it('the most-confused pairs and the heatmap blocks lead to exactly their records', async () => {
    for (const candidate of run.names) {
      const res = await get(`/runs/${run.runId}/labels?scorer=intent&candidate=${candidate}`);
      const pairs = element(res.body, 'table', 'class="pairs"');
      const links = hrefs(pairs, 'pair');
      expect(links.length).toBeGreaterThan(0);
      expect(pairs).not.toContain('≈');
      for (const href of links) {
        const q = new URL(href, base).searchParams;
        expect(q.get('label')).toBe('intent');
        expect(q.get('candidate')).toBe(candidate);
        const predicted = q.has('unclassified') ? null : q.get('predicted')!;
        const want = planned(run.calls, candidate, q.get('expected')!, predicted);
        expect(want.length, href).toBeGreaterThan(0);
        const page = await get(href);
        expect(page.status, href).toBe(200);
        expect(listedIds(page.body), href).toEqual(want);
      }
      // The blocks off the diagonal link the same way: every one of them.
      const blocks = [
        ...element(res.body, 'table', 'class="heatmap"').matchAll(
          /<td class="ho\d+"[^>]*><a href="([^"]*)"/g,
        ),
      ];
      const cells = run.calls.filter((c) => c.candidate === candidate && c.predicted !== c.expected);
      const distinct = new Set(cells.map((c) => `${c.expected}→${c.predicted}`));
      expect(blocks).toHaveLength(distinct.size);
      for (const m of blocks.slice(0, 5)) {
        const q = new URL(htmlText(m[1]!), base).searchParams;
        const want = planned(
          run.calls,
          candidate,
          q.get('expected')!,
          q.has('unclassified') ? null : q.get('predicted')!,
        );
        expect(listedIds((await get(htmlText(m[1]!))).body)).toEqual(want);
      }
    }
  });

  it('the per-class table sorts by F1, support or errors on the server; errors lead to their records', async () => {
    const figures = async (query: string) => {
      const res = await get(`/runs/${run.runId}/labels?scorer=intent&candidate=mini${query}`);
      expect(res.status).toBe(200);
      return rowsOf(element(res.body, 'table', 'class="classes"')).map((r) => {
        const c = cellsOf(r);
        return { cls: htmlText(c[0]!), f1: Number(c[3]), support: Number(c[4]), errors: c[5]! };
      });
    };
    const byClass = await figures('');
    expect(byClass.map((r) => r.cls)).toEqual(run.classes);
    const f1 = (await figures('&sort=f1')).map((r) => r.f1);
    expect(f1).toEqual([...f1].sort((a, b) => a - b));
    expect(f1[0]).toBeLessThan(f1.at(-1)!);
    const errors = await figures('&sort=errors&dir=desc');
    const counts = errors.map((r) => Number(r.errors.replace(/<[^>]*>/g, '')));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts[0]).toBe(2); // every fifth class: one confusion, one output naming no class
    const supports = (await figures('&sort=support&dir=desc')).map((r) => r.support);
    expect(supports.every((s) => s === 3)).toBe(true);
    // The header links: F1 first sorts the worst classes first, then the other way.
    const page = await get(`/runs/${run.runId}/labels?scorer=intent&candidate=mini&sort=f1`);
    expect(page.body).toContain(
      `/runs/${run.runId}/labels?scorer=intent&amp;candidate=mini&amp;sort=f1&amp;dir=desc#label-0`,
    );
    // A class's errors: its calls given another class or none.
    const href = htmlText(/<a href="([^"]*)">2<\/a>/.exec(errors[0]!.errors)![1]!);
    const q = new URL(href, base).searchParams;
    expect(q.has('predicted') || q.has('unclassified')).toBe(false);
    expect(listedIds((await get(href)).body)).toEqual(planned(run.calls, 'mini', errors[0]!.cls));
  });

  it('orders the heatmap by confusion on request: classes confused together sit side by side', async () => {
    const res = await get(`/runs/${run.runId}/labels?scorer=intent&candidate=mini&order=confusion`);
    const box = element(res.body, 'div', 'class="heatmap-box"');
    const order = [...box.matchAll(/<th scope="row" title="([^"]*)">/g)].map((m) => htmlText(m[1]!));
    expect([...order].sort()).toEqual([...run.classes].sort());
    // mini confuses each class with the next: the order is that chain.
    expect(order).toEqual(run.classes);
    expect(
      confusionOrder(
        [
          [0, 5, 0],
          [0, 0, 0],
          [1, 0, 0],
        ],
        3,
      ),
    ).toEqual([0, 1, 2]);
    expect(
      confusionOrder(
        [
          [0, 0, 0],
          [0, 0, 9],
          [0, 0, 0],
        ],
        3,
      ),
    ).toEqual([1, 2, 0]);
  });

  it('the records page keeps a confusion filter in its form and on the records it opens', async () => {
    const c = run.calls.find(
      (x) => x.candidate === 'mini' && x.predicted !== null && x.predicted !== x.expected,
    )!;
    const query = new URLSearchParams({
      label: 'intent',
      candidate: 'mini',
      expected: c.expected,
      predicted: c.predicted!,
    });
    const list = await get(`/runs/${run.runId}/records?${query}`);
    expect(list.body).toContain('data-confusion=""');
    expect(list.body).toContain(`<input type="hidden" name="expected" value="${c.expected}"/>`);
    expect(listedIds(list.body)).toEqual([c.recordId]);
    const record = await get(`/runs/${run.runId}/records/${c.recordId}?${query}&i=0`);
    expect(record.status).toBe(200);
    expect(record.body).toContain('1 of 1 of the filtered records');
  });

  it('refuses what it cannot show with a usage error (400)', async () => {
    const bad = [
      `/runs/${run.runId}/labels?sort=speed`,
      `/runs/${run.runId}/labels?order=random`,
      `/runs/${run.runId}/labels?scorer=json`,
      `/runs/${run.runId}/labels?candidate=nobody`,
      `/runs/${run.runId}/records?label=intent&candidate=mini`,
      `/runs/${run.runId}/records?label=nope&candidate=mini&expected=x`,
      `/runs/${run.runId}/records?label=intent&candidate=mini&expected=nope`,
      `/runs/${run.runId}/records?label=intent&candidate=mini&expected=${run.classes[0]}&predicted=${run.classes[0]}`,
      `/runs/${run.runId}/records?label=intent&candidate=mini&expected=${run.classes[0]}&predicted=${run.classes[1]}&unclassified=1`,
    ];
    for (const path of bad) expect((await get(path)).status, path).toBe(400);
  });

  it('says where the scores’ details and the report’s matrix disagree (a run scored before a change)', async () => {
    const s = new Store(':memory:');
    const r = labelRun(s, { classes: 6 });
    // As if the label extraction had changed since: the stored detail names another class than the output does.
    s.db
      .prepare(
        `UPDATE scores SET detail = ? WHERE call_id = (SELECT id FROM calls WHERE run_id = ? AND record_id = 'c00-1'
           AND candidate = 'mini')`,
      )
      .run(`predicted=${JSON.stringify(r.classes[4])} expected=${JSON.stringify(r.classes[0])}`, r.runId);
    const srv = await startViewServer(s);
    try {
      const res = await http(`${srv.url}runs/${r.runId}/labels?candidate=mini`);
      expect(res.status).toBe(200);
      const pairs = element(res.body, 'table', 'class="pairs"');
      expect(pairs).toMatch(
        /0 records<\/a><span class="note" title="the scores&#39; details place 0 calls here/,
      );
    } finally {
      await srv.close();
      s.close();
    }
  });

  it('a run without label scorers says so', async () => {
    const s = new Store(':memory:');
    const { runId } = bakeoff(s, { records: 8 });
    const srv = await startViewServer(s);
    try {
      const res = await http(`${srv.url}runs/${runId}/labels`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('This run has no label scorer');
      expect((await http(`${srv.url}runs/${runId}`)).body).not.toContain(`/runs/${runId}/labels`);
    } finally {
      await srv.close();
      s.close();
    }
  });
});

describe('short names on the heatmap’s axes', () => {
  it('cut long names, never two alike', () => {
    const names = [
      'customer_support_intent_a',
      'customer_support_intent_b',
      'short',
      'customer_support_intent_x_and_the_same_end',
      'customer_support_intent_y_and_the_same_end',
      'customer_support_…',
      '注文のキャンセルと返金についての問い合わせ_1',
      '注文のキャンセルと返金についての問い合わせ_2',
    ];
    const out = shortNames(names, 18);
    expect(new Set(out).size).toBe(names.length);
    for (const s of out) expect(Array.from(s).length).toBeLessThanOrEqual(18);
    expect(out[2]).toBe('short');
    expect(out[5]).toBe('customer_support_…'); // short enough: kept, and the cut names keep clear of it
    expect(out[0]).toMatch(/…a$/);
    // Names alike but in the middle: numbered.
    expect([out[3], out[4]]).toEqual(['customer_suppor…#1', 'customer_suppor…#2']);
    expect(out[6]).toMatch(/…1$/);
    expect(shortNames(['x'.repeat(40), 'x'.repeat(41), 'xxxxxxx…#1'], 10)).toEqual([
      'xxxxxxx…#2',
      'xxxxxxx…#3',
      'xxxxxxx…#1',
    ]);
  });
});

describe('the labels page: untrusted class names', () => {
  it('payloads in class names, outputs and references come out escaped, and their links still work', async () => {
    const s = new Store(':memory:');
    const r = labelRun(s, { classes: 30, payload: PAYLOAD, names: [`mini${PAYLOADS[2]}`, 'frontier'] });
    const srv = await startViewServer(s);
    try {
      const b = srv.url.replace(/\/$/, '');
      const mini = encodeURIComponent(r.names[0]);
      const pages = [
        `/runs/${r.runId}/labels`,
        `/runs/${r.runId}/labels?candidate=${mini}&order=confusion&sort=errors&dir=desc`,
        `/runs/${r.runId}/labels?scorer=intent&candidate=frontier`,
      ];
      for (const p of pages) {
        const res = await http(`${b}${p}`);
        expect(res.status, p).toBe(200);
        expect(res.body, p).not.toContain('<script>window');
        expect(res.body, p).not.toContain('<svg onload');
        expect(res.body, p).not.toContain('<img src=x');
        expect(res.body, p).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
      }
      // The payload class's confusions lead to their records too.
      const evil = r.classes.find((c) => c.includes('<script>'))!;
      const res = await http(`${b}/runs/${r.runId}/labels?candidate=${mini}`);
      const links = hrefs(element(res.body, 'table', 'class="pairs"'), 'pair').filter(
        (h) => new URL(h, b).searchParams.get('expected') === evil,
      );
      expect(links).toHaveLength(1);
      const list = await http(`${b}${links[0]}`);
      expect(list.body).not.toContain('<script>window');
      const q = new URL(links[0]!, b).searchParams;
      expect(listedIds(list.body)).toEqual(planned(r.calls, r.names[0], evil, q.get('predicted')));
    } finally {
      await srv.close();
      s.close();
    }
  });
});

describe('the routing page', () => {
  let dir: string;
  let policy: string;
  const evilPolicy = (path: string) =>
    writeFileSync(
      path,
      JSON.stringify({
        name: `cheap-first${PAYLOADS[0]}`,
        description: `classify goes up ${PAYLOADS[1]}`,
        default: 'mini',
        rules: [{ when: { tags: { task: 'classify' } }, route: 'frontier' }],
      }),
    );

  beforeAll(() => {
    dir = tempDir('holdout-view-route-');
    policy = join(dir, `policy${PAYLOADS[2].replace(/[/"<>]/g, '_')}.yaml`);
    evilPolicy(policy);
  });

  it('without --route, says how to give a policy', async () => {
    const s = new Store(':memory:');
    const { runId } = bakeoff(s, { records: 8 });
    const srv = await startViewServer(s);
    try {
      const res = await http(`${srv.url}runs/${runId}/routing`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('holdout view --route policy.yaml');
      expect(res.body).not.toContain('id="routing"');
    } finally {
      await srv.close();
      s.close();
    }
  });

  it('draws the evaluation made at start with the route HTML section; payloads in policy names are text', async () => {
    const s = new Store(':memory:');
    const { runId } = bakeoff(s, { records: 60 });
    const other = bakeoff(s, { records: 8, seed: 3 }).runId;
    const result = await evaluateRouting(
      s,
      { policies: [policy], run: runId, margin: 0.03, alpha: 0.025, fitOn: 'all', evaluateOn: 'all' },
      { stderr: new Writable({ write: (_c, _e, done) => done() }), env: {}, clock: fakeClock() },
    );
    expect(result).not.toBe('interrupted');
    const srv = await startViewServer(s, {
      routing: { policies: [policy], results: new Map([[runId, result as RouteResult]]) },
    });
    try {
      const res = await http(`${srv.url}runs/${runId}/routing`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('<section id="routing" class="routing">');
      expect(res.body).toContain('id="chart-routing"');
      expect(res.body).toContain('Policies beside every single candidate and the oracle');
      expect(res.body).toContain('cheap-first&lt;script&gt;window.__pwned=1&lt;/script&gt;');
      expect(res.body).toContain('classify goes up &lt;img src=x onerror=');
      expect(res.body).not.toContain('<script>window');
      expect(res.body).not.toContain('<img src=x');
      expect(res.body).not.toMatch(/<script/i);
      // Another run: the evaluation was not made on it; the page says how to have it.
      const elsewhere = await http(`${srv.url}runs/${other}/routing`);
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.body).toContain(`--route-run ${other}`);
      expect(elsewhere.body).toContain(`href="/runs/${runId}/routing"`);
    } finally {
      await srv.close();
      s.close();
    }
  });

  it('holdout view --route evaluates the policies at start (the latest run by default)', async () => {
    const db = join(dir, 'h.db');
    const s = new Store(db);
    bakeoff(s, { records: 8, seed: 5 });
    const { runId } = bakeoff(s, { records: 40 });
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
    let errors = '';
    const stderr = new Writable({
      write: (c, _e, done) => {
        errors += String(c);
        done();
      },
    });
    const stop = new AbortController();
    const exit = main(['view', '--db', db, '--route', policy], {
      stdout,
      stderr,
      env: {},
      signal: stop.signal,
    });
    const u = await Promise.race([url, exit.then((code) => `exit ${code}: ${errors}`)]);
    expect(u).toMatch(/^http/);
    const res = await http(`${u}runs/${runId}/routing`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('cheap-first&lt;script&gt;');
    expect(res.body).toContain(`holdout route · run ${runId}`);
    expect(errors).toContain(`evaluated on run ${runId}`);
    stop.abort();
    expect(await exit).toBe(0);
  });

  it('--route-run without --route, or a policy that does not load, is exit 2 before serving', async () => {
    const db = join(dir, 'h2.db');
    const s = new Store(db);
    bakeoff(s, { records: 8 });
    s.close();
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: x\ndefault: nobody\n');
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const run = (argv: string[]) =>
      main(argv, { stdout: sink, stderr: sink, env: {}, signal: new AbortController().signal });
    expect(await run(['view', '--db', db, '--route-run', 'latest'])).toBe(2);
    expect(await run(['view', '--db', db, '--route', broken])).toBe(2);
    expect(await run(['view', '--db', db, '--route', policy, '--route-run', '99'])).toBe(2);
  });
});
