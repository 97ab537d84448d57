/**
 * `buildReport`: one run's report model from the database alone, per candidate, per slice, and
 * against a baseline (baseline.ts).
 */
import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import type { RunRow, Store } from '../store/store.js';
import { percentile, wilson } from '../stats/stats.js';
import {
  type CallAggregate,
  type Collected,
  collect,
  emptyAcc,
  figures,
  groupBy,
  passRate,
  type ScorerAggregate,
  servedModels,
  addNullable,
} from './aggregate.js';
import { BOOTSTRAP_SEED, compareWithBaseline, MAX_RESAMPLES } from './baseline.js';
import { humanGrades } from './grades.js';
import { classificationSections } from './labels.js';
import {
  notes,
  sequentialNotes,
  simulatedNotice,
  type UnscoredDetail,
  unscoredScorerNotes,
} from './notes.js';
import { projectRun } from './projection.js';
import { scorersSql, TAG_NAMES_SQL, UNSCORED_DETAILS_SQL } from './queries.js';
import type {
  CandidateReport,
  PassRate,
  ReportOptions,
  RoleCost,
  RunHeader,
  RunReport,
  SliceReport,
} from './types.js';

const QUANTILE_STEPS = 100;

function tagPath(by: string): string {
  if (by === '' || /["\\]/.test(by)) {
    throw new HarnessError('USAGE', `cannot slice by tag ${JSON.stringify(by)}: give a tag name`, {
      hint: 'name a tag of the records, e.g. --by task',
    });
  }
  return `$."${by}"`;
}

function roleCosts(aggregates: CallAggregate[]): RoleCost[] {
  const out = new Map<string, RoleCost>();
  for (const role of ['candidate', 'judge', 'router']) {
    out.set(role, {
      role,
      calls: 0,
      costUsd: null,
      tokens: { input: 0, cached: 0, output: 0, reasoning: 0 },
    });
  }
  for (const g of aggregates) {
    let r = out.get(g.role);
    if (!r) {
      r = { role: g.role, calls: 0, costUsd: null, tokens: { input: 0, cached: 0, output: 0, reasoning: 0 } };
      out.set(g.role, r);
    }
    r.calls += g.calls;
    r.costUsd = addNullable(r.costUsd, g.cost);
    r.tokens.input += g.input_tokens;
    r.tokens.cached += g.cached_tokens;
    r.tokens.output += g.output_tokens;
    r.tokens.reasoning += g.reasoning_tokens;
  }
  return [...out.values()];
}

export function header(run: RunRow): RunHeader {
  return {
    id: run.id,
    suite: run.suite,
    status: run.status,
    createdAt: run.created_at,
    finishedAt: run.finished_at,
    datasetPath: run.dataset_path,
    recordCount: run.record_count,
    repeats: run.repeats,
    configPath: run.config_path,
  };
}

export function getRun(store: Store, runId: number): RunRow {
  const run = store.getRun(runId);
  if (!run) {
    throw new HarnessError('RUN_NOT_FOUND', `no run with id ${runId} in this database`, {
      hint: 'list the runs in the database and pass one of their ids',
    });
  }
  return run;
}

/**
 * Reads run `runId` and aggregates it; throws RUN_NOT_FOUND when there is no such run, USAGE for a
 * baseline that is not a candidate of the run or a `by` tag that no record has.
 */
export function buildReport(store: Store, runId: number, opts: ReportOptions = {}): RunReport {
  const run = getRun(store, runId);
  const db = store.db;
  const perPrompt = run.repeats > 1;
  const method: PassRate['method'] = perPrompt ? 'per-prompt-t' : 'wilson';
  const configured = store.candidates(runId);
  const baseline = opts.baseline ?? null;
  const names = configured.map((c) => c.candidate).join(', ');
  if (baseline !== null && !configured.some((c) => c.candidate === baseline)) {
    throw new HarnessError(
      'USAGE',
      `unknown baseline '${baseline}': the candidates of run ${runId} are ${names || '(none)'}`,
      { hint: 'pass one of those names to --baseline' },
    );
  }
  const by = opts.by ?? null;
  const path = by === null ? null : tagPath(by);

  const collected = collect(db, runId, perPrompt, path);
  const simulatedCandidates = [
    ...new Set(collected.aggregates.filter((a) => a.simulated === 1).map((a) => a.candidate)),
  ].sort();
  const scorerRows = db.prepare(scorersSql(perPrompt, collected.span)).all({
    run: runId,
    ...(collected.span && { lo: collected.span.lo, hi: collected.span.hi }),
  }) as ScorerAggregate[];
  const scorersOf = groupBy(scorerRows);

  // Reviewers' grades from `holdout view`: a column of the report only when the run has some.
  const reviewed = humanGrades(db, runId);
  const candidates = configured.map(({ candidate, model }): CandidateReport => {
    const { figures: f, latencies } = figures(collected.total.get(candidate) ?? emptyAcc(), method);
    return {
      candidate,
      model,
      servedModels: servedModels(collected, candidate),
      ...f,
      latencyQuantiles:
        latencies.length === 0
          ? []
          : Array.from({ length: QUANTILE_STEPS + 1 }, (_, i) => percentile(latencies, i / QUANTILE_STEPS)),
      scorers: (scorersOf.get(candidate) ?? []).map((r) => ({
        scorer: r.scorer,
        scored: r.scored,
        unscored: r.unscored,
        passes: r.passes,
        passRate: passRate(method, r.units, r.passes, r.sum_rate ?? 0, r.ss_rate ?? 0),
        meanValue: r.mean ?? Number.NaN,
      })),
      ...(reviewed.size > 0
        ? { humanGrades: reviewed.get(candidate) ?? { graded: 0, passes: 0, passRate: wilson(0, 0) } }
        : {}),
    };
  });

  const slices = by === null ? [] : buildSlices(db, runId, by, collected, configured, method);
  const comparisons =
    baseline === null
      ? []
      : compareWithBaseline(
          store,
          runId,
          baseline,
          configured.map((c) => c.candidate),
        );
  const stray = [...collected.total.keys()].filter((c) => !configured.some((k) => k.candidate === c));
  const costByRole = roleCosts(collected.aggregates);
  const classification = classificationSections(
    db,
    runId,
    run.scorers_json,
    configured.map((c) => c.candidate),
    run.repeats,
    new Set(candidates.flatMap((c) => c.scorers.filter((s) => s.scored > 0).map((s) => s.scorer))),
  );
  return {
    version: 2,
    simulated: simulatedCandidates.length > 0,
    simulatedCandidates,
    warnings: simulatedCandidates.length > 0 ? [simulatedNotice(simulatedCandidates)] : [],
    run: header(run),
    method: {
      confidence: 0.95,
      percentiles: 'type-7',
      latencyInterval: 'order-statistic',
      passRate: method,
      meanScore: perPrompt ? 'per-prompt-t' : 'per-call-t',
      bootstrap: { seed: BOOTSTRAP_SEED, maxResamples: MAX_RESAMPLES },
    },
    candidates,
    by,
    slices,
    costByRole,
    baseline,
    comparisons,
    ...(classification.labels.length > 0 ? { labels: classification.labels } : {}),
    ...(classification.agreement.length > 0 ? { agreement: classification.agreement } : {}),
    ...(opts.projection
      ? {
          projection: projectRun(
            store,
            runId,
            configured.map((c) => c.candidate),
            baseline,
            opts.projection,
          ),
        }
      : {}),
    notes: [
      ...notes(run, candidates, slices, costByRole, comparisons, stray),
      ...sequentialNotes(db, run),
      ...unscoredNotes(db, runId, scorerRows),
      ...classification.notes,
    ],
  };
}

/**
 * Why a scorer that scored none of its calls (e.g. a label scorer and no record with
 * reference.label) could not: the detail its score rows give most often. One GROUP BY, only when
 * such a scorer exists.
 */
function unscoredNotes(db: Database.Database, runId: number, rows: ScorerAggregate[]): string[] {
  const totals = new Map<string, { scored: number; unscored: number }>();
  for (const r of rows) {
    const t = totals.get(r.scorer) ?? { scored: 0, unscored: 0 };
    t.scored += r.scored;
    t.unscored += r.unscored;
    totals.set(r.scorer, t);
  }
  const never = [...totals].filter(([, t]) => t.scored === 0 && t.unscored > 0).map(([s]) => s);
  if (never.length === 0) return [];
  const details = db
    .prepare(UNSCORED_DETAILS_SQL)
    .all({ run: runId, scorers: JSON.stringify(never) }) as UnscoredDetail[];
  return unscoredScorerNotes(details);
}

function buildSlices(
  db: Database.Database,
  runId: number,
  by: string,
  collected: Collected,
  configured: { candidate: string }[],
  method: PassRate['method'],
): SliceReport[] {
  const records = collected.records;
  const values = [...collected.sliceValues.entries()];
  if (values.length > 0 && values.every(([, v]) => v === null)) {
    const tags = (db.prepare(TAG_NAMES_SQL).pluck().all({ run: runId }) as string[]).join(', ');
    throw new HarnessError('USAGE', `no record of run ${runId} has a tag '${by}'`, {
      hint: tags ? `the records' tags are: ${tags}` : 'the records of this run have no tags',
    });
  }
  values.sort(([, a], [, b]) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return values.map(([key, value]) => ({
    value,
    records: records.get(key) ?? 0,
    candidates: configured.map(({ candidate }) => ({
      candidate,
      ...figures(collected.bySlice.get(candidate)?.get(key) ?? emptyAcc(), method).figures,
    })),
  }));
}
