/**
 * The evidence behind every number: the runs of a database, one record as it was stored (its prompt
 * turn by turn, its reference) and every candidate's call on it with its scores and reviewers' grades.
 * Shared by `holdout runs`, `holdout show` and `holdout view` (results/view/queries.ts re-exports the
 * record reads), so the command line and the viewer read the same rows the same way. A fixed number
 * of queries per call of these functions, never one per row.
 */
import { decisionsOf, decisionText } from '../store/sequential.js';
import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import type { Store } from '../store/store.js';
import { parseTags } from '../store/tags.js';
import { header } from './build.js';
import { type GradeRow, latestGrades } from './grades.js';
import { isObj, type Obj, type PromptTurn, parseRecordBody, promptTurns } from './prompt.js';
import type { RunHeader } from './types.js';

export { type GradeRow, latestGrades, recordGrades } from './grades.js';

// --- runs ----------------------------------------------------------------------------------------

export interface RunListRow {
  id: number;
  suite: string;
  status: string;
  created_at: string;
  finished_at: string | null;
  record_count: number;
  repeats: number;
  /** The candidates of the run, in the order of its config. */
  candidates: string[];
  /** Every call of the run, judges and routers included; null when none has a cost. */
  cost: number | null;
  /** Candidate calls stored (ok and errors). */
  calls: number;
  /** A run that stopped early (`--until-decided`), once decided: "decided early: PASS after 412 of 2,000 records". */
  decided?: string;
}

export interface RunListOptions {
  suite?: string;
  /** Group by suite (suites ordered by their newest run), as the viewer lists them; else newest first. */
  bySuite?: boolean;
  limit?: number;
  offset?: number;
}

/** Runs, newest first (or grouped by suite), with their candidates, candidate calls and cost. */
export function listRuns(db: Database.Database, o: RunListOptions = {}): RunListRow[] {
  const order = o.bySuite
    ? '(SELECT max(id) FROM runs s WHERE s.suite = r.suite) DESC, r.id DESC'
    : 'r.id DESC';
  const rows = db
    .prepare(
      `SELECT r.id, r.suite, r.status, r.created_at, r.finished_at, r.record_count, r.repeats,
         (SELECT json_group_array(candidate) FROM (SELECT candidate FROM candidates k WHERE k.run_id = r.id
           ORDER BY k.rowid)) AS candidates,
         (SELECT sum(cost_usd) FROM calls c WHERE c.run_id = r.id) AS cost,
         (SELECT count(*) FROM calls c WHERE c.run_id = r.id AND c.role = 'candidate') AS calls
       FROM runs r WHERE (@suite IS NULL OR r.suite = @suite)
       ORDER BY ${order}
       LIMIT @limit OFFSET @offset`,
    )
    .all({ suite: o.suite ?? null, limit: o.limit ?? -1, offset: o.offset ?? 0 }) as (Omit<
    RunListRow,
    'candidates'
  > & { candidates: string })[];
  const decisions = decisionsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => {
    const d = decisions.get(r.id);
    return {
      ...r,
      candidates: JSON.parse(r.candidates) as string[],
      ...(d?.verdict
        ? { decided: decisionText(d.verdict, d.records_used ?? r.record_count, r.record_count) }
        : {}),
    };
  });
}

/** The suites of the database, the one with the newest run first. */
export function suiteNames(db: Database.Database): string[] {
  return db.prepare('SELECT suite FROM runs GROUP BY suite ORDER BY max(id) DESC').pluck().all() as string[];
}

/**
 * The id of the run `back` places before the newest (0: the newest), of `suite` when given; undefined
 * when there are not that many runs. Newest means the highest id: ids grow as runs are created.
 */
export function runIdBack(db: Database.Database, back: number, suite?: string): number | undefined {
  return db
    .prepare(
      'SELECT id FROM runs WHERE (@suite IS NULL OR suite = @suite) ORDER BY id DESC LIMIT 1 OFFSET @back',
    )
    .pluck()
    .get({ suite: suite ?? null, back }) as number | undefined;
}

/** How many runs the database has (of `suite`, when given). */
export function countRuns(db: Database.Database, suite?: string): number {
  return db
    .prepare('SELECT count(*) FROM runs WHERE (@suite IS NULL OR suite = @suite)')
    .pluck()
    .get({ suite: suite ?? null }) as number;
}

// --- one record: the rows --------------------------------------------------------------------------

export interface StoredRecordRow {
  seq: number;
  record_id: string;
  api: string;
  tags_json: string;
  body_json: string;
}

export function recordRow(
  db: Database.Database,
  runId: number,
  recordId: string,
): StoredRecordRow | undefined {
  return db
    .prepare(
      'SELECT seq, record_id, api, tags_json, body_json FROM records WHERE run_id = ? AND record_id = ?',
    )
    .get(runId, recordId) as StoredRecordRow | undefined;
}

