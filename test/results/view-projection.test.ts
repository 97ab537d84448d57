/**
 * `holdout view`'s projection to production volume (`?project=1` on the run, compare and routing
 * pages): the figures on the page are `holdout report --project --format json`'s (and `holdout
 * compare --project`'s) for the same run and options, read back from the page as numbers; the form's
 * choices are links; bad values are 400 pages; model output and tag values are escaped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { viewProjection } from '../../harness/cli/view-command.js';
import { evaluateRouting } from '../../harness/route/evaluate.js';
import type { RouteResult } from '../../results/view/routing-page.js';
import type { Projection } from '../../results/report/projection.js';
import { Store } from '../../results/store/store.js';
import { startViewServer, type ViewServer } from '../../results/view/server.js';
import { runCli, tempDir } from '../support/cli.js';
import { fakeClock } from '../support/fakes.js';
import { bakeoff, PAYLOADS } from './report-helpers.js';
import { http, viewRun } from './view-fixture.js';

const PAYLOAD = PAYLOADS.join('');

/** A sample manifest as `holdout sample --stratify task` writes it: 900 classify and 300 extract in the source, 30 days of traffic. */
function manifest(sampled: number) {
  const half = sampled / 2;
  return {
    version: 1,
    seed: 7,
    size: sampled,
    sampled,
    stratify: 'task',
    allocation: 'equal',
    min_per_stratum: 0,
    window: null,
    split: null,
    dedup: { enabled: true, removed: 0 },
    span: { first: '2025-01-01T00:00:00Z', last: '2025-01-31T00:00:00Z', records: 1200 },
    read: 1200,
    excluded: { no_timestamp: 0, outside_window: 0, duplicate: 0, other_side: 0 },
    sources: [{ path: 'prod.jsonl', sha256: 'x', records: 1200 }],
    output_sha256: 'y',
    created_at: '2025-02-01T00:00:00Z',
    composition: [
      { stratum: 'classify', source_n: 900, source_share: 0.75, sample_n: half, sample_share: 0.5 },
      { stratum: 'extract', source_n: 300, source_share: 0.25, sample_n: half, sample_share: 0.5 },
    ],
  };
}

