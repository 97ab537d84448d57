/**
 * Reviewers' grades (the `grades` table, schema v6, written by `holdout view`): a person's pass or fail
 * on one candidate output (run, record, candidate, repeat). Several may exist per output; the newest
 * (highest id) is the one that counts, here, in the report's human-graded column and in judge agreement.
 */
import type Database from 'better-sqlite3';
import { type Proportion, wilson } from '../stats/stats.js';

export interface GradeRow {
  id: number;
  record_id: string;
  candidate: string;
  repeat: number;
  reviewer: string;
  value: 'pass' | 'fail';
  note: string;
  created_at: string;
}

/** The grades that count, of run @run: the newest of each graded output (the grades_output index). */
export const NEWEST_GRADE = `g.run_id = @run AND g.id = (SELECT max(h.id) FROM grades h WHERE h.run_id = g.run_id
  AND h.record_id = g.record_id AND h.candidate = g.candidate AND h.repeat = g.repeat)`;

/** The graded output is a stored candidate call of the run (a grade of a deleted call counts for nothing). */
export const GRADED_CALL_EXISTS = `EXISTS (SELECT 1 FROM calls c WHERE c.run_id = g.run_id AND c.record_id = g.record_id
  AND c.candidate = g.candidate AND c.repeat = g.repeat AND c.role = 'candidate' AND c.aux = '')`;

/** The newest grade of every graded output of these records. */
export function latestGrades(db: Database.Database, runId: number, recordIds: string[]): GradeRow[] {
  return db
    .prepare(
      `SELECT g.* FROM grades g WHERE g.record_id IN (SELECT value FROM json_each(@ids)) AND ${NEWEST_GRADE}
       ORDER BY g.id`,
    )
    .all({ run: runId, ids: JSON.stringify(recordIds) }) as GradeRow[];
}

/** Every grade of one record, newest first. */
export function recordGrades(db: Database.Database, runId: number, recordId: string): GradeRow[] {
  return db
    .prepare('SELECT * FROM grades WHERE run_id = ? AND record_id = ? ORDER BY id DESC')
    .all(runId, recordId) as GradeRow[];
}

/** A candidate's outputs graded by reviewers: how many, how many passed, the share with its Wilson interval. */
export interface HumanGrades {
  graded: number;
  passes: number;
  passRate: Proportion;
}

/** Per candidate, the newest reviewer's grade of each of its graded outputs; empty when none is graded. */
export function humanGrades(db: Database.Database, runId: number): Map<string, HumanGrades> {
  const rows = db
    .prepare(
      `SELECT g.candidate, count(*) AS graded, sum(g.value = 'pass') AS passes FROM grades g
       WHERE ${NEWEST_GRADE} AND ${GRADED_CALL_EXISTS} GROUP BY g.candidate`,
    )
    .all({ run: runId }) as { candidate: string; graded: number; passes: number }[];
  return new Map(
    rows.map((r) => [
      r.candidate,
      { graded: r.graded, passes: r.passes, passRate: wilson(r.passes, r.graded) },
    ]),
  );
}
