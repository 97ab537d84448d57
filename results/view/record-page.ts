/**
 * `/runs/:id/records/:recordId`: one record with everything stored about it: the prompt, the
 * reference, the production response, each candidate's output side by side with every score and
 * its detail, tokens, cost, timings, served model and request id; reviewers' grades and the form to
 * add one; previous / next within the filter the page was reached from (carried in the query). Under
 * each output, a word diff against the reference text or another candidate's output (`diff=`).
 */
import type Database from 'better-sqlite3';
import { escapeHtml as esc, formatMs, formatUsd } from '../render/format.js';
import { el } from '../render/markup.js';
import { parseTags } from '../store/tags.js';
import type { RunRow } from '../store/store.js';
import { filterParams, isFiltered, type RecordFilter } from './filter.js';
import { NOTE_MAX, REVIEWER_MAX } from './grades.js';
import {
  type CallDetail,
  type GradeRow,
  neighbours,
  recordCalls,
  recordGrades,
  type StoredRecordRow,
} from './queries.js';
import { metadataBlock, parseBody, productionSection, promptSection, referenceSection } from './prompt.js';
import { facts, jsonBlock, link, paths, rawTable, section, textBlock, viewPage } from './page.js';

export interface RecordPageContext {
  db: Database.Database;
  run: RunRow;
  candidates: string[];
  record: StoredRecordRow;
  filter: RecordFilter;
  /** The position the link carried (`i`), if any. */
  index: number | undefined;
  /** The server's token, put in every grade form. */
  token: string;
  /** The candidate whose output each output is diffed against (`diff=`); undefined: the reference. */
  diff?: string | undefined;
}

export function recordPage(x: RecordPageContext): string {
  const { db, run, record } = x;
  const body = parseBody(record.body_json);
  const calls = recordCalls(db, run.id, record.record_id);
  const grades = recordGrades(db, run.id, record.record_id);
  const tags = Object.entries(parseTags(record.tags_json))
    .map(([k, v]) => link(paths.records(run.id, [['tag', `${k}:${v}`]]), `${k}=${v}`))
    .join(' ');
  const out = [
    `<h1>${esc(`record ${record.record_id}`)}</h1>`,
    el(
      'p',
      { class: 'meta' },
      `${esc(`run ${run.id} · position ${record.seq} in the dataset`)}${tags ? ` · ${tags}` : ''}`,
    ),
    stepper(x),
    metadataBlock(body),
    promptSection(body, record.api),
    referenceSection(body),
    productionSection(body),
    diffForm(x),
    outputsSection(x, calls, grades, referenceDiffText(body)),
  ];
  return viewPage(
    `record ${record.record_id} · run ${run.id}`,
    [
      ['runs', paths.runs()],
      [`run ${run.id}`, paths.run(run.id)],
      ['records', paths.records(run.id, filterParams(x.filter))],
      [record.record_id, null],
    ],
    out,
  );
}

/** Previous / next within the filtered, sorted list, carrying the filter and the new position. */
function stepper(x: RecordPageContext): string {
  const { db, run, record, filter } = x;
  const n = neighbours(db, run.id, filter, record.record_id, x.index);
  const params = filterParams(filter);
  const what = isFiltered(filter) ? 'the filtered records' : 'the records';
  if (!n) return el('p', { class: 'note' }, esc(`This record is not among ${what}.`));
  const to = (id: string, i: number) => paths.record(run.id, id, [...params, ['i', String(i)]]);
  const parts = [
    n.prev === null
      ? el('span', { class: 'note' }, '‹ previous')
      : link(to(n.prev, n.index - 1), '‹ previous', { rel: 'prev' }),
    el(
      'span',
      {},
      esc(`${(n.index + 1).toLocaleString('en-US')} of ${n.total.toLocaleString('en-US')} of ${what}`),
    ),
    n.next === null
      ? el('span', { class: 'note' }, 'next ›')
      : link(to(n.next, n.index + 1), 'next ›', { rel: 'next' }),
  ];
  return el('div', { class: 'pager' }, parts.join(''));
}

function outcome(c: CallDetail): string {
  if (c.status === 'error') return el('span', { class: 'error' }, esc(`ERROR ${c.error_kind ?? 'unknown'}`));
  const scored = c.scores.filter((s) => s.value !== null);
  if (scored.length === 0) return el('span', { class: 'unscored' }, 'unscored');
  return scored.every((s) => s.passed === 1)
    ? el('span', { class: 'pass' }, 'PASS')
    : el('span', { class: 'fail' }, 'FAIL');
}

const num = (x: number | null | undefined) =>
  x === null || x === undefined ? null : x.toLocaleString('en-US');
const ms = (x: number | null) => (x === null ? null : `${formatMs(x)} ms`);

