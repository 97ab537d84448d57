/**
 * The snapshot-change regression gate (STATS.md "The regression gate"): a baseline A and a candidate B
 * on the same prompts, paired per work item (record × repeat), compared metric by metric with a
 * verdict. Two layers: `loadComparison` reads the database (pairing in SQL, one streamed query, no
 * query per row) and `analyzeComparison` is pure given those rows.
 *
 * Conventions as in paired.ts: d = B − A (negative: B worse); b = regressions (A pass, B fail),
 * c = fixes (A fail, B pass); Δ = p_B − p_A.
 *
 * results/compare/ is the gate; this file is its entry point. The loading, pairing, units and the
 * flip rule are shared with `report --baseline` and live in results/pairing/. Here: metrics.ts (pass,
 * score, scorer, cost, latency), gate.ts (verdict, Holm/BH family), flips.ts (the listed flips),
 * drift.ts (snapshot drift), power.ts (MDE, power, warnings), notes.ts, headline.ts (the verdict line)
 * and types.ts (the Comparison shape). May import results/pairing, stats, store and report's notice;
 * never results/render.
 */
import { driftNotes } from './drift.js';
import { findFlips } from './flips.js';
import { applyGate } from './gate.js';
import { headline } from './headline.js';
import { binaryMetric, continuousMetric, resourceMetric, scorerMetric, sliceMetrics } from './metrics.js';
import { notesOf } from './notes.js';
import { type CompareRows, loadComparison, type SideRef, type SideRows } from '../pairing/pairing.js';
import { powerOf, powerWarnings } from './power.js';
import type { Comparison, CompareSettings, CompareSide } from './types.js';
import { type Grouping, groupItems, range, unitsOf } from '../pairing/units.js';
import { simulatedNotice } from '../report/report.js';
import { withSequential } from './sequential.js';
import type { Store } from '../store/store.js';

export { driftNotes } from './drift.js';
export { EXCERPT_CHARS, excerpt } from './flips.js';
export { SLICE_MIN_N } from './gate.js';
export { formatDelta, formatP, headline, pIs } from './headline.js';
export { BOOTSTRAP_MAX_N, binaryMetric, continuousMetric } from './metrics.js';
export type {
  CompareRows,
  FlipInfo,
  PairRows,
  ScorerRows,
  ServedModel,
  SideRef,
  SideRows,
} from '../pairing/pairing.js';
export { loadComparison } from '../pairing/pairing.js';
export type {
  BinaryMetric,
  Comparison,
  CompareSettings,
  CompareSide,
  ContinuousMetric,
  DriftNote,
  Estimate,
  Flip,
  GateEntry,
  NonInferiority,
  Resampled,
  ResourceMetric,
  ScorerComparison,
  SequentialSection,
  SliceComparison,
  Verdict,
} from './types.js';
export { sequentialLines } from './sequential.js';

export const COMPARE_DEFAULTS = { alpha: 0.025, margin: 0.03, seed: 1, resamples: 10_000 } as const;

/**
 * Compares the loaded rows: everything but the flips' excerpts is a pure function of `rows`.
 * `flipsListed` caps how many flips of each kind are listed with excerpts (default: all).
 */
