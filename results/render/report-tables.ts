/**
 * The tables and lines every text-like format shows (terminal, Markdown, HTML), as plain strings.
 * Cells hold raw text: each renderer escapes them for its format; `text` marks the columns of
 * untrusted text, the others are our own figures.
 */
import {
  formatDeltaPp,
  formatInterval,
  formatMean,
  formatMs,
  formatNumber,
  formatP,
  formatPercent,
  formatQuantile,
  formatUsd,
} from './format.js';
import type {
  AgreementFigures,
  AgreementReport,
  Comparison,
  LabelCandidateReport,
  LabelReport,
  MeanScore,
  PassRate,
  RunReport,
  TrendReport,
} from '../report/report.js';

export function formatRate(r: PassRate): string {
  return formatInterval(r.p, r.lo, r.hi);
}

export function formatScore(m: MeanScore): string {
  return formatMean(m.mean, m.lo, m.hi);
}

function signedMs(x: number): string {
  return Number.isFinite(x) ? `${x > 0 ? '+' : ''}${formatMs(x)}` : '?';
}

function formatRatio(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(3) : '?';
}

export function runDetails(r: RunReport, text: (s: string) => string): string {
  const run = r.run;
  const repeats = run.repeats === 1 ? '1 repeat' : `${run.repeats} repeats`;
  const state =
    run.status === 'finished' && run.finishedAt
      ? `finished ${run.finishedAt}`
      : `${run.status}, created ${run.createdAt}`;
  return `${text(state)} · ${run.recordCount} records × ${repeats} · dataset ${text(run.datasetPath)}`;
}

export function methodLine(r: RunReport): string {
  const rate =
    r.method.passRate === 'wilson'
      ? 'pass rate: Wilson over scored calls'
      : 'pass rate: t over per-prompt means of the repeats';
  return (
    `Percentiles are type 7 (linear interpolation), latency intervals from order statistics; ` +
    `intervals are 95% (${rate}; mean score: t, clipped to [0, 1] where scores live).`
  );
}

export function comparisonMethodLine(r: RunReport): string {
  const rate =
    r.run.repeats > 1
      ? 'Δ pass rate: paired t over per-prompt pass rates'
      : 'Δ pass rate: Tango score interval, McNemar exact two-sided p';
  return (
    `Paired per prompt on prompts both answered ok. ${rate}; Δ mean score: paired t, clipped to [−1, 1]; ` +
    'cost ratio: ratio of mean costs, paired bootstrap (BCa); Δ p50: paired bootstrap (percentile); seed ' +
    `${r.method.bootstrap.seed}, up to ${r.method.bootstrap.maxResamples} resamples.`
  );
}

// --- sections shared by table and Markdown ---------------------------------------------------------

/** A table: `text` marks the columns of untrusted text (escaped, left-aligned); the rest are figures. */
export interface Table {
  title?: string;
  header: string[];
  rows: string[][];
  text: Set<number>;
}

export const CANDIDATE_COLUMNS = [
  'candidate',
  'model',
  'n',
  'err',
  'pass rate [95% CI]',
  'mean score [95% CI]',
  'cost',
  '$/1K calls',
  '$/pass',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'tok/s',
];

/** The human-graded column: reviewers' grades from `holdout view`, only when the run has some. */
export const HUMAN_GRADED_COLUMN = 'human-graded: n, pass rate [95% CI]';

function humanGraded(c: RunReport['candidates'][number]): string {
  const h = c.humanGrades;
  if (!h || h.graded === 0) return '-';
  return `${h.graded}: ${formatInterval(h.passRate.p, h.passRate.lo, h.passRate.hi)}`;
}

export function candidateTable(r: RunReport): Table {
  const graded = r.candidates.some((c) => c.humanGrades !== undefined);
  return {
    header: graded ? [...CANDIDATE_COLUMNS, HUMAN_GRADED_COLUMN] : CANDIDATE_COLUMNS,
    text: new Set([0, 1]),
    rows: r.candidates.map((c) => [
      c.candidate,
      c.model,
      String(c.calls),
      String(c.errors),
      formatRate(c.passRate),
      formatScore(c.meanScore),
      formatUsd(c.totalCostUsd),
      formatUsd(c.costPer1kCalls),
      formatUsd(c.costPerPass),
      formatMs(c.latency.p50.value),
      formatMs(c.latency.p95.value),
      formatMs(c.latency.p99.value),
      formatNumber(c.outputTokensPerSec, 1),
      ...(graded ? [humanGraded(c)] : []),
    ]),
  };
}

