import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';

/** How many of the newest runs a "not in this database" message lists. */
const RUNS_LISTED = 10;

const NO_RUNS_YET =
  'this database has no runs yet: run `holdout demo` or `holdout run <config>` first, or point --db at another database';

/**
 * The runs a database has, newest first, as a hint: "its runs: 3 (weekly, finished), 2 (…), and 8
 * older". Of `suite` only when given (and it has runs); "no runs yet" for an empty database.
 */
export function runsHint(db: Database.Database, suite?: string): string {
  const where = suite === undefined ? '' : 'WHERE suite = @suite';
  const args = suite === undefined ? {} : { suite };
  const runs = db
    .prepare(`SELECT id, suite, status FROM runs ${where} ORDER BY id DESC LIMIT ${RUNS_LISTED}`)
    .all(args) as { id: number; suite: string; status: string }[];
  const total = db.prepare(`SELECT count(*) FROM runs ${where}`).pluck().get(args) as number;
  if (total === 0) {
    if (suite !== undefined && (db.prepare('SELECT count(*) FROM runs').pluck().get() as number) > 0) {
      return `no run has suite ${JSON.stringify(suite)}; ${runsHint(db)}`;
    }
    return NO_RUNS_YET;
  }
  const listed = runs.map((r) => `${r.id} (${JSON.stringify(r.suite).slice(1, -1)}, ${r.status})`).join(', ');
  const more = total > RUNS_LISTED ? `, and ${total - RUNS_LISTED} older` : '';
  return `its runs${suite === undefined ? '' : ` of suite ${JSON.stringify(suite)}`}: ${listed}${more}`;
}

/**
 * The error for a run id (or run reference, `latest~3`) the database does not have, listing the runs
 * it does have (newest first), so that a typo is fixed without a second command.
 */
export function runNotFound(
  db: Database.Database,
  runId: number | string,
  which?: string,
  suite?: string,
): HarnessError {
  const label = typeof runId === 'number' ? String(runId) : JSON.stringify(runId).slice(1, -1);
  return new HarnessError(
    'RUN_NOT_FOUND',
    `run ${label}${which ? ` (${which})` : ''} is not in this database`,
    {
      hint: runsHint(db, suite),
    },
  );
}
