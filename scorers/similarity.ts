import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';

// All three compare the output with `reference.output` (unscored without it) and return a value in
// [0, 1]; the common `threshold` field (default 1) decides `passed`. When output and reference are
// both empty (no code points / no tokens) the value is 1; when only one is, 0.

export const LevenshteinArgs = z.strictObject({
  /** Lowercase both sides and collapse whitespace runs to one space, trimmed, before comparing. */
  normalize: z.boolean().default(false),
});
export type LevenshteinArgs = z.infer<typeof LevenshteinArgs>;
export const RougeLArgs = z.strictObject({});
export type RougeLArgs = z.infer<typeof RougeLArgs>;
export const BleuArgs = z.strictObject({});
export type BleuArgs = z.infer<typeof BleuArgs>;

/** Edit distance (insert, delete, substitute: cost 1 each) between two sequences. */
export function levenshteinDistance<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length < b.length) [a, b] = [b, a];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] as number;
}

/** Length of the longest common subsequence of two sequences. */
export function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] =
        a[i - 1] === b[j - 1]
          ? (prev[j - 1] as number) + 1
          : Math.max(prev[j] as number, cur[j - 1] as number);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] as number;
}

/** 1 − d / max(|a|, |b|) over Unicode code points (not UTF-16 units); 1 when both are empty. */
export function levenshteinSimilarity(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const longest = Math.max(ca.length, cb.length);
  return longest === 0 ? 1 : 1 - levenshteinDistance(ca, cb) / longest;
}

const tokens = (s: string) => s.split(/\s+/).filter((t) => t !== '');

/**
 * ROUGE-L F-measure with β = 1 over lowercased whitespace tokens: with L the LCS length of
 * candidate and reference, P = L/|candidate|, R = L/|reference|, F = 2PR/(P + R) (0 when L = 0).
 */
export function rougeL(candidate: string, reference: string): number {
  const c = tokens(candidate.toLowerCase());
  const r = tokens(reference.toLowerCase());
  if (c.length === 0 || r.length === 0) return c.length === r.length ? 1 : 0;
  const l = lcsLength(c, r);
  if (l === 0) return 0;
  const p = l / c.length;
  const rec = l / r.length;
  return (2 * p * rec) / (p + rec);
}

function ngramCounts(toks: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= toks.length; i++) {
    // \u0000 cannot occur inside a whitespace token's join with another: a safe separator.
    const key = toks.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const BLEU_EPSILON = 0.1;

/**
 * Sentence BLEU-4 against one reference, as NLTK's `sentence_bleu(..., smoothing_function=
 * SmoothingFunction().method1)` computes it. Tokens: whitespace-separated, case-sensitive. For
 * n = 1..4, p_n = (clipped n-gram matches) / max(1, candidate n-grams); when the match count is 0
 * it becomes ε / max(1, candidate n-grams) with ε = 0.1 (Chen & Cherry 2014, smoothing 1).
 * BLEU = BP · exp(Σ ¼ · ln p_n), BP = 1 if c > r else exp(1 − r/c), c and r being the candidate's
 * and reference's token counts. As in NLTK, no unigram match at all gives 0. Unlike NLTK, an empty
 * candidate with an empty reference gives 1 (NLTK: 0).
 */
export function sentenceBleu(candidate: string, reference: string): number {
  const c = tokens(candidate);
  const r = tokens(reference);
  if (c.length === 0 || r.length === 0) return c.length === r.length ? 1 : 0;
  let logSum = 0;
  for (let n = 1; n <= 4; n++) {
    const cand = ngramCounts(c, n);
    const ref = ngramCounts(r, n);
    let matches = 0;
    let total = 0;
    for (const [gram, count] of cand) {
      total += count;
      matches += Math.min(count, ref.get(gram) ?? 0);
    }
    if (n === 1 && matches === 0) return 0;
    logSum += 0.25 * Math.log((matches === 0 ? BLEU_EPSILON : matches) / Math.max(1, total));
  }
  const bp = c.length > r.length ? 1 : Math.exp(1 - r.length / c.length);
  return bp * Math.exp(logSum);
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

function similarityScorer(name: string, measure: (output: string, reference: string) => number): Scorer {
  return {
    name,
    score({ record, output }: ScoreInput): Score {
      const expected = record.reference?.output;
      if (expected === undefined) return UNSCORED('no reference.output');
      const value = measure(output.text, expected);
      // passed is filled in by the binding from `threshold`; a bare scorer says pass only at 1.
      return { value, passed: value >= 1, detail: `${name}=${round(value)}` };
    },
  };
}

const normalizeText = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

export const levenshtein: ScorerFactory<LevenshteinArgs> = {
  kind: 'levenshtein',
  description: 'Levenshtein similarity 1 − d/max(len) to reference.output, over code points.',
  args: LevenshteinArgs,
  create(name, args) {
    const measure = args.normalize
      ? (a: string, b: string) => levenshteinSimilarity(normalizeText(a), normalizeText(b))
      : levenshteinSimilarity;
    return similarityScorer(name, measure);
  },
};

export const rouge_l: ScorerFactory<RougeLArgs> = {
  kind: 'rouge_l',
  description: 'ROUGE-L F1 (β = 1, LCS of lowercased whitespace tokens) against reference.output.',
  args: RougeLArgs,
  create: (name) => similarityScorer(name, rougeL),
};

export const bleu: ScorerFactory<BleuArgs> = {
  kind: 'bleu',
  description:
    'Sentence BLEU-4 (uniform weights, brevity penalty, Chen & Cherry smoothing 1) vs reference.output.',
  args: BleuArgs,
  create: (name) => similarityScorer(name, sentenceBleu),
};
