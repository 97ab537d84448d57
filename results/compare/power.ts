/**
 * Power and sample size of the gate (STATS.md): the minimum detectable effect and the power to show
 * non-inferiority at the margin, and the warnings about too few pairs, flips, clusters or slices
 * that are read before any figure.
 */
import { SLICE_MIN_N } from './gate.js';
import type { CompareRows } from '../pairing/pairing.js';
import type { BinaryMetric, Comparison, CompareSettings, SliceComparison } from './types.js';
import { pairedBinaryMDE, powerNonInferiority, powerNonInferiorityExact } from '../stats/power.js';
import { normalCdf, normalQuantile } from '../stats/stats.js';

/**
 * Below this many expected discordant pairs (nψ, with ψ the observed share: b + c) the power to show
 * non-inferiority is computed exactly (powerNonInferiorityExact: the Tango test's rejection
 * probability summed over every (b, c)); the normal approximation overstates it there, by up to
 * 33 points at b + c = 2 (n = 100, m = 0.05: 94% against 61.5%), 4–8 points at b + c = 20.
 */
export const EXACT_POWER_BELOW_DISCORDANT = 25;

export function powerOf(pass: BinaryMetric, s: CompareSettings): Comparison['power'] {
  const alphaTwo = Math.min(0.999, 2 * s.alpha);
  if (pass.test === 'mcnemar') {
    const discordant = pass.b + pass.c;
    const psi = pass.n > 0 ? discordant / pass.n : Number.NaN;
    if (!(psi > 0)) {
      return {
        method: 'connor',
        psi: pass.n > 0 ? 0 : null,
        mde: null,
        powerAtMargin: null,
        powerMethod: null,
        expectedDiscordant: pass.n > 0 ? 0 : null,
      };
    }
    const mde = pairedBinaryMDE(pass.n, psi, alphaTwo, 0.8);
    // The alternative is "nothing changed": Δ = 0, so p10 = p01 = ψ/2 and nψ = b + c pairs discordant.
    const exact = discordant < EXACT_POWER_BELOW_DISCORDANT;
    return {
      method: 'connor',
      psi,
      mde: Number.isFinite(mde) ? mde : null,
      powerAtMargin: exact
        ? powerNonInferiorityExact(pass.n, psi / 2, psi / 2, s.margin, s.alpha)
        : powerNonInferiority(pass.n, psi, s.margin, s.alpha),
      powerMethod: exact ? 'exact' : 'normal-approximation',
      expectedDiscordant: discordant,
    };
  }
  const se = pass.t?.se ?? Number.NaN;
  if (!(se > 0)) {
    return {
      method: 'normal-se',
      psi: null,
      mde: null,
      powerAtMargin: null,
      powerMethod: null,
      expectedDiscordant: null,
    };
  }
  const zA = normalQuantile(1 - alphaTwo / 2);
  const zB = normalQuantile(0.8);
  return {
    method: 'normal-se',
    psi: null,
    mde: (zA + zB) * se,
    powerAtMargin: normalCdf(s.margin / se - normalQuantile(1 - s.alpha)),
    powerMethod: 'normal-approximation',
    expectedDiscordant: null,
  };
}

export function powerWarnings(
  pass: BinaryMetric,
  power: Comparison['power'],
  s: CompareSettings,
  slices: SliceComparison[],
  rows: CompareRows,
): string[] {
  const out: string[] = [];
  const what = pass.unit === 'call' ? 'pairs' : 'prompts';
  if (pass.n === 0) {
    out.push('No paired, scored calls: nothing to compare. Check the run ids, candidates and scorers.');
    return out;
  }
  if (pass.n < 100) {
    out.push(`Only ${pass.n} ${what} (fewer than 100): intervals are wide and small regressions go unseen.`);
  }
  if (pass.unit === 'call' && pass.b + pass.c < 10) {
    out.push(
      `Only ${pass.b + pass.c} discordant pairs (b + c < 10): McNemar can detect little; ` +
        'the verdict rests on very few flips.',
    );
  }
  if (s.cluster !== undefined && pass.clusters !== null && pass.clusters < 30) {
    out.push(
      `Only ${pass.clusters} clusters of ${s.cluster} (fewer than 30): the clustered SE is unreliable ` +
        `on ${pass.clusters - 1} df.`,
    );
  }
  const small = slices.filter((x) => !x.gated);
  if (small.length > 0) {
    const list = small
      .slice(0, 10)
      .map((x) => `${x.value} (${x.n})`)
      .join(', ');
    out.push(
      `${small.length} ${small.length === 1 ? 'slice' : 'slices'} of ${s.by} under ${SLICE_MIN_N} ${what}, ` +
        `descriptive only (never gating): ${list}${small.length > 10 ? ', …' : ''}.`,
    );
  }
  if (power.powerAtMargin !== null && power.powerAtMargin < 0.5) {
    out.push(
      `Power to show non-inferiority at a ${(s.margin * 100).toFixed(1)}-point margin is only ` +
        `${Math.round(power.powerAtMargin * 100)}% (n = ${pass.n}): INCONCLUSIVE is likely even when nothing ` +
        'changed; add prompts or widen --margin.',
    );
  }
  const runs =
    rows.baseline.runId === rows.candidate.runId ? [rows.baseline] : [rows.baseline, rows.candidate];
  for (const x of runs) {
    if (x.runStatus !== 'finished') {
      out.push(`Run ${x.runId} is ${x.runStatus}: only the calls stored so far are compared.`);
    }
  }
  return out;
}
