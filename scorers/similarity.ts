import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';

// All three compare the output with `reference.output` (unscored without it) and return a value in
// [0, 1]; the common `threshold` field (default 1) decides `passed`. Two empty strings are 1 for
// Levenshtein; ROUGE-L and BLEU give 0 when either side has no tokens, as rouge-score and NLTK do,
// since their values are meant to match those implementations.

export const LevenshteinArgs = z.strictObject({
  /** Lowercase both sides and collapse whitespace runs to one space, trimmed, before comparing. */
  normalize: z.boolean().default(false),
});
export type LevenshteinArgs = z.infer<typeof LevenshteinArgs>;
export const RougeLArgs = z.strictObject({
  /**
   * `rouge_score` (default): the Python rouge-score package's default tokenizer: lowercase, every
   * character outside [a-z0-9] becomes a space, split on spaces; no stemming (its `use_stemmer=False`).
   * It keeps no letter outside a–z, so text in other scripts has no tokens and scores 0: for such text
   * use `whitespace`, lowercased whitespace-separated tokens with their punctuation (holdout's
   * tokenizer before rouge-score's became the default).
   */
  tokenizer: z.enum(['rouge_score', 'whitespace']).default('rouge_score'),
});
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

export type RougeTokenizer = RougeLArgs['tokenizer'];

const nonEmpty = (t: string) => t !== '';

/** rouge-score's `tokenize.tokenize(text, stemmer=None)`: lowercase, non-[a-z0-9] runs → space, split. */
function rougeScoreTokens(s: string): string[] {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter(nonEmpty);
}

const whitespaceTokens = (s: string) => s.toLowerCase().split(/\s+/).filter(nonEmpty);

const ROUGE_TOKENIZERS: Record<RougeTokenizer, (s: string) => string[]> = {
  rouge_score: rougeScoreTokens,
  whitespace: whitespaceTokens,
};

/**
 * ROUGE-L F-measure with β = 1, as rouge-score's `rougeL` (not `rougeLsum`): with L the LCS length of
 * the candidate's and reference's tokens, P = L/|candidate|, R = L/|reference|, F = 2PR/(P + R);
 * 0 when L = 0 or either side has no tokens. Tokens from rouge-score's default tokenizer unless told.
 */
export function rougeL(
  candidate: string,
  reference: string,
  tokenizer: RougeTokenizer = 'rouge_score',
): number {
  const tokens = ROUGE_TOKENIZERS[tokenizer];
  const c = tokens(candidate);
  const r = tokens(reference);
  if (c.length === 0 || r.length === 0) return 0;
  const l = lcsLength(c, r);
  if (l === 0) return 0;
  const p = l / c.length;
  const rec = l / r.length;
  return (2 * p * rec) / (p + rec);
}

/**
 * Python's `str.split()` with no argument, which is how NLTK users tokenize: runs of what `str.isspace`
 * calls whitespace. That is JavaScript's `\s` without U+FEFF (a format character to Python) and with
 * U+001C–U+001F and U+0085 (NEL), which `\s` lacks.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+001C–U+001F are whitespace to Python.
const PYTHON_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

const pythonSplit = (s: string) => s.split(PYTHON_WHITESPACE).filter(nonEmpty);

function ngramCounts(toks: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= toks.length; i++) {
    // A space never occurs inside a token (it is what tokens are split on): a safe separator.
    const key = toks.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const BLEU_EPSILON = 0.1;

/**
 * Sentence BLEU-4 against one reference, as NLTK's `sentence_bleu(..., smoothing_function=
 * SmoothingFunction().method1)` computes it on `reference.split()` and `candidate.split()`: tokens
 * are split on Python's whitespace (`pythonSplit`), case-sensitive. For n = 1..4, p_n = (clipped
 * n-gram matches) / max(1, candidate n-grams); when the match count is 0 it becomes ε / max(1, candidate n-grams) with ε = 0.1 (Chen & Cherry 2014, smoothing 1).
 * BLEU = BP · exp(Σ ¼ · ln p_n), BP = 1 if c > r else exp(1 − r/c), c and r being the candidate's
 * and reference's token counts. As in NLTK, no unigram match at all gives 0, and so does an empty
 * candidate or reference (two empty strings included).
 */
export function sentenceBleu(candidate: string, reference: string): number {
  const c = pythonSplit(candidate);
  const r = pythonSplit(reference);
  if (c.length === 0 || r.length === 0) return 0;
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
  description:
    "ROUGE-L F1 (β = 1, LCS of tokens; rouge-score's tokenizer by default) against reference.output.",
  args: RougeLArgs,
  create: (name, args) => similarityScorer(name, (a, b) => rougeL(a, b, args.tokenizer)),
};

export const bleu: ScorerFactory<BleuArgs> = {
  kind: 'bleu',
  description:
    'Sentence BLEU-4 (as NLTK: str.split() tokens, brevity penalty, smoothing method 1) vs reference.output.',
  args: BleuArgs,
  create: (name) => similarityScorer(name, sentenceBleu),
};
