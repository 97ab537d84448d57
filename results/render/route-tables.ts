/**
 * The tables and lines of a routing evaluation as plain strings, shared by the terminal, Markdown and
 * HTML renderers. Cells hold raw text; `text` marks the columns of untrusted text (names, tag values),
 * which each renderer escapes for its format.
 */
import { formatInterval, formatMean, formatMs, formatP, formatPercent, formatUsd } from './format.js';
import type { NamedFigures, PolicyResult, RouteResult, Sweep } from '../route/route.js';
import type { Table } from './report-tables.js';

const pct = (x: number) => formatPercent(x);
const num = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
/** "p = 0.012" or "p <0.0001" → "p < 0.0001". */
const pIs = (p: number) => {
  const f = formatP(p);
  return f.startsWith('<') ? `p < ${f.slice(1)}` : `p = ${f}`;
};
const yesNo = (x: boolean | null) => (x === null ? '-' : x ? 'yes' : 'no');
const signedPoints = (x: number) =>
  Number.isFinite(x) ? `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x * 100).toFixed(1)}` : '?';

export function title(r: RouteResult): string {
  return `holdout route · run ${r.run.id} · suite ${r.run.suite}`;
}

export function scopeLine(r: RouteResult): string {
  const rec = r.records;
  const split = r.settings.split
    ? `; split: ${Math.round(r.settings.split.fraction * 100)}% tune by ${r.settings.split.key} (${r.settings.split.source})`
    : '';
  const fitted = r.policies.some((p) => p.threshold?.fitted)
    ? `; thresholds fitted on ${r.settings.fitOn} (${rec.fittedOn} records)`
    : '';
  return (
    `${rec.evaluated} records evaluated (${r.settings.evaluateOn}${fitted}) of ${rec.total} in the run, ` +
    `${rec.complete} with a scored answer from every candidate${split}.`
  );
}

export function methodLine(r: RouteResult): string {
  const rate = r.run.repeats > 1 ? 't over per-record pass shares' : 'Wilson';
  const paired =
    r.run.repeats > 1 ? 'paired t non-inferiority on per-record pass shares' : 'Tango score non-inferiority';
  return (
    `Quality: pass rate (95% ${rate} interval) and mean score (t interval, clipped to [0, 1]). ` +
    "Cost per 1K records and latency include the router's calls; latency is router + answer per record, " +
    'type-7 percentiles. Against the ' +
    `strongest single candidate (${r.strongest}): ${paired} at ${(r.settings.margin * 100).toFixed(1)} points ` +
    `and a one-sided paired t on per-record cost, each at α = ${r.settings.alpha}; "cheaper and no worse" ` +
    'needs both (intersection–union). Oracle: per record, the cheapest candidate with the best pass. ' +
    `PGR column: between the run's cheapest (${r.cheapest}) and strongest; escalated: sent above the arm's cheapest candidate.`
  );
}

function routedTo(r: RouteResult, f: NamedFigures): string {
  return f.share
    .map((s, j) => [r.candidates[j]!.name, s] as const)
    .filter(([, s]) => s > 0)
    .map(([name, s]) => `${name} ${pct(s)}`)
    .join(', ');
}

export const ARM_COLUMNS = [
  'arm',
  'kind',
  'pass rate [95%]',
  'mean score',
  'cost / 1K',
  'total cost',
  'p50 ms',
  'p95 ms',
  'escalated',
  'PGR',
  'above hull',
  'routed to',
];

export function armsTable(r: RouteResult): Table {
  const row = (f: NamedFigures, kind: string) => [
    f.name,
    kind,
    formatInterval(f.passRate.p, f.passRate.lo, f.passRate.hi),
    formatMean(f.meanScore.mean, f.meanScore.lo, f.meanScore.hi),
    formatUsd(f.cost.per1kRecords),
    formatUsd(f.cost.totalUsd),
    formatMs(f.latency.p50),
    formatMs(f.latency.p95),
    kind.startsWith('single') ? '-' : pct(f.escalationShare),
    num(f.pgr),
    yesNo(f.aboveHull),
    routedTo(r, f),
  ];
  return {
    header: ARM_COLUMNS,
    rows: [
      ...r.singles.map((f) => row(f, f.name === r.strongest ? 'single (strongest)' : 'single')),
      row(r.oracle, 'oracle'),
      ...r.policies.map((p) => row(p.figures, 'policy')),
    ],
    text: new Set([0, 1, 11]),
  };
}

export function routedByLine(p: PolicyResult): string {
  const parts = p.routedBy.rules.map((x) => `rules[${x.index}] → ${x.route}: ${x.records}`);
  if (p.router) parts.push(`router: ${p.routedBy.router}`, `router fallback: ${p.routedBy.fallback}`);
  parts.push(`default: ${p.routedBy.default}`);
  return `routed by ${parts.join(' · ')}`;
}

export function thresholdLine(p: PolicyResult): string | null {
  const t = p.threshold;
  if (!t) return null;
  if (!t.fitted) return `threshold ${t.value} (configured)`;
  return `threshold ${t.value} fitted on ${t.fittedOn}: ${t.criterion}${t.met ? '' : ' — not met; the threshold with the highest PGR was taken'}`;
}

export function routerLine(p: PolicyResult): string | null {
  const x = p.router;
  if (!x) return null;
  return (
    `router ${x.name} (${x.model}, ${x.kind}): consulted on ${x.consulted} records, ${formatUsd(x.costUsd)}; ` +
    `calls ${x.calls.made} made now (${x.calls.errors} errors), ${x.calls.reused} reused from the run`
  );
}

