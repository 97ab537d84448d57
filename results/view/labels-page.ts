/**
 * `/runs/:id/labels`: the run's label scorers (results/report/labels.ts). Per scorer, for one candidate:
 * the per-class table, sorted on the server (`sort=f1|support|errors|class`, `dir=asc|desc`); the
 * most-confused pairs, each linking to its records; and the confusion heatmap, a grid of shaded blocks
 * (count on the block and in its title) that scrolls inside its own box with sticky axes, so that 77
 * classes or more stay readable without widening the page; `order=confusion` puts the classes most
 * confused with each other side by side. `scorer=` and `candidate=` choose what is shown.
 */
import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import { escapeHtml as esc, formatInterval, formatNumber, formatPercent } from '../render/format.js';
import { el } from '../render/markup.js';
import type { LabelCandidateReport, LabelReport } from '../report/labels.js';
import type { RunRow } from '../store/store.js';
import { confusionParams } from './filter.js';
import { type ConfusionCell, confusedCalls, labelReports, labelScorers } from './confusion.js';
import { link, paths, rawTable, section, viewPage } from './page.js';

/** Confused pairs listed per scorer and candidate; the heatmap has every one. */
export const PAIRS_LISTED = 20;
/** The longest class name on the heatmap's axes (the title of each has it whole). */
export const AXIS_CHARS = 18;
export const NO_CLASS = '(no class)';

const SORTS = ['class', 'f1', 'support', 'errors'] as const;
type SortKey = (typeof SORTS)[number];
const ORDERS = ['class', 'confusion'] as const;
type Order = (typeof ORDERS)[number];
/** The direction a column sorts in when first chosen: the worst classes first. */
const FIRST_DESC: Record<SortKey, boolean> = { class: false, f1: false, support: true, errors: true };

export interface LabelsQuery {
  scorer?: string;
  candidate?: string;
  sort: SortKey;
  desc: boolean;
  order: Order;
}

function bad(message: string, hint: string): HarnessError {
  return new HarnessError('USAGE', message, { hint });
}

export function parseLabelsQuery(q: URLSearchParams, candidates: readonly string[]): LabelsQuery {
  const sort = q.get('sort') || 'class';
  if (!(SORTS as readonly string[]).includes(sort)) {
    throw bad(`sort=${sort}: unknown column`, `sort by ${SORTS.join(', ')}`);
  }
  const order = q.get('order') || 'class';
  if (!(ORDERS as readonly string[]).includes(order)) {
    throw bad(`order=${order}: unknown order`, 'order=class or order=confusion');
  }
  const out: LabelsQuery = { sort: sort as SortKey, desc: q.get('dir') === 'desc', order: order as Order };
  const scorer = q.get('scorer');
  if (scorer) out.scorer = scorer;
  const candidate = q.get('candidate');
  if (candidate) {
    if (!candidates.includes(candidate)) {
      throw bad(
        `candidate=${candidate}: not a candidate of this run`,
        `the candidates are ${candidates.join(', ')}`,
      );
    }
    out.candidate = candidate;
  }
  return out;
}

function queryParams(q: LabelsQuery, over: Partial<LabelsQuery> = {}): [string, string][] {
  const x = { ...q, ...over };
  const out: [string, string][] = [];
  if (x.scorer !== undefined) out.push(['scorer', x.scorer]);
  if (x.candidate !== undefined) out.push(['candidate', x.candidate]);
  if (x.sort !== 'class') out.push(['sort', x.sort]);
  if (x.desc) out.push(['dir', 'desc']);
  if (x.order !== 'class') out.push(['order', x.order]);
  return out;
}

