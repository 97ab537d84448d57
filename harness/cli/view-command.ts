import type { Argv } from 'yargs';
import { COMPARE_DEFAULTS } from '../../results/compare/compare.js';
import type { PoolSummary } from '../../datasets/pool.js';
import type { ProjectionSources } from '../../results/report/projection.js';
import type { RunRow, Store } from '../../results/store/store.js';
import type { ProjectionChoice, ViewProjection } from '../../results/view/run-page.js';
import type { RouteResult, ViewRouting } from '../../results/view/routing-page.js';
import { startViewServer, VIEW_HOST, type ViewServer } from '../../results/view/server.js';
import { defaultDbPath } from '../paths.js';
import { type CommandIo, DB_OPTION, listenError, readStore, untilStopped, usageError } from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface ViewArgs {
  db?: string;
  port?: number;
  /** Routing policy files, evaluated at start for the routing page. */
  route?: string[];
  /** The runs to evaluate them on (run references); default: the latest run. */
  routeRun?: string[];
  /** A pool of production records for `?project=1`: its volume and, with post_stratify=, its mix. */
  volumeFrom?: string;
}

export function viewOptions(c: Argv) {
  return c
    .option('db', DB_OPTION)
    .option('port', { type: 'number', describe: `TCP port on ${VIEW_HOST} (default: a free port)` })
    .option('route', {
      type: 'string',
      array: true,
      describe:
        'a routing policy file (repeatable): evaluated once at start as `holdout route` does (its defaults), shown on the run’s routing page',
    })
    .option('route-run', {
      type: 'string',
      array: true,
      describe: `a run to evaluate the --route policies on (repeatable): ${RUN_REF_HELP} (default: latest)`,
    })
    .option('volume-from', {
      type: 'string',
      describe:
        'a pool of production records (JSONL) for the projection (`?project=1`): read once at start; its time span gives the monthly volume, its tags the counts for post_stratify=',
    })
    .check((a) => {
      if (a.port !== undefined && !(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535))
        throw usageError('--port must be an integer from 0 to 65535', 'view');
      if (a.route?.some((p) => p === '')) throw usageError('--route takes a policy file', 'view');
      if (a.volumeFrom === '') throw usageError('--volume-from takes a file path', 'view');
      if (a.routeRun !== undefined && (a.route ?? []).length === 0)
        throw usageError('--route-run needs at least one --route policy file', 'view');
      return true;
    });
}

/**
 * The routing evaluations of the routing page: every --route policy on every --route-run run (the
 * latest by default), made once, before the server starts. A router's calls are made here, never by
 * a page. 'interrupted' when Ctrl-C stopped them.
 */
/**
 * What the pages' projection reads, as `holdout report --project` reads it (datasets/pool.ts): the
 * run's sample manifest and import span on each page, the pool read once at start (and once more per
 * tag a page post-stratifies by: its counts per value of that tag), never per request.
 */
export async function viewProjection(volumeFrom: string | undefined): Promise<ViewProjection> {
  // Imported here, not at the top: datasets/pool brings the record schema (zod) with it.
  const { projectionSources, readPool } = await import('../../datasets/pool.js');
  const pools = new Map<string, Promise<PoolSummary>>();
  const poolBy = (tag: string | null): Promise<PoolSummary> | null => {
    if (volumeFrom === undefined) return null;
    const key = tag === null ? '' : `tag:${tag}`;
    let p = pools.get(key);
    if (!p) {
      p = readPool(volumeFrom, tag);
      pools.set(key, p);
      // A failed read is not kept: the next page reports it again rather than a stale rejection.
      p.catch(() => pools.delete(key));
    }
    return p;
  };
  await poolBy(null);
  return {
    pool: volumeFrom ?? null,
    async sources(run: RunRow, choice: ProjectionChoice): Promise<ProjectionSources> {
      const read = await projectionSources(
        { configJson: run.config_json, datasetPath: run.dataset_path },
        {
          ...(choice.volume === null ? {} : { volume: choice.volume }),
          ...(choice.postStratify === null ? {} : { postStratify: choice.postStratify }),
        },
      );
      // The pool's per-value counts serve only post-stratification; volume, records and tokens are tag-free.
      return { ...read, pool: await poolBy(choice.postStratify) };
    },
  };
}

async function evaluateAtStart(
  store: Store,
  a: ViewArgs,
  io: CommandIo,
  projection: ViewProjection,
): Promise<ViewRouting | undefined | 'interrupted'> {
  const policies = a.route ?? [];
  if (policies.length === 0) return undefined;
  const runs = [...new Set((a.routeRun ?? ['latest']).map((ref) => resolveRun(store, ref).id))];
  // Imported only with --route: policies bring the SDK, the scorers and YAML with them.
  const { evaluateRouting } = await import('../route/evaluate.js');
  const results = new Map<number, RouteResult>();
  for (const run of runs) {
    const result = await evaluateRouting(
      store,
      {
        policies,
        run,
        margin: COMPARE_DEFAULTS.margin,
        alpha: COMPARE_DEFAULTS.alpha,
        fitOn: 'all',
        evaluateOn: 'all',
        // As `holdout route --project` with the viewer's --volume-from: shown with ?project=1.
        projection: await projection.sources(store.getRun(run)!, { volume: null, postStratify: null }),
      },
      io,
    );
    if (result === 'interrupted') return 'interrupted';
    results.set(run, result);
    io.stderr.write(
      `holdout view: ${policies.length === 1 ? 'the policy' : `${policies.length} policies`} evaluated on run ${run}\n`,
    );
  }
  return { policies, results };
}

export async function viewCommand(a: ViewArgs, io: CommandIo): Promise<number> {
  const path = a.db ?? defaultDbPath();
  // Viewing never creates a database: a mistyped path is an error, not an empty page.
  return readStore(path, async (store) => {
    const projection = await viewProjection(a.volumeFrom);
    const routing = await evaluateAtStart(store, a, io, projection);
    if (routing === 'interrupted') return 130;
    let server: ViewServer;
    try {
      server = await startViewServer(store, {
        port: a.port ?? 0,
        clock: io.clock,
        log: (line) => io.stderr.write(line),
        projection,
        ...(routing ? { routing } : {}),
      });
    } catch (err) {
      throw listenError(err, VIEW_HOST, a.port, 'pass another --port, or leave it out to get a free one');
    }
    io.stdout.write(`${server.url}\n`);
    io.stderr.write(`holdout view: serving ${path} on ${server.url} (Ctrl-C to stop)\n`);
    await untilStopped(io.signal);
    await server.close();
    return 0;
  });
}
