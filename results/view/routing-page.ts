/**
 * `/runs/:id/routing`: `holdout route` of the policy files given to `holdout view --route`, drawn with
 * the HTML report's routing section (results/render/route-html.ts). The evaluation may call a
 * classifier router, so it is made by the command, once, when the viewer starts
 * (harness/cli/view-command.ts, through harness/route/evaluate.ts), and handed to the server: the
 * viewer imports nothing of the harness beyond its leaf utilities, and a page never calls a model.
 */
import { escapeHtml as esc } from '../render/format.js';
import { el } from '../render/markup.js';
import { renderRouteHtml } from '../render/route-html.js';
import type { RunRow } from '../store/store.js';
import { link, paths, viewPage } from './page.js';

/** A routing evaluation of a run (results/route), as the routing section draws it. */
export type RouteResult = Parameters<typeof renderRouteHtml>[0];

/** What `holdout view --route` evaluated at start. */
export interface ViewRouting {
  /** The policy files, as given on the command line. */
  policies: readonly string[];
  /** The evaluation of each run the policies were evaluated on. */
  results: ReadonlyMap<number, RouteResult>;
}

export const ROUTE_USAGE = 'holdout view --route policy.yaml [--route another.yaml] [--route-run RUN]';

/**
 * `project`: `?project=1`, the projection the command made with the evaluation (from the run's sample
 * manifest and `--volume-from`, as `holdout route --project`); it cannot be made again per link, since
 * the evaluation is made once, at start.
 */
export function routingPage(run: RunRow, routing: ViewRouting | undefined, project = false): string {
  const body = [`<h1>${esc(`run ${run.id} · routing`)}</h1>`];
  const result = routing?.results.get(run.id);
  if (!routing) {
    body.push(
      el(
        'p',
        { class: 'note' },
        `No routing policy was given to this viewer. Start it with the policy files to evaluate: ${el(
          'code',
          {},
          esc(ROUTE_USAGE),
        )}. They are evaluated as ${el('code', {}, 'holdout route')} evaluates them (its default margin and ` +
          'alpha), once, when the viewer starts: on the latest run, or on each run given with --route-run.',
      ),
    );
  } else if (!result) {
    const runs = [...routing.results.keys()].map((id) => link(paths.routing(id), `run ${id}`));
    body.push(
      el(
        'p',
        { class: 'note' },
        `${esc(`The policies (${routing.policies.join(', ')}) were evaluated when the viewer started, on `)}${runs.join(
          ', ',
        )}${esc('. To see them on this run, restart the viewer with ')}${el(
          'code',
          {},
          esc(`--route-run ${run.id}`),
        )}.`,
      ),
    );
  } else {
    const { projection, ...plain } = result;
    const toggle = !projection
      ? ''
      : project
        ? link(paths.routing(run.id), 'Without the projection')
        : link(`${paths.routing(run.id)}?project=1#routing-projection`, 'Projection to production volume');
    body.push(
      el(
        'p',
        { class: 'meta' },
        esc(`Policies: ${routing.policies.join(', ')} (evaluated when the viewer started).`),
      ),
      ...(toggle ? [el('p', { class: 'links' }, toggle)] : []),
      ...(project && !projection
        ? [el('p', { class: 'note' }, esc('This evaluation was made without a projection.'))]
        : []),
      ...(project && projection
        ? [
            el(
              'p',
              { class: 'note' },
              esc(
                'The projection was made with the evaluation, when the viewer started: its volume and frame are those of the run’s sample manifest and --volume-from; the run and compare pages take volume= and post_stratify= per link.',
              ),
            ),
          ]
        : []),
      renderRouteHtml(project && projection ? result : plain),
    );
  }
  return viewPage(
    `${result?.simulated ? '[SIMULATED] ' : ''}run ${run.id} · routing`,
    [
      ['runs', paths.runs()],
      [`run ${run.id}`, paths.run(run.id)],
      ['routing', null],
    ],
    body,
  );
}