export function latencyTable(r: RunReport): Table {
  return {
    title: 'Latency (ms, ok calls; 95% order-statistic intervals)',
    header: ['candidate', 'ok', 'p50 [95% CI]', 'p95 [95% CI]', 'p99 [95% CI]', 'TTFT p50', 'TTFT p95'],
    text: new Set([0]),
    rows: r.candidates.map((c) => [
      c.candidate,
      String(c.latency.n),
      formatQuantile(c.latency.p50),
      formatQuantile(c.latency.p95),
      formatQuantile(c.latency.p99),
      formatMs(c.ttft.p50),
      formatMs(c.ttft.p95),
    ]),
  };
}

export function scorerTable(r: RunReport): Table {
  return {
    title: 'Scorers',
    header: ['candidate', 'scorer', 'scored', 'unscored', 'passes', 'pass rate [95% CI]', 'mean'],
    text: new Set([0, 1]),
    rows: r.candidates.flatMap((c) =>
      c.scorers.map((s) => [
        c.candidate,
        s.scorer,
        String(s.scored),
        String(s.unscored),
        String(s.passes),
        formatRate(s.passRate),
        formatNumber(s.meanValue, 3),
      ]),
    ),
  };
}

export function sliceLabel(value: string | null): string {
  return value ?? '(no tag)';
}

export function sliceTable(r: RunReport): Table {
  return {
    title: `By ${r.by}`,
    header: [
      r.by ?? 'slice',
      'records',
      'candidate',
      'n',
      'err',
      'pass rate [95% CI]',
      'mean score [95% CI]',
      '$/1K calls',
      '$/pass',
      'p50 ms',
      'p95 ms',
    ],
    text: new Set([0, 2]),
    rows: r.slices.flatMap((s) =>
      s.candidates.map((c) => [
        sliceLabel(s.value),
        String(s.records),
        c.candidate,
        String(c.calls),
        String(c.errors),
        formatRate(c.passRate),
        formatScore(c.meanScore),
        formatUsd(c.costPer1kCalls),
        formatUsd(c.costPerPass),
        formatMs(c.latency.p50.value),
        formatMs(c.latency.p95.value),
      ]),
    ),
  };
}

export function comparisonCells(c: Comparison): string[] {
  const cost = c.costRatio;
  const lat = c.latencyP50;
  return [
    c.candidate,
    String(c.passRate.n),
    formatDeltaPp(c.passRate.delta, c.passRate.lo, c.passRate.hi),
    formatP(c.passRate.p),
    String(c.regressions),
    String(c.fixes),
    formatMean(c.meanScore.delta, c.meanScore.lo, c.meanScore.hi, true),
    cost === null ? '-' : `${formatRatio(cost.ratio)} [${formatRatio(cost.lo)}, ${formatRatio(cost.hi)}]`,
    lat === null ? '-' : `${signedMs(lat.delta)} [${signedMs(lat.lo)}, ${signedMs(lat.hi)}]`,
  ];
}

export const COMPARISON_COLUMNS = [
  'candidate',
  'pairs',
  'Δ pass rate [95% CI]',
  'p',
  'regressions',
  'fixes',
  'Δ mean score [95% CI]',
  'cost ratio [95% CI]',
  'Δ p50 ms [95% CI]',
];

export function comparisonTable(r: RunReport): Table {
  return {
    title: `Against baseline ${r.baseline} (B − A, paired per prompt)`,
    header: COMPARISON_COLUMNS,
    text: new Set([0]),
    rows: r.comparisons.map(comparisonCells),
  };
}

export function costByRoleTable(r: RunReport): Table {
  return {
    title: 'Cost by role (judges and routers are kept apart from candidate figures)',
    header: ['role', 'calls', 'cost', 'input tokens', 'output tokens'],
    text: new Set([0]),
    rows: r.costByRole
      .filter((x) => x.calls > 0 || x.role === 'candidate')
      .map((x) => [
        x.role,
        String(x.calls),
        formatUsd(x.costUsd),
        String(x.tokens.input),
        String(x.tokens.output),
      ]),
  };
}

export function errorLines(r: RunReport): string[] {
  return r.candidates
    .filter((c) => c.errors > 0)
    .map((c) => {
      const kinds = Object.entries(c.errorsByKind).map(([kind, n]) => `${kind} ${n}`);
      return `${c.candidate}: ${kinds.join(', ')}`;
    });
}

