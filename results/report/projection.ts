/**
 * `--project`: figures at the production mix and volume (SEQUENTIAL.md §2). The frame (strata,
 * their production counts N_h, the monthly volume, a known auxiliary total) is assembled here from
 * data read at the edges (the sample manifest, a pool file, an import manifest: `ProjectionSources`)
 * and the run's records' tags; the estimators are results/stats/projection.ts.
 *
 * Per arm (a candidate, or a routing policy), over prompts with a scored answer (repeats averaged):
 * cost per month (or per 1K requests without a volume), pass rate, mean score and cost per passing
 * request, each with its interval; per pair, the same on the per-prompt differences D = B − A.
 * Costs and pass rates of the frame use its finite-population correction when the frame is the one
 * the sample was drawn from (the manifest's); monthly totals never do (future traffic is a new draw).
 */
import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import {
  combinedRatio,
  knownAuxiliaryMean,
  type StratifiedEstimate,
  type StratumValues,
  scaleEstimate,
  stratifiedCost,
  stratifiedMean,
  stratifiedPassRate,
} from '../stats/projection.js';
import { clipInterval } from '../stats/stats.js';
import { parseTags } from '../store/tags.js';
import type { Store } from '../store/store.js';

export const DAYS_PER_MONTH = 30.4375;
/** Seed of the within-stratum bootstrap (the report's paired bootstraps use 1 as well). */
export const PROJECTION_SEED = 1;
/** The stratum of records without the tag, and of an unstratified frame (as `holdout sample` names them). */
export const NO_STRATUM = '(none)';
export const ALL_STRATUM = '(all)';

// --- what the edges read -----------------------------------------------------------------------------

/** A file of production requests (`--volume-from`): counted, its timestamps' span, per-tag counts. */
export interface PoolSummary {
  path: string;
  records: number;
  /** Records with a readable timestamp; first and last of them (ms since the epoch), null without any. */
  timestamped: number;
  first: number | null;
  last: number | null;
  /** The tag counted per value (records without it under '(none)'), or null. */
  tag: string | null;
  counts: Record<string, number> | null;
  /** Logged input tokens (production usage): records that have them and their sum. */
  inputTokens: { records: number; total: number };
}

export interface ProjectionSources {
  /** The run's sample manifest (stored with the run, else beside its dataset), the fields used here. */
  manifest: {
    stratify: string | null;
    composition: { stratum: string; source_n: number; sample_n: number }[];
    window: { since: string | null; until: string | null } | null;
    span?: { first: string; last: string; records: number };
    dedup: { enabled: boolean; removed: number };
  } | null;
  pool: PoolSummary | null;
  /** The span an import manifest states for the run's data (`<file>.import.json`). */
  importSpan: { path: string; first: string; last: string; records: number } | null;
  /** `--volume`: requests per month. */
  volume: number | null;
  /** How the output names where `volume` came from (default `--volume`; the viewer's link says `volume=`). */
  volumeLabel?: string;
  /** `--post-stratify TAG`. */
  postStratify: string | null;
}

// --- the result -----------------------------------------------------------------------------------

export interface ProjectionFrame {
  /** Where N_h came from. */
  source: 'sample manifest' | 'post-stratification' | 'none';
  tag: string | null;
  strata: { key: string; N: number; share: number; sampled: number }[];
  /** Whether the frame is the population the sample was drawn from (its FPC applies). */
  fpc: boolean;
  volume: { perMonth: number; source: string; assumption: string } | null;
  /** A known auxiliary mean per request (logged input tokens), for the ratio estimator of cost. */
  auxiliary: { name: string; perRequest: number; source: string } | null;
  /** Run records whose stratum the frame has no count for: left out, listed. */
  outsideFrame: { records: number; values: string[] };
  /** Duplicate prompts the sample dropped before drawing (manifest frames only; absent when none). */
  dedupRemoved?: number;
}

