import { writeFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { COMPARE_DEFAULTS } from '../../results/compare/compare.js';
import { COMPARE_FORMATS } from '../../results/render/compare-text.js';
import { buildReport, buildTrend, type ReportOptions } from '../../results/report/report.js';
import { renderHtml } from '../../results/render/report-html.js';
import { renderReport, renderTrend, type TrendFormat } from '../../results/render/report-text.js';
import { renderRouteHtml } from '../../results/render/route-html.js';
import { openStore, type Store } from '../../results/store/store.js';
import { type Clock, systemClock } from '../clock.js';
import { HarnessError } from '../errors.js';
import { defaultDbPath, sampleConfigPath } from '../paths.js';
import { rescoreCommand } from '../run/rescore.js';
import { dryRunCommand, renderEstimate, runCommand } from '../run/start.js';
import { runSimulatorCli } from '../sim/index.js';
import { COMPARE_EPILOG, type CompareArgs, compareCommand } from './compare-command.js';
import { type ImportArgs, importCommand, importOptions } from './import-command.js';
import { evaluateRouting, type RouteArgs, routeCommand, routeOptions } from './route-command.js';
import { type SampleArgs, sampleCommand, sampleOptions } from './sample-command.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Aborted on Ctrl-C; when absent, main installs its own SIGINT handler. */
  signal?: AbortSignal;
}

const FORMATS = ['table', 'md', 'json', 'csv', 'html'] as const;
type Format = (typeof FORMATS)[number];

