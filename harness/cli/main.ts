/**
 * harness/cli/: the command line. main.ts declares the commands and owns the process-level concerns
 * (signals, exit codes, how an error is printed); each `<command>-command.ts` beside it is one command:
 * its flags (`xxxOptions`) and a thin handler (`xxxCommand`) that parses, calls the core (harness/run,
 * harness/route, datasets, results) and renders. Nothing outside this folder imports it.
 */
import yargs, { type Argv } from 'yargs';
import { printableLines } from '../../datasets/printable.js';
import { type Clock, systemClock } from '../clock.js';
import { HarnessError } from '../errors.js';
import { scrubSecrets } from '../secrets.js';
import type { CommandIo } from './common.js';
import { type CompareArgs, compareCommand, compareOptions } from './compare-command.js';
import { type DemoArgs, demoCommand, demoOptions } from './demo-command.js';
import { type ImportArgs, importCommand, importOptions } from './import-command.js';
import { type ReportArgs, reportCommand, reportOptions } from './report-command.js';
import { type RescoreArgs, rescoreCommand, rescoreOptions } from './rescore-command.js';
import { type RouteArgs, routeCommand, routeOptions } from './route-command.js';
import { type RunArgs, runCommand, runOptions } from './run-command.js';
import { type RunsArgs, runsCommand, runsOptions } from './runs-command.js';
import { type SampleArgs, sampleCommand, sampleOptions } from './sample-command.js';
import { type ShowArgs, showCommand, showOptions } from './show-command.js';
import { type SimArgs, simCommand, simOptions } from './sim-command.js';
import { type ViewArgs, viewCommand, viewOptions } from './view-command.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Aborted on Ctrl-C; when absent, main installs its own SIGINT, SIGTERM and SIGHUP handlers. */
  signal?: AbortSignal;
}

/** Signals that mean "stop": the first one finishes writes and exits like Ctrl-C; a second quits at once. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Exit codes: 0 ok, 1 run failed or incomplete (compare: FAIL), 2 usage/config/input error,
 * 3 compare INCONCLUSIVE with --fail-on-inconclusive, 130 interrupted.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode = 0;
  const clock = io.clock ?? systemClock;
  let signal = io.signal;
  let detach = () => {};
  if (!signal) {
    const controller = new AbortController();
    signal = controller.signal;
    let received = 0;
    const onSignal = (name: string) => {
      received++;
      if (received > 1) process.exit(130); // a second signal means now
      io.stderr.write(
        `\n${name === 'SIGINT' ? 'interrupted' : `${name} received`}: finishing writes (Ctrl-C again to quit at once)…\n`,
      );
      controller.abort();
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
    detach = () => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    };
  }
  const cio: CommandIo = { stdout: io.stdout, stderr: io.stderr, env: io.env, clock, signal };
  // Each handler returns its exit code; main keeps it for when the parse settles.
  const set = (p: Promise<number>) =>
    p.then((code) => {
      exitCode = code;
    });
  const cli = buildCli(yargs(argv), {
    run: (a) => set(runCommand(a, cio)),
    demo: (a) => set(demoCommand(a, cio)),
    report: (a) => set(reportCommand(a, cio)),
    compare: (a) => set(compareCommand(a, cio)),
    sim: (a) => set(simCommand(a, cio)),
    sample: (a) => set(sampleCommand(a, { stderr: io.stderr, clock }).then(() => 0)),
    route: (a) => set(routeCommand(a, cio)),
    import: (a) => set(importCommand(a, { stderr: io.stderr, env: io.env, clock, signal })),
    rescore: (a) => set(rescoreCommand(a, cio)),
    view: (a) => set(viewCommand(a, cio)),
    runs: (a) => set(runsCommand(a, cio)),
    show: (a) => set(showCommand(a, cio)),
  });

  try {
    await cli.parseAsync();
  } catch (err) {
    exitCode = reportError(err, io.stderr);
  } finally {
    detach();
  }
  return exitCode;
}

function reportError(err: unknown, stderr: NodeJS.WritableStream): number {
  // Errors quote data (an endpoint's error body, a name from a file): keys scrubbed, and control
  // characters escaped so that nothing recolours or rewrites the terminal; our line breaks stay.
  const safe = (text: string) => printableLines(scrubSecrets(text));
  if (err instanceof HarnessError) {
    stderr.write(`holdout: ${safe(err.message)}\n`);
    if (err.hint) stderr.write(`hint: ${safe(err.hint)}\n`);
    return err.exitCode;
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  stderr.write(`holdout: unexpected error (a bug; please report it):\n${safe(text)}\n`);
  return 1;
}

interface Handlers {
  run(a: RunArgs): Promise<void>;
  demo(a: DemoArgs): Promise<void>;
  report(a: ReportArgs): Promise<void>;
  compare(a: CompareArgs): Promise<void>;
  sim(a: SimArgs): Promise<void>;
  sample(a: SampleArgs): Promise<void>;
  route(a: RouteArgs): Promise<void>;
  import(a: ImportArgs): Promise<void>;
  rescore(a: RescoreArgs): Promise<void>;
  view(a: ViewArgs): Promise<void>;
  runs(a: RunsArgs): Promise<void>;
  show(a: ShowArgs): Promise<void>;
}

/** The command line as data: parsing runs no work, so tests can check it with stub handlers. */
export function buildCli(y: Argv, h: Handlers) {
  return (
    y
      .scriptName('holdout')
      .usage('$0 <command> [options]\n\nHoldout evaluation of LLMs on your own traffic.')
      .command(
        'run [config]',
        'replay a dataset through the candidates of a run config (YAML)',
        runOptions,
        (a) => h.run(a as RunArgs),
      )
      .command(
        'demo',
        'run the bundled sample bake-off (332 records × 3 simulated models) on the local simulator',
        demoOptions,
        (a) => h.demo(a as DemoArgs),
      )
      .command(
        'report [run]',
        'report a run from the database (default: the latest run)',
        reportOptions,
        (a) => h.report(a as ReportArgs),
      )
      .command(
        'runs',
        'list the runs of the database, newest first (id, suite, created, status, records, candidates, cost)',
        runsOptions,
        (a) => h.runs(a as RunsArgs),
      )
      .command(
        'show <run> <record-id>',
        'one record of a run: its prompt, its reference, and every candidate’s output side by side with scores, tokens, cost and latency',
        showOptions,
        (a) => h.show(a as unknown as ShowArgs),
      )
      .command(
        'compare',
        'regression gate: candidate B against baseline A on the same prompts (paired tests; exit 1 on FAIL)',
        compareOptions,
        (a) => h.compare(a as CompareArgs),
      )
      .command(
        'sim',
        'serve the local OpenAI-compatible simulator on loopback until Ctrl-C',
        simOptions,
        (a) => h.sim(a as SimArgs),
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
        rescoreOptions,
        (a) => h.rescore(a as RescoreArgs),
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
        (a) => h.route(a as unknown as RouteArgs),
      )
      .command(
        'view',
        'browse the database in a local read-only web app (runs, reports, records, comparisons, grades) on 127.0.0.1',
        viewOptions,
        (a) => h.view(a as ViewArgs),
      )
      .demandCommand(
        1,
        'name a command: run, demo, report, runs, show, compare, sim, sample, rescore, import, route or view',
      )
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
