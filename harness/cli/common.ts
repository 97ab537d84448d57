/**
 * What every command handler shares: its io (streams, environment, clock, Ctrl-C), the usage error,
 * the database it works on, and where its output goes.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openStore, type Store, type StoreOptions } from '../../results/store/store.js';
import type { Clock } from '../clock.js';
import { HarnessError } from '../errors.js';
import { defaultDbPath } from '../paths.js';

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Aborted on Ctrl-C (and SIGTERM, SIGHUP): finish writes, then stop. */
  signal: AbortSignal;
}

export const REPORT_FORMATS = ['table', 'md', 'json', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** How read commands open the database (report, compare, route, view). */
export const READING: StoreOptions = { mustExist: true, readOnly: 'auto' };

export const DB_OPTION = {
  type: 'string',
  describe: 'SQLite database (default: $HOLDOUT_DB, else results/holdout.db)',
} as const;

/**
 * A bad flag combination: exit 2 with a pointer to --help, never a stack trace. Checks must throw
 * this: a plain Error from a yargs check() reaches .fail() as if it were a bug.
 */
export function usageError(message: string, command?: string): HarnessError {
  return new HarnessError('USAGE', message, {
    hint: `run \`holdout ${command ? `${command} ` : ''}--help\` for usage`,
  });
}

/** A --concurrency flag: a whole number from 1 up, checked before any work. */
export function checkConcurrency(value: number | undefined, command?: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw usageError('--concurrency must be an integer from 1 up', command);
  }
}

/**
 * Opens the database, runs `fn`, and closes it whatever happens. Commands that only read pass
 * `READING`: a missing file is an error (never a new empty database) and a file this process may
 * not write is opened read-only.
 */
export async function withStore<T>(
  db: string | undefined,
  fn: (store: Store) => Promise<T> | T,
  opts: StoreOptions = {},
): Promise<T> {
  const store = openStore(db ?? defaultDbPath(), opts);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/**
 * Checks an --out path before any work is done, so that a long evaluation never ends in EISDIR or
 * ENOENT: the path must not be a directory and its folder must exist.
 */
export function checkOutPath(out: string | undefined): void {
  if (out === undefined) return;
  if (out === '') throw usageError('--out takes a file path');
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new HarnessError('USAGE', `--out ${out} is a directory`, { hint: 'give a file path for --out' });
  }
  const folder = dirname(resolve(out));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new HarnessError('USAGE', `--out ${out}: the folder ${folder} does not exist`, {
      hint: 'create the folder first, or write somewhere else',
    });
  }
}

/**
 * Writes a command's data: to `out` (created 0600: reports hold production prompts and outputs) with
 * a line on stderr naming `what`, or to stdout (ending it with a newline when `endLine`).
 */
export function writeOutput(
  io: Pick<CommandIo, 'stdout' | 'stderr'>,
  text: string,
  out: string | undefined,
  what: string,
  endLine = true,
): void {
  if (out) {
    try {
      writeFileSync(out, text, { mode: 0o600 });
    } catch (err) {
      throw new HarnessError('USAGE', `cannot write ${out}: ${(err as NodeJS.ErrnoException).message}`, {
        cause: err,
        hint: 'check the path and its permissions',
      });
    }
    io.stderr.write(`${what} written to ${out}\n`);
  } else io.stdout.write(endLine && !text.endsWith('\n') ? `${text}\n` : text);
}

/** `withStore` for commands that only read: see READING. */
export function readStore<T>(db: string | undefined, fn: (store: Store) => Promise<T> | T): Promise<T> {
  return withStore(db, fn, READING);
}

/**
 * A server that could not listen (`holdout sim`, `holdout view`): a port in use or not allowed is
 * the user's to change (exit 2); anything else is returned unchanged.
 */
export function listenError(err: unknown, host: string, port: number | undefined, hint: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return err;
  return new HarnessError(
    'USAGE',
    code === 'EADDRINUSE'
      ? `port ${port} on ${host} is already in use`
      : `no permission to listen on port ${port}`,
    { hint, cause: err },
  );
}

/** Resolves when the command's signal aborts (Ctrl-C, SIGTERM, SIGHUP): how a server command waits. */
export function untilStopped(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** `--project` and its frame flags, shared by report, route and compare (docs/projection.md). */
export const PROJECT_OPTIONS = {
  project: {
    type: 'boolean',
    describe:
      'add the projection to production volume: cost per month, pass rate and mean score at the production mix',
  },
  volume: { type: 'number', describe: 'with --project: production requests per month' },
  'volume-from': {
    type: 'string',
    describe:
      'with --project: a pool of production records (JSONL): its count over its time span gives the volume, its tags the mix',
  },
  'post-stratify': {
    type: 'string',
    describe: 'with --project: weigh a simple random sample by this tag, with counts from --volume-from',
  },
} as const;

export function checkProjectFlags(a: {
  project?: boolean;
  volume?: number;
  volumeFrom?: string;
  postStratify?: string;
}): void {
  const given = [
    a.volume !== undefined && '--volume',
    a.volumeFrom !== undefined && '--volume-from',
    a.postStratify !== undefined && '--post-stratify',
  ].filter(Boolean);
  if (!a.project && given.length > 0) throw usageError(`${given.join(', ')} only with --project`);
  if (a.volume !== undefined && !(Number.isFinite(a.volume) && a.volume > 0)) {
    throw usageError('--volume must be a positive number of requests per month, e.g. --volume 250000');
  }
  if (a.volumeFrom === '') throw usageError('--volume-from takes a file path');
  if (a.postStratify === '') throw usageError('--post-stratify takes a tag name, e.g. --post-stratify task');
}
