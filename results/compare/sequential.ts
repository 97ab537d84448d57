/**
 * The sequential section of a comparison (SEQUENTIAL.md §1): when the compared pair is the one a
 * run stopped early on, its stored rows are replayed in the run's stored order into the same
 * e-processes the runner fed, and the verdict, anytime p-values and confidence sequence replace the
 * fixed-n gate (whose tests assume a sample size fixed in advance, which an early-stopped run does
 * not have). The calls still in flight at the stop were stored too and are folded in (still valid);
 * the stop count is reported apart (pitfall 7).
 */
import {
  anytimePValues,
  confidenceSequence,
  promptDifference,
  sequentialVerdict,
  startSequential,
  stepSequential,
} from '../stats/sequential.js';
import { passValues, recordIdsBySeq, type SequentialRow, sequentialOf } from '../store/sequential.js';
import type { Store } from '../store/store.js';
import type { SideRef } from '../pairing/pairing.js';
import type { Comparison, SequentialSection } from './types.js';

/**
 * The section when `baseline` and `candidate` are the pair their run stops early on; otherwise null
 * (a warning is added by `withSequential` when a compared run stopped early on another pair).
 */
export function sequentialSection(
  store: Store,
  baseline: SideRef,
  candidate: SideRef,
): SequentialSection | null {
  if (baseline.runId !== candidate.runId) return null;
  const row = sequentialOf(store.db, candidate.runId);
  if (!row || row.baseline !== baseline.candidate || row.candidate !== candidate.candidate) return null;
  const repeats = store.getRun(row.run_id)!.repeats;
  return replayRun(store, row, repeats);
}

function replayRun(store: Store, row: SequentialRow, repeats: number): SequentialSection {
  const ids = recordIdsBySeq(store.db, row.run_id);
  const values = passValues(store.db, row.run_id, [row.baseline, row.candidate]);
  const settings = { alpha: row.alpha, margin: row.margin, c: row.bet_cap };
  const state = startSequential(settings);
  const ds: number[] = [];
  let recordsFed = 0;
  let unscored = 0;
  let stop: SequentialSection['stop'] = null;
  // The contiguous head of the order whose pairs are final, as the runner fed it.
  for (const seq of row.order) {
    const sides = values.get(ids[seq]!);
    const a = sides?.get(row.baseline) ?? [];
    const b = sides?.get(row.candidate) ?? [];
    if (a.length < repeats || b.length < repeats) break;
    recordsFed++;
    const d = promptDifference(a, b);
    if (d === null) {
      unscored++;
      continue;
    }
    stepSequential(state, d);
    ds.push(d);
    if (!stop && state.decided)
      stop = { verdict: state.decided.verdict, records: recordsFed, prompts: state.t };
  }
  const n = row.order.length;
  const verdict = sequentialVerdict(state, recordsFed === n);
  const p = anytimePValues(state);
  const notes: string[] = [];
  if (row.verdict !== null && row.records_used !== null && stop && stop.records !== row.records_used) {
    notes.push(
      `the run stored its decision after ${row.records_used} records; the replay of its stored rows decides after ${stop.records} (were rows changed or rescored since?)`,
    );
  }
  if (stop?.verdict === 'PASS' && verdict === 'FAIL') {
    notes.push(
      'the run stopped on PASS; the calls in flight at the stop, folded in, then took the FAIL wealth over 1/α: FAIL (still valid)',
    );
  }
  if (unscored > 0) notes.push(`${unscored} records unscored on a side were left out of the e-processes`);
  return {
    version: 1,
    runId: row.run_id,
    baseline: row.baseline,
    candidate: row.candidate,
    settings: { ...settings, seed: row.seed, confidence: 1 - 2 * row.alpha },
    verdict: verdict ?? 'INCONCLUSIVE',
    decided: verdict !== null,
    stop,
    stored:
      row.verdict === null
        ? null
        : {
            verdict: row.verdict,
            records: row.records_used ?? n,
            prompts: row.prompts_fed ?? 0,
            at: row.decided_at ?? '',
          },
    records: n,
    recordsFed,
    promptsFed: state.t,
    unscored,
    folded: stop ? state.t - stop.prompts : 0,
    mean: state.t > 0 ? state.sum / state.t : null,
    confidenceSequence: confidenceSequence(ds, settings),
    pValues: p,
    wealth: { fail: Math.exp(state.fail.logMax), pass: Math.exp(state.pass.logMax) },
    notes,
  };
}

