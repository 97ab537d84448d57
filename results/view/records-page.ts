/**
 * `/runs/:id/records`: the run's records × candidates, 50 to a page, filtered and sorted in SQL
 * (filter.ts). The filter form is a plain GET form, so every filtered page is a link.
 */
import type Database from 'better-sqlite3';
import { lastUserText } from '../../datasets/record.js';
import { excerpt } from '../compare/compare.js';
import { escapeHtml as esc, formatMs, formatNumber, formatUsd } from '../render/format.js';
import { el } from '../render/markup.js';
import type { RunRow } from '../store/store.js';
import {
  confusionParams,
  filterParams,
  isFiltered,
  PAGE_SIZE,
  type RecordFilter,
  type SortKey,
  sortParam,
} from './filter.js';
import { type Cell, cells, facets, recordPage } from './queries.js';
import { link, pager, paths, rawTable, viewPage } from './page.js';

export function recordsPage(
  db: Database.Database,
  run: RunRow,
  candidates: string[],
  f: RecordFilter,
  page: number,
): string {
  const { rows, total } = recordPage(db, run.id, f, page);
  const ids = rows.map((r) => r.record_id);
  const byRecord = cells(db, run.id, ids);
  const prompts = promptExcerpts(db, run.id, ids);
  const params = filterParams(f);
  const withPage = (p: number): [string, string][] => (p > 1 ? [...params, ['page', String(p)]] : params);

  const head = [
    sortHeader(run.id, f, 'seq', '#'),
    sortHeader(run.id, f, 'id', 'record'),
    el('th', {}, 'tags'),
    el('th', {}, 'prompt (last user turn)'),
    ...candidates.map((c) => {
      const sorts = (['score', 'cost', 'latency'] as const)
        .map((metric) => sortLink(run.id, f, { metric, candidate: c }, metric))
        .join(' ');
      return el('th', { 'data-candidate': c }, `${esc(c)}<br><small>${sorts}</small>`);
    }),
  ];
  const offset = (page - 1) * PAGE_SIZE;
  const body = rows.map((r, i) => {
    const href = paths.record(run.id, r.record_id, [...params, ['i', String(offset + i)]]);
    const tags = Object.entries(r.tags)
      .map(([k, v]) => link(paths.records(run.id, [['tag', `${k}:${v}`]]), `${k}=${v}`))
      .join(' ');
    return [
      el('td', { class: 'num' }, String(r.seq)),
      el('td', {}, link(href, r.record_id, { class: 'record' })),
      el('td', {}, tags),
      el('td', { class: 'excerpt' }, esc(prompts.get(r.record_id) ?? '')),
      ...candidates.map((c) => cellHtml(byRecord.get(r.record_id)?.get(c), c)),
    ];
  });

  const out = [
    `<h1>${esc(`run ${run.id} · records`)}</h1>`,
    confusionNote(run.id, f),
    filterForm(db, run, candidates, f),
    pager((p) => paths.records(run.id, withPage(p)), page, PAGE_SIZE, total),
    total === 0
      ? el('p', { class: 'note' }, esc('No record of this run matches the filter.'))
      : rawTable(head, body, { class: 'records' }),
  ];
  if (total > PAGE_SIZE) out.push(pager((p) => paths.records(run.id, withPage(p)), page, PAGE_SIZE, total));
  return viewPage(
    `run ${run.id} · records`,
    [
      ['runs', paths.runs()],
      [`run ${run.id}`, paths.run(run.id)],
      ['records', null],
    ],
    out,
  );
}

/** What a confusion filter (from the labels page) selects, with links back and away from it. */
function confusionNote(runId: number, f: RecordFilter): string {
  const c = f.confusion;
  if (!c) return '';
  const predicted =
    c.predicted === undefined
      ? 'another class or none'
      : c.predicted === null
        ? 'no class'
        : JSON.stringify(c.predicted);
  const text =
    `Label scorer ${c.scorer}: records where ${c.candidate} was expected to answer ` +
    `${JSON.stringify(c.expected)} and predicted ${predicted}, as the scores' details say.`;
  const back = link(
    paths.labels(runId, [
      ['scorer', c.scorer],
      ['candidate', c.candidate],
    ]),
    'labels page',
  );
  const { confusion: _, ...rest } = f;
  const without = link(paths.records(runId, filterParams(rest)), 'remove');
  return el('p', { class: 'note', 'data-confusion': '' }, `${esc(text)} ${back} · ${without}`);
}

function promptExcerpts(db: Database.Database, runId: number, ids: string[]): Map<string, string> {
  const rows = db
    .prepare(
      'SELECT record_id, body_json FROM records WHERE run_id = ? AND record_id IN (SELECT value FROM json_each(?))',
    )
    .all(runId, JSON.stringify(ids)) as { record_id: string; body_json: string }[];
  const out = new Map<string, string>();
  for (const r of rows) {
    try {
      const body = JSON.parse(r.body_json) as { request?: Record<string, unknown> };
      out.set(r.record_id, excerpt(lastUserText(body.request ?? {}), 140));
    } catch {
      out.set(r.record_id, '(unreadable record)');
    }
  }
  return out;
}

