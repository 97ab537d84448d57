/**
 * How the terminal and GitHub Markdown differ: escaping, table syntax, headings. Shared by every
 * text renderer (report, trend, route) so that a table or a warning looks the same everywhere.
 */
import { cell, escapeMarkdown, fixedWidth, terminalSafe } from './format.js';
import type { Table } from './report-tables.js';

export interface TextStyle {
  /** Untrusted text outside tables. */
  text(s: string): string;
  /** A heading; `s` is already escaped (pass untrusted parts through `text`). */
  heading(level: 2 | 3, s: string): string[];
  table(t: Table): string[];
  list(items: string[]): string[];
  warning(s: string): string[];
}

export const TABLE: TextStyle = {
  text: terminalSafe,
  heading: (_level, s) => [s],
  table: (t) =>
    fixedWidth(
      t.header.map(terminalSafe),
      t.rows.map((row) => row.map(cell)),
      t.text,
    ),
  list: (items) => items.map((i) => `  - ${terminalSafe(i)}`),
  warning: (s) => [terminalSafe(s)],
};

/** Our own figures need only `$` escaped: GitHub would read "$0.01 … $0.02" as inline math. */
export function markdownFigure(s: string): string {
  return s.replace(/\$/g, '\\$');
}

/**
 * A GitHub table: the `text` columns hold untrusted text and are escaped, the others are our own
 * figures; headers are escaped as text unless `header` says they are figures.
 */
export function markdownTable(
  header: string[],
  rows: string[][],
  text: ReadonlySet<number>,
  escapeHeader: (s: string) => string = escapeMarkdown,
): string[] {
  const align = header.map((_, i) => (text.has(i) ? '---' : '--:'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const escapeRow = (row: string[]) =>
    row.map((c, i) => (text.has(i) ? escapeMarkdown(c) : markdownFigure(c)));
  return [line(header.map(escapeHeader)), line(align), ...rows.map((r) => line(escapeRow(r)))];
}

export const MARKDOWN: TextStyle = {
  text: escapeMarkdown,
  heading: (level, s) => [`${'#'.repeat(level)} ${s}`],
  table: (t) => markdownTable(t.header, t.rows, t.text),
  list: (items) => items.map((i) => `- ${escapeMarkdown(i)}`),
  warning: (s) => [`> **${escapeMarkdown(s)}**`],
};

/** GitHub's limit on a comment (and a pull request's description), in characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/**
 * Markdown that fits GitHub's comment limit. `render(left)` renders with the parts named in `left`
 * left out (and says so itself); the parts of `levels` are left out one after another, least
 * important first, until the text fits. Should even that be too long, the text is cut at a line break
 * and `cutNote` (a line saying where the whole is) ends it. Lengths are UTF-16 code units, which is
 * never fewer than the characters GitHub counts.
 */
export function fitMarkdown(
  render: (left: readonly string[]) => string,
  levels: readonly string[],
  cutNote: string,
  limit = GITHUB_COMMENT_LIMIT,
): string {
  const left: string[] = [];
  let text = render(left);
  for (const level of levels) {
    if (text.length <= limit) return text;
    left.push(level);
    text = render(left);
  }
  if (text.length <= limit) return text;
  const tail = `\n\n${cutNote}\n`;
  const room = Math.max(0, limit - tail.length);
  let cut = text.lastIndexOf('\n', room);
  if (cut <= 0) cut = room;
  // Never split a surrogate pair.
  if (cut > 0 && /[\ud800-\udbff]/.test(text[cut - 1]!)) cut--;
  return `${text.slice(0, cut).trimEnd()}${tail}`;
}
