import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Reference } from '../../datasets/record.js';
import { json } from '../../scorers/json/json.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const make = (opts: object = {}, baseDir?: string) =>
  json.create('json', json.args.parse(opts), baseDir === undefined ? undefined : { baseDir });
const score = (text: string, reference?: Reference, opts?: object) =>
  make(opts).score(input(text, reference)) as Score;

const PERSON = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['name', 'age'],
  additionalProperties: false,
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('json: validity', () => {
  it('accepts any valid JSON value, surrounding whitespace included', () => {
    expect(score('{"a": 1}')).toEqual({ value: 1, passed: true });
    expect(score('\n [1, 2]\n').value).toBe(1);
    expect(score('"just a string"').value).toBe(1);
  });

  it('accepts JSON in a single fenced block, tagged json or untagged, prose around it', () => {
    expect(score('```json\n{"a": 1}\n```').value).toBe(1);
    expect(score('```\n{"a": 1}\n```').value).toBe(1);
    expect(score('```JSON\n{"a": 1}```').value).toBe(1);
    expect(score('Here you go:\n\n```json\n{"a": 1}\n```\nAnything else?').value).toBe(1);
  });

  it('rejects several fenced blocks and blocks in other languages', () => {
    expect(score('```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```')).toEqual({
      value: 0,
      passed: false,
      detail: 'invalid JSON: 2 fenced code blocks, expected one',
    });
    expect(score('```python\n{"a": 1}\n```').detail).toBe(
      'invalid JSON: fenced block is ```python, not json',
    );
  });

  it('rejects invalid JSON with the parser message', () => {
    const s = score('{"a": }');
    expect(s.value).toBe(0);
    expect(s.detail).toMatch(/^invalid JSON: .*Unexpected token/);
    expect(score('').detail).toMatch(/^invalid JSON: /);
    expect(score('```json\n{"a": 1,}\n```').detail).toMatch(/^invalid JSON: .*(Expected|Unexpected)/);
  });

  it('does not mistake a JSON string containing a fence for a fenced block', () => {
    expect(score('{"code": "```py\\nprint(1)\\n```"}').value).toBe(1);
  });
});

describe('json: schema', () => {
  it('passes valid output and lists the first schema errors on failure', () => {
    expect(score('{"name": "Ada", "age": 36}', {}, { schema: PERSON }).value).toBe(1);
    const s = score('{"name": 7, "age": -1, "x": 0}', {}, { schema: PERSON });
    expect(s.value).toBe(0);
    expect(s.detail).toBe(
      'schema: / must NOT have additional properties; /name must be string; /age must be >= 0',
    );
  });

  it('says how many errors it left out', () => {
    const schema = { type: 'array', items: { type: 'string' } };
    expect(score('[1, 2, 3, 4, 5]', {}, { schema }).detail).toBe(
      'schema: /0 must be string; /1 must be string; /2 must be string (+2 more)',
    );
  });

  it('uses reference.schema when the scorer has none, unless told not to', () => {
    const ref = { schema: PERSON };
    expect(score('{"name": "Ada"}', ref).detail).toBe("schema: / must have required property 'age'");
    expect(score('{"name": "Ada"}', ref, { use_reference_schema: false }).value).toBe(1);
  });

  it("prefers the scorer's own schema over the record's", () => {
    expect(score('{"anything": true}', { schema: PERSON }, { schema: { type: 'object' } }).value).toBe(1);
  });

  it('leaves a record with an invalid reference.schema unscored', () => {
    const s = score('{}', { schema: { type: 'no-such-type' } });
    expect(s.value).toBeNull();
    expect(s.passed).toBeNull();
    expect(s.detail).toMatch(/^invalid reference.schema: /);
  });

  it('compiles each distinct schema once, across records and scorers', () => {
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    const schema = () => ({ ...PERSON, title: 'compiled-once' });
    const scorer = make();
    for (let i = 0; i < 5; i++) scorer.score(input('{"name": "x", "age": 1}', { schema: schema() }));
    make({ schema: schema() });
    expect(compile).toHaveBeenCalledTimes(1);
  });

  it('picks the 2020-12 dialect from $schema', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'integer' }],
    };
    expect(score('["a", 1]', {}, { schema }).value).toBe(1);
    expect(score('["a", "b"]', {}, { schema }).detail).toBe('schema: /1 must be integer');
  });

  it('tolerates $ids shared by different schemas', () => {
    const a = { $id: 'https://example.com/s', type: 'string' };
    const b = { $id: 'https://example.com/s', type: 'number' };
    expect(score('"x"', {}, { schema: a }).value).toBe(1);
    expect(score('"x"', {}, { schema: b }).value).toBe(0);
  });
});

