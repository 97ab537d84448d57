/**
 * `/runs/:id`: the run's report (buildReport, drawn by the HTML report's own sections), `?by=TAG`
 * slices, and links from its figures into the records behind them. `?project=1` adds the projection
 * to production volume as `holdout report --project` makes it (the same sources, the same section),
 * with `volume=N` and `post_stratify=TAG` as links; the compare page shares its form.
 */
import { HarnessError } from '../../harness/errors.js';
import { escapeHtml as esc } from '../render/format.js';
import { el } from '../render/markup.js';
import { projectionHtml } from '../render/projection-render.js';
import { reportSections } from '../render/report-html.js';
import type { Projection, ProjectionSources } from '../report/projection.js';
import { buildReport } from '../report/report.js';
import type { RunReport } from '../report/report.js';
import type { RunRow, Store } from '../store/store.js';
import { labelScorers } from './confusion.js';
import { queryString } from './filter.js';
import { tagNames } from './queries.js';
import { link, paths, section, viewPage } from './page.js';

/** The page's choice of frame: `volume=N` (requests per month) and `post_stratify=TAG`. */
export interface ProjectionChoice {
  volume: number | null;
  postStratify: string | null;
}

/**
 * What `holdout view` hands the server for `?project=1` (harness/cli/view-command.ts reads the files:
 * the viewer imports nothing of datasets/ beyond the record).
 */
export interface ViewProjection {
  /** The pool given with `holdout view --volume-from`, or null. */
  pool: string | null;
  /** What `holdout report --project` reads for the run, with the page's volume and tag. */
  sources(run: RunRow, choice: ProjectionChoice): Promise<ProjectionSources>;
}

/** A page's projection: the choice, what was read for it, and the pool the form may post-stratify on. */
export interface ProjectionView {
  choice: ProjectionChoice;
  sources: ProjectionSources;
  pool: string | null;
}

/** What the page's link calls the volume it was given (the CLI's `--volume`). */
export const VOLUME_LABEL = 'volume= in the link';

function badQuery(message: string, hint?: string): HarnessError {
  return new HarnessError('USAGE', message, hint === undefined ? {} : { hint });
}

/**
 * `project=1`, `volume=N` and `post_stratify=TAG` of a query (empty fields are absent); null when the
 * projection is off. A bad value is a usage error (the server's 400 page), never a guess.
 */
export function parseProjection(q: URLSearchParams, tags: readonly string[]): ProjectionChoice | null {
  const project = q.get('project');
  const volumeText = q.get('volume') || null;
  const post = q.get('post_stratify') || null;
  if (project !== null && project !== '1' && project !== '0') {
    throw badQuery(
      `project: '${project}' is not 1 or 0`,
      'project=1 adds the projection to production volume',
    );
  }
  if (project !== '1') {
    if (volumeText !== null || post !== null) {
      throw badQuery('volume= and post_stratify= only with project=1');
    }
    return null;
  }
  let volume: number | null = null;
  if (volumeText !== null) {
    volume = /^\d+(\.\d+)?([eE]\+?\d+)?$/.test(volumeText) ? Number(volumeText) : Number.NaN;
    if (!(volume > 0 && volume <= 1e15)) {
      throw badQuery(
        `volume: '${volumeText}' is not a positive number of requests per month`,
        'e.g. volume=250000',
      );
    }
  }
  if (post !== null && !tags.includes(post)) {
    throw badQuery(
      `post_stratify: no record of the run has a tag '${post}'`,
      tags.length > 0 ? `the records' tags are: ${tags.join(', ')}` : 'the records of this run have no tags',
    );
  }
  return { volume, postStratify: post };
}

/** The query parameters of a choice, in the order the form sends them. */
export function projectionParams(choice: ProjectionChoice | null): [string, string][] {
  if (choice === null) return [];
  const out: [string, string][] = [['project', '1']];
  if (choice.volume !== null) out.push(['volume', String(choice.volume)]);
  if (choice.postStratify !== null) out.push(['post_stratify', choice.postStratify]);
  return out;
}

