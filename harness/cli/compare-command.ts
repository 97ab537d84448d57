/**
 * `holdout compare`: resolves the runs, builds the comparison, writes it, and turns the verdict into
 * an exit code. The statistics live in results/compare.ts, the formats in results/compare-render.ts.
 */
import type { Argv } from 'yargs';
import {
  buildComparison,
  COMPARE_DEFAULTS,
  type Comparison,
  type SideRef,
} from '../../results/compare/compare.js';
import {
  COMPARE_FORMATS,
  type CompareFormat,
  FLIPS_SHOWN,
  renderComparison,
} from '../../results/render/compare-text.js';
import type { Store } from '../../results/store/store.js';
import { type CommandIo, checkOutPath, DB_OPTION, usageError, readStore, writeOutput } from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface CompareArgs {
  db?: string;
  baseline: string;
  candidate: string;
  /** Run references (harness/cli/run-ref.ts): an id, `latest` or `latest~N`. */
  run?: string;
  runs?: string[];
  margin: number;
  alpha: number;
  by?: string;
  cluster?: string;
  seed: number;
  format: CompareFormat;
  out?: string;
  failOnInconclusive?: boolean;
}

/** Exit codes of `holdout compare`; 2 (usage, config or input error) comes from HarnessError. */
export const COMPARE_EXIT = { PASS: 0, FAIL: 1, INCONCLUSIVE: 0, INCONCLUSIVE_STRICT: 3 } as const;

/** The gate, as `holdout compare --help` explains it. Paragraphs: yargs wraps them to the terminal. */
export const COMPARE_EPILOG = [
  'Gate (--alpha one-sided, default 0.025; --margin m absolute, default 0.03 = 3 points of pass rate). ' +
    'A call passes when every non-null score on it passed; pairs unscored on either side are left out.',
  'FAIL (exit 1): B is significantly worse on the pass metric at alpha, unadjusted: exact one-sided ' +
    'McNemar P(X >= b) with one call per prompt; one-sided paired t over prompts when repeats are ' +
    'averaged per prompt; clustered CR1 t on C - 1 df with --cluster. Also FAIL when any secondary ' +
    'check fails after Holm adjustment over the family {pass metric, each scorer pass/fail, each --by ' +
    'slice with n >= 30}; slices under 30 are descriptive only. Benjamini-Hochberg flags, never gates.',
  'PASS (exit 0): non-inferiority at margin m is shown (Tango z(-m), or t = (mean + m)/SE; p < alpha).',
  'INCONCLUSIVE: neither. Exit 0 with "WARNING: INCONCLUSIVE" on stderr; exit 3 with --fail-on-inconclusive.',
  'Score, cost and latency (paired t, bootstrap, Wilcoxon; the normal approximation above 20,000 units) ' +
    'are reported, never gated. Exit 2: usage, config or input error.',
].join('\n\n');

export function compareOptions(c: Argv) {
  return c
    .usage(
      '$0 compare --baseline A --candidate B [--run R | --runs R1 R2] [options]\n\n' +
        'Pairs the calls of A and B per (record, repeat), runs the paired tests of STATS.md and ' +
        'gates on the pass metric.',
    )
    .option('baseline', { type: 'string', demandOption: true, describe: 'candidate id of A' })
    .option('candidate', { type: 'string', demandOption: true, describe: 'candidate id of B' })
    .option('run', {
      type: 'string',
      describe: `run holding both A and B: ${RUN_REF_HELP} (default: latest)`,
    })
    .option('runs', {
      type: 'string',
      array: true,
      describe: 'two runs: A from the first, B from the second (e.g. --runs latest~1 latest)',
    })
    .option('db', DB_OPTION)
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
      if (a.runs !== undefined && a.runs.length !== 2)
        throw usageError('--runs takes exactly two runs: --runs R1 R2 (ids, latest or latest~N)');
      if (!(a.margin > 0 && a.margin < 1)) throw usageError('--margin must be between 0 and 1, e.g. 0.03');
      if (!(a.alpha > 0 && a.alpha < 0.5)) throw usageError('--alpha must be between 0 and 0.5, e.g. 0.025');
      if (!(Number.isInteger(a.seed) && a.seed >= 0 && a.seed <= 0xffffffff))
        throw usageError('--seed must be an integer from 0 to 4294967295');
      if (a.by === '' || a.cluster === '') throw usageError('--by and --cluster take a tag name');
      checkOutPath(a.out);
      return true;
    })
    .epilog(COMPARE_EPILOG);
}

function sides(store: Store, a: CompareArgs): { baseline: SideRef; candidate: SideRef } {
  if (a.runs !== undefined) {
    const [r1, r2] = a.runs;
    return {
      baseline: { runId: resolveRun(store, r1, { which: 'baseline' }).id, candidate: a.baseline },
      candidate: { runId: resolveRun(store, r2, { which: 'candidate' }).id, candidate: a.candidate },
    };
  }
  const runId = resolveRun(store, a.run).id;
  return {
    baseline: { runId, candidate: a.baseline },
    candidate: { runId, candidate: a.candidate },
  };
}

export function exitCodeOf(c: Pick<Comparison, 'verdict'>, failOnInconclusive: boolean): number {
  if (c.verdict === 'FAIL') return COMPARE_EXIT.FAIL;
  if (c.verdict === 'PASS') return COMPARE_EXIT.PASS;
  return failOnInconclusive ? COMPARE_EXIT.INCONCLUSIVE_STRICT : COMPARE_EXIT.INCONCLUSIVE;
}

/** Runs the comparison; returns the exit code. Data goes to stdout (or --out), messages to stderr. */
export function compareCommand(a: CompareArgs, io: CommandIo): Promise<number> {
  return readStore(a.db, (store) => gate(store, a, io));
}

function gate(store: Store, a: CompareArgs, io: CommandIo): number {
  const { baseline, candidate } = sides(store, a);
  const result = buildComparison(
    store,
    baseline,
    candidate,
    {
      alpha: a.alpha,
      margin: a.margin,
      seed: a.seed,
      ...(a.by !== undefined ? { by: a.by } : {}),
      ...(a.cluster !== undefined ? { cluster: a.cluster } : {}),
    },
    // JSON lists every flip; the other formats show the first 20 and the counts.
    a.format === 'json' ? Number.POSITIVE_INFINITY : FLIPS_SHOWN,
  );
  const text = renderComparison(result, a.format);
  writeOutput(io, text, a.out, 'comparison', false);

  // stderr always carries what must not be missed, whatever the format or destination.
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');
  if (a.format !== 'table' || a.out) {
    for (const d of result.drift) io.stderr.write(`${oneLine(d.message)}\n`);
    io.stderr.write(`${oneLine(result.summary)}\n`);
  }
  if (result.verdict === 'INCONCLUSIVE') {
    const power = result.power.powerAtMargin;
    const why =
      power !== null && power < 0.5
        ? ` (power at this margin is only ${Math.round(power * 100)}%: add prompts or widen --margin)`
        : '';
    io.stderr.write(
      `WARNING: INCONCLUSIVE — neither a regression nor non-inferiority at a ` +
        `${(result.settings.margin * 100).toFixed(1)}-point margin is shown${why}; ` +
        `${a.failOnInconclusive ? 'exit 3 (--fail-on-inconclusive)' : 'exit 0, the gate does not block'}\n`,
    );
  }
  return exitCodeOf(result, a.failOnInconclusive ?? false);
}