export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Flips shown in the terminal and in Markdown: the first few; HTML and JSON carry 50. */
export const FLIPS_IN_TEXT = 10;

export function flipLines(c: Comparison, which: 'regressions' | 'fixes'): string[] {
  const list = c.flips[which];
  return list.slice(0, FLIPS_IN_TEXT).map((f) => {
    const tags = formatTags(f.tags);
    return tags ? `${f.recordId} (${tags})` : f.recordId;
  });
}

export function trendTable(t: TrendReport): Table {
  return {
    header: [
      'candidate',
      'run',
      'created',
      'status',
      'model',
      'n',
      'err',
      'pass rate [95% CI]',
      'mean score [95% CI]',
      '$/1K calls',
      'p50 ms',
      'p95 ms',
      'served',
    ],
    text: new Set([0, 2, 3, 4, 12]),
    rows: t.candidates.flatMap((c) =>
      c.points.map((p) => [
        c.candidate,
        String(p.runId),
        p.createdAt,
        p.status,
        p.model,
        String(p.calls),
        String(p.errors),
        formatRate(p.passRate),
        formatScore(p.meanScore),
        formatUsd(p.costPer1kCalls),
        formatMs(p.latency.p50),
        formatMs(p.latency.p95),
        p.servedModels.map((s) => s.model).join(', '),
      ]),
    ),
  };
}

// --- label scorers and judge agreement -------------------------------------------------------------

/** A ratio in [0, 1] (or kappa in [−1, 1]) to three decimals; "—" where it is undefined. */
export function formatMetric(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '—';
}

/** A ratio with its interval, three decimals: "0.400 [0.151, 0.649]"; "—" where undefined. */
export function formatMetricInterval(x: number, lo: number, hi: number): string {
  if (!Number.isFinite(x)) return '—';
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return formatMetric(x);
  return `${formatMetric(x)} [${formatMetric(lo)}, ${formatMetric(hi)}]`;
}

/** The column of calls whose output named no class. */
export const NO_CLASS = '(no class)';

export function labelSummaryTable(l: LabelReport): Table {
  return {
    title: `Label scorer ${l.scorer}: ${l.classes.length} ${l.classes.length === 1 ? 'class' : 'classes'}`,
    header: [
      'candidate',
      'n',
      'accuracy [95% CI]',
      'macro-F1',
      'micro-F1',
      'macro precision',
      'macro recall',
      NO_CLASS,
    ],
    text: new Set([0]),
    rows: l.candidates.map((c) => [
      c.candidate,
      String(c.n),
      formatInterval(c.accuracy.p, c.accuracy.lo, c.accuracy.hi),
      formatMetric(c.macro.f1),
      formatMetric(c.micro.f1),
      formatMetric(c.macro.precision),
      formatMetric(c.macro.recall),
      String(c.unclassified),
    ]),
  };
}

/**
 * Above this many classes a confusion matrix is too wide to read: text, Markdown and HTML show the
 * per-class table sorted by support and the top confused pairs instead (JSON keeps the whole matrix).
 */
export const MANY_CLASSES = 12;
/** Confused pairs listed per candidate when the matrix is not drawn. */
export const TOP_CONFUSIONS = 10;

export const manyClasses = (l: LabelReport) => l.classes.length > MANY_CLASSES;

/** Per class, in the declared order; with many classes, by support (largest first), then F1, then name. */
export function labelClassTable(l: LabelReport): Table {
  const many = manyClasses(l);
  const order = (c: LabelCandidateReport) =>
    many
      ? [...c.perClass].sort(
          (a, b) =>
            b.support - a.support ||
            (Number.isFinite(b.f1) ? b.f1 : -1) - (Number.isFinite(a.f1) ? a.f1 : -1) ||
            (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
        )
      : c.perClass;
  return {
    title: many ? `${l.scorer}: per class, largest support first` : `${l.scorer}: per class`,
    header: ['candidate', 'class', 'support', 'predicted', 'precision', 'recall', 'F1'],
    text: new Set([0, 1]),
    rows: l.candidates.flatMap((c) =>
      order(c).map((k) => [
        c.candidate,
        k.label,
        String(k.support),
        String(k.predicted),
        formatMetric(k.precision),
        formatMetric(k.recall),
        formatMetric(k.f1),
      ]),
    ),
  };
}

/** One off-diagonal cell of a confusion matrix: calls that expected one class and predicted another. */
export interface Confusion {
  expected: string;
  /** The class predicted, or NO_CLASS. */
  predicted: string;
  count: number;
  /** count / the calls that expected `expected`. */
  share: number;
}

/** The `k` largest confusions of a candidate (ties: larger share, then names); none when all are right. */
export function topConfusions(l: LabelReport, c: LabelCandidateReport, k = TOP_CONFUSIONS): Confusion[] {
  const out: Confusion[] = [];
  c.matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((n, j) => {
      if (j === i || n === 0) return;
      const predicted = j < l.classes.length ? l.classes[j]! : NO_CLASS;
      out.push({ expected: l.classes[i]!, predicted, count: n, share: n / total });
    });
  });
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  out.sort(
    (a, b) =>
      b.count - a.count || b.share - a.share || cmp(a.expected, b.expected) || cmp(a.predicted, b.predicted),
  );
  return out.slice(0, k);
}

