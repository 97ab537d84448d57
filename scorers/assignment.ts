/**
 * Best assignment between two lists: rows (e.g. reference elements) and columns (output
 * elements), each matched at most once, maximizing the total weight of the matched pairs.
 */
export interface Assignment {
  /** Matched `[row, column]` pairs, by increasing row; exactly min(rows, columns) of them. */
  pairs: [number, number][];
  /** Sum of the matched pairs' weights. */
  total: number;
}

/**
 * Maximum-weight assignment on an n × m matrix of finite weights (the Hungarian algorithm with
 * potentials, O(min(n,m)² · max(n,m))). Every row or every column is matched, whichever is
 * fewer: with non-negative weights that is also the best matching of any size. Ties between
 * equally good assignments are broken deterministically but arbitrarily.
 */
export function maxWeightAssignment(weights: readonly (readonly number[])[]): Assignment {
  const n = weights.length;
  const m = n === 0 ? 0 : (weights[0] as readonly number[]).length;
  for (const row of weights) {
    if (row.length !== m) throw new Error('maxWeightAssignment: rows of different lengths');
    for (const w of row) if (!Number.isFinite(w)) throw new Error(`maxWeightAssignment: weight ${w}`);
  }
  if (n === 0 || m === 0) return { pairs: [], total: 0 };
  // The solver below wants rows ≤ columns; transpose otherwise.
  const transposed = n > m;
  const rows = transposed ? m : n;
  const cols = transposed ? n : m;
  const w = (i: number, j: number) =>
    transposed ? (weights[j] as readonly number[])[i]! : (weights[i] as readonly number[])[j]!;
  let max = -Infinity;
  for (const row of weights) for (const x of row) if (x > max) max = x;
  // Minimizing max − w maximizes w; costs are then ≥ 0, as the potentials method assumes.
  const cost = (i: number, j: number) => max - w(i, j);

  // 1-based, column 0 is the virtual start of each augmenting path (the e-maxx formulation).
  const u = new Array<number>(rows + 1).fill(0);
  const v = new Array<number>(cols + 1).fill(0);
  const rowOf = new Array<number>(cols + 1).fill(0); // rowOf[j]: row matched to column j, 0 = none
  const way = new Array<number>(cols + 1).fill(0);
  for (let i = 1; i <= rows; i++) {
    rowOf[0] = i;
    let j0 = 0;
    const minv = new Array<number>(cols + 1).fill(Infinity);
    const used = new Array<boolean>(cols + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = rowOf[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[rowOf[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (rowOf[j0] !== 0);
    do {
      const j1 = way[j0]!;
      rowOf[j0] = rowOf[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const pairs: [number, number][] = [];
  for (let j = 1; j <= cols; j++) {
    const i = rowOf[j]!;
    if (i === 0) continue;
    pairs.push(transposed ? [j - 1, i - 1] : [i - 1, j - 1]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  let total = 0;
  for (const [i, j] of pairs) total += (weights[i] as readonly number[])[j]!;
  return { pairs, total };
}
