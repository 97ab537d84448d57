/**
 * Run references, wherever a command takes a run: a run id (`12`), `latest` (the newest run), or
 * `latest~N` (the Nth run before the newest: `latest~1` is the one before it). With `--suite S`, on
 * the commands that have it, `latest` and `latest~N` count the runs of suite S only. "Newest" is the
 * highest id, the order runs were created in. A reference that names no run is exit 2, listing the
 * runs the database has.
 */
import { countRuns, runIdBack } from '../../results/report/records.js';
import { runNotFound, runsHint } from '../../results/store/missing.js';
import type { RunRow, Store } from '../../results/store/store.js';
import { HarnessError } from '../errors.js';

export type RunRef = { kind: 'id'; id: number } | { kind: 'latest'; back: number };

/** What a run flag says in --help. */
export const RUN_REF_HELP = 'a run id, `latest` or `latest~N` (N runs before the latest)';

const MAX_BACK = 1_000_000_000;

export const NO_RUNS_HINT =
  'run `holdout demo` or `holdout run <config>` first, or point --db at another database';

/** Reads a run reference; null when the text is not one (exit 2 is the caller's, with the runs listed). */
export function parseRunRef(text: string | number): RunRef | null {
  const s = String(text).trim();
  if (/^[1-9]\d{0,14}$/.test(s)) return { kind: 'id', id: Number(s) };
  const m = /^latest(?:~(\d{1,10}))?$/.exec(s);
  if (!m) return null;
  const back = m[1] === undefined ? 0 : Number(m[1]);
  return back <= MAX_BACK ? { kind: 'latest', back } : null;
}

export interface ResolveOptions {
  /** Count `latest` within this suite. */
  suite?: string;
  /** Which side of a comparison the run is, for the message ("baseline", "candidate"). */
  which?: string;
}

/**
 * The run a reference names, from the store. `undefined` (no reference given) is `latest`. Throws
 * RUN_NOT_FOUND (exit 2) for a malformed reference or one that names no run, listing the runs there
 * are (of the suite, with --suite).
 */
export function resolveRun(store: Store, ref: string | number | undefined, o: ResolveOptions = {}): RunRow {
  const db = store.db;
  const parsed = ref === undefined ? ({ kind: 'latest', back: 0 } as const) : parseRunRef(ref);
  if (parsed === null) {
    throw new HarnessError(
      'RUN_NOT_FOUND',
      `${JSON.stringify(String(ref))}${o.which ? ` (${o.which})` : ''} is not a run: give ${RUN_REF_HELP}`,
      { hint: runsHint(db, o.suite) },
    );
  }
  if (parsed.kind === 'id') {
    const run = store.getRun(parsed.id);
    if (!run) throw runNotFound(db, parsed.id, o.which);
    return run;
  }
  const id = runIdBack(db, parsed.back, o.suite);
  const run = id === undefined ? undefined : store.getRun(id);
  if (run) return run;
  const total = countRuns(db, o.suite);
  if (total === 0) {
    if (o.suite === undefined) {
      throw new HarnessError('RUN_NOT_FOUND', 'no runs in this database yet', { hint: NO_RUNS_HINT });
    }
    throw new HarnessError('RUN_NOT_FOUND', `no runs of suite ${JSON.stringify(o.suite)} in this database`, {
      hint: countRuns(db) === 0 ? NO_RUNS_HINT : runsHint(db),
    });
  }
  const label = parsed.back === 0 ? 'latest' : `latest~${parsed.back}`;
  const of = o.suite === undefined ? '' : ` of suite ${JSON.stringify(o.suite)}`;
  throw new HarnessError(
    'RUN_NOT_FOUND',
    `run ${label}${o.which ? ` (${o.which})` : ''}${of} is not in this database: it has ${total} ${total === 1 ? 'run' : 'runs'}${of}, so latest~${total - 1} is the oldest`,
    { hint: runsHint(db, o.suite) },
  );
}

/**
 * The run `holdout compare --against previous` compares `run` with: the newest earlier *finished* run
 * of the same suite and config hash (the hash covers the resolved config and the dataset's content,
 * so "previous" is the same question asked again, not merely the suite's last run). An unfinished
 * run is no baseline: its missing calls would drop pairs silently. undefined on a suite's first run.
 */
export function previousRun(store: Store, run: RunRow): RunRow | undefined {
  const id = store.db
    .prepare(
      `SELECT id FROM runs WHERE suite = ? AND config_hash = ? AND status = 'finished' AND id < ?
       ORDER BY id DESC LIMIT 1`,
    )
    .pluck()
    .get(run.suite, run.config_hash, run.id) as number | undefined;
  return id === undefined ? undefined : store.getRun(id);
}