function callHtml(
  x: RecordPageContext,
  c: CallDetail,
  anchor: string,
  grades: GradeRow[],
  diff: string,
): string {
  const parts = [
    el(
      'h3',
      {},
      `${esc(c.candidate)}${c.repeat > 0 || x.run.repeats > 1 ? esc(` · repeat ${c.repeat}`) : ''} · ${outcome(c)}`,
    ),
  ];
  if (c.status === 'error') {
    parts.push(
      facts([
        ['error kind', c.error_kind],
        ['HTTP status', num(c.http_status)],
      ]),
      textBlock(c.error_message ?? '(no message)'),
    );
  }
  if (c.output !== null) parts.push(textBlock(c.output, 'text output'), diff);
  else if (c.status === 'ok') parts.push(el('p', { class: 'note' }, '(no text output)'));
  if (c.tool_calls_json) {
    let v: unknown = c.tool_calls_json;
    try {
      v = JSON.parse(c.tool_calls_json);
    } catch {}
    parts.push(el('h4', {}, 'tool calls'), jsonBlock(v));
  }
  if (c.scores.length > 0) {
    const head = ['scorer', 'value', 'passed', 'detail'].map((h) => el('th', {}, h));
    const rows = c.scores.map((s) => [
      el('td', {}, esc(s.scorer)),
      el('td', { class: 'num' }, esc(s.value === null ? 'unscored' : String(s.value))),
      el('td', {}, esc(s.value === null ? '-' : s.passed === 1 ? 'yes' : 'no')),
      el('td', { class: 'excerpt' }, esc(s.detail ?? '')),
    ]);
    parts.push(rawTable(head, rows, { class: 'scores' }));
  }
  parts.push(
    facts([
      ['input tokens', num(c.input_tokens)],
      ['cached tokens', num(c.cached_tokens)],
      ['cache-write tokens', num(c.cache_write_tokens)],
      ['output tokens', num(c.output_tokens)],
      ['reasoning tokens', num(c.reasoning_tokens)],
      ['cost', c.cost_usd === null ? null : formatUsd(c.cost_usd)],
      ['latency', ms(c.latency_ms)],
      ['TTFT', ms(c.ttft_ms)],
      ['server time', ms(c.server_ms)],
      ['queued', c.queue_ms ? ms(c.queue_ms) : null],
      ['backoff', c.backoff_ms ? ms(c.backoff_ms) : null],
      ['attempts', String(c.attempts)],
      ['finish reason', c.finish_reason],
      ['served model', c.served_model],
      ['request id', c.request_id],
      ['service tier', c.service_tier],
      ['simulated', c.simulated ? 'yes (holdout simulator)' : null],
    ]),
  );
  parts.push(gradesHtml(grades), gradeForm(x, c, anchor));
  return el(
    'div',
    { class: 'output', id: anchor, 'data-candidate': c.candidate, 'data-repeat': c.repeat },
    parts.join('\n'),
  );
}

function gradesHtml(grades: GradeRow[]): string {
  if (grades.length === 0) return '';
  const items = grades.map((g, i) => {
    const text = `${g.value.toUpperCase()} by ${g.reviewer}, ${g.created_at}${i === 0 ? ' (current)' : ''}`;
    return el(
      'li',
      { class: 'grade', 'data-value': g.value },
      `${esc(text)}${g.note ? textBlock(g.note) : ''}`,
    );
  });
  return `${el('h4', {}, 'Reviewers’ grades (newest wins)')}<ul class="grades">${items.join('')}</ul>`;
}

function gradeForm(x: RecordPageContext, c: CallDetail, anchor: string): string {
  const back = new URLSearchParams([
    ...filterParams(x.filter),
    ...(x.index === undefined ? [] : [['i', String(x.index)]]),
  ] as [string, string][]);
  const hidden = (name: string, value: string) => el('input', { type: 'hidden', name, value });
  const radio = (v: 'pass' | 'fail') =>
    el('label', {}, `${el('input', { type: 'radio', name: 'value', value: v, required: 'required' })} ${v}`);
  const fields = [
    hidden('token', x.token),
    hidden('candidate', c.candidate),
    hidden('repeat', String(c.repeat)),
    hidden('back', `${back.toString()}#${anchor}`),
    el('strong', {}, 'Grade this output: '),
    radio('pass'),
    radio('fail'),
    el(
      'label',
      {},
      ` reviewer ${el('input', { type: 'text', name: 'reviewer', required: 'required', maxlength: String(REVIEWER_MAX), autocomplete: 'name' })}`,
    ),
    el(
      'label',
      {},
      `<br>note${el('textarea', { name: 'note', rows: '2', maxlength: String(NOTE_MAX) }, '')}`,
    ),
    el('button', { type: 'submit' }, 'Save grade'),
  ];
  return el(
    'form',
    { class: 'grade', method: 'post', action: paths.grades(x.run.id, x.record.record_id) },
    fields.join('\n'),
  );
}

