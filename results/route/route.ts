/**
 * Offline evaluation of routing policies on a run (`holdout route`): every candidate answered every
 * record, so a policy's outcome on a record is the stored outcome of the candidate it picks. This
 * module is pure given the loaded run (data.ts) and each policy's per-record decisions
 * (harness/route/decide.ts); the figures and their definitions are in metrics.ts and curves.ts.
 */
import type { BinaryMetric } from '../compare/compare.js';
import type { Projection } from '../report/projection.js';
import { simulatedNotice } from '../report/report.js';
import { completeRecords, type MissingCounts, type RouteRun } from './data.js';
import {
  type Arm,
  type ArmFigures,
  armFigures,
  armValues,
  type CheaperAndNoWorse,
  cheaperAndNoWorse,
  type Escalation,
  escalation,
  neededTier,
  type Outcomes,
  oracleChoice,
  type Recommendation,
  recommend,
  relativeTiers,
  singleArm,
  subsetArm,
  subsetOutcomes,
  tiers,
} from './metrics.js';
import { aboveHull, apgr, type CurvePoint, cpt, type HullPoint, pgr, zeroRouterHull } from './curves.js';

export type Side = 'tune' | 'holdout';
export type SideChoice = Side | 'all';

/** In `PolicyRouting.fixed`: the score threshold decides this record. */
export const BY_THRESHOLD = -2;
/** In `PolicyRouting.via`: how a record was routed (a rule's index is ≥ 0). */
export const VIA_DEFAULT = -1;
export const VIA_ROUTER = -2;
export const VIA_FALLBACK = -3;

export interface ScoreRouting {
  /** The router's score per run record; NaN where it was not consulted or gave no score. */
  values: Float64Array;
  below: number;
  above: number;
  /** The thresholds swept, ascending (the operating point included when given). */
  thresholds: number[];
  /** The configured operating point, or null: then it is fitted. */
  threshold: number | null;
  fit: { min_pgr?: number; non_inferior?: boolean };
}

export interface RouterRouting {
  name: string;
  model: string;
  kind: 'labels' | 'score';
  /** Per run record: the router's cost (0 where it was not consulted; NaN when unknown). */
  cost: Float64Array;
  latency: Float64Array;
  calls: { reused: number; made: number; errors: number };
  score: ScoreRouting | null;
}

/** One policy's decisions over the run's records (aligned with RouteRun.records). */
export interface PolicyRouting {
  name: string;
  file: string;
  description?: string;
  /** Candidate index per record, or BY_THRESHOLD. */
  fixed: Int32Array;
  /** Rule index per record, or VIA_DEFAULT / VIA_ROUTER / VIA_FALLBACK. */
  via: Int32Array;
  rules: { route: string; when: unknown }[];
  router: RouterRouting | null;
  /** The candidates the policy can route to (default, rules, labels, below/above, fallback). */
  reachable: number[];
}

export interface RouteSettings {
  alpha: number;
  margin: number;
  by?: string;
  fitOn: SideChoice;
  evaluateOn: SideChoice;
  /** Side of each run record; null when the run has no split (then both choices must be 'all'). */
  sides: Side[] | null;
  /** Where the split came from, for the report. */
  split: { fraction: number; key: string; source: string } | null;
}

// --- the result ------------------------------------------------------------------------------------

export interface NamedFigures extends ArmFigures {
  name: string;
  /** PGR against tier 0 (weak) and the strongest single candidate (strong); NaN when undefined. */
  pgr: number;
  aboveHull: boolean | null;
}

export interface SweepPoint {
  threshold: number;
  /** Share of records sent to `above`. */
  escalationShare: number;
  passRate: number;
  meanScore: number;
  per1kRecords: number | null;
  /** Against `below` (weak) and `above` (strong) alone. */
  pgr: number;
  aboveHull: boolean | null;
  /** The policy's operating point. */
  chosen: boolean;
}

