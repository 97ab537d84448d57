/**
 * The run page and the compare page, kept once built: a run's report is a pass over all its rows
 * (seconds on 100,000 records), and a finished run's rows do not change. A page is kept per run and
 * options (`by`, `a`, `b`, and the projection's `project`, `volume`, `post_stratify`), at most `size` of them (least recently used first out), and served again
 * while it is still the page the database would give:
 *
 * - nothing at all was written to the database since it was last checked (`PRAGMA data_version`
 *   moves when another connection commits, `total_changes()` when this one writes: a grade): kept,
 *   at no cost;
 * - else, the run's own fingerprint is read again (its status, end, scorers, its calls' count and
 *   highest id, its scores' count, highest rowid and sums, its grades' count and highest id: ~0.1 s on
 *   300,000 calls) and the page is kept only if it is unchanged. A call retried, a score written or
 *   rescored, a grade added moves it.
 *
 * The first request of a page still pays for building it. The records index (queries.ts,
 * RecordIndex) is kept by the same two checks.
 */
import type Database from 'better-sqlite3';

interface Entry {
  html: string;
  /** The database-wide stamp when the entry was last found valid. */
  stamp: string;
  fingerprint: string;
}

export class PageCache {
  private readonly entries = new Map<string, Entry>();
  private readonly stampStmt: Database.Statement;
  private readonly fingerprintStmt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly size = 8,
  ) {
    this.stampStmt = db.prepare('SELECT total_changes()').pluck();
    this.fingerprintStmt = db
      .prepare(
        `SELECT json_array(
         (SELECT json_array(status, finished_at, scorers_json) FROM runs WHERE id = @run),
         (SELECT json_array(count(*), max(id)) FROM calls WHERE run_id = @run),
         (SELECT json_array(count(*), max(s.rowid), total(s.value), total(s.passed), total(length(s.detail)))
            FROM calls c JOIN scores s ON s.call_id = c.id WHERE c.run_id = @run),
         (SELECT json_array(count(*), max(id)) FROM grades WHERE run_id = @run))`,
      )
      .pluck();
  }

  /** What moves whenever anything is committed to the database, by this connection or another. */
  stamp(): string {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    return `${version}:${this.stampStmt.get() as number}`;
  }

  fingerprint(runId: number): string {
    return this.fingerprintStmt.get({ run: runId }) as string;
  }

  /** The page `key` of run `runId`: kept, or built by `build` (and kept). */
  get(runId: number, key: string, build: () => string): string {
    const id = `${runId}\u0000${key}`;
    const stamp = this.stamp();
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      if (hit.stamp === stamp || hit.fingerprint === this.fingerprint(runId)) {
        hit.stamp = stamp;
        this.entries.set(id, hit); // most recently used: last
        return hit.html;
      }
    }
    // Read before building: a write landing while it builds leaves a fingerprint that no longer matches.
    const fingerprint = this.fingerprint(runId);
    const html = build();
    this.entries.set(id, { html, stamp, fingerprint });
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as string);
    return html;
  }

  get length(): number {
    return this.entries.size;
  }
}