describe('json: schema drafts', () => {
  const D04 = 'http://json-schema.org/draft-04/schema#';
  const D06 = 'http://json-schema.org/draft-06/schema#';
  const D07 = 'http://json-schema.org/draft-07/schema#';
  const D2019 = 'https://json-schema.org/draft/2019-09/schema';
  const D2020 = 'https://json-schema.org/draft/2020-12/schema';
  const valid = (text: string, schema: object) => score(text, {}, { schema }).value === 1;

  it('checks format', () => {
    const email = { type: 'string', format: 'email' };
    expect(score('"not an email"', {}, { schema: email }).detail).toBe('schema: / must match format "email"');
    expect(valid('"ada@example.com"', email)).toBe(true);
    const dateTime = { format: 'date-time' };
    expect(valid('"2024-02-29T12:00:00Z"', dateTime)).toBe(true);
    expect(valid('"2024-02-30T12:00:00Z"', dateTime)).toBe(false); // no 30 February
    expect(valid('"2024-02-29T12:00:00"', dateTime)).toBe(false); // RFC 3339 requires the offset
    expect(valid('"2024-02-29"', { format: 'date' })).toBe(true);
    expect(valid('"2023-02-29"', { format: 'date' })).toBe(false); // 2023 is not a leap year
    expect(valid('"https://example.com/a?b=1"', { format: 'uri' })).toBe(true);
    expect(valid('"example.com/a"', { format: 'uri' })).toBe(false); // a URI has a scheme
    expect(valid('"not an email"', { $schema: D04, format: 'email' })).toBe(false);
    expect(valid('"not an email"', { $schema: D2020, format: 'email' })).toBe(false);
    // Formats nobody defined are let through, as the drafts allow; non-strings are not checked.
    expect(valid('"555-0100"', { format: 'phone' })).toBe(true);
    expect(valid('12', email)).toBe(false);
    expect(valid('12', { format: 'email' })).toBe(true);
  });

  it('validates draft-04 by its rules', () => {
    // Draft-04: exclusiveMaximum is a boolean modifying maximum (a number from draft-06 on).
    const below5 = { $schema: D04, type: 'number', maximum: 5, exclusiveMaximum: true };
    expect(valid('4.5', below5)).toBe(true);
    expect(score('5', {}, { schema: below5 }).detail).toBe('schema: / must be < 5');
    // const, contains and if/then/else came later: draft-04 ignores them.
    expect(valid('2', { $schema: D04, const: 1 })).toBe(true);
    expect(valid('[1]', { $schema: D04, contains: { type: 'string' } })).toBe(true);
    expect(() => make({ schema: { $schema: D04, exclusiveMaximum: 5 } })).toThrow(
      /schema is not a valid JSON Schema: .*exclusiveMaximum must be boolean/,
    );
  });

  it('validates draft-06 by its rules', () => {
    expect(valid('"b"', { $schema: D06, const: 'a' })).toBe(false);
    expect(valid('[1]', { $schema: D06, contains: { type: 'string' } })).toBe(false);
    // if/then/else are draft-07's. (Parsed: a literal with a `then` key looks like a promise to lint.)
    const ifThen = JSON.parse('{"if": {"type": "string"}, "then": {"minLength": 3}}') as object;
    expect(valid('"x"', { $schema: D06, ...ifThen })).toBe(true);
    expect(valid('"x"', { $schema: D07, ...ifThen })).toBe(false);
    expect(valid('"x"', ifThen)).toBe(false);
  });

  it('validates 2019-09 by its rules', () => {
    const closed = { $schema: D2019, properties: { a: {} }, unevaluatedProperties: false };
    expect(valid('{"a": 1}', closed)).toBe(true);
    expect(valid('{"a": 1, "b": 2}', closed)).toBe(false);
  });

  it('ignores keywords beside $ref up to draft-07, and applies them from 2019-09', () => {
    const short = (dialect: object) => ({ ...dialect, $ref: '#/definitions/s', maxLength: 3 });
    const definitions = { s: { type: 'string' } };
    for (const d of [D04, D06, D07]) expect(valid('"abcdef"', short({ $schema: d, definitions }))).toBe(true);
    expect(valid('"abcdef"', short({ definitions }))).toBe(true);
    expect(valid('6', short({ definitions }))).toBe(false); // the $ref itself still applies
    for (const d of [D2019, D2020]) expect(valid('"abcdef"', short({ $schema: d, definitions }))).toBe(false);
    expect(valid('"abc"', short({ $schema: D2020, definitions }))).toBe(true);
    // Nested, with a `type` beside the $ref: ignored too (ajv's own option would still check it).
    const nested = {
      definitions,
      properties: { a: { $ref: '#/definitions/s', type: 'number', minLength: 9 } },
    };
    expect(valid('{"a": "abc"}', nested)).toBe(true);
    expect(valid('{"a": 1}', nested)).toBe(false);
    // A property named "$ref" is a property, not a reference.
    const named = { properties: { $ref: { type: 'string' }, b: { type: 'number' } } };
    expect(score('{"$ref": 1, "b": "x"}', {}, { schema: named }).detail).toBe(
      'schema: /$ref must be string; /b must be number',
    );
  });

  it('accepts the usual spellings of a draft URI', () => {
    const person = { $ref: '#/definitions/person', definitions: { person: PERSON } };
    const ada = '{"name": "Ada", "age": 36}';
    for (const uri of ['https://json-schema.org/draft-07/schema', 'http://json-schema.org/draft-07/schema']) {
      expect(valid(ada, { $schema: uri, ...person })).toBe(true);
      expect(valid('{"name": "Ada"}', { $schema: uri, ...person })).toBe(false);
    }
    expect(valid('"x"', { $schema: 'http://json-schema.org/draft-04/schema', const: 1 })).toBe(true);
    expect(valid('"x"', { $schema: `${D2020}#`, type: 'integer' })).toBe(false);
  });

  it('does not take 1E400 (Infinity to JSON.parse) for an integer or a number', () => {
    expect(score('1E400', {}, { schema: { type: 'integer' } }).detail).toBe('schema: / must be integer');
    expect(valid('-1e400', { type: 'number' })).toBe(false);
    expect(valid('{"n": 1E400}', { $schema: D2020, properties: { n: { type: 'integer' } } })).toBe(false);
    expect(valid('{"n": 1E400}', { $schema: D04, properties: { n: { type: 'number' } } })).toBe(false);
    expect(valid('1E300', { type: 'number' })).toBe(true);
    expect(valid('1E20', { type: 'integer' })).toBe(true);
  });

  it('names the scorer and the draft when $schema is a draft it cannot validate', () => {
    const draft3 = { $schema: 'http://json-schema.org/draft-03/schema#', type: 'string' };
    expect(() => json.create('answer', json.args.parse({ schema: draft3 }))).toThrow(
      'scorer "answer": schema declares $schema "http://json-schema.org/draft-03/schema#", a JSON Schema ' +
        'draft holdout cannot validate (it knows draft-04, draft-06, draft-07, 2019-09, 2020-12)',
    );
    expect(() => make({ schema: { $schema: 'https://example.com/my-dialect' } })).toThrow(
      /^scorer "json": schema declares \$schema "https:\/\/example.com\/my-dialect", a JSON Schema draft/,
    );
    const s = score('"x"', { schema: draft3 });
    expect(s.value).toBeNull();
    expect(s.detail).toMatch(
      /^invalid reference.schema: declares \$schema "http:\/\/json-schema.org\/draft-03/,
    );
  });
});