export interface Sweep {
  below: string;
  above: string;
  points: SweepPoint[];
  apgr: number;
  cpt50: number;
  cpt80: number;
}

export interface SliceFigures {
  value: string | null;
  n: number;
  /** Pass rate, cost per 1K records and escalation share of each arm: singles, oracle, policies. */
  arms: { name: string; passRate: number; per1kRecords: number | null; escalationShare: number }[];
}

export interface PolicyResult {
  name: string;
  file: string;
  description: string | null;
  /** `escalationShare` counts records sent above the policy's own cheapest candidate. */
  figures: NamedFigures;
  /** The policy's own cheapest candidate (its tier 0) and its strongest (highest pass rate). */
  cheapest: string;
  strongest: string;
  /** PGR between those two (`figures.pgr` is between the run's cheapest and strongest). */
  pgr: number;
  /** How records were routed, over the evaluated records. */
  routedBy: {
    rules: { index: number; route: string; records: number }[];
    router: number;
    fallback: number;
    default: number;
  };
  threshold: {
    value: number;
    /** True when chosen by `fit` rather than configured. */
    fitted: boolean;
    /** The records it was fitted on. */
    fittedOn: SideChoice | null;
    /** What the fit asked for, and whether a threshold met it (else the best PGR was taken). */
    criterion: string | null;
    met: boolean | null;
  } | null;
  router: {
    name: string;
    model: string;
    kind: 'labels' | 'score';
    /** Router calls on the evaluated records (consulted), and their total cost. */
    consulted: number;
    costUsd: number | null;
    calls: { reused: number; made: number; errors: number };
  } | null;
  comparison: CheaperAndNoWorse;
  escalation: Escalation;
  sweep: Sweep | null;
}

export interface RouteResult {
  version: 1;
  simulated: boolean;
  warnings: string[];
  run: { id: number; suite: string; status: string; repeats: number; records: number };
  settings: {
    alpha: number;
    margin: number;
    confidence: number;
    by: string | null;
    fitOn: SideChoice;
    evaluateOn: SideChoice;
    split: RouteSettings['split'];
    percentiles: 'type-7';
  };
  /** Records evaluated (every candidate scored, on the evaluated side), and what was left out. */
  records: { total: number; complete: number; evaluated: number; fittedOn: number; missing: MissingCounts[] };
  candidates: { name: string; model: string; tier: number; meanCostUsd: number | null }[];
  cheapest: string;
  strongest: string;
  singles: NamedFigures[];
  oracle: NamedFigures & { escalation: Escalation };
  /** Vertices of the zero-router hull (x: cost per 1K records, y: pass rate), cheapest first. */
  hull: { candidate: string; per1kRecords: number; passRate: number }[];
  policies: PolicyResult[];
  slices: SliceFigures[];
  recommendations: ({ slice: string | null } & Recommendation)[];
  /** `--project`: singles and policies at the production mix and volume (results/route/projection.ts). */
  projection?: Projection;
  notes: string[];
}

// --- building it -----------------------------------------------------------------------------------

/** The run's outcomes on the records `idx` (the evaluated side of a split, the complete records). */
export function outcomesOf(r: RouteRun, idx: readonly number[]): Outcomes {
  const all: Outcomes = {
    n: r.records.length,
    k: r.candidates.length,
    names: r.candidates.map((c) => c.name),
    pass: r.pass,
    score: r.score,
    cost: r.cost,
    latency: r.latency,
    perPrompt: r.run.repeats > 1,
  };
  return subsetOutcomes(all, idx);
}

function onSide(settings: RouteSettings, i: number, side: SideChoice): boolean {
  return side === 'all' || settings.sides?.[i] === side;
}

/** The arm of a policy over every run record, with the score threshold applied. */
export function policyArm(p: PolicyRouting, threshold: number | null): Arm {
  const n = p.fixed.length;
  const choice = new Int32Array(n);
  const s = p.router?.score ?? null;
  for (let i = 0; i < n; i++) {
    const f = p.fixed[i]!;
    if (f !== BY_THRESHOLD) choice[i] = f;
    else choice[i] = threshold !== null && s!.values[i]! >= threshold ? s!.above : s!.below;
  }
  return { choice, routerCost: p.router?.cost ?? null, routerLatency: p.router?.latency ?? null };
}

