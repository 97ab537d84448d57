import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { exact, normalized } from '../../scorers/match.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const make = (factory: typeof exact, opts: object = {}) =>
  factory.create(factory.kind, factory.args.parse(opts));
const run = (factory: typeof exact, text: string, expected: string, opts?: object) =>
  make(factory, opts).score(input(text, { output: expected })) as Score;

describe('exact', () => {
  it('is truly exact: no trimming, case or Unicode folding', () => {
    expect(run(exact, 'Paris', 'Paris')).toEqual({ value: 1, passed: true });
    expect(run(exact, 'Paris\n', 'Paris').value).toBe(0);
    expect(run(exact, 'paris', 'Paris').value).toBe(0);
    expect(run(exact, 'ｆｕｌｌwidth', 'fullwidth').value).toBe(0);
  });

  it('turns on single normalizations when asked', () => {
    expect(run(exact, 'paris', 'Paris', { case: true }).value).toBe(1);
    expect(run(exact, 'ｆｕｌｌwidth', 'fullwidth', { nfkc: true }).value).toBe(1);
    expect(run(exact, '  a \n b ', 'a b', { whitespace: true }).value).toBe(1);
    expect(run(exact, 'Hello, World!', 'Hello World', { punctuation: true }).value).toBe(1);
    // Only punctuation was stripped: the doubled space still differs.
    expect(run(exact, 'Hello,  World!', 'Hello World', { punctuation: true }).value).toBe(0);
  });

  it('shows both sides quoted on a mismatch, so whitespace differences are visible', () => {
    expect(run(exact, 'Paris\n', 'Paris')).toEqual({
      value: 0,
      passed: false,
      detail: 'expected="Paris" got="Paris\\n"',
    });
  });

  it('clips long texts in detail', () => {
    const detail = run(exact, 'x'.repeat(500), 'y').detail ?? '';
    expect(detail.length).toBeLessThan(120);
    expect(detail).toContain('…');
  });
});

describe('normalized', () => {
  it('folds case, whitespace, punctuation and NFKC by default', () => {
    expect(run(normalized, 'Hello,  World!', 'hello world').value).toBe(1);
    expect(run(normalized, 'ｆｕｌｌwidth', 'fullwidth').value).toBe(1);
    expect(run(normalized, '¿Qué tal?', 'qué tal').value).toBe(1);
    expect(run(normalized, '«Bonjour»\n', 'bonjour').value).toBe(1);
    expect(run(normalized, 'hello there', 'hello world').value).toBe(0);
  });

  it('applies NFKC before stripping punctuation', () => {
    // ⑴ is a symbol, not punctuation; NFKC turns it into "(1)", whose parentheses are.
    expect(run(normalized, 'step ⑴', 'Step 1').value).toBe(1);
    expect(run(normalized, 'Ｈｅｌｌｏ！', 'hello').value).toBe(1);
  });

  it('can turn single normalizations off', () => {
    expect(run(normalized, 'ｆｕｌｌwidth', 'fullwidth', { nfkc: false }).value).toBe(0);
    expect(run(normalized, 'Hello', 'hello', { case: false }).value).toBe(0);
    expect(run(normalized, 'hello!', 'hello', { punctuation: false }).value).toBe(0);
    expect(run(normalized, 'hello  world', 'hello world', { whitespace: false }).value).toBe(0);
  });
});

describe('match scorers: unscored and options', () => {
  it('is unscored without reference.output, and says why', () => {
    for (const f of [exact, normalized]) {
      const s = make(f).score(input('anything', { label: 'x' })) as Score;
      expect(s).toEqual({ value: null, passed: null, detail: 'no reference.output' });
      expect((make(f).score(input('anything')) as Score).value).toBeNull();
    }
  });

  it('scores an empty reference like any other', () => {
    expect(run(exact, '', '').value).toBe(1);
    expect(run(exact, ' ', '').value).toBe(0);
  });

  it('rejects unknown and mistyped options', () => {
    const r = normalized.args.safeParse({ case: 'yes', lowercase: true });
    expect(r.success).toBe(false);
    if (!r.success) {
      const pretty = z.prettifyError(r.error);
      expect(pretty).toContain('Unrecognized key: "lowercase"');
      expect(pretty).toContain('→ at case');
    }
  });
});
