/**
 * The report sections for classification and judges: per-class metrics and confusion matrices of
 * every `label` scorer, and the agreement of every model-graded judge (`judge_*` kinds) with the human
 * grades: a reviewer's pass/fail from `holdout view` (the `grades` table, the newest per output), else
 * the record's `reference.grade`. Reads the database only; one aggregate query per scorer.
 *
 * Where a label scorer's predicted label comes from: the report re-reads it from the stored output
 * with `extractLabel` and the scorer's stored spec (deterministic, no model call), and only for the
 * calls the scorer failed. A passing call predicted its expected label by definition, and its stored
 * verdict is the truth the matrix must agree with. Re-reading rather than parsing the score's detail
 * is the robust choice: a passing score stores no detail, a failing one clips long outputs, and runs
 * scored before this report existed have nothing more; the stored output and spec are always there.
 * Should the extraction have changed since a run was scored, a failing call that now reads as its
 * expected label is counted as "no class" (so the matrix still agrees with the stored pass/fail) and
 * a note says how many there were.
 */
import type Database from 'better-sqlite3';
import { canonicalLabel, extractLabel, LabelArgs } from '../../scorers/label.js';
import {
  asGrade,
  cohenKappa,
  DEFAULT_GRADE_THRESHOLD,
  type Grade,
  humanPassed,
  judgeLabelOf,
  type Kappa,
  labelCategory,
} from '../stats/agreement.js';
import { type Averages, type ClassMetrics, classificationMetrics, emptyConfusion } from '../stats/classes.js';
import { type Proportion, wilson } from '../stats/stats.js';
import { GRADED_CALL_EXISTS, NEWEST_GRADE } from './grades.js';

/** One candidate's figures under one label scorer. */
export interface LabelCandidateReport {
  candidate: string;
  /** Scored calls on records with a reference label. */
  n: number;
  /** Calls the scorer passed: predicted label = expected label. */
  correct: number;
  /** correct / n with its 95% Wilson interval; equals micro-F1 when every prediction names a class. */
  accuracy: Proportion;
  /** Calls whose output named no class (no label, or one outside the classes): the last column. */
  unclassified: number;
  /** One entry per class, in `classes` order. NaN (JSON null) where undefined: see classes.ts. */
  perClass: ClassMetrics[];
  /** Means of the defined per-class figures (scikit-learn macro average, zero_division=nan). */
  macro: Averages;
  /** Pooled over classes; micro recall = accuracy. */
  micro: Averages;
  /**
   * matrix[i][j]: calls that expected classes[i] and predicted classes[j]; the extra last column,
   * matrix[i][classes.length], counts the calls that expected classes[i] and predicted no class.
   */
  matrix: number[][];
}

export interface LabelReport {
  scorer: string;
  /** The spec's declared `labels` in their order, then any other expected label, sorted. */
  classes: string[];
  /** Candidates with at least one scored call, in candidate order. */
  candidates: LabelCandidateReport[];
  /** Failing calls whose output now reads as the expected label; counted as predicting no class. */
  mismatched: number;
}

/** A judge against the humans over some calls: a table of the judge's category × the human's. */
export interface AgreementFigures {
  /** Calls with both a judge verdict and a comparable human grade. */
  n: number;
  /** Calls on which they agree (the table's diagonal). */
  agree: number;
  /** agree / n with its 95% Wilson interval. */
  accuracy: Proportion;
  /** Cohen's kappa with the Fleiss–Cohen–Everitt (1969) large-sample SE and 95% normal interval. */
  kappa: Kappa;
  /** table[i][j]: the judge said categories[i], the human categories[j]. */
  table: number[][];
}

