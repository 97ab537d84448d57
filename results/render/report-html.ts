/**
 * The HTML report: one self-contained file that needs no network to view. No script at all, no
 * external stylesheet, font or image; charts are inline SVG drawn here at render time, and a strict
 * Content-Security-Policy forbids anything else. Every string from the database (names, models,
 * tags, outputs, error kinds) is untrusted: element content goes through escapeHtml, and attributes
 * are only ever written by `attrs`, which escapes every value.
 */
import { projectionHtml } from './projection-render.js';
import { escapeHtml as esc, formatPercent } from './format.js';
import { el, htmlPage, list, paragraph, table } from './markup.js';
import type { Comparison, RunReport } from '../report/report.js';
import { colour } from './svg.js';
import type { LabelCandidateReport, LabelReport } from '../report/labels.js';
import {
  agreementMethodLine,
  agreementTable,
  candidateTable,
  comparisonMethodLine,
  comparisonTable,
  confusionPairsTable,
  costByRoleTable,
  errorLines,
  formatTags,
  labelClassTable,
  labelMethodLine,
  labelSummaryTable,
  latencyTable,
  manyClasses,
  manyClassesLine,
  methodLine,
  NO_CLASS,
  runDetails,
  scorerTable,
  sliceTable,
} from './report-tables.js';
import { frontierChart, latencyChart, sliceChart } from './report-charts.js';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';
const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

/** Shading steps of a confusion-matrix cell, by its share of the row (the expected class). */
const HEAT_STEPS = 10;

/**
 * Heat classes of the confusion matrix: `d0`…`d10` on the diagonal (blue: correct), `o0`…`o10` off it
 * (vermilion: confusions). Classes, not style attributes, so that the page needs no inline style.
 */
const HEAT_STYLE = Array.from({ length: HEAT_STEPS + 1 }, (_, i) => {
  const alpha = ((i / HEAT_STEPS) * 0.85).toFixed(3);
  const ink = i >= 6 ? ' color: #fff;' : '';
  return (
    `  table.confusion td.d${i} { background: rgba(0, 114, 178, ${alpha});${ink} }\n` +
    `  table.confusion td.o${i} { background: rgba(213, 94, 0, ${alpha});${ink} }`
  );
}).join('\n');

/** The report's stylesheet: `holdout view` (results/view/) lays its pages out with it too. */
export const REPORT_STYLE = `
  :root { color-scheme: light; }
  body { font: 14px/1.45 ${FONT}; color: #1b1b1b; background: #fff; margin: 0 auto; padding: 24px;
    max-width: 1180px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  h3 { font-size: 15px; margin: 20px 0 6px; }
  .meta, .method, .note { color: #555; margin: 4px 0; }
  .simulated { background: #b00020; color: #fff; font-size: 16px; padding: 12px 16px; margin: 0 0 16px;
    border-radius: 4px; }
  .simulated strong { font-size: 20px; letter-spacing: 0.08em; margin-right: 8px; }
  .warning { background: #fff4e5; border-left: 4px solid #e69f00; padding: 8px 12px; margin: 8px 0; }
  table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13px; }
  th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; vertical-align: top; }
  th { background: #f6f6f6; font-weight: 600; white-space: nowrap; }
  td { white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .scroll { overflow-x: auto; }
  table.flips td { white-space: normal; }
  table.flips td:first-child { white-space: nowrap; }
  table.flips td.out { white-space: pre-wrap; word-break: break-word; max-width: 380px;
    font: 12px/1.4 ${MONO}; }
  table.confusion td.num { min-width: 3em; }
  table.confusion th[scope="row"] { text-align: left; }
${HEAT_STYLE}
  svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
  svg.chart text { font-family: ${FONT}; }
  ul { margin: 4px 0; padding-left: 20px; }
  nav.toc { margin: 16px 0 8px; padding: 8px 12px; background: #f6f6f6; border-radius: 4px; }
  nav.toc ol { margin: 4px 0; padding-left: 20px; columns: 2 16em; }
  nav.toc a { color: #0b57a4; }
  table.flips td.prompt, table.flips td.ref { white-space: pre-wrap; word-break: break-word; max-width: 300px;
    color: #333; }
  @media print {
    body { max-width: none; padding: 0; font-size: 11px; }
    .scroll { overflow: visible; }
    table { width: 100%; table-layout: auto; font-size: 10px; }
    th, td, td.num, th.num, table.flips td:first-child { white-space: normal; overflow-wrap: anywhere;
      word-break: break-word; }
    table.flips td.out, table.flips td.prompt, table.flips td.ref { max-width: none; }
    thead { display: table-header-group; }
    tr, svg.chart { break-inside: avoid; }
    h2, h3 { break-after: avoid; }
    nav.toc ol { columns: 1; }
  }
`;

