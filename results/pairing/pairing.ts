/**
 * Loading and pairing: reads both sides of a comparison from the database and pairs their calls
 * per work item (record × repeat), with the items dropped and why. The pairing runs in SQL, one
 * streamed query, never a query per row; what comes out is pure data for the analysis.
 */
import { HarnessError } from '../../harness/errors.js';
import type { RunRow, Store } from '../store/store.js';
import { parseTags } from '../store/tags.js';
import { createRecordTags, dropRecordTags, type TagColumn } from './record-tags.js';

export interface SideRef {
  runId: number;
  candidate: string;
}

// ---------------------------------------------------------------------------------------------
// What the database gives: the loaded rows

export interface ServedModel {
  model: string;
  calls: number;
}

export interface SideRows {
  runId: number;
  suite: string;
  runStatus: RunRow['status'];
  datasetHash: string;
  candidate: string;
  /** The configured model (candidates.model). */
  model: string;
  /** Candidate-role calls of this side. */
  calls: number;
  ok: number;
  errors: number;
  simulated: boolean;
  /** calls.served_model over ok calls, most calls first. */
  servedModels: ServedModel[];
  /**
   * The newest earlier run of the same suite with the same candidate id and configured model whose
   * ok calls reported a snapshot: what the alias served last time. Null when there is none.
   */
  previous: { runId: number; servedModels: ServedModel[] } | null;
}

/** One paired work item: both sides ok. NaN stands for NULL in the number columns. */
export interface PairRows {
  /**
   * The record of each item, read only when both runs have repeats (a prompt can then have more
   * than one paired item); null otherwise, when every item is its own prompt.
   */
  recordId: string[] | null;
  /** calls.id of each side, ascending in callA. Typed arrays: off the GC heap, no growth copies. */
  callA: Float64Array;
  callB: Float64Array;
  /** 1 pass, 0 fail, NaN unscored (no non-null score). */
  passA: Float64Array;
  passB: Float64Array;
  /** Mean of the call's non-null score values. */
  scoreA: Float64Array;
  scoreB: Float64Array;
  costA: Float64Array;
  costB: Float64Array;
  latencyA: Float64Array;
  latencyB: Float64Array;
  /** The --by tag value (null: the record lacks the tag), when slicing. */
  slice: (string | null)[];
  /** The --cluster tag value, when clustering. */
  cluster: (string | null)[];
}

/** Per scorer: its (value, passed) on both sides, for paired items where both sides scored it. */
export interface ScorerRows {
  scorer: string;
  /** Index into PairRows. */
  item: number[];
  passA: number[];
  passB: number[];
  valueA: number[];
  valueB: number[];
}

/** What the flips list shows of one paired item. */
export interface FlipInfo {
  recordId: string;
  repeat: number;
  tags: Record<string, string>;
  /** Position of the record in its run's dataset; null when the records table lacks it. */
  seq: number | null;
  /** The output's first characters (400 unless the caller asks for more). */
  outputA: string | null;
  outputB: string | null;
}

export interface CompareRows {
  baseline: SideRows;
  candidate: SideRows;
  pairs: PairRows;
  scorers: ScorerRows[];
  /** Work items dropped, by reason; an item failed on both sides counts under both reasons. */
  dropped: { total: number; errorA: number; errorB: number; missingA: number; missingB: number };
  /** Work items: record × repeat on either side. */
  items: number;
  /** Reads the flipped items only, in one query per table (never one per row); in input order. */
  flipDetail(items: { callA: number; callB: number }[], chars?: number): FlipInfo[];
}

// ---------------------------------------------------------------------------------------------
// Loading

const B_OF_A = `b.run_id = @runB AND b.record_id = a.record_id AND b.candidate = @candB
    AND b.repeat = a.repeat AND b.role = 'candidate'`;
const A_SIDE = `a.run_id = @runA AND a.candidate = @candA AND a.role = 'candidate'`;

