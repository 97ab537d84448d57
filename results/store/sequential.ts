/**
 * The `sequential` table (schema v7): a run that stops early (SEQUENTIAL.md §1) keeps here its two
 * candidates, its settings, the seeded order of its records and, once made, its decision. Written by
 * the runner (harness/run/sequential-stop.ts), read by compare, report and `holdout runs`; also the
 * one reading of a record's calls as pass values that both the runner and compare's replay feed on,
 * so that the two cannot disagree on what a pair's difference was.
 */
import type Database from 'better-sqlite3';

export interface SequentialRow {
  run_id: number;
  baseline: string;
  candidate: string;
  alpha: number;
  margin: number;
  bet_cap: number;
  seed: number;
  /** records.seq in the order issued and fed. */
  order: number[];
  verdict: 'PASS' | 'FAIL' | 'INCONCLUSIVE' | null;
  decided_at: string | null;
  records_used: number | null;
  prompts_fed: number | null;
}

export type NewSequential = Omit<SequentialRow, 'verdict' | 'decided_at' | 'records_used' | 'prompts_fed'>;

/** Whether the database has the table (a read-only file of an older schema may not). */
function hasTable(db: Database.Database): boolean {
  return (
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sequential'`).get() !== undefined
  );
}

export function insertSequential(db: Database.Database, row: NewSequential): void {
  db.prepare(
    `INSERT INTO sequential (run_id, baseline, candidate, alpha, margin, bet_cap, seed, order_json)
     VALUES (@run_id, @baseline, @candidate, @alpha, @margin, @bet_cap, @seed, @order_json)`,
  ).run({ ...row, order_json: JSON.stringify(row.order) });
}

/** The run's sequential settings and decision; undefined for a run that does not stop early. */
export function sequentialOf(db: Database.Database, runId: number): SequentialRow | undefined {
  if (!hasTable(db)) return undefined;
  const row = db.prepare('SELECT * FROM sequential WHERE run_id = ?').get(runId) as
    | (Omit<SequentialRow, 'order'> & { order_json: string })
    | undefined;
  if (!row) return undefined;
  const { order_json, ...rest } = row;
  return { ...rest, order: JSON.parse(order_json) as number[] };
}

/** The decision, once: a decided run is never decided again. */
export function recordDecision(
  db: Database.Database,
  runId: number,
  d: {
    verdict: 'PASS' | 'FAIL' | 'INCONCLUSIVE';
    decidedAt: string;
    recordsUsed: number;
    promptsFed: number;
  },
): void {
  db.prepare(
    `UPDATE sequential SET verdict = @verdict, decided_at = @decidedAt, records_used = @recordsUsed,
       prompts_fed = @promptsFed
     WHERE run_id = @runId AND verdict IS NULL`,
  ).run({ runId, ...d });
}

/** The decisions of these runs, for listings (one query). */
export function decisionsOf(
  db: Database.Database,
  runIds: readonly number[],
): Map<number, Pick<SequentialRow, 'verdict' | 'records_used' | 'baseline' | 'candidate'>> {
  const out = new Map<number, Pick<SequentialRow, 'verdict' | 'records_used' | 'baseline' | 'candidate'>>();
  if (runIds.length === 0 || !hasTable(db)) return out;
  const rows = db
    .prepare(
      `SELECT run_id, verdict, records_used, baseline, candidate FROM sequential
       WHERE run_id IN (SELECT value FROM json_each(?))`,
    )
    .all(JSON.stringify(runIds)) as (Pick<
    SequentialRow,
    'verdict' | 'records_used' | 'baseline' | 'candidate'
  > & {
    run_id: number;
  })[];
  for (const { run_id, ...r } of rows) out.set(run_id, r);
  return out;
}

/**
 * Each stored candidate call of `candidates` as a pass value: 1 when every non-null score on it
 * passed, 0 when one failed or the call is an error (errors count as fail: dropping them would select
 * on the outcome, SEQUENTIAL.md pitfall 4), NaN when it has no non-null score (unscored). Per record,
 * per candidate, in repeat order. `recordId` narrows it to one record.
 */
export function passValues(
  db: Database.Database,
  runId: number,
  candidates: readonly string[],
  recordId?: string,
): Map<string, Map<string, number[]>> {
  const rows = db
    .prepare(
      `SELECT c.record_id, c.candidate, c.status,
         (SELECT count(*) FROM scores s WHERE s.call_id = c.id AND s.value IS NOT NULL) AS scored,
         (SELECT coalesce(min(s.passed IS 1), 1) FROM scores s
            WHERE s.call_id = c.id AND s.value IS NOT NULL) AS passed
       FROM calls c
       WHERE c.run_id = @runId AND c.role = 'candidate'
         AND c.candidate IN (SELECT value FROM json_each(@candidates))
         ${recordId === undefined ? '' : 'AND c.record_id = @recordId'}
       ORDER BY c.record_id, c.candidate, c.repeat`,
    )
    .raw()
    .all({
      runId,
      candidates: JSON.stringify(candidates),
      ...(recordId === undefined ? {} : { recordId }),
    }) as [string, string, 'ok' | 'error', number, number][];
  const out = new Map<string, Map<string, number[]>>();
  for (const [record, candidate, status, scored, passed] of rows) {
    let byCandidate = out.get(record);
    if (!byCandidate) {
      byCandidate = new Map();
      out.set(record, byCandidate);
    }
    let values = byCandidate.get(candidate);
    if (!values) {
      values = [];
      byCandidate.set(candidate, values);
    }
    values.push(status === 'error' ? 0 : scored === 0 ? Number.NaN : passed);
  }
  return out;
}

/** The run's records' ids by seq (seq → record_id). */
export function recordIdsBySeq(db: Database.Database, runId: number): string[] {
  const ids: string[] = [];
  for (const [seq, id] of db
    .prepare('SELECT seq, record_id FROM records WHERE run_id = ? ORDER BY seq')
    .raw()
    .iterate(runId) as Iterable<[number, string]>)
    ids[seq] = id;
  return ids;
}

/** "decided early: PASS after 412 of 2,000 records" (or at the whole sample), as runs, report and run print it. */
export function decisionText(verdict: string, recordsUsed: number, records: number): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return recordsUsed < records
    ? `decided early: ${verdict} after ${n(recordsUsed)} of ${n(records)} records`
    : `decided at the whole sample: ${verdict} after all ${n(records)} records`;
}
