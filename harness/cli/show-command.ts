/**
 * `holdout show <run> <record-id>`: one record of a run as the evidence behind its numbers: the prompt
 * turn by turn, the reference, then every candidate's output side by side (columns fitted to the
 * terminal), each with its scores and their detail, tokens, cost, latency and reviewer's grade.
 */
import type { Argv } from 'yargs';
import { renderRecord } from '../../results/render/record-text.js';
import { loadRecordEvidence } from '../../results/report/records.js';
import { type CommandIo, DB_OPTION, readStore, usageError } from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface ShowArgs {
  run: string;
  recordId: string;
  candidates?: string;
  db?: string;
  json?: boolean;
}

/** The width outputs are fitted to when stdout is not a terminal. */
export const DEFAULT_WIDTH = 120;

export function showOptions(c: Argv) {
  return c
    .positional('run', { type: 'string', describe: RUN_REF_HELP })
    .positional('record-id', { type: 'string', describe: 'the record id' })
    .option('candidates', {
      type: 'string',
      describe: 'only these candidates, in this order (comma-separated: a,b)',
    })
    .option('db', DB_OPTION)
    .option('json', {
      type: 'boolean',
      describe: 'print the evidence as JSON: the record, its turns, every call with its scores and grade',
    })
    .check((a) => {
      if (a.candidates !== undefined && candidateList(a.candidates).length === 0)
        throw usageError('--candidates takes candidate ids, comma-separated: --candidates a,b', 'show');
      return true;
    });
}

function candidateList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function showCommand(a: ShowArgs, io: CommandIo): Promise<number> {
  return readStore(a.db, (store) => {
    const run = resolveRun(store, a.run);
    const only = a.candidates === undefined ? undefined : candidateList(a.candidates);
    const evidence = loadRecordEvidence(store, run.id, String(a.recordId), only);
    if (a.json) {
      io.stdout.write(`${JSON.stringify(evidence, null, 2)}\n`);
      return 0;
    }
    const columns = (io.stdout as { columns?: number }).columns;
    const width = typeof columns === 'number' && columns > 0 ? columns : DEFAULT_WIDTH;
    io.stdout.write(renderRecord(evidence, width));
    return 0;
  });
}
