import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ScorerSpec } from '../../scorers/index.js';
import { contains, regex } from '../../scorers/text.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const containsRun = (text: string, opts: object) =>
  contains.create('contains', contains.args.parse(opts)).score(input(text)) as Score;
const makeRegex = (opts: object) => regex.create('regex', regex.args.parse(opts));
const regexRun = (text: string, opts: object) => makeRegex(opts).score(input(text)) as Score;

describe('contains', () => {
  it('needs every all_of substring, case-insensitively by default', () => {
    expect(containsRun('The Capital is PARIS.', { all_of: ['paris', 'capital'] })).toEqual({
      value: 1,
      passed: true,
    });
    expect(containsRun('The capital is Lyon.', { all_of: ['Paris', 'capital', 'France'] })).toEqual({
      value: 0,
      passed: false,
      detail: 'missing all_of: "paris", "france"',
    });
  });

  it('needs at least one any_of and no none_of', () => {
    expect(containsRun('yes, indeed', { any_of: ['yes', 'sure'] }).value).toBe(1);
    expect(containsRun('no', { any_of: ['yes', 'sure'] }).detail).toBe('none of any_of: "yes", "sure"');
    expect(containsRun('All good', { none_of: ['sorry', 'as an ai'] }).value).toBe(1);
    expect(containsRun('Sorry, As an AI I cannot', { none_of: ['sorry', 'as an ai', 'x'] }).detail).toBe(
      'found none_of: "sorry", "as an ai"',
    );
  });

  it('reports every failed list at once', () => {
    const s = containsRun('sorry', { all_of: ['a1'], any_of: ['b2'], none_of: ['sorry'] });
    expect(s.detail).toBe('missing all_of: "a1"; none of any_of: "b2"; found none_of: "sorry"');
  });

  it('respects case_sensitive', () => {
    expect(containsRun('Paris', { all_of: ['paris'], case_sensitive: true }).value).toBe(0);
    expect(containsRun('Paris', { all_of: ['Paris'], case_sensitive: true }).value).toBe(1);
  });

  it('needs no reference and ignores one', () => {
    const s = contains.create('c', contains.args.parse({ all_of: ['x'] })).score(input('x', { output: 'y' }));
    expect(s).toEqual({ value: 1, passed: true });
  });

  it('requires at least one non-empty list, with a path', () => {
    const r = ScorerSpec.safeParse({ kind: 'contains', case_sensitive: true });
    expect(r.success).toBe(false);
    if (!r.success) expect(z.prettifyError(r.error)).toContain('→ at all_of');
    expect(contains.args.safeParse({ any_of: [] }).success).toBe(false);
    expect(contains.args.safeParse({ any_of: [''] }).success).toBe(false);
    expect(contains.args.safeParse({ anyof: ['x'] }).success).toBe(false);
  });
});

describe('regex', () => {
  it('tests patterns unanchored, with flags', () => {
    expect(regexRun('Answer: 42', { all_of: ['\\d+', '^answer:'], flags: 'i' }).value).toBe(1);
    expect(regexRun('Answer: 42', { all_of: ['\\d+', '^answer:'] })).toEqual({
      value: 0,
      passed: false,
      detail: 'missing all_of: /^answer:/',
    });
    expect(regexRun('a\nb', { all_of: ['^b$'] }).value).toBe(0);
    expect(regexRun('a\nb', { all_of: ['^b$'], flags: 'm' }).value).toBe(1);
  });

  it('handles any_of and none_of', () => {
    expect(regexRun('colour', { any_of: ['colou?r', 'hue'] }).value).toBe(1);
    expect(regexRun('tint', { any_of: ['colou?r', 'hue'] }).detail).toBe('none of any_of: /colou?r/, /hue/');
    expect(regexRun('call 555-1234', { none_of: ['\\d{3}-\\d{4}'] }).detail).toBe(
      'found none_of: /\\d{3}-\\d{4}/',
    );
  });

  it('gives the same answer on every record (no stateful flags)', () => {
    const s = makeRegex({ all_of: ['a'] });
    expect([1, 2, 3].map(() => (s.score(input('aaa')) as Score).value)).toEqual([1, 1, 1]);
    expect(regex.args.safeParse({ all_of: ['a'], flags: 'g' }).success).toBe(false);
    expect(regex.args.safeParse({ all_of: ['a'], flags: 'y' }).success).toBe(false);
  });

  it('rejects a bad pattern at create time, naming it', () => {
    expect(() => makeRegex({ all_of: ['ok'], none_of: ['x', '(unclosed'] })).toThrow(
      /^scorer "regex": none_of\[1\]: invalid regex "\(unclosed": /,
    );
  });

  it('requires at least one list', () => {
    const r = regex.args.safeParse({ flags: 'i' });
    expect(r.success).toBe(false);
    if (!r.success) expect(z.prettifyError(r.error)).toContain('→ at all_of');
  });
});
