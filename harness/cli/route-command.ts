/**
 * `holdout route policy.yaml… --run R`: evaluates routing policies offline on a run. Options are
 * declared here so main.ts only registers the command. The handler loads the run and the policies,
 * makes the classifier router's missing calls (stored in the run, role 'router'), decides every
 * record, and renders the evaluation (results/route.ts).
 */
import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { readSampleManifest, SampleManifest } from '../../datasets/manifest.js';
import { checkSplitFraction, parseSplitKey, type SplitOptions, splitSide } from '../../datasets/split.js';
import { COMPARE_DEFAULTS } from '../../results/compare/compare.js';
import {
  buildRouteResult,
  EmptyEvaluation,
  type RouteResult,
  type RouteSettings,
  type Side,
} from '../../results/route/route.js';
import { completeRecords, loadRouteRun, type RouteRun } from '../../results/route/data.js';
import { ROUTE_FORMATS, type RouteFormat, renderRoute } from '../../results/render/route-text.js';
import type { Store } from '../../results/store/store.js';
import type { Clock } from '../clock.js';
import type { MakeClient } from '../providers/connect.js';
import { HarnessError } from '../errors.js';
import { prepareMatcher, type RouteRecord, routeRecord } from '../route/conditions.js';
import { type Decisions, decide, type RouterOutcome, recordsForRouter } from '../route/decide.js';
import { checkCandidates, type LoadedPolicy, loadPolicy } from '../route/policy.js';
import { runRouter } from '../route/router.js';

export const SIDE_CHOICES = ['all', 'tune', 'holdout'] as const;

export interface RouteArgs {
  policies: string[];
  run?: number;
  margin: number;
  alpha: number;
  by?: string;
  fitOn: (typeof SIDE_CHOICES)[number];
  evaluateOn: (typeof SIDE_CHOICES)[number];
  split?: number;
  splitKey?: string;
  splitMissing?: 'error' | 'id';
  format: RouteFormat;
  out?: string;
}

export interface RouteIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  signal?: AbortSignal;
  /** Injected for tests: builds the router's SDK client. */
  makeClient?: MakeClient;
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
    .option('run', { type: 'number', describe: 'the run to evaluate on (default: the latest run)' })
    .option('db', { type: 'string', describe: 'SQLite database (default: results/holdout.db)' })
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
    .check((a) => {
      if (!a.policies || (a.policies as string[]).length === 0) throw usage('give at least one policy file');
      if (!(a.margin > 0 && a.margin < 1)) throw usage('--margin must be between 0 and 1, e.g. 0.03');
      if (!(a.alpha > 0 && a.alpha < 0.5)) throw usage('--alpha must be between 0 and 0.5, e.g. 0.025');
      if (a.run !== undefined && !Number.isInteger(a.run)) throw usage('--run must be a run id');
      if (a.by === '') throw usage('--by takes a tag name, e.g. --by task');
      if (a.split !== undefined) checkSplitFraction(a.split);
      if (a.splitKey !== undefined) parseSplitKey(String(a.splitKey));
      if (a.fitOn !== 'all' && a.fitOn === a.evaluateOn) {
        throw usage(`--fit-on and --evaluate-on are both ${a.fitOn}: fit on one side, evaluate on the other`);
      }
      return true;
    })
    .epilog(ROUTE_EPILOG);
}

function usage(message: string): HarnessError {
  return new HarnessError('USAGE', message, { hint: 'run `holdout route --help` for usage' });
}

/** The split of the run's records: from the flags, else from the sample manifest; null without one. */
function splitOf(
  a: Omit<RouteArgs, 'format' | 'out'>,
  r: RouteRun,
): { opts: SplitOptions; source: string } | null {
  if (a.split !== undefined) {
    return {
      opts: { fraction: a.split, key: parseSplitKey(a.splitKey ?? 'id'), missing: a.splitMissing ?? 'error' },
      source: '--split',
    };
  }
  // The manifest the run stored when it was made (`sample` in its config), else the one beside the dataset.
  const manifest = storedManifest(r) ?? readSampleManifest(r.run.datasetPath);
  if (manifest?.split) {
    return {
      opts: {
        fraction: manifest.split.fraction,
        key: parseSplitKey(a.splitKey ?? manifest.split.key),
        missing: a.splitMissing ?? manifest.split.missing,
      },
      source: 'sample manifest',
    };
  }
  if (a.splitKey !== undefined)
    throw usage('--split-key needs --split FRACTION (no sample manifest with a split)');
  return null;
}

