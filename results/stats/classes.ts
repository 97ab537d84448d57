/**
 * Per-class precision, recall, F1 and support from a confusion matrix, for label scorers. Pure
 * functions over counts; the report builds the matrix (results/report/labels.ts).
 *
 * Undefined ratios follow scikit-learn (>= 1.3) with `zero_division=np.nan`:
 * - precision = TP / predicted is undefined (NaN, shown "—") for a class nothing was predicted as;
 * - recall = TP / support is undefined for a class no call expected;
 * - F1 = 2·TP / (support + predicted), the same number as 2PR / (P + R) wherever both are defined,
 *   so a class that was expected but never predicted has F1 = 0 (not undefined), and F1 is undefined
 *   only for a class that was neither expected nor predicted;
 * - macro averages are the plain means of the defined per-class values: NaN classes are left out,
 *   never counted as 0 (which would let a declared but unused label drag macro-F1 down).
 * The classes are given (sklearn's `labels=`): a prediction that names none of them sits in the
 * matrix's last column and is a false negative of its expected class, a false positive of none.
 */

export interface ClassMetrics {
  label: string;
  /** Calls whose expected label is this class (the matrix row's sum, "no class" column included). */
  support: number;
  /** Calls predicted as this class (the matrix column's sum). */
  predicted: number;
  truePositives: number;
  /** TP / predicted; NaN when nothing was predicted as this class. */
  precision: number;
  /** TP / support; NaN when no call expected this class. */
  recall: number;
  /** 2·TP / (support + predicted); NaN when both are 0. */
  f1: number;
}

export interface Averages {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationMetrics {
  /** Calls in the matrix. */
  n: number;
  /** Calls on the diagonal: predicted label = expected label. */
  correct: number;
  /** correct / n (NaN when n = 0). */
  accuracy: number;
  /** Calls whose prediction named no class (the last column). */
  unclassified: number;
  perClass: ClassMetrics[];
  /** NaN-skipping means of the per-class figures (sklearn `average='macro'`, zero_division=nan). */
  macro: Averages;
  /**
   * Pooled over classes: P = ΣTP / Σpredicted, R = ΣTP / Σsupport = accuracy, F1 = 2ΣTP / (n + Σpredicted).
   * micro-F1 equals accuracy when every prediction names a class; predictions of no class lower
   * accuracy (and recall) but not precision.
   */
  micro: Averages;
}

const ratio = (num: number, den: number) => (den > 0 ? num / den : Number.NaN);

/** Mean of the defined (non-NaN) values; NaN when none is defined. */
export function nanMean(values: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

/**
 * Metrics of a confusion matrix: `matrix[i][j]` counts calls that expected `classes[i]` and predicted
 * `classes[j]`; the extra last column `matrix[i][k]` (k = classes.length) counts calls that expected
 * `classes[i]` and predicted no class (no label in the output, or a label outside the classes).
 */
export function classificationMetrics(
  classes: readonly string[],
  matrix: readonly (readonly number[])[],
): ClassificationMetrics {
  const k = classes.length;
  if (matrix.length !== k || matrix.some((row) => row.length !== k + 1)) {
    throw new RangeError(`a confusion matrix of ${k} classes has ${k} rows of ${k + 1} cells`);
  }
  let n = 0;
  let correct = 0;
  let unclassified = 0;
  let predictedInClasses = 0;
  const perClass = classes.map((label, i): ClassMetrics => {
    const row = matrix[i]!;
    let support = 0;
    for (const x of row) support += x;
    let predicted = 0;
    for (let r = 0; r < k; r++) predicted += matrix[r]![i]!;
    const tp = row[i]!;
    n += support;
    correct += tp;
    unclassified += row[k]!;
    predictedInClasses += predicted;
    return {
      label,
      support,
      predicted,
      truePositives: tp,
      precision: ratio(tp, predicted),
      recall: ratio(tp, support),
      f1: ratio(2 * tp, support + predicted),
    };
  });
  return {
    n,
    correct,
    accuracy: ratio(correct, n),
    unclassified,
    perClass,
    macro: {
      precision: nanMean(perClass.map((c) => c.precision)),
      recall: nanMean(perClass.map((c) => c.recall)),
      f1: nanMean(perClass.map((c) => c.f1)),
    },
    micro: {
      precision: ratio(correct, predictedInClasses),
      recall: ratio(correct, n),
      f1: ratio(2 * correct, n + predictedInClasses),
    },
  };
}

/** A k × (k + 1) matrix of zeros: rows expected, columns predicted, the last column "no class". */
export function emptyConfusion(k: number): number[][] {
  return Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
}
