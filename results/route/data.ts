/**
 * Reads what offline routing needs from a run: its records (tags and bodies, for the rules and the
 * router prompt) and, per record and candidate, the stored outcome averaged over repeats. One query
 * for the outcomes, grouped per (record, candidate) in SQL; no query per row.
 */
import { HarnessError } from '../../harness/errors.js';
import { parseTags } from '../store/tags.js';
import { runNotFound } from '../store/missing.js';
import type { Store } from '../store/store.js';

export interface RouteRunRecord {
  id: string;
  seq: number;
  tags: Record<string, string>;
  bodyJson: string;
}

export interface MissingCounts {
  candidate: string;
  /** Records without any row of the candidate. */
  absent: number;
  /** Records where every call of the candidate errored. */
  errored: number;
  /** Records with ok calls but no non-null score. */
  unscored: number;
}

/** A run as routing reads it. Outcome arrays are [record × candidate], NaN where there is none. */
export interface RouteRun {
  run: {
    id: number;
    suite: string;
    status: 'running' | 'interrupted' | 'finished';
    repeats: number;
    recordCount: number;
    datasetPath: string;
    configJson: string;
  };
  candidates: { name: string; model: string }[];
  /** In dataset order. */
  records: RouteRunRecord[];
  /** Pass share over the scored ok repeats (a call passes when every non-null score on it passed). */
  pass: Float64Array;
  /** Mean of the scored ok repeats' mean score values. */
  score: Float64Array;
  /** Mean cost of the ok repeats with a known cost. */
  cost: Float64Array;
  /** Mean latency of the ok repeats. */
  latency: Float64Array;
  missing: MissingCounts[];
  /**
   * Candidates of the run without a single scored answer (e.g. stopped by a bad key, or never
   * scored): left out of `candidates` and every figure, so the others can still be compared.
   */
  excluded: string[];
  /** Candidates (any role) served by holdout's simulator, sorted. */
  simulated: string[];
}

/*
 * Per call: pass = every non-null score passed (NULL without scores), score = mean value. Then per
 * (record, candidate) over ok calls: pass share and mean score over scored calls, mean cost over
 * costed calls, mean latency.
 */
const OUTCOMES_SQL = `
  WITH per_call AS (
    SELECT c.record_id, c.candidate, c.status, c.cost_usd AS cost, c.latency_ms AS latency,
      CASE WHEN count(s.value) > 0 THEN min(s.passed IS 1) END AS pass, avg(s.value) AS score
    FROM calls c LEFT JOIN scores s ON s.call_id = c.id AND s.value IS NOT NULL
    WHERE c.run_id = @run AND c.role = 'candidate'
    GROUP BY c.id
  )
  SELECT record_id, candidate, sum(status = 'ok') AS ok,
    avg(CASE WHEN status = 'ok' THEN pass END) AS pass,
    avg(CASE WHEN status = 'ok' AND pass IS NOT NULL THEN score END) AS score,
    avg(CASE WHEN status = 'ok' THEN cost END) AS cost,
    avg(CASE WHEN status = 'ok' THEN latency END) AS latency
  FROM per_call GROUP BY record_id, candidate`;

const RECORDS_SQL = 'SELECT record_id, seq, tags_json, body_json FROM records WHERE run_id = ? ORDER BY seq';
const SIMULATED_SQL =
  'SELECT DISTINCT candidate FROM calls WHERE run_id = ? AND simulated = 1 ORDER BY candidate';

