/**
 * Static reports at scale: a 77-class label scorer (Banking77-sized) shows the per-class table by
 * support and the top confused pairs instead of 77 × 78 matrices; Markdown stays under GitHub's
 * 65,536-character comment limit (report and compare); the HTML report has a table of contents, flips
 * with the prompt and the reference, slice charts ordered by effect size with distinct labels, and
 * tables that wrap when printed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildComparison } from '../../results/compare/compare.js';
import { renderComparison } from '../../results/render/compare-text.js';
import { chartedSlices } from '../../results/render/report-charts.js';
import { renderReport } from '../../results/render/report-text.js';
import { fitDistinct } from '../../results/render/svg.js';
import { fitMarkdown, GITHUB_COMMENT_LIMIT } from '../../results/render/text-style.js';
import { buildReport, type RunReport } from '../../results/report/report.js';
import { Store } from '../../results/store/store.js';
import { bakeoff, call, newRun, PAYLOADS, score } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

// --- a Banking77-like run ---------------------------------------------------------------------------

const WORDS = [
  'card',
  'transfer',
  'payment',
  'refund',
  'cash',
  'pin',
  'top_up',
  'exchange',
  'balance',
  'account',
  'fee',
];
const CLASSES = Array.from(
  { length: 77 },
  (_, i) => `${WORDS[i % WORDS.length]}_${WORDS[(i * 7 + 3) % WORDS.length]}_${String(i).padStart(2, '0')}`,
);

/** A seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 77 classes, 3,080 records (Banking77's test split is 40 per class; here class i has 20 + (i mod 41)
 * records, so supports differ), three candidates. A wrong answer is mostly the "confusable" class next
 * door (i + 1), sometimes a random class, sometimes no class. Class 5 → class 6 is made the most
 * common confusion for nano: 30 of class 5's records.
 */
function banking77(
  s: Store,
  candidates: [string, number][] = [
    ['nano', 0.7],
    ['mini', 0.85],
    ['frontier', 0.93],
  ],
): number {
  const spec = { kind: 'label', name: 'intent', labels: CLASSES };
  const runId = newRun(
    s,
    1,
    3080,
    candidates.map(([c]) => [c, `gpt-${c}`]),
    { suite: 'banking77', scorers: [spec] },
  );
  const rand = rng(77);
  const records: { id: string; expected: number }[] = [];
  let k = 0;
  while (records.length < 3080) {
    const cls = k % 77;
    const count = 20 + (cls % 41);
    const have = records.filter((r) => r.expected === cls).length;
    if (have < count) records.push({ id: `b77-${String(records.length).padStart(4, '0')}`, expected: cls });
    k++;
    if (k > 77 * 80) break;
  }
  while (records.length < 3080) records.push({ id: `b77-${records.length}`, expected: records.length % 77 });
  s.insertRecords(
    runId,
    records.map((r) => ({
      id: r.id,
      api: 'chat',
      tags: {},
      json: JSON.stringify({
        id: r.id,
        request: { messages: [{ role: 'user', content: `q ${r.id}` }] },
        reference: { label: CLASSES[r.expected] },
      }),
    })),
    0,
  );
  const write = s.db.transaction(() => {
    let forced = 0;
    for (const r of records) {
      for (const [candidate, accuracy] of candidates) {
        let predicted: string;
        if (candidate === 'nano' && r.expected === 5 && forced < 30) {
          predicted = CLASSES[6]!;
          forced++;
        } else if (rand() < accuracy) predicted = CLASSES[r.expected]!;
        else {
          const u = rand();
          predicted =
            u < 0.7
              ? CLASSES[(r.expected + 1) % 77]!
              : u < 0.9
                ? CLASSES[Math.floor(rand() * 77)]!
                : 'not sure';
        }
        const ok = predicted === CLASSES[r.expected];
        s.recordCall(call(runId, { recordId: r.id, candidate, output: predicted }), [
          score('intent', ok ? 1 : 0, ok),
        ]);
      }
    }
  });
  write();
  s.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return runId;
}