export interface AgreementReport {
  scorer: string;
  kind: string;
  /**
   * 'pass-fail': the judge's stored pass/fail against the human's (booleans as they are; a number
   * grade passes at >= gradeThreshold; pass/fail/true/false/yes/no strings). 'label': a judge_label
   * scorer's chosen label (read from its detail, `label: <label>; <rationale>`) against a string grade
   * that is one of its labels or no pass/fail word, trimmed and case-insensitive.
   */
  mode: 'pass-fail' | 'label';
  /** A number grade passes at >= this: the scorer spec's `threshold` when set, else 0.5. */
  gradeThreshold: number | null;
  /** ['pass', 'fail'], or the labels seen (lower-cased), sorted. */
  categories: string[];
  /** Candidates with at least one compared call, in candidate order. */
  candidates: (AgreementFigures & { candidate: string })[];
  /** Every candidate's calls together. */
  pooled: AgreementFigures;
  /**
   * Judged calls on graded records left out of this table: a label grade for a pass/fail judge, or a
   * judge_label detail without a readable label.
   */
  skipped: number;
  /**
   * Compared calls whose human grade is a reviewer's (`holdout view`), not `reference.grade`; present
   * only when there are some. A reviewer's grade wins over `reference.grade` on the same output.
   */
  reviewed?: number;
}

export interface ClassificationSections {
  labels: LabelReport[];
  agreement: AgreementReport[];
  notes: string[];
}

// --- specs ---------------------------------------------------------------------------------------

interface StoredSpec {
  name: string;
  kind: string;
  raw: Record<string, unknown>;
}

/** The run's stored scorer specs; anything unreadable is skipped (it is not ours to validate here). */
function storedSpecs(scorersJson: string): StoredSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(scorersJson);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: StoredSpec[] = [];
  for (const s of parsed) {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) continue;
    const raw = s as Record<string, unknown>;
    if (typeof raw.kind !== 'string') continue;
    out.push({ kind: raw.kind, name: typeof raw.name === 'string' ? raw.name : raw.kind, raw });
  }
  return out;
}

export const isJudgeKind = (kind: string) => kind.startsWith('judge_');

// --- SQL -----------------------------------------------------------------------------------------

// TEMP tables: private to this connection. Built once per report from the run's records, one value per
// record, so that the per-scorer queries join a small key → value map instead of parsing every call's
// record. `instr` skips records that cannot have the key before json_extract parses anything: a run
// whose records carry no labels (or grades) costs one cheap pass over its records and nothing more.
// (body_json is JSON.stringify output, which never escapes the characters of a key name.)
const LABEL_MAP = 'temp.holdout_report_labels';
const GRADE_MAP = 'temp.holdout_report_grades';
/** Reviewers' grades (`holdout view`): the newest per output of a stored call, as JSON true/false. */
const REVIEW_MAP = 'temp.holdout_report_reviews';

function reviewMapSql(): string[] {
  return [
    `DROP TABLE IF EXISTS ${REVIEW_MAP}`,
    `CREATE TABLE ${REVIEW_MAP} (record_id TEXT, candidate TEXT, repeat INTEGER, value,
      PRIMARY KEY (record_id, candidate, repeat)) WITHOUT ROWID`,
    `INSERT INTO ${REVIEW_MAP}
      SELECT g.record_id, g.candidate, g.repeat, CASE g.value WHEN 'pass' THEN 'true' ELSE 'false' END
      FROM grades g WHERE ${NEWEST_GRADE} AND ${GRADED_CALL_EXISTS}`,
  ];
}

