/**
 * `holdout export <run> --format parquet|jsonl [--out DIR]`: a run's calls and scores as two flat
 * tables (calls.<format>, scores.<format>) in a folder. The export itself lives in results/export/.
 */
import type { Argv } from 'yargs';
import { printable } from '../../../datasets/printable.js';
import { EXPORT_FORMATS, type ExportFormat, exportRun } from '../../../results/export/export.js';
import { type CommandIo, DB_OPTION, readStore, usageError } from '../common.js';
import { RUN_REF_HELP, resolveRun } from '../run-ref.js';

export interface ExportArgs {
  run: string;
  format: ExportFormat;
  out?: string;
  force?: boolean;
  db?: string;
}

export const EXPORT_USAGE =
  '$0 export <run> --format parquet|jsonl [--out DIR] [--force]\n\n' +
  "Writes a run's calls and scores as two flat tables in one folder: calls.<format> (one row per call: " +
  'run, record, candidate, repeat, model, tokens with cached, cache-write and reasoning tokens, cost, ' +
  'latency, time to first token, error kind, output) and scores.<format> (one row per call and scorer). ' +
  'Join them on call_id. Rows stream: memory stays flat with the size of the run.';

export const EXPORT_EPILOG =
  "DuckDB: SELECT candidate, avg(cost_usd) FROM read_parquet('DIR/calls.parquet') WHERE role = 'candidate' GROUP BY 1. " +
  'Calls include the judge and router calls made for the candidates (role judge, router): filter on role. ' +
  'Files are written beside their targets and renamed into place when both are complete; ' +
  'they are created readable by you alone (they hold production outputs). Columns: docs/export.md.';

/** The options of `holdout export`, for buildCli. */
export function exportOptions(c: Argv) {
  return c
    .usage(EXPORT_USAGE)
    .positional('run', { type: 'string', describe: RUN_REF_HELP })
    .option('format', {
      choices: EXPORT_FORMATS,
      demandOption: true,
      describe: 'parquet (Snappy-compressed, typed) or jsonl (one JSON object per line)',
    })
    .option('out', {
      alias: 'o',
      type: 'string',
      describe: 'the folder to write calls.<format> and scores.<format> in (default: holdout-run-<id>)',
    })
    .option('force', { type: 'boolean', describe: 'replace the files of an earlier export' })
    .option('db', DB_OPTION)
    .epilog(EXPORT_EPILOG);
}

/** Runs `holdout export`; returns the exit code (130 when interrupted). */
export async function exportCommand(a: ExportArgs, io: CommandIo): Promise<number> {
  if (a.out === '') throw usageError('--out takes a folder path', 'export');
  return readStore(a.db, async (store) => {
    const run = resolveRun(store, a.run);
    const dir = a.out ?? `holdout-run-${run.id}`;
    const result = await exportRun(store, run, { format: a.format, dir, force: a.force, signal: io.signal });
    if (result.interrupted) {
      io.stderr.write('export interrupted: nothing written\n');
      return 130;
    }
    const status = run.status === 'finished' ? '' : ` (the run is ${run.status}: the calls stored so far)`;
    io.stderr.write(`run ${run.id}${status}:\n`);
    for (const f of result.files) {
      io.stderr.write(`  ${f.rows.toLocaleString('en-US')} ${f.table} rows → ${printable(f.path)}\n`);
    }
    return 0;
  });
}
