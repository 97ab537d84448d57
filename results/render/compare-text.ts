/**
 * Renders a Comparison as a terminal table, GitHub Markdown (a PR comment: the verdict line first),
 * JSON or JUnit XML. Names, models, tag values and outputs come from the database or the API and are
 * untrusted: each is escaped for the format it lands in.
 */
import {
  fitMarkdown,
  GITHUB_COMMENT_LIMIT,
  MARKDOWN,
  markdownFigure,
  markdownTable,
  TABLE,
} from './text-style.js';
import {
  type BinaryMetric,
  type Comparison,
  type ContinuousMetric,
  type Flip,
  formatDelta,
  formatP,
  headline,
  pIs,
  type ResourceMetric,
  sequentialLines,
  type SliceComparison,
} from '../compare/compare.js';
import { cell, escapeMarkdown, fixedWidth, formatMs, formatUsd, terminalSafe } from './format.js';
import { projectionText } from './projection-render.js';
import type { Table } from './report-tables.js';

export const COMPARE_FORMATS = ['table', 'md', 'json', 'junit'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

/** Flips listed in table and md output; JSON has all of them. */
export const FLIPS_SHOWN = 20;

export function renderComparison(r: Comparison, format: CompareFormat): string {
  switch (format) {
    case 'table':
      return renderTable(r);
    case 'md':
      return fitComment(r);
    case 'json':
      return `${JSON.stringify(r, null, 2)}\n`;
    case 'junit':
      return renderJunit(r);
    default:
      throw new RangeError(`unknown compare format '${format as string}': use table, md, json or junit`);
  }
}

// --- shared figures ----------------------------------------------------------------------------

const rate = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');
const fixed = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const minus = (s: string) => s.replace(/^-/, '−');

function signed(x: number, d: number): string {
  if (!Number.isFinite(x)) return '?';
  const s = Math.abs(x).toFixed(d);
  return x < 0 && Number(s) !== 0 ? `−${s}` : x > 0 && Number(s) !== 0 ? `+${s}` : s;
}

function scoreDelta(m: ContinuousMetric): string {
  const e = m.estimate;
  return `${signed(e.delta, 3)} [${minus(fixed(e.lo, 3))}, ${minus(fixed(e.hi, 3))}]`;
}

function testName(m: BinaryMetric | ContinuousMetric): string {
  if (m.kind === 'binary' && m.test === 'mcnemar') return 'McNemar';
  return m.test === 'clustered-t' ? 'clustered t' : 'paired t';
}

function resourceValue(m: ResourceMetric, x: number): string {
  return m.name === 'cost' ? formatUsd(x) : `${formatMs(x)} ms`;
}

/** "B costs 1.80× A [1.70, 1.90]" / "B takes 0.95× A's latency [0.90, 1.01]". */
function ratioLine(m: ResourceMetric, A: string, B: string): string {
  const r = m.ratio;
  const ci = `[${fixed(r.lo, 2)}, ${fixed(r.hi, 2)}]`;
  const how =
    r.method === 'bootstrap'
      ? `paired bootstrap ${r.bca && Number.isFinite(r.bca.lo) ? 'BCa' : 'percentile'}, ` +
        `${r.resamples?.toLocaleString('en-US')} resamples, seed ${r.seed}`
      : 'normal approximation (delta method)';
  const d = m.diff;
  const diff =
    m.name === 'cost'
      ? `${minus(formatUsd(d.estimate))} [${minus(formatUsd(d.lo))}, ${minus(formatUsd(d.hi))}]`
      : `${signed(d.estimate, 1)} ms [${minus(fixed(d.lo, 1))}, ${minus(fixed(d.hi, 1))}]`;
  const verb = m.name === 'cost' ? 'costs' : 'takes';
  const what = m.name === 'cost' ? `${A} per call` : `${A}'s latency per call`;
  return (
    `${B} ${verb} ${fixed(r.estimate, 2)}× ${what} ${ci} (${how}); ` +
    `mean ${resourceValue(m, m.meanA)} → ${resourceValue(m, m.meanB)}, Δ ${diff}; ` +
    `Wilcoxon ${pIs(m.wilcoxon.pTwoSided)}; informational, not gated`
  );
}

interface MetricRow {
  metric: string;
  test: string;
  n: string;
  a: string;
  b: string;
  delta: string;
  pWorse: string;
  pNI: string;
  verdict: string;
}

function metricRows(r: Comparison): MetricRow[] {
  const rows: MetricRow[] = [];
  const binary = (name: string, m: BinaryMetric, verdict: string, pWorse = formatP(m.pWorse)) =>
    rows.push({
      metric: name,
      test: testName(m),
      n: String(m.n),
      a: rate(m.rateA),
      b: rate(m.rateB),
      delta: formatDelta(m.estimate),
      pWorse,
      pNI: formatP(m.nonInferiority.p),
      verdict,
    });
  const continuous = (name: string, m: ContinuousMetric) =>
    rows.push({
      metric: name,
      test: testName(m),
      n: String(m.n),
      a: fixed(m.meanA, 3),
      b: fixed(m.meanB, 3),
      delta: scoreDelta(m),
      pWorse: formatP(m.pWorse),
      pNI: formatP(m.nonInferiority.p),
      verdict: `${m.verdict} (not gated)`,
    });
  binary('pass', r.metrics.pass, r.metrics.pass.verdict);
  for (const s of r.metrics.scorers) {
    binary(
      `scorer ${s.scorer}: pass`,
      s.pass,
      `${s.verdict}${s.flagged ? ' (flagged)' : ''}`,
      `${formatP(s.pass.pWorse)} (Holm ${formatP(s.pHolm)})`,
    );
    if (s.value) continuous(`scorer ${s.scorer}: value`, s.value);
  }
  if (r.metrics.score) continuous('score', r.metrics.score);
  for (const m of [r.metrics.cost, r.metrics.latency]) {
    if (!m) continue;
    rows.push({
      metric: `${m.name}/call`,
      test: m.ratio.method === 'bootstrap' ? 'bootstrap' : 'normal',
      n: String(m.n),
      a: resourceValue(m, m.meanA),
      b: resourceValue(m, m.meanB),
      delta: `B/A ${fixed(m.ratio.estimate, 2)}× [${fixed(m.ratio.lo, 2)}, ${fixed(m.ratio.hi, 2)}]`,
      pWorse: '-',
      pNI: '-',
      verdict: 'informational',
    });
  }
  return rows;
}

const METRIC_HEADER = ['metric', 'test', 'n', 'A', 'B', 'Δ B − A [CI]', 'p worse', 'p NI', 'verdict'];

function metricCells(m: MetricRow): string[] {
  return [m.metric, m.test, m.n, m.a, m.b, m.delta, m.pWorse, m.pNI, m.verdict];
}

/** The metric table as plain cells (escaped by whoever renders it): what `holdout view` shows. */
export function compareMetricTable(r: Comparison): Table {
  return { header: METRIC_HEADER, rows: metricRows(r).map(metricCells), text: new Set([0, 1, 8]) };
}

/** The lines under the table of the terminal format, as plain text: sides, pairing, ratios, power. */
export function compareDetailLines(r: Comparison): string[] {
  const ratios = [r.metrics.cost, r.metrics.latency]
    .filter((m): m is ResourceMetric => m !== null)
    .map((m) => ratioLine(m, r.baseline.label, r.candidate.label));
  return [
    settingsLine(r),
    sideLine(r, 'baseline'),
    sideLine(r, 'candidate'),
    pairingLine(r),
    ...ratios,
    powerLine(r),
    methodLine(r),
  ];
}

const SLICE_HEADER = [
  'slice',
  'n',
  'A',
  'B',
  'Δ B − A [CI]',
  'b',
  'c',
  'p worse',
  'p Holm',
  'p BH',
  'verdict',
];

function sliceCells(s: SliceComparison): string[] {
  const m = s.pass;
  return [
    s.value,
    String(s.n),
    rate(m.rateA),
    rate(m.rateB),
    formatDelta(m.estimate),
    String(m.b),
    String(m.c),
    formatP(m.pWorse),
    s.pHolm === null ? '-' : formatP(s.pHolm),
    s.pBH === null ? '-' : formatP(s.pBH),
    `${s.verdict === 'DESCRIPTIVE' ? 'descriptive' : s.verdict}${s.flagged ? ' (flagged)' : ''}`,
  ];
}

function sideLine(r: Comparison, which: 'baseline' | 'candidate'): string {
  const s = r[which];
  const served = s.servedModels.map((m) => m.model).join(', ') || 'none reported';
  return (
    `${which} ${s.label}: run ${s.runId} (suite ${s.suite}), model ${s.model}, served ${served}; ` +
    `${s.calls} ${s.calls === 1 ? 'call' : 'calls'}, ${s.errors} ${s.errors === 1 ? 'error' : 'errors'}`
  );
}

function pairingLine(r: Comparison): string {
  const p = r.pairing;
  const d = p.dropped;
  const units = p.unit === 'prompt' ? `; ${p.prompts} prompts, up to ${p.repeats} repeats each` : '';
  return (
    `Paired ${p.paired} of ${p.items} work items${units}; dropped ${d.total} ` +
    `(error on A ${d.errorA}, error on B ${d.errorB}, missing on A ${d.missingA}, missing on B ${d.missingB}); ` +
    `${p.unscored.pairs} pairs unscored on a side (left out of pass: A ${p.unscored.a}, B ${p.unscored.b}).`
  );
}

function settingsLine(r: Comparison): string {
  const s = r.settings;
  const parts = [
    `α = ${s.alpha} one-sided`,
    `margin ${(s.margin * 100).toFixed(1)} points`,
    `${Math.round(s.confidence * 1000) / 10}% intervals`,
    `bootstrap seed ${s.seed}`,
  ];
  if (s.cluster !== undefined) parts.push(`clustered by ${s.cluster} (CR1)`);
  return parts.join(' · ');
}

function powerLine(r: Comparison): string {
  const p = r.power;
  const alphaTwo = Math.min(0.999, 2 * r.settings.alpha);
  const mde =
    p.mde !== null
      ? `${(p.mde * 100).toFixed(1)} points`
      : p.psi === 0
        ? 'undefined (no discordant pairs)'
        : 'out of reach at this n (more than every discordant pair in one direction)';
  const basis =
    p.method === 'connor'
      ? `ψ = ${fixed(p.psi ?? Number.NaN, 3)} discordant share, n = ${r.metrics.pass.n}`
      : 'from the observed SE of the paired t';
  const how =
    p.powerMethod === 'exact'
      ? `; exact, as only ${p.expectedDiscordant} discordant pairs are expected`
      : p.powerMethod === 'normal-approximation'
        ? '; normal approximation'
        : '';
  const power =
    p.powerAtMargin === null ? '-' : `${Math.round(p.powerAtMargin * 100)}% (if the true Δ is 0${how})`;
  return (
    `Power: minimum detectable effect ${mde} (two-sided α = ${alphaTwo}, power 0.8; ${basis}); ` +
    `power to show non-inferiority at ${(r.settings.margin * 100).toFixed(1)} points: ${power}.`
  );
}

function methodLine(r: Comparison): string {
  const pass = r.metrics.pass;
  const passTest =
    pass.test === 'mcnemar'
      ? 'pass: exact McNemar (one-sided P(X ≥ b)), Tango score interval, Tango z non-inferiority'
      : `pass: ${pass.test === 'clustered-t' ? 'clustered (CR1) ' : ''}paired t over ` +
        `${pass.unit === 'prompt' ? 'per-prompt pass shares' : 'per-pair differences'}, t non-inferiority`;
  return (
    `Method: ${passTest}; score: paired t, bootstrap and Wilcoxon as robustness checks; cost and latency: ` +
    'ratio of means by paired bootstrap. Gate: FAIL if pass is significantly worse at α, or any scorer or ' +
    `slice (n ≥ 30) is after Holm over ${r.gate.length} tests; PASS if non-inferiority is shown; else INCONCLUSIVE.`
  );
}

function flipLabel(f: Flip, unit: 'call' | 'prompt'): string {
  return unit === 'prompt'
    ? ` (pass share ${rate(f.passA)} → ${rate(f.passB)}, repeat ${f.repeat} shown)`
    : f.repeat > 0
      ? ` (repeat ${f.repeat})`
      : '';
}

function tagsText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Warnings that must be read first (SIMULATED, SNAPSHOT DRIFT) and the others. */
function splitWarnings(r: Comparison): { top: string[]; rest: string[] } {
  const isTop = (w: string) => w.startsWith('SIMULATED') || w.startsWith('SNAPSHOT DRIFT');
  return { top: r.warnings.filter(isTop), rest: r.warnings.filter((w) => !isTop(w)) };
}

// --- table -------------------------------------------------------------------------------------

function flipLinesText(title: string, flips: Flip[], count: number, unit: 'call' | 'prompt'): string[] {
  if (count === 0) return [];
  const shown = flips.slice(0, FLIPS_SHOWN);
  const more = count > shown.length ? ` (first ${shown.length}; all in --format json)` : '';
  const out = ['', `${title}: ${count}${more}`];
  for (const f of shown) {
    const tags = tagsText(f.tags);
    out.push(`  ${terminalSafe(f.recordId)}${tags ? ` [${terminalSafe(tags)}]` : ''}${flipLabel(f, unit)}`);
    out.push(`      A: ${terminalSafe(f.outputA)}`);
    out.push(`      B: ${terminalSafe(f.outputB)}`);
  }
  return out;
}

function renderTable(r: Comparison): string {
  const { top, rest } = splitWarnings(r);
  const out = [...top.map(terminalSafe)];
  out.push(terminalSafe(r.summary), '');
  if (r.sequential) out.push(...sequentialLines(r.sequential).slice(1).map(terminalSafe), '');
  out.push(
    `holdout compare · ${terminalSafe(r.baseline.label)} → ${terminalSafe(r.candidate.label)} · ${settingsLine(r)}`,
  );
  out.push(terminalSafe(sideLine(r, 'baseline')), terminalSafe(sideLine(r, 'candidate')), pairingLine(r), '');
  const left = new Set([0, 1, 8]);
  out.push(
    ...fixedWidth(
      METRIC_HEADER,
      metricRows(r)
        .map(metricCells)
        .map((c) => c.map(cell)),
      left,
    ),
  );
  for (const m of [r.metrics.cost, r.metrics.latency]) {
    if (m) out.push(`  ${terminalSafe(ratioLine(m, r.baseline.label, r.candidate.label))}`);
  }
  if (r.slices) {
    out.push(
      '',
      `Slices by ${terminalSafe(r.slices.by)} (Holm-adjusted p gates, BH flags; n < 30 descriptive)`,
    );
    const rows = r.slices.slices.map((s) => sliceCells(s).map(cell));
    out.push(...fixedWidth(SLICE_HEADER, rows, new Set([0, 10])));
  }
  out.push('', powerLine(r));
  if (rest.length > 0) out.push('', 'Warnings', ...rest.map((w) => `  - ${terminalSafe(w)}`));
  const f = r.flips;
  out.push(
    ...flipLinesText('Regressions (pass → fail)', f.regressions, f.counts.regressions, r.pairing.unit),
  );
  out.push(...flipLinesText('Fixes (fail → pass)', f.fixes, f.counts.fixes, r.pairing.unit));
  if (r.projection) out.push(...projectionText(r.projection, TABLE));
  if (r.notes.length > 0) out.push('', 'Notes', ...r.notes.map((n) => `  - ${terminalSafe(n)}`));
  out.push('', methodLine(r));
  return `${out.join('\n')}\n`;
}

// --- markdown ----------------------------------------------------------------------------------

function mdFlips(title: string, flips: Flip[], count: number, unit: 'call' | 'prompt'): string[] {
  if (count === 0) return [];
  const shown = flips.slice(0, FLIPS_SHOWN);
  const more = count > shown.length ? `, first ${shown.length} shown` : '';
  const rows = shown.map((f) => [
    `${f.recordId}${flipLabel(f, unit)}`,
    tagsText(f.tags),
    f.outputA,
    f.outputB,
  ]);
  return [
    '',
    '<details>',
    `<summary>${title}: ${count}${more}</summary>`,
    '',
    ...markdownTable(['record', 'tags', 'A output', 'B output'], rows, new Set([0, 1, 2, 3]), markdownFigure),
    '',
    '</details>',
  ];
}

/** What may be left out of the PR comment to fit GitHub's limit, least important first. */
const CUTTABLE = [
  ['flips', 'the flipped prompts'],
  ['slices', 'the per-slice table'],
  ['notes', 'the notes'],
] as const;
type Cuttable = (typeof CUTTABLE)[number][0];

/** The Markdown under GitHub's comment limit (65,536 characters): the verdict line always stays first. */
function fitComment(r: Comparison): string {
  const names = new Map<string, string>(CUTTABLE);
  const how = 'the same command with `--format table` (or `--format json`) shows everything';
  const limit = GITHUB_COMMENT_LIMIT.toLocaleString('en-US');
  return fitMarkdown(
    (left) =>
      renderMarkdown(
        r,
        new Set(left as Cuttable[]),
        left.length === 0
          ? undefined
          : `Shortened to fit a GitHub comment (${limit} characters): left out ${left.map((p) => names.get(p)).join(', ')}; ${how}.`,
      ),
    CUTTABLE.map(([part]) => part),
    `> **Cut here to fit a GitHub comment (${limit} characters)**: ${how}.`,
  );
}

function renderMarkdown(r: Comparison, omit: ReadonlySet<Cuttable> = new Set(), shortened?: string): string {
  const { top, rest } = splitWarnings(r);
  const out = r.sequential
    ? [
        `**${escapeMarkdown(r.summary)}**`,
        '',
        ...sequentialLines(r.sequential)
          .slice(1)
          .map((l) => `> ${escapeMarkdown(l.trim())}`),
        '',
      ]
    : [headline(r, escapeMarkdown, (s) => `**${s}**`), ''];
  for (const w of top) out.push(`> **${escapeMarkdown(w)}**`, '');
  if (shortened !== undefined) out.push(`> ${shortened}`, '');
  out.push(
    `holdout compare: ${escapeMarkdown(r.baseline.label)} → ${escapeMarkdown(r.candidate.label)} · ` +
      markdownFigure(settingsLine(r)),
    '',
    `- ${escapeMarkdown(sideLine(r, 'baseline'))}`,
    `- ${escapeMarkdown(sideLine(r, 'candidate'))}`,
    `- ${markdownFigure(pairingLine(r))}`,
    '',
  );
  out.push(...markdownTable(METRIC_HEADER, metricRows(r).map(metricCells), new Set([0]), markdownFigure));
  for (const m of [r.metrics.cost, r.metrics.latency]) {
    if (m) out.push('', `- ${escapeMarkdown(ratioLine(m, r.baseline.label, r.candidate.label))}`);
  }
  if (r.slices && !omit.has('slices')) {
    out.push(
      '',
      `### Slices by ${escapeMarkdown(r.slices.by)}`,
      '',
      'Holm-adjusted p gates; flagged: Benjamini–Hochberg-adjusted p < α without a FAIL; slices under 30 are ' +
        'descriptive only.',
      '',
      ...markdownTable(
        SLICE_HEADER,
        r.slices.slices.map((s) => sliceCells(s)),
        new Set([0]),
        markdownFigure,
      ),
    );
  }
  out.push('', markdownFigure(powerLine(r)));
  if (rest.length > 0) out.push('', '### Warnings', '', ...rest.map((w) => `- ${escapeMarkdown(w)}`));
  const f = r.flips;
  if (!omit.has('flips')) {
    out.push(...mdFlips('Regressions (pass → fail)', f.regressions, f.counts.regressions, r.pairing.unit));
    out.push(...mdFlips('Fixes (fail → pass)', f.fixes, f.counts.fixes, r.pairing.unit));
  }
  if (r.projection) out.push(...projectionText(r.projection, MARKDOWN));
  if (r.notes.length > 0 && !omit.has('notes'))
    out.push('', '### Notes', '', ...r.notes.map((n) => `- ${escapeMarkdown(n)}`));
  out.push('', `<sub>${escapeMarkdown(methodLine(r))}</sub>`);
  return `${out.join('\n')}\n`;
}

// --- junit -------------------------------------------------------------------------------------

/**
 * Escapes text for XML 1.0 content and attribute values: the five markup characters, and every
 * character XML 1.0 forbids (C0 controls but tab and line breaks, lone surrogates, U+FFFE/U+FFFF)
 * replaced by U+FFFD, so an output holding anything still yields a well-formed document.
 */
export function escapeXml(s: string): string {
  return s
    .replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      '\ufffd',
    )
    .replace(/[&<>"']/g, (ch) => XML_ENTITIES[ch]!);
}

const XML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function flipText(flips: Flip[], count: number, title: string): string[] {
  if (count === 0) return [];
  const shown = flips.slice(0, FLIPS_SHOWN);
  return [
    `${title}: ${count}${count > shown.length ? ` (first ${shown.length})` : ''}`,
    ...shown.map((f) => `  ${f.recordId}  A: ${f.outputA}  |  B: ${f.outputB}`),
  ];
}

function renderJunit(r: Comparison): string {
  const cases = r.gate.map((g) => {
    const metric =
      g.kind === 'pass'
        ? r.metrics.pass
        : g.kind === 'scorer'
          ? r.metrics.scorers.find((s) => `scorer ${s.scorer}` === g.id)?.pass
          : r.slices?.slices.find((s) => `${r.slices!.by}=${s.value}` === g.id)?.pass;
    const figures = metric
      ? `${formatDelta(metric.estimate)}; one-sided p worse = ${formatP(g.p)}` +
        `${g.kind === 'pass' ? '' : `, Holm ${formatP(g.pHolm)}, BH ${formatP(g.pBH)}`}; ` +
        `non-inferiority p = ${formatP(metric.nonInferiority.p)}; n = ${metric.n}, b = ${metric.b}, c = ${metric.c}`
      : '';
    const name = g.kind === 'pass' ? 'pass rate' : g.kind === 'scorer' ? g.id : `slice ${g.id}`;
    const open = `  <testcase classname="holdout.compare" name="${escapeXml(name)}">`;
    if (g.verdict === 'FAIL') {
      const detail =
        g.kind === 'pass'
          ? [r.summary, ...flipText(r.flips.regressions, r.flips.counts.regressions, 'Regressions')]
          : [];
      return [
        open,
        `    <failure message="${escapeXml(`FAIL: ${figures}`)}" type="regression">${escapeXml(
          [figures, ...detail].join('\n'),
        )}</failure>`,
        '  </testcase>',
      ].join('\n');
    }
    if (g.verdict === 'INCONCLUSIVE') {
      return [
        open,
        `    <skipped message="${escapeXml(`INCONCLUSIVE: ${figures}`)}"/>`,
        '  </testcase>',
      ].join('\n');
    }
    return `${open.slice(0, -1)}/>`;
  });
  const failures = r.gate.filter((g) => g.verdict === 'FAIL').length;
  const skipped = r.gate.filter((g) => g.verdict === 'INCONCLUSIVE').length;
  const suite = `holdout compare ${r.baseline.label} -> ${r.candidate.label}`;
  const systemOut = [
    ...r.warnings,
    r.summary,
    pairingLine(r),
    powerLine(r),
    ...flipText(r.flips.regressions, r.flips.counts.regressions, 'Regressions (pass -> fail)'),
    ...flipText(r.flips.fixes, r.flips.counts.fixes, 'Fixes (fail -> pass)'),
  ].join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${escapeXml(suite)}" tests="${r.gate.length}" failures="${failures}" ` +
      `skipped="${skipped}" errors="0">`,
    '  <properties>',
    `    <property name="verdict" value="${r.verdict}"/>`,
    `    <property name="simulated" value="${r.simulated}"/>`,
    `    <property name="snapshot_drift" value="${r.drift.length > 0}"/>`,
    `    <property name="alpha" value="${r.settings.alpha}"/>`,
    `    <property name="margin" value="${r.settings.margin}"/>`,
    '  </properties>',
    ...cases,
    `  <system-out>${escapeXml(systemOut)}</system-out>`,
    '</testsuite>',
    '',
  ].join('\n');
}