/**
 * Exit codes: 0 ok, 1 run failed or incomplete (compare: FAIL), 2 usage/config/input error,
 * 3 compare INCONCLUSIVE with --fail-on-inconclusive, 130 interrupted.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode = 0;
  const clock = io.clock ?? systemClock;
  let controller: AbortController | undefined;
  let signal = io.signal;
  let onSigint: (() => void) | undefined;
  if (!signal) {
    controller = new AbortController();
    signal = controller.signal;
    let presses = 0;
    onSigint = () => {
      presses++;
      if (presses > 1) process.exit(130); // a second Ctrl-C means now
      io.stderr.write('\ninterrupted: finishing writes (Ctrl-C again to quit at once)…\n');
      controller!.abort();
    };
    process.on('SIGINT', onSigint);
  }
  const withStore = async <T>(db: string | undefined, fn: (store: Store) => Promise<T> | T): Promise<T> => {
    const store = openStore(db ?? defaultDbPath());
    try {
      return await fn(store);
    } finally {
      store.close();
    }
  };
  const write = (text: string, out?: string) => {
    if (out) {
      writeFileSync(out, text);
      io.stderr.write(`report written to ${out}\n`);
    } else io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  const printReport = (store: Store, runId: number, format: Format, out?: string, opts: ReportOptions = {}) =>
    write(renderReport(buildReport(store, runId, opts), format), out);
  const doRun = async (a: {
    config?: string;
    db?: string;
    resume?: number;
    new?: boolean;
    retryErrors?: boolean;
    concurrency?: number;
    budget?: number;
    dryRun?: boolean;
    format: Format;
  }) => {
    if (a.dryRun) {
      const { estimate, config } = await dryRunCommand(a.config!);
      io.stdout.write(renderEstimate(estimate, a.budget ?? config.budget_usd));
      return;
    }
    await withStore(a.db, async (store) => {
      const outcome = await runCommand(
        store,
        {
          configPath: a.config,
          resume: a.resume,
          fresh: a.new,
          retryErrors: a.retryErrors,
          concurrency: a.concurrency,
          budgetUsd: a.budget,
        },
        { stderr: io.stderr, env: io.env, clock, signal },
      );
      const s = outcome.summary;
      if (s.aborted) {
        io.stderr.write(
          `run ${outcome.runId} interrupted after ${s.done}/${s.total} calls; every finished call is saved.\n`,
        );
        io.stderr.write(`resume with: holdout run --resume ${outcome.runId}${a.db ? ` --db ${a.db}` : ''}\n`);
        exitCode = 130;
        return;
      }
      printReport(store, outcome.runId, a.format);
      for (const [id, why] of Object.entries(s.stopped))
        io.stderr.write(`candidate ${id} stopped early: ${why}\n`);
      if (s.budgetReached) {
        const spent = store.db
          .prepare('SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE run_id = ?')
          .pluck()
          .get(outcome.runId) as number;
        io.stderr.write(
          `run ${outcome.runId} stopped at its budget: $${spent.toFixed(4)} spent (candidates and judges); ` +
            'raise budget_usd (or pass --budget) and rerun to resume it\n',
        );
        exitCode = 1;
      } else if (!s.complete) {
        io.stderr.write(`run ${outcome.runId} is incomplete (${s.done}/${s.total}); rerun to resume it\n`);
        exitCode = 1;
      }
    });
  };

  const cli = buildCli(yargs(argv), {
    run: doRun,
    demo: async (a) => {
      if (io.env.OPENAI_API_KEY) {
        io.stderr.write(
          'note: OPENAI_API_KEY is set, but the demo always uses the local simulator; `holdout run <config>` spends real tokens\n',
        );
      }
      await doRun({
        config: sampleConfigPath(),
        db: a.db,
        new: true,
        format: a.format,
        concurrency: a.concurrency,
      });
    },
    report: async (a) => {
      await withStore(a.db, async (store) => {
        if (a.trend) {
          // Every run of the suite, oldest first: --suite, else the suite of the given or latest run.
          const suite = a.suite ?? (a.run === undefined ? store.latestRun() : store.getRun(a.run))?.suite;
          if (suite === undefined) {
            throw new HarnessError('RUN_NOT_FOUND', 'no runs in this database yet', {
              hint: 'run `holdout demo` or `holdout run <config>` first, or point --db at another database',
            });
          }
          write(renderTrend(buildTrend(store, suite), a.format as TrendFormat), a.out);
          return;
        }
        const run = a.run === undefined ? store.latestRun(a.suite) : store.getRun(a.run);
        if (!run) {
          throw new HarnessError(
            'RUN_NOT_FOUND',
            a.run === undefined ? 'no runs in this database yet' : `run ${a.run} is not in this database`,
            {
              hint: 'run `holdout demo` or `holdout run <config>` first, or point --db at another database',
            },
          );
        }
        if (a.route !== undefined && a.route.length > 0) {
          const routing = await evaluateRouting(
            store,
            {
              policies: a.route,
              run: run.id,
              margin: COMPARE_DEFAULTS.margin,
              alpha: COMPARE_DEFAULTS.alpha,
              by: a.by,
              fitOn: 'all',
              evaluateOn: 'all',
            },
            { stderr: io.stderr, env: io.env, clock, signal },
          );
          if (routing === 'interrupted') {
            exitCode = 130;
            return;
          }
          const report = buildReport(store, run.id, { by: a.by, baseline: a.baseline });
          write(renderHtml(report, [renderRouteHtml(routing)]), a.out);
          return;
        }
        printReport(store, run.id, a.format, a.out, { by: a.by, baseline: a.baseline });
      });
    },
    compare: async (a) => {
      await withStore(a.db, (store) => {
        exitCode = compareCommand(store, a, io);
      });
    },
    sample: (a) => sampleCommand(a, { stderr: io.stderr, clock }),
    route: async (a) => {
      await withStore(a.db, async (store) => {
        exitCode = await routeCommand(store, a, {
          stdout: io.stdout,
          stderr: io.stderr,
          env: io.env,
          clock,
          signal,
        });
      });
    },
    import: async (a) => {
      exitCode = await importCommand(a, { stderr: io.stderr, env: io.env, clock, signal });
    },
    rescore: async (a) => {
      await withStore(a.db, async (store) => {
        const r = await rescoreCommand(
          store,
          { runId: a.run, scorers: a.scorer, configPath: a.config, concurrency: a.concurrency },
          { stderr: io.stderr, env: io.env, clock, signal },
        );
        const judged = r.judgeCostUsd > 0 ? `; judge calls cost $${r.judgeCostUsd.toFixed(4)}` : '';
        io.stderr.write(
          `run ${a.run}: ${r.scored} of ${r.pending} missing scores computed (${r.errors} scorer errors) for ${r.applied.join(', ') || 'no scorer'}${judged}\n`,
        );
        if (r.halted === 'interrupted') {
          io.stderr.write(`interrupted; every finished score is saved: rerun the same command to resume\n`);
          exitCode = 130;
        } else if (r.halted) {
          io.stderr.write(`scoring stopped: ${r.halted}; rerun to resume\n`);
          exitCode = 1;
        }
      });
    },
    sim: async (a) => {
      const server = await runSimulatorCli(
        { port: a.port, host: a.host, answerKeyPath: a.answerKey, profilesPath: a.profiles },
        { stderr: io.stderr },
      );
      await new Promise<void>((resolve) => {
        if (signal!.aborted) resolve();
        else signal!.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
    },
  });

  try {
    await cli.parseAsync();
  } catch (err) {
    exitCode = reportError(err, io.stderr);
  } finally {
    if (onSigint) process.off('SIGINT', onSigint);
  }
  return exitCode;
}

function reportError(err: unknown, stderr: NodeJS.WritableStream): number {
  if (err instanceof HarnessError) {
    stderr.write(`holdout: ${err.message}\n`);
    if (err.hint) stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  stderr.write(
    `holdout: unexpected error (a bug; please report it):\n${err instanceof Error ? err.stack : String(err)}\n`,
  );
  return 1;
}

interface Handlers {
  run(a: {
    config?: string;
    db?: string;
    resume?: number;
    new?: boolean;
    retryErrors?: boolean;
    concurrency?: number;
    budget?: number;
    dryRun?: boolean;
    format: Format;
  }): Promise<void>;
  demo(a: { db?: string; format: Format; concurrency?: number }): Promise<void>;
  report(a: {
    run?: number;
    suite?: string;
    db?: string;
    format: Format;
    out?: string;
    by?: string;
    baseline?: string;
    trend?: boolean;
    route?: string[];
  }): Promise<void>;
  compare(a: CompareArgs & { db?: string }): Promise<void>;
  sim(a: { port: number; host: string; answerKey?: string; profiles?: string }): Promise<void>;
  sample(a: SampleArgs): Promise<void>;
  route(a: RouteArgs & { db?: string }): Promise<void>;
  import(a: ImportArgs): Promise<void>;
  rescore(a: {
    run: number;
    scorer?: string[];
    config?: string;
    db?: string;
    concurrency?: number;
  }): Promise<void>;
}

/** The command line as data: parsing runs no work, so tests can check it with stub handlers. */
export function buildCli(y: Argv, h: Handlers) {
  const db = { type: 'string', describe: 'SQLite database (default: results/holdout.db)' } as const;
  const format = { choices: FORMATS, default: 'table' as Format, describe: 'report format' } as const;
  return (
    y
      .scriptName('holdout')
      .usage('$0 <command> [options]\n\nHoldout evaluation of LLMs on your own traffic.')
      .command(
        'run [config]',
        'replay a dataset through the candidates of a run config (YAML)',
        (c) =>
          c
            .positional('config', { type: 'string', describe: 'run config (YAML)' })
            .option('db', db)
            .option('resume', { type: 'number', describe: 'resume run N: do only its missing work' })
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
              describe:
                'estimate the cost (tokenizer + price table) without calling anything or storing a run',
            })
            .option('format', format)
            .conflicts('resume', 'new')
            .conflicts('dry-run', 'resume')
            .check((a) => {
              if (a.config === undefined && a.resume === undefined)
                throw usageError('give a run config, or --resume <run>');
              if (a.budget !== undefined && !(a.budget > 0))
                throw usageError('--budget must be a positive number of USD');
              if (a.concurrency !== undefined && !(Number.isInteger(a.concurrency) && a.concurrency >= 1)) {
                throw usageError('--concurrency must be an integer from 1 up');
              }
              return true;
            }),
        (a) => h.run(a),
      )
      .command(
        'demo',
        'run the bundled sample bake-off (332 records × 3 simulated models) on the local simulator',
        (c) =>
          c
            .option('db', db)
            .option('format', format)
            .option('concurrency', { type: 'number', describe: 'total calls in flight' }),
        (a) => h.demo(a),
      )
      .command(
        'report [run]',
        'report a run from the database (default: the latest run)',
        (c) =>
          c
            .positional('run', { type: 'number', describe: 'run id' })
            .option('suite', { type: 'string', describe: 'latest run of this suite' })
            .option('db', db)
            .option('format', format)
            .option('out', { type: 'string', describe: 'write the report to this file instead of stdout' })
            .option('by', { type: 'string', describe: 'slice every figure by this record tag (e.g. task)' })
            .option('baseline', {
              type: 'string',
              describe: 'compare every other candidate with this one, paired per prompt, and list flips',
            })
            .option('trend', {
              type: 'boolean',
              describe: "each candidate across the runs of --suite (default: the run's suite), oldest first",
            })
            .option('route', {
              type: 'string',
              array: true,
              describe: 'with --format html: add a routing section evaluating these policy files on the run',
            })
            .check((a) => {
              if (a.route !== undefined && a.format !== 'html')
                throw usageError(
                  '--route adds a section to the html report; for table, md or json use `holdout route`',
                );
              if (a.by === '') throw usageError('--by takes a tag name, e.g. --by task');
              if (a.baseline === '') throw usageError('--baseline takes a candidate id');
              if (a.trend && (a.by !== undefined || a.baseline !== undefined))
                throw usageError('--trend cannot be combined with --by or --baseline');
              if (a.trend && a.format === 'html')
                throw usageError('--trend has no html format: use table, md, json or csv');
              return true;
            }),
        (a) => h.report(a),
      )
      .command(
        'compare',
        'regression gate: candidate B against baseline A on the same prompts (paired tests; exit 1 on FAIL)',
        (c) =>
          c
            .usage(
              '$0 compare --baseline A --candidate B [--run R | --runs R1 R2] [options]\n\n' +
                'Pairs the calls of A and B per (record, repeat), runs the paired tests of STATS.md and ' +
                'gates on the pass metric.',
            )
            .option('baseline', { type: 'string', demandOption: true, describe: 'candidate id of A' })
            .option('candidate', { type: 'string', demandOption: true, describe: 'candidate id of B' })
            .option('run', { type: 'number', describe: 'run holding both A and B (default: the latest run)' })
            .option('runs', {
              type: 'number',
              array: true,
              describe: 'two runs: A from the first, B from the second',
            })
            .option('db', db)
            .option('margin', {
              type: 'number',
              default: COMPARE_DEFAULTS.margin,
              describe: 'non-inferiority margin, absolute (0.03 = 3 points of pass rate)',
            })
            .option('alpha', {
              type: 'number',
              default: COMPARE_DEFAULTS.alpha,
              describe: 'one-sided level of every gating test; intervals are at 1 − 2·alpha',
            })
            .option('by', { type: 'string', describe: 'also compare per value of this tag (slices)' })
            .option('cluster', {
              type: 'string',
              describe: 'tag whose values are clusters (conversation, template): clustered CR1 t tests',
            })
            .option('seed', { type: 'number', default: COMPARE_DEFAULTS.seed, describe: 'bootstrap seed' })
            .option('format', {
              choices: COMPARE_FORMATS,
              default: 'table' as (typeof COMPARE_FORMATS)[number],
              describe: 'output format (md fits a PR comment; junit for CI test reports)',
            })
            .option('out', {
              type: 'string',
              describe: 'write the comparison to this file instead of stdout',
            })
            .option('fail-on-inconclusive', {
              type: 'boolean',
              default: false,
              describe: 'exit 3 instead of 0 when the verdict is INCONCLUSIVE',
            })
            .conflicts('run', 'runs')
            .check((a) => {
              if (a.runs !== undefined && (a.runs.length !== 2 || a.runs.some((r) => !Number.isInteger(r))))
                throw usageError('--runs takes exactly two run ids: --runs R1 R2');
              if (a.run !== undefined && !Number.isInteger(a.run)) throw usageError('--run must be a run id');
              if (!(a.margin > 0 && a.margin < 1))
                throw usageError('--margin must be between 0 and 1, e.g. 0.03');
              if (!(a.alpha > 0 && a.alpha < 0.5))
                throw usageError('--alpha must be between 0 and 0.5, e.g. 0.025');
              if (!(Number.isInteger(a.seed) && a.seed >= 0 && a.seed <= 0xffffffff))
                throw usageError('--seed must be an integer from 0 to 4294967295');
              if (a.by === '' || a.cluster === '') throw usageError('--by and --cluster take a tag name');
              return true;
            })
            .epilog(COMPARE_EPILOG),
        (a) => h.compare(a),
      )
      .command(
        'sim',
        'serve the local OpenAI-compatible simulator on loopback until Ctrl-C',
        (c) =>
          c
            .option('port', { type: 'number', default: 8787 })
            .option('host', { type: 'string', default: '127.0.0.1', describe: 'loopback only' })
            .option('answer-key', { type: 'string', describe: 'answer key JSON (prompt key → answer)' })
            .option('profiles', { type: 'string', describe: 'model profiles JSON' }),
        (a) => h.sim(a),
      )
      .command(
        'sample <records..>',
        'draw a seeded, stratified, deduplicated holdout sample (and split) from holdout records',
        sampleOptions,
        (a) => h.sample(a as SampleArgs),
      )
      .command(
        'rescore <run>',
        'apply new or changed scorers to a run’s stored outputs, without calling the candidates again',
        (c) =>
          c
            .positional('run', { type: 'number', demandOption: true, describe: 'the run id' })
            .option('scorer', {
              type: 'string',
              array: true,
              describe: 'recompute only these scorers, from scratch (judge calls are made again)',
            })
            .option('config', {
              type: 'string',
              describe:
                'take scorers and judges from this config: new ones are added, changed ones recomputed',
            })
            .option('db', { type: 'string', describe: 'SQLite file (default results/holdout.db)' })
            .option('concurrency', { type: 'number', describe: 'judge calls in flight' })
            .epilog(
              'Without --scorer, every scorer of the run fills the scores it lacks (e.g. after an interrupted judge pass). ' +
                'Judge calls are stored with role judge, apart from candidate cost, and are resumable.',
            ),
        (a) => h.rescore(a as never),
      )
      .command(
        'import <format> [paths..]',
        'turn production logs (Chat/Responses logs, Batch files, messages JSONL, CSV, stored completions) into holdout records',
        importOptions,
        (a) => h.import(a as ImportArgs),
      )
      .command(
        'route <policies..>',
        'evaluate routing policies offline on a run: quality, cost, latency beside every single model and the oracle',
        routeOptions,
        (a) => h.route(a as unknown as RouteArgs & { db?: string }),
      )
      .demandCommand(1, 'name a command: run, demo, report, compare, sim, sample, rescore, import or route')
      .strict()
      // Validation messages become usage errors (exit 2); errors from handlers pass through unchanged.
      .fail((msg, err) => {
        if (err) throw err;
        throw new HarnessError('USAGE', msg, { hint: 'run `holdout --help` for usage' });
      })
      .help()
      .version()
  );
}

/**
 * A bad flag combination: exit 2 with a pointer to --help, never a stack trace. Checks must throw
 * this: a plain Error from check() reaches .fail() as if it were a bug.
 */
function usageError(message: string): HarnessError {
  return new HarnessError('USAGE', message, { hint: 'run `holdout --help` for usage' });
}
