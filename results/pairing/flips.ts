/**
 * Which paired items flipped: the one definition of a flip that `holdout compare` (results/compare/
 * flips.ts) and `report --baseline` (results/report/baseline.ts) share.
 */
import type { PairRows } from './pairing.js';
import type { Grouping } from './units.js';

/** A flipped paired item: its index in PairRows, and the pass share of each side (0 or 1 per call). */
export interface FlippedItem {
  item: number;
  a: number;
  b: number;
}

/**
 * Which records flipped, in item order: the one definition that `compare` and `report --baseline`
 * share. One call per prompt: b (A pass → B fail) and c (fail → pass). With repeats: the prompts whose
 * pass share over their paired scored repeats fell or rose, each shown by a repeat that flipped
 * that way (else the prompt's first paired repeat).
 */
export function flippedItems(
  p: PairRows,
  unit: 'call' | 'prompt',
  g: Grouping,
): { regress: FlippedItem[]; fix: FlippedItem[] } {
  const n = p.callA.length;
  const regress: FlippedItem[] = [];
  const fix: FlippedItem[] = [];
  if (unit === 'call') {
    for (let i = 0; i < n; i++) {
      const pa = p.passA[i]!;
      const pb = p.passB[i]!;
      if (pa > pb) regress.push({ item: i, a: pa, b: pb });
      else if (pb > pa) fix.push({ item: i, a: pa, b: pb });
    }
  } else {
    // Per prompt: pass shares over its scored repeats, and the first repeat that flipped each way.
    const k = g.prompts;
    const sa = new Float64Array(k);
    const sb = new Float64Array(k);
    const count = new Int32Array(k);
    const down = new Int32Array(k).fill(-1);
    const up = new Int32Array(k).fill(-1);
    const first = new Int32Array(k).fill(-1);
    for (let i = 0; i < n; i++) {
      const pa = p.passA[i]!;
      const pb = p.passB[i]!;
      if (Number.isNaN(pa) || Number.isNaN(pb)) continue;
      const q = g.promptOf![i]!;
      sa[q]! += pa;
      sb[q]! += pb;
      count[q]!++;
      if (first[q] === -1) first[q] = i;
      if (pa > pb && down[q] === -1) down[q] = i;
      if (pb > pa && up[q] === -1) up[q] = i;
    }
    for (let q = 0; q < k; q++) {
      if (count[q] === 0) continue;
      const a = sa[q]! / count[q]!;
      const b = sb[q]! / count[q]!;
      if (b < a) regress.push({ item: down[q]! >= 0 ? down[q]! : first[q]!, a, b });
      else if (b > a) fix.push({ item: up[q]! >= 0 ? up[q]! : first[q]!, a, b });
    }
  }
  return { regress, fix };
}
