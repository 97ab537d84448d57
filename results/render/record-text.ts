/**
 * The evidence on a terminal: `holdout runs` (the runs of a database, newest first, as a table,
 * Markdown or JSON) and `holdout show` (one record: its prompt turn by turn, its reference, then the
 * candidates' outputs side by side in columns fitted to the terminal, each with its scores and their
 * detail, tokens, cost and latency). Every string from the database is untrusted: control characters
 * (ANSI escapes, carriage returns, bidirectional overrides) are written as visible escapes, never sent.
 */
import type { CallDetail, RecordEvidence, RunListRow } from '../report/records.js';
import { formatMs, formatUsd } from './format.js';
import { MARKDOWN, TABLE } from './text-style.js';
import type { Table } from './report-tables.js';

// --- holdout runs ----------------------------------------------------------------------------------

export const RUNS_FORMATS = ['table', 'md', 'json'] as const;
export type RunsFormat = (typeof RUNS_FORMATS)[number];

function runsTable(rows: RunListRow[]): Table {
  return {
    header: ['id', 'suite', 'created', 'status', 'records', 'candidates', 'cost'],
    text: new Set([1, 2, 3, 5]),
    rows: rows.map((r) => [
      String(r.id),
      r.suite,
      r.created_at,
      r.decided ? `${r.status}, ${r.decided}` : r.status,
      r.repeats > 1 ? `${r.record_count} × ${r.repeats}` : String(r.record_count),
      r.candidates.join(', '),
      formatUsd(r.cost),
    ]),
  };
}

/** The runs, newest first. JSON is an array of objects with every field (NaN-free). */
export function renderRuns(rows: RunListRow[], format: RunsFormat): string {
  switch (format) {
    case 'table':
      return `${TABLE.table(runsTable(rows)).join('\n')}\n`;
    case 'md':
      return `${MARKDOWN.table(runsTable(rows)).join('\n')}\n`;
    case 'json':
      return `${JSON.stringify(
        rows.map((r) => ({
          id: r.id,
          suite: r.suite,
          createdAt: r.created_at,
          finishedAt: r.finished_at,
          status: r.status,
          records: r.record_count,
          repeats: r.repeats,
          candidates: r.candidates,
          candidateCalls: r.calls,
          costUsd: r.cost,
          ...(r.decided ? { decided: r.decided } : {}),
        })),
        null,
        2,
      )}\n`;
    default:
      throw new RangeError(`unknown runs format '${format as string}': use table, md or json`);
  }
}

// --- terminal text ----------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * One line of untrusted text made safe to print: C0, DEL, C1 and the bidirectional controls (which
 * could reorder what is shown) become visible escapes (`\x1b`, `\u202e`), as datasets/printable.ts
 * writes them. Tabs become two spaces first, so columns stay aligned.
 */
export function visibleLine(s: string): string {
  return s.replace(/\t/g, '  ').replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Untrusted text of several lines: each line made safe; CR, LF and CRLF all end a line. */
export function visibleLines(s: string): string[] {
  return s.split(/\r\n|\r|\n/).map(visibleLine);
}

/** Columns a code point takes on a terminal: 0 for combining marks, 2 for wide (CJK, emoji), else 1. */
function codeWidth(cp: number): number {
  if (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x200b && cp <= 0x200d) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0x20d0 && cp <= 0x20ff)
  )
    return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

/** Display width of a safe line (escapes already applied). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += codeWidth(ch.codePointAt(0)!);
  return w;
}

/**
 * Wraps one safe line to `width` columns: at the last space that fits, else mid-word (a long URL or
 * JSON blob). Never returns an empty list; an empty line stays one empty line.
 */
