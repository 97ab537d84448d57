/**
 * Agreement between a model-graded judge and human grades: Cohen's kappa for k categories with its
 * large-sample standard error, and the rules that turn a human grade into a category. Pure functions.
 *
 * Kappa (Cohen 1960) over a k × k table of counts n_ij (rows: the judge, columns: the human), with
 * p_ij = n_ij / n and margins p_i. (rows), p_.j (columns):
 *   p_o = Σ p_ii,  p_e = Σ p_i.·p_.i,  κ = (p_o − p_e) / (1 − p_e).
 * Standard error: the large-sample (non-null) formula of Fleiss, Cohen & Everitt (1969), the one
 * statsmodels' `cohens_kappa` uses:
 *   Var(κ) = [A + B − C] / (n·(1 − p_e)²), with
 *   A = Σ_i p_ii·[1 − (p_i. + p_.i)(1 − κ)]²,
 *   B = (1 − κ)²·Σ_{i≠j} p_ij·(p_.i + p_j.)²,
 *   C = [κ − p_e(1 − κ)]².
 * The interval is κ ± z·SE, clipped to [−1, 1]. It is a delta-method (normal) interval: read it with
 * care below ~50 graded records, and when κ is near ±1.
 */
import { normalQuantile } from './stats.js';

export interface Kappa {
  /** Rated items (the table's total). */
  n: number;
  /** Observed agreement: the diagonal's share. */
  po: number;
  /** Agreement expected by chance from the two raters' margins. */
  pe: number;
  /** (po − pe) / (1 − pe); NaN when n = 0 or pe = 1 (both raters used one and the same category). */
  kappa: number;
  /** Fleiss–Cohen–Everitt (1969) large-sample standard error; NaN where kappa is. */
  se: number;
  lo: number;
  hi: number;
}

/** Cohen's kappa of a square table of counts (rows: one rater, columns: the other). */
export function cohenKappa(table: readonly (readonly number[])[], confidence = 0.95): Kappa {
  const k = table.length;
  if (table.some((row) => row.length !== k)) {
    throw new RangeError(
      `kappa needs a square table, got ${k} rows of lengths ${table.map((r) => r.length)}`,
    );
  }
  let n = 0;
  for (const row of table) {
    for (const x of row) {
      if (!(Number.isFinite(x) && x >= 0)) throw new RangeError(`counts must be finite and >= 0, got ${x}`);
      n += x;
    }
  }
  const nan = Number.NaN;
  if (n === 0) return { n, po: nan, pe: nan, kappa: nan, se: nan, lo: nan, hi: nan };
  const p = table.map((row) => row.map((x) => x / n));
  const rows = p.map((row) => row.reduce((a, b) => a + b, 0));
  const cols = p[0]!.map((_, j) => p.reduce((a, row) => a + row[j]!, 0));
  let po = 0;
  let pe = 0;
  for (let i = 0; i < k; i++) {
    po += p[i]![i]!;
    pe += rows[i]! * cols[i]!;
  }
  // pe = 1 only when every rating of both raters is one and the same category: kappa is 0/0.
  if (pe >= 1 - 1e-12) return { n, po, pe, kappa: nan, se: nan, lo: nan, hi: nan };
  const kappa = (po - pe) / (1 - pe);
  const q = 1 - kappa;
  let a = 0;
  let b = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const pij = p[i]![j]!;
      if (i === j) a += pij * (1 - (rows[i]! + cols[i]!) * q) ** 2;
      else b += pij * (cols[i]! + rows[j]!) ** 2;
    }
  }
  const c = (kappa - pe * q) ** 2;
  // A + B − C is a variance times n(1 − pe)²: it can come out a hair below 0 at κ = 1.
  const se = Math.sqrt(Math.max(0, a + q * q * b - c) / (n * (1 - pe) ** 2));
  const z = normalQuantile(1 - (1 - confidence) / 2);
  return {
    n,
    po,
    pe,
    kappa,
    se,
    lo: Math.max(-1, kappa - z * se),
    hi: Math.min(1, kappa + z * se),
  };
}

// --- human grades -------------------------------------------------------------------------------

/** `reference.grade` of a record: a score in [0, 1], a pass/fail boolean, or a label. */
export type Grade = number | boolean | string;

/** A number grade passes at >= this unless the judge's scorer spec sets its own `threshold`. */
export const DEFAULT_GRADE_THRESHOLD = 0.5;

/** String grades that read as pass/fail for a pass/fail judge (case-insensitive, trimmed). */
const PASS_WORDS = new Set(['pass', 'passed', 'true', 'yes']);
const FAIL_WORDS = new Set(['fail', 'failed', 'false', 'no']);

/** A stored grade as a Grade, or undefined when it is none (null, an object, a number outside [0, 1]). */
export function asGrade(v: unknown): Grade | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && v <= 1 ? v : undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  return undefined;
}

/**
 * The human pass/fail of a grade: a boolean as is; a number passes at >= `threshold`; a string only
 * when it is pass/passed/true/yes or fail/failed/false/no. Null when the grade is not pass/fail (a
 * label string).
 */
export function humanPassed(grade: Grade, threshold = DEFAULT_GRADE_THRESHOLD): boolean | null {
  if (typeof grade === 'boolean') return grade;
  if (typeof grade === 'number') return grade >= threshold;
  const word = grade.trim().toLowerCase();
  if (PASS_WORDS.has(word)) return true;
  if (FAIL_WORDS.has(word)) return false;
  return null;
}

/** How labels are compared with string grades: trimmed, case-insensitive. */
export function labelCategory(label: string): string {
  return label.trim().toLowerCase();
}

/**
 * The label a `judge_label` scorer chose, from its score detail, which reads `label: <label>; <rationale>`
 * (scorers/judge.ts). With the scorer's declared labels the longest one the detail starts with wins, so
 * a label that itself holds "; " is read whole; without them the label runs to the first "; ". Null when
 * the detail does not start with `label: ` or names none of the labels.
 */
export function judgeLabelOf(detail: string | null | undefined, labels?: readonly string[]): string | null {
  const PREFIX = 'label: ';
  if (!detail?.startsWith(PREFIX)) return null;
  const rest = detail.slice(PREFIX.length);
  if (labels && labels.length > 0) {
    let best: string | null = null;
    for (const l of labels) {
      const named = rest === l || rest.startsWith(`${l};`);
      if (named && (best === null || l.length > best.length)) best = l;
    }
    return best;
  }
  const end = rest.indexOf(';');
  const label = (end === -1 ? rest : rest.slice(0, end)).trim();
  return label === '' ? null : label;
}
