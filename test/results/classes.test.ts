import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../harness/random.js';
import { classificationMetrics, emptyConfusion, nanMean } from '../../results/stats/classes.js';

const NONE = '\u0000none';

/** A confusion matrix from (expected, predicted) pairs; a prediction outside `classes` goes last. */
function matrixOf(classes: string[], pairs: [string, string][]): number[][] {
  const m = emptyConfusion(classes.length);
  for (const [t, p] of pairs) {
    const j = classes.indexOf(p);
    m[classes.indexOf(t)]![j === -1 ? classes.length : j]! += 1;
  }
  return m;
}

/**
 * An independent computation straight from the pairs, by the textbook definitions (no matrix):
 * TP, FP, FN per class; P = TP/(TP+FP), R = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN) (scikit-learn's docs),
 * NaN on 0/0; macro = mean over the defined values.
 */
function byDefinition(classes: string[], pairs: [string, string][]) {
  const per = classes.map((c) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const [t, p] of pairs) {
      if (t === c && p === c) tp++;
      else if (p === c) fp++;
      else if (t === c) fn++;
    }
    const div = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);
    return { p: div(tp, tp + fp), r: div(tp, tp + fn), f1: div(2 * tp, 2 * tp + fp + fn), support: tp + fn };
  });
  const mean = (xs: number[]) => {
    const d = xs.filter((x) => !Number.isNaN(x));
    return d.length === 0 ? Number.NaN : d.reduce((a, b) => a + b, 0) / d.length;
  };
  const correct = pairs.filter(([t, p]) => t === p).length;
  return {
    per,
    macroF1: mean(per.map((x) => x.f1)),
    macroP: mean(per.map((x) => x.p)),
    macroR: mean(per.map((x) => x.r)),
    accuracy: correct / pairs.length,
  };
}

