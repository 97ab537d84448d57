import { afterEach, describe, expect, it } from 'vitest';
import { escapeHtml, formatQuantile, truncate } from '../../results/render/format.js';
import { buildReport, type RunReport } from '../../results/report/report.js';
import { csvField, renderReport } from '../../results/render/report-text.js';
import { Store } from '../../results/store/store.js';
import { bakeoff, PAYLOADS, parseCsv } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

function report(
  opts: { payload?: boolean; simulated?: boolean; by?: string; baseline?: string } = {},
): RunReport {
  store = new Store(':memory:');
  const { runId } = bakeoff(store, { records: 120, payload: opts.payload, simulated: opts.simulated });
  return buildReport(store, runId, { by: opts.by, baseline: opts.baseline });
}

describe('format helpers', () => {
  it('escapes the five HTML characters and drops control characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>\u0000\u001b[31m\tok\n`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;[31m\tok\n',
    );
  });

  it('prints an unbounded side of a percentile interval as "unbounded"', () => {
    expect(formatQuantile({ value: 385, lo: 300, hi: null, bounded: false })).toBe('385 [300, unbounded]');
    expect(formatQuantile({ value: null, lo: null, hi: null, bounded: false })).toBe('-');
  });

  it('truncates by code point, never inside a surrogate pair', () => {
    expect(truncate('ab😀cd', 4)).toBe('ab😀…');
    expect(truncate('abc', 3)).toBe('abc');
  });
});

