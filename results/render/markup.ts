/**
 * Building blocks of holdout's HTML pages (the report, the routing section): every attribute value
 * and every piece of text is escaped here, so callers only ever pass untrusted strings as data.
 */
import { escapeHtml as esc } from './format.js';
import { px } from './svg.js';
import type { Table } from './report-tables.js';

/** No script, no external resource: inline styles and data: images only. */
export const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export type Attrs = Record<string, string | number | undefined>;

/** ` name="value"` for each defined attribute: numbers as coordinates, every value escaped. */
export function attrs(a: Attrs): string {
  let out = '';
  for (const [name, v] of Object.entries(a)) {
    if (v === undefined) continue;
    out += ` ${name}="${esc(typeof v === 'number' ? px(v) : v)}"`;
  }
  return out;
}

/** An element; `content` is markup that is already safe (built here, or escaped text). */
export function el(tag: string, a: Attrs, content?: string): string {
  return content === undefined ? `<${tag}${attrs(a)}/>` : `<${tag}${attrs(a)}>${content}</${tag}>`;
}

/** An SVG text element holding `s`, escaped. */
export function svgText(x: number, y: number, s: string, a: Attrs = {}): string {
  return el('text', { x, y, ...a }, esc(s));
}

export function paragraph(s: string, cls: string): string {
  return el('p', { class: cls }, esc(s));
}

export function list(items: string[]): string {
  return `<ul>\n${items.map((i) => `<li>${esc(i)}</li>`).join('\n')}\n</ul>`;
}

/** A table in a horizontally scrolling box; figure columns are right-aligned (`num`). */
export function table(t: Table, a: Attrs = {}): string {
  const cls = (i: number) => (t.text.has(i) ? {} : { class: 'num' });
  const head = t.header.map((h, i) => el('th', cls(i), esc(h))).join('');
  const rows = t.rows.map((row) => `<tr>${row.map((c, i) => el('td', cls(i), esc(c))).join('')}</tr>`);
  const body = `\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n`;
  return el('div', { class: 'scroll' }, el('table', a, body));
}

/**
 * A whole self-contained page: the Content-Security-Policy allows no script and no external
 * resource, only inline styles and data: images; `body` is markup that is already safe. The viewer's
 * pages pass their own (stricter) policy and referrer rule.
 */
export function htmlPage(
  title: string,
  style: string,
  body: string[],
  head: { csp: string; referrer: string } = { csp: CSP, referrer: 'no-referrer' },
): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${head.csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="referrer" content="${head.referrer}">`,
    `<title>${esc(title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
