/**
 * `holdout route policy.yaml… --run R`: evaluates routing policies offline on a run. The evaluation
 * itself (router calls, decisions, figures) is harness/route/evaluate.ts; this file is the flags and
 * the output.
 */
import type { Argv } from 'yargs';
import { projectionSources } from '../../datasets/pool.js';
import { checkSplitFraction, parseSplitKey } from '../../datasets/split.js';
import { COMPARE_DEFAULTS } from '../../results/compare/compare.js';
import { ROUTE_FORMATS, type RouteFormat, renderRoute } from '../../results/render/route-text.js';
import { evaluateRouting, type RoutingRequest, SIDE_CHOICES } from '../route/evaluate.js';
import {
  type CommandIo,
  DB_OPTION,
  checkOutPath,
  checkProjectFlags,
  PROJECT_OPTIONS,
  usageError,
  readStore,
  writeOutput,
} from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

const usage = (message: string) => usageError(message, 'route');

export interface RouteArgs extends Omit<RoutingRequest, 'run' | 'projection'> {
  /** A run reference (harness/cli/run-ref.ts): an id, `latest` or `latest~N`. */
  run?: string;
  db?: string;
  format: RouteFormat;
  out?: string;
  project?: boolean;
  volume?: number;
  volumeFrom?: string;
  postStratify?: string;
}

export const ROUTE_USAGE =
  '$0 route <policy.yaml..> [--run R] [options]\n\n' +
  'Evaluates routing policies offline on a run where every candidate answered every record: a policy ' +
  "picks a candidate per record and its outcome is that candidate's stored row. A classifier router's " +
  'calls are made once, stored in the run (role router) and paid for by the policy.';

export const ROUTE_EPILOG = [
  'Reported per policy: pass rate (Wilson) and mean score (t) with 95% intervals, cost per 1K records and ' +
    "total (the router's calls included), p50/p95 latency (router + answer), the share sent to each " +
    'candidate; beside every single candidate and the oracle (per record, the cheapest candidate with the ' +
    'best pass). Against the strongest single candidate: non-inferiority at --margin (Tango) and a ' +
    'one-sided paired t on cost, each at --alpha: "cheaper and no worse" needs both (intersection–union).',
  'Score routers: a threshold sweep with PGR, APGR, CPT(50%) and the zero-router hull. Without a ' +
    'configured threshold it is fitted (policy `fit`, default: the cheapest threshold with PGR >= 0.9); ' +
    'fit on one side of the sample split and evaluate on the other with --fit-on tune --evaluate-on holdout, ' +
    "or a WARNING says the figures overstate the policy. The split comes from the sample's manifest " +
    '(<dataset>.sample.json) or --split FRACTION --split-key id|tag:NAME.',
].join('\n\n');

/** The options of `holdout route`, for buildCli. */
export function routeOptions(c: Argv) {
  return c
    .usage(ROUTE_USAGE)
    .positional('policies', { type: 'string', array: true, describe: 'routing policy files (YAML)' })
    .option('run', { type: 'string', describe: `the run to evaluate on: ${RUN_REF_HELP} (default: latest)` })
    .option('db', DB_OPTION)
    .option('margin', {
      type: 'number',
      default: COMPARE_DEFAULTS.margin,
      describe: 'non-inferiority margin on pass rate, absolute (0.03 = 3 points)',
    })
    .option('alpha', {
      type: 'number',
      default: COMPARE_DEFAULTS.alpha,
      describe: 'one-sided level of each test; intervals of the comparison are at 1 − 2·alpha',
    })
    .option('by', { type: 'string', describe: 'per-slice figures and recommendations by this record tag' })
    .option('fit-on', {
      choices: SIDE_CHOICES,
      default: 'all' as const,
      describe: 'records thresholds are fitted on',
    })
    .option('evaluate-on', {
      choices: SIDE_CHOICES,
      default: 'all' as const,
      describe: 'records the policies are evaluated on',
    })
    .option('split', { type: 'number', describe: "tune share of the split (default: the sample manifest's)" })
    .option('split-key', { type: 'string', describe: 'what the split hashes: id (default) or tag:NAME' })
    .option('split-missing', {
      choices: ['error', 'id'] as const,
      describe: 'a record without the split tag: error (default) or split it by its id',
    })
    .option('format', {
      choices: ROUTE_FORMATS,
      default: 'table' as RouteFormat,
      describe: 'output format (html: a whole self-contained page; use with --out)',
    })
    .option('out', { type: 'string', describe: 'write to this file instead of stdout' })
    .options(PROJECT_OPTIONS)
    .check((a) => {
      checkProjectFlags(a);
      if (!a.policies || (a.policies as string[]).length === 0) throw usage('give at least one policy file');
      if (!(a.margin > 0 && a.margin < 1)) throw usage('--margin must be between 0 and 1, e.g. 0.03');
      if (!(a.alpha > 0 && a.alpha < 0.5)) throw usage('--alpha must be between 0 and 0.5, e.g. 0.025');
      if (a.by === '') throw usage('--by takes a tag name, e.g. --by task');
      if (a.split !== undefined) checkSplitFraction(a.split);
      if (a.splitKey !== undefined) parseSplitKey(String(a.splitKey));
      if (a.fitOn !== 'all' && a.fitOn === a.evaluateOn) {
        throw usage(`--fit-on and --evaluate-on are both ${a.fitOn}: fit on one side, evaluate on the other`);
      }
      checkOutPath(a.out);
      return true;
    })
    .epilog(ROUTE_EPILOG);
}

/** Runs `holdout route`; returns the exit code (0, or 130 when interrupted). */
export function routeCommand(a: RouteArgs, io: CommandIo): Promise<number> {
  return readStore(a.db, async (store) => {
    const run = resolveRun(store, a.run);
    const projection = a.project
      ? await projectionSources({ configJson: run.config_json, datasetPath: run.dataset_path }, a)
      : undefined;
    const result = await evaluateRouting(store, { ...a, run: run.id, projection }, io);
    if (result === 'interrupted') return 130;
    writeOutput(io, renderRoute(result, a.format), a.out, 'routing evaluation', false);
    // What must not be missed reaches stderr whatever the format or destination.
    if (a.format !== 'table' || a.out) {
      for (const w of result.warnings) if (w.startsWith('WARNING')) io.stderr.write(`${w}\n`);
    }
    return 0;
  });
}
