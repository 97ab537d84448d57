/**
 * The records page's filter and sort: parsed from the query string, written back to it (every view
 * is a deep link), and turned into one SQL WHERE / ORDER BY over `records r`. Every value is a bound
 * parameter; the only text spliced into SQL is our own (column names chosen from a fixed list).
 *
 * Outcomes of a candidate on a record, over its repeats (role 'candidate' calls): a call is scored
 * when any of its scores has a value, and failed when a scored score did not pass. `pass=X`: X has a
 * scored call on the record and none failed; `fail=X`: a scored call of X failed. `flips=a,b`: the
 * records `holdout compare` counts as flipped: paired by repeat where both calls are ok and scored,
 * the numbers of passes differ. An error row carries no scores (the runner never scores one, and the
 * report counts on it too), so "scored" implies "ok": the outcome filters never read the calls
 * table's rows, only its unique key (run, record, candidate, repeat, role, aux) and the scores' key.
 * A label confusion (`label=`, from the labels page) is the one filter not written in SQL: its record
 * ids are read first (confusion.ts `resolveConfusion`) and bound as a list.
 */
import { HarnessError } from '../../harness/errors.js';

export const PAGE_SIZE = 50;

export type SortKey = 'seq' | 'id' | { metric: 'score' | 'cost' | 'latency'; candidate: string };

export interface RecordFilter {
  /** tag=k:v, repeatable: every one must hold. */
  tags: { key: string; value: string }[];
  pass: string[];
  fail: string[];
  /** An error kind, or '*' for any error, on any candidate. */
  error?: string;
  /** Records on which this scorer scored (or could not score) a candidate's call. */
  scorer?: string;
  flips?: [string, string];
  /** One cell of a label scorer's confusion matrix for one candidate (the labels page links here). */
  confusion?: ConfusionFilter;
  /** Text in the stored record (prompt, reference) or in a candidate's output, case-insensitive for ASCII. */
  q?: string;
  sort: SortKey;
  desc: boolean;
}

/**
 * The records on which `candidate`'s call, scored by the label scorer `scorer`, expected the class
 * `expected` and predicted `predicted` (a class; null: no class), or any other class or none when
 * `predicted` is undefined (the class's errors). Which records those are is read from the scores by
 * `resolveConfusion` (confusion.ts) before any SQL is built: `ids`.
 */
export interface ConfusionFilter {
  scorer: string;
  candidate: string;
  expected: string;
  predicted?: string | null;
  ids?: readonly string[];
}

export const EMPTY_FILTER: RecordFilter = { tags: [], pass: [], fail: [], sort: 'seq', desc: false };

const METRICS = ['score', 'cost', 'latency'] as const;

function bad(message: string, hint: string): HarnessError {
  return new HarnessError('USAGE', message, { hint });
}

