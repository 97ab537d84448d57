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
  it('is the LCS F-measure with β = 1 over lowercased whitespace tokens', () => {
    expect(lcsLength([...'ABCBDAB'], [...'BDCABA'])).toBe(4);
    // LCS "the cat on the mat" = 5 of 6 on both sides: P = R = F = 5/6.
    expect(rougeL('the cat sat on the mat', 'the cat is on the mat')).toBeCloseTo(5 / 6, 12);
    // LCS 2; P = 2/2, R = 2/4, F = 2·1·0.5/1.5 = 2/3.
    expect(rougeL('The  Cat', 'the cat sat down')).toBeCloseTo(2 / 3, 12);
    // Order matters: LCS of "b a" and "a b" is 1, P = R = 1/2.
    expect(rougeL('b a', 'a b')).toBe(0.5);
    expect(rougeL('x y', 'a b')).toBe(0);
    expect(rougeL('', ' ')).toBe(1);
    expect(rougeL('', 'a')).toBe(0);
  });

  it('scores against reference.output', () => {
    const s = rouge_l.create('rouge_l', rouge_l.args.parse({}));
    expect((s.score(input('The cat', { output: 'the cat sat down' })) as Score).value).toBeCloseTo(2 / 3, 12);
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
    expect(sentenceBleu('', '')).toBe(1);
    expect(sentenceBleu('', 'a')).toBe(0);
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
