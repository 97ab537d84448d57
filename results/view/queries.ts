/**
 * The viewer's reads: a fixed number of queries per page, never one per row. The records page runs
 * two over the filtered records (the page, the count) and one for the cells of the 50 rows shown.
 * Under the server they read a run's records index (RecordIndex) instead of the records table.
 */
import type Database from 'better-sqlite3';
import type { PageCache } from './cache.js';
import { type GradeRow, latestGrades } from '../report/grades.js';
import { listRuns, type RunListRow as SharedRunListRow } from '../report/records.js';
import { parseTags } from '../store/tags.js';
import { type IndexedRun, orderSql, PAGE_SIZE, type RecordFilter, whereSql } from './filter.js';

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

/**
 * A run's records with each candidate's outcome and sort values, one row per record in a TEMP table
 * (private to this connection: nothing is written to the database), so the outcome filters, flips
 * and sorts read a column instead of probing the calls and scores of every record (on 100,000
 * records × 3 candidates: a filtered, sorted page went from ~0.6-0.9 s to a few tens of ms). Built on
 * the first records request of a run (~1 s there) and kept while the run's rows are unchanged, by the
 * page cache's checks (cache.ts): while a run is being written, a request after a write reads the
 * run's fingerprint again and rebuilds the index if it moved, so a reload always shows the database.
 * Per record × candidate: o = the outcome (filter.ts: 1 pass, 0 fail, NULL unscored), s = the mean
 * score, c = the cost, l = the mean latency of ok calls, computed as filter.ts's subqueries do.
 */
export class RecordIndex {
  private readonly built = new Map<number, { stamp: string; fingerprint: string; run: IndexedRun }>();
  private readonly texts = new Map<number, TextIndex>();

  constructor(
    private readonly db: Database.Database,
    private readonly cache: PageCache,
  ) {}

  /** The index of run `runId` over `candidates`, current with the database. */
  of(runId: number, candidates: readonly string[]): IndexedRun {
    const stamp = this.cache.stamp();
    const hit = this.built.get(runId);
    if (hit && sameList(hit.run.candidates, candidates)) {
      if (hit.stamp === stamp) return hit.run;
      const fingerprint = this.cache.fingerprint(runId);
      if (fingerprint === hit.fingerprint) {
        hit.stamp = stamp;
        return hit.run;
      }
    }
    // Read before building: a write landing while it builds leaves a fingerprint that no longer matches.
    const fingerprint = this.cache.fingerprint(runId);
    const run = buildIndex(this.db, runId, candidates);
    this.built.set(runId, { stamp, fingerprint, run });
    return run;
  }

  /** The run's text index (built on its first search: see TextIndex), on the index of `of`. */
  withText(runId: number, run: IndexedRun): IndexedRun {
    let text = this.texts.get(runId);
    if (!text) {
      text = buildTextIndex(this.db, runId);
      this.texts.set(runId, text);
    }
    return { ...run, text };
  }
}

/**
 * The text search's index: a trigram FTS5 TEMP table over each record's stored body and its
 * candidates' outputs, built on a run's first search (seconds on 100,000 records: the price of
 * the first search only; an index kept up at write time slowed the runs' writes). It only narrows:
 * the records it finds are then matched exactly as without it (filter.ts), and the records it cannot
 * know, added after it was built (seq above `maxSeq`) or with a call written since (call id above
 * `maxCallId`: a retried call gets a new id), are always matched exactly, so a run being written is
 * searched right.
 */
export interface TextIndex {
  table: string;
  maxSeq: number;
  maxCallId: number;
}