// --- markup ------------------------------------------------------------------------------------

function section(id: string, heading: string, body: string): string {
  return `<section id="${id}">\n<h2>${esc(heading)}</h2>\n${body}\n</section>`;
}

// --- document ----------------------------------------------------------------------------------

/**
 * The whole page: the header, a table of contents, every section; `extra` are ready-made sections
 * (e.g. routing) placed before errors and notes.
 */
export function renderHtml(r: RunReport, extra: readonly string[] = []): string {
  const title = `${r.simulated ? '[SIMULATED] ' : ''}holdout run ${r.run.id} · suite ${r.run.suite}`;
  const [head, ...sections] = reportSections(r, extra);
  return htmlPage(title, REPORT_STYLE, [head!, tableOfContents(sections), ...sections]);
}

/**
 * Links to every section (`<section id="…">` with its `<h2>`), in page order: read back from the
 * sections' own markup, routing included, so the contents cannot drift from the page. The id and the
 * heading are already escaped there; the id is a name of ours.
 */
function tableOfContents(sections: readonly string[]): string {
  const items: string[] = [];
  for (const s of sections) {
    for (const m of s.matchAll(/<section id="([a-z0-9-]+)"[^>]*>\s*<h2[^>]*>([\s\S]*?)<\/h2>/g)) {
      items.push(`<li><a href="#${m[1]}">${m[2]}</a></li>`);
    }
  }
  if (items.length === 0) return '';
  return `<nav class="toc" aria-label="Contents">\n<strong>Contents</strong>\n<ol>\n${items.join('\n')}\n</ol>\n</nav>`;
}

/** The page's body: the header (SIMULATED first), then every section; `holdout view` embeds it. */
export function reportSections(r: RunReport, extra: readonly string[] = []): string[] {
  const colours = new Map(r.candidates.map((c, i) => [c.candidate, colour(i)]));
  const parts = [
    header(r),
    section('summary', 'Candidates', table(candidateTable(r))),
    section('cost-quality', 'Cost vs quality', frontierChart(r, colours)),
    section('latency', 'Latency', latencyChart(r, colours) + table(latencyTable(r))),
  ];
  if (r.by !== null) {
    parts.push(section('slices', `By ${r.by}`, sliceChart(r, colours) + table(sliceTable(r))));
  }
  if (r.baseline !== null) {
    const method = paragraph(comparisonMethodLine(r), 'method');
    parts.push(
      section('comparisons', `Against baseline ${r.baseline}`, table(comparisonTable(r)) + method),
      section(
        'flips',
        'Flipped prompts',
        r.comparisons.flatMap((c) => [flips(r, c, 'regressions'), flips(r, c, 'fixes')]).join('\n'),
      ),
    );
  }
  const scorers = scorerTable(r);
  if (scorers.rows.length > 0) parts.push(section('scorers', 'Scorers', table(scorers)));
  if ((r.labels ?? []).length > 0) parts.push(section('labels', 'Label scorers', labelsHtml(r.labels ?? [])));
  if ((r.agreement ?? []).length > 0) {
    const method = paragraph(agreementMethodLine(r), 'method');
    parts.push(section('agreement', 'Judge agreement with human grades', table(agreementTable(r)) + method));
  }
  if (r.costByRole.some((x) => x.role !== 'candidate' && x.calls > 0)) {
    parts.push(section('cost-by-role', 'Cost by role', table(costByRoleTable(r))));
  }
  if (r.projection) parts.push(projectionHtml(r.projection));
  parts.push(...extra);
  const errors = errorLines(r);
  if (errors.length > 0) parts.push(section('errors', 'Errors by kind', list(errors)));
  if (r.notes.length > 0) parts.push(section('notes', 'Notes', list(r.notes)));
  return parts;
}

function header(r: RunReport): string {
  const out = ['<header>'];
  for (const [i, w] of r.warnings.entries()) {
    if (i === 0 && r.simulated) {
      const rest = w.replace(/^SIMULATED:\s*/, '');
      out.push(el('div', { class: 'simulated', role: 'alert' }, `<strong>SIMULATED</strong> ${esc(rest)}`));
    } else out.push(el('div', { class: 'warning', role: 'note' }, esc(w)));
  }
  out.push(
    `<h1>holdout run ${r.run.id} · suite ${esc(r.run.suite)}</h1>`,
    paragraph(
      runDetails(r, (s) => s),
      'meta',
    ),
    paragraph(methodLine(r), 'method'),
    '</header>',
  );
  return out.join('\n');
}

