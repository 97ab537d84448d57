/**
 * Renders a RunReport as a terminal table, GitHub Markdown, JSON or CSV. Every string that came
 * from the database (names, models, error kinds) is untrusted and escaped for the format it lands in.
 */
import type { CandidateReport, PassRate, RunReport } from './report.js';

export type ReportFormat = 'table' | 'md' | 'json' | 'csv';

export function renderReport(report: RunReport, format: ReportFormat): string {
  switch (format) {
    case 'table':
      return renderTable(report);
    case 'md':
      return renderMarkdown(report);
    case 'json':
      // NaN and Infinity become null.
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report);
    default:
      throw new RangeError(`unknown report format '${format as string}': use table, md, json or csv`);
  }
}

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

function formatRate(r: PassRate): string {
  if (!Number.isFinite(r.p)) return '-';
  const bound = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(1) : '?');
  return `${formatPercent(r.p)} [${bound(r.lo)}, ${bound(r.hi)}]`;
}

function formatScore(c: CandidateReport): string {
  const m = c.meanScore;
  if (!Number.isFinite(m.mean)) return '-';
  if (!Number.isFinite(m.lo)) return m.mean.toFixed(3);
  return `${m.mean.toFixed(3)} [${m.lo.toFixed(3)}, ${m.hi.toFixed(3)}]`;
}

function formatNumber(x: number | null, decimals: number): string {
  return x === null || !Number.isFinite(x) ? '-' : x.toFixed(decimals);
}

function runDetails(r: RunReport, text: (s: string) => string): string {
  const run = r.run;
  const repeats = run.repeats === 1 ? '1 repeat' : `${run.repeats} repeats`;
  const state =
    run.status === 'finished' && run.finishedAt
      ? `finished ${run.finishedAt}`
      : `${run.status}, created ${run.createdAt}`;
  return `${text(state)} · ${run.recordCount} records × ${repeats} · dataset ${text(run.datasetPath)}`;
}

function methodLine(r: RunReport): string {
  const rate =
    r.method.passRate === 'wilson'
      ? 'pass rate: Wilson over scored calls'
      : 'pass rate: t over per-prompt means of the repeats';
  return `Percentiles are type 7 (linear interpolation); intervals are 95% (${rate}).`;
}

const COLUMNS = [
  'candidate',
  'model',
  'n',
  'err',
  'pass rate [95% CI]',
  'mean score [95% CI]',
  'cost',
  '$/1K calls',
  'p50 ms',
  'p95 ms',
  'TTFT p50 ms',
  'tok/s',
];
// Text columns (untrusted names) are left-aligned, figures right-aligned.
const LEFT = new Set([0, 1]);

function candidateRow(c: CandidateReport): string[] {
  return [
    c.candidate,
    c.model,
    String(c.calls),
    String(c.errors),
    formatRate(c.passRate),
    formatScore(c),
    formatUsd(c.totalCostUsd),
    formatUsd(c.costPer1kCalls),
    formatMs(c.latency.p50),
    formatMs(c.latency.p95),
    formatMs(c.ttftP50),
    formatNumber(c.outputTokensPerSec, 1),
  ];
}

const SCORER_COLUMNS = ['candidate', 'scorer', 'scored', 'unscored', 'passes', 'pass rate [95% CI]', 'mean'];
const SCORER_LEFT = new Set([0, 1]);

function scorerRows(r: RunReport): string[][] {
  return r.candidates.flatMap((c) =>
    c.scorers.map((s) => [
      c.candidate,
      s.scorer,
      String(s.scored),
      String(s.unscored),
      String(s.passes),
      formatRate(s.passRate),
      formatNumber(s.meanValue, 3),
    ]),
  );
}

function errorLines(r: RunReport): string[] {
  return r.candidates
    .filter((c) => c.errors > 0)
    .map((c) => {
      const kinds = Object.entries(c.errorsByKind).map(([kind, n]) => `${kind} ${n}`);
      return `${c.candidate}: ${kinds.join(', ')}`;
    });
}

// --- table -------------------------------------------------------------------------------------

const MAX_CELL = 48;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Control characters (ANSI escapes, carriage returns) from the database must not reach a terminal. */
function terminalSafe(s: string): string {
  return s.replace(CONTROL_CHARS, '?');
}

/** A table cell: terminal-safe, and cut short so one long name cannot stretch every row. */
function cell(s: string): string {
  const clean = terminalSafe(s);
  return clean.length > MAX_CELL ? `${clean.slice(0, MAX_CELL - 1)}…` : clean;
}

