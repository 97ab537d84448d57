import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { format } from '../../scorers/format.js';
import { ScorerSpec } from '../../scorers/index.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const run = (text: string, opts: object) =>
  format.create('format', format.args.parse(opts)).score(input(text)) as Score;

describe('format', () => {
  it('counts words and code points on the trimmed output', () => {
    expect(run('  one two\nthree  ', { max_words: 3 })).toEqual({ value: 1, passed: true });
    expect(run('one two three four', { max_words: 3 })).toEqual({
      value: 0,
      passed: false,
      detail: 'max_words 3: got 4',
    });
    expect(run('   ', { max_words: 0 }).value).toBe(1);
    // 4 code points (the emoji is 2 UTF-16 units).
    expect(run('ab😀c\n', { max_chars: 4 }).value).toBe(1);
    expect(run('abcde', { max_chars: 4 }).detail).toBe('max_chars 4: got 5');
  });

  it('checks single_line, tolerating surrounding newlines', () => {
    expect(run('one line\n', { single_line: true }).value).toBe(1);
    expect(run('a\r\nb\nc', { single_line: true }).detail).toBe('single_line: got 3 lines');
    expect(run('a\nb', { single_line: false, max_chars: 10 }).value).toBe(1);
  });

  it('checks starts_with and ends_with, case-sensitively', () => {
    expect(run('\nAnswer: 42.', { starts_with: 'Answer:', ends_with: '.' }).value).toBe(1);
    expect(run('answer: 42', { starts_with: 'Answer:' }).detail).toBe(
      'starts_with "Answer:": got "answer: 42"',
    );
    expect(run('done!', { ends_with: '.' }).detail).toBe('ends_with ".": got "done!"');
  });

  it('lists every failed constraint', () => {
    expect(
      run('Hello there\nfriend', { max_words: 2, max_chars: 5, single_line: true, ends_with: '?' }).detail,
    ).toBe(
      'max_words 2: got 3; max_chars 5: got 18; single_line: got 2 lines; ' +
        'ends_with "?": got "Hello there\\nfriend"',
    );
  });

  it('needs no reference', () => {
    const s = format.create('f', format.args.parse({ max_words: 1 })).score(input('x', { output: 'y z' }));
    expect(s).toEqual({ value: 1, passed: true });
  });

  it('requires at least one constraint', () => {
    for (const opts of [{}, { single_line: false }]) {
      const r = ScorerSpec.safeParse({ kind: 'format', ...opts });
      expect(r.success).toBe(false);
      if (!r.success) expect(z.prettifyError(r.error)).toContain('give at least one of');
    }
    expect(format.args.safeParse({ max_words: -1 }).success).toBe(false);
    expect(format.args.safeParse({ max_chars: 1.5 }).success).toBe(false);
    expect(format.args.safeParse({ starts_with: '' }).success).toBe(false);
  });
});
