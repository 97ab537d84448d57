import { describe, expect, it } from 'vitest';
import {
  asGrade,
  cohenKappa,
  DEFAULT_GRADE_THRESHOLD,
  humanPassed,
  judgeLabelOf,
  labelCategory,
} from '../../results/stats/agreement.js';

const Z = 1.959963985;

/** Kappa straight from the definition, over raw (a, b) rating pairs: what sklearn's cohen_kappa_score does. */
function kappaOfPairs(pairs: [string, string][]): number {
  const n = pairs.length;
  const cats = [...new Set(pairs.flat())];
  const po = pairs.filter(([a, b]) => a === b).length / n;
  let pe = 0;
  for (const c of cats) {
    pe += (pairs.filter(([a]) => a === c).length / n) * (pairs.filter(([, b]) => b === c).length / n);
  }
  return (po - pe) / (1 - pe);
}

function pairsOf(table: number[][]): [string, string][] {
  const out: [string, string][] = [];
  table.forEach((row, i) => {
    row.forEach((x, j) => {
      for (let k = 0; k < x; k++) out.push([`c${i}`, `c${j}`]);
    });
  });
  return out;
}

/**
 * An independent large-sample SE: the delta method, numerically. κ is a smooth function of the cell
 * probabilities p; under multinomial sampling Var(κ̂) ≈ (1/n)·[Σ g_ij² p_ij − (Σ g_ij p_ij)²] with
 * g = ∂κ/∂p, here by central differences (p treated as free coordinates). This is what the
 * Fleiss–Cohen–Everitt closed form is the exact expansion of.
 */
function deltaMethodSe(table: number[][]): number {
  const n = table.flat().reduce((a, b) => a + b, 0);
  const k = table.length;
  const kappaOf = (p: number[][]) => {
    let po = 0;
    let pe = 0;
    for (let i = 0; i < k; i++) {
      po += p[i]![i]!;
      let r = 0;
      let c = 0;
      for (let j = 0; j < k; j++) {
        r += p[i]![j]!;
        c += p[j]![i]!;
      }
      pe += r * c;
    }
    return (po - pe) / (1 - pe);
  };
  const p = table.map((row) => row.map((x) => x / n));
  const h = 1e-6;
  let mean = 0;
  let square = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const up = p.map((r) => [...r]);
      const down = p.map((r) => [...r]);
      up[i]![j]! += h;
      down[i]![j]! -= h;
      const g = (kappaOf(up) - kappaOf(down)) / (2 * h);
      mean += g * p[i]![j]!;
      square += g * g * p[i]![j]!;
    }
  }
  return Math.sqrt((square - mean * mean) / n);
}

