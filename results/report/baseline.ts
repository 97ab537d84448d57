/**
 * `report --baseline`: every other candidate against the baseline, paired per prompt. The pairing is
 * `holdout compare`'s (results/pairing/): the same work items, the same dropping rules (both sides
 * ok; a figure enters where both sides have it), the same units (repeats averaged per prompt) and the
 * same flipped records, so the report and the gate cannot disagree on what was compared. What differs
 * is presentation: the report shows two-sided 95% intervals and no verdict.
 */
import { flippedItems } from '../pairing/flips.js';
import { type CompareRows, loadComparison } from '../pairing/pairing.js';
import { groupItems, range, unitsOf } from '../pairing/units.js';
import { mcnemar, pairedBootstrap, pairedT, tangoInterval } from '../stats/paired.js';
import { clipInterval } from '../stats/stats.js';
import type { Store } from '../store/store.js';
import { lastUserTurn, type Obj, recordBodies, referenceText } from './prompt.js';
import type { Comparison, Flip } from './types.js';

export const BOOTSTRAP_SEED = 1;
export const MAX_RESAMPLES = 10_000;
/**
 * Index draws allowed per bootstrap interval (about a quarter of a second): resamples × n stays under
 * this, so 10,000 resamples up to 5,000 pairs, and a million-call run stays fast. A median costs three
 * times a mean per draw, so it gets a third.
 */
const BOOTSTRAP_DRAWS = 50_000_000;
const MIN_RESAMPLES = 100;
const FLIPS_SHOWN = 50;
const EXCERPT_CHARS = 200;

/**
 * Resamples for a bootstrap over n pairs: 10,000, or fewer (down to 100) when n × 10,000 draws would
 * be slow. `cost` is the work of one draw relative to a mean's (3 for a median).
 */
export function bootstrapResamples(n: number, cost = 1): number {
  const budget = Math.floor(BOOTSTRAP_DRAWS / cost / Math.max(1, n));
  return Math.min(MAX_RESAMPLES, Math.max(MIN_RESAMPLES, budget));
}

/** Every candidate of `candidates` but the baseline, against the baseline, in the order given. */
export function compareWithBaseline(
  store: Store,
  runId: number,
  baseline: string,
  candidates: readonly string[],
): Comparison[] {
  return candidates
    .filter((c) => c !== baseline)
    .map((candidate) =>
      comparison(
        loadComparison(store, { runId, candidate: baseline }, { runId, candidate }),
        baseline,
        candidate,
        (ids) => recordBodies(store.db, runId, ids),
      ),
    );
}

/** The stored bodies of the flipped records shown: their prompt and reference excerpts. */
type Bodies = (recordIds: string[]) => Map<string, Obj>;

