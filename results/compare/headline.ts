/**
 * The comparison in words: the verdict line (Comparison.summary, the first line of md and the
 * JUnit message) and the p-value and Δ formats it and the renderers share.
 */
import type { BinaryMetric, Comparison, Estimate } from './types.js';

const signedPoints = (x: number) =>
  Number.isFinite(x) ? `${x < 0 ? '−' : x > 0 ? '+' : ''}${Math.abs(x * 100).toFixed(1)}` : '?';

/** A p-value for reading: 2 significant digits, '< 0.0001' below that. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return '-';
  if (p < 0.0001) return '< 0.0001';
  if (p >= 0.1) return p.toFixed(2);
  return p.toPrecision(2);
}

/** "p = 0.0012" or "p < 0.0001". */
export function pIs(p: number): string {
  const f = formatP(p);
  return f.startsWith('<') ? `p ${f}` : `p = ${f}`;
}

/** Δ in points with its interval: "−4.2 points [−6.9, −1.6]". */
export function formatDelta(e: Pick<Estimate, 'delta' | 'lo' | 'hi'>): string {
  const bound = (x: number) => (Number.isFinite(x) ? signedPoints(x).replace(/^\+/, '') : '?');
  return `${signedPoints(e.delta)} points [${bound(e.lo)}, ${bound(e.hi)}]`;
}

/** The tests behind a binary metric, in words: "McNemar one-sided p = 0.0012 (b = 31 …, n = 812)". */
function evidence(m: BinaryMetric, withNI: boolean): string {
  const units = m.unit === 'call' ? 'n' : 'prompts';
  const counts =
    m.unit === 'call'
      ? `b = ${m.b} regressions, c = ${m.c} fixes, ${units} = ${m.n}`
      : `${m.b} prompts worse, ${m.c} better, ${units} = ${m.n}`;
  const worse =
    m.test === 'mcnemar'
      ? `McNemar one-sided ${pIs(m.pWorse)}`
      : `${m.test === 'clustered-t' ? 'clustered ' : ''}paired t one-sided ${pIs(m.pWorse)}`;
  const ni = withNI ? `, non-inferiority ${pIs(m.nonInferiority.p)}` : '';
  return `${worse}${ni} (${counts})`;
}

/**
 * The verdict line, e.g. "FAIL: b-new is worse than a-old on pass rate: −4.2 points [−6.9, −1.6],
 * McNemar one-sided p = 0.0012 (b = 31 regressions, c = 9 fixes, n = 812)". Names pass through
 * `text`, the escaper of the output format; `strong` wraps the verdict word.
 */
export function headline(
  r: Pick<Comparison, 'verdict' | 'baseline' | 'candidate' | 'metrics' | 'settings' | 'gate' | 'slices'>,
  text: (s: string) => string = (s) => s,
  strong: (s: string) => string = (s) => s,
): string {
  const A = text(r.baseline.label);
  const B = text(r.candidate.label);
  const m = r.metrics.pass;
  const margin = `${(r.settings.margin * 100).toFixed(1)} points`;
  const on = `on pass rate: ${formatDelta(m.estimate)}`;
  if (m.n === 0) return `${strong('INCONCLUSIVE')}: no paired, scored calls of ${A} and ${B} to compare`;
  if (r.verdict === 'FAIL' && m.verdict === 'FAIL') {
    return `${strong('FAIL')}: ${B} is worse than ${A} ${on}, ${evidence(m, false)}`;
  }
  if (r.verdict === 'FAIL') {
    const failed = r.gate.filter((g) => g.kind !== 'pass' && g.verdict === 'FAIL').map((g) => g.id);
    return (
      `${strong('FAIL')}: ${B} is worse than ${A} on ${failed.map(text).join(', ')} ` +
      `(Holm-adjusted one-sided p < ${r.settings.alpha}); overall ${on}, ${evidence(m, false)}`
    );
  }
  if (r.verdict === 'PASS') {
    return `${strong('PASS')}: ${B} is not worse than ${A} by ${margin} or more ${on}, ${evidence(m, true)}`;
  }
  return (
    `${strong('INCONCLUSIVE')}: neither a regression of ${B} against ${A} nor non-inferiority at ` +
    `${margin} is shown ${on}, ${evidence(m, true)}`
  );
}