describe('a label scorer with 77 classes', () => {
  it('Markdown is under 65,536 characters, lists the top confused pairs and draws no matrix', () => {
    store = new Store(':memory:');
    const r = buildReport(store, banking77(store));
    const md = renderReport(r, 'md');
    expect(md.length).toBeLessThan(GITHUB_COMMENT_LIMIT);
    expect(md).not.toContain('Shortened to fit');
    expect(md).toContain('### intent: top 10 confused pairs per candidate (true → predicted)');
    expect(md).toContain('| candidate | true class | predicted | count | share of true class |');
    // nano's largest confusion: class 5 → class 6, forced on 25 of class 5's 25 records.
    const support5 = r.labels![0]!.candidates[0]!.perClass[5]!.support;
    const nanoRow = r.labels![0]!.candidates[0]!.matrix[5]!;
    expect(nanoRow[6]).toBeGreaterThanOrEqual(25);
    const share = `${((nanoRow[6]! / support5) * 100).toFixed(1)}%`;
    expect(md).toContain(
      `| nano | ${CLASSES[5]!.replace(/_/g, '\\_')} | ${CLASSES[6]!.replace(/_/g, '\\_')} | ${nanoRow[6]} | ${share} |`,
    );
    expect(md).not.toContain('confusion matrix (rows expected, columns predicted)');
    expect(md).toContain('intent has 77 classes (more than 12): its confusion matrices are not drawn');
    // The per-class table, largest support first: class 40 has the most records (20 + 40).
    expect(md).toContain('### intent: per class, largest support first');
    const perClass = md.slice(md.indexOf('### intent: per class, largest support first'));
    const firstNano = perClass.split('\n').find((l) => l.startsWith('| nano | '));
    const largest = [...r.labels![0]!.candidates[0]!.perClass].sort((a, b) => b.support - a.support)[0]!;
    expect(largest.label).toBe(CLASSES[40]);
    expect(firstNano).toContain(`| nano | ${CLASSES[40]!.replace(/_/g, '\\_')} | ${largest.support} |`);
  });

  it('table and HTML: pairs instead of matrices; JSON keeps every matrix in full', () => {
    store = new Store(':memory:');
    const r = buildReport(store, banking77(store));
    const text = renderReport(r, 'table');
    expect(text).toContain('intent: top 10 confused pairs per candidate (true → predicted)');
    expect(text).toMatch(new RegExp(`nano\\s+${CLASSES[5]}\\s+${CLASSES[6]}\\s+\\d+\\s+\\d+\\.\\d%`));
    expect(text).not.toContain('confusion matrix');
    const html = renderReport(r, 'html');
    expect(html).toContain('<table class="confused-pairs" data-scorer="intent">');
    expect(html).not.toContain('<table class="confusion"');
    const json = JSON.parse(renderReport(r, 'json'));
    const m = json.labels[0].candidates[0].matrix;
    expect(m).toHaveLength(77);
    expect(m.every((row: number[]) => row.length === 78)).toBe(true);
    expect(html.length).toBeLessThan(2_000_000);
  });

  it('a report too long for a comment leaves out flips and per-class tables first, and says so', () => {
    store = new Store(':memory:');
    const r = buildReport(store, banking77(store));
    // Thirty candidates' worth of per-class rows (77 × 30) cannot fit in a comment.
    const l = r.labels![0]!;
    const many: RunReport = {
      ...r,
      labels: [
        {
          ...l,
          candidates: Array.from({ length: 30 }, (_, i) => ({ ...l.candidates[i % 3]!, candidate: `c${i}` })),
        },
      ],
    };
    const md = renderReport(many, 'md');
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md).toContain(
      '> Shortened to fit a GitHub comment (65,536 characters): left out the flipped prompts, the per-class tables; `holdout report 1 --format html` (or table, json) shows everything.',
    );
    expect(md).not.toContain('per class, largest support first');
    expect(md).toContain('top 10 confused pairs per candidate');
    expect(md).toContain('### Label scorer intent: 77 classes');
    // The table format is never cut.
    expect(renderReport(many, 'table')).toContain('per class, largest support first');
  });
});

describe('fitMarkdown', () => {
  it('leaves parts out in order until the text fits, then cuts at a line with a note', () => {
    const parts = { a: 'A'.repeat(50), b: 'B'.repeat(50), c: 'C'.repeat(50) };
    const render = (left: readonly string[]) =>
      [
        'head',
        ...Object.entries(parts)
          .filter(([k]) => !left.includes(k))
          .map(([, v]) => v),
      ].join('\n');
    expect(fitMarkdown(render, ['a', 'b'], 'CUT', 200)).toBe(render([]));
    expect(fitMarkdown(render, ['a', 'b'], 'CUT', 120)).toBe(render(['a']));
    expect(fitMarkdown(render, ['a', 'b'], 'CUT', 60)).toBe(render(['a', 'b']));
    const cut = fitMarkdown(render, ['a', 'b'], 'CUT', 40);
    expect(cut).toBe('head\n\nCUT\n');
  });
});

