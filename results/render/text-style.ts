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

/**
 * Whether text written to `stream` may carry colour: the one rule every coloured output follows.
 * FORCE_COLOR wins (any value but `0` or `false` turns colour on, those two turn it off, as in Node
 * itself); then NO_COLOR (any non-empty value turns it off: no-color.org); else colour only on a
 * terminal that is not TERM=dumb. Files, pipes and CI logs get plain text.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** The styles holdout uses, as SGR codes: a failure, a warning, a pass, and what is secondary. */
const SGR = { red: [31, 39], yellow: [33, 39], green: [32, 39], bold: [1, 22], dim: [2, 22] } as const;
export type Color = keyof typeof SGR;

/**
 * `text` in `color` when `on` (see colorEnabled), else unchanged. Only for our own words (a label, a
 * verdict): untrusted text is made terminal-safe first, so that no escape in it survives to the screen.
 */
export function paint(color: Color, text: string, on: boolean): string {
  if (!on || text === '') return text;
  const [open, close] = SGR[color];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}