function mapSql(table: string, key: 'label' | 'grade'): string[] {
  // A label is read as SQL text; a grade as JSON text (`->`), so that true stays apart from 1.
  const value =
    key === 'label' ? `json_extract(body_json, '$.reference.label')` : `body_json -> '$.reference.grade'`;
  return [
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (record_id TEXT PRIMARY KEY, value) WITHOUT ROWID`,
    `INSERT INTO ${table}
      SELECT record_id, value FROM (
        SELECT record_id, ${value} AS value FROM records
        WHERE run_id = @run AND instr(body_json, '"${key}"') > 0 ORDER BY record_id)
      WHERE value IS NOT NULL`,
  ];
}

/*
 * Per candidate and expected label: passing calls in one group, failing calls grouped by output (the
 * only calls whose prediction must be re-read). Scores without a value are unscored and left out.
 * CROSS JOIN keeps the map as the outer loop: its records in key order walk the calls' unique index
 * (run, record, …) in order, and calls on unlabelled records are never visited; measured on a million
 * calls, a quarter faster than scanning the calls and probing the map.
 */
const LABEL_SQL = `
  SELECT c.candidate, m.value AS expected, s.value = 1 AS correct,
    CASE WHEN s.value = 1 THEN NULL ELSE coalesce(c.output, '') END AS output, count(*) AS n
  FROM ${LABEL_MAP} m
    CROSS JOIN calls c ON c.run_id = @run AND c.record_id = m.record_id
    CROSS JOIN scores s ON s.call_id = c.id AND s.scorer = @scorer
  WHERE c.role = 'candidate' AND s.value IS NOT NULL
  GROUP BY c.candidate, expected, correct, output`;

/**
 * Per candidate and human grade: the judge's pass/fail (and, for judge_label, its detail). The human
 * grade of a call is its reviewer's grade when it has one (`source` 'reviewer'), else its record's
 * reference.grade ('reference'): a reviewer who looked at this very output wins.
 */
const JUDGE_SQL = `
  SELECT x.candidate, x.grade, s.passed, CASE WHEN @withDetail = 1 THEN s.detail END AS detail,
    count(*) AS n, x.source
  FROM (
    SELECT c.id AS call_id, c.candidate, v.value AS grade, 'reviewer' AS source
    FROM ${REVIEW_MAP} v
      CROSS JOIN calls c ON c.run_id = @run AND c.record_id = v.record_id AND c.candidate = v.candidate
        AND c.repeat = v.repeat AND c.role = 'candidate' AND c.aux = ''
    UNION ALL
    SELECT c.id, c.candidate, g.value, 'reference'
    FROM ${GRADE_MAP} g
      CROSS JOIN calls c ON c.run_id = @run AND c.record_id = g.record_id
    WHERE c.role = 'candidate' AND NOT EXISTS (SELECT 1 FROM ${REVIEW_MAP} v
      WHERE v.record_id = c.record_id AND v.candidate = c.candidate AND v.repeat = c.repeat)
  ) x CROSS JOIN scores s ON s.call_id = x.call_id AND s.scorer = @scorer
  WHERE s.value IS NOT NULL AND s.passed IS NOT NULL
  GROUP BY x.candidate, x.grade, s.passed, detail, x.source`;

/** Reviewed outputs whose record also carries reference.grade: there the reviewer's grade is used. */
const OVERRIDDEN_SQL = `SELECT count(*) FROM ${REVIEW_MAP} v WHERE v.record_id IN (SELECT record_id FROM ${GRADE_MAP})`;

function withTemp<T>(db: Database.Database, runId: number, sql: string[], f: () => T): T {
  const [drop, ...build] = sql;
  db.prepare(drop!).run();
  for (const q of build) db.prepare(q).run({ run: runId });
  try {
    return f();
  } finally {
    db.prepare(drop!).run();
  }
}

function withMap<T>(
  db: Database.Database,
  runId: number,
  table: string,
  key: 'label' | 'grade',
  f: () => T,
): T {
  return withTemp(db, runId, mapSql(table, key), f);
}

const mapIsEmpty = (db: Database.Database, table: string) =>
  db.prepare(`SELECT NOT EXISTS (SELECT 1 FROM ${table})`).pluck().get() === 1;

// --- entry point ---------------------------------------------------------------------------------

/**
 * The label and agreement sections of run `runId`: empty lists when the run has no label scorer (or
 * no record with a reference label) and no judge (or no record with a grade). `scored` names the
 * scorers with at least one scored call (from the scorer table): the others have nothing to show,
 * and skipping them costs nothing.
 */
export function classificationSections(
  db: Database.Database,
  runId: number,
  scorersJson: string,
  candidates: readonly string[],
  repeats: number,
  scored: ReadonlySet<string>,
): ClassificationSections {
  const specs = storedSpecs(scorersJson).filter((s) => scored.has(s.name));
  const notes: string[] = [];
  const labelSpecs = specs.filter((s) => s.kind === 'label');
  const judgeSpecs = specs.filter((s) => isJudgeKind(s.kind));
  const labels =
    labelSpecs.length === 0
      ? []
      : withMap(db, runId, LABEL_MAP, 'label', () =>
          mapIsEmpty(db, LABEL_MAP)
            ? []
            : labelSpecs.flatMap((s) => labelReport(db, runId, s, candidates, notes) ?? []),
        );
  let overridden = 0;
  const agreement =
    judgeSpecs.length === 0
      ? []
      : withMap(db, runId, GRADE_MAP, 'grade', () =>
          withTemp(db, runId, reviewMapSql(), () => {
            if (mapIsEmpty(db, GRADE_MAP) && mapIsEmpty(db, REVIEW_MAP)) return [];
            overridden = db.prepare(OVERRIDDEN_SQL).pluck().get() as number;
            return judgeSpecs.flatMap((s) => agreementReports(db, runId, s, candidates));
          }),
        );
  for (const l of labels) {
    if (l.mismatched > 0) {
      notes.push(
        `${l.scorer}: ${l.mismatched} failed ${l.mismatched === 1 ? 'call reads' : 'calls read'} as the ` +
          'expected label with the current label extraction; counted as predicting no class (rescore the run ' +
          'to bring its scores up to date).',
      );
    }
  }
  for (const a of agreement) {
    if (a.skipped > 0) {
      const why =
        a.mode === 'label'
          ? 'the score detail names none of the judge labels (expected `label: <label>; …`)'
          : 'their grade is a label, not pass/fail';
      const calls = a.skipped === 1 ? 'call' : 'calls';
      notes.push(`${a.scorer} (${a.mode}): ${a.skipped} graded ${calls} left out of the agreement: ${why}.`);
    }
    if (a.pooled.n > 0 && a.pooled.n < 30) {
      notes.push(
        `${a.scorer} (${a.mode}): only ${a.pooled.n} graded calls; kappa's large-sample interval is rough.`,
      );
    }
  }
  const reviewed = agreement.reduce((n, a) => n + (a.reviewed ?? 0), 0);
  if (reviewed > 0) {
    notes.push(
      "Judge agreement counts reviewers' grades from `holdout view` as human grades (the newest grade per " +
        `output; ${reviewed} compared ${reviewed === 1 ? 'call' : 'calls'}), like reference.grade` +
        (overridden > 0
          ? `; ${overridden} reviewed ${overridden === 1 ? 'output also has' : 'outputs also have'} a reference.grade, and the reviewer's grade is used there.`
          : '.'),
    );
  }
  if (repeats > 1 && (labels.length > 0 || agreement.length > 0)) {
    notes.push(
      'Label metrics and judge agreement count every repeat as a call: their intervals treat repeats as ' +
        'independent and are too narrow.',
    );
  }
  return { labels, agreement, notes };
}