describe('classificationMetrics', () => {
  it("matches scikit-learn's documented f1_score example", () => {
    // sklearn.metrics.f1_score docs: y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
    // → per class [0.8, 0, 0], macro 0.2667 (= 0.8/3), micro 0.3333 (2 correct of 6).
    const t = ['0', '1', '2', '0', '1', '2'];
    const p = ['0', '2', '1', '0', '0', '1'];
    const m = classificationMetrics(
      ['0', '1', '2'],
      matrixOf(
        ['0', '1', '2'],
        t.map((x, i) => [x, p[i]!]),
      ),
    );
    expect(m.perClass.map((c) => c.f1)).toEqual([0.8, 0, 0]);
    expect(m.macro.f1).toBeCloseTo(0.8 / 3, 12);
    expect(m.micro.f1).toBeCloseTo(1 / 3, 12);
    expect(m.accuracy).toBeCloseTo(1 / 3, 12);
  });

  /*
   * Worked by hand. Classes a, b, c, d (d declared, never expected nor predicted); columns a b c d (none):
   *   expected a: 5 1 0 0 1   support 7
   *   expected b: 2 3 0 0 0   support 5
   *   expected c: 0 1 0 0 1   support 2   (c is never predicted)
   *   expected d: 0 0 0 0 0   support 0
   * predicted: a 7, b 5, c 0, d 0; TP a 5, b 3, c 0, d 0.
   *   a: P 5/7, R 5/7, F1 10/14 = 5/7
   *   b: P 3/5, R 3/5, F1 6/10 = 0.6
   *   c: P 0/0 undefined, R 0/2 = 0, F1 0/(2+0) = 0       (zero_division=nan: P NaN, F1 still 0)
   *   d: P, R, F1 all 0/0: undefined, left out of every macro average
   * macro P = (5/7 + 3/5)/2 = 0.657142857; macro R = macro F1 = (5/7 + 3/5 + 0)/3 = 0.438095238.
   * n 14, correct 8, accuracy 8/14 = 0.571428571; no class 2.
   * micro P = 8/12 (12 predictions name a class), micro R = 8/14, micro F1 = 2·8/(14 + 12) = 16/26.
   */
  const classes = ['a', 'b', 'c', 'd'];
  const matrix = [
    [5, 1, 0, 0, 1],
    [2, 3, 0, 0, 0],
    [0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0],
  ];

  it('per class, with the zero-division rules', () => {
    const m = classificationMetrics(classes, matrix);
    const [a, b, c, d] = m.perClass;
    expect(a).toMatchObject({ label: 'a', support: 7, predicted: 7, truePositives: 5 });
    expect(a!.precision).toBeCloseTo(5 / 7, 12);
    expect(a!.recall).toBeCloseTo(5 / 7, 12);
    expect(a!.f1).toBeCloseTo(5 / 7, 12);
    expect(b).toMatchObject({ support: 5, predicted: 5, precision: 0.6, recall: 0.6, f1: 0.6 });
    expect(c).toMatchObject({ support: 2, predicted: 0, recall: 0, f1: 0 });
    expect(c!.precision).toBeNaN();
    expect(d!.precision).toBeNaN();
    expect(d!.recall).toBeNaN();
    expect(d!.f1).toBeNaN();
  });

  it('macro, micro and accuracy', () => {
    const m = classificationMetrics(classes, matrix);
    expect(m.n).toBe(14);
    expect(m.correct).toBe(8);
    expect(m.unclassified).toBe(2);
    expect(m.accuracy).toBeCloseTo(0.571428571, 9);
    expect(m.macro.precision).toBeCloseTo(0.657142857, 9);
    expect(m.macro.recall).toBeCloseTo(0.438095238, 9);
    expect(m.macro.f1).toBeCloseTo(0.438095238, 9);
    expect(m.micro.precision).toBeCloseTo(8 / 12, 12);
    expect(m.micro.recall).toBeCloseTo(8 / 14, 12);
    expect(m.micro.f1).toBeCloseTo(16 / 26, 12);
  });

  it('agrees with the definitions computed from raw pairs, on random data', () => {
    const rand = mulberry32(11);
    const labels = ['x', 'y', 'z', 'w'];
    for (let trial = 0; trial < 20; trial++) {
      const pairs: [string, string][] = [];
      const n = 1 + Math.floor(rand() * 60);
      for (let i = 0; i < n; i++) {
        // Expected among the first three only (w: declared, never expected); some predictions are NONE.
        const t = labels[Math.floor(rand() * 3)]!;
        const u = rand();
        const p = u < 0.5 ? t : u < 0.9 ? labels[Math.floor(rand() * 4)]! : NONE;
        pairs.push([t, p]);
      }
      const m = classificationMetrics(labels, matrixOf(labels, pairs));
      const ref = byDefinition(labels, pairs);
      m.perClass.forEach((c, i) => {
        const r = ref.per[i]!;
        for (const [got, want] of [
          [c.precision, r.p],
          [c.recall, r.r],
          [c.f1, r.f1],
        ] as const) {
          if (Number.isNaN(want)) expect(got).toBeNaN();
          else expect(got).toBeCloseTo(want, 12);
        }
        expect(c.support).toBe(r.support);
        // Where P and R are both defined and not both 0, F1 is their harmonic mean.
        if (c.precision + c.recall > 0) {
          expect(c.f1).toBeCloseTo((2 * c.precision * c.recall) / (c.precision + c.recall), 12);
        }
      });
      expect(m.macro.f1).toBeCloseTo(ref.macroF1, 12);
      if (Number.isNaN(ref.macroP)) expect(m.macro.precision).toBeNaN();
      else expect(m.macro.precision).toBeCloseTo(ref.macroP, 12);
      expect(m.macro.recall).toBeCloseTo(ref.macroR, 12);
      expect(m.accuracy).toBeCloseTo(ref.accuracy, 12);
      // Without NONE predictions micro-F1 is accuracy.
      if (m.unclassified === 0) expect(m.micro.f1).toBeCloseTo(m.accuracy, 12);
    }
  });

  it('an empty matrix has nothing defined', () => {
    const m = classificationMetrics(['a', 'b'], emptyConfusion(2));
    expect(m.n).toBe(0);
    expect(m.accuracy).toBeNaN();
    expect(m.macro.f1).toBeNaN();
    expect(m.micro.f1).toBeNaN();
  });

  it('rejects a matrix of the wrong shape', () => {
    expect(() => classificationMetrics(['a', 'b'], [[1, 0]])).toThrow(/2 rows of 3 cells/);
  });

  it('nanMean leaves NaN out', () => {
    expect(nanMean([1, Number.NaN, 0])).toBe(0.5);
    expect(nanMean([Number.NaN])).toBeNaN();
  });
});
