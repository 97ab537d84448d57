import { describe, expect, it } from 'vitest';
import type { Reference } from '../../datasets/record.js';
import { buildScorers, ScorerSpec } from '../../scorers/index.js';
import { json_diff, leafCount } from '../../scorers/json/diff.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const score = (output: unknown, json: unknown, opts: object = {}) => {
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  const reference: Reference = json === undefined ? {} : { json };
  return json_diff.create('json_diff', json_diff.args.parse(opts)).score(input(text, reference)) as Score;
};

describe('json_diff: nested objects', () => {
  const ref = { name: 'Ada', age: 36, address: { city: 'London', zip: 'NW1' }, active: true };
  // Fields: name, age, address.city, address.zip, active = 5.
  const out = { name: 'Ada', age: 37, address: { city: 'London' }, active: true, extra: 1 };

  it('is the mean over the reference leaves, failing fields listed by path', () => {
    // name ✓, age ✗ (37 ≠ 36), address.city ✓, address.zip missing ✗, active ✓: 3/5. extra ignored.
    expect(score(out, ref)).toEqual({
      value: 0.6,
      passed: false,
      detail: '3/5 fields: age: expected 36, got 37; address.zip: missing, expected "NW1"',
    });
    expect(score(ref, ref)).toEqual({ value: 1, passed: true });
  });

  it('counts numbers within abs_tol / rel_tol as equal', () => {
    // abs_tol 1: |37 − 36| ≤ 1, so age passes too: 4/5.
    expect(score(out, ref, { abs_tol: 1 }).value).toBe(0.8);
    // rel_tol: 205 vs 200, tolerance 0.025·200 = 5 passes, 0.02·200 = 4 does not.
    expect(score({ p: 205 }, { p: 200 }, { rel_tol: 0.025 }).value).toBe(1);
    expect(score({ p: 205 }, { p: 200 }, { rel_tol: 0.02 }).value).toBe(0);
  });

  it('penalizes extra keys as one failed field each when asked', () => {
    // 5 reference fields + 1 extra key = 6 fields, 3 earned.
    const s = score(out, ref, { extra_keys: 'penalize' });
    expect(s.value).toBe(0.5);
    expect(s.detail).toBe(
      '3/6 fields: age: expected 36, got 37; address.zip: missing, expected "NW1"; extra: unexpected key',
    );
  });

  it('fails a whole subtree on a type mismatch', () => {
    // n: 10 vs "10" fails 1 field; o is an object of 2 fields, got a list: 2 failed. 0/3.
    expect(score({ n: '10', o: [1, 2] }, { n: 10, o: { x: 1, y: 2 } })).toEqual({
      value: 0,
      passed: false,
      detail: '0/3 fields: n: expected 10, got "10"; o: expected an object, got [1,2]',
    });
    // A missing subtree fails all its leaves: o has 2 of the 3 fields.
    expect(score({ n: 10 }, { n: 10, o: { x: 1, y: 2 } }).value).toBeCloseTo(1 / 3, 12);
  });

  it('quotes keys that are not identifiers in paths', () => {
    const s = score({}, { 'a.b': 1, 'x y': { z: 2 } });
    expect(s.detail).toBe('0/2 fields: ["a.b"]: missing, expected 1; ["x y"]: missing, expected {"z":2}');
  });

  it('compares booleans and null exactly', () => {
    expect(score({ a: false, b: null }, { a: true, b: null }).value).toBe(0.5);
    expect(score({ a: true, b: 0 }, { a: true, b: null }).detail).toBe('1/2 fields: b: expected null, got 0');
  });
});