/** A pool of production records: `counts` per task (and tenant), one a day from 2025-02-01. */
function writePool(path: string, counts: Record<string, number>, tenant = 'acme'): void {
  const lines: string[] = [];
  let day = 0;
  for (const [task, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++, day++) {
      lines.push(
        JSON.stringify({
          id: `p${day}`,
          api: 'chat',
          tags: { task, tenant },
          timestamp: new Date(Date.UTC(2025, 1, 1) + day * 86_400_000).toISOString(),
          request: { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] },
        }),
      );
    }
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

// --- reading the section back as numbers ----------------------------------------------------------

const text = (s: string) =>
  s
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

function sectionOf(html: string, id = 'projection'): string {
  const at = html.indexOf(`<section id="${id}">`);
  expect(at, id).toBeGreaterThanOrEqual(0);
  return html.slice(at, html.indexOf('</section>', at));
}

/** The rows (cells as text) of the section's tables, in order. */
function tables(section: string): string[][][] {
  return [...section.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((t) =>
    [...t[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
      [...r[1]!.matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => text(c[1]!)),
    ),
  );
}

/** The numbers of a cell: "$1,217 [$1,100, $1,300]" → [1217, 1100, 1300]; "−" is a minus. */
const numbers = (cell: string) =>
  [...cell.replace(/−/g, '-').matchAll(/[-+]?\$?[\d,]*\.?\d+(e[-+]?\d+)?/gi)].map((m) =>
    Number(m[0].replace(/[$,]/g, '')),
  );

/** Money as shown: whole dollars from $1,000, cents from $1, 4 significant digits below. */
function expectMoney(shown: number[], e: { estimate: number; lo: number; hi: number }) {
  [e.estimate, e.lo, e.hi].forEach((v, i) => {
    const a = Math.abs(v);
    const tol = a >= 1000 ? 0.5 : a >= 1 ? 0.005 : a * 5e-4 + 1e-12;
    expect(Math.abs(shown[i]! - v), `${shown[i]} vs ${v}`).toBeLessThanOrEqual(tol);
  });
}

function expectScaled(
  shown: number[],
  e: { estimate: number; lo: number; hi: number },
  scale: number,
  dp: number,
) {
  [e.estimate, e.lo, e.hi].forEach((v, i) => {
    expect(Math.abs(shown[i]! - v * scale), `${shown[i]} vs ${v}`).toBeLessThanOrEqual(
      0.5 * 10 ** -dp + 1e-9,
    );
  });
}

/** Every figure of the page's projection section equals the JSON projection's. */
function expectSameFigures(html: string, p: Projection) {
  const [arms, strata] = tables(sectionOf(html));
  expect(arms!.slice(1).map((r) => r[0])).toEqual(p.arms.map((a) => a.name));
  p.arms.forEach((a, i) => {
    const row = arms![i + 1]!;
    expect(Number(row[1])).toBe(a.passRate.n);
    expectMoney(numbers(row[2]!), a.cost!);
    expectScaled(numbers(row[3]!), a.passRate, 100, 1);
    expectScaled(numbers(row[4]!), a.meanScore, 1, 3);
  });
  expect(strata!.slice(1).map((r) => [r[0], Number(r[2]!.replace(/,/g, '')), Number(r[3])])).toEqual(
    p.frame.strata.map((s) => [s.key, s.N, s.sampled]),
  );
  const unit = p.per === 'month' ? '/month' : ' per 1K requests';
  expect(arms![0]![2]).toBe(`cost${unit} [95% CI]`);
  if (p.frame.volume) {
    expect(text(html)).toContain(
      `${Math.round(p.frame.volume.perMonth).toLocaleString('en-US')} requests/month`,
    );
  }
}

describe('the projection in holdout view', () => {
  let dir: string;
  let db: string;
  let pool: string;
  let store: Store;
  let server: ViewServer;
  let bare: ViewServer;
  let stratified: number;
  let simple: number;
  let base: string;

  beforeAll(async () => {
    dir = tempDir('holdout-view-projection-');
    db = join(dir, 'h.db');
    pool = join(dir, 'pool.jsonl');
    // 30 classify, 25 extract and 5 summarize (no run record has it: uncovered), one a day.
    writePool(pool, { classify: 30, extract: 25, summarize: 5 });
    store = new Store(db);
    stratified = viewRun(store, { records: 120 }).runId;
    store.db
      .prepare('UPDATE runs SET config_json = ? WHERE id = ?')
      .run(JSON.stringify({ sample: manifest(120) }), stratified);
    simple = viewRun(store, { records: 40 }).runId; // no manifest
    server = await startViewServer(store, { clock: fakeClock(), projection: await viewProjection(pool) });
    bare = await startViewServer(store, { clock: fakeClock(), projection: await viewProjection(undefined) });
    base = server.url.replace(/\/$/, '');
  });

  afterAll(async () => {
    await server.close();
    await bare.close();
    store.close();
  });

  const report = async (argv: string[]): Promise<Projection> => {
    const r = await runCli([...argv, '--db', db, '--project', '--format', 'json']);
    expect(r.code, r.stderr).toBeLessThanOrEqual(3);
    return (JSON.parse(r.stdout) as { projection: Projection }).projection;
  };

  it('the run page: the figures of holdout report --project --format json, frame from the stored manifest', async () => {
    const res = await http(`${bare.url}runs/${stratified}?project=1`);
    expect(res.status).toBe(200);
    const p = await report(['report', String(stratified)]);
    expect(p.frame.source).toBe('sample manifest');
    // 1,200 requests over 30 days × 30.4375 days/month.
    expect(p.frame.volume!.perMonth).toBeCloseTo(1217.5, 9);
    expectSameFigures(res.body, p);
    // With a volume in the link: report --volume.
    const v = await http(`${bare.url}runs/${stratified}?project=1&volume=250000`);
    expect(v.status).toBe(200);
    const pv = await report(['report', String(stratified), '--volume', '250000']);
    expectSameFigures(v.body, pv);
    expect(text(v.body)).toContain('250,000 requests/month (volume= in the link)');
    // The cache keeps a page per volume: twice the volume, twice the monthly cost.
    const w = await http(`${bare.url}runs/${stratified}?project=1&volume=500000`);
    const cost = (html: string) => numbers(tables(sectionOf(html))[0]![1]![2]!)[0]!;
    expect(cost(w.body) / cost(v.body)).toBeCloseTo(2, 3);
    expect(cost((await http(`${bare.url}runs/${stratified}?project=1&volume=250000`)).body)).toBe(
      cost(v.body),
    );
  });

  it('without any volume, costs per 1K requests, and the page says so', async () => {
    const res = await http(`${bare.url}runs/${simple}?project=1`);
    expect(res.status).toBe(200);
    const p = await report(['report', String(simple)]);
    expect(p.per).toBe('1k requests');
    expectSameFigures(res.body, p);
    expect(text(res.body)).toContain('No volume known: costs are per 1K requests. Give one above');
    expect(text(res.body)).toContain('holdout view --volume-from pool.jsonl');
    // No pool: no post_stratify choice in the form.
    expect(res.body).not.toContain('name="post_stratify"');
  });

  it('post-stratification by a tag of a run without a manifest, on the pool given to the viewer', async () => {
    const res = await http(`${base}/runs/${simple}?project=1&post_stratify=task`);
    expect(res.status).toBe(200);
    const p = await report(['report', String(simple), '--volume-from', pool, '--post-stratify', 'task']);
    expect(p.frame.source).toBe('post-stratification');
    // 60 pool records over 59 days.
    expect(p.frame.volume!.perMonth).toBeCloseTo((60 * 30.4375) / 59, 9);
    expectSameFigures(res.body, p);
    expect(text(res.body)).toContain('summarize (8.3%)'); // uncovered, with its share 5/60
    expect(res.body).toMatch(/<option value="task" selected="selected">task<\/option>/);
  });

  it('the volume form round-trips as links: empty fields dropped, other choices carried', async () => {
    const page = await http(`${base}/runs/${simple}?by=task&project=1`);
    const form = page.body.match(/<form class="filter" method="get" action="([^"]*)">([\s\S]*?)<\/form>/g)!;
    const projectionForm = form.find((f) => f.includes('name="volume"'))!;
    expect(projectionForm).toContain(`action="/runs/${simple}#projection"`);
    expect(projectionForm).toContain('<input type="hidden" name="project" value="1"/>');
    expect(projectionForm).toContain('<input type="hidden" name="by" value="task"/>');
    expect(projectionForm).toContain('name="post_stratify"');
    // The browser sends every field, empty ones too: answered with the link without them.
    const sent = await http(`${base}/runs/${simple}?project=1&by=task&volume=120000&post_stratify=`);
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe(`/runs/${simple}?by=task&project=1&volume=120000#projection`);
    const shown = await http(`${base}${String(sent.headers.location).replace(/#.*/, '')}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toContain('name="volume" min="1" step="any" value="120000"');
    expect(text(shown.body)).toContain('120,000 requests/month (volume= in the link)');
    // The slice form keeps the projection's choices.
    const byForm = shown.body.match(
      /<form[^>]*>(?:(?!<\/form>)[\s\S])*name="by"(?:(?!<\/form>)[\s\S])*<\/form>/,
    )![0];
    expect(byForm).toContain('<input type="hidden" name="volume" value="120000"/>');
    // Without project=1, a link to it.
    const plain = await http(`${base}/runs/${simple}`);
    expect(plain.body).toContain(`href="/runs/${simple}?project=1#projection"`);
    expect(plain.body).not.toContain('<section id="projection">');
  });

  it('the compare page: B instead of A, as holdout compare --project', async () => {
    const res = await http(`${bare.url}runs/${stratified}/compare?a=mini&b=frontier&project=1&volume=250000`);
    expect(res.status).toBe(200);
    const r = await runCli([
      'compare',
      '--db',
      db,
      '--run',
      String(stratified),
      '--baseline',
      'mini',
      '--candidate',
      'frontier',
      '--project',
      '--volume',
      '250000',
      '--format',
      'json',
    ]);
    const p = (JSON.parse(r.stdout) as { projection: Projection }).projection;
    expectSameFigures(res.body, p);
    const d = p.differences[0]!;
    const line = text(sectionOf(res.body)).match(/frontier instead of mini: [^\n]*/)![0];
    const [c, clo, chi, pr, plo, phi, ms, mlo, mhi, n] = numbers(line.replace(/^.*?: /, ''));
    expectMoney([c!, clo!, chi!], d.cost!);
    expectScaled([pr!, plo!, phi!], d.passRate, 100, 1);
    expectScaled([ms!, mlo!, mhi!], d.meanScore, 1, 3);
    expect(n).toBe(d.passRate.n);
    // The pick form carries the projection; without project=1 the page links to it.
    expect(res.body).toContain('<input type="hidden" name="volume" value="250000"/>');
    const plain = await http(`${bare.url}runs/${stratified}/compare?a=mini&b=frontier`);
    expect(plain.body).toContain(
      `href="/runs/${stratified}/compare?a=mini&amp;b=frontier&amp;project=1#projection"`,
    );
    expect(plain.body).not.toContain('<section id="projection">');
  });

  it('bad choices are 400 pages with the message, never a stack', async () => {
    const cases: [string, string][] = [
      [
        `/runs/${stratified}?project=1&volume=abc`,
        "volume: 'abc' is not a positive number of requests per month",
      ],
      [`/runs/${stratified}?project=1&volume=0`, "volume: '0' is not a positive number"],
      [`/runs/${stratified}?project=1&volume=-5`, "volume: '-5' is not"],
      [`/runs/${stratified}?project=1&volume=1e400`, "volume: '1e400' is not"],
      [`/runs/${stratified}?project=yes`, "project: 'yes' is not 1 or 0"],
      [`/runs/${stratified}?volume=100`, 'volume= and post_stratify= only with project=1'],
      [
        `/runs/${simple}?project=1&post_stratify=colour`,
        "post_stratify: no record of the run has a tag 'colour'",
      ],
      // The sample is stratified by task: within tenant it is not a simple random sample.
      [`/runs/${stratified}?project=1&post_stratify=tenant`, "the sample is stratified by 'task'"],
      [`/runs/${stratified}/compare?a=mini&b=frontier&project=1&volume=x`, "volume: 'x' is not"],
      [`/runs/${stratified}/routing?project=1&volume=5`, 'volume= and post_stratify= are not taken here'],
    ];
    for (const [path, message] of cases) {
      const res = await http(`${base}${path}`);
      expect(res.status, path).toBe(400);
      expect(text(res.body), path).toContain(message);
      expect(res.body, path).not.toMatch(/\n\s+at /);
    }
    const noPool = await http(`${bare.url}runs/${simple}?project=1&post_stratify=task`);
    expect(noPool.status).toBe(400);
    expect(text(noPool.body)).toContain('start the viewer with `holdout view --volume-from pool.jsonl`');
    // A payload in a value comes back as text.
    for (const q of [
      `volume=${encodeURIComponent(PAYLOAD)}`,
      `post_stratify=${encodeURIComponent(PAYLOAD)}`,
    ]) {
      const res = await http(`${base}/runs/${stratified}?project=1&${q}`);
      expect(res.status).toBe(400);
      expect(res.body).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
      expect(res.body).not.toContain('<script>window');
      expect(res.body).not.toContain('<img src=x');
    }
  });

  it('candidate names and tag values with payloads come out escaped in the section', async () => {
    const s = new Store(':memory:');
    const names: [string, string] = [`mini${PAYLOADS[0]}`, `frontier${PAYLOADS[1]}`];
    const evil = viewRun(s, { records: 12, payload: PAYLOADS[2], names }).runId;
    const evilPool = join(dir, 'evil-pool.jsonl');
    writePool(evilPool, { classify: 3, extract: 2 }, `acme${PAYLOADS[2]}`);
    const srv = await startViewServer(s, { projection: await viewProjection(evilPool) });
    try {
      for (const path of [
        `runs/${evil}?project=1&post_stratify=tenant`,
        `runs/${evil}/compare?a=${encodeURIComponent(names[0])}&b=${encodeURIComponent(names[1])}&project=1&post_stratify=tenant`,
      ]) {
        const res = await http(`${srv.url}${path}`);
        expect(res.status, path).toBe(200);
        const section = sectionOf(res.body);
        expect(section).toContain('mini&lt;script&gt;window.__pwned=1&lt;/script&gt;');
        expect(section).toContain('acme&quot;&gt;&lt;svg onload=window.__pwned=3&gt;');
        expect(res.body).not.toContain('<script>window');
        expect(res.body).not.toContain('<img src=x');
        expect(res.body).not.toContain('<svg onload');
      }
    } finally {
      await srv.close();
      s.close();
    }
  });

  it('holdout view --volume-from reads the pool at start: a missing file is exit 2 before serving', async () => {
    const r = await runCli(['view', '--db', db, '--volume-from', join(dir, 'nope.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.jsonl: no such file');
  });

  it('the routing page shows the projection made with the evaluation at start, with project=1 only', async () => {
    const s = new Store(':memory:');
    const { runId } = bakeoff(s, { records: 40 });
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      JSON.stringify({
        name: 'cheap-first',
        default: 'mini',
        rules: [{ when: { tags: { task: 'classify' } }, route: 'frontier' }],
      }),
    );
    const vp = await viewProjection(undefined);
    const result = await evaluateRouting(
      s,
      {
        policies: [policy],
        run: runId,
        margin: 0.03,
        alpha: 0.025,
        fitOn: 'all',
        evaluateOn: 'all',
        projection: await vp.sources(s.getRun(runId)!, { volume: null, postStratify: null }),
      },
      { stderr: new Writable({ write: (_c, _e, done) => done() }), env: {}, clock: fakeClock() },
    );
    expect(result).not.toBe('interrupted');
    const srv = await startViewServer(s, {
      projection: vp,
      routing: { policies: [policy], results: new Map([[runId, result as RouteResult]]) },
    });
    try {
      const plain = await http(`${srv.url}runs/${runId}/routing`);
      expect(plain.status).toBe(200);
      expect(plain.body).not.toContain('id="routing-projection"');
      expect(plain.body).toContain(`href="/runs/${runId}/routing?project=1#routing-projection"`);
      const projected = await http(`${srv.url}runs/${runId}/routing?project=1`);
      expect(projected.status).toBe(200);
      const [arms] = tables(sectionOf(projected.body, 'routing-projection'));
      expect(arms!.slice(1).map((r) => r[0])).toEqual(
        (result as RouteResult).projection!.arms.map((a) =>
          a.kind === 'policy' ? `${a.name} (policy)` : a.name,
        ),
      );
    } finally {
      await srv.close();
      s.close();
    }
  });
});
