/**
 * `holdout demo`: the bundled sample bake-off (datasets/sample/) on the local simulator, always, as a
 * new run; then its report.
 */
import type { Argv } from 'yargs';
import { sampleConfigPath } from '../paths.js';
import { type CommandIo, checkConcurrency, DB_OPTION, REPORT_FORMATS, type ReportFormat } from './common.js';
import { runCommand } from './run-command.js';

export interface DemoArgs {
  db?: string;
  format: ReportFormat;
  concurrency?: number;
}

export function demoOptions(c: Argv) {
  return c
    .option('db', DB_OPTION)
    .option('format', {
      choices: REPORT_FORMATS,
      default: 'table' as ReportFormat,
      describe: 'report format',
    })
    .option('concurrency', { type: 'number', describe: 'total calls in flight' })
    .check((a) => {
      checkConcurrency(a.concurrency, 'demo');
      return true;
    });
}

export function demoCommand(a: DemoArgs, io: CommandIo): Promise<number> {
  if (io.env.OPENAI_API_KEY) {
    io.stderr.write(
      'note: OPENAI_API_KEY is set, but the demo always uses the local simulator; `holdout run <config>` spends real tokens\n',
    );
  }
  return runCommand(
    { config: sampleConfigPath(), db: a.db, new: true, format: a.format, concurrency: a.concurrency },
    io,
  );
}