export function loadRouteRun(store: Store, runId: number): RouteRun {
  const run = store.getRun(runId);
  if (!run) throw runNotFound(store.db, runId);
  const configured = store.candidates(runId).map((c) => ({ name: c.candidate, model: c.model }));
  if (configured.length === 0) {
    throw new HarnessError('RUN_NOT_FOUND', `run ${runId} has no candidates to route between`);
  }
  const db = store.db;
  const records = (
    db.prepare(RECORDS_SQL).all(runId) as {
      record_id: string;
      seq: number;
      tags_json: string;
      body_json: string;
    }[]
  ).map((r) => ({ id: r.record_id, seq: r.seq, tags: parseTags(r.tags_json), bodyJson: r.body_json }));
  const n = records.length;
  let candidates = configured;
  let k = candidates.length;
  const rowOf = new Map(records.map((r, i) => [r.id, i]));
  const colOf = new Map(candidates.map((c, j) => [c.name, j]));
  const nan = () => new Float64Array(n * k).fill(Number.NaN);
  const pass = nan();
  const score = nan();
  const cost = nan();
  const latency = nan();
  const seen = new Uint8Array(n * k);
  const ok = new Uint8Array(n * k);
  for (const r of db.prepare(OUTCOMES_SQL).iterate({ run: runId }) as Iterable<{
    record_id: string;
    candidate: string;
    ok: number;
    pass: number | null;
    score: number | null;
    cost: number | null;
    latency: number | null;
  }>) {
    const i = rowOf.get(r.record_id);
    const j = colOf.get(r.candidate);
    if (i === undefined || j === undefined) continue;
    const at = i * k + j;
    seen[at] = 1;
    ok[at] = r.ok > 0 ? 1 : 0;
    if (r.pass !== null) pass[at] = r.pass;
    if (r.score !== null) score[at] = r.score;
    if (r.cost !== null) cost[at] = r.cost;
    if (r.latency !== null) latency[at] = r.latency;
  }
  // Drop the candidates that never have a scored answer: no record could be evaluated with them in.
  const keep = candidates.map((_, j) => {
    for (let i = 0; i < n; i++) if (!Number.isNaN(pass[i * k + j]!)) return true;
    return false;
  });
  const excluded = candidates.filter((_, j) => !keep[j]).map((c) => c.name);
  let arrays = { pass, score, cost, latency, seen, ok };
  if (excluded.length > 0 && excluded.length < k) {
    const cols = keep.flatMap((x, j) => (x ? [j] : []));
    const narrow = <T extends Float64Array | Uint8Array>(a: T, make: (len: number) => T): T => {
      const out = make(n * cols.length);
      for (let i = 0; i < n; i++) {
        for (const [c, j] of cols.entries()) out[i * cols.length + c] = a[i * k + j]!;
      }
      return out;
    };
    const f = (len: number) => new Float64Array(len);
    const u = (len: number) => new Uint8Array(len);
    arrays = {
      pass: narrow(pass, f),
      score: narrow(score, f),
      cost: narrow(cost, f),
      latency: narrow(latency, f),
      seen: narrow(seen, u),
      ok: narrow(ok, u),
    };
    candidates = cols.map((j) => configured[j]!);
    k = candidates.length;
  }
  const missing = candidates.map(({ name }, j): MissingCounts => {
    const m = { candidate: name, absent: 0, errored: 0, unscored: 0 };
    for (let i = 0; i < n; i++) {
      const at = i * k + j;
      if (!arrays.seen[at]) m.absent++;
      else if (!arrays.ok[at]) m.errored++;
      else if (Number.isNaN(arrays.pass[at]!)) m.unscored++;
    }
    return m;
  });
  return {
    run: {
      id: run.id,
      suite: run.suite,
      status: run.status,
      repeats: run.repeats,
      recordCount: run.record_count,
      datasetPath: run.dataset_path,
      configJson: run.config_json,
    },
    candidates,
    records,
    pass: arrays.pass,
    score: arrays.score,
    cost: arrays.cost,
    latency: arrays.latency,
    missing,
    excluded: excluded.length < configured.length ? excluded : [],
    simulated: db.prepare(SIMULATED_SQL).pluck().all(runId) as string[],
  };
}

/** Records on which every candidate has a scored answer: the only ones a policy can be judged on. */
export function completeRecords(r: RouteRun): boolean[] {
  const k = r.candidates.length;
  return r.records.map((_, i) => {
    for (let j = 0; j < k; j++) if (Number.isNaN(r.pass[i * k + j]!)) return false;
    return true;
  });
}