/** Reads the filter from a query string; candidates are checked against the run's. */
export function parseFilter(q: URLSearchParams, candidates: readonly string[]): RecordFilter {
  const known = (name: string, what: string) => {
    if (!candidates.includes(name)) {
      throw bad(
        `${what}: '${name}' is not a candidate of this run`,
        `the candidates are ${candidates.join(', ') || '(none)'}`,
      );
    }
    return name;
  };
  const tags = q
    .getAll('tag')
    .filter((t) => t !== '')
    .map((t) => {
      const at = t.indexOf(':');
      const key = at < 0 ? '' : t.slice(0, at);
      if (key === '' || /["\\]/.test(key))
        throw bad(`tag=${t}: expected key:value`, 'e.g. tag=task:classify');
      return { key, value: t.slice(at + 1) };
    });
  const pass = q.getAll('pass').map((c) => known(c, 'pass'));
  const fail = q.getAll('fail').map((c) => known(c, 'fail'));
  const f: RecordFilter = { ...EMPTY_FILTER, tags, pass, fail };
  const error = q.get('error');
  if (error) f.error = error;
  const scorer = q.get('scorer');
  if (scorer) f.scorer = scorer;
  const flips = q.get('flips');
  if (flips) {
    const pair = flips.split(',');
    if (pair.length !== 2 || pair[0] === pair[1]) {
      throw bad(`flips=${flips}: expected two candidates`, 'e.g. flips=mini,frontier');
    }
    f.flips = [known(pair[0]!, 'flips'), known(pair[1]!, 'flips')];
  }
  const confusion = parseConfusion(q, known);
  if (confusion) f.confusion = confusion;
  const text = q.get('q');
  if (text) f.q = text;
  const sort = q.get('sort') ?? 'seq';
  if (sort === 'seq' || sort === 'id') f.sort = sort;
  else {
    const at = sort.indexOf(':');
    const metric = sort.slice(0, at) as (typeof METRICS)[number];
    if (at < 0 || !METRICS.includes(metric)) {
      throw bad(`sort=${sort}: unknown column`, 'sort by seq, id, or score:, cost:, latency: a candidate');
    }
    f.sort = { metric, candidate: known(sort.slice(at + 1), 'sort') };
  }
  f.desc = q.get('dir') === 'desc';
  return f;
}

/** `label=SCORER&candidate=C&expected=T` and `predicted=P` or `unclassified=1` (or neither: any error). */
function parseConfusion(
  q: URLSearchParams,
  known: (name: string, what: string) => string,
): ConfusionFilter | undefined {
  const [scorer, candidate, expected, predicted, unclassified] = CONFUSION_PARAMS.map((k) => q.get(k) || '');
  if (!scorer && !candidate && !expected && !predicted && !unclassified) return undefined;
  const hint =
    'e.g. label=intent&candidate=mini&expected=billing&predicted=refund (links of the labels page)';
  if (!scorer || !candidate || !expected) {
    throw bad('a confusion filter needs label (the scorer), candidate and expected together', hint);
  }
  if (predicted && unclassified) throw bad('give predicted or unclassified, not both', hint);
  if (unclassified && unclassified !== '1') throw bad(`unclassified=${unclassified}: expected 1`, hint);
  const f: ConfusionFilter = { scorer, candidate: known(candidate, 'candidate'), expected };
  if (predicted) f.predicted = predicted;
  else if (unclassified) f.predicted = null;
  return f;
}

const CONFUSION_PARAMS = ['label', 'candidate', 'expected', 'predicted', 'unclassified'] as const;

/** The confusion filter as query parameters (the labels page's links). */
export function confusionParams(c: ConfusionFilter): [string, string][] {
  const out: [string, string][] = [
    ['label', c.scorer],
    ['candidate', c.candidate],
    ['expected', c.expected],
  ];
  if (typeof c.predicted === 'string') out.push(['predicted', c.predicted]);
  else if (c.predicted === null) out.push(['unclassified', '1']);
  return out;
}

export function sortParam(s: SortKey): string {
  return typeof s === 'string' ? s : `${s.metric}:${s.candidate}`;
}

/** The filter as query parameters, in a fixed order; defaults are left out. */
export function filterParams(f: RecordFilter, withSort = true): [string, string][] {
  const out: [string, string][] = [];
  for (const t of f.tags) out.push(['tag', `${t.key}:${t.value}`]);
  for (const c of f.pass) out.push(['pass', c]);
  for (const c of f.fail) out.push(['fail', c]);
  if (f.error !== undefined) out.push(['error', f.error]);
  if (f.scorer !== undefined) out.push(['scorer', f.scorer]);
  if (f.flips) out.push(['flips', f.flips.join(',')]);
  if (f.confusion) out.push(...confusionParams(f.confusion));
  if (f.q !== undefined) out.push(['q', f.q]);
  if (withSort && f.sort !== 'seq') out.push(['sort', sortParam(f.sort)]);
  if (withSort && f.desc) out.push(['dir', 'desc']);
  return out;
}

export function isFiltered(f: RecordFilter): boolean {
  return filterParams(f, false).length > 0;
}

/** A query string ('' or '?…') from parameters. */
export function queryString(params: readonly [string, string][]): string {
  const s = new URLSearchParams(params as [string, string][]).toString();
  return s === '' ? '' : `?${s}`;
}

/**
 * A run's records index (queries.ts, RecordIndex): a TEMP table with the records' seq, run_id,
 * record_id and tags_json, and per candidate (by position in `candidates`) its outcome o, mean score s,
 * cost c and mean ok latency l on the record. Read as `r` in place of the records table.
 */
export interface IndexedRun {
  table: string;
  candidates: string[];
  /** Some candidate call has a repeat > 0 (flips then pair the calls by repeat, in SQL). */
  repeats: boolean;
  /** The text index, once a search built it (queries.ts, TextIndex). */
  text?: { table: string; maxSeq: number; maxCallId: number };
}

function column(ix: IndexedRun, letter: 'o' | 's' | 'c' | 'l', candidate: string): string {
  const i = ix.candidates.indexOf(candidate);
  if (i < 0) throw new Error(`candidate ${candidate} is not in the records index`);
  return `r.${letter}${i}`;
}

/** SQL text with its positional parameters. */
export interface Sql {
  text: string;
  args: unknown[];
}

const CAND = `c.run_id = r.run_id AND c.record_id = r.record_id AND c.role = 'candidate' AND c.aux = ''`;
/** A call's pass: NULL when no score of it has a value, else 1 when every valued score passed, else 0. */
const CALL_PASS = (c: string) =>
  `(SELECT min(s.passed IS 1) FROM scores s WHERE s.call_id = ${c}.id AND s.value IS NOT NULL)`;
/**
 * A candidate's outcome on the record over its repeats: the least of its calls' passes, so 1 when it
 * has a scored call and none failed, 0 when one failed, NULL when none was scored.
 */
const OUTCOME = `(SELECT min(${CALL_PASS('c')}) FROM calls c WHERE ${CAND} AND c.candidate = ?)`;

/** A LIKE pattern matching `s` anywhere, with LIKE's wildcards escaped (ESCAPE '\'). */
function contains(s: string): string {
  return `%${s.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * `records r` of the run (or its index `ix`, read as `r`) narrowed by the filter: the WHERE clause and
 * its parameters.
 */
export function whereSql(runId: number, f: RecordFilter, ix?: IndexedRun): Sql {
  const parts = ['r.run_id = ?'];
  const args: unknown[] = [runId];
  for (const t of f.tags) {
    parts.push('json_extract(r.tags_json, ?) IS ?');
    args.push(`$."${t.key}"`, t.value);
  }
  for (const c of f.pass) {
    if (ix) parts.push(`${column(ix, 'o', c)} = 1`);
    else {
      parts.push(`${OUTCOME} = 1`);
      args.push(c);
    }
  }
  for (const c of f.fail) {
    if (ix) parts.push(`${column(ix, 'o', c)} = 0`);
    else {
      parts.push(`${OUTCOME} = 0`);
      args.push(c);
    }
  }
  if (f.error !== undefined) {
    // Driven by the run's error rows (partial index calls_errors), not by a probe per record.
    if (f.error === '*') {
      parts.push(`r.record_id IN (SELECT c.record_id FROM calls c WHERE c.run_id = ? AND c.status = 'error'
        AND c.role = 'candidate')`);
      args.push(runId);
    } else {
      parts.push(`r.record_id IN (SELECT c.record_id FROM calls c WHERE c.run_id = ? AND c.status = 'error'
        AND c.error_kind = ? AND c.role = 'candidate')`);
      args.push(runId, f.error);
    }
  }
  if (f.scorer !== undefined) {
    parts.push(
      `EXISTS (SELECT 1 FROM calls c JOIN scores s ON s.call_id = c.id AND s.scorer = ? WHERE ${CAND})`,
    );
    args.push(f.scorer);
  }
  if (f.flips && ix && !ix.repeats) {
    // One call per candidate and record: both scored (so ok) and their outcomes differ.
    parts.push(`${column(ix, 'o', f.flips[0])} <> ${column(ix, 'o', f.flips[1])}`);
  } else if (f.flips) {
    const [a, b] = f.flips;
    parts.push(`r.record_id IN (
      SELECT record_id FROM (
        SELECT ca.record_id, ${CALL_PASS('ca')} AS pa, ${CALL_PASS('cb')} AS pb
        FROM calls ca JOIN calls cb ON cb.run_id = ca.run_id AND cb.record_id = ca.record_id
          AND cb.repeat = ca.repeat AND cb.candidate = ? AND cb.role = 'candidate' AND cb.aux = ''
        WHERE ca.run_id = ? AND ca.candidate = ? AND ca.role = 'candidate' AND ca.aux = '')
      WHERE pa IS NOT NULL AND pb IS NOT NULL
      GROUP BY record_id HAVING sum(pa) <> sum(pb))`);
    args.push(b, runId, a);
  }
  if (f.confusion) {
    if (!f.confusion.ids) throw new Error('the confusion filter was not resolved (resolveConfusion)');
    parts.push('r.record_id IN (SELECT value FROM json_each(?))');
    args.push(JSON.stringify(f.confusion.ids));
  }
  if (f.q !== undefined) {
    // The body is stored as JSON: search for the text as JSON writes it (quotes, newlines escaped).
    const exact = `(b.body_json LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM calls c WHERE c.run_id = b.run_id
      AND c.record_id = b.record_id AND c.role = 'candidate' AND c.aux = '' AND c.output LIKE ? ESCAPE '\\'))`;
    const exactArgs = [contains(JSON.stringify(f.q).slice(1, -1)), contains(f.q)];
    if (!ix) {
      parts.push(exact.replaceAll('b.', 'r.'));
      args.push(...exactArgs);
    } else if (!ix.text) {
      // One scan of the records, as without the index, its matches a set the index rows are looked up in.
      parts.push(`r.seq IN (SELECT b.seq FROM records b WHERE b.run_id = ? AND ${exact})`);
      args.push(runId, ...exactArgs);
    } else {
      // The text index narrows first (a superset: LIKE without escapes, whose wildcards match more),
      // then the exact test. Records it cannot know (added or with a call written since) always pass it.
      const t = ix.text;
      const patterns = [...new Set([JSON.stringify(f.q).slice(1, -1), f.q])].map((p) => `%${p}%`);
      const found = patterns.map(() => `SELECT rowid FROM ${t.table} WHERE text LIKE ?`).join(' UNION ');
      parts.push(`r.seq IN (SELECT b.seq FROM records b WHERE b.run_id = ? AND (b.seq IN (${found})
        OR b.seq > ? OR b.record_id IN (SELECT record_id FROM calls WHERE id > ? AND run_id = ?)) AND ${exact})`);
      args.push(runId, ...patterns, t.maxSeq, t.maxCallId, runId, ...exactArgs);
    }
  }
  return { text: parts.join('\n  AND '), args };
}

/** The ORDER BY of the records page: the chosen column (missing values last), then dataset order. */
export function orderSql(f: RecordFilter, ix?: IndexedRun): Sql {
  const dir = f.desc ? 'DESC' : 'ASC';
  if (f.sort === 'seq') return { text: `r.seq ${dir}`, args: [] };
  if (f.sort === 'id') return { text: `r.record_id ${dir}, r.seq`, args: [] };
  const { metric, candidate } = f.sort;
  if (ix) {
    const letter = metric === 'score' ? 's' : metric === 'cost' ? 'c' : 'l';
    return { text: `${column(ix, letter, candidate)} ${dir} NULLS LAST, r.seq`, args: [] };
  }
  const where = `${CAND} AND c.candidate = ?`;
  const value =
    metric === 'score'
      ? `(SELECT avg(s.value) FROM calls c JOIN scores s ON s.call_id = c.id WHERE ${where})`
      : metric === 'cost'
        ? `(SELECT sum(c.cost_usd) FROM calls c WHERE ${where})`
        : `(SELECT avg(c.latency_ms) FROM calls c WHERE ${where} AND c.status = 'ok')`;
  return { text: `${value} ${dir} NULLS LAST, r.seq`, args: [candidate] };
}