describe('json: schema_file', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'holdout-json-'));
    writeFileSync(join(dir, 'person.json'), JSON.stringify(PERSON));
    writeFileSync(join(dir, 'broken.json'), '{"type": ');
    writeFileSync(join(dir, 'bad-schema.json'), '{"type": 12}');
    writeFileSync(join(dir, 'array.json'), '[]');
    writeFileSync(join(dir, 'draft-03.json'), '{"$schema": "http://json-schema.org/draft-03/schema#"}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file relative to baseDir', () => {
    const scorer = make({ schema_file: 'person.json' }, dir);
    expect((scorer.score(input('{"name": "Ada", "age": 36}')) as Score).value).toBe(1);
    expect((scorer.score(input('{"name": "Ada"}')) as Score).value).toBe(0);
  });

  it('names the file when it is missing, not JSON, or not a schema', () => {
    expect(() => make({ schema_file: 'nope.json' }, dir)).toThrow(
      /schema_file "nope.json" \(.*nope\.json\): ENOENT/,
    );
    expect(() => make({ schema_file: 'broken.json' }, dir)).toThrow(
      /schema_file "broken.json" .*not valid JSON/,
    );
    expect(() => make({ schema_file: 'bad-schema.json' }, dir)).toThrow(
      /schema_file "bad-schema.json" .* is not a valid JSON Schema/,
    );
    expect(() => make({ schema_file: 'array.json' }, dir)).toThrow(/"array.json" .*must be an object/);
    expect(() => make({ schema_file: 'draft-03.json' }, dir)).toThrow(
      /^scorer "json": schema_file "draft-03.json" \(.*draft-03\.json\) declares \$schema "http:\/\/json-schema.org\/draft-03\/schema#"/,
    );
  });

  it('rejects an invalid inline schema at create time', () => {
    expect(() => make({ schema: { type: 12 } })).toThrow(/schema is not a valid JSON Schema/);
  });

  it('rejects schema and schema_file together', () => {
    const r = json.args.safeParse({ schema: {}, schema_file: 'person.json' });
    expect(r.success).toBe(false);
    if (!r.success) expect(z.prettifyError(r.error)).toContain('→ at schema_file');
  });
});