/** The page's projection, or a usage error when the viewer cannot make it as asked. */
export async function projectionView(
  vp: ViewProjection | undefined,
  run: RunRow,
  choice: ProjectionChoice,
): Promise<ProjectionView> {
  if (!vp) {
    throw badQuery(
      'this server was started without the projection sources',
      'start the viewer with `holdout view` (it reads the sample manifest and --volume-from)',
    );
  }
  if (choice.postStratify !== null && vp.pool === null) {
    throw badQuery(
      `post_stratify=${choice.postStratify} needs the production count of each value, from a pool of production records`,
      'start the viewer with `holdout view --volume-from pool.jsonl`',
    );
  }
  const sources = await vp.sources(run, choice);
  return { choice, sources, pool: vp.pool };
}

/**
 * `projection`: the page's projection; 'available' when the viewer can make one (the page links to
 * it); undefined when it cannot (a server started without `ViewOptions.projection`).
 */
export function runPage(
  store: Store,
  run: RunRow,
  by: string | undefined,
  projection?: ProjectionView | 'available',
): string {
  const pv = typeof projection === 'object' ? projection : undefined;
  const report = buildReport(store, run.id, {
    ...(by === undefined ? {} : { by }),
    ...(pv ? { projection: { ...pv.sources, volumeLabel: VOLUME_LABEL } } : {}),
  });
  const { projection: projected, ...plain } = report;
  const names = report.candidates.map((c) => c.candidate);
  const byParams: [string, string][] = by === undefined ? [] : [['by', by]];
  const tags = tagNames(store.db, run.id);
  const body = [
    el(
      'p',
      { class: 'links' },
      [
        link(paths.records(run.id), `Records (${run.record_count.toLocaleString('en-US')})`),
        names.length >= 2 ? link(paths.compare(run.id, names[0], names[1]), 'Compare two candidates') : '',
        labelScorers(run.scorers_json).size > 0 ? link(paths.labels(run.id), 'Label scorers') : '',
        link(paths.routing(run.id), 'Routing'),
        projection !== 'available'
          ? ''
          : link(
              `${paths.run(run.id)}${queryString([...byParams, ['project', '1']])}#projection`,
              'Projection',
            ),
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    byForm(run.id, tags, by, projectionParams(pv?.choice ?? null)),
    ...reportSections(plain),
    ...(pv && projected ? [projectionBlock(paths.run(run.id), byParams, pv, projected, tags)] : []),
    section('evidence', 'The records behind the figures', evidence(run.id, report)),
  ];
  const title = `${report.simulated ? '[SIMULATED] ' : ''}run ${run.id} · suite ${run.suite}`;
  return viewPage(
    title,
    [
      ['runs', paths.runs()],
      [`run ${run.id}`, null],
    ],
    body,
  );
}

/**
 * The form of a page's projection (volume; the tag to post-stratify by when the sample has no
 * strata of its own), then the section as the HTML report draws it. `keep`: the page's other
 * parameters, carried as hidden fields; `tags`: the run's tag names.
 */
export function projectionBlock(
  action: string,
  keep: [string, string][],
  pv: ProjectionView,
  p: Projection,
  tags: readonly string[],
): string {
  const carried: [string, string][] = [['project', '1'], ...keep];
  const hidden = carried.map(([name, value]) => el('input', { type: 'hidden', name, value }));
  const derived = p.frame.volume && pv.choice.volume === null ? Math.round(p.frame.volume.perMonth) : null;
  const fields = [
    el(
      'label',
      {},
      `requests per month ${el('input', {
        type: 'number',
        name: 'volume',
        min: '1',
        step: 'any',
        value: pv.choice.volume === null ? '' : String(pv.choice.volume),
        placeholder: derived === null ? 'e.g. 250000' : String(derived),
      })}`,
    ),
  ];
  const notes: string[] = [];
  const m = pv.sources.manifest;
  if (!m?.stratify) {
    if (pv.pool !== null) {
      const options = [el('option', { value: '' }, esc('(none)'))].concat(
        tags.map((t) =>
          el(
            'option',
            t === pv.choice.postStratify ? { value: t, selected: 'selected' } : { value: t },
            esc(t),
          ),
        ),
      );
      fields.push(
        el('label', {}, `post-stratify by tag ${el('select', { name: 'post_stratify' }, options.join(''))}`),
      );
    } else {
      notes.push(
        `The sample ${m ? 'is not stratified' : 'has no manifest'}: to weigh it by a tag's production counts, start the viewer with ${el(
          'code',
          {},
          'holdout view --volume-from pool.jsonl',
        )}.`,
      );
    }
  }
  if (!p.frame.volume) {
    notes.push(
      `No volume known: costs are per 1K requests. Give one above, or start the viewer with ${el(
        'code',
        {},
        'holdout view --volume-from pool.jsonl',
      )}.`,
    );
  }
  const form = el(
    'form',
    { class: 'filter', method: 'get', action: `${action}#projection` },
    `${hidden.join('')}${fields.join('\n')}\n${el('button', { type: 'submit' }, 'Project')}`,
  );
  const note = notes.map((n) => el('p', { class: 'note' }, n)).join('\n');
  return `${form}\n${note}${note ? '\n' : ''}${projectionHtml(p)}`;
}

function byForm(runId: number, tags: string[], by: string | undefined, keep: [string, string][]): string {
  if (tags.length === 0) return '';
  const options = [el('option', { value: '' }, esc('(no slices)'))].concat(
    tags.map((t) => el('option', t === by ? { value: t, selected: 'selected' } : { value: t }, esc(t))),
  );
  return el(
    'form',
    { class: 'filter', method: 'get', action: paths.run(runId) },
    keep.map(([name, value]) => el('input', { type: 'hidden', name, value })).join('') +
      el('label', {}, `slice by tag ${el('select', { name: 'by' }, options.join(''))}`) +
      el('button', { type: 'submit' }, 'Show'),
  );
}

function evidence(runId: number, r: RunReport): string {
  const rec = (params: [string, string][], text: string) => link(paths.records(runId, params), text);
  const items: string[] = [];
  for (const c of r.candidates) {
    const parts = [
      rec([['pass', c.candidate]], `${c.passes} passed`),
      rec([['fail', c.candidate]], `${c.scored - c.passes} failed`),
    ];
    for (const kind of Object.keys(c.errorsByKind)) {
      parts.push(rec([['error', kind]], `errors: ${kind} (${c.errorsByKind[kind]})`));
    }
    parts.push(
      rec(
        [
          ['sort', `latency:${c.candidate}`],
          ['dir', 'desc'],
        ],
        'slowest first',
      ),
      rec(
        [
          ['sort', `cost:${c.candidate}`],
          ['dir', 'desc'],
        ],
        'costliest first',
      ),
    );
    items.push(`<li>${esc(c.candidate)}: ${parts.join(' · ')}</li>`);
  }
  if (r.by !== null) {
    const by = r.by;
    const slices = r.slices
      .filter((s) => s.value !== null)
      .map((s) => rec([['tag', `${by}:${s.value}`]], `${s.value} (${s.records})`));
    if (slices.length > 0) items.push(`<li>${esc(`by ${by}`)}: ${slices.join(' · ')}</li>`);
  }
  const names = r.candidates.map((c) => c.candidate);
  const pairs: string[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [a, b] = [names[i]!, names[j]!];
      pairs.push(
        `${link(paths.compare(runId, a, b), `${a} vs ${b}`)} (${rec([['flips', `${a},${b}`]], 'flipped records')})`,
      );
    }
  }
  if (pairs.length > 0) items.push(`<li>compare: ${pairs.join(' · ')}</li>`);
  return `<ul>\n${items.join('\n')}\n</ul>`;
}
