/**
 * The database file at the edges: created private, checked for write access, and the SQLite errors
 * of a bad file or a failed write turned into messages a user can act on.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { HarnessError } from '../../harness/errors.js';

/**
 * A new database file, created empty and readable by its owner only (0600): it will hold production
 * prompts and outputs. SQLite gives its -wal and -shm files the same permissions.
 */
export function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    // Another process created it first: theirs is as good.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new HarnessError('STORE_OPEN', `cannot create database ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** "file is not a database" and its kin from the first statement: the --db names something else. */
export function notADatabase(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new HarnessError(
      'STORE_OPEN',
      `${path} is not a holdout database (SQLite: ${(err as Error).message})`,
      {
        cause: err,
        hint: 'point --db at the database holdout wrote (default results/holdout.db)',
      },
    );
  }
  return storeWriteError(err, path);
}

/**
 * A write that failed for want of disk: a HarnessError saying so (exit 1, no stack), since it is no
 * bug of holdout's. SQLite rolled back the statement or transaction that failed; every earlier
 * commit is intact. Anything else is returned unchanged.
 */
export function storeWriteError(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  const why = (err as Error).message;
  if (code === 'SQLITE_FULL') {
    return new HarnessError(
      'STORE_FULL',
      `the disk holding ${path} is full (SQLite: ${why}): the last write was not stored; everything committed before it is kept`,
      { cause: err, exitCode: 1, hint: 'free some disk space, then run the same command again to resume' },
    );
  }
  if (code === 'SQLITE_READONLY') {
    return new HarnessError('STORE_WRITE', `cannot write to ${path}: the database is read-only (${why})`, {
      cause: err,
      hint: 'this command stores what it computes: give it a writable database (or a writable copy)',
    });
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new HarnessError(
      'STORE_WRITE',
      `cannot write to ${path} (${code}: ${why}): the last write was not stored; everything committed before it is kept`,
      { cause: err, exitCode: 1, hint: 'check the disk, then run the same command again to resume' },
    );
  }
  return err;
}
