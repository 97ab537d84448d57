/**
 * `buildTrend`: each candidate across the runs of a suite, with the same aggregates as a report.
 */
import { HarnessError } from '../../harness/errors.js';
import type { Store } from '../store/store.js';
import { collect, emptyAcc, figures, getOr, servedModels } from './aggregate.js';
import { getRun } from './build.js';
import { simulatedNotice } from './notes.js';
import type { MeanScore, PassRate, RunHeader } from './types.js';

/** One candidate in one run of a suite. */
export interface TrendPoint {
  runId: number;
  createdAt: string;
  status: RunHeader['status'];
  /** The configured model in that run. */
  model: string;
  calls: number;
  errors: number;
  passRate: PassRate;
  meanScore: MeanScore;
  costPer1kCalls: number | null;
  latency: { n: number; p50: number | null; p95: number | null };
  servedModels: { model: string; calls: number }[];
  simulated: boolean;
}

/**
 * Each candidate id across the runs of a suite, oldest run first: the same SQL aggregates as
 * buildReport, one run at a time. Version 1.
 */
export interface TrendReport {
  version: 1;
  suite: string;
  simulated: boolean;
  warnings: string[];
  method: { confidence: 0.95; percentiles: 'type-7' };
  /** The suite's runs by created_at, then id. */
  runs: {
    id: number;
    createdAt: string;
    status: RunHeader['status'];
    recordCount: number;
    repeats: number;
  }[];
  /** Candidate ids in order of first appearance; points only for the runs that had the candidate. */
  candidates: { candidate: string; points: TrendPoint[] }[];
  notes: string[];
}

const SUITE_RUNS_SQL = 'SELECT id FROM runs WHERE suite = ? ORDER BY created_at, id';

/** Builds the trend of `suite`; throws RUN_NOT_FOUND when the suite has no runs. */
export function buildTrend(store: Store, suite: string): TrendReport {
  const db = store.db;
  const ids = db.prepare(SUITE_RUNS_SQL).pluck().all(suite) as number[];
  if (ids.length === 0) {
    const suites = (
      db.prepare('SELECT DISTINCT suite FROM runs ORDER BY suite').pluck().all() as string[]
    ).join(', ');
    throw new HarnessError('RUN_NOT_FOUND', `no runs of suite '${suite}' in this database`, {
      hint: suites ? `suites in this database: ${suites}` : 'run `holdout run <config>` first',
    });
  }
  const series = new Map<string, TrendPoint[]>();
  const runs: TrendReport['runs'] = [];
  const simulated = new Set<string>();
  for (const id of ids) {
    const run = getRun(store, id);
    runs.push({
      id,
      createdAt: run.created_at,
      status: run.status,
      recordCount: run.record_count,
      repeats: run.repeats,
    });
    const method: PassRate['method'] = run.repeats > 1 ? 'per-prompt-t' : 'wilson';
    const collected = collect(db, id, run.repeats > 1, null);
    const simulatedHere = new Set(
      collected.aggregates.filter((a) => a.simulated === 1).map((a) => a.candidate),
    );
    for (const c of simulatedHere) simulated.add(c);
    for (const { candidate, model } of store.candidates(id)) {
      const { figures: f } = figures(collected.total.get(candidate) ?? emptyAcc(), method);
      getOr(series, candidate, (): TrendPoint[] => []).push({
        runId: id,
        createdAt: run.created_at,
        status: run.status,
        model,
        calls: f.calls,
        errors: f.errors,
        passRate: f.passRate,
        meanScore: f.meanScore,
        costPer1kCalls: f.costPer1kCalls,
        latency: { n: f.latency.n, p50: f.latency.p50.value, p95: f.latency.p95.value },
        servedModels: servedModels(collected, candidate),
        simulated: simulatedHere.has(candidate),
      });
    }
  }
  const candidates = [...series].map(([candidate, points]) => ({ candidate, points }));
  const simulatedList = [...simulated].sort();
  return {
    version: 1,
    suite,
    simulated: simulatedList.length > 0,
    warnings: simulatedList.length > 0 ? [simulatedNotice(simulatedList)] : [],
    method: { confidence: 0.95, percentiles: 'type-7' },
    runs,
    candidates,
    notes: trendNotes(candidates),
  };
}

function trendNotes(candidates: TrendReport['candidates']): string[] {
  const out: string[] = [];
  const served = (p: TrendPoint) => p.servedModels.map((s) => s.model).join(', ');
  for (const { candidate, points } of candidates) {
    for (let i = 1; i < points.length; i++) {
      const prev = points[i - 1]!;
      const cur = points[i]!;
      if (prev.model !== cur.model) {
        out.push(
          `${candidate}: configured model changed from ${prev.model} (run ${prev.runId}) ` +
            `to ${cur.model} (run ${cur.runId}).`,
        );
      }
      const a = served(prev);
      const b = served(cur);
      if (a !== '' && b !== '' && a !== b) {
        out.push(
          `${candidate}: served model changed from ${a} (run ${prev.runId}) to ${b} (run ${cur.runId}).`,
        );
      }
    }
  }
  return out;
}
