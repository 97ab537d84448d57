/**
 * The flipped records: the regressions (A pass → B fail) and fixes (fail → pass), or with repeats
 * the prompts whose pass share fell or rose, each with one-line excerpts of both outputs.
 */
import type { CompareRows, PairRows } from './pairing.js';
import type { Comparison, Flip } from '../compare/types.js';
import type { Grouping } from './units.js';

/** Characters of an output kept in a flip's excerpt. */
export const EXCERPT_CHARS = 100;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const BLANK_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]+/g;

/** One-line, control-free excerpt of an untrusted output, cut to `max` characters with '…'. */
export function excerpt(text: string | null | undefined, max = EXCERPT_CHARS): string {
  if (text === null || text === undefined) return '(no output)';
  const clean = text
    .slice(0, 4 * max)
    .replace(BLANK_OR_CONTROL, ' ')
    .trim();
  if (clean === '') return '(empty)';
  if (clean.length <= max) return clean;
  // Cut at max − 1 UTF-16 units, never inside a surrogate pair.
  let cut = max - 1;
  const code = clean.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${clean.slice(0, cut)}…`;
}

/**
 * The flipped records. One call per prompt: b (A pass → B fail) and c (fail → pass). With repeats:
 * the prompts whose pass share fell or rose, with excerpts from a repeat that flipped that way.
 */
export function findFlips(
  rows: CompareRows,
  unit: 'call' | 'prompt',
  g: Grouping,
  listed: number,
): Comparison['flips'] {
  const p = rows.pairs;
  const { regress, fix } = flippedItems(p, unit, g);
  const counts = { regressions: regress.length, fixes: fix.length };
  const shown = [...regress.slice(0, listed), ...fix.slice(0, listed)];
  const detail =
    shown.length > 0
      ? rows.flipDetail(shown.map((f) => ({ callA: p.callA[f.item]!, callB: p.callB[f.item]! })))
      : [];
  const flips = shown.map((f, i): Flip => {
    const d = detail[i]!;
    return {
      recordId: d.recordId,
      tags: d.tags,
      repeat: d.repeat,
      passA: f.a,
      passB: f.b,
      outputA: excerpt(d.outputA),
      outputB: excerpt(d.outputB),
    };
  });
  const nRegress = Math.min(listed, regress.length);
  return {
    counts,
    listed: Number.isFinite(listed) ? listed : 'all',
    regressions: flips.slice(0, nRegress),
    fixes: flips.slice(nRegress),
  };
}

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
