/**
 * Number formatting and escaping shared by the report renderers (text, Markdown, CSV, HTML).
 * Every string that came from the database is untrusted: escape it for the format it lands in.
 */
import type { Quantile } from '../report/report.js';

/**
 * US dollars with enough digits to show fractions of a cent: 4 significant digits below $1
 * ($0.004350), cents from $1 up. A nonzero amount never rounds to $0.00.
 */
export function formatUsd(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  if (x === 0) return '$0.00';
  const sign = x < 0 ? '-' : '';
  const abs = Math.abs(x);
  if (abs >= 1) return `${sign}$${abs.toFixed(2)}`;
  const decimals = Math.min(20, 3 - Math.floor(Math.log10(abs)));
  return `${sign}$${abs.toFixed(decimals)}`;
}

export function formatPercent(p: number): string {
  return Number.isFinite(p) ? `${(p * 100).toFixed(1)}%` : '-';
}

/** Whole milliseconds, or one decimal below 10 ms where a rounding would hide most of the value. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  return Math.abs(ms) < 10 ? ms.toFixed(1) : Math.round(ms).toString();
}

export function formatNumber(x: number | null, decimals: number): string {
  return x === null || !Number.isFinite(x) ? '-' : x.toFixed(decimals);
}

/** A share with its interval in percentage points: "66.7% [20.8, 93.9]". */
export function formatInterval(p: number, lo: number, hi: number): string {
  if (!Number.isFinite(p)) return '-';
  const bound = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(1) : '?');
  return `${formatPercent(p)} [${bound(lo)}, ${bound(hi)}]`;
}

/** A signed difference of shares in percentage points: "+4.0 pp [-1.2, 9.3]". */
export function formatDeltaPp(delta: number, lo: number, hi: number): string {
  if (!Number.isFinite(delta)) return '-';
  const pp = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}` : '?');
  return `${pp(delta)} pp [${pp(lo)}, ${pp(hi)}]`;
}

/** A mean with its t interval, three decimals; the bare mean when the interval is undefined. */
export function formatMean(mean: number, lo: number, hi: number, signed = false): string {
  if (!Number.isFinite(mean)) return '-';
  const f = (x: number) => `${signed && x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return f(mean);
  return `${f(mean)} [${f(lo)}, ${f(hi)}]`;
}

/** A latency percentile with its order-statistic interval: "385 [300, unbounded]". */
export function formatQuantile(q: Quantile): string {
  if (q.value === null) return '-';
  const lo = q.lo === null ? 'unbounded' : formatMs(q.lo);
  const hi = q.hi === null ? 'unbounded' : formatMs(q.hi);
  return `${formatMs(q.value)} [${lo}, ${hi}]`;
}

/** A p-value: 3 significant digits, "<0.0001" below that. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return '-';
  if (p < 1e-4) return '<0.0001';
  return p >= 0.001 ? p.toFixed(3) : p.toPrecision(2);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Control characters (ANSI escapes, carriage returns) from the database must not reach a terminal. */
export function terminalSafe(s: string): string {
  return s.replace(CONTROL_CHARS, '?');
}

/**
 * Escapes text for a GitHub Markdown table cell or line: pipes would split cells, newlines end the
 * table, and emphasis, code, links and HTML characters would change what the text says.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[\\`*_[\]<>|~#$]/g, (ch) => `\\${ch}`)
    .replace(CONTROL_CHARS, ' ');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML and inline SVG, in element content and in quoted attribute values alike:
 * & < > " ' become entities, and control characters other than tab and newline are dropped (a
 * NUL or a stray C1 control is never meaningful on a page and some parsers choke on them).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const HTML_DROPPED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function escapeHtml(s: string): string {
  return s.replace(HTML_DROPPED, '').replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/** Cuts a string to `max` code points (never inside a surrogate pair), marking a cut with '…'. */
export function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

const MAX_CELL = 48;

/** A table cell: terminal-safe, and cut short so one long name cannot stretch every row. */
export function cell(s: string): string {
  const clean = terminalSafe(s);
  return clean.length > MAX_CELL ? `${clean.slice(0, MAX_CELL - 1)}…` : clean;
}

/** Columns padded to their widest cell, a dashed rule under the header; `left` columns align left. */
export function fixedWidth(header: string[], rows: string[][], left: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
