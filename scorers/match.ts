import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';
import { fail, pass, quote } from './util.js';

/**
 * Each option turns one normalization on, applied to output and reference alike, in the order
 * nfkc → case → punctuation → whitespace (NFKC first so that full-width letters and punctuation
 * are folded before the later steps look at them).
 */
const matchArgs = (on: boolean) =>
  z.strictObject({
    /** Ignore case. */
    case: z.boolean().default(on),
    /** Collapse whitespace runs to one space and trim. */
    whitespace: z.boolean().default(on),
    /** Delete Unicode punctuation (\p{P}). */
    punctuation: z.boolean().default(on),
    /** Unicode NFKC: full-width and compatibility forms fold to their plain equivalents. */
    nfkc: z.boolean().default(on),
  });

export const ExactArgs = matchArgs(false);
export const NormalizedArgs = matchArgs(true);
export type MatchArgs = z.infer<typeof ExactArgs>;

const PUNCTUATION = /\p{P}/gu;
const WHITESPACE = /\s+/g;

/** Composes only the enabled steps once, so the per-record path does no option checks. */
function normalizer(opts: MatchArgs): (s: string) => string {
  const steps: ((s: string) => string)[] = [];
  if (opts.nfkc) steps.push((s) => s.normalize('NFKC'));
  if (opts.case) steps.push((s) => s.toLowerCase());
  if (opts.punctuation) steps.push((s) => s.replace(PUNCTUATION, ''));
  if (opts.whitespace) steps.push((s) => s.replace(WHITESPACE, ' ').trim());
  return (s) => {
    for (const step of steps) s = step(s);
    return s;
  };
}

function matchScorer(name: string, opts: MatchArgs): Scorer {
  const norm = normalizer(opts);
  return {
    name,
    score({ record, output }: ScoreInput): Score {
      const expected = record.reference?.output;
      if (expected === undefined) return UNSCORED('no reference.output');
      if (norm(output.text) === norm(expected)) return pass();
      return fail(`expected=${quote(expected)} got=${quote(output.text)}`);
    },
  };
}

export const exact: ScorerFactory<MatchArgs> = {
  kind: 'exact',
  description: 'Output text equals reference.output exactly (no trimming unless options say so).',
  args: ExactArgs,
  create: matchScorer,
};

export const normalized: ScorerFactory<MatchArgs> = {
  kind: 'normalized',
  description:
    'Output equals reference.output after NFKC, case folding, punctuation removal and whitespace collapse.',
  args: NormalizedArgs,
  create: matchScorer,
};