describe('compare --format md at scale', () => {
  it('stays under the comment limit, verdict first, leaving out flips, then slices, with a note', () => {
    store = new Store(':memory:');
    const { runId } = bakeoff(store, { records: 200 });
    const c = buildComparison(
      store,
      { runId, candidate: 'nano' },
      { runId, candidate: 'frontier' },
      { by: 'task' },
    );
    const slice = c.slices!.slices[0]!;
    const huge = {
      ...c,
      slices: {
        ...c.slices!,
        slices: Array.from({ length: 2000 }, (_, i) => ({
          ...slice,
          value: `tenant-${i}-${'x'.repeat(20)}`,
        })),
      },
    };
    const md = renderComparison(huge, 'md');
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md.startsWith(renderComparison(c, 'md').split('\n')[0]!)).toBe(true);
    expect(md).toContain(
      '> Shortened to fit a GitHub comment (65,536 characters): left out the flipped prompts, the per-slice table; ' +
        'the same command with `--format table` (or `--format json`) shows everything.',
    );
    expect(md).not.toContain('tenant-1999');
    // An ordinary comparison is unchanged: nothing left out.
    expect(renderComparison(c, 'md')).not.toContain('Shortened to fit');
    expect(renderComparison(c, 'md')).toContain('<summary>Fixes (fail → pass)');
  });
});

// --- the HTML report ----------------------------------------------------------------------------------

