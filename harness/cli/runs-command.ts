/**
 * `holdout runs`: the runs of a database, newest first (id, suite, created, status, records,
 * candidates, cost), as a table, Markdown or JSON; `--suite` keeps one suite's.
 */
import type { Argv } from 'yargs';
import { RUNS_FORMATS, type RunsFormat, renderRuns } from '../../results/render/record-text.js';
import { countRuns, listRuns } from '../../results/report/records.js';
import { runsHint } from '../../results/store/missing.js';
import { HarnessError } from '../errors.js';
import { type CommandIo, DB_OPTION, readStore, usageError } from './common.js';

export interface RunsArgs {
  suite?: string;
  db?: string;
  format: RunsFormat;
}

export function runsOptions(c: Argv) {
  return c
    .option('suite', { type: 'string', describe: 'only the runs of this suite' })
    .option('db', DB_OPTION)
    .option('format', {
      choices: RUNS_FORMATS,
      default: 'table' as RunsFormat,
      describe: 'output format',
    })
    .check((a) => {
      if (a.suite === '') throw usageError('--suite takes a suite name', 'runs');
      return true;
    });
}

/** Lists the runs; an empty database prints an empty list (and says so on stderr), an unknown suite is exit 2. */
export function runsCommand(a: RunsArgs, io: CommandIo): Promise<number> {
  return readStore(a.db, (store) => {
    if (a.suite !== undefined && countRuns(store.db, a.suite) === 0 && countRuns(store.db) > 0) {
      throw new HarnessError(
        'RUN_NOT_FOUND',
        `no runs of suite ${JSON.stringify(a.suite)} in this database`,
        {
          hint: runsHint(store.db),
        },
      );
    }
    const rows = listRuns(store.db, { suite: a.suite });
    if (rows.length === 0) io.stderr.write('no runs in this database yet\n');
    io.stdout.write(renderRuns(rows, a.format));
    return 0;
  });
}
