/**
 * `holdout report [run]`: one run's report (or a suite's trend) from the database, in the chosen
 * format; with `--route` the HTML report gains a routing section (harness/route/evaluate.ts).
 */
import type { Argv } from 'yargs';
import { COMPARE_DEFAULTS } from '../../results/compare/compare.js';
import { renderHtml } from '../../results/render/report-html.js';
import { renderReport, renderTrend, type TrendFormat } from '../../results/render/report-text.js';
import { renderRouteHtml } from '../../results/render/route-html.js';
import { buildReport, buildTrend } from '../../results/report/report.js';
import {
  type CommandIo,
  checkOutPath,
  DB_OPTION,
  REPORT_FORMATS,
  type ReportFormat,
  usageError,
  checkProjectFlags,
  PROJECT_OPTIONS,
  readStore,
  writeOutput,
} from './common.js';
import { RUN_REF_HELP, resolveRun } from './run-ref.js';

export interface ReportArgs {
  /** A run reference (harness/cli/run-ref.ts): an id, `latest` or `latest~N`. */
  run?: string;
  suite?: string;
  db?: string;
  format: ReportFormat;
  out?: string;
  by?: string;
  baseline?: string;
  trend?: boolean;
  route?: string[];
  project?: boolean;
  volume?: number;
  volumeFrom?: string;
  postStratify?: string;
}

export function reportOptions(c: Argv) {
  return c
    .positional('run', { type: 'string', describe: `${RUN_REF_HELP}; default: latest` })
    .option('suite', { type: 'string', describe: 'latest run of this suite (latest~N counts its runs)' })
    .option('db', DB_OPTION)
    .option('format', {
      choices: REPORT_FORMATS,
      default: 'table' as ReportFormat,
      describe: 'report format',
    })
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
    .options(PROJECT_OPTIONS)
    .check((a) => {
      checkProjectFlags(a);
      if (a.project && a.trend) throw usageError('--project cannot be combined with --trend');
      if (a.project && a.format === 'csv')
        throw usageError('--project has no csv format: use table, md, json or html');
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
      checkOutPath(a.out);
      return true;
    });
}

export function reportCommand(a: ReportArgs, io: CommandIo): Promise<number> {
  return readStore(a.db, async (store) => {
    if (a.trend) {
      // Every run of the suite, oldest first: --suite, else the suite of the given or latest run.
      const suite = a.suite ?? resolveRun(store, a.run).suite;
      writeOutput(io, renderTrend(buildTrend(store, suite), a.format as TrendFormat), a.out, 'report');
      return 0;
    }
    const run = resolveRun(store, a.run, { suite: a.suite });
    const opts = {
      by: a.by,
      baseline: a.baseline,
      ...(a.project
        ? {
            // Imported only here: a projection reads the dataset (zod); a plain report needs neither.
            projection: await (await import('../../datasets/pool.js')).projectionSources(
              { configJson: run.config_json, datasetPath: run.dataset_path },
              a,
            ),
          }
        : {}),
    };
    if (a.route !== undefined && a.route.length > 0) {
      // Imported only here: routing policies bring the SDK, the scorers and YAML with them.
      const { evaluateRouting } = await import('../route/evaluate.js');
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
        io,
      );
      if (routing === 'interrupted') return 130;
      writeOutput(
        io,
        renderHtml(buildReport(store, run.id, opts), [renderRouteHtml(routing)]),
        a.out,
        'report',
      );
      return 0;
    }
    writeOutput(io, renderReport(buildReport(store, run.id, opts), a.format), a.out, 'report');
    return 0;
  });
}