export function wrapLine(line: string, width: number): string[] {
  const w = Math.max(1, width);
  if (displayWidth(line) <= w) return [line];
  const out: string[] = [];
  let chars = Array.from(line);
  while (chars.length > 0) {
    let used = 0;
    let cut = 0;
    let lastSpace = -1;
    while (cut < chars.length) {
      const cw = codeWidth(chars[cut]!.codePointAt(0)!);
      if (used + cw > w) break;
      used += cw;
      if (chars[cut] === ' ') lastSpace = cut;
      cut++;
    }
    if (cut >= chars.length) {
      out.push(chars.join(''));
      break;
    }
    if (cut === 0) cut = 1; // a character wider than the column: it goes alone
    // Break at the space just past the line, else at the last space on it, else mid-word.
    const atSpace = chars[cut] === ' ' ? cut : lastSpace > 0 ? lastSpace : -1;
    out.push(
      chars
        .slice(0, atSpace >= 0 ? atSpace : cut)
        .join('')
        .trimEnd(),
    );
    chars = chars.slice(atSpace >= 0 ? atSpace + 1 : cut);
  }
  return out;
}

/** Untrusted text wrapped to `width`, every line made safe, `indent` before each. */
function block(text: string, width: number, indent = ''): string[] {
  return visibleLines(text).flatMap((l) => wrapLine(l, width - indent.length).map((x) => indent + x));
}

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

// --- holdout show -----------------------------------------------------------------------------------

/** The narrowest an output column gets; below it, columns go on further bands. */
const MIN_COLUMN = 28;
const GAP = ' │ ';

const num = (x: number | null | undefined) =>
  x === null || x === undefined ? '-' : x.toLocaleString('en-US');

function verdict(c: CallDetail): string {
  if (c.status === 'error') return `ERROR ${c.error_kind ?? 'unknown'}`;
  const scored = c.scores.filter((s) => s.value !== null);
  if (scored.length === 0) return 'unscored';
  return scored.every((s) => s.passed === 1) ? 'PASS' : 'FAIL';
}

function scoreValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** One call as the lines of its column: output, scores with detail, tokens, cost, timings, grade. */
function callColumn(e: RecordEvidence, c: CallDetail, width: number): string[] {
  const out: string[] = [];
  const rule = (title: string) => `── ${title} ${'─'.repeat(Math.max(0, width - displayWidth(title) - 4))}`;
  if (c.status === 'error') {
    out.push(
      ...block(`error ${c.error_kind ?? 'unknown'}${c.http_status ? ` (HTTP ${c.http_status})` : ''}`, width),
    );
    out.push(...block(c.error_message ?? '(no message)', width));
  }
  if (c.output !== null && c.output !== '') out.push(...block(c.output, width));
  else if (c.status === 'ok') out.push('(no text output)');
  if (c.tool_calls_json) out.push(rule('tool calls'), ...block(c.tool_calls_json, width));
  out.push(rule(`scores: ${verdict(c)}`));
  if (c.scores.length === 0) out.push('(no scores)');
  for (const s of c.scores) {
    const what = s.value === null ? 'unscored' : `${scoreValue(s.value)} ${s.passed === 1 ? 'pass' : 'fail'}`;
    out.push(...block(`${s.scorer}: ${what}`, width));
    if (s.detail) out.push(...block(s.detail, width, '  '));
  }
  const grade = e.grades.find((g) => g.candidate === c.candidate && g.repeat === c.repeat);
  if (grade) {
    out.push(rule('reviewer'));
    out.push(...block(`${grade.value} by ${grade.reviewer} (${grade.created_at})`, width));
    if (grade.note) out.push(...block(grade.note, width, '  '));
  }
  out.push(rule('call'));
  const cached = c.cached_tokens ? ` (${num(c.cached_tokens)} cached)` : '';
  const reasoning = c.reasoning_tokens ? ` (${num(c.reasoning_tokens)} reasoning)` : '';
  const facts = [
    `tokens in ${num(c.input_tokens)}${cached}`,
    `tokens out ${num(c.output_tokens)}${reasoning}`,
    `cost ${formatUsd(c.cost_usd)}`,
    `latency ${c.latency_ms === null ? '-' : `${formatMs(c.latency_ms)} ms`}${c.ttft_ms === null ? '' : ` · TTFT ${formatMs(c.ttft_ms)} ms`}`,
    `finish ${c.finish_reason ?? '-'} · ${c.attempts} ${c.attempts === 1 ? 'attempt' : 'attempts'}`,
  ];
  if (c.served_model) facts.push(`served ${c.served_model}`);
  if (c.simulated) facts.push('SIMULATED (holdout simulator)');
  for (const f of facts) out.push(...block(f, width));
  return out;
}