/** One cell: the outcome, then score, cost and latency; a reviewer's grade when there is one. */
function cellHtml(c: Cell | undefined, candidate: string): string {
  if (!c) return el('td', { class: 'cell unscored', 'data-candidate': candidate }, 'no call');
  let outcome: string;
  if (c.calls === 1) {
    outcome =
      c.errors > 0
        ? el('span', { class: 'error' }, esc(`ERROR ${c.errorKinds.join(', ')}`))
        : c.scored === 0
          ? el('span', { class: 'unscored' }, 'unscored')
          : c.passes === 1
            ? el('span', { class: 'pass' }, 'PASS')
            : el('span', { class: 'fail' }, 'FAIL');
  } else {
    const cls = c.scored === 0 ? 'unscored' : c.passes === c.scored ? 'pass' : 'fail';
    const errs = c.errors > 0 ? `, ${c.errors} error${c.errors === 1 ? '' : 's'}` : '';
    outcome = el('span', { class: cls }, esc(`${c.passes}/${c.scored} pass${errs}`));
  }
  const figures = [
    c.score === null ? '' : formatNumber(c.score, 3),
    c.cost === null ? '' : formatUsd(c.cost),
    c.latency === null ? '' : `${formatMs(c.latency)} ms`,
  ]
    .filter(Boolean)
    .join(' · ');
  const graded = c.grades.map((g) =>
    el('span', { class: 'graded', title: `${g.reviewer}: ${g.note}` }, esc(`graded ${g.value}`)),
  );
  return el(
    'td',
    { class: 'cell', 'data-candidate': candidate },
    [outcome, esc(figures), ...graded].filter(Boolean).join('<br>'),
  );
}

function sameSort(a: SortKey, b: SortKey): boolean {
  return sortParam(a) === sortParam(b);
}

/** A link that sorts by `key`: ascending first, the other way when it already sorts by it. */
function sortLink(runId: number, f: RecordFilter, key: SortKey, text: string): string {
  const active = sameSort(f.sort, key);
  const next: RecordFilter = { ...f, sort: key, desc: active ? !f.desc : false };
  const arrow = active ? (f.desc ? ' ↓' : ' ↑') : '';
  return link(paths.records(runId, filterParams(next)), `${text}${arrow}`, { class: 'sort' });
}

function sortHeader(runId: number, f: RecordFilter, key: SortKey, text: string): string {
  return el('th', {}, sortLink(runId, f, key, text));
}

function options(values: string[], selected: string | undefined, none: string): string {
  return [el('option', { value: '' }, esc(none))]
    .concat(
      values.map((v) =>
        el('option', v === selected ? { value: v, selected: 'selected' } : { value: v }, esc(v)),
      ),
    )
    .join('');
}

function filterForm(db: Database.Database, run: RunRow, candidates: string[], f: RecordFilter): string {
  const fc = facets(db, run.id, run.scorers_json);
  const checkbox = (name: 'pass' | 'fail', c: string) => {
    const a: Record<string, string> = { type: 'checkbox', name, value: c };
    if (f[name].includes(c)) a.checked = 'checked';
    return el('label', { class: 'check' }, `${el('input', a)} ${esc(name)}`);
  };
  const outcomes = candidates.map((c) =>
    el(
      'fieldset',
      { 'data-candidate': c },
      `${el('legend', {}, esc(c))}${checkbox('pass', c)}${checkbox('fail', c)}`,
    ),
  );
  const pairs: string[] = [];
  for (let i = 0; i < candidates.length; i++) {
    for (let j = i + 1; j < candidates.length; j++) pairs.push(`${candidates[i]},${candidates[j]}`);
  }
  const tagInputs = [...f.tags.map((t) => `${t.key}:${t.value}`), ''].map((v) =>
    el('input', { type: 'text', name: 'tag', value: v, placeholder: 'task:classify' }),
  );
  const fields = [
    el('label', {}, `tag (key:value) ${tagInputs.join(' ')}`),
    ...outcomes,
    el(
      'label',
      {},
      `error ${el('select', { name: 'error' }, options(['*', ...fc.errorKinds], f.error, '(any)'))}`,
    ),
    el('label', {}, `scorer ${el('select', { name: 'scorer' }, options(fc.scorers, f.scorer, '(any)'))}`),
    el('label', {}, `flips ${el('select', { name: 'flips' }, options(pairs, f.flips?.join(','), '(none)'))}`),
    el(
      'label',
      {},
      `text ${el('input', { type: 'search', name: 'q', value: f.q ?? '', placeholder: 'in prompts and outputs' })}`,
    ),
  ];
  if (f.confusion) {
    for (const [name, value] of confusionParams(f.confusion)) {
      fields.push(el('input', { type: 'hidden', name, value }));
    }
  }
  if (f.sort !== 'seq') fields.push(el('input', { type: 'hidden', name: 'sort', value: sortParam(f.sort) }));
  if (f.desc) fields.push(el('input', { type: 'hidden', name: 'dir', value: 'desc' }));
  fields.push(el('button', { type: 'submit' }, 'Filter'));
  if (isFiltered(f)) fields.push(link(paths.records(run.id), 'clear'));
  return el('form', { class: 'filter', method: 'get', action: paths.records(run.id) }, fields.join('\n'));
}
