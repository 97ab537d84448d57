/**
 * Renders a routing evaluation as a terminal table, GitHub Markdown, JSON or a whole HTML page.
 * Names and tag values are untrusted: escaped for the format they land in.
 */
import { escapeMarkdown } from './format.js';
import type { RouteResult } from '../route/route.js';
import { projectionText } from './projection-render.js';
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
import { MARKDOWN, TABLE, type TextStyle } from './text-style.js';

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

function renderText(r: RouteResult, st: TextStyle): string {
  const md = st === MARKDOWN;
  const out: string[] = [];
  if (md) out.push(`## ${escapeMarkdown(title(r))}`, '');
  for (const w of r.warnings) out.push(...st.warning(w), '');
  if (!md) out.push(st.text(title(r)));
  out.push(st.text(scopeLine(r)), st.text(methodLine(r)), '');
  out.push(
    ...st.heading(3, st.text('Policies beside every single candidate and the oracle')),
    ...(md ? [''] : []),
  );
  out.push(...st.table(armsTable(r)), '');
  out.push(...st.list([oracleLine(r), hullLine(r)]), '');
  for (const p of r.policies) {
    out.push(...st.heading(3, st.text(`Policy ${p.name} (${p.file})`)), ...(md ? [''] : []));
    if (p.description) out.push(st.text(p.description));
    out.push(...st.list(policyLines(p)));
    if (p.sweep) out.push('', ...st.table(sweepTable(p.sweep)));
    out.push('');
  }
  if (r.slices.length > 0) {
    out.push(
      ...st.heading(3, st.text(`By ${r.settings.by}`)),
      ...(md ? [''] : []),
      ...st.table(sliceTable(r)),
      '',
    );
  }
  out.push(...st.heading(3, st.text('The cheapest model that is smart enough')), ...(md ? [''] : []));
  out.push(...st.table(recommendationTable(r)), st.text(recommendationNote(r)), '');
  if (r.projection) out.push(...projectionText(r.projection, st), '');
  if (r.notes.length > 0)
    out.push(...st.heading(3, st.text('Notes')), ...(md ? [''] : []), ...st.list(r.notes), '');
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