// --- charts ------------------------------------------------------------------------------------

function flips(r: RunReport, c: Comparison, which: 'regressions' | 'fixes'): string {
  const n = which === 'regressions' ? c.regressions : c.fixes;
  const shown = c.flips[which];
  const what =
    which === 'regressions'
      ? `${c.baseline} passed, ${c.candidate} failed`
      : `${c.baseline} failed, ${c.candidate} passed`;
  const more = shown.length < n ? ` (first ${shown.length} shown)` : '';
  const heading = el(
    'h3',
    { class: `flips-${which}` },
    esc(`${what}: ${n} ${n === 1 ? 'prompt' : 'prompts'}${more}`),
  );
  if (shown.length === 0) return heading;
  const repeats = r.run.repeats > 1;
  const head = [
    'record',
    'tags',
    ...(repeats ? ['pass share'] : []),
    'prompt (last user turn)',
    'reference',
    `${c.baseline} output`,
    `${c.candidate} output`,
  ];
  const rows = shown.map((f) => {
    const share = `${formatPercent(f.baselineRate)} → ${formatPercent(f.candidateRate)}`;
    const cells = [
      el('td', {}, esc(f.recordId)),
      el('td', {}, esc(formatTags(f.tags))),
      ...(repeats ? [el('td', { class: 'num' }, esc(share))] : []),
      el('td', { class: 'prompt' }, esc(f.promptExcerpt ?? '(no user turn)')),
      el('td', { class: 'ref' }, esc(f.referenceExcerpt ?? '(no reference)')),
      el('td', { class: 'out' }, esc(f.baselineExcerpt ?? '(no output)')),
      el('td', { class: 'out' }, esc(f.candidateExcerpt ?? '(no output)')),
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  const headRow = head.map((h) => el('th', {}, esc(h))).join('');
  const body = `\n<thead><tr>${headRow}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n`;
  const t = el('table', { class: 'flips', 'data-candidate': c.candidate, 'data-kind': which }, body);
  return `${heading}\n${el('div', { class: 'scroll' }, t)}`;
}

// --- label scorers -------------------------------------------------------------------------------

function labelsHtml(labels: LabelReport[]): string {
  const out: string[] = [];
  for (const l of labels) {
    const summary = labelSummaryTable(l);
    out.push(el('h3', {}, esc(summary.title ?? l.scorer)), table(summary));
    out.push(table(labelClassTable(l), { class: 'classes', 'data-scorer': l.scorer }));
    if (manyClasses(l)) {
      const pairs = confusionPairsTable(l);
      out.push(
        el('h3', {}, esc(pairs.title ?? 'confused pairs')),
        table(pairs, { class: 'confused-pairs', 'data-scorer': l.scorer }),
        paragraph(manyClassesLine(l), 'note'),
      );
    } else for (const c of l.candidates) out.push(confusionHtml(l, c));
  }
  out.push(paragraph(labelMethodLine(), 'method'));
  return out.join('\n');
}

/**
 * A confusion matrix with each cell shaded by its share of the row: how the calls that expected a class
 * were spread over the predictions. Every name is escaped; the shading is a class from HEAT_STYLE.
 */
function confusionHtml(l: LabelReport, c: LabelCandidateReport): string {
  const caption = `${l.scorer} · ${c.candidate}: rows expected, columns predicted; shading: share of the row`;
  const head = [
    el('th', {}, esc('expected \\ predicted')),
    ...l.classes.map((k) => el('th', { class: 'num', scope: 'col' }, esc(k))),
    el('th', { class: 'num', scope: 'col' }, esc(NO_CLASS)),
  ].join('');
  const rows = c.matrix.map((row, i) => {
    const expected = l.classes[i]!;
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((n, j) => {
      const predicted = j < l.classes.length ? l.classes[j]! : NO_CLASS;
      const share = total > 0 ? n / total : 0;
      const step = Math.round(share * HEAT_STEPS);
      const tip = `expected ${expected}, predicted ${predicted}: ${n} of ${total} (${formatPercent(share)})`;
      return el('td', { class: `num ${j === i ? 'd' : 'o'}${step}`, title: tip }, String(n));
    });
    return `<tr>${el('th', { scope: 'row' }, esc(expected))}${cells.join('')}</tr>`;
  });
  const body = `\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n`;
  const t = el('table', { class: 'confusion', 'data-scorer': l.scorer, 'data-candidate': c.candidate }, body);
  return `${paragraph(caption, 'note')}\n${el('div', { class: 'scroll' }, t)}`;
}