export function labelsPage(db: Database.Database, run: RunRow, candidates: string[], q: LabelsQuery): string {
  const { labels, notes } = labelReports(db, run, candidates);
  const crumbs: [string, string | null][] = [
    ['runs', paths.runs()],
    [`run ${run.id}`, paths.run(run.id)],
    ['labels', null],
  ];
  const body = [`<h1>${esc(`run ${run.id} · label scorers`)}</h1>`];
  if (q.scorer !== undefined && !labels.some((l) => l.scorer === q.scorer)) {
    throw bad(
      `scorer=${q.scorer}: no label scorer of run ${run.id} by that name has scored a call`,
      `its label scorers with scores: ${labels.map((l) => l.scorer).join(', ') || '(none)'}`,
    );
  }
  if (labels.length === 0) {
    const any = labelScorers(run.scorers_json).size > 0;
    body.push(
      el(
        'p',
        { class: 'note' },
        esc(
          any
            ? 'The label scorers of this run scored no call on a record with a reference label (reference.label).'
            : 'This run has no label scorer (kind: label).',
        ),
      ),
    );
    return viewPage(`run ${run.id} · labels`, crumbs, body);
  }
  body.push(section('label-summary', 'Label scorers', summaryTable(run.id, labels, q)));
  const shown = labels.filter((l) => q.scorer === undefined || l.scorer === q.scorer);
  const caseSensitive = labelScorers(run.scorers_json);
  shown.forEach((l, i) => {
    body.push(scorerSection(db, run.id, l, i, q, caseSensitive.get(l.scorer) ?? false));
  });
  body.push(
    el(
      'p',
      { class: 'method' },
      esc(
        'Per class: precision = correct / predicted as the class, recall = correct / support, F1 = 2·correct / ' +
          '(support + predicted), "—" where undefined; support: calls expecting the class; errors: those given ' +
          `another class or none (support − correct). ${NO_CLASS}: the output named no class. ` +
          'Every repeat counts as a call.',
      ),
    ),
  );
  if (notes.length > 0)
    body.push(section('label-notes', 'Notes', `<ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`));
  return viewPage(`run ${run.id} · labels`, crumbs, body);
}

function summaryTable(runId: number, labels: LabelReport[], q: LabelsQuery): string {
  const head = ['scorer', 'candidate', 'classes', 'calls', 'accuracy [95% CI]', 'macro-F1', NO_CLASS].map(
    (h, i) => el('th', i >= 2 ? { class: 'num' } : {}, esc(h)),
  );
  const rows = labels.flatMap((l) =>
    l.candidates.map((c) => [
      el('td', {}, esc(l.scorer)),
      el(
        'td',
        {},
        link(paths.labels(runId, queryParams(q, { scorer: l.scorer, candidate: c.candidate })), c.candidate),
      ),
      el('td', { class: 'num' }, String(l.classes.length)),
      el('td', { class: 'num' }, c.n.toLocaleString('en-US')),
      el('td', { class: 'num' }, esc(formatInterval(c.accuracy.p, c.accuracy.lo, c.accuracy.hi))),
      el('td', { class: 'num' }, esc(ratio(c.macro.f1))),
      el('td', { class: 'num' }, c.unclassified.toLocaleString('en-US')),
    ]),
  );
  return rawTable(head, rows, { class: 'label-summary' });
}

const ratio = (x: number) => (Number.isFinite(x) ? formatNumber(x, 3) : '—');