// --- label scorers -------------------------------------------------------------------------------

type LabelRow = [candidate: string, expected: unknown, correct: 0 | 1, output: string | null, n: number];

function labelReport(
  db: Database.Database,
  runId: number,
  spec: StoredSpec,
  candidates: readonly string[],
  notes: string[],
): LabelReport | undefined {
  const { labels, aliases, case_sensitive } = spec.raw;
  const parsed = LabelArgs.safeParse({ labels, aliases, case_sensitive });
  if (!parsed.success) {
    notes.push(`${spec.name}: the stored label spec is not valid, so no per-class metrics.`);
    return undefined;
  }
  const opts = parsed.data;
  const fold = opts.case_sensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  const rows = db.prepare(LABEL_SQL).raw().all({ run: runId, scorer: spec.name }) as LabelRow[];
  if (rows.length === 0) return undefined;

  // Classes: the declared labels in their order, then expected labels outside them as the scorer compares
  // them (folded: lower case unless case-sensitive), sorted.
  const index = new Map<string, number>();
  const classes: string[] = [];
  for (const l of opts.labels ?? []) {
    const key = fold(l.trim());
    if (!index.has(key)) {
      index.set(key, classes.length);
      classes.push(l.trim());
    }
  }
  const expectedKey = new Map<string, string>();
  const extra = new Set<string>();
  for (const [, raw] of rows) {
    const text = String(raw);
    if (expectedKey.has(text)) continue;
    const key = fold(canonicalLabel(text, opts));
    expectedKey.set(text, key);
    if (!index.has(key)) extra.add(key);
  }
  for (const key of [...extra].sort()) {
    index.set(key, classes.length);
    classes.push(key);
  }

  const none = classes.length;
  const predictedColumn = new Map<string, number>();
  const matrices = new Map<string, number[][]>();
  let mismatched = 0;
  for (const [candidate, raw, correct, output, n] of rows) {
    const row = index.get(expectedKey.get(String(raw))!)!;
    let col = row;
    if (correct !== 1) {
      const text = output ?? '';
      let c = predictedColumn.get(text);
      if (c === undefined) {
        const ex = extractLabel(text, opts);
        c = ex.known ? (index.get(fold(ex.label)) ?? none) : none;
        predictedColumn.set(text, c);
      }
      col = c;
      if (col === row) {
        mismatched += n;
        col = none;
      }
    }
    let m = matrices.get(candidate);
    if (!m) {
      m = emptyConfusion(classes.length);
      matrices.set(candidate, m);
    }
    m[row]![col]! += n;
  }
  // Calls of candidates missing from the candidates table are left out, as everywhere in the report.
  return {
    scorer: spec.name,
    classes,
    candidates: candidates
      .filter((c) => matrices.has(c))
      .map((candidate) => {
        const matrix = matrices.get(candidate)!;
        const m = classificationMetrics(classes, matrix);
        return {
          candidate,
          n: m.n,
          correct: m.correct,
          accuracy: wilson(m.correct, m.n),
          unclassified: m.unclassified,
          perClass: m.perClass,
          macro: m.macro,
          micro: m.micro,
          matrix,
        };
      }),
    mismatched,
  };
}