/** The top confused pairs of every candidate: what replaces the matrix when there are many classes. */
export function confusionPairsTable(l: LabelReport): Table {
  return {
    title: `${l.scorer}: top ${TOP_CONFUSIONS} confused pairs per candidate (true → predicted)`,
    header: ['candidate', 'true class', 'predicted', 'count', 'share of true class'],
    text: new Set([0, 1, 2]),
    rows: l.candidates.flatMap((c) =>
      topConfusions(l, c).map((x) => [
        c.candidate,
        x.expected,
        x.predicted,
        String(x.count),
        formatPercent(x.share),
      ]),
    ),
  };
}

/** Why the matrix is not drawn, and where the whole of it is. */
export function manyClassesLine(l: LabelReport): string {
  return (
    `${l.scorer} has ${l.classes.length} classes (more than ${MANY_CLASSES}): its confusion matrices are not ` +
    'drawn; the top confused pairs stand in for them, and --format json has every matrix in full.'
  );
}

/** One candidate's confusion matrix: a row per expected class, a column per predicted class. */
export function confusionTable(l: LabelReport, c: LabelCandidateReport): Table {
  return {
    title: `${l.scorer} · ${c.candidate}: confusion matrix (rows expected, columns predicted)`,
    header: ['expected \\ predicted', ...l.classes, NO_CLASS],
    text: new Set([0]),
    rows: c.matrix.map((row, i) => [l.classes[i]!, ...row.map(String)]),
  };
}

export function labelMethodLine(): string {
  return (
    'Per class: precision = TP / predicted, recall = TP / support, F1 = 2·TP / (support + predicted); — marks ' +
    'an undefined value (nothing predicted as the class, or no call expecting it), which macro averages ' +
    `leave out (scikit-learn's zero_division=nan). ${NO_CLASS}: the output named no class, counted as wrong. ` +
    'Accuracy: Wilson interval over calls.'
  );
}

export function agreementTable(r: RunReport): Table {
  const cells = (a: AgreementReport, who: string, f: AgreementFigures) => [
    a.scorer,
    a.mode === 'label' ? 'label' : `pass/fail (grade ≥ ${a.gradeThreshold})`,
    who,
    String(f.n),
    formatInterval(f.accuracy.p, f.accuracy.lo, f.accuracy.hi),
    formatMetricInterval(f.kappa.kappa, f.kappa.lo, f.kappa.hi),
    formatMetric(f.kappa.se),
  ];
  return {
    title: 'Judge agreement with human grades',
    header: ['scorer', 'compared', 'candidate', 'n', 'agreement [95% CI]', 'kappa [95% CI]', 'kappa SE'],
    text: new Set([0, 1, 2]),
    rows: (r.agreement ?? []).flatMap((a) => [
      ...a.candidates.map((c) => cells(a, c.candidate, c)),
      ...(a.candidates.length > 1 ? [cells(a, 'all candidates', a.pooled)] : []),
    ]),
  };
}

export function agreementMethodLine(r?: RunReport): string {
  const reviewed = (r?.agreement ?? []).some((a) => (a.reviewed ?? 0) > 0);
  const against = reviewed
    ? "the human grade of the same calls: a reviewer's grade from holdout view (the newest per output) where " +
      'there is one, else reference.grade'
    : 'reference.grade on the same calls';
  return (
    `The judge's verdict against ${against}. Agreement: Wilson interval; kappa: ` +
    "Cohen's, with the large-sample standard error of Fleiss, Cohen and Everitt (1969) and a normal 95% " +
    "interval. A number grade passes at ≥ the threshold shown (the scorer's threshold when its spec sets one, else 0.5)."
  );
}