function buildTextIndex(db: Database.Database, runId: number): TextIndex {
  const table = `temp.view_text_${Math.trunc(runId)}`;
  const maxSeq =
    (db.prepare('SELECT max(seq) FROM records WHERE run_id = ?').pluck().get(runId) as number | null) ?? -1;
  const maxCallId = (db.prepare('SELECT max(id) FROM calls').pluck().get() as number | null) ?? 0;
  db.prepare(`DROP TABLE IF EXISTS ${table}`).run();
  db.prepare(`CREATE VIRTUAL TABLE ${table} USING fts5(text, tokenize = 'trigram', detail = 'none')`).run();
  db.prepare(
    `INSERT INTO ${table} (rowid, text)
     SELECT r.seq, r.body_json || char(10) || coalesce((SELECT group_concat(c.output, char(10)) FROM calls c
       WHERE c.run_id = r.run_id AND c.record_id = r.record_id AND c.role = 'candidate' AND c.aux = ''
         AND c.id <= @maxCallId), '')
     FROM records r WHERE r.run_id = @run AND r.seq <= @maxSeq`,
  ).run({ run: runId, maxSeq, maxCallId });
  return { table, maxSeq, maxCallId };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const INDEX_CALLS_SQL = `
  SELECT c.record_id, c.candidate, sum(c.cost_usd) AS cost,
    avg(c.latency_ms) FILTER (WHERE c.status = 'ok') AS latency, max(c.repeat) AS repeat
  FROM calls c WHERE c.run_id = ? AND c.role = 'candidate' AND c.aux = ''
  GROUP BY c.record_id, c.candidate`;
const INDEX_SCORES_SQL = `
  SELECT c.record_id, c.candidate, avg(s.value) AS score,
    min(CASE WHEN s.value IS NOT NULL THEN s.passed IS 1 END) AS outcome
  FROM calls c JOIN scores s ON s.call_id = c.id WHERE c.run_id = ? AND c.role = 'candidate' AND c.aux = ''
  GROUP BY c.record_id, c.candidate`;

function buildIndex(db: Database.Database, runId: number, candidates: readonly string[]): IndexedRun {
  const table = `temp.view_records_${Math.trunc(runId)}`;
  const k = candidates.length;
  const cols = candidates.flatMap((_, i) => [`o${i} INTEGER`, `s${i} REAL`, `c${i} REAL`, `l${i} REAL`]);
  const position = new Map(candidates.map((c, i) => [c, i]));
  const records = db
    .prepare('SELECT seq, record_id, tags_json FROM records WHERE run_id = ?')
    .raw()
    .all(runId) as [number, string, string][];
  const rows = new Map<string, unknown[]>();
  for (const [seq, id, tags] of records) rows.set(id, [seq, runId, id, tags, ...new Array(4 * k).fill(null)]);
  let repeats = false;
  for (const [id, cand, cost, latency, repeat] of db
    .prepare(INDEX_CALLS_SQL)
    .raw()
    .iterate(runId) as Iterable<[string, string, number | null, number | null, number]>) {
    const i = position.get(cand);
    const row = rows.get(id);
    if (i === undefined || row === undefined) continue;
    row[4 + 4 * i + 2] = cost;
    row[4 + 4 * i + 3] = latency;
    if (repeat > 0) repeats = true;
  }
  for (const [id, cand, score, outcome] of db.prepare(INDEX_SCORES_SQL).raw().iterate(runId) as Iterable<
    [string, string, number | null, number | null]
  >) {
    const i = position.get(cand);
    const row = rows.get(id);
    if (i === undefined || row === undefined) continue;
    row[4 + 4 * i] = outcome;
    row[4 + 4 * i + 1] = score;
  }
  db.prepare(`DROP TABLE IF EXISTS ${table}`).run();
  db.prepare(
    `CREATE TABLE ${table} (seq INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, record_id TEXT NOT NULL,
      tags_json TEXT NOT NULL${cols.map((c) => `, ${c}`).join('')})`,
  ).run();
  const insert = db.prepare(`INSERT INTO ${table} VALUES (${new Array(4 + 4 * k).fill('?').join(', ')})`);
  db.transaction(() => {
    for (const row of rows.values()) insert.run(row);
  })();
  return { table, candidates: [...candidates], repeats };
}

/** The records index the server reads through (RecordIndex); the functions below take it when given. */
const indexes = new WeakMap<Database.Database, RecordIndex>();

/** Makes the records page, the record page's neighbours and idsAt read `db` through `index`. */
export function useRecordIndex(db: Database.Database, index: RecordIndex): void {
  indexes.set(db, index);
}

/**
 * The run's index when the filter reads it: outcomes, flips, tags, a sort by a candidate's figure,
 * text. Plain pages (dataset order, errors, a scorer, a confusion) read the records table as cheaply
 * and do not build it.
 */
function indexed(db: Database.Database, runId: number, f: RecordFilter): IndexedRun | undefined {
  const index = indexes.get(db);
  if (!index) return undefined;
  const other =
    f.pass.length > 0 ||
    f.fail.length > 0 ||
    f.flips !== undefined ||
    f.tags.length > 0 ||
    typeof f.sort !== 'string';
  const searching = f.q !== undefined && [...f.q].length >= 3;
  if (!other && !searching) return undefined;
  const candidates = db
    .prepare('SELECT candidate FROM candidates WHERE run_id = ? ORDER BY rowid')
    .pluck()
    .all(runId) as string[];
  const run = index.of(runId, candidates);
  // Patterns of under three characters cannot use a trigram index: those scan the records.
  if (!searching) return other ? run : undefined;
  const searched = index.withText(runId, run);
  // A common word finds most records: looking each up costs more than the one scan of the records
  // (which, in dataset order, also stops at the first page's last match).
  const some = db
    .prepare(`SELECT count(*) FROM (SELECT rowid FROM ${searched.text!.table} WHERE text LIKE ? LIMIT ?)`)
    .pluck()
    .get(`%${f.q}%`, TEXT_INDEX_MAX) as number;
  if (some < TEXT_INDEX_MAX) return searched;
  return other ? run : undefined;
}

/** Past this many records found, the text index is not used (a scan of the records is cheaper). */
const TEXT_INDEX_MAX = 2000;

/** One page of the filtered, sorted records, and how many records match in all. */
export function recordPage(
  db: Database.Database,
  runId: number,
  f: RecordFilter,
  page: number,
): { rows: ListedRecord[]; total: number } {
  const ix = indexed(db, runId, f);
  const where = whereSql(runId, f, ix);
  const order = orderSql(f, ix);
  const from = ix?.table ?? 'records';
  const rows = (
    db
      .prepare(
        `SELECT r.seq, r.record_id, r.tags_json FROM ${from} r WHERE ${where.text}
         ORDER BY ${order.text} LIMIT ? OFFSET ?`,
      )
      .all(...where.args, ...order.args, PAGE_SIZE, (page - 1) * PAGE_SIZE) as {
      seq: number;
      record_id: string;
      tags_json: string;
    }[]
  ).map((r) => ({ seq: r.seq, record_id: r.record_id, tags: parseTags(r.tags_json) }));
  const total = db
    .prepare(`SELECT count(*) FROM ${from} r WHERE ${where.text}`)
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
  const ix = indexed(db, runId, f);
  const where = whereSql(runId, f, ix);
  const order = orderSql(f, ix);
  return db
    .prepare(
      `SELECT r.record_id FROM ${ix?.table ?? 'records'} r WHERE ${where.text} ORDER BY ${order.text} LIMIT ? OFFSET ?`,
    )
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
  const ix = indexed(db, runId, f);
  const from = ix?.table ?? 'records';
  const where = whereSql(runId, f, ix);
  const total = db
    .prepare(`SELECT count(*) FROM ${from} r WHERE ${where.text}`)
    .pluck()
    .get(...where.args) as number;
  if (hint !== undefined && hint >= 0) {
    const start = Math.max(0, hint - 1);
    const ids = idsAt(db, runId, f, start, 3);
    const at = ids.indexOf(recordId);
    if (at >= 0 && start + at === hint) {
      return { index: hint, prev: ids[at - 1] ?? null, next: ids[at + 1] ?? null, total };
    }
  }
  const order = orderSql(f, ix);
  const row = db
    .prepare(
      `SELECT i, prev, next FROM (
         SELECT r.record_id AS id, row_number() OVER w - 1 AS i, lag(r.record_id) OVER w AS prev,
           lead(r.record_id) OVER w AS next
         FROM ${from} r WHERE ${where.text} WINDOW w AS (ORDER BY ${order.text}))
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
