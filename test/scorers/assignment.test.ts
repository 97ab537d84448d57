import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../harness/random.js';
import { maxWeightAssignment } from '../../scorers/assignment.js';

/** Independent check: tries every injective map of the smaller side into the larger one. */
function bruteForce(w: number[][]): number {
  const n = w.length;
  const m = n === 0 ? 0 : w[0]!.length;
  const small = Math.min(n, m);
  const at = (i: number, j: number) => (n <= m ? w[i]![j]! : w[j]![i]!);
  const big = Math.max(n, m);
  let best = small === 0 ? 0 : -Infinity;
  const used = new Array<boolean>(big).fill(false);
  const walk = (i: number, sum: number) => {
    if (i === small) {
      best = Math.max(best, sum);
      return;
    }
    for (let j = 0; j < big; j++) {
      if (used[j]) continue;
      used[j] = true;
      walk(i + 1, sum + at(i, j));
      used[j] = false;
    }
  };
  walk(0, 0);
  return best;
}

describe('maxWeightAssignment', () => {
  it('picks the best pairs of a worked 3 × 3 example', () => {
    // Greedy would take the 9 (row 0 → col 0) and then 1 + 1 = 11; the best is 8 + 7 + 6 = 21
    // (row 0 → col 1, row 1 → col 0, row 2 → col 2), found by listing the 6 permutations.
    const w = [
      [9, 8, 0],
      [7, 1, 0],
      [0, 0, 6],
    ];
    expect(maxWeightAssignment(w)).toEqual({
      pairs: [
        [0, 1],
        [1, 0],
        [2, 2],
      ],
      total: 21,
    });
  });

  it('handles rectangular matrices both ways and empty ones', () => {
    // 2 rows, 3 columns: row 0 → col 2 (5), row 1 → col 0 (4) beats row 0 → col 0 (6) + 1.
    const wide = [
      [6, 0, 5],
      [4, 1, 0],
    ];
    expect(maxWeightAssignment(wide)).toEqual({
      pairs: [
        [0, 2],
        [1, 0],
      ],
      total: 9,
    });
    const tall = [
      [6, 4],
      [0, 1],
      [5, 0],
    ];
    expect(maxWeightAssignment(tall)).toEqual({
      pairs: [
        [0, 1],
        [2, 0],
      ],
      total: 9,
    });
    expect(maxWeightAssignment([])).toEqual({ pairs: [], total: 0 });
    expect(maxWeightAssignment([[], []])).toEqual({ pairs: [], total: 0 });
  });

  it('agrees with brute force on 500 random small matrices, fractional weights and ties included', () => {
    const rand = mulberry32(20240611);
    for (let t = 0; t < 500; t++) {
      const n = 1 + Math.floor(rand() * 6);
      const m = 1 + Math.floor(rand() * 6);
      // Every third matrix draws from {0, 0.5, 1} so that ties are common.
      const coarse = t % 3 === 0;
      const w = Array.from({ length: n }, () =>
        Array.from({ length: m }, () => (coarse ? Math.floor(rand() * 3) / 2 : rand())),
      );
      const got = maxWeightAssignment(w);
      expect(got.total).toBeCloseTo(bruteForce(w), 9);
      expect(got.pairs).toHaveLength(Math.min(n, m));
      expect(new Set(got.pairs.map(([i]) => i)).size).toBe(got.pairs.length);
      expect(new Set(got.pairs.map(([, j]) => j)).size).toBe(got.pairs.length);
    }
  });

  it('rejects ragged rows and non-finite weights', () => {
    expect(() => maxWeightAssignment([[1, 2], [3]])).toThrow('rows of different lengths');
    expect(() => maxWeightAssignment([[Number.NaN]])).toThrow('weight NaN');
  });
});
