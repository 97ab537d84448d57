/**
 * Reviewers' grades (the `grades` table, schema v6): a person marks one candidate output (run,
 * record, candidate, repeat) pass or fail with a note and a name. Several grades per output are kept;
 * the newest wins. Grades live beside the model scores and never change them.
 */
import type { Clock } from '../../harness/clock.js';
import { HarnessError } from '../../harness/errors.js';
import type { Store } from '../store/store.js';

export const REVIEWER_MAX = 100;
export const NOTE_MAX = 4000;

export interface NewGrade {
  runId: number;
  recordId: string;
  candidate: string;
  repeat: number;
  reviewer: string;
  value: 'pass' | 'fail';
  note: string;
}

function invalid(message: string): HarnessError {
  return new HarnessError('USAGE', message, { hint: 'go back to the record and fill in the grade form' });
}

/** Checks a submitted grade form against the run; throws USAGE naming what is wrong. */
export function parseGrade(store: Store, runId: number, recordId: string, form: URLSearchParams): NewGrade {
  const value = form.get('value');
  if (value !== 'pass' && value !== 'fail') throw invalid('choose pass or fail');
  const reviewer = (form.get('reviewer') ?? '').trim();
  if (reviewer === '') throw invalid('give your name as the reviewer');
  if (reviewer.length > REVIEWER_MAX) throw invalid(`the reviewer name is over ${REVIEWER_MAX} characters`);
  const note = (form.get('note') ?? '').trim();
  if (note.length > NOTE_MAX) throw invalid(`the note is over ${NOTE_MAX} characters`);
  const candidate = form.get('candidate') ?? '';
  const repeatText = form.get('repeat') ?? '';
  const repeat = /^\d{1,6}$/.test(repeatText) ? Number(repeatText) : -1;
  const exists = store.db
    .prepare(
      `SELECT 1 FROM calls WHERE run_id = ? AND record_id = ? AND candidate = ? AND repeat = ?
       AND role = 'candidate' AND aux = ''`,
    )
    .get(runId, recordId, candidate, repeat);
  if (!exists)
    throw invalid(`record ${recordId} has no output of candidate '${candidate}', repeat ${repeatText}`);
  return { runId, recordId, candidate, repeat, reviewer, value, note };
}

/** Stores a grade; returns its id. */
export function insertGrade(store: Store, g: NewGrade, clock: Clock): number {
  return store.write(() =>
    Number(
      store.db
        .prepare(
          `INSERT INTO grades (run_id, record_id, candidate, repeat, reviewer, value, note, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(g.runId, g.recordId, g.candidate, g.repeat, g.reviewer, g.value, g.note, clock.isoNow())
        .lastInsertRowid,
    ),
  );
}