export interface ArmProjection {
  name: string;
  kind: 'candidate' | 'policy';
  /** Per month with a volume, else per 1K requests; null when no cost is known. */
  cost: StratifiedEstimate | null;
  costMethod: 'stratified-t' | 'bootstrap' | 'known-auxiliary-ratio' | null;
  passRate: StratifiedEstimate;
  meanScore: StratifiedEstimate;
  /** Combined ratio Σ cost / Σ passes at the production mix (z interval); null without cost or passes. */
  costPerPass: StratifiedEstimate | null;
}

export interface DifferenceProjection {
  /** A (the reference) and B: differences are B − A per prompt. */
  baseline: string;
  candidate: string;
  cost: StratifiedEstimate | null;
  costMethod: ArmProjection['costMethod'];
  passRate: StratifiedEstimate;
  meanScore: StratifiedEstimate;
}

export interface Projection {
  version: 1;
  confidence: 0.95;
  /** What the cost figures are per. */
  per: 'month' | '1k requests';
  frame: ProjectionFrame;
  arms: ArmProjection[];
  differences: DifferenceProjection[];
  notes: string[];
}

// --- the frame ------------------------------------------------------------------------------------

export interface UnitRecord {
  tags: Record<string, string>;
  /** Logged production input tokens; NaN when the record has none. */
  x: number;
}

function usage(message: string, hint?: string): HarnessError {
  return new HarnessError('USAGE', message, { hint: hint ?? 'see `docs/projection.md`' });
}

const DAY_MS = 86_400_000;

function perMonth(records: number, fromMs: number, toMs: number, what: string) {
  const days = (toMs - fromMs) / DAY_MS;
  if (!(days > 0)) return null;
  return {
    perMonth: (records * DAYS_PER_MONTH) / days,
    source: what,
    assumption:
      `${records.toLocaleString('en-US')} requests over ${days.toFixed(2)} days × ${DAYS_PER_MONTH} days/month; ` +
      'the rate and the mix are assumed stable',
  };
}

function volumeOf(s: ProjectionSources): ProjectionFrame['volume'] {
  if (s.volume !== null) {
    return {
      perMonth: s.volume,
      source: s.volumeLabel ?? '--volume',
      assumption: 'as given; the mix is assumed stable',
    };
  }
  const p = s.pool;
  if (p) {
    if (p.timestamped === 0) {
      throw usage(
        `${p.path}: no record has a timestamp, so no monthly volume can be derived from it`,
        'give the volume with --volume N (requests per month)',
      );
    }
    const v = perMonth(p.timestamped, p.first!, p.last!, `${p.path} (first to last timestamp)`);
    if (!v)
      throw usage(
        `${p.path}: every timestamp is the same instant: no time span to derive a volume from`,
        'give --volume N',
      );
    if (p.timestamped < p.records) {
      v.assumption += `; ${p.records - p.timestamped} records without a timestamp are not counted`;
    }
    return v;
  }
  const m = s.manifest;
  if (m?.span) {
    const from = Date.parse(m.window?.since ?? m.span.first);
    const to = Date.parse(m.window?.until ?? m.span.last);
    const v = perMonth(
      m.span.records,
      from,
      to,
      m.window ? "the sample's window" : "the sample's source (first to last timestamp)",
    );
    if (v) return v;
  }
  const i = s.importSpan;
  if (i)
    return perMonth(
      i.records,
      Date.parse(i.first),
      Date.parse(i.last),
      `${i.path} (first to last timestamp)`,
    );
  return null;
}

/**
 * The frame of a run: N_h per stratum from the sample manifest, or from a pool's counts when
 * post-stratifying on a tag, or one stratum (the run's own records) without either.
 */
