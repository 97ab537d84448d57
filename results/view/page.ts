/**
 * The viewer's page shell and the small pieces every page uses. The shell is the HTML report's (its
 * Content-Security-Policy: no script at all, no external resource) with two additions: forms may
 * only post to the viewer itself, and the referrer policy is same-origin, so that a grade's POST
 * carries the Origin the server checks. Every string from the database goes through `esc` or
 * `attrs` (results/render/markup.ts); links are built from encoded path segments and query strings.
 */
import { escapeHtml as esc } from '../render/format.js';
import { CSP, el, htmlPage } from '../render/markup.js';
import { REPORT_STYLE } from '../render/report-html.js';
import { queryString } from './filter.js';

/** The page's own policy (meta): the report's, forms to self only, no <base>. */
export const PAGE_CSP = `${CSP}; form-action 'self'; base-uri 'none'`;
/** Sent as a header too, where frame-ancestors takes effect (it is ignored in a meta element). */
export const HEADER_CSP = `${PAGE_CSP}; frame-ancestors 'none'`;

/** Shades of a heatmap block by its share of the row: blue on the diagonal, vermilion off it. */
const HEATMAP_SHADES = Array.from({ length: 10 }, (_, k) => {
  const i = k + 1;
  const alpha = (0.08 + (i / 10) * 0.82).toFixed(3);
  const ink = i >= 6 ? ' color: #fff;' : '';
  return (
    `  table.heatmap td.hd${i} { background: rgba(0, 114, 178, ${alpha});${ink} }\n` +
    `  table.heatmap td.ho${i} { background: rgba(213, 94, 0, ${alpha});${ink} }`
  );
}).join('\n');

const VIEW_STYLE = `
  nav.crumbs { font-size: 13px; color: #555; margin: 0 0 12px; }
  nav.crumbs a { margin-right: 4px; }
  a { color: #0b57d0; }
  form.filter { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; background: #f6f6f6;
    padding: 10px 12px; border-radius: 4px; margin: 8px 0; font-size: 13px; }
  form.filter label { display: flex; flex-direction: column; gap: 2px; }
  form.filter fieldset { border: 1px solid #ddd; padding: 2px 8px; }
  form.filter label.check { flex-direction: row; align-items: center; gap: 4px; }
  .pager { margin: 8px 0; font-size: 13px; }
  .pager a, .pager span { margin-right: 10px; }
  td.cell { white-space: nowrap; font-size: 12px; }
  .pass { color: #0a6b2d; font-weight: 600; }
  .fail { color: #b00020; font-weight: 600; }
  .error { color: #8a4b00; font-weight: 600; }
  .unscored { color: #777; }
  .graded { display: inline-block; font-size: 11px; border: 1px solid #999; border-radius: 3px; padding: 0 3px; }
  td.excerpt { white-space: normal; max-width: 360px; color: #333; font-size: 12px; }
  pre.text { white-space: pre-wrap; word-break: break-word; font: 12px/1.45 ui-monospace, Menlo, Consolas, monospace;
    background: #fafafa; border: 1px solid #e4e4e4; padding: 8px; margin: 4px 0; max-height: 480px; overflow: auto; }
  .turn { margin: 8px 0; }
  .role { font-weight: 600; font-size: 12px; text-transform: uppercase; color: #555; }
  .outputs { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
  .output { border: 1px solid #ddd; border-radius: 4px; padding: 8px 12px; min-width: 0; }
  .output h3 { margin-top: 4px; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 12px; margin: 6px 0; }
  dl.facts dt { color: #555; }
  dl.facts dd { margin: 0; word-break: break-all; }
  form.grade { border-top: 1px dashed #ccc; margin-top: 8px; padding-top: 8px; font-size: 13px; }
  form.grade textarea { width: 100%; box-sizing: border-box; }
  .verdict { font-size: 16px; padding: 8px 12px; border-radius: 4px; background: #f6f6f6; }
  .verdict.FAIL { background: #fde7e9; } .verdict.PASS { background: #e6f4ea; }
  .verdict.INCONCLUSIVE { background: #fff4e5; }
  pre.diff del { background: #fde7e9; color: #8a0015; }
  pre.diff ins { background: #e6f4ea; color: #0a5a26; text-decoration: none; }
  .problem { background: #fde7e9; padding: 8px 12px; border-radius: 4px; }
  h2, h3, p, li { overflow-wrap: anywhere; }
  td.cls { white-space: normal; overflow-wrap: anywhere; min-width: 12ch; max-width: 40ch; }
  .heatmap-box { max-width: 100%; max-height: 80vh; overflow: auto; border: 1px solid #ddd; margin: 8px 0; }
  table.heatmap { border-collapse: separate; border-spacing: 1px; margin: 0; font-size: 10px; }
  table.heatmap th, table.heatmap td { padding: 0; border: 0; }
  table.heatmap td { width: 22px; min-width: 22px; max-width: 22px; height: 22px; overflow: hidden;
    text-align: center; vertical-align: middle; background: #f4f4f4; font-variant-numeric: tabular-nums; }
  table.heatmap td a { display: block; line-height: 22px; color: inherit; text-decoration: none; }
  table.heatmap td a:hover, table.heatmap td a:focus { outline: 2px solid #1b1b1b; }
  table.heatmap thead th { position: sticky; top: 0; z-index: 2; background: #fff; vertical-align: bottom;
    padding: 4px 0; font-weight: 500; }
  table.heatmap thead th span { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg);
    white-space: nowrap; }
  table.heatmap tbody th { position: sticky; left: 0; z-index: 1; background: #fff; text-align: right;
    padding: 0 6px; font-weight: 500; white-space: nowrap; }
  table.heatmap thead th.corner { left: 0; z-index: 3; text-align: left; padding: 4px 6px; color: #555; }
${HEATMAP_SHADES}
`;