function fixedWidth(header: string[], rows: string[][], left: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (left.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function renderTable(r: RunReport): string {
  const title = `holdout run ${r.run.id} · suite ${terminalSafe(r.run.suite)}`;
  const out = [
    ...r.warnings.map(terminalSafe),
    `${title} · ${runDetails(r, terminalSafe)}`,
    methodLine(r),
    '',
  ];
  const rows = r.candidates.map((c) => candidateRow(c).map(cell));
  out.push(...fixedWidth(COLUMNS, rows, LEFT));
  const scorers = scorerRows(r).map((row) => row.map(cell));
  if (scorers.length > 0) out.push('', 'Scorers', ...fixedWidth(SCORER_COLUMNS, scorers, SCORER_LEFT));
  const errors = errorLines(r);
  if (errors.length > 0) out.push('', 'Errors by kind', ...errors.map((e) => `  ${terminalSafe(e)}`));
  if (r.notes.length > 0) out.push('', 'Notes', ...r.notes.map((n) => `  - ${terminalSafe(n)}`));
  return `${out.join('\n')}\n`;
}

// --- markdown ----------------------------------------------------------------------------------

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

/** Our own figures need only `$` escaped: GitHub would read "$0.01 … $0.02" as inline math. */
function markdownFigure(s: string): string {
  return s.replace(/\$/g, '\\$');
}

function markdownTable(header: string[], rows: string[][], text: Set<number>): string[] {
  const align = header.map((_, i) => (text.has(i) ? '---' : '--:'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const escapeRow = (row: string[]) =>
    row.map((c, i) => (text.has(i) ? escapeMarkdown(c) : markdownFigure(c)));
  return [line(header.map(markdownFigure)), line(align), ...rows.map((r) => line(escapeRow(r)))];
}

function renderMarkdown(r: RunReport): string {
  const out = [`## holdout run ${r.run.id}: suite ${escapeMarkdown(r.run.suite)}`, ''];
  for (const w of r.warnings) out.push(`> **${escapeMarkdown(w)}**`, '');
  out.push(runDetails(r, escapeMarkdown), '', methodLine(r), '');
  out.push(...markdownTable(COLUMNS, r.candidates.map(candidateRow), LEFT));
  const scorers = scorerRows(r);
  if (scorers.length > 0) {
    out.push('', '### Scorers', '', ...markdownTable(SCORER_COLUMNS, scorers, SCORER_LEFT));
  }
  const errors = errorLines(r);
  if (errors.length > 0)
    out.push('', '### Errors by kind', '', ...errors.map((e) => `- ${escapeMarkdown(e)}`));
  if (r.notes.length > 0) out.push('', '### Notes', '', ...r.notes.map((n) => `- ${escapeMarkdown(n)}`));
  return `${out.join('\n')}\n`;
}

// --- csv ---------------------------------------------------------------------------------------

const CSV_COLUMNS = [
  'run_id',
  'suite',
  'candidate',
  'model',
  'simulated',
  'calls',
  'ok',
  'errors',
  'retried',
  'scored',
  'passes',
  'pass_rate',
  'pass_rate_lo',
  'pass_rate_hi',
  'pass_rate_method',
  'mean_score',
  'mean_score_lo',
  'mean_score_hi',
  'total_cost_usd',
  'cost_per_1k_calls_usd',
  'input_tokens',
  'cached_tokens',
  'output_tokens',
  'reasoning_tokens',
  'latency_p50_ms',
  'latency_p95_ms',
  'ttft_p50_ms',
  'output_tokens_per_sec',
] as const;

/** RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes. */
function csvField(v: string | number | boolean | null): string {
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function renderCsv(r: RunReport): string {
  const simulated = new Set(r.simulatedCandidates);
  const rows = r.candidates.map((c) => [
    r.run.id,
    r.run.suite,
    c.candidate,
    c.model,
    simulated.has(c.candidate),
    c.calls,
    c.ok,
    c.errors,
    c.retried,
    c.scored,
    c.passes,
    c.passRate.p,
    c.passRate.lo,
    c.passRate.hi,
    c.passRate.method,
    c.meanScore.mean,
    c.meanScore.lo,
    c.meanScore.hi,
    c.totalCostUsd,
    c.costPer1kCalls,
    c.tokens.input,
    c.tokens.cached,
    c.tokens.output,
    c.tokens.reasoning,
    c.latency.p50,
    c.latency.p95,
    c.ttftP50,
    c.outputTokensPerSec,
  ]);
  // CSV has no comment syntax; the notice goes on a '#' line above the header so no reader can
  // take simulated figures for real ones without seeing it (most CSV readers can skip '#' lines).
  const lines = r.warnings.map((w) => `# ${w.replace(/[\r\n]+/g, ' ')}`);
  lines.push(CSV_COLUMNS.join(','), ...rows.map((row) => row.map(csvField).join(',')));
  return `${lines.join('\r\n')}\r\n`;
}