const pts = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`;
const pv = (x: number) => (x < 0.0001 ? '< 0.0001' : x.toFixed(4));

/** The section as plain lines (ids are [A-Za-z0-9._:-] by the config schema): every format prints these. */
export function sequentialLines(s: SequentialSection): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const when = s.stop
    ? s.stop.records < s.records
      ? `decided early after ${n(s.stop.records)} of ${n(s.records)} records (${n(s.stop.prompts)} pairs)`
      : `decided at the last record (${n(s.stop.prompts)} pairs)`
    : s.decided
      ? `no claim shown after all ${n(s.records)} records`
      : `not decided yet: ${n(s.recordsFed)} of ${n(s.records)} records fed; resume the run`;
  const conf = Math.round(s.settings.confidence * 100);
  const lines = [
    `Sequential verdict (anytime-valid): ${s.verdict} — ${s.candidate} vs ${s.baseline}, ${when}`,
    `  mean Δ ${s.mean === null ? '-' : `${pts(s.mean)} points`} over ${n(s.promptsFed)} pairs` +
      `${s.folded > 0 ? ` (${n(s.folded)} in flight at the stop, folded in)` : ''}; ` +
      `${conf}% confidence sequence [${pts(s.confidenceSequence.lo)}, ${pts(s.confidenceSequence.hi)}] points`,
    `  anytime p: B worse ${pv(s.pValues.worse)} (wealth ${s.wealth.fail.toFixed(2)}), ` +
      `non-inferior at ${(s.settings.margin * 100).toFixed(1)} points ${pv(s.pValues.nonInferior)} (wealth ${s.wealth.pass.toFixed(2)}); ` +
      `claims at wealth ≥ 1/α = ${(1 / s.settings.alpha).toFixed(0)}`,
    `  e-processes: aGRAPA and a bet sized for the margin, mixed (Waudby-Smith & Ramdas 2023), α ${s.settings.alpha} per claim, ` +
      `c ${s.settings.c}; records in the run's seeded order (seed ${s.settings.seed}); repeats averaged per prompt; errors count as fail`,
    '  The fixed-n tests below assume a sample size fixed in advance; they do not apply to an early-stopped run and do not gate.',
    ...s.notes.map((x) => `  note: ${x}`),
  ];
  return lines;
}

/**
 * The comparison with its sequential section: the verdict and summary follow the sequential gate,
 * the fixed-n tests stay as description. A compared run that stopped early on another pair gets a
 * warning instead: its records are the head of a random order, cut where that other pair decided.
 */
export function withSequential(
  store: Store,
  result: Comparison,
  baseline: SideRef,
  candidate: SideRef,
): Comparison {
  const section = sequentialSection(store, baseline, candidate);
  if (section) {
    return {
      ...result,
      verdict: section.verdict,
      summary: sequentialLines(section)[0]!,
      failedBy: section.verdict === 'FAIL' ? ['sequential'] : [],
      // Stopping was on the overall claim only: slices are descriptive.
      slices: result.slices && {
        ...result.slices,
        slices: result.slices.slices.map((x) => ({ ...x, gated: false, verdict: 'DESCRIPTIVE' as const })),
      },
      warnings: [
        // The fixed-n power caveat ("INCONCLUSIVE is likely") is about a test that does not gate here.
        ...result.warnings.filter((w) => !w.startsWith('Power to show non-inferiority')),
        'EARLY-STOPPED RUN: the verdict is the sequential one; the fixed-n p-values and intervals do not apply.',
      ],
      sequential: section,
    };
  }
  const others = [...new Set([baseline.runId, candidate.runId])]
    .map((id) => sequentialOf(store.db, id))
    .filter(
      (r): r is SequentialRow =>
        r !== undefined && r.verdict !== null && (r.records_used ?? 0) < r.order.length,
    );
  return {
    ...result,
    sequential: null,
    warnings: [
      ...result.warnings,
      ...others.map(
        (r) =>
          `run ${r.run_id} stopped early on ${r.candidate} vs ${r.baseline} (${r.verdict} after ${r.records_used} of ${r.order.length} records): these records are where that pair decided, not a sample fixed in advance`,
      ),
    ],
  };
}