export function analyzeComparison(
  rows: CompareRows,
  settings: CompareSettings,
  flipsListed = Number.POSITIVE_INFINITY,
): Comparison {
  checkSettings(settings);
  const s = settings;
  const p = rows.pairs;
  const nItems = p.callA.length;
  const { g, unit, prompts, maxRepeats } = groupItems(p, s.cluster);

  // pass
  const passUnits = unitsOf(
    range(nItems),
    (i) => p.passA[i]!,
    (i) => p.passB[i]!,
    g,
  );
  const pass = binaryMetric('pass', passUnits, unit, s);
  let unscoredA = 0;
  let unscoredB = 0;
  let unscoredPairs = 0;
  for (let i = 0; i < nItems; i++) {
    const ua = Number.isNaN(p.passA[i]!);
    const ub = Number.isNaN(p.passB[i]!);
    if (ua) unscoredA++;
    if (ub) unscoredB++;
    if (ua || ub) unscoredPairs++;
  }

  // score, cost, latency
  const scoreUnits = unitsOf(
    range(nItems),
    (i) => p.scoreA[i]!,
    (i) => p.scoreB[i]!,
    g,
  );
  const score = scoreUnits.a.length > 0 ? continuousMetric('score', scoreUnits, unit, s, true) : null;
  const plain: Grouping = { ...g, clusterOfItem: null };
  const cost = resourceMetric(
    'cost',
    unitsOf(
      range(nItems),
      (i) => p.costA[i]!,
      (i) => p.costB[i]!,
      plain,
    ),
    unit,
    s,
  );
  const latency = resourceMetric(
    'latency',
    unitsOf(
      range(nItems),
      (i) => p.latencyA[i]!,
      (i) => p.latencyB[i]!,
      plain,
    ),
    unit,
    s,
  );

  const scorerMetrics = rows.scorers.map((sc) => scorerMetric(sc, g, unit, s));
  const sliceResults = s.by !== undefined ? sliceMetrics(p, g, unit, s) : [];
  const { gate, failedBy, verdict, scorers, slices } = applyGate(pass, scorerMetrics, sliceResults, s);

  const flips = findFlips(rows, unit, g, flipsListed);
  const power = powerOf(pass, s);
  const sides = sideLabels(rows);
  const drift = driftNotes(rows, sides);
  const simulatedLabels = [rows.baseline, rows.candidate]
    .map((x, i) => (x.simulated ? (i === 0 ? sides.a : sides.b) : null))
    .filter((x): x is string => x !== null);

  const warnings: string[] = [];
  if (simulatedLabels.length > 0) warnings.push(simulatedNotice(simulatedLabels));
  warnings.push(...drift.map((d) => d.message));
  warnings.push(...powerWarnings(pass, power, s, slices, rows));

  const result: Omit<Comparison, 'summary'> = {
    version: 1,
    verdict,
    failedBy,
    simulated: simulatedLabels.length > 0,
    drift,
    warnings,
    baseline: side(rows.baseline, sides.a),
    candidate: side(rows.candidate, sides.b),
    settings: { ...s, confidence: 1 - 2 * s.alpha },
    pairing: {
      items: rows.items,
      paired: nItems,
      dropped: rows.dropped,
      unscored: { a: unscoredA, b: unscoredB, pairs: unscoredPairs },
      unit,
      prompts,
      repeats: maxRepeats,
    },
    metrics: { pass, score, scorers, cost, latency },
    gate,
    slices: s.by !== undefined ? { by: s.by, slices } : null,
    flips,
    power,
    notes: notesOf(rows, s, unit, maxRepeats, unscoredPairs, pass, score, cost),
  };
  const { version, verdict: v, ...rest } = result;
  return { version, verdict: v, summary: headline(result), ...rest };
}

function checkSettings(s: CompareSettings): void {
  if (!(s.alpha > 0 && s.alpha < 0.5)) throw new RangeError(`alpha must be in (0, 0.5), got ${s.alpha}`);
  if (!(s.margin > 0 && s.margin < 1)) throw new RangeError(`margin must be in (0, 1), got ${s.margin}`);
  if (!(Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 0xffffffff)) {
    throw new RangeError(`seed must be an unsigned 32-bit integer, got ${s.seed}`);
  }
  if (!(Number.isInteger(s.resamples) && s.resamples >= 1)) {
    throw new RangeError(`resamples must be a whole number >= 1, got ${s.resamples}`);
  }
}

function sideLabels(rows: CompareRows): { a: string; b: string } {
  const A = rows.baseline;
  const B = rows.candidate;
  if (A.runId === B.runId) return { a: A.candidate, b: B.candidate };
  return { a: `${A.candidate} (run ${A.runId})`, b: `${B.candidate} (run ${B.runId})` };
}

function side(x: SideRows, label: string): CompareSide {
  return {
    label,
    runId: x.runId,
    suite: x.suite,
    runStatus: x.runStatus,
    candidate: x.candidate,
    model: x.model,
    servedModels: x.servedModels,
    simulated: x.simulated,
    calls: x.calls,
    ok: x.ok,
    errors: x.errors,
  };
}

/** Loads and analyzes: the comparison of `baseline` with `candidate`. */
export function buildComparison(
  store: Store,
  baseline: SideRef,
  candidate: SideRef,
  settings: Partial<CompareSettings> = {},
  flipsListed = Number.POSITIVE_INFINITY,
): Comparison {
  const s: CompareSettings = {
    alpha: settings.alpha ?? COMPARE_DEFAULTS.alpha,
    margin: settings.margin ?? COMPARE_DEFAULTS.margin,
    seed: settings.seed ?? COMPARE_DEFAULTS.seed,
    resamples: settings.resamples ?? COMPARE_DEFAULTS.resamples,
    ...(settings.by !== undefined ? { by: settings.by } : {}),
    ...(settings.cluster !== undefined ? { cluster: settings.cluster } : {}),
  };
  checkSettings(s);
  const rows = loadComparison(store, baseline, candidate, { by: s.by, cluster: s.cluster });
  // A run that stopped early is gated by its sequential verdict (results/compare/sequential.ts).
  return withSequential(store, analyzeComparison(rows, s, flipsListed), baseline, candidate);
}
