/**
 * Renders a RunReport as a terminal table, GitHub Markdown, JSON, CSV or self-contained HTML, and a
 * TrendReport as a table, Markdown, JSON or CSV. Every string that came from the database (names,
 * models, tags, error kinds, outputs) is untrusted and escaped for the format it lands in.
 */
import { fitMarkdown, GITHUB_COMMENT_LIMIT, MARKDOWN, TABLE, type TextStyle } from './text-style.js';
import { projectionText } from './projection-render.js';
import { renderHtml } from './report-html.js';
import type { Comparison, Figures, RunReport, TrendReport } from '../report/report.js';
import {
  agreementMethodLine,
  agreementTable,
  candidateTable,
  comparisonMethodLine,
  comparisonTable,
  confusionPairsTable,
  confusionTable,
  costByRoleTable,
  errorLines,
  FLIPS_IN_TEXT,
  flipLines,
  labelClassTable,
  labelMethodLine,
  labelSummaryTable,
  latencyTable,
  manyClasses,
  manyClassesLine,
  methodLine,
  runDetails,
  scorerTable,
  sliceTable,
  type Table,
  trendTable,
} from './report-tables.js';

export { escapeMarkdown, formatMs, formatPercent, formatUsd } from './format.js';

export type ReportFormat = 'table' | 'md' | 'json' | 'csv' | 'html';
export type TrendFormat = 'table' | 'md' | 'json' | 'csv';

export function renderReport(report: RunReport, format: ReportFormat): string {
  switch (format) {
    case 'table':
      return renderText(report, TABLE);
    case 'md':
      return renderMarkdown(report);
    case 'json':
      // NaN and Infinity become null.
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report);
    case 'html':
      return renderHtml(report);
    default:
      throw new RangeError(`unknown report format '${format as string}': use table, md, json, csv or html`);
  }
}

export function renderTrend(trend: TrendReport, format: TrendFormat): string {
  switch (format) {
    case 'table':
      return renderTrendText(trend, TABLE);
    case 'md':
      return renderTrendText(trend, MARKDOWN);
    case 'json':
      return `${JSON.stringify(trend, null, 2)}\n`;
    case 'csv':
      return renderTrendCsv(trend);
    default:
      throw new RangeError(`unknown trend format '${format as string}': use table, md, json or csv`);
  }
}

/**
 * The parts of the Markdown report that may be left out to fit a GitHub comment, least important
 * first, with how the note names them.
 */
const CUTTABLE: [part: Cuttable, name: string][] = [
  ['flips', 'the flipped prompts'],
  ['per-class', 'the per-class tables'],
  ['confusions', 'the confusion matrices and confused pairs'],
  ['slices', 'the per-slice table'],
  ['scorers', 'the per-scorer table'],
];
type Cuttable = 'flips' | 'per-class' | 'confusions' | 'slices' | 'scorers';

/** Markdown under GitHub's comment limit (65,536 characters): see CUTTABLE and fitMarkdown. */
function renderMarkdown(r: RunReport): string {
  const names = new Map(CUTTABLE);
  const how = `\`holdout report ${r.run.id} --format html\` (or table, json) shows everything`;
  return fitMarkdown(
    (left) => {
      const note =
        left.length === 0
          ? undefined
          : `Shortened to fit a GitHub comment (${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')} characters): left out ` +
            `${left.map((p) => names.get(p as Cuttable)).join(', ')}; ${how}.`;
      return renderText(r, MARKDOWN, new Set(left as Cuttable[]), note);
    },
    CUTTABLE.map(([part]) => part),
    `> **Cut here to fit a GitHub comment (${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')} characters)**: ${how}.`,
  );
}