describe('json_diff: lists', () => {
  const items = [
    { sku: 'A', qty: 1, price: 10 },
    { sku: 'B', qty: 2, price: 5 },
  ];

  it('pairs reordered list elements by best assignment', () => {
    // Fields: 2 items × 3 + total = 7. Pairs: ref A ↔ out[1] earns 2 (sku, qty; price 12 ≠ 10),
    // ref B ↔ out[0] earns 3; the crossed pairs earn 0. Best total 5, plus total ✓ = 6/7.
    const out = {
      items: [
        { sku: 'B', qty: 2, price: 5 },
        { sku: 'A', qty: 1, price: 12 },
      ],
      total: 20,
    };
    expect(score(out, { items, total: 20 })).toEqual({
      value: 6 / 7,
      passed: false,
      detail: '6/7 fields: items[0].price: expected 10, got 12',
    });
  });

  it('finds the best pairing where a greedy one would not', () => {
    // Pair points: r0–o0 = 1 (a), r0–o1 = 1 (b), r1–o0 = 2, r1–o1 = 0. Greedy r0→o0 then r1→o1
    // earns 1; the assignment r0→o1, r1→o0 earns 3 of 4 fields.
    const ref = [
      { a: 1, b: 1 },
      { a: 1, b: 2 },
    ];
    const out = [
      { a: 1, b: 2 },
      { a: 9, b: 1 },
    ];
    expect(score(out, ref)).toEqual({
      value: 0.75,
      passed: false,
      detail: '3/4 fields: [0].a: expected 1, got 9',
    });
  });

  it('fails missing elements and charges extra ones with their own field count', () => {
    // One of two items: 3 of 6 fields.
    expect(score({ items: [items[0]] }, { items })).toEqual({
      value: 0.5,
      passed: false,
      detail: '3/6 fields: items[1]: missing, expected {"sku":"B","qty":2,"price":5}',
    });
    // A third, extra item of 3 fields: 6 earned of 6 + 3 = 9.
    const s = score({ items: [...items, { sku: 'C', qty: 1, price: 1 }] }, { items });
    expect(s.value).toBeCloseTo(2 / 3, 12);
    expect(s.detail).toBe('6/9 fields: items: unexpected element {"sku":"C","qty":1,"price":1}');
  });

  it('matches scalar lists order-insensitively', () => {
    // a and c find their equals; b is left with x: 2/3.
    expect(score({ tags: ['c', 'a', 'x'] }, { tags: ['a', 'b', 'c'] })).toEqual({
      value: 2 / 3,
      passed: false,
      detail: '2/3 fields: tags[1]: expected "b", got "x"',
    });
    expect(score([3, 2, 1], [1, 2, 3]).value).toBe(1);
  });

  it('counts an empty object or list as one field', () => {
    expect(leafCount({ tags: [], meta: {} })).toBe(2);
    expect(leafCount({ a: [{ b: 1, c: [2, 3] }, 4] })).toBe(4);
    expect(score({ tags: [], meta: { a: 1 } }, { tags: [], meta: {} }).value).toBe(1);
    // penalize: meta.a is one failed field: 2/3.
    expect(
      score({ tags: [], meta: { a: 1 } }, { tags: [], meta: {} }, { extra_keys: 'penalize' }).value,
    ).toBe(2 / 3);
    // tags earns its point (a list) but "x" is an extra element of 1 field: 2 of 3.
    expect(score({ tags: ['x'], meta: {} }, { tags: [], meta: {} }).value).toBe(2 / 3);
    expect(score({ tags: {}, meta: {} }, { tags: [], meta: {} }).detail).toBe(
      '1/2 fields: tags: expected a list, got {}',
    );
  });
});

describe('json_diff: strings', () => {
  it('compares exactly, normalized, or fuzzy', () => {
    const ref = { city: 'New York' };
    const out = { city: ' new  york' };
    expect(score(out, ref).value).toBe(0);
    expect(score(out, ref, { strings: 'normalized' }).value).toBe(1);
    expect(score(out, ref, { strings: 'fuzzy' }).value).toBe(1);
    expect(score({ city: 'York' }, ref, { strings: 'normalized' }).value).toBe(0);
  });

  it('gives the Levenshtein similarity as partial credit, 0 below fuzzy_threshold', () => {
    // "lovelace" → "lovelance": one insertion, longest 9 code points: 1 − 1/9 = 8/9.
    expect(score({ name: 'Lovelance' }, { name: 'Lovelace' }, { strings: 'fuzzy' })).toEqual({
      value: 8 / 9,
      passed: false,
      detail: '0.89/1 fields: name: expected "Lovelace", got "Lovelance" (similarity 0.89)',
    });
    expect(
      score({ name: 'Lovelance' }, { name: 'Lovelace' }, { strings: 'fuzzy', fuzzy_threshold: 0.9 }).value,
    ).toBe(0);
    expect(
      score({ name: 'Lovelance' }, { name: 'Lovelace' }, { strings: 'fuzzy', fuzzy_threshold: 0.88 }).value,
    ).toBe(8 / 9);
  });

  it('refuses fuzzy_threshold without strings: fuzzy', () => {
    expect(json_diff.args.safeParse({ fuzzy_threshold: 0.5 }).success).toBe(false);
    expect(ScorerSpec.safeParse({ kind: 'json_diff', strings: 'fuzzy', fuzzy_threshold: 0.5 }).success).toBe(
      true,
    );
  });
});

describe('json_diff: output and reference', () => {
  it('reads JSON from a fenced block like the json scorer', () => {
    expect(score('Here:\n```json\n{"a": 1}\n```', { a: 1 }).value).toBe(1);
  });

  it('scores invalid JSON 0 and a missing reference.json as unscored', () => {
    const bad = score('not json', { a: 1 });
    expect(bad.value).toBe(0);
    expect(bad.detail).toMatch(/^invalid JSON: /);
    expect(score({ a: 1 }, undefined)).toEqual({ value: null, passed: null, detail: 'no reference.json' });
    // null is a JSON value like any other.
    expect(score('null', null).value).toBe(1);
    expect(score(42, '42').detail).toBe('0/1 fields: (root): expected "42", got 42');
  });

  it('shows the first five failures and counts the rest', () => {
    const ref = Object.fromEntries('abcdefgh'.split('').map((k, i) => [k, i]));
    const s = score({}, ref);
    expect(s.value).toBe(0);
    expect(s.detail).toBe(
      '0/8 fields: a: missing, expected 0; b: missing, expected 1; c: missing, expected 2; ' +
        'd: missing, expected 3; e: missing, expected 4; (+3 more)',
    );
  });

  it('works through the registry with a threshold', async () => {
    const [bound] = await buildScorers([ScorerSpec.parse({ kind: 'json_diff', threshold: 0.8 })], {
      baseDir: '.',
    });
    // 4 of 5 fields.
    const s = await bound!.score(
      input('{"a":1,"b":2,"c":3,"d":4,"e":0}', { json: { a: 1, b: 2, c: 3, d: 4, e: 5 } }),
    );
    expect(s).toMatchObject({ value: 0.8, passed: true });
  });
});
