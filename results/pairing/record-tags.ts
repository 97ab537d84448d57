/**
 * A temporary map from a run's record ids to some of their tag values, for joining calls to the
 * tags of their records (`report --by`, `compare --by/--cluster`): each tag is extracted once per
 * record, never once per call.
 *
 * Record ids that are not well-formed UTF-16 (a lone surrogate, e.g. "\ud800x", which JSON allows)
 * have two byte forms in the database. better-sqlite3 binds a lone surrogate as its 3-byte generalized
 * UTF-8 (ED A0 80), which is how records.record_id stores it; reading that column back decodes the
 * invalid bytes to U+FFFD, so a call written with an id read back from the records table (the
 * runner pages through records) stores EF BF BD ×3 instead. The two never compare equal in SQL, and
 * such a record's calls silently fell outside their slice. The map therefore holds each such id
 * twice: as stored (alias 0) and as read back (alias 1), so a call finds its record either way.
 * Count records with `alias = 0`.
 */
import type Database from 'better-sqlite3';

export interface TagColumn {
  /** Column name in the map (a plain identifier). */
  name: string;
  /** JSON path into records.tags_json, bound as a parameter ('$."task"'). */
  path: string;
}

/** Replacement character: SQLite's GLOB decodes a UTF-8-encoded surrogate to it, as to itself. */
const REPLACEMENT = '\ufffd';

function checkName(name: string): void {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new RangeError(`not a plain identifier: ${name}`);
}

/**
 * Creates `table` (a TEMP table, "temp.name": private to this connection) as record_id → alias and
 * one column per tag, over the records of `runId`. Replaces a table of that name.
 */
export function createRecordTags(
  db: Database.Database,
  table: string,
  runId: number,
  columns: readonly TagColumn[],
): void {
  if (!/^temp\.[a-z_][a-z0-9_]*$/i.test(table)) throw new RangeError(`not a temp table name: ${table}`);
  for (const c of columns) checkName(c.name);
  const names = columns.map((c) => c.name);
  const params: Record<string, unknown> = { run: runId };
  columns.forEach((c, i) => {
    params[`p${i}`] = c.path;
  });
  const values = columns.map((_, i) => `json_extract(tags_json, @p${i})`);
  db.prepare(`DROP TABLE IF EXISTS ${table}`).run();
  db.prepare(
    `CREATE TABLE ${table} (record_id TEXT PRIMARY KEY, alias INTEGER NOT NULL${names.map((n) => `, ${n}`).join('')}) WITHOUT ROWID`,
  ).run();
  // In key order (the records index gives it without a sort): appending is faster than inserting.
  db.prepare(
    `INSERT INTO ${table}
      SELECT record_id, 0${values.map((v) => `, ${v}`).join('')} FROM records WHERE run_id = @run ORDER BY record_id`,
  ).run(params);
  // Ids with a lone surrogate (or a U+FFFD of their own): usually none, and a GLOB finds them.
  const suspects = db
    .prepare(
      `SELECT record_id, CAST(record_id AS BLOB) FROM ${table} WHERE alias = 0 AND record_id GLOB @pattern`,
    )
    .raw()
    .all({ pattern: `*${REPLACEMENT}*` }) as [string, Buffer][];
  if (suspects.length === 0) return;
  const alias = db.prepare(
    `INSERT OR IGNORE INTO ${table}
      SELECT @readBack, 1${names.map((n) => `, ${n}`).join('')} FROM ${table}
      WHERE record_id = CAST(@stored AS TEXT) AND alias = 0`,
  );
  for (const [readBack, stored] of suspects) {
    // Only ids whose bytes do not survive the round trip through a JS string get an alias.
    if (!Buffer.from(readBack, 'utf8').equals(stored)) alias.run({ readBack, stored });
  }
}

export function dropRecordTags(db: Database.Database, table: string): void {
  db.prepare(`DROP TABLE IF EXISTS ${table}`).run();
}
