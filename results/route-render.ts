/**
 * Renders a routing evaluation as a terminal table, GitHub Markdown, JSON or a whole HTML page.
 * Names and tag values are untrusted: escaped for the format they land in.
 */
import { cell, escapeMarkdown, fixedWidth, terminalSafe } from './format.js';
import type { RouteResult } from './route.js';
import { renderRoutePage } from './route-html.js';
import {
  armsTable,
  hullLine,
  methodLine,
  oracleLine,
  policyLines,
  recommendationNote,
  recommendationTable,
  scopeLine,
  sliceTable,
  sweepTable,
  title,
} from './route-tables.js';
import type { Table } from './tables.js';

export const ROUTE_FORMATS = ['table', 'md', 'json', 'html'] as const;
export type RouteFormat = (typeof ROUTE_FORMATS)[number];

export function renderRoute(r: RouteResult, format: RouteFormat): string {
  switch (format) {
    case 'table':
      return renderText(r, TABLE);
    case 'md':
      return renderText(r, MARKDOWN);
    case 'json':
      // NaN and Infinity become null.
      return `${JSON.stringify(r, null, 2)}\n`;
    case 'html':
      return renderRoutePage(r);
    default:
      throw new RangeError(`unknown route format '${format as string}': use table, md, json or html`);
  }
}

interface TextStyle {
  text(s: string): string;
  heading(s: string): string[];
  table(t: Table): string[];
  list(items: string[]): string[];
  warning(s: string): string[];
}

const TABLE: TextStyle = {
  text: terminalSafe,
  heading: (s) => [terminalSafe(s)],
  table: (t) =>
    fixedWidth(
      t.header.map(terminalSafe),
      t.rows.map((row) => row.map(cell)),
      t.text,
    ),
  list: (items) => items.map((i) => `  - ${terminalSafe(i)}`),
  warning: (s) => [terminalSafe(s)],
};

const figure = (s: string) => s.replace(/\$/g, '\\$');

const MARKDOWN: TextStyle = {
  text: escapeMarkdown,
  heading: (s) => [`### ${escapeMarkdown(s)}`],
  table: (t) => {
    const align = t.header.map((_, i) => (t.text.has(i) ? '---' : '--:'));
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [
      line(t.header.map(escapeMarkdown)),
      line(align),
      ...t.rows.map((row) => line(row.map((c, i) => (t.text.has(i) ? escapeMarkdown(c) : figure(c))))),
    ];
  },
  list: (items) => items.map((i) => `- ${escapeMarkdown(i)}`),
  warning: (s) => [`> **${escapeMarkdown(s)}**`],
};

function renderText(r: RouteResult, st: TextStyle): string {
  const md = st === MARKDOWN;
  const out: string[] = [];
  if (md) out.push(`## ${escapeMarkdown(title(r))}`, '');
  for (const w of r.warnings) out.push(...st.warning(w), '');
  if (!md) out.push(st.text(title(r)));
  out.push(st.text(scopeLine(r)), st.text(methodLine(r)), '');
  out.push(...st.heading('Policies beside every single candidate and the oracle'), ...(md ? [''] : []));
  out.push(...st.table(armsTable(r)), '');
  out.push(...st.list([oracleLine(r), hullLine(r)]), '');
  for (const p of r.policies) {
    out.push(...st.heading(`Policy ${p.name} (${p.file})`), ...(md ? [''] : []));
    if (p.description) out.push(st.text(p.description));
    out.push(...st.list(policyLines(p)));
    if (p.sweep) out.push('', ...st.table(sweepTable(p.sweep)));
    out.push('');
  }
  if (r.slices.length > 0) {
    out.push(...st.heading(`By ${r.settings.by}`), ...(md ? [''] : []), ...st.table(sliceTable(r)), '');
  }
  out.push(...st.heading('The cheapest model that is smart enough'), ...(md ? [''] : []));
  out.push(...st.table(recommendationTable(r)), st.text(recommendationNote(r)), '');
  if (r.notes.length > 0) out.push(...st.heading('Notes'), ...(md ? [''] : []), ...st.list(r.notes), '');
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
