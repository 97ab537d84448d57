/**
 * `/`: every run of the database, grouped by suite, newest first, 100 to a page; under a suite with
 * 2 or more runs, each candidate's pass rate across them (buildTrend, oldest run first).
 */
import { escapeHtml as esc, formatPercent, formatUsd } from '../render/format.js';
import { el } from '../render/markup.js';
import { buildTrend } from '../report/trend.js';
import type { PageCache } from './cache.js';
import type { Store } from '../store/store.js';
import { runList } from './queries.js';
import { link, pager, paths, rawTable, viewPage } from './page.js';

export const RUNS_PER_PAGE = 100;

export function runsPage(store: Store, page: number, cache?: PageCache): string {
  const { rows, total } = runList(store.db, page, RUNS_PER_PAGE);
  const body = ['<h1>holdout runs</h1>'];
  if (total === 0) {
    body.push(
      el(
        'p',
        { class: 'note' },
        esc('This database has no runs yet: run `holdout demo` or `holdout run <config>` first.'),
      ),
    );
  }
  const head = ['run', 'created', 'status', 'candidates', 'records', 'calls', 'cost'].map((h, i) =>
    el('th', i >= 4 ? { class: 'num' } : {}, esc(h)),
  );
  let suite: string | null = null;
  let group: string[][] = [];
  const flush = () => {
    if (suite !== null) {
      body.push(
        el('h2', { class: 'suite' }, esc(`suite ${suite}`)),
        rawTable(head, group),
        trendLines(store, suite, cache),
      );
    }
    group = [];
  };
  for (const r of rows) {
    if (r.suite !== suite) {
      flush();
      suite = r.suite;
    }
    const num = (s: string) => el('td', { class: 'num' }, esc(s));
    group.push([
      el('td', {}, link(paths.run(r.id), `run ${r.id}`)),
      el('td', {}, esc(r.created_at)),
      el('td', {}, esc(r.status === 'finished' && r.finished_at ? `finished ${r.finished_at}` : r.status)),
      el('td', {}, esc(r.candidates ?? '')),
      num(`${r.record_count.toLocaleString('en-US')}${r.repeats > 1 ? ` × ${r.repeats}` : ''}`),
      num(r.calls.toLocaleString('en-US')),
      num(formatUsd(r.cost)),
    ]);
  }
  flush();
  if (total > RUNS_PER_PAGE) body.push(pager((p) => paths.runs(p), page, RUNS_PER_PAGE, total));
  return viewPage('holdout runs', [['runs', null]], body);
}

/**
 * One line per candidate: its pass rate in each run of the suite, oldest first ('' under 2 runs).
 * Aggregating every run of a suite costs seconds on large runs, so the lines are kept in the page
 * cache under the suite's newest run, keyed by the suite's runs and their states.
 */
export function trendLines(store: Store, suite: string, cache?: PageCache): string {
  const runs = store.db
    .prepare(
      "SELECT max(id) AS newest, count(*) AS n, group_concat(id || ':' || status || ':' || coalesce(finished_at, ''), ',') AS sig FROM runs WHERE suite = ?",
    )
    .get(suite) as { newest: number | null; n: number; sig: string | null };
  if (runs.n < 2 || runs.newest === null) return '';
  const build = () => trendHtml(store, suite);
  return cache ? cache.get(runs.newest, `trend:${suite}:${runs.sig}`, build) : build();
}

function trendHtml(store: Store, suite: string): string {
  const t = buildTrend(store, suite);
  const items = t.candidates.map(({ candidate, points }) => {
    const rates = points.map((p) => (p.passRate.n === 0 ? '-' : formatPercent(p.passRate.p)));
    return el('li', { 'data-candidate': candidate }, esc(`${candidate} ${rates.join(' → ')}`));
  });
  const what = `Pass rate per run, oldest first (${t.runs.length} runs)`;
  return el(
    'div',
    { class: 'trend', 'data-suite': suite },
    `${el('p', { class: 'note' }, esc(what))}<ul>${items.join('')}</ul>`,
  );
}