function renderText(
  r: RunReport,
  st: TextStyle,
  omit: ReadonlySet<Cuttable> = new Set(),
  shortened?: string,
): string {
  const out: string[] = [];
  const md = st === MARKDOWN;
  const title = md
    ? `holdout run ${r.run.id}: suite ${st.text(r.run.suite)}`
    : `holdout run ${r.run.id} · suite ${st.text(r.run.suite)}`;
  if (md) {
    out.push(...st.heading(2, title), '');
    for (const w of r.warnings) out.push(...st.warning(w), '');
    out.push(runDetails(r, st.text), '', methodLine(r), '');
    if (shortened !== undefined) out.push(`> ${shortened}`, '');
  } else {
    for (const w of r.warnings) out.push(...st.warning(w));
    out.push(`${title} · ${runDetails(r, st.text)}`, methodLine(r), '');
  }
  const section = (t: Table) => {
    if (t.rows.length === 0) return;
    out.push('');
    if (t.title !== undefined) out.push(...st.heading(3, st.text(t.title)), ...(md ? [''] : []));
    out.push(...st.table(t));
  };
  const list = (title: string, items: string[]) => {
    if (items.length === 0) return;
    out.push('', ...st.heading(3, title), ...(md ? [''] : []), ...st.list(items));
  };
  out.push(...st.table(candidateTable(r)));
  section(latencyTable(r));
  if (!omit.has('scorers')) section(scorerTable(r));
  labelSections(r, st, section, out, omit);
  if (r.by !== null && !omit.has('slices')) section(sliceTable(r));
  if (r.baseline !== null) {
    section(comparisonTable(r));
    out.push(...(md ? [''] : []), comparisonMethodLine(r));
    for (const c of omit.has('flips') ? [] : r.comparisons) {
      for (const which of ['regressions', 'fixes'] as const) {
        const n = which === 'regressions' ? c.regressions : c.fixes;
        if (n === 0) continue;
        const what =
          which === 'regressions'
            ? `${c.baseline} passed, ${c.candidate} failed`
            : `${c.baseline} failed, ${c.candidate} passed`;
        const shown = Math.min(n, FLIPS_IN_TEXT);
        list(
          `${st.text(what)}: ${n} ${n === 1 ? 'prompt' : 'prompts'}${shown < n ? ` (first ${shown})` : ''}`,
          flipLines(c, which),
        );
      }
    }
  }
  if (r.costByRole.some((x) => x.role !== 'candidate' && x.calls > 0)) section(costByRoleTable(r));
  if (r.projection) out.push(...projectionText(r.projection, st));
  list('Errors by kind', errorLines(r));
  list('Notes', r.notes);
  return `${out.join('\n')}\n`;
}

/**
 * Label scorers (summary, per class, one confusion matrix per candidate; with more than 12 classes the
 * per-class table by support and the top confused pairs instead of the matrices) and judge agreement.
 */
function labelSections(
  r: RunReport,
  st: TextStyle,
  section: (t: Table) => void,
  out: string[],
  omit: ReadonlySet<Cuttable>,
): void {
  const md = st === MARKDOWN;
  const labels = r.labels ?? [];
  for (const l of labels) {
    section(labelSummaryTable(l));
    if (!omit.has('per-class')) section(labelClassTable(l));
    if (omit.has('confusions')) continue;
    if (manyClasses(l)) {
      section(confusionPairsTable(l));
      out.push(...(md ? [''] : []), st.text(manyClassesLine(l)));
    } else for (const c of l.candidates) section(confusionTable(l, c));
  }
  if (labels.length > 0) out.push(...(md ? [''] : []), labelMethodLine());
  if ((r.agreement ?? []).length > 0) {
    section(agreementTable(r));
    out.push(...(md ? [''] : []), agreementMethodLine(r));
  }
}

function renderTrendText(t: TrendReport, st: TextStyle): string {
  const md = st === MARKDOWN;
  const out: string[] = [];
  const runs = `${t.runs.length} ${t.runs.length === 1 ? 'run' : 'runs'}`;
  if (md) {
    out.push(...st.heading(2, `holdout trend: suite ${st.text(t.suite)}`), '');
    for (const w of t.warnings) out.push(...st.warning(w), '');
    out.push(`${runs}, oldest first. Percentiles are type 7; intervals are 95%.`, '');
  } else {
    for (const w of t.warnings) out.push(...st.warning(w));
    out.push(
      `holdout trend · suite ${st.text(t.suite)} · ${runs}, oldest first`,
      'Percentiles are type 7; intervals are 95%.',
      '',
    );
  }
  out.push(...st.table(trendTable(t)));
  if (t.notes.length > 0) out.push('', ...st.heading(3, 'Notes'), ...(md ? [''] : []), ...st.list(t.notes));
  return `${out.join('\n')}\n`;
}

// --- csv ---------------------------------------------------------------------------------------

/**
 * RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes. Text from the
 * database (names, tags, models) that a spreadsheet would run as a formula (= + - @, tab, CR) gets a
 * leading apostrophe; numbers are written as numbers.
 */
