/**
 * The "Projection to production volume" section (`--project` of report, route and compare) as
 * terminal or Markdown lines and as an HTML section; JSON is the Projection itself. Stratum values
 * and arm names are untrusted: escaped by the text style or the markup.
 */
import type { DifferenceProjection, Projection } from '../report/projection.js';
import type { StratifiedEstimate } from '../stats/projection.js';
import { escapeHtml, formatUsd } from './format.js';
import { list, paragraph, table } from './markup.js';
import type { Table } from './report-tables.js';
import { MARKDOWN, type TextStyle } from './text-style.js';

export const PROJECTION_TITLE = 'Projection to production volume';

/** Dollars: whole dollars with separators from $1,000, cents from $1, significant digits below. */
export function formatMoney(x: number, signed = false): string {
  if (!Number.isFinite(x)) return '?';
  const sign = x < 0 ? '−' : signed && x > 0 ? '+' : '';
  const abs = Math.abs(x);
  if (abs >= 1000) return `${sign}$${Math.round(abs).toLocaleString('en-US')}`;
  return `${sign}${formatUsd(abs)}`;
}

function money(e: StratifiedEstimate | null, signed = false): string {
  if (!e || !Number.isFinite(e.estimate)) return '-';
  const mark = e.method === 'bootstrap' ? '*' : '';
  return `${formatMoney(e.estimate, signed)} [${formatMoney(e.lo, signed)}, ${formatMoney(e.hi, signed)}]${mark}`;
}

function percent(e: StratifiedEstimate): string {
  if (!Number.isFinite(e.estimate)) return '-';
  const f = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(1) : '?');
  return `${f(e.estimate)}% [${f(e.lo)}, ${f(e.hi)}]`;
}

function points(e: StratifiedEstimate): string {
  if (!Number.isFinite(e.estimate)) return '-';
  const f = (x: number) =>
    Number.isFinite(x) ? `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x * 100).toFixed(1)}` : '?';
  return `${f(e.estimate)} points [${f(e.lo)}, ${f(e.hi)}]`;
}

function mean(e: StratifiedEstimate, signed = false): string {
  if (!Number.isFinite(e.estimate)) return '-';
  const f = (x: number) =>
    Number.isFinite(x) ? `${signed && x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x).toFixed(3)}` : '?';
  return `${f(e.estimate)} [${f(e.lo)}, ${f(e.hi)}]`;
}

function unit(p: Projection): string {
  return p.per === 'month' ? '/month' : ' per 1K requests';
}

export function projectionTable(p: Projection): Table {
  return {
    header: [
      '',
      'prompts',
      `cost${unit(p)} [95% CI]`,
      'pass rate [95% CI]',
      'mean score [95% CI]',
      'cost per pass',
    ],
    rows: p.arms.map((a) => [
      a.kind === 'policy' ? `${a.name} (policy)` : a.name,
      String(a.passRate.n),
      money(a.cost),
      percent(a.passRate),
      mean(a.meanScore),
      a.costPerPass && Number.isFinite(a.costPerPass.estimate) ? formatUsd(a.costPerPass.estimate) : '-',
    ]),
    text: new Set([0]),
  };
}

export function strataTable(p: Projection): Table {
  return {
    header: [p.frame.tag ?? 'stratum', 'share of traffic', 'requests in frame', 'sampled'],
    rows: p.frame.strata.map((s) => [
      s.key,
      `${(s.share * 100).toFixed(1)}%`,
      s.N.toLocaleString('en-US'),
      String(s.sampled),
    ]),
    text: new Set([0]),
  };
}

/** "mini instead of nano: +$41,300/month [+$39,600, +$43,100], pass rate −0.9 points [−2.1, +0.3], …" */
export function differenceLine(p: Projection, d: DifferenceProjection): string {
  const cost = d.cost ? `${money(d.cost, true).replace(' [', `${unit(p)} [`)}, ` : '';
  return (
    `${d.candidate} instead of ${d.baseline}: ${cost}pass rate ${points(d.passRate)}, ` +
    `mean score ${mean(d.meanScore, true)} (${d.passRate.n} paired prompts)`
  );
}

export function frameLine(p: Projection): string {
  const f = p.frame;
  const from =
    f.source === 'sample manifest'
      ? `strata of the sample manifest${f.tag ? ` (by ${f.tag})` : ' (a simple random sample)'}`
      : f.source === 'post-stratification'
        ? `post-stratified by ${f.tag} on the pool's counts`
        : "the run's own mix (no frame)";
  const vol = f.volume
    ? `${Math.round(f.volume.perMonth).toLocaleString('en-US')} requests/month (${f.volume.source})`
    : 'no volume: costs per 1K requests';
  const fpc = f.fpc ? 'finite-population correction on the frame' : 'no finite-population correction';
  return `Weights: ${from}; ${vol}; ${fpc}. Intervals 95%: stratified t on Satterthwaite df for costs and scores, Wilson at the effective n for pass rates, z for ratios; monthly totals without FPC.`;
}

/** The section as lines for the terminal (TABLE) or Markdown. */
export function projectionText(p: Projection, st: TextStyle): string[] {
  const md = st === MARKDOWN;
  const gap = md ? [''] : [];
  const out: string[] = ['', ...st.heading(3, PROJECTION_TITLE), ...gap, st.text(frameLine(p)), ''];
  out.push(...st.table(projectionTable(p)));
  if (p.differences.length > 0) out.push('', ...st.list(p.differences.map((d) => differenceLine(p, d))));
  out.push('', ...st.table(strataTable(p)));
  if (p.notes.length > 0) out.push('', ...st.list(p.notes));
  return out;
}

/** The section as HTML (`<section id="projection">`), for the report, route and compare pages. */
export function projectionHtml(p: Projection, id = 'projection', heading = PROJECTION_TITLE): string {
  const parts = [
    paragraph(frameLine(p), 'method'),
    table(projectionTable(p)),
    p.differences.length > 0 ? list(p.differences.map((d) => differenceLine(p, d))) : '',
    table(strataTable(p)),
    p.notes.length > 0 ? list(p.notes) : '',
  ].filter((x) => x !== '');
  return `<section id="${id}">\n<h2>${escapeHtml(heading)}</h2>\n${parts.join('\n')}\n</section>`;
}