// --- judges --------------------------------------------------------------------------------------

type JudgeRow = [
  candidate: string,
  grade: string,
  passed: 0 | 1,
  detail: string | null,
  n: number,
  source: 'reviewer' | 'reference',
];

const PASS_FAIL = ['pass', 'fail'];

/** The judge's and the human's category of a row under `mode`, or null when not comparable. */
type Categorize = (grade: Grade, passed: boolean, detail: string | null) => [string, string] | null;

function agreementReports(
  db: Database.Database,
  runId: number,
  spec: StoredSpec,
  candidates: readonly string[],
): AgreementReport[] {
  const isLabelJudge = spec.kind === 'judge_label';
  const declared = Array.isArray(spec.raw.labels)
    ? spec.raw.labels.filter((l): l is string => typeof l === 'string')
    : [];
  const declaredCategories = new Set(declared.map(labelCategory));
  // For a judge_label, a string grade is a label (compared with the judge's label) when it is one of
  // the judge's labels or no pass/fail word; a pass/fail word that is not a label compares pass/fail.
  const isLabelGrade = (g: Grade) =>
    isLabelJudge &&
    typeof g === 'string' &&
    (declaredCategories.has(labelCategory(g)) || humanPassed(g) === null);
  const t = spec.raw.threshold;
  const threshold = typeof t === 'number' && t >= 0 && t <= 1 ? t : DEFAULT_GRADE_THRESHOLD;
  const rows = db
    .prepare(JUDGE_SQL)
    .raw()
    .all({ run: runId, scorer: spec.name, withDetail: isLabelJudge ? 1 : 0 }) as JudgeRow[];
  if (rows.length === 0) return [];

  const gradeCache = new Map<string, Grade | undefined>();
  const gradeOf = (json: string): Grade | undefined => {
    if (!gradeCache.has(json)) {
      let v: unknown;
      try {
        v = JSON.parse(json);
      } catch {
        v = undefined;
      }
      gradeCache.set(json, asGrade(v));
    }
    return gradeCache.get(json);
  };
  const passFail = (b: boolean) => (b ? 'pass' : 'fail');
  const out: AgreementReport[] = [];
  // A judge_label with string grades compares labels; every other (judge, grade) pair compares pass/fail.
  const modes: ['pass-fail' | 'label', Categorize][] = [
    [
      'pass-fail',
      (grade, passed) => {
        const human = humanPassed(grade, threshold);
        return human === null ? null : [passFail(passed), passFail(human)];
      },
    ],
  ];
  if (isLabelJudge) {
    modes.push([
      'label',
      (grade, _passed, detail) => {
        const judge = judgeLabelOf(detail, declared);
        return judge === null ? null : [labelCategory(judge), labelCategory(grade as string)];
      },
    ]);
  }
  for (const [mode, categorize] of modes) {
    const pairs: [candidate: string, judge: string, human: string, n: number][] = [];
    let skipped = 0;
    let reviewed = 0;
    for (const [candidate, json, passed, detail, n, source] of rows) {
      const grade = gradeOf(json);
      if (grade === undefined) continue;
      // Rows of the other mode are not "skipped": only those this mode should but cannot compare.
      if ((mode === 'label') !== isLabelGrade(grade)) continue;
      const cats = categorize(grade, passed === 1, detail);
      if (cats === null) skipped += n;
      else {
        pairs.push([candidate, cats[0], cats[1], n]);
        if (source === 'reviewer') reviewed += n;
      }
    }
    if (pairs.length === 0 && skipped === 0) continue;
    const categories =
      mode === 'pass-fail' ? PASS_FAIL : [...new Set(pairs.flatMap(([, j, h]) => [j, h]))].sort();
    const at = new Map(categories.map((c, i) => [c, i]));
    const k = categories.length;
    const tables = new Map<string, number[][]>();
    const pooled = square(k);
    for (const [candidate, judge, human, n] of pairs) {
      let table = tables.get(candidate);
      if (!table) {
        table = square(k);
        tables.set(candidate, table);
      }
      table[at.get(judge)!]![at.get(human)!]! += n;
      pooled[at.get(judge)!]![at.get(human)!]! += n;
    }
    out.push({
      scorer: spec.name,
      kind: spec.kind,
      mode,
      gradeThreshold: mode === 'pass-fail' ? threshold : null,
      categories,
      candidates: candidates
        .filter((c) => tables.has(c))
        .map((candidate) => ({ candidate, ...agreementFigures(tables.get(candidate)!) })),
      pooled: agreementFigures(pooled),
      skipped,
      ...(reviewed > 0 ? { reviewed } : {}),
    });
  }
  return out;
}

function square(k: number): number[][] {
  return Array.from({ length: k }, () => new Array<number>(k).fill(0));
}

export function agreementFigures(table: number[][]): AgreementFigures {
  let n = 0;
  let agree = 0;
  table.forEach((row, i) => {
    for (const x of row) n += x;
    agree += row[i]!;
  });
  return { n, agree, accuracy: wilson(agree, n), kappa: cohenKappa(table), table };
}