function storedManifest(r: RouteRun): SampleManifest | undefined {
  try {
    const parsed = SampleManifest.safeParse((JSON.parse(r.run.configJson) as { sample?: unknown }).sample);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `holdout route`; returns the exit code (0, or 130 when interrupted). */
export async function routeCommand(store: Store, a: RouteArgs, io: RouteIo): Promise<number> {
  const result = await evaluateRouting(store, a, io);
  if (result === 'interrupted') return 130;
  const text = renderRoute(result, a.format);
  if (a.out) {
    writeFileSync(a.out, text);
    io.stderr.write(`routing evaluation written to ${a.out}\n`);
  } else io.stdout.write(text);
  // What must not be missed reaches stderr whatever the format or destination.
  if (a.format !== 'table' || a.out) {
    for (const w of result.warnings) if (w.startsWith('WARNING')) io.stderr.write(`${w}\n`);
  }
  return 0;
}

/**
 * Loads the run and the policies, makes the classifier routers' missing calls and evaluates every
 * policy: what `holdout route` renders and `holdout report --route` adds to the HTML report.
 */
export async function evaluateRouting(
  store: Store,
  a: Omit<RouteArgs, 'format' | 'out'>,
  io: Omit<RouteIo, 'stdout'>,
): Promise<RouteResult | 'interrupted'> {
  const runId = a.run ?? store.latestRun()?.id;
  if (runId === undefined) {
    throw new HarnessError('RUN_NOT_FOUND', 'no runs in this database yet', {
      hint: 'run `holdout demo` or `holdout run <config>` first, or point --db at another database',
    });
  }
  const run = loadRouteRun(store, runId);
  const names = run.candidates.map((c) => c.name);
  const loaded: LoadedPolicy[] = a.policies.map((path) => loadPolicy(path));
  const seen = new Map<string, string>();
  for (const l of loaded) {
    checkCandidates(l.policy, l.path, runId, names, run.excluded);
    const other = seen.get(l.policy.name);
    if (other !== undefined) {
      throw new HarnessError(
        'CONFIG_INVALID',
        `${l.path}: policy name "${l.policy.name}" is already used by ${other}`,
        {
          hint: 'give each policy a unique name',
        },
      );
    }
    if (names.includes(l.policy.name)) {
      throw new HarnessError(
        'CONFIG_INVALID',
        `${l.path}: policy name "${l.policy.name}" is also a candidate's name`,
        {
          hint: 'name the policy differently, so the two rows of the report can be told apart',
        },
      );
    }
    seen.set(l.policy.name, l.path);
  }

  const split = splitOf(a, run);
  if (split === null && (a.fitOn !== 'all' || a.evaluateOn !== 'all')) {
    throw usage(
      `--fit-on / --evaluate-on need a split, and run ${runId}'s dataset has no sample manifest with one: ` +
        'pass --split FRACTION [--split-key id|tag:NAME]',
    );
  }
  const sides: Side[] | null = split
    ? run.records.map((r) => splitSide({ id: r.id, tags: r.tags }, split.opts))
    : null;
  const records: RouteRecord[] = run.records.map((r) => routeRecord(r.id, r.tags, r.bodyJson));

  // Only the records that are evaluated or fitted on need the router.
  const complete = completeRecords(run);
  const inScope = (i: number) =>
    complete[i]! &&
    (a.fitOn === 'all' || a.evaluateOn === 'all' || sides?.[i] === a.fitOn || sides?.[i] === a.evaluateOn);

  const decisions: Decisions[] = [];
  for (const l of loaded) {
    const matcher = await prepareMatcher(l.policy, records);
    let outcome: RouterOutcome | null = null;
    if (l.policy.router) {
      const need = recordsForRouter(l.policy, records, matcher).filter(inScope);
      const pass = await runRouter(
        store,
        runId,
        l.policy.router,
        need.map((i) => records[i]!),
        l.baseDir,
        { env: io.env, clock: io.clock, stderr: io.stderr, signal: io.signal, makeClient: io.makeClient },
      );
      if (pass.interrupted) {
        io.stderr.write(
          `interrupted: ${pass.made} router calls of policy ${l.policy.name} were stored; rerun to resume (they are reused)\n`,
        );
        return 'interrupted';
      }
      outcome = { rows: pass.rows, calls: { reused: pass.reused, made: pass.made, errors: pass.errors } };
    }
    decisions.push(decide(l.policy, l.path, records, names, matcher, outcome));
  }

  const settings: RouteSettings = {
    alpha: a.alpha,
    margin: a.margin,
    ...(a.by !== undefined ? { by: a.by } : {}),
    fitOn: a.fitOn,
    evaluateOn: a.evaluateOn,
    sides,
    split: split ? { fraction: split.opts.fraction, key: split.opts.key, source: split.source } : null,
  };
  try {
    return buildRouteResult(run, decisions, settings);
  } catch (err) {
    if (err instanceof EmptyEvaluation) {
      throw new HarnessError(err.kind === 'USAGE' ? 'USAGE' : 'RUN_NOT_FOUND', err.message, {
        hint: 'route needs records on which every candidate of the run has a scored answer',
      });
    }
    throw err;
  }
}
