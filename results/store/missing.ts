import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';

/** How many of the newest runs a "not in this database" message lists. */
const RUNS_LISTED = 10;

/**
 * The error for a run id the database does not have, listing the runs it does have (newest first),
 * so that a typo is fixed without a second command.
 */
export function runNotFound(db: Database.Database, runId: number, which?: string): HarnessError {
  const runs = db
    .prepare('SELECT id, suite, status FROM runs ORDER BY id DESC LIMIT ?')
    .all(RUNS_LISTED + 1) as { id: number; suite: string; status: string }[];
  const total = db.prepare('SELECT count(*) FROM runs').pluck().get() as number;
  const listed = runs
    .slice(0, RUNS_LISTED)
    .map((r) => `${r.id} (${JSON.stringify(r.suite).slice(1, -1)}, ${r.status})`)
    .join(', ');
  const more = total > RUNS_LISTED ? `, and ${total - RUNS_LISTED} older` : '';
  return new HarnessError(
    'RUN_NOT_FOUND',
    `run ${runId}${which ? ` (${which})` : ''} is not in this database`,
    {
      hint:
        total === 0
          ? 'this database has no runs yet: run `holdout demo` or `holdout run <config>` first, or point --db at another database'
          : `its runs: ${listed}${more}`,
    },
  );
}
