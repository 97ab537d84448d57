/**
 * harness/cli/: the command line. main.ts declares the commands and owns the process-level concerns
 * (signals, exit codes, how an error is printed); each `<command>-command.ts` beside it is one command:
 * its flags (`xxxOptions`) and a thin handler (`xxxCommand`) that parses, calls the core (harness/run,
 * harness/route, datasets, results) and renders. Nothing outside this folder imports it.
 *
 * Start-up: declaring a command costs nothing. COMMANDS names each command with its description and
 * a `load` that imports its module; main imports only the module of the command being run (found in
 * argv before yargs parses), so `holdout --help` or `holdout report` never loads the SDK, the run
 * machinery or the scorers of the other commands. test/cli-startup.test.ts guards this.
 */
import { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import { type Clock, systemClock } from '../clock.js';
import { HarnessError } from '../errors.js';
import { explicitDb, packageVersion } from '../paths.js';
import type { CommandIo } from './common.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Aborted on Ctrl-C; when absent, main installs its own SIGINT, SIGTERM and SIGHUP handlers. */
  signal?: AbortSignal;
}

/** A command once its module is loaded: its flags, and its handler returning the exit code. */
export interface LoadedCommand {
  options(y: Argv): unknown;
  run(args: unknown, io: CommandIo): Promise<number>;
}

export interface CommandEntry {
  /** The yargs command: its name, then its positionals (`report [run]`, `show <run> <record-id>`). */
  command: string;
  describe: string;
  /** Imports the command's module: called only for the command being run. */
  load(): Promise<LoadedCommand>;
  /** The command prints data with a `--format` that has json: main adds `--json` to it (JSON_OPTION). */
  json?: true;
}

/** Pairs a command module's flags and handler; the handler's argument type is the module's own. */
function loaded<A>(
  options: (y: Argv) => unknown,
  run: (a: A, io: CommandIo) => Promise<number>,
): LoadedCommand {
  return { options, run: (a, io) => run(a as A, io) };
}

/**
 * Every command, in the order `holdout --help` lists them. To add one: an entry here whose `load`
 * imports `./<name>-command.js` (a dynamic import, never a static one: that is what keeps start-up
 * fast) and pairs its `<name>Options` and `<name>Command` with `loaded`; `json: true` when its
 * `--format` has json. Every command gets `--quiet`, and its `--db` falls back to $HOLDOUT_DB, here
 * in main (commandArgs, runLoaded), so a command file never handles either.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    command: 'run [config]',
    describe: 'replay a dataset through the candidates of a run config (YAML)',
    load: async () => {
      const m = await import('./run-command.js');
      return loaded(m.runOptions, m.runCommand);
    },
  },
  {
    command: 'demo',
    describe: 'run the bundled sample bake-off (332 records × 3 simulated models) on the local simulator',
    load: async () => {
      const m = await import('./demo-command.js');
      return loaded(m.demoOptions, m.demoCommand);
    },
  },
  {
    command: 'report [run]',
    describe: 'report a run from the database (default: the latest run)',
    json: true,
    load: async () => {
      const m = await import('./report-command.js');
      return loaded(m.reportOptions, m.reportCommand);
    },
  },
  {
    command: 'runs',
    describe:
      'list the runs of the database, newest first (id, suite, created, status, records, candidates, cost)',
    json: true,
    load: async () => {
      const m = await import('./runs-command.js');
      return loaded(m.runsOptions, m.runsCommand);
    },
  },
  {
    command: 'show <run> <record-id>',
    describe:
      'one record of a run: its prompt, its reference, and every candidate’s output side by side with scores, tokens, cost and latency',
    load: async () => {
      const m = await import('./show-command.js');
      return loaded(m.showOptions, m.showCommand);
    },
  },
  {
    command: 'compare',
    describe:
      'regression gate: candidate B against baseline A on the same prompts (paired tests; exit 1 on FAIL)',
    json: true,
    load: async () => {
      const m = await import('./compare-command.js');
      return loaded(m.compareOptions, m.compareCommand);
    },
  },
  {
    command: 'sim',
    describe: 'serve the local OpenAI-compatible simulator on loopback until Ctrl-C',
    load: async () => {
      const m = await import('./sim-command.js');
      return loaded(m.simOptions, m.simCommand);
    },
  },
  {
    command: 'sample <records..>',
    describe: 'draw a seeded, stratified, deduplicated holdout sample (and split) from holdout records',
    load: async () => {
      const m = await import('./data/sample-command.js');
      return loaded(m.sampleOptions, (a: Parameters<typeof m.sampleCommand>[0], io) =>
        m.sampleCommand(a, io).then(() => 0),
      );
    },
  },
  {
    command: 'rescore <run>',
    describe: 'apply new or changed scorers to a run’s stored outputs, without calling the candidates again',
    load: async () => {
      const m = await import('./rescore-command.js');
      return loaded(m.rescoreOptions, m.rescoreCommand);
    },
  },
  {
    command: 'import <format> [paths..]',
    describe:
      'turn production logs (Chat/Responses logs, Batch files, messages JSONL, CSV, stored completions) into holdout records',
    load: async () => {
      const m = await import('./data/import-command.js');
      return loaded(m.importOptions, m.importCommand);
    },
  },
  {
    command: 'init [file]',
    describe:
      'write a commented starter run config, inferred from records or a production log (API style, tags, scorers per task, candidates)',
    load: async () => {
      const m = await import('./data/init-command.js');
      return loaded(m.initOptions, m.initCommand);
    },
  },
  {
    command: 'export <run>',
    describe:
      'write a run’s calls and scores as flat tables (Parquet or JSONL) for DuckDB, a warehouse or a notebook',
    load: async () => {
      const m = await import('./data/export-command.js');
      return loaded(m.exportOptions, m.exportCommand);
    },
  },
  {
    command: 'route <policies..>',
    describe:
      'evaluate routing policies offline on a run: quality, cost, latency beside every single model and the oracle',
    json: true,
    load: async () => {
      const m = await import('./route-command.js');
      return loaded(m.routeOptions, m.routeCommand);
    },
  },
  {
    command: 'view',
    describe:
      'browse the database in a local read-only web app (runs, reports, records, comparisons, grades) on 127.0.0.1',
    load: async () => {
      const m = await import('./view-command.js');
      return loaded(m.viewOptions, m.viewCommand);
    },
  },
];

/** A command's name: the first word of its yargs command. */
export function commandName(entry: Pick<CommandEntry, 'command'>): string {
  return entry.command.split(' ')[0]!;
}

