/**
 * The label scorers' reads for the labels page and the records page's confusion filter: the per-class
 * figures and confusion matrices (results/report/labels.ts), and which records sit in a cell of a
 * matrix, read from the scores' details. Where a label scorer's predicted class comes from: the report
 * re-reads it from each failing call's output with the scorer's label extraction, which the viewer
 * cannot do (it imports no scorer), so the cells' records are read from what the scorer stored when it
 * scored: `predicted="…" expected="…"` (or `not a known label: "…" expected="…"`). The two agree unless
 * the extraction changed since the run was scored (the report then notes the calls it counts as "no
 * class"); the labels page compares each listed cell's count with the matrix and says where they differ.
 */
import type Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import { classificationSections, type LabelReport } from '../report/labels.js';
import type { RunRow } from '../store/store.js';
import type { RecordFilter } from './filter.js';

/** The run's stored scorer specs (objects only; anything unreadable is skipped). */
function storedSpecs(json: string): Record<string, unknown>[] {
  try {
    const specs = JSON.parse(json) as unknown;
    if (!Array.isArray(specs)) return [];
    return specs.filter((s): s is Record<string, unknown> => s !== null && typeof s === 'object');
  } catch {
    return [];
  }
}

/**
 * The run's label scorers, from its stored specs (named as the report names them: `name`, else the
 * kind): name → whether it compares labels case-sensitively.
 */
export function labelScorers(scorersJson: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const s of storedSpecs(scorersJson)) {
    if (s.kind !== 'label') continue;
    out.set(typeof s.name === 'string' ? s.name : 'label', s.case_sensitive === true);
  }
  return out;
}

/**
 * Per-class figures and confusion matrices of the run's label scorers (results/report/labels.ts: one
 * aggregate query per scorer), or of `only`; judges are left out. Scorers without a scored call on a
 * record with a reference label have no report.
 */
export function labelReports(
  db: Database.Database,
  run: RunRow,
  candidates: readonly string[],
  only?: string,
): { labels: LabelReport[]; notes: string[] } {
  const names = [...labelScorers(run.scorers_json).keys()].filter((n) => only === undefined || n === only);
  if (names.length === 0) return { labels: [], notes: [] };
  const s = classificationSections(db, run.id, run.scorers_json, candidates, run.repeats, new Set(names));
  return { labels: s.labels, notes: s.notes };
}

/** The calls of one cell of a confusion matrix, and their records (each once). */
export interface ConfusionCell {
  calls: number;
  records: string[];
}

/** A JSON string as the label scorer quotes one (scorers/util.ts `quote`). */
const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
/** A failing label score's detail: `predicted="…" expected="…"`, or `not a known label: "…" expected="…"`. */
const LABEL_DETAIL = new RegExp(
  `^(?:predicted=(${QUOTED})|not a known label: ${QUOTED}) expected=(${QUOTED})$`,
);
/** `quote` clips a label longer than this to its first CLIP − 1 characters and an ellipsis. */
const CLIP = 80;

/** The class a label of a detail names: exactly (as the scorer folds case), else by a clipped prefix. */
function classIndex(
  classes: readonly string[],
  caseSensitive: boolean,
): (label: string) => number | undefined {
  const fold = caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  const index = new Map<string, number>();
  classes.forEach((c, i) => {
    if (!index.has(fold(c))) index.set(fold(c), i);
  });
  return (label) => {
    const hit = index.get(fold(label));
    if (hit !== undefined || label.length !== CLIP || !label.endsWith('…')) return hit;
    const head = fold(label.slice(0, CLIP - 1));
    const found = classes.flatMap((c, i) =>
      c.length > CLIP && fold(c.slice(0, CLIP - 1)) === head ? [i] : [],
    );
    return found.length === 1 ? found[0] : undefined;
  };
}