function comparison(rows: CompareRows, baseline: string, candidate: string, bodies: Bodies): Comparison {
  const p = rows.pairs;
  const items = range(p.callA.length);
  const { g, unit } = groupItems(p, undefined);
  const perPrompt = unit === 'prompt';
  const nan = Number.NaN;

  const pass = unitsOf(
    items,
    (i) => p.passA[i]!,
    (i) => p.passB[i]!,
    g,
  );
  const { regress, fix } = flippedItems(p, unit, g);
  const n = pass.a.length;
  let passRate: Comparison['passRate'];
  if (perPrompt) {
    // A difference of pass shares lies in [−1, 1]: the t interval is clipped to it (coverage unchanged).
    const t = clipInterval(pairedT(pass.a.map((a, i) => pass.b[i]! - a)), -1, 1);
    passRate = { method: 'paired-t', n, delta: t.mean, lo: t.lo, hi: t.hi, p: t.pTwoSided };
  } else if (n > 0) {
    const ci = tangoInterval(regress.length, fix.length, n);
    passRate = { method: 'mcnemar-tango', n, ...ci, p: mcnemar(regress.length, fix.length).exactTwoSided };
  } else {
    passRate = { method: 'mcnemar-tango', n: 0, delta: nan, lo: nan, hi: nan, p: nan };
  }

  const score = unitsOf(
    range(p.callA.length),
    (i) => p.scoreA[i]!,
    (i) => p.scoreB[i]!,
    g,
  );
  // Δ mean score lies in [−1, 1] (scores are in [0, 1]): clipped there, like the pass rate's.
  const s = clipInterval(pairedT(score.a.map((a, i) => score.b[i]! - a)), -1, 1);

  const cost = unitsOf(
    range(p.callA.length),
    (i) => p.costA[i]!,
    (i) => p.costB[i]!,
    g,
  );
  let costRatio: Comparison['costRatio'] = null;
  const sumA = cost.a.reduce((x, y) => x + y, 0);
  if (cost.a.length > 0 && sumA > 0) {
    const resamples = bootstrapResamples(cost.a.length);
    const boot = pairedBootstrap(cost.a, cost.b, {
      statistic: 'ratio-of-means',
      seed: BOOTSTRAP_SEED,
      resamples,
    });
    const bca = Number.isFinite(boot.bca.lo) && Number.isFinite(boot.bca.hi);
    const ci = bca ? boot.bca : boot.percentile;
    costRatio = {
      n: cost.a.length,
      ratio: boot.estimate,
      lo: ci.lo,
      hi: ci.hi,
      interval: bca ? 'bca' : 'percentile',
      resamples,
      seed: BOOTSTRAP_SEED,
    };
  }

  const latency = unitsOf(
    range(p.callA.length),
    (i) => p.latencyA[i]!,
    (i) => p.latencyB[i]!,
    g,
  );
  let latencyP50: Comparison['latencyP50'] = null;
  if (latency.a.length > 0) {
    const resamples = bootstrapResamples(latency.a.length, 3);
    const boot = pairedBootstrap(latency.a, latency.b, {
      statistic: 'median-diff',
      seed: BOOTSTRAP_SEED,
      resamples,
    });
    latencyP50 = {
      n: latency.a.length,
      delta: boot.estimate,
      lo: boot.percentile.lo,
      hi: boot.percentile.hi,
      resamples,
      seed: BOOTSTRAP_SEED,
    };
  }

  return {
    candidate,
    baseline,
    passRate,
    regressions: regress.length,
    fixes: fix.length,
    meanScore: { n: score.a.length, delta: s.mean, lo: s.lo, hi: s.hi, p: s.pTwoSided },
    costRatio,
    latencyP50,
    flips: listedFlips(rows, regress, fix, bodies),
  };
}

/** The first FLIPS_SHOWN flips each way in dataset order, with excerpts of both outputs. */
function listedFlips(
  rows: CompareRows,
  regress: { item: number; a: number; b: number }[],
  fix: { item: number; a: number; b: number }[],
  bodies: Bodies,
): Comparison['flips'] {
  const p = rows.pairs;
  const detailed = (list: { item: number; a: number; b: number }[]): Flip[] => {
    if (list.length === 0) return [];
    // Excerpts collapse whitespace, so read more than they keep.
    const info = rows.flipDetail(
      list.map((f) => ({ callA: p.callA[f.item]!, callB: p.callB[f.item]! })),
      4 * EXCERPT_CHARS,
    );
    return list
      .map((f, i): Flip => {
        const d = info[i]!;
        return {
          recordId: d.recordId,
          seq: d.seq,
          tags: d.tags,
          baselineRate: f.a,
          candidateRate: f.b,
          baselineExcerpt: excerpt(d.outputA),
          candidateExcerpt: excerpt(d.outputB),
          promptExcerpt: null,
          referenceExcerpt: null,
        };
      })
      .sort((x, y) => (x.seq ?? Number.MAX_SAFE_INTEGER) - (y.seq ?? Number.MAX_SAFE_INTEGER))
      .slice(0, FLIPS_SHOWN);
  };
  const regressions = detailed(regress);
  const fixes = detailed(fix);
  // One read of the shown records' bodies: the last user turn and the reference beside the outputs.
  const body = bodies([...regressions, ...fixes].map((f) => f.recordId));
  for (const f of [...regressions, ...fixes]) {
    const b = body.get(f.recordId);
    if (!b) continue;
    const prompt = lastUserTurn(b.request);
    f.promptExcerpt = prompt === '' ? null : excerpt(prompt);
    f.referenceExcerpt = excerpt(referenceText(b.reference));
  }
  return { regressions, fixes };
}

function excerpt(output: string | null): string | null {
  if (output === null) return null;
  const flat = output.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > EXCERPT_CHARS ? `${chars.slice(0, EXCERPT_CHARS - 1).join('')}…` : flat;
}
