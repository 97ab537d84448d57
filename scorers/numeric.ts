import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';
import { fail, pass, quote } from './util.js';

export const NumericArgs = z.strictObject({
  /**
   * Where the output's number comes from: `whole` (the trimmed output must be exactly one number),
   * `first` / `last` (the first / last number found anywhere in the text).
   */
  extract: z.enum(['whole', 'first', 'last']).default('whole'),
  /** Absolute tolerance. */
  abs_tol: z.number().nonnegative().default(0),
  /** Relative tolerance, as a fraction of |reference|. */
  rel_tol: z.number().nonnegative().default(0),
});
export type NumericArgs = z.infer<typeof NumericArgs>;

// A plain decimal: optional sign, digits with optional thousands commas (groups of exactly three),
// optional fraction. No exponents, no leading-dot fractions (".5"), no percent or currency handling.
const NUMBER = String.raw`[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?`;
const WHOLE = new RegExp(`^${NUMBER}$`);
// Inside text, a number must stand alone: not glued to a letter, digit, `_`, `.` or `,` before it
// (nor to a sign before that), nor followed by a word character or by `.`/`,` and a digit. So
// "1e-3", "v1.2.3" and "1,23" yield no number rather than a misread one, "3-4" yields 3 only
// (never -4), "45%" yields 45.
// Only ASCII + and - are signs (not U+2212 −).
const IN_TEXT = new RegExp(String.raw`(?<![\w.,+-])${NUMBER}(?!\w|[.,]\d)`, 'g');

const toNumber = (s: string) => Number(s.replace(/,/g, ''));

/** The number `whole` / `first` / `last` finds in `text`, or undefined. */
export function extractNumber(text: string, mode: NumericArgs['extract']): number | undefined {
  if (mode === 'whole') {
    const t = text.trim();
    return WHOLE.test(t) ? toNumber(t) : undefined;
  }
  const all = text.match(IN_TEXT);
  const hit = mode === 'first' ? all?.[0] : all?.[all.length - 1];
  return hit === undefined ? undefined : toNumber(hit);
}

/**
 * `numeric`: 1 when the output's number x is within tolerance of the reference y, that is
 * |x − y| ≤ max(abs_tol, rel_tol·|y|) (both default 0: exact equality of the parsed values, so
 * "1,000.0" equals 1000). y is `reference.number` when that is a finite number, else
 * `reference.output` parsed like `whole`. No reference, or a reference.output that is not a plain
 * number: unscored. No number in the output: 0.
 */
export const numeric: ScorerFactory<NumericArgs> = {
  kind: 'numeric',
  description:
    'The number in the output is within abs_tol / rel_tol of reference.number or reference.output.',
  args: NumericArgs,
  create(name, args): Scorer {
    return {
      name,
      score({ record, output }: ScoreInput): Score {
        const ref = record.reference;
        let y: number | undefined;
        if (typeof ref?.number === 'number' && Number.isFinite(ref.number)) {
          y = ref.number;
        } else if (ref?.output !== undefined) {
          y = extractNumber(ref.output, 'whole');
          if (y === undefined) return UNSCORED(`reference.output ${quote(ref.output)} is not a number`);
        } else {
          return UNSCORED('no reference.number or reference.output');
        }
        const x = extractNumber(output.text, args.extract);
        if (x === undefined) {
          const where = args.extract === 'whole' ? 'output is not a number' : 'no number in output';
          return fail(`${where}: got=${quote(output.text)}`);
        }
        const diff = Math.abs(x - y);
        if (diff <= Math.max(args.abs_tol, args.rel_tol * Math.abs(y))) return pass();
        return fail(`expected=${y} got=${x} (|diff|=${diff})`);
      },
    };
  },
};