interface Column {
  title: string;
  lines: string[];
}

/** Columns side by side, `perBand` at a time, each `width` wide, separated by a vertical rule. */
function bands(columns: Column[], width: number, perBand: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < columns.length; i += perBand) {
    const band = columns.slice(i, i + perBand);
    if (i > 0) out.push('');
    const titles = band.map((c) => wrapLine(c.title, width));
    const height = Math.max(...band.map((c) => c.lines.length));
    const titleHeight = Math.max(...titles.map((t) => t.length));
    const row = (cells: string[]) =>
      cells
        .map((s) => pad(s, width))
        .join(GAP)
        .trimEnd();
    for (let t = 0; t < titleHeight; t++) out.push(row(titles.map((x) => x[t] ?? '')));
    out.push(band.map(() => '═'.repeat(width)).join('═╪═'));
    for (let l = 0; l < height; l++) out.push(row(band.map((c) => c.lines[l] ?? '')));
  }
  return out;
}

/**
 * `holdout show`: the record, then the outputs side by side. `width` is the terminal's (stdout.columns,
 * else 120); the outputs share it in columns of at least 28, on as many bands as that takes.
 */
export function renderRecord(e: RecordEvidence, width = 120): string {
  const W = Math.max(40, Math.floor(width));
  const r = e.record;
  const out: string[] = [];
  const heading = (s: string) => out.push('', s, '─'.repeat(Math.min(W, displayWidth(s))));
  const tags = Object.entries(r.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  out.push(
    ...block(
      `run ${e.run.id} · suite ${e.run.suite} · record ${r.id} · position ${r.seq} in the dataset${tags ? ` · ${tags}` : ''}`,
      W,
    ),
  );
  const api = r.api === 'responses' ? 'Responses' : 'Chat Completions';
  heading(`Prompt (${api}, ${r.turns.length} ${r.turns.length === 1 ? 'turn' : 'turns'})`);
  if (r.raw !== null) out.push(...block(r.raw, W));
  for (const t of r.turns) {
    out.push(`[${visibleLine(t.role)}]`);
    if (t.text !== '') out.push(...block(t.text, W, '  '));
    if (t.other !== null) out.push(...block(t.other, W, '  '));
    if (t.text === '' && t.other === null) out.push('  (empty)');
  }
  heading('Reference');
  if (r.reference === null) out.push('(none)');
  else {
    for (const [k, v] of Object.entries(r.reference)) {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      const one = visibleLines(text);
      if (one.length === 1 && displayWidth(one[0]!) + k.length + 2 <= W)
        out.push(`${visibleLine(k)}: ${one[0]}`);
      else out.push(`${visibleLine(k)}:`, ...block(text, W, '  '));
    }
  }
  const repeats = e.run.repeats > 1;
  const cells = e.candidates.flatMap((k) => {
    const calls = e.calls.filter((c) => c.candidate === k.candidate);
    const name = (c: CallDetail | null) =>
      `${visibleLine(k.candidate)}${repeats && c ? ` #${c.repeat}` : ''} · ${visibleLine(k.model)}`;
    return calls.length === 0
      ? [{ title: name(null), call: null }]
      : calls.map((c): { title: string; call: CallDetail | null } => ({ title: name(c), call: c }));
  });
  const perBand = Math.max(
    1,
    Math.min(cells.length, Math.floor((W + GAP.length) / (MIN_COLUMN + GAP.length))),
  );
  const colWidth = Math.floor((W - GAP.length * (perBand - 1)) / perBand);
  const columns: Column[] = cells.map((x) => ({
    title: x.title,
    lines: x.call ? callColumn(e, x.call, colWidth) : ['(no call stored)'],
  }));
  heading(`Outputs (${columns.length} ${columns.length === 1 ? 'column' : 'columns'})`);
  if (columns.length === 0) out.push('(no candidates)');
  else out.push(...bands(columns, colWidth, perBand));
  return `${out.join('\n')}\n`;
}