function scorerSection(
  db: Database.Database,
  runId: number,
  l: LabelReport,
  index: number,
  q: LabelsQuery,
  caseSensitive: boolean,
): string {
  const id = `label-${index}`;
  const candidate = q.candidate ?? l.candidates[0]!.candidate;
  const c = l.candidates.find((x) => x.candidate === candidate);
  const switcher = el(
    'p',
    { class: 'meta' },
    `candidate: ${l.candidates
      .map((x) =>
        x.candidate === candidate
          ? el('strong', {}, esc(x.candidate))
          : link(
              `${paths.labels(runId, queryParams(q, { scorer: q.scorer, candidate: x.candidate }))}#${id}`,
              x.candidate,
            ),
      )
      .join(' · ')}`,
  );
  if (!c) {
    const none = el('p', { class: 'note' }, esc(`${candidate} has no scored call under ${l.scorer}.`));
    return section(id, `${l.scorer} · ${candidate}`, switcher + none);
  }
  const cells = confusedCalls(db, runId, l.scorer, candidate, l.classes, caseSensitive);
  const records = (row: number, col?: number): string =>
    paths.records(
      runId,
      confusionParams({
        scorer: l.scorer,
        candidate,
        expected: l.classes[row]!,
        ...(col === undefined ? {} : { predicted: col < l.classes.length ? l.classes[col]! : null }),
      }),
    );
  const figures = el(
    'p',
    { class: 'meta' },
    esc(
      `${c.n.toLocaleString('en-US')} calls · accuracy ${formatInterval(c.accuracy.p, c.accuracy.lo, c.accuracy.hi)} · ` +
        `macro-F1 ${ratio(c.macro.f1)} · micro-F1 ${ratio(c.micro.f1)} · ${c.unclassified.toLocaleString('en-US')} ${NO_CLASS}`,
    ),
  );
  return section(
    id,
    `${l.scorer} · ${candidate}`,
    [
      switcher,
      figures,
      el('h3', {}, 'Per class'),
      classTable(runId, l, c, q, id, records),
      el('h3', {}, 'Most confused'),
      pairsTable(l, c, cells, records),
      el('h3', {}, 'Confusion heatmap'),
      orderLinks(runId, q, id),
      heatmap(l, c, q.order, records),
    ].join('\n'),
  );
}

type RecordsHref = (row: number, col?: number) => string;

function classTable(
  runId: number,
  l: LabelReport,
  c: LabelCandidateReport,
  q: LabelsQuery,
  id: string,
  records: RecordsHref,
): string {
  const rows = c.perClass.map((m, i) => ({ i, m, errors: m.support - m.truePositives }));
  const value = (r: (typeof rows)[number]): number =>
    q.sort === 'f1' ? r.m.f1 : q.sort === 'support' ? r.m.support : q.sort === 'errors' ? r.errors : r.i;
  rows.sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    // Undefined F1 last whatever the direction; ties in class order.
    if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
    const d = Number.isNaN(x) ? 0 : q.desc ? y - x : x - y;
    return d !== 0 ? d : a.i - b.i;
  });
  const header = (key: SortKey, text: string) => {
    const active = q.sort === key;
    const desc = active ? !q.desc : FIRST_DESC[key];
    const href = `${paths.labels(runId, queryParams(q, { sort: key, desc }))}#${id}`;
    const arrow = active ? (q.desc ? ' ↓' : ' ↑') : '';
    return el(
      'th',
      key === 'class' ? {} : { class: 'num' },
      link(href, `${text}${arrow}`, { class: 'sort' }),
    );
  };
  const head = [
    header('class', 'class'),
    el('th', { class: 'num' }, 'precision'),
    el('th', { class: 'num' }, 'recall'),
    header('f1', 'F1'),
    header('support', 'support'),
    header('errors', 'errors'),
  ];
  const body = rows.map(({ i, m, errors }) => [
    el('td', { class: 'cls', 'data-class': l.classes[i]! }, esc(l.classes[i]!)),
    el('td', { class: 'num' }, esc(ratio(m.precision))),
    el('td', { class: 'num' }, esc(ratio(m.recall))),
    el('td', { class: 'num' }, esc(ratio(m.f1))),
    el('td', { class: 'num' }, m.support.toLocaleString('en-US')),
    el('td', { class: 'num' }, errors > 0 ? link(records(i), errors.toLocaleString('en-US')) : '0'),
  ]);
  return rawTable(head, body, { class: 'classes', 'data-scorer': l.scorer, 'data-candidate': c.candidate });
}