describe('json: equals_reference', () => {
  const opts = { equals_reference: true };

  it('ignores key order but not array order', () => {
    const ref = { json: { a: { x: 2, y: [1, 2] }, b: null } };
    expect(score('{"b": null, "a": {"y": [1, 2], "x": 2}}', ref, opts).value).toBe(1);
    expect(score('{"b": null, "a": {"y": [2, 1], "x": 2}}', ref, opts)).toEqual({
      value: 0,
      passed: false,
      detail: 'differs from reference.json at keys: different a',
    });
  });

  it('compares numbers by value, exactly', () => {
    expect(score('{"n": 1.0}', { json: { n: 1 } }, opts).value).toBe(1);
    expect(score('{"n": 0.30000000000000004}', { json: { n: 0.3 } }, opts).value).toBe(0);
    expect(score('{"n": "1"}', { json: { n: 1 } }, opts).value).toBe(0);
  });

  it('names missing, extra and different top-level keys', () => {
    const s = score('{"a": 1, "b": 3, "d": 4}', { json: { a: 1, b: 2, c: 3 } }, opts);
    expect(s.detail).toBe('differs from reference.json at keys: missing c; extra d; different b');
  });

  it('describes differences between non-objects', () => {
    expect(score('[1, 2]', { json: [1, 2, 3] }, opts).detail).toBe(
      'differs from reference.json: array length 2, expected 3',
    );
    expect(score('[1, 5, 3]', { json: [1, 2, 3] }, opts).detail).toBe(
      'differs from reference.json at index 1',
    );
    expect(score('"a"', { json: 'b' }, opts).detail).toBe(
      'differs from reference.json: got "\\"a\\"" expected "\\"b\\""',
    );
    expect(score('{}', { json: [] }, opts).value).toBe(0);
  });

  it('still requires the schema to pass', () => {
    const s = score('{"name": "Ada"}', { json: { name: 'Ada' }, schema: PERSON }, opts);
    expect(s.detail).toBe("schema: / must have required property 'age'");
  });

  it('is unscored without reference.json, but a null reference is a value', () => {
    expect(score('{}', {}, opts)).toEqual({ value: null, passed: null, detail: 'no reference.json' });
    expect(score('{}', undefined, opts).value).toBeNull();
    expect(score('null', { json: null }, opts).value).toBe(1);
  });
});
