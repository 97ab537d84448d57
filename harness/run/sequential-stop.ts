/**
 * Anytime-valid early stopping in a run (SEQUENTIAL.md §1; `holdout run --until-decided`, or `stop:`
 * in the config). The run's records are issued in a seeded order stored with the run before any
 * call; each record's pair (every repeat of the baseline and the candidate final, model-graded
 * scores included) is fed to the e-processes in that order, not in completion order: early
 * finishers wait in a buffer (pitfall 1). Once FAIL or PASS is reached the runner issues nothing
 * new; calls in flight finish and are stored; the decision is written with the run. A resumed run
 * replays its stored pairs in the same order into the same e-processes, and a decided run sends
 * nothing.
 *
 * The runner consults the gate through three hooks (harness/run/runner.ts): `recordPage` (the
 * order), `decided` (stop issuing) and `stored` (a call was committed); `settle` waits for the
 * model-graded scoring the gate started.
 */
import { randomInt } from 'node:crypto';
import pLimit from 'p-limit';
import type { HoldoutRecord } from '../../datasets/record.js';
import {
  promptDifference,
  type SequentialState,
  type SequentialVerdict,
  seededOrder,
  startSequential,
  stepSequential,
} from '../../results/stats/sequential.js';
import {
  decisionText,
  insertSequential,
  passValues,
  recordDecision,
  recordIdsBySeq,
  type SequentialRow,
  sequentialOf,
} from '../../results/store/sequential.js';
import type { CallRow, StoredRecord, Store } from '../../results/store/store.js';
import type { BoundScorer } from '../../scorers/index.js';
import type { Clock } from '../clock.js';
import type { Lane } from './scheduler.js';
import { type ResolvedConfig, type StopConfig, stopProblems } from '../config.js';
import { HarnessError } from '../errors.js';

/** The bet cap c of SEQUENTIAL.md: fixed, stored with each run. */
export const BET_CAP = 0.9;

/** `holdout run --until-decided [--baseline A --candidate B --margin m --alpha a]`. */
export interface StopFlags {
  untilDecided?: boolean;
  baseline?: string;
  candidate?: string;
  margin?: number;
  alpha?: number;
}

/**
 * The config with the command line's stopping flags merged into its `stop:` (flags win). Without
 * --until-decided the config is unchanged. The result is checked like the config's own block.
 */
export function withStopFlags(config: ResolvedConfig, flags: StopFlags | undefined): ResolvedConfig {
  if (!flags?.untilDecided) return config;
  const baseline = flags.baseline ?? config.stop?.baseline;
  const candidate = flags.candidate ?? config.stop?.candidate;
  if (baseline === undefined || candidate === undefined) {
    throw new HarnessError(
      'USAGE',
      '--until-decided needs --baseline A and --candidate B (or a stop: block)',
      {
        hint: 'e.g. holdout run config.yaml --until-decided --baseline current --candidate new',
      },
    );
  }
  const stop: StopConfig = {
    ...config.stop,
    baseline,
    candidate,
    margin: flags.margin ?? config.stop?.margin ?? 0.03,
    alpha: flags.alpha ?? config.stop?.alpha ?? 0.025,
  };
  const problems = stopProblems(stop, config);
  if (problems.length > 0) {
    throw new HarnessError(
      'USAGE',
      `--until-decided: ${problems.map((p) => p.replace(/^stop\./, '--')).join('; ')}`,
    );
  }
  return { ...config, stop };
}

/** Writes the run's stopping settings and its seeded order: call inside the run's creating transaction. */
export function createSequential(store: Store, runId: number, stop: StopConfig, recordCount: number): void {
  const seed = stop.seed ?? randomInt(0x100000000);
  insertSequential(store.db, {
    run_id: runId,
    baseline: stop.baseline,
    candidate: stop.candidate,
    alpha: stop.alpha,
    margin: stop.margin,
    bet_cap: BET_CAP,
    seed,
    order: seededOrder(recordCount, seed),
  });
}

/**
 * A resumed run keeps the settings it started with (pitfall 2: never change α, m, the order or the
 * candidates mid-run); flags that say otherwise are refused, as is stopping a run that was not started
 * to stop.
 */
