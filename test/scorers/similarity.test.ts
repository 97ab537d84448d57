import { describe, expect, it } from 'vitest';
import { buildScorers, ScorerSpec } from '../../scorers/index.js';
import {
  bleu,
  lcsLength,
  levenshtein,
  levenshteinDistance,
  levenshteinSimilarity,
  rouge_l,
  rougeL,
  sentenceBleu,
} from '../../scorers/similarity.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

describe('levenshtein', () => {
  it('computes edit distance and similarity 1 − d/max(len)', () => {
    expect(levenshteinDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(levenshteinDistance([...'flaw'], [...'lawn'])).toBe(2);
    expect(levenshteinSimilarity('kitten', 'sitting')).toBeCloseTo(1 - 3 / 7, 12);
    expect(levenshteinSimilarity('flaw', 'lawn')).toBe(0.5);
    expect(levenshteinSimilarity('abc', 'abc')).toBe(1);
    expect(levenshteinSimilarity('abc', 'xyz')).toBe(0);
  });

  it('counts code points, not UTF-16 units', () => {
    // One substitution over 2 code points; UTF-16 would see 3 units and give 2/3.
    expect(levenshteinSimilarity('👍a', '👍b')).toBe(0.5);
    expect(levenshteinSimilarity('😀', '😁')).toBe(0);
  });

  it('handles empty strings', () => {
    expect(levenshteinSimilarity('', '')).toBe(1);
    expect(levenshteinSimilarity('', 'ab')).toBe(0);
  });

  it('scores against reference.output, optionally normalized', () => {
    const plain = levenshtein.create('lev', levenshtein.args.parse({}));
    const norm = levenshtein.create('lev', levenshtein.args.parse({ normalize: true }));
    expect(plain.score(input('Hello  World', { output: 'hello world' }))).toEqual({
      value: 1 - 3 / 12,
      passed: false,
      detail: 'lev=0.75',
    });
    expect((norm.score(input(' Hello \n World', { output: 'hello world' })) as Score).value).toBe(1);
    expect(plain.score(input('x', { label: 'x' }))).toEqual({
      value: null,
      passed: null,
      detail: 'no reference.output',
    });
  });
});

describe('rouge_l', () => {
  it('is the LCS F-measure with β = 1', () => {
    expect(lcsLength([...'ABCBDAB'], [...'BDCABA'])).toBe(4);
    // LCS "the cat on the mat" = 5 of 6 on both sides: P = R = F = 5/6.
    expect(rougeL('the cat sat on the mat', 'the cat is on the mat')).toBeCloseTo(5 / 6, 12);
    // LCS 2; P = 2/2, R = 2/4, F = 2·1·0.5/1.5 = 2/3.
    expect(rougeL('The  Cat', 'the cat sat down')).toBeCloseTo(2 / 3, 12);
    // Order matters: LCS of "b a" and "a b" is 1, P = R = 1/2.
    expect(rougeL('b a', 'a b')).toBe(0.5);
    expect(rougeL('x y', 'a b')).toBe(0);
  });

  it("tokenizes as rouge-score's default tokenizer: lowercase, non-[a-z0-9] is a space, no stemming", () => {
    expect(rougeL('Hello, World!', 'hello world')).toBe(1);
    expect(rougeL("The cat's mat-sized bed.", 'the cat s mat sized bed')).toBe(1);
    // c = police killed the gunman (4), r = the gunman was killed by police (6): LCS "the gunman" = 2;
    // P = 2/4, R = 2/6, F = 2 · 1/2 · 1/3 / (1/2 + 1/3) = 2/5.
    expect(rougeL('Police killed the gunman!', 'The gunman was killed by police.')).toBeCloseTo(0.4, 12);
    // No stemming: "cats" is not "cat" (P = R = 1/2).
    expect(rougeL('cats sleep', 'cat sleep')).toBe(0.5);
    // Letters outside a-z are separators: "naïve" is "na ve"; text in other scripts has no tokens.
    expect(rougeL('naïve', 'na ve')).toBe(1);
    expect(rougeL('привет мир', 'привет мир')).toBe(0);
  });

  it('is 0 when either side has no tokens, as rouge-score', () => {
    expect(rougeL('', ' ')).toBe(0);
    expect(rougeL('!!!', '...')).toBe(0);
    expect(rougeL('', 'a')).toBe(0);
    expect(rougeL('', '', 'whitespace')).toBe(0);
  });

  it('keeps lowercased whitespace tokens as the `whitespace` tokenizer', () => {
    expect(rougeL('Hello, World!', 'hello world', 'whitespace')).toBe(0);
    expect(rougeL('привет мир', 'Привет мир', 'whitespace')).toBe(1);
    // Only "killed" and "the" are common ("gunman!" ≠ "gunman", "police." ≠ "police") and in opposite
    // orders: LCS 1, P = 1/4, R = 1/6, F = 2 · 1/24 / (10/24) = 1/5.
    expect(rougeL('Police killed the gunman!', 'The gunman was killed by police.', 'whitespace')).toBeCloseTo(
      0.2,
      12,
    );
  });

  it('scores against reference.output, with the tokenizer option', () => {
    const s = rouge_l.create('rouge_l', rouge_l.args.parse({}));
    expect((s.score(input('The cat', { output: 'the cat sat down' })) as Score).value).toBeCloseTo(2 / 3, 12);
    expect(s.score(input('Hello, World!', { output: 'hello world' }))).toEqual({
      value: 1,
      passed: true,
      detail: 'rouge_l=1',
    });
    const ws = rouge_l.create('rouge_l', rouge_l.args.parse({ tokenizer: 'whitespace' }));
    expect((ws.score(input('Hello, World!', { output: 'hello world' })) as Score).value).toBe(0);
    expect(rouge_l.args.safeParse({ tokenizer: 'nltk' }).success).toBe(false);
  });
});

describe('bleu', () => {
  it('matches hand-worked sentence BLEU-4 with smoothing method 1', () => {
    // Hypothesis "the cat sat on the mat" vs reference "the cat is on the mat" (c = r = 6, BP = 1):
    // p1 = 5/6 (the×2, cat, on, mat), p2 = 3/5 (the cat, on the, the mat), p3 = 1/4 (on the mat),
    // p4 = 0 matches of 3 → ε/3 = 0.1/3.
    // BLEU = (5/6 · 3/5 · 1/4 · 1/30)^(1/4) = 240^(−1/4) ≈ 0.254066.
    expect(sentenceBleu('the cat sat on the mat', 'the cat is on the mat')).toBeCloseTo(240 ** -0.25, 12);
    expect(sentenceBleu('the cat sat on the mat', 'the cat is on the mat')).toBeCloseTo(0.254066, 6);
  });

  it('applies the brevity penalty, and ε/1 when there are no n-grams of that order', () => {
    // "the cat sat" vs "the cat sat on the mat": p1 = p2 = p3 = 1; the hypothesis has no 4-gram,
    // so p4 = ε/max(1, 0) = 0.1. BP = exp(1 − 6/3) = e^−1. BLEU = e^−1 · 0.1^(1/4) ≈ 0.206874.
    expect(sentenceBleu('the cat sat', 'the cat sat on the mat')).toBeCloseTo(Math.exp(-1) * 0.1 ** 0.25, 12);
    expect(sentenceBleu('the cat sat', 'the cat sat on the mat')).toBeCloseTo(0.206874, 6);
  });

  it('clips n-gram counts to the reference and has no penalty for a longer hypothesis', () => {
    // "the the the the" vs "the cat": p1 = 1/4 (clipped to the reference's one "the"), p2 = ε/3,
    // p3 = ε/2, p4 = ε/1; c = 4 > r = 2 so BP = 1.
    // BLEU = (1/4 · 0.1/3 · 0.1/2 · 0.1)^(1/4) ≈ 0.080343.
    const expected = (0.25 * (0.1 / 3) * (0.1 / 2) * 0.1) ** 0.25;
    expect(sentenceBleu('the the the the', 'the cat')).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(0.080343, 6);
  });

  it('is 1 for an identical sentence of 4+ tokens, 0 with no unigram match, case-sensitive', () => {
    expect(sentenceBleu('a b c d e', 'a b c d e')).toBe(1);
    expect(sentenceBleu('x y z w', 'a b c d')).toBe(0);
    expect(sentenceBleu('A B C D', 'a b c d')).toBe(0);
  });

  it('is 0 when either side is empty, two empty strings included, as NLTK', () => {
    // NLTK 3.8 (Debian python3-nltk): sentence_bleu([[]], [], smoothing_function=method1) == 0.
    expect(sentenceBleu('', '')).toBe(0);
    expect(sentenceBleu(' \n', '\t')).toBe(0);
    expect(sentenceBleu('', 'a')).toBe(0);
    expect(sentenceBleu('a', '')).toBe(0);
  });

  it("splits on what Python's str.split() calls whitespace", () => {
    // NEL (U+0085) and U+001F separate tokens for Python, not for JavaScript's \s. NLTK 3.8 on
    // "the cat\x85sat on\x1fthe mat".split() vs "the cat sat on the mat".split(): 1.0.
    expect(sentenceBleu('the cat\u0085sat on\u001fthe mat', 'the cat sat on the mat')).toBe(1);
    expect(sentenceBleu('the\u00a0cat\u3000sat\r\non the\u2028mat', 'the cat sat on the mat')).toBe(1);
    // U+FEFF is not whitespace to Python: "cat\ufeffsat" stays one token (5 vs 6 tokens).
    // p1 = 4/5, p2 = 2/4, p3 = 1/3, p4 = ε/2; BP = e^(1 − 6/5). NLTK 3.8 gives 0.23394743548827707.
    const bom = sentenceBleu('the cat\ufeffsat on the mat', 'the cat sat on the mat');
    expect(bom).toBeCloseTo(Math.exp(-0.2) * (0.8 * 0.5 * (1 / 3) * 0.05) ** 0.25, 12);
    expect(bom).toBeCloseTo(0.23394743548827707, 12);
  });

  it('scores against reference.output, with threshold deciding passed', async () => {
    const s = bleu.create('bleu', bleu.args.parse({}));
    expect((s.score(input('the cat sat', { output: 'the cat sat on the mat' })) as Score).detail).toBe(
      'bleu=0.2069',
    );
    const [bound] = await buildScorers([ScorerSpec.parse({ kind: 'bleu', threshold: 0.2 })], {
      baseDir: '.',
    });
    const score = await bound!.score(input('the cat sat', { output: 'the cat sat on the mat' }));
    expect(score.passed).toBe(true);
    const [strict] = await buildScorers([ScorerSpec.parse({ kind: 'bleu', threshold: 0.21 })], {
      baseDir: '.',
    });
    expect((await strict!.score(input('the cat sat', { output: 'the cat sat on the mat' }))).passed).toBe(
      false,
    );
  });
});
