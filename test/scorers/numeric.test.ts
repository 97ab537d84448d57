import { describe, expect, it } from 'vitest';
import type { Reference } from '../../datasets/record.js';
import { ScorerSpec } from '../../scorers/index.js';
import { extractNumber, numeric } from '../../scorers/numeric.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const run = (text: string, reference: Reference | undefined, opts: object = {}) =>
  numeric.create('numeric', numeric.args.parse(opts)).score(input(text, reference)) as Score;

describe('extractNumber', () => {
  it('whole: the trimmed text must be one plain decimal', () => {
    expect(extractNumber('  -1,234.5\n', 'whole')).toBe(-1234.5);
    expect(extractNumber('+7', 'whole')).toBe(7);
    expect(extractNumber('42 apples', 'whole')).toBeUndefined();
    expect(extractNumber('1e-3', 'whole')).toBeUndefined();
    expect(extractNumber('12,34', 'whole')).toBeUndefined();
    expect(extractNumber('.5', 'whole')).toBeUndefined();
  });

  it('first / last: numbers standing alone in the text', () => {
    const text = 'Of 1,200 items, -3.5% failed; the answer is 17.';
    expect(extractNumber(text, 'first')).toBe(1200);
    expect(extractNumber(text, 'last')).toBe(17);
    expect(extractNumber('between 3 and 4', 'last')).toBe(4);
    expect(extractNumber('change: -3.5%', 'first')).toBe(-3.5);
  });

  it('skips what is not a plain number rather than misreading it', () => {
    expect(extractNumber('v1.2.3 then 9', 'first')).toBe(9);
    expect(extractNumber('1e-3', 'first')).toBeUndefined();
    expect(extractNumber('H2O costs 5', 'first')).toBe(5);
    expect(extractNumber('3-4', 'first')).toBe(3);
    expect(extractNumber('no digits', 'last')).toBeUndefined();
  });
});

describe('numeric', () => {
  it('compares to reference.number first, else parses reference.output', () => {
    expect(run('12', { number: 12, output: '13' })).toEqual({ value: 1, passed: true });
    expect(run('1,000.0', { output: ' 1000 ' }).value).toBe(1);
    expect(run('13', { output: '12' })).toEqual({
      value: 0,
      passed: false,
      detail: 'expected=12 got=13 (|diff|=1)',
    });
  });

  it('passes within max(abs_tol, rel_tol·|y|)', () => {
    // y = 200: rel_tol 0.01 allows 2, abs_tol 0.5 allows 0.5, so the bound is 2.
    expect(run('202', { number: 200 }, { abs_tol: 0.5, rel_tol: 0.01 }).value).toBe(1);
    expect(run('202.5', { number: 200 }, { abs_tol: 0.5, rel_tol: 0.01 }).value).toBe(0);
    // y = 10: rel_tol allows 0.1, abs_tol 0.5 wins.
    expect(run('10.5', { number: 10 }, { abs_tol: 0.5, rel_tol: 0.01 }).value).toBe(1);
    expect(run('10.6', { number: 10 }, { abs_tol: 0.5, rel_tol: 0.01 }).value).toBe(0);
    expect(run('-9.95', { number: -10 }, { rel_tol: 0.01 }).value).toBe(1);
  });

  it('extracts first or last when asked; whole wants the whole output', () => {
    const text = 'Step 1: 3 + 4 = 7. Final answer: 7';
    expect(run(text, { number: 7 }).detail).toMatch(/^output is not a number: got=/);
    expect(run(text, { number: 7 }, { extract: 'last' }).value).toBe(1);
    expect(run(text, { number: 7 }, { extract: 'first' }).detail).toBe('expected=7 got=1 (|diff|=6)');
    expect(run('none here', { number: 7 }, { extract: 'first' })).toEqual({
      value: 0,
      passed: false,
      detail: 'no number in output: got="none here"',
    });
  });

  it('is unscored without a usable reference', () => {
    expect(run('1', undefined)).toEqual({
      value: null,
      passed: null,
      detail: 'no reference.number or reference.output',
    });
    expect(run('1', { label: 'x' }).value).toBeNull();
    expect(run('1', { output: 'about 1' })).toEqual({
      value: null,
      passed: null,
      detail: 'reference.output "about 1" is not a number',
    });
    // A non-numeric reference.number is ignored in favour of reference.output.
    expect(run('5', { number: '5x', output: '5' }).value).toBe(1);
  });

  it('validates options and fills defaults', () => {
    expect(ScorerSpec.parse({ kind: 'numeric' })).toEqual({
      kind: 'numeric',
      extract: 'whole',
      abs_tol: 0,
      rel_tol: 0,
    });
    expect(numeric.args.safeParse({ abs_tol: -1 }).success).toBe(false);
    expect(numeric.args.safeParse({ extract: 'middle' }).success).toBe(false);
  });
});