export function checkResumedStop(
  row: SequentialRow | undefined,
  flags: StopFlags | undefined,
  runId: number,
): void {
  if (!flags?.untilDecided) return;
  if (!row) {
    throw new HarnessError(
      'USAGE',
      `run ${runId} was not started with --until-decided: its records were not issued in a committed random order, so it cannot stop early now`,
      { hint: 'start a new run with --until-decided (--new), or resume this one without it' },
    );
  }
  const differs = (
    [
      ['--baseline', flags.baseline, row.baseline],
      ['--candidate', flags.candidate, row.candidate],
      ['--margin', flags.margin, row.margin],
      ['--alpha', flags.alpha, row.alpha],
    ] as const
  ).filter(([, given, stored]) => given !== undefined && given !== stored);
  if (differs.length > 0) {
    throw new HarnessError(
      'USAGE',
      `run ${runId} stops on ${row.baseline} vs ${row.candidate} at margin ${row.margin}, alpha ${row.alpha}; ${differs.map(([f, g]) => `${f} ${g}`).join(', ')} would change its test mid-run`,
      { hint: `resume it as it was: holdout run --resume ${runId}` },
    );
  }
}

export interface GateOptions {
  store: Store;
  runId: number;
  repeats: number;
  /** Model-graded scorers: applied to a record's calls as soon as they are final, before it is fed. */
  deferred: readonly BoundScorer[];
  concurrency: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Why scoring must stop (a judge that cannot be called), if it must: the record is not fed. */
  halted?: () => string | undefined;
  /** Told once, when the run is decided. */
  onDecided?: (d: GateDecision) => void;
}

export interface GateDecision {
  verdict: SequentialVerdict;
  /** Records of the order consumed at the decision. */
  recordsUsed: number;
  records: number;
  /** Pairs fed to the e-processes (records unscored on either side are left out). */
  promptsFed: number;
  /** Decided in an earlier session. */
  earlier: boolean;
}

const WAITING = 0;
const SCORING = 1;
const READY = 2;

/** The run's early-stopping gate; undefined for a run that does not stop early. */
export function sequentialGate(opts: GateOptions): SequentialGate | undefined {
  const row = sequentialOf(opts.store.db, opts.runId);
  return row ? new SequentialGate(row, opts) : undefined;
}

export class SequentialGate {
  readonly row: SequentialRow;
  private readonly opts: GateOptions;
  /** record_id of each seq. */
  private readonly ids: string[];
  private readonly rankOf = new Map<string, number>();
  private readonly finalA: Int32Array;
  private readonly finalB: Int32Array;
  private readonly stage: Uint8Array;
  private next = 0;
  private readonly state: SequentialState;
  private decision: GateDecision | undefined;
  private readonly scoring = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private readonly limit;

  constructor(row: SequentialRow, opts: GateOptions) {
    this.row = row;
    this.opts = opts;
    const { store, runId } = opts;
    this.ids = recordIdsBySeq(store.db, runId);
    const n = row.order.length;
    if (this.ids.length !== n) {
      throw new HarnessError(
        'RUN_RECORDS',
        `run ${runId} has ${this.ids.length} records but its stopping order has ${n}`,
      );
    }
    row.order.forEach((seq, rank) => {
      this.rankOf.set(this.ids[seq]!, rank);
    });
    this.finalA = new Int32Array(n);
    this.finalB = new Int32Array(n);
    this.stage = new Uint8Array(n);
    this.limit = pLimit(Math.max(1, opts.concurrency));
    this.state = startSequential({ alpha: row.alpha, margin: row.margin, c: row.bet_cap });
    if (row.verdict !== null) {
      this.decision = {
        verdict: row.verdict,
        recordsUsed: row.records_used ?? n,
        records: n,
        promptsFed: row.prompts_fed ?? 0,
        earlier: true,
      };
      return;
    }
    // Resume: what earlier sessions stored is replayed, in the order, into fresh e-processes.
    const counts = store.db
      .prepare(
        `SELECT record_id, candidate, count(*) FROM calls
         WHERE run_id = ? AND role = 'candidate' AND candidate IN (?, ?) GROUP BY record_id, candidate`,
      )
      .raw()
      .all(runId, row.baseline, row.candidate) as [string, string, number][];
    for (const [record, candidate, count] of counts) {
      const rank = this.rankOf.get(record);
      if (rank === undefined) continue;
      if (candidate === row.baseline) this.finalA[rank] = count;
      if (candidate === row.candidate) this.finalB[rank] = count;
    }
    for (let rank = 0; rank < n; rank++) this.check(rank);
    this.feed();
  }

