/**
 * `holdout rescore <run>`: new or changed scorers over a run's stored outputs (harness/run/rescore.ts),
 * with no candidate call; judge calls are stored and resumable.
 */
import type { Argv } from 'yargs';
import { renderRescoreEstimate, rescoreDryRun, rescoreCommand as rescoreRun } from '../run/rescore.js';
import { type CommandIo, checkConcurrency, READING, withStore } from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface RescoreArgs {
  run: string | number;
  scorer?: string[];
  config?: string;
  db?: string;
  concurrency?: number;
  dryRun?: boolean;
}

export function rescoreOptions(c: Argv) {
  return c
    .positional('run', { type: 'string', demandOption: true, describe: RUN_REF_HELP })
    .option('scorer', {
      type: 'string',
      array: true,
      describe: 'recompute only these scorers, from scratch (judge calls are made again)',
    })
    .option('config', {
      type: 'string',
      describe:
        'take scorers and judges from this config (a file of scorers:, judges: and simulator: alone, or a run config): new ones are added, changed ones recomputed',
    })
    .option('dry-run', {
      type: 'boolean',
      describe:
        'print per scorer the scores it would compute and, for judge scorers, the judge calls and their estimated cost; call nothing, store nothing',
    })
    .option('db', { type: 'string', describe: 'SQLite file (default results/holdout.db)' })
    .option('concurrency', { type: 'number', describe: 'judge calls in flight' })
    .check((a) => {
      checkConcurrency(a.concurrency, 'rescore');
      return true;
    })
    .epilog(
      'Without --scorer, every scorer of the run fills the scores it lacks (e.g. after an interrupted judge pass). ' +
        'Judge calls are stored with role judge, apart from candidate cost, and are resumable.',
    );
}

export function rescoreCommand(a: RescoreArgs, io: CommandIo): Promise<number> {
  if (a.dryRun) {
    return withStore(
      a.db,
      async (store) => {
        const estimate = await rescoreDryRun(store, {
          runId: resolveRun(store, a.run).id,
          scorers: a.scorer,
          configPath: a.config,
        });
        io.stdout.write(renderRescoreEstimate(estimate));
        return 0;
      },
      READING,
    );
  }
  return withStore(a.db, async (store) => {
    const runId = resolveRun(store, a.run).id;
    const r = await rescoreRun(
      store,
      { runId, scorers: a.scorer, configPath: a.config, concurrency: a.concurrency },
      { stderr: io.stderr, env: io.env, clock: io.clock, signal: io.signal },
    );
    const judged = r.judgeCostUsd > 0 ? `; judge calls cost $${r.judgeCostUsd.toFixed(4)}` : '';
    io.stderr.write(
      `run ${runId}: ${r.scored} of ${r.pending} missing scores computed (${r.errors} scorer errors) for ${r.applied.join(', ') || 'no scorer'}${judged}\n`,
    );
    if (r.halted === 'interrupted') {
      io.stderr.write(`interrupted; every finished score is saved: rerun the same command to resume\n`);
      return 130;
    }
    if (r.halted) {
      io.stderr.write(`scoring stopped: ${r.halted}; rerun to resume\n`);
      return 1;
    }
    return 0;
  });
}
