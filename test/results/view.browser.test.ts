/**
 * `holdout view` in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): a run
 * made against the simulator, filtered to "frontier passed, mini failed", one record opened and
 * graded, the grade found in the database; the labels page of a 77-class run, whose heatmap scrolls
 * inside its box and leaves the page as wide as the viewport; and the report test's XSS payloads,
 * placed in record ids, tags, prompts, outputs, a candidate name, class names and a routing policy's
 * name, run in no view. Without Chromium this fails under CI (process.env.CI) and is skipped
 * elsewhere, like the HTML report's browser test.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentText, requestTurns } from '../../datasets/record.js';
import { systemClock } from '../../harness/clock.js';
import { evaluateRouting } from '../../harness/route/evaluate.js';
import { Store } from '../../results/store/store.js';
import type { RouteResult } from '../../results/view/routing-page.js';
import { startViewServer, type ViewServer } from '../../results/view/server.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';
import { PAYLOADS } from './report-helpers.js';
import { labelRun, viewRun } from './view-fixture.js';

const CHROMIUM = process.env.HOLDOUT_CHROMIUM ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);

if (missing && process.env.CI) {
  it('has Chromium to open the viewer in', () => {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\``);
  });
}

/** Where the labels page's heatmap box sits and how far it scrolls (CSS pixels). */
interface Measures {
  page: number;
  viewport: number;
  left: number;
  right: number;
  client: number;
  scroll: number;
  clientHeight: number;
  scrollHeight: number;
  headLeft: number;
}