/** A whole page: `body` is markup that is already safe. */
export function viewPage(title: string, crumbs: [string, string | null][], body: string[]): string {
  const nav = crumbs.map(([text, href]) => (href === null ? esc(text) : `${link(href, text)} ›`)).join(' ');
  return htmlPage(title, `${REPORT_STYLE}${VIEW_STYLE}`, [`<nav class="crumbs">${nav}</nav>`, ...body], {
    csp: PAGE_CSP,
    referrer: 'same-origin',
  });
}

export function link(href: string, text: string, a: Record<string, string> = {}): string {
  return el('a', { href, ...a }, esc(text));
}

export function section(id: string, heading: string, body: string): string {
  return `<section id="${id}">\n<h2>${esc(heading)}</h2>\n${body}\n</section>`;
}

/** Paths of the viewer: every segment from the database is percent-encoded. */
export const paths = {
  runs: (page = 1) => (page > 1 ? `/?page=${page}` : '/'),
  run: (runId: number, by?: string) => `/runs/${runId}${by ? queryString([['by', by]]) : ''}`,
  records: (runId: number, params: [string, string][] = []) => `/runs/${runId}/records${queryString(params)}`,
  record: (runId: number, recordId: string, params: [string, string][] = []) =>
    `/runs/${runId}/records/${encodeURIComponent(recordId)}${queryString(params)}`,
  grades: (runId: number, recordId: string) =>
    `/runs/${runId}/records/${encodeURIComponent(recordId)}/grades`,
  labels: (runId: number, params: [string, string][] = []) => `/runs/${runId}/labels${queryString(params)}`,
  routing: (runId: number) => `/runs/${runId}/routing`,
  compare: (runId: number, a?: string, b?: string) =>
    `/runs/${runId}/compare${
      a !== undefined && b !== undefined
        ? queryString([
            ['a', a],
            ['b', b],
          ])
        : ''
    }`,
};

/** Previous / next page links and "a–b of n". */
export function pager(href: (page: number) => string, page: number, size: number, total: number): string {
  const pages = Math.max(1, Math.ceil(total / size));
  const from = total === 0 ? 0 : (page - 1) * size + 1;
  const to = Math.min(total, page * size);
  const parts = [
    el(
      'span',
      {},
      esc(
        `${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`,
      ),
    ),
    page > 1 ? link(href(1), '« first') : '',
    page > 1 ? link(href(page - 1), '‹ previous', { rel: 'prev' }) : '',
    page < pages ? link(href(page + 1), 'next ›', { rel: 'next' }) : '',
    page < pages ? link(href(pages), 'last »') : '',
  ];
  return el('div', { class: 'pager' }, parts.filter(Boolean).join(''));
}

/** A table from ready-made cells: `head` and `rows` hold markup that is already safe. */
export function rawTable(head: string[], rows: string[][], a: Record<string, string> = {}): string {
  const h = `<thead><tr>${head.join('')}</tr></thead>`;
  const b = rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n');
  return el('div', { class: 'scroll' }, el('table', a, `\n${h}\n<tbody>\n${b}\n</tbody>\n`));
}

/** A page number from the query: a whole number from 1, else 1. */
export function pageParam(q: URLSearchParams): number {
  const p = Number(q.get('page') ?? '1');
  return Number.isInteger(p) && p >= 1 && p <= 1e7 ? p : 1;
}

/** Pretty JSON of an untrusted value, as escaped preformatted text. */
export function jsonBlock(v: unknown): string {
  return el('pre', { class: 'text' }, esc(JSON.stringify(v, null, 2) ?? 'null'));
}

export function textBlock(s: string, cls = 'text'): string {
  return el('pre', { class: cls }, esc(s));
}

/** A definition list of facts; values are plain text (escaped here). */
export function facts(items: [string, string | null | undefined][]): string {
  const rows = items
    .filter((i): i is [string, string] => i[1] !== null && i[1] !== undefined && i[1] !== '')
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`);
  return rows.length === 0 ? '' : el('dl', { class: 'facts' }, rows.join(''));
}
