/**
 * `holdout run <config>` (and `--resume N`, `--dry-run`): parses the flags, hands the run to the run
 * machinery (harness/run/start.ts), then prints the run's report and says how it ended.
 */
import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { buildReport } from '../../results/report/report.js';
import { fixedWidth } from '../../results/render/format.js';
import { renderReport } from '../../results/render/report-text.js';
import { readYamlFile } from '../config.js';
import { dryRunCommand } from '../run/dry-run.js';
import { ASSUMED_OUTPUT_TOKENS, JUDGE_OUTPUT_TOKENS, type RunEstimate } from '../run/estimate.js';
import { describeDecision } from '../run/sequential-stop.js';
import { runCommand as executeRun } from '../run/start.js';
import {
  type CommandIo,
  checkConcurrency,
  DB_OPTION,
  REPORT_FORMATS,
  type ReportFormat,
  usageError,
  withStore,
  writeOutput,
} from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface RunArgs {
  config?: string;
  db?: string;
  /** A run reference (harness/cli/run-ref.ts): an id, `latest` or `latest~N`. */
  resume?: string;
  new?: boolean;
  retryErrors?: boolean;
  concurrency?: number;
  budget?: number;
  dryRun?: boolean;
  format: ReportFormat;
  untilDecided?: boolean;
  baseline?: string;
  candidate?: string;
  margin?: number;
  alpha?: number;
}

export function runOptions(c: Argv) {
  return c
    .positional('config', { type: 'string', describe: 'run config (YAML)' })
    .option('db', DB_OPTION)
    .option('resume', {
      type: 'string',
      describe: `resume this run (${RUN_REF_HELP}): do only its missing work`,
    })
    .option('new', {
      type: 'boolean',
      describe: 'start a new run even if an unfinished one of this config exists',
    })
    .option('retry-errors', {
      type: 'boolean',
      describe: 'redo calls whose stored result is an error',
    })
    .option('concurrency', {
      type: 'number',
      describe: 'total calls in flight (overrides the config)',
    })
    .option('budget', {
      type: 'number',
      describe: 'stop issuing calls once the run has spent this many USD (overrides budget_usd)',
    })
    .option('dry-run', {
      type: 'boolean',
      describe: 'estimate the cost (tokenizer + price table) without calling anything or storing a run',
    })
    .option('format', {
      choices: REPORT_FORMATS,
      default: 'table' as ReportFormat,
      describe: 'report format',
    })
    .option('until-decided', {
      type: 'boolean',
      describe:
        'stop sending once the anytime-valid verdict of --candidate against --baseline is clear (records in a seeded random order; docs/config-stop.md)',
    })
    .option('baseline', { type: 'string', describe: 'with --until-decided: candidate id of A' })
    .option('candidate', { type: 'string', describe: 'with --until-decided: candidate id of B' })
    .option('margin', {
      type: 'number',
      describe: 'with --until-decided: non-inferiority margin, absolute (default 0.03)',
    })
    .option('alpha', {
      type: 'number',
      describe: 'with --until-decided: one-sided level of each claim (default 0.025)',
    })
    .conflicts('resume', 'new')
    .conflicts('dry-run', 'resume')
    .check((a) => {
      if (a.config === undefined && a.resume === undefined)
        throw usageError('give a run config, or --resume <run>');
      if (a.budget !== undefined && !(a.budget > 0))
        throw usageError('--budget must be a positive number of USD');
      checkConcurrency(a.concurrency);
      for (const flag of ['baseline', 'candidate', 'margin', 'alpha'] as const) {
        if (a[flag] !== undefined && !a['until-decided'])
          throw usageError(`--${flag} goes with --until-decided`);
      }
      if (a.margin !== undefined && !(a.margin > 0 && a.margin < 1))
        throw usageError('--margin must be between 0 and 1, e.g. 0.03');
      if (a.alpha !== undefined && !(a.alpha > 0 && a.alpha < 0.5))
        throw usageError('--alpha must be between 0 and 0.5, e.g. 0.025');
      return true;
    });
}