export function comparisonLine(p: PolicyResult): string {
  const c = p.comparison;
  const q = c.quality;
  const test = q.test === 'mcnemar' ? 'Tango' : 'paired t';
  const cost = c.cost;
  const costPart =
    cost.n > 0
      ? `cost ${cost.meanDiff > 0 ? '+' : cost.meanDiff < 0 ? '−' : ''}${formatUsd(Math.abs(cost.meanDiff))} per record ` +
        `[${formatUsd(cost.lo)}, ${formatUsd(cost.hi)}], one-sided paired t ${pIs(cost.p)}`
      : 'cost unknown';
  return (
    `vs ${c.against}: Δ pass rate ${signedPoints(q.estimate.delta)} points [${signedPoints(q.estimate.lo)}, ` +
    `${signedPoints(q.estimate.hi)}], non-inferiority (${test}) ${pIs(q.nonInferiority.p)}; ${costPart} → ` +
    `${c.verdict}${c.verdict === 'NOT SHOWN' ? ` (${c.why})` : ''}; intersection–union ${pIs(c.p)}`
  );
}

export function pgrLine(p: PolicyResult): string {
  return `PGR ${num(p.pgr)} of the gap between its cheapest (${p.cheapest}) and strongest (${p.strongest}) candidate`;
}

export function escalationLine(p: PolicyResult): string {
  const e = p.escalation;
  return (
    `escalation above ${p.cheapest} vs the oracle: ${e.escalated} escalated, ${e.needed} needed; precision ${pct(e.precision)}, ` +
    `recall ${pct(e.recall)}; ${e.needless} needless, ${e.missed} missed ` +
    `(${e.overshoot} above the tier needed, ${e.undershoot} below it)`
  );
}

export function sweepLine(s: Sweep): string {
  return (
    `threshold sweep (below: ${s.below}, above: ${s.above}): APGR ${num(s.apgr, 3)} (random routing: 0.5) · ` +
    `CPT(50%) ${pct(s.cpt50)} · CPT(80%) ${pct(s.cpt80)} escalated`
  );
}

export function sweepTable(s: Sweep): Table {
  return {
    header: ['threshold', 'escalated', 'pass rate', 'mean score', 'cost / 1K', 'PGR', 'above hull', ''],
    rows: s.points.map((x) => [
      String(x.threshold),
      pct(x.escalationShare),
      pct(x.passRate),
      num(x.meanScore, 3),
      formatUsd(x.per1kRecords),
      num(x.pgr),
      yesNo(x.aboveHull),
      x.chosen ? '← operating point' : '',
    ]),
    text: new Set([7]),
  };
}

export function hullLine(r: RouteResult): string {
  const v = r.hull
    .map((h) => `${h.candidate} (${formatUsd(h.per1kRecords)}/1K, ${pct(h.passRate)})`)
    .join(' → ');
  return `zero-router hull (random mixes of single candidates), cheapest first: ${v}`;
}

export function oracleLine(r: RouteResult): string {
  const e = r.oracle.escalation;
  return `oracle: ${e.needed} of ${r.records.evaluated} records need more than the cheapest candidate (${r.cheapest})`;
}

export function sliceTable(r: RouteResult): Table {
  const arms = r.slices[0]?.arms.map((a) => a.name) ?? [];
  return {
    header: [r.settings.by ?? 'slice', 'n', ...arms.map((a) => `${a} pass`), ...arms.map((a) => `${a} $/1K`)],
    rows: r.slices.map((s) => [
      s.value ?? '(no tag)',
      String(s.n),
      ...s.arms.map((a) => pct(a.passRate)),
      ...s.arms.map((a) => formatUsd(a.per1kRecords)),
    ]),
    text: new Set([0]),
  };
}

export function recommendationTable(r: RouteResult): Table {
  return {
    header: [
      'slice',
      'n',
      'recommended',
      'pass rate',
      'best',
      'best pass rate',
      'Δ [95%]',
      'NI p',
      'cost vs best',
    ],
    rows: r.recommendations.map((x) => [
      x.slice === null ? '(all)' : x.slice,
      String(x.n),
      x.recommended,
      pct(x.recommendedPassRate),
      x.best,
      pct(x.bestPassRate),
      Number.isFinite(x.delta)
        ? `${signedPoints(x.delta)} [${signedPoints(x.lo)}, ${signedPoints(x.hi)}]`
        : '-',
      formatP(x.p),
      Number.isFinite(x.costRatio) ? `${(x.costRatio * 100).toFixed(0)}%` : '-',
    ]),
    text: new Set([0, 2, 4]),
  };
}

export function recommendationNote(r: RouteResult): string {
  return (
    `Recommended: the cheapest candidate non-inferior to the slice's best at ${(r.settings.margin * 100).toFixed(1)} ` +
    `points (one-sided p < ${r.settings.alpha}); the best itself when no cheaper one is shown non-inferior.`
  );
}

/** Every line of a policy's section, in order. */
export function policyLines(p: PolicyResult): string[] {
  return [
    routedByLine(p),
    thresholdLine(p),
    routerLine(p),
    comparisonLine(p),
    pgrLine(p),
    escalationLine(p),
    p.sweep ? sweepLine(p.sweep) : null,
  ].filter((x): x is string => x !== null);
}