  /** The run's records from rank `afterRank + 1` on, in the stopping order (`seq` is the rank). */
  recordPage(runId: number, afterRank: number, limit: number): StoredRecord[] {
    const from = afterRank + 1;
    const seqs = this.row.order.slice(from, from + limit);
    if (seqs.length === 0) return [];
    const rows = this.opts.store.db
      .prepare(
        `SELECT seq, record_id, body_json FROM records
         WHERE run_id = ? AND seq IN (SELECT value FROM json_each(?))`,
      )
      .all(runId, JSON.stringify(seqs)) as StoredRecord[];
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    return seqs.map((seq, i) => ({ ...bySeq.get(seq)!, seq: from + i }));
  }

  /**
   * Every candidate on each record together: a lane may issue its next record only when no other
   * lane's next record comes earlier in the order. Each lane's next item is looked ahead (held) to
   * know its place; the lane furthest behind is always ready, so the lanes never all wait. Without
   * this the fastest candidate races ahead, and its calls past the stop are money spent for nothing.
   */
  pace<T extends { recordId: string }>(lanes: Lane<T>[]): Lane<T>[] {
    const held: { item: T | undefined; done: boolean; has: boolean }[] = lanes.map(() => ({
      item: undefined,
      done: false,
      has: false,
    }));
    const peek = (i: number) => {
      const h = held[i]!;
      if (!h.has && !h.done) {
        h.item = lanes[i]!.next();
        h.has = true;
        if (h.item === undefined) h.done = true;
      }
      return h.item === undefined ? Number.POSITIVE_INFINITY : (this.rankOf.get(h.item.recordId) ?? 0);
    };
    return lanes.map((lane, i) => ({
      limit: lane.limit,
      ready: () => {
        const mine = peek(i);
        if (mine === Number.POSITIVE_INFINITY) return true;
        for (let j = 0; j < lanes.length; j++) if (j !== i && peek(j) < mine) return false;
        return true;
      },
      next: () => {
        peek(i);
        const h = held[i]!;
        const item = h.item;
        // A lane that had nothing stays done; a decided run issues nothing, held or not.
        if (!h.done) h.has = false;
        return this.decision === undefined ? item : undefined;
      },
    }));
  }

  /** No new call may start: the run is decided. */
  decided(): boolean {
    return this.decision !== undefined;
  }

  result(): GateDecision | undefined {
    return this.decision;
  }

  /** Where the run stands: pairs fed, records consumed in the order, and all of it. */
  progress(): { fed: number; consumed: number; records: number } {
    return { fed: this.state.t, consumed: this.next, records: this.row.order.length };
  }

  /** A call was committed: its record may now be complete, scored and fed. */
  stored(row: CallRow): void {
    if (row.role !== 'candidate') return;
    const rank = this.rankOf.get(row.recordId);
    if (rank === undefined) return;
    if (row.candidate === this.row.baseline) this.finalA[rank]!++;
    else if (row.candidate === this.row.candidate) this.finalB[rank]!++;
    else return;
    this.check(rank);
    this.feed();
  }

  /** Waits for the scoring the gate started; rethrows a scorer's failure (a bug, a full disk). */
  async settle(): Promise<void> {
    while (this.scoring.size > 0) await Promise.all([...this.scoring]);
    if (this.failure) throw this.failure.error;
  }

  /** A record whose pair is final moves on: to READY, or to SCORING when model-graded scores are missing. */
  private check(rank: number): void {
    if (this.stage[rank] !== WAITING) return;
    const { repeats } = this.opts;
    if (this.finalA[rank]! < repeats || this.finalB[rank]! < repeats) return;
    const recordId = this.ids[this.row.order[rank]!]!;
    const work = this.opts.deferred.length > 0 ? this.missingScores(recordId) : [];
    if (work.length === 0) {
      this.stage[rank] = READY;
      return;
    }
    this.stage[rank] = SCORING;
    const p = this.scoreRecord(rank, work).then(
      () => {
        this.scoring.delete(p);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.scoring.delete(p);
      },
    );
    this.scoring.add(p);
  }