const DEFAULT_FIT = { min_pgr: 0.9 };

export function buildRouteResult(
  r: RouteRun,
  policies: readonly PolicyRouting[],
  settings: RouteSettings,
): RouteResult {
  const complete = completeRecords(r);
  const allIdx = r.records.map((_, i) => i).filter((i) => complete[i]);
  const evalIdx = allIdx.filter((i) => onSide(settings, i, settings.evaluateOn));
  const fitIdx = allIdx.filter((i) => onSide(settings, i, settings.fitOn));
  const names = r.candidates.map((c) => c.name);
  const o = outcomesOf(r, evalIdx);
  const tier = tiers(o);
  const notes: string[] = [];
  const warnings: string[] = r.simulated.length > 0 ? [simulatedNotice(r.simulated)] : [];
  if (o.n === 0) {
    throw new EmptyEvaluation(
      allIdx.length === 0
        ? `no record of run ${r.run.id} has a scored answer from every candidate`
        : `no record on the ${settings.evaluateOn} side of the split has a scored answer from every candidate`,
    );
  }

  // Single candidates, the strongest and the cheapest.
  const singleValues = names.map((_, j) => armValues(o, singleArm(o, j)));
  const singleFigs = names.map((_, j) => armFigures(o, singleArm(o, j), tier, singleValues[j]));
  const cheapest = tier.indexOf(0);
  let strongest = 0;
  for (let j = 1; j < names.length; j++) {
    const a = singleFigs[j]!.passRate.p;
    const b = singleFigs[strongest]!.passRate.p;
    if (a > b || (a === b && tier[j]! < tier[strongest]!)) strongest = j;
  }
  const qWeak = singleFigs[cheapest]!.passRate.p;
  const qStrong = singleFigs[strongest]!.passRate.p;
  const hull = zeroRouterHull(
    singleFigs.map((f, j) => ({ x: f.cost.per1kRecords ?? Number.NaN, y: f.passRate.p, name: names[j]! })),
  );
  const named = (name: string, f: ArmFigures): NamedFigures => ({
    name,
    ...f,
    pgr: pgr(f.passRate.p, qWeak, qStrong),
    aboveHull: aboveHull(hull, f.cost.per1kRecords, f.passRate.p),
  });
  const singles = singleFigs.map((f, j) => named(names[j]!, f));
  const need = neededTier(o, tier);
  const oracleArm: Arm = { choice: oracleChoice(o, tier), routerCost: null, routerLatency: null };
  const oracle = {
    ...named('oracle', armFigures(o, oracleArm, tier)),
    escalation: escalation(oracleArm.choice, tier, need),
  };

  // Policies.
  const fitO = outcomesOf(r, fitIdx);
  const results: PolicyResult[] = [];
  const policyArms: { name: string; arm: Arm; tier: number[] }[] = [];
  for (const p of policies) {
    const s = p.router?.score ?? null;
    let threshold: PolicyResult['threshold'] = null;
    if (s) {
      if (s.threshold !== null) {
        threshold = { value: s.threshold, fitted: false, fittedOn: null, criterion: null, met: null };
      } else {
        if (fitO.n === 0) {
          throw new EmptyEvaluation(
            `no record to fit the threshold of policy ${p.name} on (--fit-on ${settings.fitOn})`,
          );
        }
        const fit = fitThreshold(p, s, fitO, fitIdx, settings);
        threshold = { ...fit, fitted: true, fittedOn: settings.fitOn };
        const overlap =
          settings.fitOn === 'all' || settings.evaluateOn === 'all' || settings.fitOn === settings.evaluateOn;
        if (overlap) {
          warnings.push(
            `WARNING: the threshold of policy ${p.name} (${fit.value}) was fitted on the records it is evaluated ` +
              `on (fit on ${settings.fitOn}, evaluated on ${settings.evaluateOn}): its figures overstate it. ` +
              'Fit on one side of the split and evaluate on the other: --fit-on tune --evaluate-on holdout.',
          );
        }
      }
    }
    const full = policyArm(p, threshold?.value ?? null);
    const arm = subsetArm(full, evalIdx);
    const ptier = relativeTiers(tier, p.reachable);
    policyArms.push({ name: p.name, arm, tier: ptier });
    const values = armValues(o, arm);
    const figures = named(p.name, armFigures(o, arm, ptier, values));
    const own = p.reachable.find((j) => ptier[j] === 0)!;
    let ownStrong = own;
    for (const j of p.reachable) {
      const a = singleFigs[j]!.passRate.p;
      const b = singleFigs[ownStrong]!.passRate.p;
      if (a > b || (a === b && ptier[j]! < ptier[ownStrong]!)) ownStrong = j;
    }
    const routedBy = {
      rules: p.rules.map((x, index) => ({ index, route: x.route, records: 0 })),
      router: 0,
      fallback: 0,
      default: 0,
    };
    let consulted = 0;
    for (const i of evalIdx) {
      const v = p.via[i]!;
      if (v >= 0) routedBy.rules[v]!.records++;
      else if (v === VIA_ROUTER) routedBy.router++;
      else if (v === VIA_FALLBACK) routedBy.fallback++;
      else routedBy.default++;
      if (v === VIA_ROUTER || v === VIA_FALLBACK) consulted++;
    }
    results.push({
      name: p.name,
      file: p.file,
      description: p.description ?? null,
      figures,
      cheapest: names[own]!,
      strongest: names[ownStrong]!,
      pgr: pgr(figures.passRate.p, singleFigs[own]!.passRate.p, singleFigs[ownStrong]!.passRate.p),
      routedBy,
      threshold,
      router: p.router && {
        name: p.router.name,
        model: p.router.model,
        kind: p.router.kind,
        consulted,
        costUsd: figures.cost.routerUsd,
        calls: p.router.calls,
      },
      comparison: cheaperAndNoWorse(
        singleValues[strongest]!,
        values,
        names[strongest]!,
        settings,
        o.perPrompt,
      ),
      escalation: escalation(arm.choice, ptier, neededTier(o, ptier, p.reachable)),
      sweep:
        s && s.thresholds.length > 0 ? sweep(p, s, o, evalIdx, hull, names, threshold?.value ?? null) : null,
    });
    if (p.router && figures.cost.routerUsd === null && consulted > 0) {
      notes.push(`${p.name}: the router's cost is unknown (no price), so the policy's cost leaves it out.`);
    }
  }

  // Slices and recommendations.
  const slices: SliceFigures[] = [];
  const recommendations: RouteResult['recommendations'] = [
    { slice: null, ...recommend(o, range(o.n), settings) },
  ];
  if (settings.by !== undefined) {
    const by = settings.by;
    const groups = new Map<string | null, number[]>();
    evalIdx.forEach((i, row) => {
      const v = r.records[i]!.tags[by] ?? null;
      const g = groups.get(v);
      if (g) g.push(row);
      else groups.set(v, [row]);
    });
    if ([...groups.keys()].every((v) => v === null)) {
      throw new EmptyEvaluation(`no evaluated record has a tag '${by}'`, 'USAGE');
    }
    const values = [...groups.keys()].sort((a, b) =>
      a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0,
    );
    for (const v of values) {
      const rows = groups.get(v)!;
      const so = subsetOutcomes(o, rows);
      const armsHere: { name: string; arm: Arm; tier: number[] }[] = [
        ...names.map((name, j) => ({ name, arm: singleArm(so, j), tier })),
        { name: 'oracle', arm: subsetArm(oracleArm, rows), tier },
        ...policyArms.map((x) => ({ name: x.name, arm: subsetArm(x.arm, rows), tier: x.tier })),
      ];
      slices.push({
        value: v,
        n: rows.length,
        arms: armsHere.map(({ name, arm, tier: t }) => {
          const f = armFigures(so, arm, t);
          return {
            name,
            passRate: f.passRate.p,
            per1kRecords: f.cost.per1kRecords,
            escalationShare: f.escalationShare,
          };
        }),
      });
      recommendations.push({ slice: v, ...recommend(o, rows, settings) });
    }
    const small = slices.filter((x) => x.n < 30).map((x) => x.value ?? '(no tag)');
    if (small.length > 0)
      notes.push(`Slices with fewer than 30 records are descriptive only: ${small.join(', ')}.`);
  }

  // Notes.
  const left = r.records.length - allIdx.length;
  if (left > 0) {
    const why = r.missing
      .filter((m) => m.absent + m.errored + m.unscored > 0)
      .map((m) => `${m.candidate}: ${m.errored} errored, ${m.unscored} unscored, ${m.absent} missing`)
      .join('; ');
    notes.push(`${left} records left out: not every candidate has a scored answer on them (${why}).`);
  }
  if (r.excluded.length > 0) {
    notes.push(`Left out, without a single scored answer in the run: ${r.excluded.join(', ')}.`);
  }
  if (r.run.status !== 'finished')
    notes.push(`The run is ${r.run.status}: figures cover only the calls stored so far.`);
  if (o.perPrompt) {
    notes.push(
      `${r.run.repeats} repeats per record: each candidate's outcome on a record is the mean of its repeats; ` +
        'pass rates use a t interval over records and the paired test is a paired t.',
    );
  }
  if (o.n < 100)
    notes.push(
      `Only ${o.n} records evaluated (fewer than 100): intervals are wide, read differences with care.`,
    );
  const unknownCost = singles.filter((s) => s.cost.unknown > 0).map((s) => s.name);
  if (unknownCost.length > 0)
    notes.push(
      `Cost unknown on some records (no price) for ${unknownCost.join(', ')}: left out of cost figures.`,
    );
  if (qStrong <= qWeak) {
    notes.push(
      `The cheapest candidate (${names[cheapest]}) passes as often as the strongest (${names[strongest]}): ` +
        'PGR is undefined, and no routing can beat sending everything to the cheapest.',
    );
  }

  return {
    version: 1,
    simulated: r.simulated.length > 0,
    warnings,
    run: {
      id: r.run.id,
      suite: r.run.suite,
      status: r.run.status,
      repeats: r.run.repeats,
      records: r.records.length,
    },
    settings: {
      alpha: settings.alpha,
      margin: settings.margin,
      confidence: 1 - 2 * settings.alpha,
      by: settings.by ?? null,
      fitOn: settings.fitOn,
      evaluateOn: settings.evaluateOn,
      split: settings.split,
      percentiles: 'type-7',
    },
    records: {
      total: r.records.length,
      complete: allIdx.length,
      evaluated: o.n,
      fittedOn: fitIdx.length,
      missing: r.missing,
    },
    candidates: r.candidates.map((c, j) => ({
      name: c.name,
      model: c.model,
      tier: tier[j]!,
      meanCostUsd: singles[j]!.cost.per1kRecords === null ? null : singles[j]!.cost.per1kRecords! / 1000,
    })),
    cheapest: names[cheapest]!,
    strongest: names[strongest]!,
    singles,
    oracle,
    hull: hull.map((h) => ({ candidate: h.name, per1kRecords: h.x, passRate: h.y })),
    policies: results,
    slices,
    recommendations,
    notes,
  };
}