/**
 * The failing calls of `candidate` under a label scorer, placed in its confusion matrix by what each
 * score's detail says the output predicted and the record expected: `${row},${column}` → the calls
 * and their records (column = classes.length: no class). One query over the candidate's failing scores.
 */
export function confusedCalls(
  db: Database.Database,
  runId: number,
  scorer: string,
  candidate: string,
  classes: readonly string[],
  caseSensitive: boolean,
): Map<string, ConfusionCell> {
  const rows = db
    .prepare(
      `SELECT c.record_id, s.detail, json_extract(r.body_json, '$.reference.label') AS reference
       FROM calls c JOIN scores s ON s.call_id = c.id AND s.scorer = ?
         JOIN records r ON r.run_id = c.run_id AND r.record_id = c.record_id
       WHERE c.run_id = ? AND c.candidate = ? AND c.role = 'candidate' AND s.value IS NOT NULL
         AND s.value IS NOT 1`,
    )
    .raw()
    .all(scorer, runId, candidate) as [string, string | null, unknown][];
  const find = classIndex(classes, caseSensitive);
  const none = classes.length;
  const cells = new Map<string, { calls: number; records: Set<string> }>();
  for (const [recordId, detail, reference] of rows) {
    const m = LABEL_DETAIL.exec(detail ?? '');
    if (!m) continue;
    // The expected class as the scorer wrote it, else (clipped past telling apart) the record's own label.
    const row =
      find(JSON.parse(m[2]!) as string) ?? (reference === null ? undefined : find(String(reference)));
    if (row === undefined) continue;
    let col = m[1] === undefined ? none : (find(JSON.parse(m[1]) as string) ?? none);
    // A failed call that reads as its expected class is "no class" in the report's matrix too.
    if (col === row) col = none;
    const key = `${row},${col}`;
    const cell = cells.get(key) ?? { calls: 0, records: new Set<string>() };
    cell.calls++;
    cell.records.add(recordId);
    cells.set(key, cell);
  }
  return new Map([...cells].map(([k, c]) => [k, { calls: c.calls, records: [...c.records] }]));
}

function usage(message: string, hint: string): HarnessError {
  return new HarnessError('USAGE', message, { hint });
}

/** The filter with its confusion (if any) resolved to record ids: checked against the run's classes. */
export function resolveConfusion(
  db: Database.Database,
  run: RunRow,
  candidates: readonly string[],
  f: RecordFilter,
): RecordFilter {
  const c = f.confusion;
  if (!c) return f;
  const scorers = labelScorers(run.scorers_json);
  const caseSensitive = scorers.get(c.scorer);
  if (caseSensitive === undefined) {
    throw usage(
      `label=${c.scorer}: not a label scorer of run ${run.id}`,
      `its label scorers: ${[...scorers.keys()].join(', ') || '(none)'}`,
    );
  }
  const report = labelReports(db, run, candidates, c.scorer).labels[0];
  const hint = 'follow a link of the labels page';
  if (!report) throw usage(`${c.scorer} scored no call on a record with a reference label`, hint);
  const row = report.classes.indexOf(c.expected);
  if (row < 0) throw usage(`expected=${c.expected}: not a class of ${c.scorer}`, hint);
  let col: number | undefined;
  if (typeof c.predicted === 'string') {
    col = report.classes.indexOf(c.predicted);
    if (col < 0) throw usage(`predicted=${c.predicted}: not a class of ${c.scorer}`, hint);
    if (col === row)
      throw usage('expected and predicted are the same class: a confusion is two classes', hint);
  } else if (c.predicted === null) col = report.classes.length;
  const cells = confusedCalls(db, run.id, c.scorer, c.candidate, report.classes, caseSensitive);
  const ids = new Set<string>();
  for (const [key, cell] of cells) {
    const [i, j] = key.split(',').map(Number);
    if (i === row && (col === undefined || j === col)) for (const id of cell.records) ids.add(id);
  }
  return { ...f, confusion: { ...c, ids: [...ids] } };
}