export function csvField(v: string | number | boolean | null): string {
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

type CsvValue = string | number | boolean | null;

/** One CSV row: a candidate over the whole run, or over one slice. */
interface CsvRow {
  candidate: string;
  model: string | null;
  figures: Figures;
  /** The slice, on slice rows only. */
  slice?: { by: string; value: string | null };
  comparison?: Comparison;
}

/**
 * The report's CSV columns, in order. The version 1 columns come first, in their old order, so a
 * reader that goes by position still finds them; everything added in version 2 follows.
 */
const CSV_COLUMNS: [string, (row: CsvRow, r: RunReport) => CsvValue][] = [
  ['run_id', (_, r) => r.run.id],
  ['suite', (_, r) => r.run.suite],
  ['candidate', (x) => x.candidate],
  ['model', (x) => x.model],
  ['simulated', (x, r) => r.simulatedCandidates.includes(x.candidate)],
  ['calls', (x) => x.figures.calls],
  ['ok', (x) => x.figures.ok],
  ['errors', (x) => x.figures.errors],
  ['retried', (x) => x.figures.retried],
  ['scored', (x) => x.figures.scored],
  ['passes', (x) => x.figures.passes],
  ['pass_rate', (x) => x.figures.passRate.p],
  ['pass_rate_lo', (x) => x.figures.passRate.lo],
  ['pass_rate_hi', (x) => x.figures.passRate.hi],
  ['pass_rate_method', (x) => x.figures.passRate.method],
  ['mean_score', (x) => x.figures.meanScore.mean],
  ['mean_score_lo', (x) => x.figures.meanScore.lo],
  ['mean_score_hi', (x) => x.figures.meanScore.hi],
  ['total_cost_usd', (x) => x.figures.totalCostUsd],
  ['cost_per_1k_calls_usd', (x) => x.figures.costPer1kCalls],
  ['input_tokens', (x) => x.figures.tokens.input],
  ['cached_tokens', (x) => x.figures.tokens.cached],
  ['output_tokens', (x) => x.figures.tokens.output],
  ['reasoning_tokens', (x) => x.figures.tokens.reasoning],
  ['latency_p50_ms', (x) => x.figures.latency.p50.value],
  ['latency_p95_ms', (x) => x.figures.latency.p95.value],
  ['ttft_p50_ms', (x) => x.figures.ttft.p50],
  ['output_tokens_per_sec', (x) => x.figures.outputTokensPerSec],
  // version 2
  ['by', (x) => x.slice?.by ?? null],
  ['slice', (x) => x.slice?.value ?? null],
  ['cost_per_pass_usd', (x) => x.figures.costPerPass],
  ['latency_n', (x) => x.figures.latency.n],
  ['latency_p50_lo_ms', (x) => x.figures.latency.p50.lo],
  ['latency_p50_hi_ms', (x) => x.figures.latency.p50.hi],
  ['latency_p95_lo_ms', (x) => x.figures.latency.p95.lo],
  ['latency_p95_hi_ms', (x) => x.figures.latency.p95.hi],
  ['latency_p99_ms', (x) => x.figures.latency.p99.value],
  ['latency_p99_lo_ms', (x) => x.figures.latency.p99.lo],
  ['latency_p99_hi_ms', (x) => x.figures.latency.p99.hi],
  ['ttft_p95_ms', (x) => x.figures.ttft.p95],
  ['baseline', (x) => x.comparison?.baseline ?? null],
  ['pairs', (x) => x.comparison?.passRate.n ?? null],
  ['delta_pass_rate', (x) => x.comparison?.passRate.delta ?? null],
  ['delta_pass_rate_lo', (x) => x.comparison?.passRate.lo ?? null],
  ['delta_pass_rate_hi', (x) => x.comparison?.passRate.hi ?? null],
  ['delta_pass_rate_p', (x) => x.comparison?.passRate.p ?? null],
  ['regressions', (x) => x.comparison?.regressions ?? null],
  ['fixes', (x) => x.comparison?.fixes ?? null],
  ['delta_mean_score', (x) => x.comparison?.meanScore.delta ?? null],
  ['delta_mean_score_lo', (x) => x.comparison?.meanScore.lo ?? null],
  ['delta_mean_score_hi', (x) => x.comparison?.meanScore.hi ?? null],
  ['cost_ratio', (x) => x.comparison?.costRatio?.ratio ?? null],
  ['cost_ratio_lo', (x) => x.comparison?.costRatio?.lo ?? null],
  ['cost_ratio_hi', (x) => x.comparison?.costRatio?.hi ?? null],
  ['delta_latency_p50_ms', (x) => x.comparison?.latencyP50?.delta ?? null],
  ['delta_latency_p50_lo_ms', (x) => x.comparison?.latencyP50?.lo ?? null],
  ['delta_latency_p50_hi_ms', (x) => x.comparison?.latencyP50?.hi ?? null],
];

/**
 * The header, then the rows. CSV has no comment syntax, so nothing goes above the header (a `#` line
 * would be read as the first record): the SIMULATED notice is the `simulated` column of every row.
 */
function csvLines(header: readonly string[], rows: CsvValue[][]): string {
  const lines = [header.join(','), ...rows.map((row) => row.map(csvField).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * One row per candidate over the whole run (`by` and `slice` empty), then, with `by`, one row per
 * slice and candidate (`slice` empty for records without the tag). The comparison columns are
 * filled on the whole-run rows of the candidates other than the baseline.
 */
/** Appended when the run has reviewers' grades (`holdout view`), on the whole-run rows. */
const HUMAN_CSV_COLUMNS: [string, (row: CsvRow, r: RunReport) => CsvValue][] = [
  ['human_graded', (x, r) => (x.slice ? null : (human(r, x)?.graded ?? null))],
  ['human_passes', (x, r) => (x.slice ? null : (human(r, x)?.passes ?? null))],
  ['human_pass_rate', (x, r) => (x.slice ? null : (human(r, x)?.passRate.p ?? null))],
  ['human_pass_rate_lo', (x, r) => (x.slice ? null : (human(r, x)?.passRate.lo ?? null))],
  ['human_pass_rate_hi', (x, r) => (x.slice ? null : (human(r, x)?.passRate.hi ?? null))],
];

function human(r: RunReport, x: CsvRow) {
  const h = r.candidates.find((c) => c.candidate === x.candidate)?.humanGrades;
  return h && h.graded > 0 ? h : undefined;
}

function renderCsv(r: RunReport): string {
  const models = new Map(r.candidates.map((c) => [c.candidate, c.model]));
  const comparisons = new Map(r.comparisons.map((c) => [c.candidate, c]));
  const rows: CsvRow[] = r.candidates.map((c) => ({
    candidate: c.candidate,
    model: c.model,
    figures: c,
    comparison: comparisons.get(c.candidate),
  }));
  for (const s of r.slices) {
    for (const c of s.candidates) {
      rows.push({
        candidate: c.candidate,
        model: models.get(c.candidate) ?? null,
        figures: c,
        slice: { by: r.by ?? '', value: s.value },
      });
    }
  }
  const columns = r.candidates.some((c) => c.humanGrades !== undefined)
    ? [...CSV_COLUMNS, ...HUMAN_CSV_COLUMNS]
    : CSV_COLUMNS;
  return csvLines(
    columns.map(([name]) => name),
    rows.map((row) => columns.map(([, get]) => get(row, r))),
  );
}

const TREND_CSV_COLUMNS = [
  'suite',
  'candidate',
  'run_id',
  'created_at',
  'status',
  'model',
  'simulated',
  'calls',
  'errors',
  'pass_rate',
  'pass_rate_lo',
  'pass_rate_hi',
  'pass_rate_method',
  'mean_score',
  'mean_score_lo',
  'mean_score_hi',
  'cost_per_1k_calls_usd',
  'latency_p50_ms',
  'latency_p95_ms',
  'served_models',
] as const;

/** One row per candidate and run; served_models is "model:calls" joined with ';'. */
function renderTrendCsv(t: TrendReport): string {
  const rows = t.candidates.flatMap((c) =>
    c.points.map((p): CsvValue[] => [
      t.suite,
      c.candidate,
      p.runId,
      p.createdAt,
      p.status,
      p.model,
      p.simulated,
      p.calls,
      p.errors,
      p.passRate.p,
      p.passRate.lo,
      p.passRate.hi,
      p.passRate.method,
      p.meanScore.mean,
      p.meanScore.lo,
      p.meanScore.hi,
      p.costPer1kCalls,
      p.latency.p50,
      p.latency.p95,
      p.servedModels.map((s) => `${s.model}:${s.calls}`).join(';'),
    ]),
  );
  return csvLines(TREND_CSV_COLUMNS, rows);
}
