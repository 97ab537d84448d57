/**
 * `/runs/:id`: the run's report (buildReport, drawn by the HTML report's own sections), `?by=TAG`
 * slices, and links from its figures into the records behind them.
 */
import { escapeHtml as esc } from '../render/format.js';
import { el } from '../render/markup.js';
import { reportSections } from '../render/report-html.js';
import { buildReport } from '../report/report.js';
import type { RunReport } from '../report/report.js';
import type { RunRow, Store } from '../store/store.js';
import { labelScorers } from './confusion.js';
import { tagNames } from './queries.js';
import { link, paths, section, viewPage } from './page.js';

export function runPage(store: Store, run: RunRow, by: string | undefined): string {
  const report = buildReport(store, run.id, by === undefined ? {} : { by });
  const names = report.candidates.map((c) => c.candidate);
  const body = [
    el(
      'p',
      { class: 'links' },
      [
        link(paths.records(run.id), `Records (${run.record_count.toLocaleString('en-US')})`),
        names.length >= 2 ? link(paths.compare(run.id, names[0], names[1]), 'Compare two candidates') : '',
        labelScorers(run.scorers_json).size > 0 ? link(paths.labels(run.id), 'Label scorers') : '',
        link(paths.routing(run.id), 'Routing'),
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    byForm(run.id, tagNames(store.db, run.id), by),
    ...reportSections(report),
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

function byForm(runId: number, tags: string[], by: string | undefined): string {
  if (tags.length === 0) return '';
  const options = [el('option', { value: '' }, esc('(no slices)'))].concat(
    tags.map((t) => el('option', t === by ? { value: t, selected: 'selected' } : { value: t }, esc(t))),
  );
  return el(
    'form',
    { class: 'filter', method: 'get', action: paths.run(runId) },
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