/**
 * The --by and --cluster tag values of run B's records, extracted once per record into a TEMP map
 * (results/pairing/record-tags.ts) that the pairs query joins: the same map `report --by` uses, so
 * a record id with a lone surrogate lands in its slice in both.
 */
const TAG_MAP = 'temp.holdout_pairing_tags';

/*
 * Every call of A, with B's call of the same (record, repeat) looked up through the calls table's
 * unique index, and A's non-null scores: one row per score (one row when A has none), in a.id order
 * (the order of the calls_run_candidate index: no sort). Status is one small code: bit 0 A ok,
 * bit 1 B ok, bit 2 B error (B missing: neither). Scores are aggregated per call in JS as the rows
 * stream by, which replaces a correlated subquery per call and yields the per-scorer pairs.
 */
function pairsSql(o: { recordIds: boolean; slice: boolean; cluster: boolean }): string {
  return `
    SELECT a.id, b.id,
      (a.status = 'ok') + 2 * coalesce(b.status = 'ok', 0) + 4 * coalesce(b.status = 'error', 0),
      a.cost_usd, b.cost_usd, a.latency_ms, b.latency_ms, sa.scorer, sa.value, sa.passed IS 1
      ${o.recordIds ? ', a.record_id' : ''}
      ${o.slice ? ', m.slice' : ''}
      ${o.cluster ? ', m.cluster' : ''}
    FROM calls a
    LEFT JOIN calls b ON ${B_OF_A}
    LEFT JOIN scores sa ON sa.call_id = a.id AND sa.value IS NOT NULL
    ${o.slice || o.cluster ? `LEFT JOIN ${TAG_MAP} m ON m.record_id = a.record_id` : ''}
    WHERE ${A_SIDE}
    ORDER BY a.id`;
}

/** Does any record of the run carry the tag at `path`? */
const HAS_TAG_SQL = `
  SELECT EXISTS (SELECT 1 FROM records WHERE run_id = @run AND json_extract(tags_json, @path) IS NOT NULL)`;

/** The tag names the run's records carry, sorted. */
const TAG_NAMES_SQL = `
  SELECT DISTINCT t.key FROM records r, json_each(r.tags_json) t WHERE r.run_id = @run ORDER BY t.key`;

/**
 * A USAGE error (exit 2) when no record of the run has the tag: slicing or clustering by it would
 * gate on one fake "(none)" slice or cluster. Lists the tags the records do have, as `report --by`.
 */
function checkTag(store: Store, runId: number, option: '--by' | '--cluster', tag: string): void {
  const db = store.db;
  if (store.recordCount(runId) === 0) return;
  const has = db
    .prepare(HAS_TAG_SQL)
    .pluck()
    .get({ run: runId, path: tagPath(tag) });
  if (has === 1) return;
  const tags = (db.prepare(TAG_NAMES_SQL).pluck().all({ run: runId }) as string[]).join(', ');
  throw new HarnessError('USAGE', `${option} ${tag}: no record of run ${runId} has a tag '${tag}'`, {
    hint: tags ? `the records' tags are: ${tags}` : 'the records of this run have no tags',
  });
}

/*
 * The non-null scores of B's calls in calls.id order (the calls_run_candidate index order, no
 * sort), merged with the pairs in JS by call id.
 */
const SCORES_SQL = `
  SELECT c.id, s.scorer, s.value, s.passed IS 1
  FROM calls c JOIN scores s ON s.call_id = c.id AND s.value IS NOT NULL
  WHERE c.run_id = ? AND c.candidate = ? AND c.role = 'candidate'
  ORDER BY c.id`;

/* One scan per side: status, snapshot and the simulated flag together. */
const SIDE_SQL = `
  SELECT status, served_model, count(*) AS n, max(simulated) AS simulated
  FROM calls WHERE run_id = ? AND candidate = ? AND role = 'candidate'
  GROUP BY status, served_model`;