function outputsSection(
  x: RecordPageContext,
  calls: CallDetail[],
  grades: GradeRow[],
  reference: string | null,
): string {
  const columns = x.candidates.map((cand, i) => {
    const mine = calls.filter((c) => c.candidate === cand);
    const blocks =
      mine.length === 0
        ? el('p', { class: 'note' }, esc(`${cand}: no call stored for this record`))
        : mine
            .map((c) =>
              callHtml(
                x,
                c,
                `output-${i}-${c.repeat}`,
                grades.filter((g) => g.candidate === c.candidate && g.repeat === c.repeat),
                c.output === null ? '' : diffHtml(x, c, calls, reference),
              ),
            )
            .join('\n');
    return el('div', { class: 'column', 'data-candidate': cand }, blocks);
  });
  return section('outputs', 'Outputs', el('div', { class: 'outputs' }, columns.join('\n')));
}

// --- word diff ------------------------------------------------------------------------------------

/** Sides longer than this (in tokens) are not diffed: the LCS table is (n + 1) × (m + 1). */
export const DIFF_MAX_TOKENS = 2000;

/** The reference as text to diff against: its `output`, else its `json` as JSON; null without either. */
function referenceDiffText(body: Record<string, unknown> | string): string | null {
  if (typeof body === 'string') return null;
  const ref = body.reference;
  if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) return null;
  const r = ref as Record<string, unknown>;
  if (typeof r.output === 'string') return r.output;
  if (r.json !== undefined) return JSON.stringify(r.json) ?? null;
  return null;
}

/** Words, runs of white space, and single other characters (punctuation, JSON syntax). */
export function diffTokens(s: string): string[] {
  return s.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

export type DiffOp = { op: 'same' | 'del' | 'ins'; text: string };

/**
 * The word diff from `a` to `b` (LCS over tokens, adjacent pieces of one kind merged); null when
 * either side has more than `max` tokens.
 */
export function wordDiff(a: string, b: string, max = DIFF_MAX_TOKENS): DiffOp[] | null {
  const x = diffTokens(a);
  const y = diffTokens(b);
  if (x.length > max || y.length > max) return null;
  const n = x.length;
  const m = y.length;
  const w = m + 1;
  // lcs[i * w + j]: the LCS length of x[i..] and y[j..].
  const lcs = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] =
        x[i] === y[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const out: DiffOp[] = [];
  const push = (op: DiffOp['op'], text: string) => {
    const last = out.at(-1);
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      push('same', x[i]!);
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) push('del', x[i++]!);
    else push('ins', y[j++]!);
  }
  while (i < n) push('del', x[i++]!);
  while (j < m) push('ins', y[j++]!);
  return out;
}

/** The diff block under one output: what the other side has that this output lacks is deleted. */
function diffHtml(
  x: RecordPageContext,
  c: CallDetail,
  calls: CallDetail[],
  reference: string | null,
): string {
  const note = (s: string) => el('p', { class: 'note diff-note' }, esc(s));
  let against: string;
  let other: string | null;
  if (x.diff === undefined) {
    against = 'the reference';
    if (reference === null) return note('No diff: the reference has no output or JSON to compare with.');
    other = reference;
  } else {
    if (x.diff === c.candidate) return note(`This is the output the others are diffed against.`);
    against = x.diff;
    const theirs = calls.filter((k) => k.candidate === x.diff);
    const o = theirs.find((k) => k.repeat === c.repeat) ?? theirs[0];
    if (!o || o.output === null) return note(`No diff: ${x.diff} has no text output for this record.`);
    other = o.output;
  }
  const ops = wordDiff(other, c.output ?? '');
  const head = el('h4', {}, esc(`diff against ${against}`));
  if (ops === null) {
    return (
      head +
      note(
        `Diff skipped: the texts are long (more than ${DIFF_MAX_TOKENS.toLocaleString('en-US')} tokens on a side).`,
      )
    );
  }
  const html = ops.map((d) => (d.op === 'same' ? esc(d.text) : el(d.op, {}, esc(d.text)))).join('');
  return head + el('pre', { class: 'text diff', 'data-against': against }, html);
}

/** The GET form choosing what the outputs are diffed against; carries the filter and the position. */
function diffForm(x: RecordPageContext): string {
  const hidden = [
    ...filterParams(x.filter),
    ...(x.index === undefined ? [] : [['i', String(x.index)] as [string, string]]),
  ].map(([name, value]) => el('input', { type: 'hidden', name, value }));
  const option = (value: string, text: string) =>
    el('option', (x.diff ?? '') === value ? { value, selected: 'selected' } : { value }, esc(text));
  const select = el(
    'select',
    { name: 'diff' },
    [option('', 'reference'), ...x.candidates.map((c) => option(c, c))].join(''),
  );
  return el(
    'form',
    { class: 'filter', method: 'get', action: paths.record(x.run.id, x.record.record_id) },
    `${hidden.join('')}${el('label', {}, `diff outputs against ${select}`)}${el('button', { type: 'submit' }, 'Show diff')}`,
  );
}