/** A call row as stored (every column), with its scores. */
export interface CallDetail {
  id: number;
  candidate: string;
  repeat: number;
  status: 'ok' | 'error';
  output: string | null;
  tool_calls_json: string | null;
  finish_reason: string | null;
  input_tokens: number | null;
  cached_tokens: number | null;
  cache_write_tokens?: number | null;
  output_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  latency_ms: number | null;
  ttft_ms: number | null;
  queue_ms: number | null;
  backoff_ms: number | null;
  attempts: number;
  error_kind: string | null;
  error_message: string | null;
  http_status: number | null;
  served_model: string | null;
  request_id: string | null;
  server_ms: number | null;
  service_tier: string | null;
  simulated: number;
  scores: { scorer: string; value: number | null; passed: number | null; detail: string | null }[];
}

/** The candidates' calls on one record (role 'candidate'), by repeat, with every score. */
export function recordCalls(db: Database.Database, runId: number, recordId: string): CallDetail[] {
  const calls = db
    .prepare(
      `SELECT * FROM calls WHERE run_id = ? AND record_id = ? AND role = 'candidate' AND aux = ''
       ORDER BY repeat, id`,
    )
    .all(runId, recordId) as Omit<CallDetail, 'scores'>[];
  const scores = db
    .prepare(
      `SELECT s.call_id, s.scorer, s.value, s.passed, s.detail FROM scores s JOIN calls c ON c.id = s.call_id
       WHERE c.run_id = ? AND c.record_id = ? AND c.role = 'candidate' ORDER BY s.call_id, s.scorer`,
    )
    .all(runId, recordId) as (CallDetail['scores'][number] & { call_id: number })[];
  return calls.map((c) => ({
    ...c,
    scores: scores.filter((s) => s.call_id === c.id).map(({ call_id: _, ...s }) => s),
  }));
}

// --- one record: the evidence ----------------------------------------------------------------------

export interface RecordEvidence {
  run: RunHeader;
  record: {
    id: string;
    /** Position in the dataset. */
    seq: number;
    api: string;
    tags: Record<string, string>;
    turns: PromptTurn[];
    /** The record's `reference` as stored; null without one. */
    reference: Obj | null;
    /** The stored body when it is not a JSON object (shown as it is); null otherwise. */
    raw: string | null;
  };
  /** The candidates shown, in the order asked for (else the run's), with their configured model. */
  candidates: { candidate: string; model: string }[];
  /** Their calls on the record, candidate by candidate, repeat by repeat. */
  calls: CallDetail[];
  /** The newest reviewer's grade of each of those calls that has one. */
  grades: GradeRow[];
}

/**
 * One record of a run with every candidate's call on it: what `holdout show` prints. Throws USAGE for
 * a record the run does not have (naming a few it has) or a candidate it does not have (listing its
 * candidates).
 */
export function loadRecordEvidence(
  store: Store,
  runId: number,
  recordId: string,
  only?: readonly string[],
): RecordEvidence {
  const run = store.getRun(runId);
  if (!run) throw new HarnessError('RUN_NOT_FOUND', `run ${runId} is not in this database`);
  const db = store.db;
  const row = recordRow(db, runId, recordId);
  if (!row) {
    const like = db
      .prepare(
        `SELECT record_id FROM records WHERE run_id = ? AND instr(lower(record_id), lower(?)) > 0
         ORDER BY seq LIMIT 5`,
      )
      .pluck()
      .all(runId, recordId) as string[];
    const first = db
      .prepare('SELECT record_id FROM records WHERE run_id = ? ORDER BY seq LIMIT 5')
      .pluck()
      .all(runId) as string[];
    const names = like.length > 0 ? like : first;
    throw new HarnessError('USAGE', `record ${JSON.stringify(recordId)} is not in run ${runId}`, {
      hint:
        names.length === 0
          ? `run ${runId} has no records stored`
          : `${like.length > 0 ? 'records with a similar id' : 'its first records'}: ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    });
  }
  const configured = store.candidates(runId).map((c) => ({ candidate: c.candidate, model: c.model }));
  let candidates = configured;
  if (only !== undefined && only.length > 0) {
    const unknown = only.filter((c) => !configured.some((k) => k.candidate === c));
    if (unknown.length > 0) {
      throw new HarnessError(
        'USAGE',
        `${unknown.map((c) => JSON.stringify(c)).join(', ')} ${unknown.length === 1 ? 'is not a candidate' : 'are not candidates'} of run ${runId}`,
        { hint: `its candidates: ${configured.map((c) => c.candidate).join(', ') || '(none)'}` },
      );
    }
    candidates = [...new Set(only)].map((c) => configured.find((k) => k.candidate === c)!);
  }
  const rank = new Map(candidates.map((c, i) => [c.candidate, i]));
  const calls = recordCalls(db, runId, recordId)
    .filter((c) => rank.has(c.candidate))
    .sort((a, b) => rank.get(a.candidate)! - rank.get(b.candidate)! || a.repeat - b.repeat);
  const grades = latestGrades(db, runId, [recordId]).filter((g) => rank.has(g.candidate));
  const body = parseRecordBody(row.body_json);
  return {
    run: header(run),
    record: {
      id: row.record_id,
      seq: row.seq,
      api: row.api,
      tags: parseTags(row.tags_json),
      turns: body ? promptTurns(body.request) : [],
      reference: body && isObj(body.reference) ? body.reference : null,
      raw: body ? null : row.body_json,
    },
    candidates,
    calls,
    grades,
  };
}