/**
 * The command argv names: its first word that is a command's name (words after `--` are data). A
 * flag's value that happens to be a command name is caught by main: yargs then runs another command,
 * which main loads and parses again.
 */
export function invokedCommand(argv: readonly string[]): CommandEntry | undefined {
  for (const word of argv) {
    if (word === '--') return undefined;
    if (word.startsWith('-')) continue;
    const entry = COMMANDS.find((c) => commandName(c) === word);
    if (entry) return entry;
  }
  return undefined;
}

/** `a, b or c`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** Signals that mean "stop": the first one finishes writes and exits like Ctrl-C; a second quits at once. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Exit codes: 0 ok, 1 run failed or incomplete (compare: FAIL), 2 usage/config/input error,
 * 3 compare INCONCLUSIVE with --fail-on-inconclusive, 4 compare --against previous with no previous run,
 * 130 interrupted.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  // Asked often by scripts and tools: answered without loading yargs, the same text yargs prints.
  if (argv.length === 1 && argv[0] === '--version') {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  // The other one: `holdout --help` is rendered here (topHelp), so that it loads no parser either;
  // on a terminal narrower than yargs' 80 columns yargs lays it out (it narrows columns its own way).
  const columns = (io.stdout as { columns?: number }).columns;
  if (argv.length === 1 && argv[0] === '--help' && (columns === undefined || columns >= HELP_WIDTH)) {
    io.stdout.write(`${topHelp(HELP_WIDTH)}\n`);
    return 0;
  }
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
  try {
    const { default: yargs } = await import('yargs');
    let entry = invokedCommand(argv);
    for (;;) {
      const command = entry && { name: commandName(entry), loaded: await entry.load() };
      let missed: CommandEntry | undefined;
      const cli = buildCli(yargs(argv), command, {
        run: async (loadedCommand, args) => {
          exitCode = await runLoaded(loadedCommand, commandArgs(args, argv, io.env), cio);
        },
        missed: (name) => {
          missed = COMMANDS.find((c) => commandName(c) === name);
        },
      });
      skipHelpCache(cli);
      await cli.parseAsync();
      if (!missed || missed === entry) break;
      entry = missed;
    }
  } catch (err) {
    exitCode = await reportError(err, io.stderr, io.env);
  } finally {
    detach();
  }
  return exitCode;
}

/**
 * yargs renders the whole help text of a command each time it runs one, in case the handler asks
 * for it later (tens of ms on every run). Ours never do: a failure throws to main (see .fail), which
 * prints the error and a pointer to --help. Internal API, so guarded: should it change, start-up is
 * slower again and nothing else.
 */