describe('renderReport v2 sections', () => {
  it('table: latency intervals, slices, comparison, flips and cost by role', () => {
    const out = renderReport(report({ by: 'task', baseline: 'mini' }), 'table');
    expect(out).toContain('$/pass');
    expect(out).toContain('Latency (ms, ok calls; 95% order-statistic intervals)');
    expect(out).toMatch(/^nano +\d+ +\d+ \[\d+, \d+\] +\d+ \[\d+, \d+\] +\d+ \[\d+, unbounded\]/m);
    expect(out).toContain('By task');
    expect(out).toMatch(/^plan +30 +frontier +30 /m);
    expect(out).toContain('Against baseline mini (B − A, paired per prompt)');
    expect(out).toMatch(/^frontier +\d+ +\+\d+\.\d pp \[/m);
    expect(out).toContain('Tango score interval, McNemar exact two-sided p');
    expect(out).toMatch(/mini passed, nano failed: \d+ prompts/);
    expect(out).toMatch(/ {2}- rec-\d{4} \(task=\w+\)/);
    expect(out).toMatch(/^judge +120 +\$0\.04800/m);
  });

  it('md: the same sections as GitHub Markdown', () => {
    const out = renderReport(report({ by: 'task', baseline: 'mini' }), 'md');
    expect(out).toContain('### By task');
    expect(out).toContain('### Against baseline mini (B − A, paired per prompt)');
    expect(out).toContain('| candidate | pairs | Δ pass rate \\[95% CI\\] | p |');
    expect(out).toMatch(/^### mini passed, nano failed: \d+ prompts/m);
    expect(out).toContain('### Cost by role');
  });

  it('md and table escape untrusted names everywhere, headings and flip lists included', () => {
    const r = report({ by: 'task', baseline: 'mini', payload: true });
    const md = renderReport(r, 'md');
    for (const p of PAYLOADS) expect(md).not.toContain(p);
    expect(md).toContain('mini-old"\\>\\<svg onload=window.\\_\\_pwned=3\\>');
    const table = renderReport(r, 'table');
    expect(table).not.toContain('\u001b');
  });

  it('csv: the version 1 columns first, in their old order', () => {
    const header = parseCsv(renderReport(report(), 'csv'))[0]!;
    expect(header.slice(0, 6)).toEqual(['run_id', 'suite', 'candidate', 'model', 'simulated', 'calls']);
    expect(header.slice(24, 30)).toEqual([
      'latency_p50_ms',
      'latency_p95_ms',
      'ttft_p50_ms',
      'output_tokens_per_sec',
      'by',
      'slice',
    ]);
  });

  it('csv: whole-run rows, then one row per slice and candidate; comparison columns', () => {
    const r = report({ by: 'task', baseline: 'mini' });
    const rows = parseCsv(renderReport(r, 'csv'));
    const header = rows[0]!;
    const col = (name: string) => {
      const i = header.indexOf(name);
      if (i < 0) throw new Error(`no column ${name}`);
      return i;
    };
    // 4 candidates + 4 tasks × 4 candidates
    expect(rows).toHaveLength(1 + 4 + 16);
    for (const row of rows) expect(row).toHaveLength(header.length);
    const whole = rows.slice(1, 5);
    expect(whole.map((row) => [row[col('by')], row[col('slice')], row[col('candidate')]])).toEqual([
      ['', '', 'nano'],
      ['', '', 'mini'],
      ['', '', 'mini-old'],
      ['', '', 'frontier'],
    ]);
    const nano = r.candidates[0]!;
    expect(Number(whole[0]![col('cost_per_pass_usd')])).toBeCloseTo(nano.costPerPass!, 12);
    expect(Number(whole[0]![col('latency_p99_ms')])).toBeCloseTo(nano.latency.p99.value!, 9);
    expect(whole[0]![col('latency_p99_hi_ms')]).toBe(''); // 120 calls: unbounded
    expect(Number(whole[0]![col('ttft_p95_ms')])).toBeCloseTo(nano.ttft.p95!, 9);
    // Comparison columns: filled for candidates other than the baseline.
    expect(whole[1]![col('baseline')]).toBe('');
    expect(whole[0]![col('baseline')]).toBe('mini');
    const cmp = r.comparisons[0]!;
    expect(Number(whole[0]![col('delta_pass_rate')])).toBeCloseTo(cmp.passRate.delta, 12);
    expect(Number(whole[0]![col('regressions')])).toBe(cmp.regressions);
    expect(Number(whole[0]![col('cost_ratio')])).toBeCloseTo(cmp.costRatio!.ratio, 12);
    const slices = rows.slice(5);
    expect([col('by'), col('slice'), col('candidate')].map((i) => slices[0]![i])).toEqual([
      'task',
      'chat',
      'nano',
    ]);
    expect(Number(slices[0]![col('calls')])).toBe(30);
    expect(slices.every((row) => row[col('baseline')] === '')).toBe(true);
  });

  it('csv: records without the tag have an empty slice under a named `by`', () => {
    const r = report({ by: 'task' });
    const noTag = { ...r, slices: [{ ...r.slices[0]!, value: null }] };
    const rows = parseCsv(renderReport(noTag, 'csv'));
    const header = rows[0]!;
    expect(rows[5]![header.indexOf('by')]).toBe('task');
    expect(rows[5]![header.indexOf('slice')]).toBe('');
  });
});

describe('renderReport html (markup)', () => {
  it('one self-contained document with a strict CSP and no script', () => {
    const html = renderReport(report({ by: 'task', baseline: 'mini' }), 'html');
    expect(html.startsWith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')).toBe(true);
    expect(html).toContain(
      '<meta http-equiv="Content-Security-Policy" ' +
        `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(html).not.toMatch(/<script|<link|<iframe|<object|<embed|<img|@import|url\(/i);
    // No attribute that could fetch anything: the only links are the contents' links within the page.
    expect(html).not.toMatch(/<[^>]*\s(src|srcset|action|formaction|xlink:href)=/i);
    const hrefs = [...html.matchAll(/<[^>]*\shref="([^"]*)"/gi)].map((m) => m[1]!);
    expect(hrefs.length).toBeGreaterThan(0);
    expect(hrefs.filter((h) => !/^#[a-z0-9-]+$/.test(h))).toEqual([]);
    // The only URL is the SVG namespace, which is a name, not a request.
    expect(html.match(/https?:\/\/[^\s"'<>]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    for (const id of ['chart-frontier', 'chart-latency', 'chart-slices']) {
      expect(html).toContain(`<svg id="${id}" class="chart"`);
      expect(html).toContain(`<title id="${id}-title">`);
    }
    expect(html).toContain('<path class="frontier"');
    expect(html.match(/<circle class="point"/g)).toHaveLength(4);
    expect(html).toContain('<section id="flips">');
  });

  it('leaves out the slice chart and comparisons without `by` and a baseline', () => {
    const html = renderReport(report(), 'html');
    expect(html).not.toContain('chart-slices');
    expect(html).not.toContain('id="comparisons"');
    expect(html).toContain('id="chart-latency"');
  });

  it('escapes untrusted text in elements and attributes, SVG included', () => {
    const html = renderReport(report({ by: 'task', baseline: 'mini', payload: true }), 'html');
    for (const p of PAYLOADS) expect(html).not.toContain(p);
    expect(html).not.toMatch(/<(script|img|svg onload)/i);
    // In text, in SVG text and in attributes alike.
    expect(html).toContain('mini-old&quot;&gt;&lt;svg onload=window.__pwned=3&gt;');
    expect(html).toContain('data-candidate="mini-old&quot;&gt;&lt;svg onload=window.__pwned=3&gt;"');
    expect(html).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    expect(html).toContain('x&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;');
    // Every tag in the document is one of ours.
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase()));
    const ours =
      'html head meta title style body header div h1 h2 h3 p section table thead tbody tr th td ul li nav ol a strong';
    const svg = 'svg desc g line text circle rect path';
    const allowed = new Set(`${ours} ${svg}`.split(' '));
    expect([...tags].filter((t) => !allowed.has(t))).toEqual([]);
  });

  it('says SIMULATED in a banner, in the title and on every chart', () => {
    const html = renderReport(report({ simulated: true, by: 'task' }), 'html');
    expect(html).toContain('<title>[SIMULATED] holdout run');
    expect(html).toContain('<div class="simulated" role="alert"><strong>SIMULATED</strong>');
    expect(html.match(/class="watermark"[^>]*>SIMULATED</g)).toHaveLength(3);
    expect(renderReport(report(), 'html')).not.toContain('SIMULATED');
  });

  it('marks the frontier: the dominated candidate is off it', () => {
    const html = renderReport(report(), 'html');
    // mini-old costs more than mini and passes less: dominated. The others are on the frontier.
    const onFrontier = [...html.matchAll(/<g class="candidate on-frontier" data-candidate="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(onFrontier).toEqual(['nano', 'mini', 'frontier']);
    expect(html).toMatch(/<g class="candidate" data-candidate="mini-old">/);
  });

  it('draws a chart placeholder when nothing can be plotted', () => {
    const r = report();
    const empty: RunReport = {
      ...r,
      candidates: r.candidates.map((c) => ({ ...c, costPer1kCalls: null, latencyQuantiles: [] })),
    };
    const html = renderReport(empty, 'html');
    expect(html).toContain('No candidate has both a cost and a pass rate to plot.');
    expect(html).toContain('No ok calls with a latency to plot.');
    expect(html).toContain('Not plotted (no cost or no scored call): nano, mini, mini-old, frontier.');
  });
});

describe('csvField', () => {
  it('defuses text a spreadsheet would run as a formula, but leaves numbers alone', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-mini')).toBe("'-mini");
    expect(csvField(-0.25)).toBe('-0.25');
    expect(csvField('mini')).toBe('mini');
    expect(csvField(null)).toBe('');
  });
});
