/**
 * The flipped records of a comparison: the regressions (A pass → B fail) and fixes (fail → pass), or
 * with repeats the prompts whose pass share fell or rose (results/pairing/flips.ts decides which),
 * each with one-line excerpts of both outputs.
 */
import { flippedItems } from '../pairing/flips.js';
import type { CompareRows } from '../pairing/pairing.js';
import type { Grouping } from '../pairing/units.js';
import type { Comparison, Flip } from './types.js';

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
