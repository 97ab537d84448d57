/** `/`: every run of the database, grouped by suite, newest first, 100 to a page. */
import type Database from 'better-sqlite3';
import { escapeHtml as esc, formatUsd } from '../render/format.js';
import { el } from '../render/markup.js';
import { runList } from './queries.js';
import { link, pager, paths, rawTable, viewPage } from './page.js';

export const RUNS_PER_PAGE = 100;

export function runsPage(db: Database.Database, page: number): string {
  const { rows, total } = runList(db, page, RUNS_PER_PAGE);
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
    if (suite !== null) body.push(el('h2', { class: 'suite' }, esc(`suite ${suite}`)), rawTable(head, group));
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
