/**
 * `holdout rescore <run>`: new or changed scorers over a run's stored outputs (harness/run/rescore.ts),
 * with no candidate call; judge calls are stored and resumable.
 */
import type { Argv } from 'yargs';
import { printable } from '../../datasets/printable.js';
import { fixedWidth } from '../../results/render/format.js';
import { JUDGE_OUTPUT_TOKENS } from '../run/estimate.js';
import { type RescoreEstimate, rescoreDryRun, rescoreCommand as rescoreRun } from '../run/rescore.js';
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

/** The dry run as a table: a row per scorer, then the total. */
function renderRescoreEstimate(e: RescoreEstimate): string {
  const usd = (x: number) => `$${x < 1 ? x.toPrecision(3) : x.toFixed(2)}`;
  const rows = e.scorers.map((s) => [
    printable(s.name),
    s.kind,
    s.mode,
    String(s.scores),
    s.judge ? `${s.judge.judge} (${s.judge.model})` : '-',
    s.judge ? String(s.judge.calls) : '-',
    s.judge ? String(s.judge.reused) : '-',
    s.judge ? String(s.judge.inputTokens) : '-',
    s.judge ? String(s.judge.outputTokens) : '-',
    s.judge ? usd(s.judge.costUsd) : '-',
  ]);
  const table = fixedWidth(
    [
      'scorer',
      'kind',
      'mode',
      'scores',
      'judge',
      'judge calls',
      'reused',
      'input tokens',
      'output tokens',
      'est. cost',
    ],
    rows,
    new Set([0, 1, 2, 4]),
  );
  const lines = [
    `dry run: rescore of run ${e.runId}; no call made, nothing stored`,
    ...(e.scorers.length > 0 ? table : ['no scorer to apply']),
    `estimated new spend: ${usd(e.totalUsd)} (judge calls)`,
    `Judge input tokens are counted with the judge model's tokenizer on the request each call would send; a judge's reply is taken as ${JUDGE_OUTPUT_TOKENS} tokens. "reused": stored judge answers that a fill takes instead of calling again.`,
  ];
  return `${lines.join('\n')}\n`;
}