const SERVED_SQL = `
  SELECT served_model AS model, count(*) AS calls FROM calls
  WHERE run_id = ? AND candidate = ? AND role = 'candidate' AND status = 'ok' AND served_model IS NOT NULL
  GROUP BY served_model ORDER BY calls DESC, served_model`;

const PREVIOUS_SQL = `
  SELECT r.id FROM runs r JOIN candidates k ON k.run_id = r.id AND k.candidate = @candidate
  WHERE r.suite = @suite AND r.id < @runId AND k.model = @model
    AND EXISTS (SELECT 1 FROM calls c WHERE c.run_id = r.id AND c.candidate = @candidate
      AND c.role = 'candidate' AND c.status = 'ok' AND c.served_model IS NOT NULL)
  ORDER BY r.id DESC LIMIT 1`;

/** A JSON path for one key, quoted so that dots and spaces in tag names are literal. */
function tagPath(tag: string): string {
  return `$."${tag.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function num(v: unknown): number {
  return v === null || v === undefined ? Number.NaN : Number(v);
}

/**
 * Reads both sides from the database. Throws RUN_NOT_FOUND for an unknown run and USAGE (listing
 * the candidates that exist) for an unknown candidate.
 */
export function loadComparison(
  store: Store,
  baseline: SideRef,
  candidate: SideRef,
  opts: { by?: string; cluster?: string } = {},
): CompareRows {
  const db = store.db;
  const side = (ref: SideRef, which: string): SideRows => {
    const run = store.getRun(ref.runId);
    if (!run) {
      throw new HarnessError('RUN_NOT_FOUND', `run ${ref.runId} (${which}) is not in this database`, {
        hint: 'pass a run id from `holdout report`, or point --db at another database',
      });
    }
    const configured = store.candidates(ref.runId);
    const found = configured.find((c) => c.candidate === ref.candidate);
    if (!found) {
      const list = configured.map((c) => c.candidate).join(', ') || '(none)';
      throw new HarnessError(
        'USAGE',
        `--${which} "${ref.candidate}" is not a candidate of run ${ref.runId}; its candidates: ${list}`,
        { hint: `pass --${which} with one of: ${list}` },
      );
    }
    const groups = db.prepare(SIDE_SQL).all(ref.runId, ref.candidate) as {
      status: 'ok' | 'error';
      served_model: string | null;
      n: number;
      simulated: number;
    }[];
    const count = (status?: string) =>
      groups.filter((g) => status === undefined || g.status === status).reduce((t, g) => t + g.n, 0);
    const servedModels = groups
      .filter((g) => g.status === 'ok' && g.served_model !== null)
      .map((g) => ({ model: g.served_model!, calls: g.n }))
      .sort((x, y) => y.calls - x.calls || (x.model < y.model ? -1 : x.model > y.model ? 1 : 0));
    const served = db.prepare(SERVED_SQL);
    const prev = db.prepare(PREVIOUS_SQL).pluck().get({
      candidate: ref.candidate,
      suite: run.suite,
      runId: ref.runId,
      model: found.model,
    }) as number | undefined;
    return {
      runId: ref.runId,
      suite: run.suite,
      runStatus: run.status,
      datasetHash: run.dataset_hash,
      candidate: ref.candidate,
      model: found.model,
      calls: count(),
      ok: count('ok'),
      errors: count('error'),
      simulated: groups.some((g) => g.simulated === 1),
      servedModels,
      previous:
        prev === undefined
          ? null
          : { runId: prev, servedModels: served.all(prev, ref.candidate) as ServedModel[] },
    };
  };
  const a = side(baseline, 'baseline');
  const b = side(candidate, 'candidate');
  if (baseline.runId === candidate.runId && baseline.candidate === candidate.candidate) {
    throw new HarnessError('USAGE', 'the baseline and the candidate are the same calls', {
      hint: 'compare two candidates of one run (--run R), or one candidate across two runs (--runs R1 R2)',
    });
  }

  // Slices and clusters come from run B's records (the candidate's run).
  if (opts.by !== undefined) checkTag(store, candidate.runId, '--by', opts.by);
  if (opts.cluster !== undefined) checkTag(store, candidate.runId, '--cluster', opts.cluster);
  const params = {
    runA: baseline.runId,
    candA: baseline.candidate,
    runB: candidate.runId,
    candB: candidate.candidate,
  };
  // Only runs with repeats on both sides can pair more than one item per prompt.
  const recordIds = store.getRun(baseline.runId)!.repeats > 1 && store.getRun(candidate.runId)!.repeats > 1;
  const slice = opts.by !== undefined;
  const cluster = opts.cluster !== undefined;
  // At most every ok call of A is paired: columns are allocated once and cut to length at the end.
  const cap = a.ok;
  const column = () => new Float64Array(cap).fill(Number.NaN);
  const pairs: PairRows = {
    recordId: recordIds ? [] : null,
    callA: column(),
    callB: column(),
    passA: column(),
    passB: column(),
    scoreA: column(),
    scoreB: column(),
    costA: column(),
    costB: column(),
    latencyA: column(),
    latencyB: column(),
    slice: [],
    cluster: [],
  };
  let n = 0;
  const dropped = { total: 0, errorA: 0, errorB: 0, missingA: 0, missingB: 0 };
  let rowsA = 0;
  let matchedB = 0;
  let matchedErrorsB = 0;
  const recordCol = 10;
  const sliceCol = recordIds ? 11 : 10;
  const clusterCol = sliceCol + (slice ? 1 : 0);
  const scorers = new Map<string, { a: ScorerSide; b: ScorerSide }>();
  const scorerSide = (name: string, which: 'a' | 'b'): ScorerSide => {
    let sc = scorers.get(name);
    if (!sc) {
      sc = { a: { item: [], value: [], pass: [] }, b: { item: [], value: [], pass: [] } };
      scorers.set(name, sc);
    }
    return sc[which];
  };
  // The call whose scores are being summed: its item, Σ value, count, and whether all passed.
  const acc = { item: -1, sum: 0, count: 0, passed: 1 };
  const flush = (pass: Float64Array, score: Float64Array) => {
    if (acc.item >= 0 && acc.count > 0) {
      pass[acc.item] = acc.passed;
      score[acc.item] = acc.sum / acc.count;
    }
    acc.item = -1;
    acc.sum = 0;
    acc.count = 0;
    acc.passed = 1;
  };
  const add = (which: 'a' | 'b', name: string, value: number, ok: number) => {
    acc.sum += value;
    acc.count++;
    if (!ok) acc.passed = 0;
    const side = scorerSide(name, which);
    side.item.push(acc.item);
    side.value.push(value);
    side.pass.push(ok);
  };

  let lastId = -1;
  const tagColumns: TagColumn[] = [
    ...(opts.by !== undefined ? [{ name: 'slice', path: tagPath(opts.by) }] : []),
    ...(opts.cluster !== undefined ? [{ name: 'cluster', path: tagPath(opts.cluster) }] : []),
  ];
  if (tagColumns.length > 0) createRecordTags(db, TAG_MAP, candidate.runId, tagColumns);
  try {
    const stmt = db.prepare(pairsSql({ recordIds, slice, cluster })).raw();
    for (const row of stmt.iterate(params) as Iterable<unknown[]>) {
      const id = row[0] as number;
      if (id !== lastId) {
        flush(pairs.passA, pairs.scoreA);
        lastId = id;
        rowsA++;
        const code = row[2] as number;
        if (code & 6) matchedB++;
        if (code & 4) matchedErrorsB++;
        if ((code & 3) === 3) {
          acc.item = n;
          pairs.callA[n] = id;
          pairs.callB[n] = row[1] as number;
          pairs.costA[n] = num(row[3]);
          pairs.costB[n] = num(row[4]);
          pairs.latencyA[n] = num(row[5]);
          pairs.latencyB[n] = num(row[6]);
          n++;
          if (recordIds) pairs.recordId!.push(row[recordCol] as string);
          if (slice) pairs.slice.push(row[sliceCol] === null ? null : String(row[sliceCol]));
          if (cluster) pairs.cluster.push(row[clusterCol] === null ? null : String(row[clusterCol]));
        } else {
          dropped.total++;
          if (!(code & 1)) dropped.errorA++;
          if (code & 4) dropped.errorB++;
          else if (!(code & 2)) dropped.missingB++;
        }
      }
      if (acc.item >= 0 && row[7] !== null) add('a', row[7] as string, row[8] as number, row[9] as number);
    }
  } finally {
    if (tagColumns.length > 0) dropRecordTags(db, TAG_MAP);
  }
  flush(pairs.passA, pairs.scoreA);
  // B's calls without an A call: B's totals less the ones the pairs query met.
  const bOnly = b.calls - matchedB;
  dropped.total += bOnly;
  dropped.missingA += bOnly;
  dropped.errorB += b.errors - matchedErrorsB;
  // Work items no side has a call for (an interrupted run): the runs' records × repeats, less the
  // items that have a call. Calls outside the records of their run do not occur (the runner writes
  // records first), so the difference is exact.
  const items = workItems(store, baseline.runId, candidate.runId);
  const withCall = rowsA + bOnly;
  const neither = Math.max(0, items - withCall);
  dropped.total += neither;
  dropped.missingA += neither;
  dropped.missingB += neither;

  // B's scores, merged by B's call id: items in ascending callB (usually already so).
  for (const key of COLUMNS) pairs[key] = pairs[key].subarray(0, n);
  const callB = pairs.callB;
  const order = ascendingOrder(callB);
  let k = 0;
  let currentId = -1;
  let paired = false;
  for (const row of db.prepare(SCORES_SQL).raw().iterate(candidate.runId, candidate.candidate) as Iterable<
    unknown[]
  >) {
    const id = row[0] as number;
    if (id !== currentId) {
      flush(pairs.passB, pairs.scoreB);
      currentId = id;
      while (k < n && callB[order ? order[k]! : k]! < id) k++;
      const item = order ? order[k]! : k;
      paired = k < n && callB[item] === id;
      if (paired) acc.item = item;
    }
    if (paired) add('b', row[1] as string, row[2] as number, row[3] as number);
  }
  flush(pairs.passB, pairs.scoreB);
  if (order) for (const sc of scorers.values()) sortByItem(sc.b);

  // The flipped items only: A's calls with their records (the candidate's run first, the
  // baseline's for records only it has), then B's outputs. json_each drives the join, so each id is
  // one primary-key lookup.
  const flipDetail = (list: { callA: number; callB: number }[], chars = 400): FlipInfo[] => {
    const oneRun = baseline.runId === candidate.runId;
    const withRecords = `
      SELECT c.id, c.record_id, c.repeat, substr(c.output, 1, @chars),
        ${oneRun ? 'rb.tags_json' : 'coalesce(rb.tags_json, ra.tags_json)'},
        ${oneRun ? 'rb.seq' : 'coalesce(rb.seq, ra.seq)'}
      FROM json_each(@ids) j CROSS JOIN calls c ON c.id = j.value
      LEFT JOIN records rb ON rb.run_id = @runB AND rb.record_id = c.record_id
      ${oneRun ? '' : 'LEFT JOIN records ra ON ra.run_id = @runA AND ra.record_id = c.record_id'}`;
    const outputs = `SELECT c.id, substr(c.output, 1, ?) FROM json_each(?) j CROSS JOIN calls c ON c.id = j.value`;
    type Row = [number, string, number, string | null, string | null, number | null];
    const infoA = new Map<number, Row>();
    const rowsA = db
      .prepare(withRecords)
      .raw()
      .all({
        ids: JSON.stringify(list.map((x) => x.callA)),
        chars,
        runB: candidate.runId,
        ...(oneRun ? {} : { runA: baseline.runId }),
      }) as Row[];
    for (const row of rowsA) infoA.set(row[0], row);
    const outB = new Map<number, string | null>();
    const rowsB = db
      .prepare(outputs)
      .raw()
      .all(chars, JSON.stringify(list.map((x) => x.callB))) as [number, string | null][];
    for (const [id, output] of rowsB) outB.set(id, output);
    return list.map((x) => {
      const r = infoA.get(x.callA);
      return {
        recordId: r?.[1] ?? '',
        repeat: r?.[2] ?? 0,
        tags: r?.[4] ? parseTags(r[4]) : {},
        seq: r?.[5] ?? null,
        outputA: r?.[3] ?? null,
        outputB: outB.get(x.callB) ?? null,
      };
    });
  };

  return {
    baseline: a,
    candidate: b,
    pairs,
    scorers: [...scorers.entries()]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([name, sc]) => pairScorer(name, sc.a, sc.b)),
    dropped,
    items: Math.max(items, withCall),
    flipDetail,
  };
}

const COLUMNS = [
  'callA',
  'callB',
  'passA',
  'passB',
  'scoreA',
  'scoreB',
  'costA',
  'costB',
  'latencyA',
  'latencyB',
] as const;

interface ScorerSide {
  item: number[];
  value: number[];
  pass: number[];
}

/** null when `ids` already ascend (the usual case: calls are written interleaved); else the argsort. */
function ascendingOrder(ids: Float64Array): Int32Array | null {
  let sorted = true;
  for (let i = 1; i < ids.length && sorted; i++) sorted = ids[i - 1]! < ids[i]!;
  if (sorted) return null;
  return Int32Array.from(ids, (_, i) => i).sort((i, j) => ids[i]! - ids[j]!);
}

function sortByItem(s: ScorerSide): void {
  const order = s.item.map((_, i) => i).sort((i, j) => s.item[i]! - s.item[j]!);
  s.item = order.map((i) => s.item[i]!);
  s.value = order.map((i) => s.value[i]!);
  s.pass = order.map((i) => s.pass[i]!);
}

/** The items both sides scored with this scorer: a merge of two lists ascending in item. */
function pairScorer(scorer: string, a: ScorerSide, b: ScorerSide): ScorerRows {
  const out: ScorerRows = { scorer, item: [], passA: [], passB: [], valueA: [], valueB: [] };
  let j = 0;
  for (let i = 0; i < a.item.length; i++) {
    const item = a.item[i]!;
    while (j < b.item.length && b.item[j]! < item) j++;
    if (b.item[j] !== item) continue;
    out.item.push(item);
    out.valueA.push(a.value[i]!);
    out.passA.push(a.pass[i]!);
    out.valueB.push(b.value[j]!);
    out.passB.push(b.pass[j]!);
  }
  return out;
}

/** |records(A) × repeats(A) ∪ records(B) × repeats(B)|. */
function workItems(store: Store, runA: number, runB: number): number {
  const a = store.getRun(runA)!;
  const b = store.getRun(runB)!;
  const countA = store.recordCount(runA);
  if (runA === runB) return countA * a.repeats;
  const countB = store.recordCount(runB);
  const shared = store.db
    .prepare(
      `SELECT count(*) FROM records x JOIN records y ON y.run_id = ? AND y.record_id = x.record_id
       WHERE x.run_id = ?`,
    )
    .pluck()
    .get(runB, runA) as number;
  return countA * a.repeats + countB * b.repeats - shared * Math.min(a.repeats, b.repeats);
}