describe('HTML report', () => {
  it('opens with a table of contents linking every section in page order', () => {
    store = new Store(':memory:');
    const { runId } = bakeoff(store, { records: 120 });
    const html = renderReport(buildReport(store, runId, { by: 'task', baseline: 'mini' }), 'html');
    const nav = /<nav class="toc" aria-label="Contents">([\s\S]*?)<\/nav>/.exec(html);
    expect(nav).not.toBeNull();
    expect(html.indexOf('<nav class="toc"')).toBeGreaterThan(html.indexOf('</header>'));
    expect(html.indexOf('<nav class="toc"')).toBeLessThan(html.indexOf('<section id="summary">'));
    const links = [...nav![1]!.matchAll(/<a href="#([^"]+)">([^<]+)<\/a>/g)].map((m) => m[1]);
    const sections = [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toEqual(sections);
    expect(links).toEqual(
      expect.arrayContaining([
        'summary',
        'cost-quality',
        'latency',
        'slices',
        'comparisons',
        'flips',
        'scorers',
      ]),
    );
    expect(nav![1]).toContain('<a href="#summary">Candidates</a>');
  });

  it('wraps wide tables when printed', () => {
    store = new Store(':memory:');
    const { runId } = bakeoff(store, { records: 40 });
    const html = renderReport(buildReport(store, runId), 'html');
    const print = /@media print \{([\s\S]*?)\n {2}\}\n/.exec(html)?.[1] ?? '';
    expect(print).toContain('.scroll { overflow: visible; }');
    expect(print).toMatch(/th, td, td\.num, th\.num[^{]*\{ white-space: normal; overflow-wrap: anywhere;/);
  });

  it("flips show the prompt's last user turn and the reference beside the outputs, escaped", () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 2, [
      ['base', 'gpt-a'],
      [`cand${PAYLOADS[2]}`, 'gpt-b'],
    ]);
    const body = (id: string, i: number) => ({
      id,
      request: {
        messages: [
          { role: 'system', content: 'system prompt, not shown' },
          { role: 'user', content: 'first question, not shown' },
          { role: 'assistant', content: 'an answer' },
          { role: 'user', content: [{ type: 'text', text: `last question ${i} ${PAYLOADS[0]}` }] },
        ],
      },
      reference: { output: `expected ${i} ${PAYLOADS[1]}` },
    });
    store.insertRecords(
      runId,
      ['f1', 'f2'].map((id, i) => ({ id, api: 'chat', tags: {}, json: JSON.stringify(body(id, i)) })),
      0,
    );
    for (const id of ['f1', 'f2']) {
      store.recordCall(call(runId, { recordId: id, candidate: 'base', output: 'right' }), [
        score('exact', 1, true),
      ]);
      store.recordCall(
        call(runId, { recordId: id, candidate: `cand${PAYLOADS[2]}`, output: `wrong ${PAYLOADS[0]}` }),
        [score('exact', 0, false)],
      );
    }
    const r = buildReport(store, runId, { baseline: 'base' });
    const flip = r.comparisons[0]!.flips.regressions[0]!;
    expect(flip.promptExcerpt).toBe(`last question 0 ${PAYLOADS[0]}`);
    expect(flip.referenceExcerpt).toBe(`expected 0 ${PAYLOADS[1]}`);
    const html = renderReport(r, 'html');
    for (const p of PAYLOADS) expect(html).not.toContain(p);
    expect(html).toMatch(
      /<th>record<\/th><th>tags<\/th><th>prompt \(last user turn\)<\/th><th>reference<\/th><th>base output<\/th>/,
    );
    expect(html).toContain(
      '<td class="prompt">last question 0 &lt;script&gt;window.__pwned=1&lt;/script&gt;</td>' +
        '<td class="ref">expected 0 &lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;</td>',
    );
    expect(html).not.toContain('first question, not shown');
  });

  it('slice charts: the largest difference between candidates first, never alphabetical; labels told apart', () => {
    store = new Store(':memory:');
    const long = 'customer-billing-disputes-and-chargebacks-region-';
    const slices: [string, [boolean, boolean]][] = [
      ['aaa', [true, true]], // spread 0
      [`${long}europe`, [true, false]], // spread 1
      [`${long}americas`, [true, true]], // spread 0, more records below
      ['mmm', [false, false]], // spread 0
    ];
    const runId = newRun(store, 1, 0, [
      ['a', 'gpt-a'],
      ['b', 'gpt-b'],
    ]);
    const recs: { id: string; value: string; outcome: [boolean, boolean] }[] = [];
    slices.forEach(([value, outcome], i) => {
      const n = i === 2 ? 5 : 2;
      for (let k = 0; k < n; k++) recs.push({ id: `s${i}-${k}`, value, outcome });
    });
    store.insertRecords(
      runId,
      recs.map((x) => ({ id: x.id, api: 'chat', tags: { queue: x.value }, json: '{}' })),
      0,
    );
    for (const x of recs) {
      store.recordCall(call(runId, { recordId: x.id, candidate: 'a' }), [
        score('exact', x.outcome[0] ? 1 : 0, x.outcome[0]),
      ]);
      store.recordCall(call(runId, { recordId: x.id, candidate: 'b' }), [
        score('exact', x.outcome[1] ? 1 : 0, x.outcome[1]),
      ]);
    }
    const r = buildReport(store, runId, { by: 'queue' });
    // The table keeps the tag's order; the chart orders by spread, then records.
    expect(r.slices.map((s) => s.value)).toEqual(['aaa', `${long}americas`, `${long}europe`, 'mmm']);
    expect(chartedSlices(r).map((s) => s.value)).toEqual([`${long}europe`, `${long}americas`, 'aaa', 'mmm']);
    const html = renderReport(r, 'html');
    const order = [...html.matchAll(/<g class="slice" data-slice="([^"]+)">/g)].map((m) => m[1]);
    expect(order).toEqual([`${long}europe`, `${long}americas`, 'aaa', 'mmm']);
    const labels = [
      ...html.matchAll(/<g class="slice" data-slice="[^"]+">\n<text[^>]*>([^<]+)<\/text>/g),
    ].map((m) => m[1]!.replace(/ \(\d+\)( \*)?$/, ''));
    expect(new Set(labels).size).toBe(4);
    expect(labels[0]).toMatch(/…/);
    expect(labels[0]).toMatch(/europe$/);
    expect(labels[1]).toMatch(/americas$|…/);
    // With one candidate: by records, most first.
    const one: RunReport = {
      ...r,
      candidates: r.candidates.slice(0, 1),
      slices: r.slices.map((s) => ({ ...s, candidates: s.candidates.slice(0, 1) })),
    };
    expect(chartedSlices(one)[0]!.value).toBe(`${long}americas`);
  });
});

describe('fitDistinct', () => {
  it('keeps the ends of labels that would be cut alike, and numbers labels equal in full', () => {
    const [a, b, c] = fitDistinct(['region-europe-west', 'region-europe-east', 'short'], 10 * 12 * 0.62, 12);
    expect(a).not.toBe(b);
    expect(a!.length).toBeLessThanOrEqual(10);
    expect([a, b]).toEqual(['regio…west', 'regio…east']);
    expect(c).toBe('short');
    expect(fitDistinct(['same', 'same'], 100, 12)).toEqual(['same', 'same #2']);
  });
});
