/**
 * Evaluating routing policies on a run: load the run and the policies, make the classifier routers'
 * missing calls (stored in the run, role router), decide every record, and hand the decisions to the
 * evaluation (results/route/). What `holdout route` renders and `report --route` adds to the HTML.
 */
import { readSampleManifest, SampleManifest } from '../../datasets/manifest.js';
import { printable } from '../../datasets/printable.js';
import { parseSplitKey, type SplitOptions, splitSide } from '../../datasets/split.js';
import { completeRecords, loadRouteRun, type RouteRun } from '../../results/route/data.js';
import {
  buildRouteResult,
  EmptyEvaluation,
  type RouteResult,
  type RouteSettings,
  type Side,
} from '../../results/route/route.js';
import { type ProjectionSources, projectRouting } from '../../results/route/projection.js';
import type { Store } from '../../results/store/store.js';
import type { Clock } from '../clock.js';
import { HarnessError } from '../errors.js';
import type { MakeClient } from '../providers/connect.js';
import { prepareMatcher, type RouteRecord, routeRecord } from './conditions.js';
import { type Decisions, decide, type RouterOutcome, recordsForRouter } from './decide.js';
import { checkCandidates, type LoadedPolicy, loadPolicy } from './policy.js';
import { runRouter } from './router.js';

export const SIDE_CHOICES = ['all', 'tune', 'holdout'] as const;

/** What to evaluate: the policies, the run, and the statistics' settings. */
export interface RoutingRequest {
  policies: string[];
  /** The run, resolved by the caller (harness/cli/run-ref.ts). */
  run: number;
  margin: number;
  alpha: number;
  by?: string;
  fitOn: (typeof SIDE_CHOICES)[number];
  evaluateOn: (typeof SIDE_CHOICES)[number];
  split?: number;
  splitKey?: string;
  splitMissing?: 'error' | 'id';
  /** `--project`: what was read for the frame (results/route/projection.ts). */
  projection?: ProjectionSources;
}

export interface RoutingIo {
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  signal?: AbortSignal;
  /** Injected for tests: builds the router's SDK client. */
  makeClient?: MakeClient;
}

/**
 * Loads the run and the policies, makes the classifier routers' missing calls and evaluates every
 * policy: what `holdout route` renders and `holdout report --route` adds to the HTML report.
 */
export async function evaluateRouting(
  store: Store,
  a: RoutingRequest,
  io: RoutingIo,
): Promise<RouteResult | 'interrupted'> {
  const runId = a.run;
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
        `${printable(l.path)}: policy name "${printable(l.policy.name)}" is already used by ${printable(other)}`,
        {
          hint: 'give each policy a unique name',
        },
      );
    }
    if (names.includes(l.policy.name)) {
      throw new HarnessError(
        'CONFIG_INVALID',
        `${printable(l.path)}: policy name "${printable(l.policy.name)}" is also a candidate's name`,
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
          `interrupted: ${pass.made} router calls of policy ${printable(l.policy.name)} were stored; rerun to resume (they are reused)\n`,
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
    const result = buildRouteResult(run, decisions, settings);
    if (a.projection) result.projection = projectRouting(run, decisions, result, settings, a.projection);
    return result;
  } catch (err) {
    if (err instanceof EmptyEvaluation) {
      throw new HarnessError(err.kind === 'USAGE' ? 'USAGE' : 'RUN_NOT_FOUND', err.message, {
        hint: 'route needs records on which every candidate of the run has a scored answer',
      });
    }
    throw err;
  }
}

function usage(message: string): HarnessError {
  return new HarnessError('USAGE', message, { hint: 'run `holdout route --help` for usage' });
}

/** The split of the run's records: from the flags, else from the sample manifest; null without one. */
function splitOf(a: RoutingRequest, r: RouteRun): { opts: SplitOptions; source: string } | null {
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