  /** The (ok call, applicable model-graded scorer) pairs of the record's two sides without a stored score. */
  private missingScores(
    recordId: string,
  ): { call: ScoredCall; scorer: BoundScorer; record: HoldoutRecord }[] {
    const { store, runId } = this.opts;
    const calls = store.db
      .prepare(
        `SELECT c.id, c.candidate, c.repeat, c.output, c.tool_calls_json,
           (SELECT group_concat(s.scorer, char(31)) FROM scores s WHERE s.call_id = c.id) AS have
         FROM calls c WHERE c.run_id = ? AND c.record_id = ? AND c.role = 'candidate' AND c.status = 'ok'
           AND c.candidate IN (?, ?)`,
      )
      .all(runId, recordId, this.row.baseline, this.row.candidate) as ScoredCall[];
    if (calls.length === 0) return [];
    const record = JSON.parse(store.recordBody(runId, recordId)!) as HoldoutRecord;
    const work: { call: ScoredCall; scorer: BoundScorer; record: HoldoutRecord }[] = [];
    for (const call of calls) {
      const have = new Set(call.have ? call.have.split('\u001f') : []);
      for (const scorer of this.opts.deferred) {
        if (!have.has(scorer.name) && scorer.appliesTo(record)) work.push({ call, scorer, record });
      }
    }
    return work;
  }

  private async scoreRecord(
    rank: number,
    work: { call: ScoredCall; scorer: BoundScorer; record: HoldoutRecord }[],
  ): Promise<void> {
    const { store, signal } = this.opts;
    let complete = true;
    await Promise.all(
      work.map((w) =>
        this.limit(async () => {
          if (signal?.aborted || this.opts.halted?.()) {
            complete = false;
            return;
          }
          const score = await w.scorer.score({
            record: w.record,
            output: {
              text: w.call.output ?? '',
              toolCalls: w.call.tool_calls_json
                ? (JSON.parse(w.call.tool_calls_json) as { name: string; arguments: string }[])
                : [],
            },
            call: { candidate: w.call.candidate, repeat: w.call.repeat },
          });
          // An interrupted judge call, or one that can never succeed, is not a verdict: nothing is
          // stored, the record is not fed, and a rerun asks again (as in score-pass.ts).
          if (signal?.aborted || this.opts.halted?.()) {
            complete = false;
            return;
          }
          store.upsertScore(w.call.id, { scorer: w.scorer.name, ...score });
        }),
      ),
    );
    if (!complete) {
      this.stage[rank] = WAITING;
      return;
    }
    this.stage[rank] = READY;
    this.feed();
  }

  /** Feeds the ready records at the head of the order; the rest wait their turn. */
  private feed(): void {
    const { store, runId } = this.opts;
    const n = this.row.order.length;
    while (this.decision === undefined && this.next < n && this.stage[this.next] === READY) {
      const recordId = this.ids[this.row.order[this.next]!]!;
      const sides = passValues(store.db, runId, [this.row.baseline, this.row.candidate], recordId).get(
        recordId,
      );
      const d = promptDifference(sides?.get(this.row.baseline) ?? [], sides?.get(this.row.candidate) ?? []);
      if (d !== null) stepSequential(this.state, d);
      this.next++;
      const verdict = this.state.decided?.verdict ?? (this.next === n ? 'INCONCLUSIVE' : undefined);
      if (verdict === undefined) continue;
      this.decision = {
        verdict,
        recordsUsed: this.next,
        records: n,
        promptsFed: this.state.t,
        earlier: false,
      };
      store.write(() =>
        recordDecision(store.db, runId, {
          verdict,
          decidedAt: this.opts.clock.isoNow(),
          recordsUsed: this.next,
          promptsFed: this.state.t,
        }),
      );
      this.opts.onDecided?.(this.decision);
    }
  }
}

interface ScoredCall {
  id: number;
  candidate: string;
  repeat: number;
  output: string | null;
  tool_calls_json: string | null;
  have: string | null;
}

/** "decided early: PASS after 412 of 2,000 records" (or at the whole sample). */
export function describeDecision(d: Pick<GateDecision, 'verdict' | 'recordsUsed' | 'records'>): string {
  return decisionText(d.verdict, d.recordsUsed, d.records);
}