describe.skipIf(missing)('holdout view in headless Chromium', () => {
  let browser: Browser | undefined;
  let server: ViewServer | undefined;
  let store: Store | undefined;
  let page: Page;
  let db: string;
  let simRun: number;
  let evilRun: number;
  let evilNames: [string, string];
  let labelsRun: number;
  let evilLabelsRun: number;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const PAYLOAD = PAYLOADS.join('');

  beforeAll(async () => {
    const dir = tempDir('holdout-view-');
    db = join(dir, 'h.db');
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        'suite: view-e2e',
        `dataset: ${sampleSlice(dir, 80)}`,
        `simulator: { answer_key: "${answerKeyPath()}" }`,
        'concurrency: 64',
        'candidates:',
        '  - { id: mini, model: sim-mini, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
        '  - { id: frontier, model: sim-frontier, api: responses, base_url: simulator, price: { input: 5, cached_input: 0.5, output: 30 } }',
        'scorers:',
        '  - { kind: label, match: { task: classify } }',
        '  - { kind: json, match: { task: extract }, equals_reference: true }',
        '  - { kind: normalized, match: { task: reformat } }',
      ].join('\n'),
    );
    const res = await runCli(['run', config, '--db', db]);
    expect(res.code, res.stderr).toBe(0);
    store = new Store(db);
    simRun = store.latestRun()!.id;
    const evil = viewRun(store, { records: 6, payload: PAYLOAD, names: [`mini${PAYLOADS[2]}`, 'frontier'] });
    evilRun = evil.runId;
    evilNames = evil.names;
    labelsRun = labelRun(store).runId;
    evilLabelsRun = labelRun(store, { classes: 30, payload: PAYLOAD }).runId;
    // A routing policy named with the payloads, evaluated on the simulator run as `view --route` does at start.
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      JSON.stringify({
        name: `cheap-first${PAYLOAD}`,
        description: PAYLOAD,
        default: 'mini',
        rules: [{ when: { tags: { task: 'classify' } }, route: 'frontier' }],
      }),
    );
    const routed = await evaluateRouting(
      store,
      { policies: [policy], run: simRun, margin: 0.03, alpha: 0.025, fitOn: 'all', evaluateOn: 'all' },
      { stderr: process.stderr, env: {}, clock: systemClock },
    );
    server = await startViewServer(store, {
      routing: { policies: [policy], results: new Map([[simRun, routed as RouteResult]]) },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    store?.close();
  });

  /** What the database says: records of the simulator run where frontier passed and mini failed. */
  function expectedFlips(): string[] {
    const rows = queryDb<{ record_id: string; candidate: string; passed: number }>(
      db,
      `SELECT c.record_id, c.candidate, min(s.passed IS 1) AS passed FROM calls c JOIN scores s ON s.call_id = c.id
       JOIN records r ON r.run_id = c.run_id AND r.record_id = c.record_id
       WHERE c.run_id = ? AND c.role = 'candidate' AND s.value IS NOT NULL GROUP BY c.id ORDER BY r.seq`,
      simRun,
    );
    const passed = new Map<string, Map<string, number>>();
    for (const r of rows)
      passed.set(r.record_id, (passed.get(r.record_id) ?? new Map()).set(r.candidate, r.passed));
    return [...passed].filter(([, m]) => m.get('frontier') === 1 && m.get('mini') === 0).map(([id]) => id);
  }

  it('filters to frontier passed, mini failed; opens a record; grades it; the grade is in the database', async () => {
    const expected = expectedFlips();
    expect(expected.length).toBeGreaterThan(0);
    await page.goto(server!.url);
    await page.getByRole('link', { name: `run ${simRun}`, exact: true }).click();
    await page.getByRole('link', { name: /^Records/ }).click();
    await page.locator('fieldset[data-candidate="frontier"] input[name="pass"]').check();
    await page.locator('fieldset[data-candidate="mini"] input[name="fail"]').check();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/records\?pass=frontier&fail=mini$/);
    const listed = await page.locator('a.record').allTextContents();
    expect(listed).toEqual(expected);

    await page.locator('a.record').first().click();
    const recordId = expected[0]!;
    expect(await page.locator('h1').textContent()).toBe(`record ${recordId}`);
    const body = JSON.parse(
      queryDb<{ body_json: string }>(
        db,
        'SELECT body_json FROM records WHERE run_id = ? AND record_id = ?',
        simRun,
        recordId,
      )[0]!.body_json,
    ) as { request: Record<string, unknown>; reference: Record<string, unknown> };
    const turns = requestTurns(body.request);
    const lastUser = contentText(turns.at(-1)!.content);
    await expect(page.locator('#prompt .turn[data-role="user"] pre.text').last().textContent()).resolves.toBe(
      lastUser,
    );
    const reference = await page.locator('#reference').textContent();
    const refValue =
      body.reference.label ?? body.reference.output ?? JSON.stringify(body.reference.json, null, 2);
    expect(reference).toContain(refValue as string);
    const outputs = queryDb<{ candidate: string; output: string }>(
      db,
      `SELECT candidate, output FROM calls WHERE run_id = ? AND record_id = ? AND role = 'candidate'`,
      simRun,
      recordId,
    );
    for (const o of outputs) {
      const shown = page.locator(`.output[data-candidate="${o.candidate}"] pre.output`);
      await expect(shown.isVisible()).resolves.toBe(true);
      expect(await shown.textContent()).toBe(o.output);
    }
    await expect(page.locator('.output[data-candidate="mini"] h3').textContent()).resolves.toMatch(/FAIL/);
    await expect(page.locator('.output[data-candidate="frontier"] h3').textContent()).resolves.toMatch(
      /PASS/,
    );

    // Grade mini's output: the form posts, the server redirects back to the record within the filter.
    const form = page.locator('.output[data-candidate="mini"] form.grade');
    await form.locator('input[value="fail"]').check();
    await form.locator('input[name="reviewer"]').fill('e2e reviewer');
    await form.locator('textarea[name="note"]').fill('picked the wrong queue');
    await form.getByRole('button', { name: 'Save grade' }).click();
    await page.waitForURL(/records\/[^?]+\?pass=frontier&fail=mini&i=0#output-0-0$/);
    await expect(
      page.locator('.output[data-candidate="mini"] li.grade').first().textContent(),
    ).resolves.toMatch(/^FAIL by e2e reviewer, .*\(current\)picked the wrong queue$/);
    const grades = queryDb(
      db,
      'SELECT run_id, record_id, candidate, repeat, reviewer, value, note FROM grades',
    );
    expect(grades).toEqual([
      {
        run_id: simRun,
        record_id: recordId,
        candidate: 'mini',
        repeat: 0,
        reviewer: 'e2e reviewer',
        value: 'fail',
        note: 'picked the wrong queue',
      },
    ]);
    // Next within the filter, when there is one, keeps the filter.
    if (expected.length > 1) {
      await page.getByRole('link', { name: 'next ›' }).click();
      expect(await page.locator('h1').textContent()).toBe(`record ${expected[1]}`);
      expect(page.url()).toMatch(/\?pass=frontier&fail=mini&i=1$/);
    }
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('the labels page of 77 classes: the heatmap scrolls inside its box, the page keeps the viewport’s width', async () => {
    const base = server!.url.replace(/\/$/, '');
    await page.goto(`${base}/runs/${labelsRun}`);
    await page.getByRole('link', { name: 'Label scorers' }).click();
    await page.waitForURL(/\/labels$/);
    await page.getByRole('link', { name: 'mini', exact: true }).first().click();
    await page.waitForURL(/\/labels\?scorer=intent&candidate=mini$/);
    expect(await page.locator('table.heatmap tbody tr').count()).toBe(77);
    expect(await page.locator('table.heatmap thead th[title]').count()).toBe(78);
    const measure = () =>
      page.evaluate(`(() => {
        const box = document.querySelector('.heatmap-box');
        const r = box.getBoundingClientRect();
        const head = box.querySelector('tbody th').getBoundingClientRect();
        return { page: document.documentElement.scrollWidth, viewport: window.innerWidth, left: r.left,
          right: r.right, client: box.clientWidth, scroll: box.scrollWidth, clientHeight: box.clientHeight,
          scrollHeight: box.scrollHeight, headLeft: head.left };
      })()`) as Promise<Measures>;
    const m = await measure();
    // The grid (77 × 78 blocks) is far wider than the box; the box, not the page, scrolls.
    expect(m.page).toBeLessThanOrEqual(m.viewport);
    expect(m.right).toBeLessThanOrEqual(m.viewport);
    expect(m.scroll).toBeGreaterThan(m.client + 200);
    expect(m.scrollHeight).toBeGreaterThan(m.clientHeight);
    // Scrolled right, the class names stay in view at the box's left edge (sticky).
    await page.locator('.heatmap-box').evaluate('(box) => { box.scrollLeft = 1000; }');
    const scrolled = await measure();
    expect(Math.abs(scrolled.headLeft - scrolled.left)).toBeLessThan(3);
    expect(scrolled.page).toBeLessThanOrEqual(scrolled.viewport);
    // A block's title has its count; a confused pair leads to its records.
    const title = await page.locator('table.heatmap td.ho3').first().getAttribute('title');
    expect(title).toMatch(/ → .*: 1 of 3 \(33\.3%\)$/);
    await page.locator('a.pair').first().click();
    await page.waitForURL(/\/records\?label=intent&candidate=mini&expected=/);
    expect(await page.locator('a.record').count()).toBe(1);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('the payloads run in no view, show as text, and the pages ask for nothing but the viewer', async () => {
    const base = server!.url.replace(/\/$/, '');
    const recordId = `${PAYLOAD}r001`;
    const views = [
      '/',
      `/runs/${evilRun}?by=tenant`,
      `/runs/${evilRun}/records`,
      `/runs/${evilRun}/records?tag=${encodeURIComponent(`tenant:acme${PAYLOAD}`)}&q=${encodeURIComponent(PAYLOAD)}`,
      `/runs/${evilRun}/records/${encodeURIComponent(recordId)}`,
      `/runs/${evilRun}/compare?a=${encodeURIComponent(evilNames[0])}&b=frontier`,
      `/runs/${evilLabelsRun}/labels?order=confusion`,
      `/runs/${simRun}/routing`,
    ];
    for (const v of views) {
      const res = await page.goto(`${base}${v}`);
      expect(res?.status(), v).toBe(200);
      expect(await page.evaluate('typeof window.__pwned'), v).toBe('undefined');
      expect(await page.locator('script, img, svg svg').count(), v).toBe(0);
    }
    // The filtered list found the record by its tag and its text; the record shows the payloads as text.
    await page.goto(`${base}${views[3]}`);
    expect(await page.locator('a.record').count()).toBe(6);
    await page.goto(`${base}${views[4]}`);
    expect(await page.locator('h1').textContent()).toBe(`record ${recordId}`);
    await expect(page.locator('#prompt').textContent()).resolves.toContain(`ticket number 1${PAYLOAD}`);
    await expect(page.locator('.output[data-candidate="frontier"] pre.output').textContent()).resolves.toBe(
      `frontier answer 1${PAYLOAD}`,
    );
    // A grade carrying the payloads is stored and shown as text too.
    const form = page.locator('.output[data-candidate="frontier"] form.grade');
    await form.locator('input[value="pass"]').check();
    await form.locator('input[name="reviewer"]').fill(PAYLOADS[1]);
    await form.locator('textarea[name="note"]').fill(PAYLOAD);
    await form.getByRole('button', { name: 'Save grade' }).click();
    await page.waitForURL(/#output-1-0$/);
    await expect(page.locator('li.grade').first().textContent()).resolves.toContain(PAYLOADS[1]);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(consoleErrors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
  }, 60_000);
});