/** Off-diagonal cells by count (then share of the expected class), the no-class column included. */
function pairsTable(
  l: LabelReport,
  c: LabelCandidateReport,
  cells: Map<string, ConfusionCell>,
  records: RecordsHref,
): string {
  const pairs: { i: number; j: number; n: number; share: number }[] = [];
  c.matrix.forEach((row, i) => {
    const support = c.perClass[i]!.support;
    row.forEach((n, j) => {
      if (n > 0 && j !== i) pairs.push({ i, j, n, share: n / support });
    });
  });
  if (pairs.length === 0) return el('p', { class: 'note' }, 'No confusion: every call predicted its class.');
  pairs.sort((a, b) => b.n - a.n || b.share - a.share || a.i - b.i || a.j - b.j);
  const listed = pairs.slice(0, PAIRS_LISTED);
  const name = (j: number) => (j < l.classes.length ? l.classes[j]! : NO_CLASS);
  const head = ['expected', '→ predicted', 'calls', 'share of expected', 'records'].map((h, k) =>
    el('th', k >= 2 ? { class: 'num' } : {}, esc(h)),
  );
  const body = listed.map(({ i, j, n, share }) => {
    const cell = cells.get(`${i},${j}`);
    const found = cell?.records.length ?? 0;
    const differs =
      (cell?.calls ?? 0) !== n
        ? el(
            'span',
            {
              class: 'note',
              title:
                `the scores' details place ${cell?.calls ?? 0} calls here, the current label extraction ${n}: ` +
                'rescore the run to bring them together',
            },
            ' ≈',
          )
        : '';
    return [
      el('td', { class: 'cls' }, esc(l.classes[i]!)),
      el('td', { class: 'cls' }, esc(`→ ${name(j)}`)),
      el('td', { class: 'num' }, n.toLocaleString('en-US')),
      el('td', { class: 'num' }, esc(formatPercent(share))),
      el(
        'td',
        { class: 'num' },
        link(records(i, j), `${found.toLocaleString('en-US')} record${found === 1 ? '' : 's'}`, {
          class: 'pair',
        }) + differs,
      ),
    ];
  });
  const more =
    pairs.length > listed.length
      ? el(
          'p',
          { class: 'note' },
          esc(`The ${listed.length} largest of ${pairs.length} confusions; the heatmap has every one.`),
        )
      : '';
  return (
    rawTable(head, body, { class: 'pairs', 'data-scorer': l.scorer, 'data-candidate': c.candidate }) + more
  );
}

function orderLinks(runId: number, q: LabelsQuery, id: string): string {
  const option = (order: Order, text: string) =>
    q.order === order
      ? el('strong', {}, esc(text))
      : link(`${paths.labels(runId, queryParams(q, { order }))}#${id}`, text);
  return el(
    'p',
    { class: 'meta' },
    `${esc(
      'Rows: expected class; columns: predicted; shade: share of the row (blue: correct, vermilion: confused); ' +
        'hover a block for its count, follow one to its records. Order: ',
    )}${option('class', 'by class')} · ${option('confusion', 'most confused together')}`,
  );
}

function heatmap(l: LabelReport, c: LabelCandidateReport, order: Order, records: RecordsHref): string {
  const k = l.classes.length;
  const rowsOrder = order === 'confusion' ? confusionOrder(c.matrix, k) : l.classes.map((_, i) => i);
  const cols = [...rowsOrder, k];
  const names = [...l.classes, NO_CLASS];
  const short = shortNames(names, AXIS_CHARS);
  const head = [
    el('th', { class: 'corner', scope: 'col' }, esc('expected ↓ predicted →')),
    ...cols.map((j) => el('th', { scope: 'col', title: names[j]! }, el('span', {}, esc(short[j]!)))),
  ].join('');
  const body = rowsOrder.map((i) => {
    const row = c.matrix[i]!;
    const support = c.perClass[i]!.support;
    const cells = cols.map((j) => {
      const n = row[j]!;
      if (n === 0) return '<td></td>';
      const share = support > 0 ? n / support : 0;
      const step = Math.min(10, Math.max(1, Math.round(share * 10)));
      const tip = `${names[i]} → ${names[j]}: ${n.toLocaleString('en-US')} of ${support.toLocaleString('en-US')} (${formatPercent(share)})`;
      const text = n < 1000 ? String(n) : `${Math.min(999, Math.round(n / 1000))}k`;
      const content = j === i ? esc(text) : link(records(i, j), text);
      return el('td', { class: `${j === i ? 'hd' : 'ho'}${step}`, title: tip }, content);
    });
    return `<tr>${el('th', { scope: 'row', title: names[i]! }, esc(short[i]!))}${cells.join('')}</tr>`;
  });
  const table = el(
    'table',
    { class: 'heatmap', 'data-scorer': l.scorer, 'data-candidate': c.candidate },
    `\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n`,
  );
  return el('div', { class: 'heatmap-box' }, table);
}