/** Raised when there is nothing to evaluate; the CLI turns it into a usage error. */
export class EmptyEvaluation extends Error {
  constructor(
    message: string,
    readonly kind: 'EMPTY' | 'USAGE' = 'EMPTY',
  ) {
    super(message);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * The operating threshold fitted on `fitO` (records `fitIdx` of the run): the cheapest threshold
 * (lowest cost per record, router included; ties: the higher threshold) that meets the criterion —
 * PGR ≥ min_pgr against below/above, or non-inferiority to the strongest single candidate on the fit
 * records. When none meets it, the threshold with the highest PGR (ties: cheaper).
 */
function fitThreshold(
  p: PolicyRouting,
  s: ScoreRouting,
  fitO: Outcomes,
  fitIdx: readonly number[],
  settings: RouteSettings,
): { value: number; criterion: string; met: boolean } {
  const fit = s.fit.min_pgr !== undefined || s.fit.non_inferior !== undefined ? s.fit : DEFAULT_FIT;
  const tier = tiers(fitO);
  const rate = (j: number) => armFigures(fitO, singleArm(fitO, j), tier).passRate.p;
  const qBelow = rate(s.below);
  const qAbove = rate(s.above);
  let strongest = 0;
  for (let j = 1; j < fitO.k; j++) if (rate(j) > rate(strongest)) strongest = j;
  const strongValues = armValues(fitO, singleArm(fitO, strongest));
  const candidates = s.thresholds.map((t) => {
    const arm = subsetArm(policyArm(p, t), fitIdx);
    const v = armValues(fitO, arm);
    const f = armFigures(fitO, arm, tier, v);
    const g = pgr(f.passRate.p, qBelow, qAbove);
    let met: boolean;
    if (fit.min_pgr !== undefined) met = g >= fit.min_pgr;
    else {
      const m: BinaryMetric = cheaperAndNoWorse(
        strongValues,
        v,
        fitO.names[strongest]!,
        settings,
        fitO.perPrompt,
      ).quality;
      met = m.nonInferiority.p < settings.alpha;
    }
    return { t, cost: f.cost.per1kRecords ?? Number.POSITIVE_INFINITY, pgr: g, met };
  });
  const criterion =
    fit.min_pgr !== undefined
      ? `cheapest threshold with PGR ≥ ${fit.min_pgr}`
      : `cheapest threshold non-inferior to ${fitO.names[strongest]} at ${(settings.margin * 100).toFixed(1)} points`;
  const ok = candidates.filter((c) => c.met).sort((a, b) => a.cost - b.cost || b.t - a.t);
  if (ok.length > 0) return { value: ok[0]!.t, criterion, met: true };
  const best = [...candidates].sort(
    (a, b) => (Number.isNaN(b.pgr) ? -1 : b.pgr) - (Number.isNaN(a.pgr) ? -1 : a.pgr) || a.cost - b.cost,
  );
  return { value: best[0]!.t, criterion, met: false };
}

function sweep(
  p: PolicyRouting,
  s: ScoreRouting,
  o: Outcomes,
  evalIdx: readonly number[],
  hull: readonly HullPoint[],
  names: readonly string[],
  chosen: number | null,
): Sweep {
  const tier = tiers(o);
  const q = (j: number) => armFigures(o, singleArm(o, j), tier).passRate.p;
  const qBelow = q(s.below);
  const qAbove = q(s.above);
  const points: SweepPoint[] = s.thresholds.map((t) => {
    const arm = subsetArm(policyArm(p, t), evalIdx);
    const f = armFigures(o, arm, tier);
    return {
      threshold: t,
      escalationShare: f.share[s.above]!,
      passRate: f.passRate.p,
      meanScore: f.meanScore.mean,
      per1kRecords: f.cost.per1kRecords,
      pgr: pgr(f.passRate.p, qBelow, qAbove),
      aboveHull: aboveHull(hull, f.cost.per1kRecords, f.passRate.p),
      chosen: t === chosen,
    };
  });
  const curve: CurvePoint[] = points.map((x) => ({ c: x.escalationShare, pgr: x.pgr }));
  return {
    below: names[s.below]!,
    above: names[s.above]!,
    points,
    apgr: apgr(curve),
    cpt50: cpt(curve, 0.5),
    cpt80: cpt(curve, 0.8),
  };
}