export function assembleFrame(s: ProjectionSources, records: readonly UnitRecord[]): ProjectionFrame {
  if (s.volume !== null && !(s.volume > 0 && Number.isFinite(s.volume))) {
    throw usage(`--volume must be a positive number of requests per month, got ${s.volume}`);
  }
  const m = s.manifest;
  let source: ProjectionFrame['source'];
  let tag: string | null;
  let counts: Map<string, number>;
  let fpc: boolean;
  const post = s.postStratify;
  if (post !== null && post !== m?.stratify) {
    if (!records.some((r) => post in r.tags)) {
      const names = [...new Set(records.flatMap((r) => Object.keys(r.tags)))].sort();
      throw usage(
        `--post-stratify ${post}: no record of the run has a tag '${post}'`,
        names.length > 0
          ? `the records' tags are: ${names.join(', ')}`
          : 'the records of this run have no tags',
      );
    }
    if (m?.stratify) {
      throw usage(
        `--post-stratify ${post}: the sample is stratified by '${m.stratify}', so its prompts are not a simple random sample within '${post}'`,
        `drop --post-stratify (the sample's own strata weigh it), or --post-stratify ${m.stratify}`,
      );
    }
    if (!s.pool) {
      throw usage(
        `--post-stratify ${post} needs the production count of each value: give --volume-from pool.jsonl`,
      );
    }
    source = 'post-stratification';
    tag = post;
    counts = new Map(Object.entries(s.pool.counts ?? {}));
    fpc = false;
  } else if (m) {
    source = 'sample manifest';
    tag = m.stratify;
    counts = new Map(m.composition.map((c) => [c.stratum, c.source_n]));
    fpc = true;
  } else {
    source = 'none';
    tag = null;
    counts = new Map([[ALL_STRATUM, s.pool?.records ?? records.length]]);
    fpc = false;
  }
  const stratumOf = (r: UnitRecord) => (tag === null ? ALL_STRATUM : (r.tags[tag] ?? NO_STRATUM));
  const sampled = new Map<string, number>();
  for (const r of records) sampled.set(stratumOf(r), (sampled.get(stratumOf(r)) ?? 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const strata = [...counts]
    .filter(([, n]) => n > 0)
    .map(([key, N]) => ({ key, N, share: N / total, sampled: sampled.get(key) ?? 0 }))
    .sort((a, b) => b.N - a.N || (a.key < b.key ? -1 : 1));
  const outside = [...sampled].filter(([k]) => !((counts.get(k) ?? 0) > 0));
  const p = s.pool;
  const auxiliary =
    p && p.inputTokens.records === p.records && p.records > 0
      ? { name: 'input tokens (logged)', perRequest: p.inputTokens.total / p.records, source: p.path }
      : null;
  return {
    source,
    tag,
    strata,
    fpc,
    volume: volumeOf(s),
    auxiliary,
    outsideFrame: { records: outside.reduce((t, [, n]) => t + n, 0), values: outside.map(([k]) => k).sort() },
    ...(source === 'sample manifest' && m?.dedup.enabled && m.dedup.removed > 0
      ? { dedupRemoved: m.dedup.removed }
      : {}),
  };
}

// --- the estimates --------------------------------------------------------------------------------

/** One arm's per-record outcomes, aligned with the records; NaN where it has none. */
export interface ArmValues {
  name: string;
  kind: 'candidate' | 'policy';
  pass: ArrayLike<number>;
  score: ArrayLike<number>;
  cost: ArrayLike<number>;
}

/**
 * The values y(i) of the records, per frame stratum; with `x`, the auxiliary beside them (the
 * record's logged tokens by default). A record enters when y (and x) is a number and the frame
 * counts its stratum.
 */
function strataOf(
  frame: ProjectionFrame,
  records: readonly UnitRecord[],
  y: (i: number) => number,
  x?: (i: number) => number,
): StratumValues[] {
  const index = new Map(frame.strata.map((s, h) => [s.key, h]));
  const ys = frame.strata.map(() => [] as number[]);
  const xs = frame.strata.map(() => [] as number[]);
  records.forEach((r, i) => {
    const h = index.get(frame.tag === null ? ALL_STRATUM : (r.tags[frame.tag] ?? NO_STRATUM));
    const v = y(i);
    const w = x ? x(i) : 0;
    if (h === undefined || Number.isNaN(v) || Number.isNaN(w)) return;
    ys[h]!.push(v);
    xs[h]!.push(w);
  });
  return frame.strata.map((s, h) => ({
    key: s.key,
    // A stratum sampled more often than the frame counts (a pool smaller than the sample) keeps N ≥ n.
    N: Math.max(s.N, ys[h]!.length),
    y: ys[h]!,
    ...(x ? { x: xs[h]! } : {}),
  }));
}

function costEstimate(
  frame: ProjectionFrame,
  records: readonly UnitRecord[],
  y: (i: number) => number,
): { cost: StratifiedEstimate | null; method: ArmProjection['costMethod'] } {
  const plain = strataOf(frame, records, y);
  if (plain.every((s) => s.y.length === 0)) return { cost: null, method: null };
  const monthly = frame.volume !== null;
  const scale = monthly ? frame.volume!.perMonth : 1000;
  const opts = { fpc: monthly ? false : frame.fpc, seed: PROJECTION_SEED };
  const aux = frame.auxiliary;
  // The ratio estimator needs the logged tokens of every prompt it uses.
  const logged = (i: number) => (Number.isNaN(y(i)) ? 0 : records[i]!.x);
  const withX = strataOf(frame, records, y, (i) => records[i]!.x);
  if (aux && records.every((_, i) => Number.isFinite(logged(i)))) {
    return {
      cost: scaleEstimate(knownAuxiliaryMean(withX, aux.perRequest, opts), scale),
      method: 'known-auxiliary-ratio',
    };
  }
  const e = stratifiedCost(plain, opts);
  return { cost: scaleEstimate(e, scale), method: e.method === 'bootstrap' ? 'bootstrap' : 'stratified-t' };
}

function armProjection(frame: ProjectionFrame, records: readonly UnitRecord[], a: ArmValues): ArmProjection {
  const opts = { fpc: frame.fpc };
  const { cost, method } = costEstimate(frame, records, (i) => a.cost[i]!);
  const passRate = stratifiedPassRate(
    strataOf(frame, records, (i) => a.pass[i]!),
    opts,
  );
  const meanScore = clipInterval(
    stratifiedMean(
      strataOf(frame, records, (i) => a.score[i]!),
      opts,
    ),
    0,
    1,
  );
  // Cost per passing request: the combined ratio of cost to pass over prompts with both.
  const costPerPass =
    cost && passRate.estimate > 0
      ? combinedRatio(
          strataOf(
            frame,
            records,
            (i) => a.cost[i]!,
            (i) => a.pass[i]!,
          ),
          opts,
        )
      : null;
  return { name: a.name, kind: a.kind, cost, costMethod: method, passRate, meanScore, costPerPass };
}

function difference(
  frame: ProjectionFrame,
  records: readonly UnitRecord[],
  a: ArmValues,
  b: ArmValues,
): DifferenceProjection {
  const d = (xa: ArrayLike<number>, xb: ArrayLike<number>) => (i: number) => xb[i]! - xa[i]!;
  const opts = { fpc: frame.fpc };
  const { cost, method } = costEstimate(frame, records, d(a.cost, b.cost));
  return {
    baseline: a.name,
    candidate: b.name,
    cost,
    costMethod: method,
    passRate: clipInterval(stratifiedMean(strataOf(frame, records, d(a.pass, b.pass)), opts), -1, 1),
    meanScore: clipInterval(stratifiedMean(strataOf(frame, records, d(a.score, b.score)), opts), -1, 1),
  };
}

/**
 * The projection of `arms` over `records` (aligned), and of each pair [a, b] (indices into arms) as
 * the per-prompt difference b − a.
 */
export function projectArms(
  frame: ProjectionFrame,
  records: readonly UnitRecord[],
  arms: readonly ArmValues[],
  pairs: readonly [number, number][],
): Projection {
  const out: Projection = {
    version: 1,
    confidence: 0.95,
    per: frame.volume ? 'month' : '1k requests',
    frame,
    arms: arms.map((a) => armProjection(frame, records, a)),
    differences: pairs.map(([i, j]) => difference(frame, records, arms[i]!, arms[j]!)),
    notes: [],
  };
  out.notes = projectionNotes(out);
  return out;
}

function projectionNotes(p: Projection): string[] {
  const f = p.frame;
  const notes: string[] = [];
  if (f.source === 'none') {
    notes.push(
      "No sample manifest and no post-stratification: the run's records are taken as a simple random sample of " +
        'production traffic (weigh them with --post-stratify TAG --volume-from pool.jsonl).',
    );
  }
  if (!f.volume)
    notes.push('No volume known: costs are per 1K requests (give --volume N or --volume-from pool.jsonl).');
  else
    notes.push(
      `Volume ${Math.round(f.volume.perMonth).toLocaleString('en-US')} requests/month from ${f.volume.source}: ${f.volume.assumption}.`,
    );
  if (f.outsideFrame.records > 0) {
    notes.push(
      `${f.outsideFrame.records} records left out: the frame has no count for their ${f.tag ?? 'stratum'} (${f.outsideFrame.values.join(', ')}).`,
    );
  }
  if (f.dedupRemoved) {
    // The manifest's counts are of distinct prompts; traffic repeats some, and the volume counts them all.
    notes.push(
      `The sample dropped ${f.dedupRemoved.toLocaleString('en-US')} duplicate prompts before drawing: stratum shares are of distinct prompts, ` +
        'the volume counts every request, so the mix assumes repeats fall across strata like the rest.',
    );
  }
  const all = [
    ...p.arms.flatMap((a) => [a.passRate, a.meanScore, a.cost]),
    ...p.differences.flatMap((d) => [d.passRate, d.cost]),
  ].filter((e): e is StratifiedEstimate => e !== null);
  const uncovered = new Map<string, number>();
  for (const e of all) for (const u of e.uncovered) uncovered.set(u.key, u.share);
  if (uncovered.size > 0) {
    const list = [...uncovered].map(([k, s]) => `${k} (${(s * 100).toFixed(1)}%)`).join(', ');
    notes.push(
      `Uncovered strata, without a scored prompt, not projected (the covered strata are renormalised): ${list}.`,
    );
  }
  const pooled = [...new Set(all.flatMap((e) => e.pooled))];
  if (pooled.length > 0)
    notes.push(`One prompt only, variance pooled from the other strata: ${pooled.join(', ')}.`);
  const small = [...new Set(all.flatMap((e) => e.small))].filter((k) => !pooled.includes(k));
  if (small.length > 0) notes.push(`Fewer than 10 prompts (read with care): ${small.join(', ')}.`);
  if (
    p.arms.some((a) => a.costMethod === 'bootstrap') ||
    p.differences.some((d) => d.costMethod === 'bootstrap')
  ) {
    notes.push(
      `Skewed costs at fewer than 10 degrees of freedom: cost intervals marked * are within-stratum bootstrap percentile intervals (seed ${PROJECTION_SEED}).`,
    );
  }
  if (f.auxiliary) {
    notes.push(
      `Costs use the ratio estimator on ${f.auxiliary.name}: ${f.auxiliary.perRequest.toFixed(1)} per request over ${f.auxiliary.source}.`,
    );
  }
  return notes;
}

// --- from the database ----------------------------------------------------------------------------

const RECORDS_SQL = `
  SELECT record_id, tags_json,
    coalesce(json_extract(body_json, '$.production.body.usage.prompt_tokens'),
      json_extract(body_json, '$.production.body.usage.input_tokens')) AS x
  FROM records WHERE run_id = ? ORDER BY seq`;

/* Per (record, candidate), over ok calls: pass share and mean score over scored calls, mean known cost. */
const OUTCOMES_SQL = `
  WITH per_call AS (
    SELECT c.record_id, c.status, c.cost_usd AS cost,
      CASE WHEN count(s.value) > 0 THEN min(s.passed IS 1) END AS pass, avg(s.value) AS score
    FROM calls c LEFT JOIN scores s ON s.call_id = c.id AND s.value IS NOT NULL
    WHERE c.run_id = @run AND c.candidate = @candidate AND c.role = 'candidate'
    GROUP BY c.id
  )
  SELECT record_id,
    avg(CASE WHEN status = 'ok' THEN pass END) AS pass,
    avg(CASE WHEN status = 'ok' AND pass IS NOT NULL THEN score END) AS score,
    avg(CASE WHEN status = 'ok' AND pass IS NOT NULL THEN cost END) AS cost
  FROM per_call GROUP BY record_id`;

function runRecords(db: Database.Database, runId: number): { ids: string[]; units: UnitRecord[] } {
  const rows = db.prepare(RECORDS_SQL).all(runId) as { record_id: string; tags_json: string; x: unknown }[];
  return {
    ids: rows.map((r) => r.record_id),
    units: rows.map((r) => ({ tags: parseTags(r.tags_json), x: typeof r.x === 'number' ? r.x : Number.NaN })),
  };
}

function armOf(
  db: Database.Database,
  runId: number,
  candidate: string,
  ids: readonly string[],
  name = candidate,
): ArmValues {
  const at = new Map(ids.map((id, i) => [id, i]));
  const nan = () => new Float64Array(ids.length).fill(Number.NaN);
  const arm = { name, kind: 'candidate' as const, pass: nan(), score: nan(), cost: nan() };
  for (const r of db.prepare(OUTCOMES_SQL).iterate({ run: runId, candidate }) as Iterable<{
    record_id: string;
    pass: number | null;
    score: number | null;
    cost: number | null;
  }>) {
    const i = at.get(r.record_id);
    // Only scored prompts enter: cost and score are paired with a pass.
    if (i === undefined || r.pass === null) continue;
    arm.pass[i] = r.pass;
    arm.score[i] = r.score ?? Number.NaN;
    arm.cost[i] = r.cost ?? Number.NaN;
  }
  return arm;
}

/** `report --project`: every candidate of the run, and each against `baseline` when given. */
export function projectRun(
  store: Store,
  runId: number,
  candidates: readonly string[],
  baseline: string | null,
  sources: ProjectionSources,
): Projection {
  const { ids, units } = runRecords(store.db, runId);
  const frame = assembleFrame(sources, units);
  const arms = candidates.map((c) => armOf(store.db, runId, c, ids));
  const b = baseline === null ? -1 : candidates.indexOf(baseline);
  const pairs: [number, number][] =
    b < 0 ? [] : candidates.flatMap((_, j) => (j === b ? [] : [[b, j] as [number, number]]));
  return projectArms(frame, units, arms, pairs);
}

/**
 * `compare --project`: A and B at the production mix and their paired difference, over run B's
 * records (its tags place them in strata); A's outcomes are looked up by record id in its own run.
 */
export function projectPair(
  store: Store,
  a: { runId: number; candidate: string; label: string },
  b: { runId: number; candidate: string; label: string },
  sources: ProjectionSources,
): Projection {
  const { ids, units } = runRecords(store.db, b.runId);
  const frame = assembleFrame(sources, units);
  const arms = [
    armOf(store.db, a.runId, a.candidate, ids, a.label),
    armOf(store.db, b.runId, b.candidate, ids, b.label),
  ];
  return projectArms(frame, units, arms, [[0, 1]]);
}
