/**
 * The regression gate (STATS.md): the family {pass metric, each scorer's pass/fail, each --by slice
 * with n ≥ 30}, Holm-adjusted for the verdict and Benjamini–Hochberg-adjusted for flagging. The
 * primary pass metric is judged at α unadjusted; any FAIL in the family fails the comparison.
 */
import { type ScorerMetrics, type SliceMetrics, verdictOf } from './metrics.js';
import type {
  BinaryMetric,
  CompareSettings,
  GateEntry,
  ScorerComparison,
  SliceComparison,
  Verdict,
} from './types.js';
import { benjaminiHochberg, holm } from '../stats/paired.js';

/** Slices with fewer units are descriptive: shown, never gating (STATS.md). */
export const SLICE_MIN_N = 30;

export interface Gate {
  gate: GateEntry[];
  /** The family members whose verdict is FAIL. */
  failedBy: string[];
  verdict: Verdict;
  scorers: ScorerComparison[];
  slices: SliceComparison[];
}

/** The overall verdict, and the scorers and slices with their adjusted p-values and verdicts. */
export function applyGate(
  pass: BinaryMetric,
  scorerMetrics: ScorerMetrics[],
  sliceResults: SliceMetrics[],
  s: CompareSettings,
): Gate {
  const family: { id: string; kind: GateEntry['kind']; m: BinaryMetric }[] = [
    { id: 'pass', kind: 'pass', m: pass },
    ...scorerMetrics.map((x) => ({ id: `scorer ${x.scorer}`, kind: 'scorer' as const, m: x.pass })),
    ...sliceResults
      .filter((x) => x.n >= SLICE_MIN_N)
      .map((x) => ({ id: `${s.by}=${x.value}`, kind: 'slice' as const, m: x.pass })),
  ];
  const ps = family.map((f) => (Number.isFinite(f.m.pWorse) ? f.m.pWorse : 1));
  const pHolm = holm(ps);
  const pBH = benjaminiHochberg(ps);
  const gate: GateEntry[] = family.map((f, i) => {
    // The primary pass metric is judged at α unadjusted; the others on their Holm-adjusted p.
    const verdict =
      f.kind === 'pass'
        ? f.m.verdict
        : f.m.n === 0
          ? 'INCONCLUSIVE'
          : verdictOf(pHolm[i]!, f.m.nonInferiority.p, s.alpha);
    return {
      id: f.id,
      kind: f.kind,
      p: ps[i]!,
      pHolm: pHolm[i]!,
      pBH: pBH[i]!,
      verdict,
      flagged: verdict !== 'FAIL' && pBH[i]! < s.alpha,
    };
  });
  const gateOf = new Map(family.map((f, i) => [f.m, gate[i]!]));
  const failedBy = gate.filter((x) => x.verdict === 'FAIL').map((x) => x.id);
  const verdict: Verdict = failedBy.length > 0 ? 'FAIL' : pass.verdict;

  const scorers: ScorerComparison[] = scorerMetrics.map((x) => {
    const e = gateOf.get(x.pass)!;
    return { ...x, pHolm: e.pHolm, pBH: e.pBH, verdict: e.verdict, flagged: e.flagged };
  });
  const slices: SliceComparison[] = sliceResults.map((x) => {
    const e = gateOf.get(x.pass);
    return {
      ...x,
      gated: e !== undefined,
      pHolm: e?.pHolm ?? null,
      pBH: e?.pBH ?? null,
      verdict: e?.verdict ?? 'DESCRIPTIVE',
      flagged: e?.flagged ?? false,
    };
  });
  return { gate, failedBy, verdict, scorers, slices };
}