function skipHelpCache(cli: Argv): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } };
  const usage = (cli as unknown as Internals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * The args a command's handler gets: `--db` falling back to $HOLDOUT_DB (explicitDb), and `--json`
 * applied as `--format json`. `--json` with another `--format` written out is a usage error.
 */
export function commandArgs(
  args: Record<string, unknown>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const out = { ...args };
  const db = explicitDb(typeof args.db === 'string' ? args.db : undefined, env);
  if (db !== undefined) out.db = db;
  if (args.json === true) {
    const formatGiven = argv.some((w) => w === '--format' || w.startsWith('--format='));
    if (formatGiven && args.format !== 'json') {
      throw new HarnessError('USAGE', `--json means --format json: give one or the other, not both`, {
        hint: 'run `holdout --help` for usage',
      });
    }
    out.format = 'json';
  }
  return out;
}

/** `--json`, on the commands whose table entry says `json: true`. */
export const JSON_OPTION = { type: 'boolean', describe: 'print JSON (the same as --format json)' } as const;

/** `--quiet`, on every command. */
export const QUIET_OPTION = {
  alias: 'q',
  type: 'boolean',
  describe: 'no progress or notes on stderr; a command that fails still says why',
} as const;

/** Runs the loaded command; with `--quiet`, its stderr is held back and shown only if it fails. */
async function runLoaded(
  command: LoadedCommand,
  args: Record<string, unknown>,
  cio: CommandIo,
): Promise<number> {
  if (args.quiet !== true) return command.run(args, cio);
  const held = heldStderr();
  try {
    const code = await command.run(args, { ...cio, stderr: held.stream });
    if (code !== 0) held.release(cio.stderr);
    return code;
  } catch (err) {
    held.release(cio.stderr);
    throw err;
  }
}

/** How much of a quiet command's stderr is kept, in UTF-16 units: the end of it, where a failure is told. */
const HELD_LIMIT = 64 * 1024;

/**
 * `--quiet`: the stderr a command writes is held back instead of shown; `release` shows it when the
 * command failed (an exit code other than 0, or an error), so a command that succeeds prints only its
 * data and one that fails still says why (what it wrote last, up to HELD_LIMIT). The stream is not a
 * TTY, so progress comes as plain lines, never redrawn in place.
 */
export function heldStderr(): {
  stream: NodeJS.WritableStream & { isTTY: false };
  release(to: NodeJS.WritableStream): void;
} {
  let held = '';
  let dropped = false;
  const sink = new Writable({
    decodeStrings: false,
    write(chunk: unknown, _encoding, done) {
      held += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (held.length > HELD_LIMIT) {
        // Whole lines only: cut at the first line break inside the part kept.
        const cut = held.indexOf('\n', held.length - HELD_LIMIT);
        held = cut === -1 ? held.slice(held.length - HELD_LIMIT) : held.slice(cut + 1);
        dropped = true;
      }
      done();
    },
  });
  return {
    stream: Object.assign(sink, { isTTY: false as const }),
    release(to) {
      if (held === '') return;
      to.write(`${dropped ? '[earlier lines left out]\n' : ''}${held}`);
      held = '';
    },
  };
}

async function reportError(
  err: unknown,
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<number> {
  // Errors quote data (an endpoint's error body, a name from a file): keys scrubbed, and control
  // characters escaped so that nothing recolours or rewrites the terminal; our line breaks stay.
  // Imported here: only a failing command needs them (the secret detectors are not small).
  const [{ printableLines }, { scrubSecrets }, { colorEnabled, paint }] = await Promise.all([
    import('../../datasets/printable.js'),
    import('../secrets.js'),
    import('../../results/render/text-style.js'),
  ]);
  const safe = (text: string) => printableLines(scrubSecrets(text));
  const color = colorEnabled(stderr, env);
  const label = paint('red', paint('bold', 'holdout:', color), color);
  if (err instanceof HarnessError) {
    stderr.write(`${label} ${safe(err.message)}\n`);
    if (err.hint) stderr.write(`${paint('dim', 'hint:', color)} ${safe(err.hint)}\n`);
    return err.exitCode;
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  stderr.write(`${label} unexpected error (a bug; please report it):\n${safe(text)}\n`);
  return 1;
}

/** yargs' default width: help text wraps at 80 columns (or a narrower terminal's width). */
const HELP_WIDTH = 80;
const USAGE = '$0 <command> [options]\n\nHoldout evaluation of LLMs on your own traffic.';
const COMPLETION_DESCRIBE = 'print a completion script for bash or zsh: holdout completion >> ~/.bashrc';
const BUILTIN_OPTIONS: readonly [string, string, string][] = [
  ['-q, --quiet', QUIET_OPTION.describe, '[boolean]'],
  ['    --help', 'Show help', '[boolean]'],
  ['    --version', 'Show version number', '[boolean]'],
];

/**
 * `holdout --help` as yargs lays it out at 80 columns (usage, the commands with their descriptions,
 * the global options), built from COMMANDS without loading yargs: loading it is most of what
 * `--help` would otherwise cost. test/cli/startup.test.ts compares it with the text yargs prints.
 */
export function topHelp(width: number = HELP_WIDTH): string {
  const wrap = (text: string, w: number): string[] => {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > w) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
    return lines;
  };
  // Two columns: an indented name padded to the longest plus two, then the wrapped description.
  const table = (rows: readonly [string, string, string?][]): string[] => {
    const col = Math.max(...rows.map(([n]) => n.length)) + 4;
    const out: string[] = [];
    for (const [name, describe, extra] of rows) {
      const lines = wrap(describe, width - col);
      lines.forEach((l, i) => {
        out.push(`${i === 0 ? `  ${name}`.padEnd(col) : ' '.repeat(col)}${l}`.trimEnd());
      });
      if (extra) {
        // The type goes flush right on the description's last line, or on a line of its own.
        const last = out[out.length - 1] as string;
        if (last.length + 2 + extra.length <= width)
          out[out.length - 1] = last + extra.padStart(width - last.length);
        else out.push(extra.padStart(width));
      }
    }
    return out;
  };
  const commands = table([
    ['holdout completion', COMPLETION_DESCRIBE],
    ...COMMANDS.map((c): [string, string] => [`holdout ${c.command}`, c.describe]),
  ]);
  return [
    USAGE.replace('$0', 'holdout'),
    '',
    'Commands:',
    ...commands,
    '',
    'Options:',
    ...table(BUILTIN_OPTIONS),
  ].join('\n');
}

export interface CliHooks {
  /** The loaded command's handler was called with these args: run it and keep its exit code. */
  run(command: LoadedCommand, args: Record<string, unknown>): Promise<void>;
  /** yargs chose a command whose module is not loaded (argv named another one first). */
  missed(name: string): void;
}

/**
 * The command line as data: every command with its description; only `command` (the one loaded)
 * with its flags and handler. Parsing runs no work, so tests can check it with stub hooks.
 */
export function buildCli(
  y: Argv,
  command: { name: string; loaded: LoadedCommand } | undefined,
  hooks: CliHooks,
): Argv {
  y.scriptName('holdout')
    .usage(USAGE)
    .option('quiet', QUIET_OPTION)
    // `holdout completion` prints the script; the shell then asks `holdout --get-yargs-completions …`,
    // which main answers like any argv: the command named in it is loaded, so its flags complete too.
    .completion('completion', COMPLETION_DESCRIBE);
  for (const entry of COMMANDS) {
    const name = commandName(entry);
    if (command?.name === name) {
      const { loaded } = command;
      y.command(
        entry.command,
        entry.describe,
        (c) => {
          loaded.options(c);
          if (entry.json) c.option('json', JSON_OPTION);
        },
        (a) => hooks.run(loaded, a),
      );
    } else {
      // Not loaded: listed in --help; should yargs choose it anyway, its flags are not known yet, so
      // it is not strict here, and main parses again with it loaded.
      y.command(
        entry.command,
        entry.describe,
        (c) => {
          c.strict(false);
        },
        () => hooks.missed(name),
      );
    }
  }
  return (
    y
      .demandCommand(1, `name a command: ${listed(COMMANDS.map(commandName))}`)
      .strict()
      // Validation messages become usage errors (exit 2); errors from handlers pass through unchanged.
      .fail((msg, err) => {
        if (err) throw err;
        throw new HarnessError('USAGE', msg, { hint: 'run `holdout --help` for usage' });
      })
      .help()
      .version(packageVersion())
  );
}