/**
 * An order of the classes that puts confused classes side by side: chains that start at the class with
 * the most confusion (both ways) left and each time take the class most confused with the last one,
 * ties in class order. Linear in the matrix's size.
 */
export function confusionOrder(matrix: readonly (readonly number[])[], k: number): number[] {
  const w = (i: number, j: number) => (i === j ? 0 : matrix[i]![j]! + matrix[j]![i]!);
  const total = Array.from({ length: k }, (_, i) => {
    let s = 0;
    for (let j = 0; j < k; j++) s += w(i, j);
    return s;
  });
  const used = new Array<boolean>(k).fill(false);
  const out: number[] = [];
  while (out.length < k) {
    let last = -1;
    for (let i = 0; i < k; i++) if (!used[i] && (last < 0 || total[i]! > total[last]!)) last = i;
    for (;;) {
      used[last] = true;
      out.push(last);
      let next = -1;
      for (let j = 0; j < k; j++) {
        if (!used[j] && w(last, j) > 0 && (next < 0 || w(last, j) > w(last, next))) next = j;
      }
      if (next < 0) break;
      last = next;
    }
  }
  return out;
}

/**
 * Names cut to `max` characters, no two alike: a long name keeps its head and an ellipsis; where that
 * makes names the same, they keep as much of their tail as tells them apart (`customer_sup…refund_01`),
 * at most half of them; and where even that does not, a number (`customer_supp…#2`).
 */
export function shortNames(names: readonly string[], max: number): string[] {
  const chars = names.map((n) => Array.from(n));
  const cut = (i: number, tail: number) => {
    const c = chars[i]!;
    return `${c.slice(0, max - 1 - tail).join('')}…${c.slice(c.length - tail).join('')}`;
  };
  const out = names.map((n, i) => (chars[i]!.length <= max ? n : cut(i, 0)));
  const seen = new Map<string, number[]>();
  out.forEach((s, i) => {
    seen.set(s, [...(seen.get(s) ?? []), i]);
  });
  for (const group of seen.values()) {
    // Only cut names change: a name short enough is shown whole.
    const cuts = group.filter((i) => chars[i]!.length > max);
    if (group.length < 2 || cuts.length === 0) continue;
    const others = new Set(out.filter((_, i) => !cuts.includes(i)));
    let left = cuts;
    for (let tail = 1; tail <= Math.floor((max - 1) / 2) && left.length > 0; tail++) {
      const tries = left.map((i) => cut(i, tail));
      const count = new Map<string, number>();
      for (const t of tries) count.set(t, (count.get(t) ?? 0) + 1);
      // A name its tail now tells apart from every other keeps it; the rest try a longer tail.
      left = left.filter((i, k) => {
        const t = tries[k]!;
        if (count.get(t) !== 1 || others.has(t)) return true;
        out[i] = t;
        others.add(t);
        return false;
      });
    }
    let n = 1;
    for (const i of left) {
      let s: string;
      do {
        const suffix = `#${n++}`;
        s = `${chars[i]!.slice(0, Math.max(1, max - 1 - suffix.length)).join('')}…${suffix}`;
      } while (others.has(s));
      others.add(s);
      out[i] = s;
    }
  }
  return out;
}
