/**
 * Opens the HTML report in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * injected markup must stay text, the charts must render, and the page must make no request.
 * Without Chromium this fails under CI (process.env.CI) and is skipped elsewhere.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../results/report/report.js';
import { renderReport } from '../../results/render/report-text.js';
import { Store } from '../../results/store/store.js';
import { bakeoff, PAYLOADS } from './report-helpers.js';

const CHROMIUM = process.env.HOLDOUT_CHROMIUM ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
/** Where the screenshot goes: a stable name in the temp directory, so it can be looked at after a run. */
export const SCREENSHOT = join(tmpdir(), 'holdout-report-screenshot.png');

const MISSING =
  `Chromium not found at ${CHROMIUM}: the browser test needs it in CI. Install it with ` +
  '`apt-get install -y chromium` (or point HOLDOUT_CHROMIUM at a Chromium binary).';

// In CI a missing browser is a failure, never a silent skip; elsewhere the suite is skipped.
if (missing && process.env.CI) {
  it('has Chromium to open the report in', () => {
    throw new Error(MISSING);
  });
}

describe.skipIf(missing)('HTML report in headless Chromium', () => {
  let browser: Browser | undefined;
  let page: Page;
  let dir: string;
  let fileUrl: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  let candidates: string[] = [];

  beforeAll(async () => {
    const store = new Store(':memory:');
    try {
      const run = bakeoff(store, { records: 400, payload: true, simulated: true });
      candidates = run.candidates;
      const html = renderReport(buildReport(store, run.runId, { by: 'task', baseline: 'mini' }), 'html');
      dir = mkdtempSync(join(tmpdir(), 'holdout-html-'));
      const file = join(dir, 'report.html');
      writeFileSync(file, html);
      fileUrl = pathToFileURL(file).href;
    } finally {
      store.close();
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(fileUrl, { waitUntil: 'load' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs none of the injected markup', async () => {
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    // Nothing the page tried was refused by the CSP either: no error at all in the console.
    expect(consoleErrors).toEqual([]);
  });

  it('shows the payloads as text', async () => {
    // In table cells: the outputs in the flips tables, the candidate id, the tag value.
    for (const p of PAYLOADS) {
      await expect(page.locator('td', { hasText: p }).first().isVisible()).resolves.toBe(true);
    }
    expect(await page.locator('td', { hasText: `x${PAYLOADS[1]}` }).count()).toBeGreaterThan(0);
    // An attribute holding a payload reads back as the original text.
    const evil = candidates.find((c) => c.includes(PAYLOADS[2]))!;
    const point = page.locator('#chart-frontier g.candidate').nth(candidates.indexOf(evil));
    expect(await point.getAttribute('data-candidate')).toBe(evil);
    expect(await page.locator('svg svg, img, script').count()).toBe(0);
  });

  it('makes no request but for the file itself', async () => {
    expect(requests).toEqual([fileUrl]);
  });

  it('renders the three charts', async () => {
    for (const id of ['chart-frontier', 'chart-latency', 'chart-slices']) {
      const box = await page.locator(`svg#${id}`).boundingBox();
      expect(box?.width, id).toBeGreaterThan(300);
      expect(box?.height, id).toBeGreaterThan(150);
      expect(await page.locator(`svg#${id}`).getAttribute('role')).toBe('img');
      expect((await page.locator(`svg#${id} > title`).textContent())?.length).toBeGreaterThan(10);
    }
  });

  it('frontier: one point per candidate with an error bar, and a frontier line', async () => {
    const points = page.locator('#chart-frontier circle.point');
    expect(await points.count()).toBe(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const box = await points.nth(i).boundingBox();
      expect(box?.width).toBeGreaterThan(5);
    }
    expect(await page.locator('#chart-frontier line.errorbar').count()).toBe(candidates.length);
    const line = await page.locator('#chart-frontier path.frontier').boundingBox();
    expect(line?.width).toBeGreaterThan(100);
    expect(await page.locator('#chart-frontier g.legend text').count()).toBeGreaterThanOrEqual(4);
  });

  it('latency: a box and p50, p95 and p99 marks per candidate', async () => {
    for (const mark of ['rect.box', '.p50', '.p95', '.p99']) {
      expect(await page.locator(`#chart-latency ${mark}`).count(), mark).toBe(candidates.length);
    }
    const box = await page.locator('#chart-latency rect.box').first().boundingBox();
    expect(box?.width).toBeGreaterThan(5);
  });

  it('slices: a bar with a whisker per slice and candidate', async () => {
    // 5 task values (one of them the payload) × 4 candidates
    expect(await page.locator('#chart-slices g.bar rect').count()).toBe(5 * candidates.length);
    expect(await page.locator('#chart-slices line.whisker').count()).toBe(5 * candidates.length);
  });

  it('says SIMULATED before anything else', async () => {
    const banner = page.locator('div.simulated');
    await expect(banner.isVisible()).resolves.toBe(true);
    expect(await banner.textContent()).toMatch(/^SIMULATED /);
    const box = await banner.boundingBox();
    expect(box?.y).toBeLessThan(60);
  });

  it('takes screenshots: the whole page, and each chart on its own', async () => {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    for (const id of ['chart-frontier', 'chart-latency', 'chart-slices']) {
      const path = SCREENSHOT.replace(/\.png$/, `-${id}.png`);
      await page.locator(`svg#${id}`).screenshot({ path });
      expect(readFileSync(path).length).toBeGreaterThan(5_000);
    }
  });
});
