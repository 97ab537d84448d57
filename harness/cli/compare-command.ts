/**
 * `holdout compare`: resolves the runs, builds the comparison, writes it, and turns the verdict into
 * an exit code. The statistics live in results/compare.ts, the formats in results/compare-render.ts.
 */
import type { Argv } from 'yargs';
import { projectionSources } from '../../datasets/pool.js';
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
import type { RunRow, Store } from '../../results/store/store.js';
import { type ProjectionSources, projectPair } from '../../results/report/report.js';
import {
  type CommandIo,
  checkOutPath,
  checkProjectFlags,
  DB_OPTION,
  PROJECT_OPTIONS,
  usageError,
  readStore,
  writeOutput,
} from './common.js';
import { previousRun, RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface CompareArgs {
  db?: string;
  /** Candidate ids; with --against previous either one names both sides (see resolveIds). */
  baseline?: string;
  candidate?: string;
  /** `previous`: B is the run (--run, default latest), A the run before it of the same suite and config. */
  against?: 'previous';
  /** Count `latest` within this suite. */
  suite?: string;
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
  project?: boolean;
  volume?: number;
  volumeFrom?: string;
  postStratify?: string;
}

/** Exit codes of `holdout compare`; 2 (usage, config or input error) comes from HarnessError. */
export const COMPARE_EXIT = {
  PASS: 0,
  FAIL: 1,
  INCONCLUSIVE: 0,
  INCONCLUSIVE_STRICT: 3,
  /** --against previous on a suite's first run (of this config): nothing to compare with yet. */
  NO_PREVIOUS: 4,
} as const;

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
  '--against previous (for CI, no run ids): B from the run (--run, default latest; --suite S counts ' +
    'latest within suite S), A from the newest earlier finished run of the same suite and config hash ' +
    '(config and dataset content); --candidate X alone compares X with itself across the two runs. ' +
    'Exit 4 when there is no such run yet (a first run): nothing is compared or written.',
].join('\n\n');

export function compareOptions(c: Argv) {
  return c
    .usage(
      '$0 compare --baseline A --candidate B [--run R | --runs R1 R2] [options]\n' +
        '$0 compare --against previous [--candidate B] [--suite S] [options]\n\n' +
        'Pairs the calls of A and B per (record, repeat), runs the paired tests of docs/compare.md and ' +
        'gates on the pass metric.',
    )
    .option('baseline', { type: 'string', describe: 'candidate id of A (required unless --against)' })
    .option('candidate', { type: 'string', describe: 'candidate id of B (required unless --against)' })
    .option('against', {
      choices: ['previous'] as const,
      describe: 'A is the previous run of the same suite and config (exit 4 when there is none)',
    })
    .option('suite', { type: 'string', describe: 'count `latest` within this suite' })
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
    .conflicts('against', 'runs')
    .options(PROJECT_OPTIONS)
    .check((a) => {
      checkProjectFlags(a);
      if (a.against === undefined && (a.baseline === undefined || a.candidate === undefined))
        throw usageError('give --baseline A and --candidate B (or --against previous)');
      if (a.suite === '') throw usageError('--suite takes a suite name');
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

type Sides = { baseline: SideRef; candidate: SideRef };

function sides(store: Store, a: CompareArgs, io: CommandIo): Sides | null {
  if (a.against === 'previous') return previousSides(store, a, io);
  const ids = { baseline: a.baseline ?? '', candidate: a.candidate ?? '' };
  if (a.runs !== undefined) {
    const [r1, r2] = a.runs;
    return {
      baseline: { runId: resolveRun(store, r1, { which: 'baseline' }).id, candidate: ids.baseline },
      candidate: { runId: resolveRun(store, r2, { which: 'candidate' }).id, candidate: ids.candidate },
    };
  }
  const runId = resolveRun(store, a.run, suiteOpt(a)).id;
  return {
    baseline: { runId, candidate: ids.baseline },
    candidate: { runId, candidate: ids.candidate },
  };
}

const suiteOpt = (a: CompareArgs) => (a.suite === undefined ? {} : { suite: a.suite });

/** --against previous: null (after a notice on stderr) when the run is the first of its suite and config. */
function previousSides(store: Store, a: CompareArgs, io: CommandIo): Sides | null {
  const run = resolveRun(store, a.run, { ...suiteOpt(a), which: 'candidate' });
  const prev = previousRun(store, run);
  if (prev === undefined) {
    io.stderr.write(
      `holdout: nothing to compare with: run ${run.id} is the first finished run of suite ` +
        `${JSON.stringify(run.suite)} with this config and dataset (hash ${run.config_hash.slice(0, 12)}); ` +
        `the next run of it will be compared with this one (exit ${COMPARE_EXIT.NO_PREVIOUS})\n`,
    );
    return null;
  }
  const ids = resolveIds(store, run, a);
  return {
    baseline: { runId: prev.id, candidate: ids.baseline },
    candidate: { runId: run.id, candidate: ids.candidate },
  };
}

/**
 * Across two runs of one config the natural question is "did X change?": one id names both sides;
 * none is fine when the run has a single candidate.
 */
function resolveIds(store: Store, run: RunRow, a: CompareArgs): { baseline: string; candidate: string } {
  const one = a.candidate ?? a.baseline;
  if (one !== undefined) return { baseline: a.baseline ?? one, candidate: a.candidate ?? one };
  const ids = store.candidates(run.id).map((c) => c.candidate);
  if (ids.length === 1) return { baseline: ids[0]!, candidate: ids[0]! };
  throw usageError(
    `run ${run.id} has ${ids.length} candidates (${ids.join(', ')}): name one with --candidate ` +
      '(and --baseline for a different one in the previous run)',
  );
}

export function exitCodeOf(c: Pick<Comparison, 'verdict'>, failOnInconclusive: boolean): number {
  if (c.verdict === 'FAIL') return COMPARE_EXIT.FAIL;
  if (c.verdict === 'PASS') return COMPARE_EXIT.PASS;
  return failOnInconclusive ? COMPARE_EXIT.INCONCLUSIVE_STRICT : COMPARE_EXIT.INCONCLUSIVE;
}

/** Runs the comparison; returns the exit code. Data goes to stdout (or --out), messages to stderr. */
export function compareCommand(a: CompareArgs, io: CommandIo): Promise<number> {
  return readStore(a.db, async (store) => {
    const both = sides(store, a, io);
    if (both === null) return COMPARE_EXIT.NO_PREVIOUS;
    // --project: the frame comes from the candidate's run (its records' tags place prompts in strata).
    const run = a.project ? store.getRun(both.candidate.runId) : undefined;
    const sources = run
      ? await projectionSources({ configJson: run.config_json, datasetPath: run.dataset_path }, a)
      : undefined;
    return gate(store, a, io, both, sources);
  });
}

function gate(store: Store, a: CompareArgs, io: CommandIo, both: Sides, sources?: ProjectionSources): number {
  const { baseline, candidate } = both;
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
  if (sources) {
    const label = (s: SideRef, other: SideRef) =>
      s.runId === other.runId ? s.candidate : `${s.candidate} (run ${s.runId})`;
    result.projection = projectPair(
      store,
      { ...baseline, label: label(baseline, candidate) },
      { ...candidate, label: label(candidate, baseline) },
      sources,
    );
  }
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
