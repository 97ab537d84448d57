/**
 * The viewer's reads: a fixed number of queries per page, never one per row. The records page runs
 * two over the filtered records (the page, the count) and one for the cells of the 50 rows shown.
 */
import type Database from 'better-sqlite3';
import { type GradeRow, latestGrades } from '../report/grades.js';
import { listRuns, type RunListRow as SharedRunListRow } from '../report/records.js';
import { parseTags } from '../store/tags.js';
import { type RecordFilter, orderSql, PAGE_SIZE, whereSql } from './filter.js';

// One record's rows are read the same way by `holdout show` and the viewer: results/report/records.ts.
export {
  type CallDetail,
  type GradeRow,
  latestGrades,
  recordCalls,
  recordGrades,
  recordRow,
  type StoredRecordRow,
} from '../report/records.js';

/** A row of the runs page: the shared listing (results/report/records.ts), candidates joined. */
export interface RunListRow extends Omit<SharedRunListRow, 'candidates'> {
  candidates: string | null;
}

/** Runs newest first, grouped by suite (suites ordered by their newest run), one page of them. */
export function runList(
  db: Database.Database,
  page: number,
  size: number,
): { rows: RunListRow[]; total: number } {
  const rows = listRuns(db, { bySuite: true, limit: size, offset: (page - 1) * size }).map((r) => ({
    ...r,
    candidates: r.candidates.length > 0 ? r.candidates.join(', ') : null,
  }));
  const total = db.prepare('SELECT count(*) FROM runs').pluck().get() as number;
  return { rows, total };
}

/** The tag names of the run's records (a scan of its records: the run page's "slice by" only). */
export function tagNames(db: Database.Database, runId: number): string[] {
  return db
    .prepare(
      'SELECT DISTINCT t.key FROM records r, json_each(r.tags_json) t WHERE r.run_id = ? ORDER BY t.key',
    )
    .pluck()
    .all(runId) as string[];
}

/** What the filter form offers: the error kinds (from the partial index of error rows) and the scorers. */
export function facets(
  db: Database.Database,
  runId: number,
  scorersJson: string,
): { errorKinds: string[]; scorers: string[] } {
  const errorKinds = db
    .prepare(
      `SELECT DISTINCT coalesce(error_kind, 'unknown') FROM calls
       WHERE run_id = ? AND status = 'error' AND role = 'candidate' ORDER BY 1`,
    )
    .pluck()
    .all(runId) as string[];
  // The run's stored scorer specs name its scorers (name, else kind) without reading every score.
  const scorers = [...new Set(specNames(scorersJson))].sort();
  return { errorKinds, scorers };
}

function specNames(json: string): string[] {
  try {
    const specs = JSON.parse(json) as unknown;
    if (!Array.isArray(specs)) return [];
    return specs.flatMap((s: { name?: unknown; kind?: unknown } | null) => {
      const name = s?.name ?? s?.kind;
      return typeof name === 'string' && name !== '' ? [name] : [];
    });
  } catch {
    return [];
  }
}

export interface ListedRecord {
  seq: number;
  record_id: string;
  tags: Record<string, string>;
}

/** One page of the filtered, sorted records, and how many records match in all. */
export function recordPage(
  db: Database.Database,
  runId: number,
  f: RecordFilter,
  page: number,
): { rows: ListedRecord[]; total: number } {
  const where = whereSql(runId, f);
  const order = orderSql(f);
  const rows = (
    db
      .prepare(
        `SELECT r.seq, r.record_id, r.tags_json FROM records r WHERE ${where.text}
         ORDER BY ${order.text} LIMIT ? OFFSET ?`,
      )
      .all(...where.args, ...order.args, PAGE_SIZE, (page - 1) * PAGE_SIZE) as {
      seq: number;
      record_id: string;
      tags_json: string;
    }[]
  ).map((r) => ({ seq: r.seq, record_id: r.record_id, tags: parseTags(r.tags_json) }));
  const total = db
    .prepare(`SELECT count(*) FROM records r WHERE ${where.text}`)
    .pluck()
    .get(...where.args) as number;
  return { rows, total };
}

/** Record ids at positions [offset, offset + limit) of the filtered, sorted list. */
export function idsAt(
  db: Database.Database,
  runId: number,
  f: RecordFilter,
  offset: number,
  limit: number,
): string[] {
  const where = whereSql(runId, f);
  const order = orderSql(f);
  return db
    .prepare(`SELECT r.record_id FROM records r WHERE ${where.text} ORDER BY ${order.text} LIMIT ? OFFSET ?`)
    .pluck()
    .all(...where.args, ...order.args, limit, offset) as string[];
}

