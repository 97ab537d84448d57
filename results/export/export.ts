/**
 * `holdout export`: a run's calls and scores as two flat tables, `calls.<ext>` and `scores.<ext>`
 * in one folder, for DuckDB, a warehouse or a notebook. Rows stream from SQLite a batch at a time
 * (memory holds one batch whatever the run's size), inside one read transaction so that the two
 * files are one snapshot even of a run still in progress. Each file is written beside its target
 * and renamed into place only when both are complete: an interrupted export leaves nothing behind.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from '../../harness/errors.js';
import type { RunRow, Store } from '../store/store.js';
import { TABLES, type Table, tableQuery } from './tables.js';
import { jsonlTableWriter, parquetTableWriter, type Row, type TableWriter } from './writers.js';

export const EXPORT_FORMATS = ['parquet', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * Rows per batch, and per Parquet row group. Each batch's rows, columns and encoded pages are
 * garbage once written: at 50,000 rows a 1M-call export peaked at 719 MiB RSS, at 10,000 at ~290
 * MiB (the note of the change has the measurements).
 */
export const BATCH_ROWS = 10_000;

export interface ExportOptions {
  format: ExportFormat;
  /** The folder the two files go in; created when missing. */
  dir: string;
  /** Replace files of a previous export. */
  force?: boolean;
  /** Checked between batches: aborting stops the export and removes what it wrote. */
  signal?: AbortSignal;
  batchRows?: number;
}

export interface ExportedFile {
  table: Table['name'];
  path: string;
  rows: number;
}

export type ExportResult = { interrupted: false; files: ExportedFile[] } | { interrupted: true };

/** The paths an export of `format` writes in `dir`. */
export function exportPaths(dir: string, format: ExportFormat): Record<Table['name'], string> {
  return { calls: join(dir, `calls.${format}`), scores: join(dir, `scores.${format}`) };
}

function prepareDir(dir: string, targets: string[], force: boolean): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) {
      throw new HarnessError('USAGE', `--out ${dir} is a file: export writes a folder (calls and scores)`, {
        hint: 'give a folder path for --out',
      });
    }
  } else {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new HarnessError('USAGE', `cannot create ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
        cause: err,
        hint: 'check the path and its permissions',
      });
    }
  }
  const present = targets.filter((t) => existsSync(t));
  if (present.length > 0 && !force) {
    throw new HarnessError(
      'USAGE',
      `${present.join(' and ')} already exist${present.length === 1 ? 's' : ''}: not overwritten`,
      {
        hint: 'pass --force to replace them, or --out another folder',
      },
    );
  }
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Writes both tables of `run`. Returns the files and their row counts, or `interrupted` when the
 * signal aborted (nothing is left on disk then).
 */
export async function exportRun(store: Store, run: RunRow, o: ExportOptions): Promise<ExportResult> {
  const paths = exportPaths(o.dir, o.format);
  prepareDir(o.dir, Object.values(paths), o.force === true);
  const batchRows = o.batchRows ?? BATCH_ROWS;
  const meta = {
    'holdout.run_id': String(run.id),
    'holdout.suite': run.suite,
    'holdout.run_status': run.status,
    'holdout.run_created_at': run.created_at,
  };
  const written: { table: Table; partial: string; rows: number }[] = [];
  let open: TableWriter | undefined;
  const cleanUp = () => {
    open?.abandon();
    for (const w of written) rmSync(w.partial, { force: true });
  };
  const db = store.db;
  db.exec('BEGIN'); // one snapshot for both tables, released whatever happens
  try {
    for (const table of TABLES) {
      const partial = `${paths[table.name]}.partial`;
      written.push({ table, partial, rows: 0 });
      const entry = written[written.length - 1]!;
      open =
        o.format === 'parquet'
          ? parquetTableWriter(partial, table, { ...meta, 'holdout.table': table.name })
          : jsonlTableWriter(partial, table);
      let batch: Row[] = [];
      // Raw rows (arrays, not objects): a 1M-call run makes 1M of them.
      const rows = db.prepare(tableQuery(table)).raw(true).iterate(run.id) as IterableIterator<Row>;
      for (const row of rows) {
        batch.push(row);
        if (batch.length < batchRows) continue;
        open.write(batch);
        entry.rows += batch.length;
        batch = [];
        // Let Ctrl-C be seen: a large export runs for many seconds.
        await nextTurn();
        if (o.signal?.aborted) {
          cleanUp();
          return { interrupted: true };
        }
      }
      open.write(batch);
      entry.rows += batch.length;
      open.finish();
      open = undefined;
    }
  } catch (err) {
    cleanUp();
    throw err;
  } finally {
    db.exec('COMMIT');
  }
  for (const w of written) renameSync(w.partial, paths[w.table.name]);
  return {
    interrupted: false,
    files: written.map((w) => ({ table: w.table.name, path: paths[w.table.name], rows: w.rows })),
  };
}