/** Runs (or resumes, or estimates) a run; returns the exit code. */
export async function runCommand(a: RunArgs, io: CommandIo): Promise<number> {
  if (a.dryRun) {
    const { estimate, config } = await dryRunCommand(a.config!);
    io.stdout.write(renderEstimate(estimate, a.budget ?? config.budget_usd));
    return 0;
  }
  // A resumed run must already be in the database: a mistyped --db is an error, not a new file.
  const db = a.db ?? dbOfConfig(a.config);
  return withStore(
    db,
    async (store) => {
      const outcome = await executeRun(
        store,
        {
          configPath: a.config,
          resume: a.resume === undefined ? undefined : resolveRun(store, a.resume).id,
          fresh: a.new,
          retryErrors: a.retryErrors,
          concurrency: a.concurrency,
          budgetUsd: a.budget,
          stop: a.untilDecided
            ? {
                untilDecided: true,
                baseline: a.baseline,
                candidate: a.candidate,
                margin: a.margin,
                alpha: a.alpha,
              }
            : undefined,
        },
        { stderr: io.stderr, env: io.env, clock: io.clock, signal: io.signal },
      );
      const s = outcome.summary;
      if (s.aborted) {
        io.stderr.write(
          `run ${outcome.runId} interrupted after ${s.done}/${s.total} calls; every finished call is saved.\n`,
        );
        io.stderr.write(`resume with: holdout run --resume ${outcome.runId}${db ? ` --db ${db}` : ''}\n`);
        return 130;
      }
      writeOutput(io, renderReport(buildReport(store, outcome.runId), a.format), undefined, 'report');
      for (const [id, why] of Object.entries(s.stopped))
        io.stderr.write(`candidate ${id} stopped early: ${why}\n`);
      if (outcome.decision) {
        const stop = outcome.config.stop;
        io.stderr.write(
          `run ${outcome.runId} ${describeDecision(outcome.decision)} (${outcome.decision.promptsFed} pairs fed)` +
            `${stop ? `; the sequential verdict: holdout compare --run ${outcome.runId} --baseline ${stop.baseline} --candidate ${stop.candidate}` : ''}\n`,
        );
        return 0;
      }
      if (s.budgetReached) {
        const spent = store.db
          .prepare('SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE run_id = ?')
          .pluck()
          .get(outcome.runId) as number;
        io.stderr.write(
          `run ${outcome.runId} stopped at its budget: $${spent.toFixed(4)} spent (candidates and judges); ` +
            'raise budget_usd (or pass --budget) and rerun to resume it\n',
        );
        return 1;
      }
      if (!s.complete) {
        io.stderr.write(`run ${outcome.runId} is incomplete (${s.done}/${s.total}); rerun to resume it\n`);
        return 1;
      }
      return 0;
    },
    a.resume !== undefined && a.config === undefined ? { mustExist: true } : {},
  );
}

/**
 * The run config's own `db:` (relative to the config file), when --db is not given: flags win over
 * the config, the config over the default (results/holdout.db).
 */
function dbOfConfig(configPath: string | undefined): string | undefined {
  if (configPath === undefined) return undefined;
  let raw: unknown;
  try {
    raw = readYamlFile(configPath, 'config');
  } catch {
    return undefined; // the run reads the config again and reports what is wrong with it
  }
  const db = (raw as { db?: unknown } | null)?.db;
  return typeof db === 'string' && db !== '' ? resolve(dirname(configPath), db) : undefined;
}

/** The estimate as a table: a row per candidate and judge, then the total. */
function renderEstimate(e: RunEstimate, budgetUsd: number | undefined): string {
  const usd = (x: number) => `$${x < 1 ? x.toPrecision(3) : x.toFixed(2)}`;
  const basis = (b: RunEstimate['endpoints'][number]['basis']) =>
    (['logged', 'reference', 'cap', 'assumed'] as const)
      .filter((k) => b[k] > 0)
      .map((k) => `${k} ${b[k]}`)
      .join(', ');
  const rows = e.endpoints.map((x) => [
    x.batch ? `${x.id} (batch)` : x.id,
    x.role,
    x.model,
    String(x.calls),
    String(x.inputTokens),
    String(x.outputTokens),
    x.replay ? `(${usd(x.costUsd)} logged, not spent)` : usd(x.costUsd),
    x.replay ? 'no calls: the logged responses' : basis(x.basis),
  ]);
  const table = fixedWidth(
    [
      'endpoint',
      'role',
      'model',
      'calls',
      'input tokens',
      'output tokens',
      'est. cost',
      'output tokens from',
    ],
    rows,
    new Set([0, 1, 2, 6, 7]),
  );
  const lines = [
    `dry run: ${e.records} records × ${e.repeats} repeat${e.repeats === 1 ? '' : 's'}; no call made, nothing stored`,
    ...table,
    `estimated new spend: ${usd(e.totalUsd)}${budgetUsd !== undefined ? ` (budget ${usd(budgetUsd)}${e.totalUsd > budgetUsd ? ': the run would stop at the budget' : ''})` : ''}`,
    `Input tokens are counted with the model family's tokenizer, no prompt caching assumed. Output tokens per call come from the logged response, else the reference, else the request's output limit (an upper bound), else ${ASSUMED_OUTPUT_TOKENS} assumed; a judge's reply is taken as ${JUDGE_OUTPUT_TOKENS}. Hidden reasoning tokens are not estimated: reasoning models can cost more.`,
  ];
  return `${lines.join('\n')}\n`;
}