/**
 * The position of a record in the filtered, sorted list with its neighbours: `hint` (the position the
 * link carried) is tried first, a window over the whole list only when the list moved.
 */
export function neighbours(
  db: Database.Database,
  runId: number,
  f: RecordFilter,
  recordId: string,
  hint: number | undefined,
): { index: number; prev: string | null; next: string | null; total: number } | null {
  const where = whereSql(runId, f);
  const total = db
    .prepare(`SELECT count(*) FROM records r WHERE ${where.text}`)
    .pluck()
    .get(...where.args) as number;
  if (hint !== undefined && hint >= 0) {
    const from = Math.max(0, hint - 1);
    const ids = idsAt(db, runId, f, from, 3);
    const at = ids.indexOf(recordId);
    if (at >= 0 && from + at === hint) {
      return { index: hint, prev: ids[at - 1] ?? null, next: ids[at + 1] ?? null, total };
    }
  }
  const order = orderSql(f);
  const row = db
    .prepare(
      `SELECT i, prev, next FROM (
         SELECT r.record_id AS id, row_number() OVER w - 1 AS i, lag(r.record_id) OVER w AS prev,
           lead(r.record_id) OVER w AS next
         FROM records r WHERE ${where.text} WINDOW w AS (ORDER BY ${order.text}))
       WHERE id = ?`,
    )
    .get(...where.args, ...order.args, recordId) as
    | { i: number; prev: string | null; next: string | null }
    | undefined;
  return row ? { index: row.i, prev: row.prev, next: row.next, total } : null;
}

/** A candidate's calls on one record, over its repeats: what a cell of the records table shows. */
export interface Cell {
  calls: number;
  ok: number;
  errors: number;
  errorKinds: string[];
  scored: number;
  passes: number;
  score: number | null;
  cost: number | null;
  latency: number | null;
  /** The newest grade of each graded repeat. */
  grades: GradeRow[];
}

/** Cells of the records shown, keyed by record id then candidate: one query for the whole page. */
export function cells(
  db: Database.Database,
  runId: number,
  recordIds: string[],
): Map<string, Map<string, Cell>> {
  const out = new Map<string, Map<string, Cell>>();
  if (recordIds.length === 0) return out;
  const ids = JSON.stringify(recordIds);
  const rows = db
    .prepare(
      `SELECT c.record_id, c.candidate, count(*) AS calls, sum(c.status = 'ok') AS ok,
         sum(c.status = 'error') AS errors,
         group_concat(DISTINCT CASE WHEN c.status = 'error' THEN coalesce(c.error_kind, 'unknown') END) AS kinds,
         sum(p.scored) AS scored, sum(p.scored AND NOT p.failed) AS passes, avg(p.score) AS score,
         sum(c.cost_usd) AS cost, avg(CASE WHEN c.status = 'ok' THEN c.latency_ms END) AS latency
       FROM calls c LEFT JOIN (
         SELECT s.call_id, count(s.value) > 0 AS scored,
           sum(s.value IS NOT NULL AND s.passed IS NOT 1) > 0 AS failed, avg(s.value) AS score
         FROM scores s WHERE s.call_id IN (SELECT id FROM calls WHERE run_id = ? AND role = 'candidate'
           AND record_id IN (SELECT value FROM json_each(?)))
         GROUP BY s.call_id) p ON p.call_id = c.id
       WHERE c.run_id = ? AND c.role = 'candidate' AND c.aux = '' AND c.record_id IN (SELECT value FROM json_each(?))
       GROUP BY c.record_id, c.candidate`,
    )
    .all(runId, ids, runId, ids) as {
    record_id: string;
    candidate: string;
    calls: number;
    ok: number;
    errors: number;
    kinds: string | null;
    scored: number | null;
    passes: number | null;
    score: number | null;
    cost: number | null;
    latency: number | null;
  }[];
  const grades = latestGrades(db, runId, recordIds);
  for (const r of rows) {
    let m = out.get(r.record_id);
    if (!m) {
      m = new Map();
      out.set(r.record_id, m);
    }
    m.set(r.candidate, {
      calls: r.calls,
      ok: r.ok,
      errors: r.errors,
      errorKinds: r.kinds ? r.kinds.split(',') : [],
      scored: r.scored ?? 0,
      passes: r.passes ?? 0,
      score: r.score,
      cost: r.cost,
      latency: r.latency,
      grades: grades.filter((g) => g.record_id === r.record_id && g.candidate === r.candidate),
    });
  }
  return out;
}