describe('cohenKappa', () => {
  /*
   * 2 × 2, the classic example (Wikipedia, "Cohen's kappa"): 50 items, both yes 20, A yes B no 5,
   * A no B yes 10, both no 15.
   *   po = 35/50 = 0.7; rows 0.5, 0.5; columns 0.6, 0.4; pe = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.2/0.5 = 0.4.
   * Fleiss–Cohen–Everitt, 1 − κ = 0.6:
   *   A = 0.4·[1 − (0.5 + 0.6)·0.6]² + 0.3·[1 − (0.5 + 0.4)·0.6]² = 0.4·0.1156 + 0.3·0.2116 = 0.10972
   *   B = 0.36·[0.1·(0.6 + 0.5)² + 0.2·(0.4 + 0.5)²] = 0.36·(0.121 + 0.162) = 0.10188
   *   C = [0.4 − 0.5·0.6]² = 0.01
   *   Var = (0.10972 + 0.10188 − 0.01) / (50·0.5²) = 0.2016/12.5 = 0.016128; SE = 0.1269961
   *   95% CI = 0.4 ± 1.959964·0.1269961 = [0.1510903, 0.6489097]
   */
  it('2 × 2: the textbook example, worked by hand', () => {
    const table = [
      [20, 5],
      [10, 15],
    ];
    const k = cohenKappa(table);
    expect(k.n).toBe(50);
    expect(k.po).toBeCloseTo(0.7, 12);
    expect(k.pe).toBeCloseTo(0.5, 12);
    expect(k.kappa).toBeCloseTo(0.4, 12);
    expect(k.se).toBeCloseTo(Math.sqrt(0.016128), 10);
    expect(k.se).toBeCloseTo(0.1269961, 6);
    expect(k.lo).toBeCloseTo(0.4 - Z * Math.sqrt(0.016128), 8);
    expect(k.hi).toBeCloseTo(0.4 + Z * Math.sqrt(0.016128), 8);
    expect(k.kappa).toBeCloseTo(kappaOfPairs(pairsOf(table)), 12);
    expect(k.se).toBeCloseTo(deltaMethodSe(table), 6);
  });

  /*
   * 3 × 3, n = 100 (rows: judge, columns: human):
   *   25  5  0 | 30         po = 0.75
   *    5 30  5 | 40         pe = 0.3·0.3 + 0.4·0.45 + 0.3·0.25 = 0.345
   *    0 10 20 | 30         κ = 0.405/0.655 = 0.6183206  (sklearn cohen_kappa_score on the pairs: the same)
   *   30 45 25
   * 1 − κ = 0.25/0.655 = 0.3816794.
   *   A = 0.25·(1 − 0.60·0.3816794)² + 0.30·(1 − 0.85·0.3816794)² + 0.20·(1 − 0.55·0.3816794)²
   *     = 0.25·0.5944293 + 0.30·0.4563988 + 0.20·0.6242206 = 0.4103711
   *   B = 0.3816794²·[0.05·0.70² + 0.05·0.75² + 0.05·0.75² + 0.10·0.65²] = 0.1456792·0.123 = 0.0179185
   *       (cells 12, 21, 23, 32 with (p.i + pj.)²: 0.30+0.40, 0.45+0.30, 0.45+0.30, 0.25+0.40)
   *   C = (0.6183206 − 0.345·0.3816794)² = 0.4866412² = 0.2368197
   *   Var = (0.4103711 + 0.0179185 − 0.2368197) / (100·0.655²) = 0.1914699/42.9025 = 0.0044629
   *   SE = 0.0668049; 95% CI = 0.6183206 ± 0.1309352 = [0.4873854, 0.7492558]
   */
  it('3 × 3, worked by hand', () => {
    const table = [
      [25, 5, 0],
      [5, 30, 5],
      [0, 10, 20],
    ];
    const k = cohenKappa(table);
    expect(k.po).toBeCloseTo(0.75, 12);
    expect(k.pe).toBeCloseTo(0.345, 12);
    expect(k.kappa).toBeCloseTo(0.405 / 0.655, 12);
    expect(k.se).toBeCloseTo(0.0668049, 6);
    expect(k.lo).toBeCloseTo(0.4873854, 5);
    expect(k.hi).toBeCloseTo(0.7492558, 5);
    expect(k.kappa).toBeCloseTo(kappaOfPairs(pairsOf(table)), 12);
    expect(k.se).toBeCloseTo(deltaMethodSe(table), 6);
  });

  it('is symmetric in the two raters', () => {
    const t = [
      [7, 2, 1],
      [3, 9, 0],
      [1, 4, 6],
    ];
    const tt = t[0]!.map((_, j) => t.map((row) => row[j]!));
    const a = cohenKappa(t);
    const b = cohenKappa(tt);
    expect(b.kappa).toBeCloseTo(a.kappa, 12);
    expect(b.se).toBeCloseTo(a.se, 12);
    expect(a.se).toBeCloseTo(deltaMethodSe(t), 6);
  });

  it('perfect agreement: κ = 1 with zero SE; chance-level: κ = 0', () => {
    const perfect = cohenKappa([
      [5, 0],
      [0, 5],
    ]);
    expect(perfect.kappa).toBe(1);
    expect(perfect.se).toBeCloseTo(0, 12);
    expect([perfect.lo, perfect.hi]).toEqual([1, 1]);
    // Independent raters with margins 0.5/0.5: each cell 0.25, po = pe = 0.5.
    expect(
      cohenKappa([
        [5, 5],
        [5, 5],
      ]).kappa,
    ).toBe(0);
    // Complete disagreement with balanced margins: po 0, pe 0.5, κ = −1; the CI stays within [−1, 1].
    const opposite = cohenKappa([
      [0, 5],
      [5, 0],
    ]);
    expect(opposite.kappa).toBe(-1);
    expect(opposite.lo).toBeGreaterThanOrEqual(-1);
  });

  it('is undefined without items, or when both raters used one category only', () => {
    expect(
      cohenKappa([
        [0, 0],
        [0, 0],
      ]).kappa,
    ).toBeNaN();
    const one = cohenKappa([
      [10, 0],
      [0, 0],
    ]);
    expect(one.po).toBe(1);
    expect(one.kappa).toBeNaN();
    expect(one.se).toBeNaN();
  });

  it('rejects a table that is not square or holds negative counts', () => {
    expect(() => cohenKappa([[1, 2]])).toThrow(/square/);
    expect(() =>
      cohenKappa([
        [1, -1],
        [0, 1],
      ]),
    ).toThrow(/>= 0/);
  });
});

describe('human grades', () => {
  it('booleans as they are; numbers at >= the threshold, 0.5 by default', () => {
    expect(DEFAULT_GRADE_THRESHOLD).toBe(0.5);
    expect(humanPassed(true)).toBe(true);
    expect(humanPassed(false, 0)).toBe(false);
    expect(humanPassed(0.5)).toBe(true);
    expect(humanPassed(0.49)).toBe(false);
    expect(humanPassed(0.8, 0.9)).toBe(false);
    expect(humanPassed(1, 1)).toBe(true);
  });

  it('strings only as pass/fail words; other strings are labels', () => {
    for (const w of ['pass', ' Passed ', 'TRUE', 'yes']) expect(humanPassed(w)).toBe(true);
    for (const w of ['fail', 'failed', 'False', 'no']) expect(humanPassed(w)).toBe(false);
    expect(humanPassed('billing')).toBeNull();
  });

  it('asGrade keeps numbers in [0, 1], booleans and non-empty strings', () => {
    expect(asGrade(0.25)).toBe(0.25);
    expect(asGrade(true)).toBe(true);
    expect(asGrade('good')).toBe('good');
    for (const bad of [1.5, -0.1, Number.NaN, null, {}, [], '  ', undefined])
      expect(asGrade(bad)).toBeUndefined();
  });

  it("reads a judge_label detail, 'label: <label>; <rationale>' (scorers/judge.ts)", () => {
    expect(judgeLabelOf('label: billing; the customer asks about an invoice')).toBe('billing');
    expect(judgeLabelOf('label: billing')).toBe('billing');
    // With the declared labels, the longest one named wins: a label may itself hold "; ".
    const labels = ['ok', 'ok; but terse', 'bad'];
    expect(judgeLabelOf('label: ok; but terse; short answer', labels)).toBe('ok; but terse');
    expect(judgeLabelOf('label: ok; fine', labels)).toBe('ok');
    expect(judgeLabelOf('label: okay; fine', labels)).toBeNull();
    expect(judgeLabelOf('the label: billing; x')).toBeNull();
    expect(judgeLabelOf('label: ; nothing')).toBeNull();
    expect(judgeLabelOf(null)).toBeNull();
    expect(labelCategory('  Billing ')).toBe('billing');
  });
});
