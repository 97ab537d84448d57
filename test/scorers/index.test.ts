import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HarnessError } from '../../harness/errors.js';
import {
  type BoundScorer,
  bindScorer,
  buildScorers,
  SCORER_FACTORIES,
  type Score,
  type Scorer,
  ScorerSpec,
  type ScorerSpecInput,
} from '../../scorers/index.js';
import { input, record } from './fixtures.js';

const specs = (...entries: ScorerSpecInput[]) => z.array(ScorerSpec).parse(entries);
const build = (...entries: ScorerSpecInput[]) => buildScorers(specs(...entries), { baseDir: '.' });
const only = (bound: BoundScorer[]) => {
  expect(bound).toHaveLength(1);
  return bound[0]!;
};
const fixed = (s: Score | (() => Score | Promise<Score>)): Scorer => ({
  name: 'custom',
  score: typeof s === 'function' ? s : () => s,
});

describe('ScorerSpec', () => {
  it('has a member for every registered kind', () => {
    const kinds = ScorerSpec.options.map((o) => o.shape.kind.value);
    expect(kinds.sort()).toEqual(Object.keys(SCORER_FACTORIES).sort());
  });

  it("fills in each kind's defaults", () => {
    expect(ScorerSpec.parse({ kind: 'exact' })).toEqual({
      kind: 'exact',
      case: false,
      whitespace: false,
      punctuation: false,
      nfkc: false,
    });
    expect(ScorerSpec.parse({ kind: 'normalized', case: false })).toMatchObject({ case: false, nfkc: true });
    expect(ScorerSpec.parse({ kind: 'json' })).toMatchObject({
      use_reference_schema: true,
      equals_reference: false,
    });
  });

  it('reports every bad field at once, with its path', () => {
    const r = z
      .array(ScorerSpec)
      .safeParse([
        { kind: 'exact', cse: true },
        { kind: 'regexp' },
        { kind: 'label', threshold: 1.5, labels: ['a', 7] },
        { kind: 'json', match: { lang: [] }, equals_reference: 'yes' },
        { name: 'no-kind' },
      ]);
    expect(r.success).toBe(false);
    if (r.success) return;
    const pretty = z.prettifyError(r.error);
    expect(pretty).toContain('✖ Unrecognized key: "cse"\n  → at [0]');
    expect(pretty).toMatch(/Invalid discriminator value.*\n {2}→ at \[1\]\.kind/);
    expect(pretty).toContain('→ at [2].threshold');
    expect(pretty).toContain('→ at [2].labels[1]');
    expect(pretty).toContain('→ at [3].match.lang');
    expect(pretty).toContain('→ at [3].equals_reference');
    expect(pretty).toContain('→ at [4].kind');
  });

  it('keeps refinements of the kind options', () => {
    const r = ScorerSpec.safeParse({ kind: 'label', labels: ['yes'], aliases: { no: ['nope'] } });
    expect(r.success).toBe(false);
    if (!r.success) expect(z.prettifyError(r.error)).toContain('→ at aliases.no');
  });
});

describe('buildScorers', () => {
  it('names scorers after their kind unless named, and saves the resolved name in the spec', async () => {
    const bound = await build(
      { kind: 'exact' },
      { kind: 'exact', name: 'exact_ci', case: true },
      { kind: 'label' },
    );
    expect(bound.map((b) => b.name)).toEqual(['exact', 'exact_ci', 'label']);
    expect(bound[0]!.spec).toEqual({ ...ScorerSpec.parse({ kind: 'exact' }), name: 'exact' });
    // The saved spec recreates the same scorer.
    expect(ScorerSpec.parse(JSON.parse(JSON.stringify(bound[1]!.spec)))).toEqual(bound[1]!.spec);
  });

  it('rejects two scorers with the same name, naming both positions', async () => {
    const attempt = () => build({ kind: 'exact' }, { kind: 'label' }, { kind: 'normalized', name: 'exact' });
    await expect(attempt()).rejects.toThrow(HarnessError);
    await expect(attempt()).rejects.toThrow('scorers[0] and scorers[2] are both named "exact"');
  });

  it('turns a factory error into a config error naming the entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdout-registry-'));
    try {
      writeFileSync(join(dir, 'schema.json'), '{"type": "object", "required": ["a"]}');
      const ok = await buildScorers(specs({ kind: 'json', schema_file: 'schema.json' }), { baseDir: dir });
      expect(ok).toHaveLength(1);
      const bad = () =>
        buildScorers(specs({ kind: 'exact' }, { kind: 'json', schema_file: 'x.json' }), { baseDir: dir });
      await expect(bad()).rejects.toThrow(/^scorers\[1\] \(json "json"\): .*schema_file "x\.json"/);
      await expect(bad()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scores through the bound scorer', async () => {
    const s = only(await build({ kind: 'normalized' }));
    expect(await s.score(input('Hello,  World!', { output: 'hello world' }))).toEqual({
      value: 1,
      passed: true,
    });
    expect(await s.score(input('Bye', { output: 'hello world' }))).toMatchObject({ value: 0, passed: false });
  });
});

describe('threshold', () => {
  const spec = (threshold?: number) => ScorerSpec.parse({ kind: 'exact', threshold });

  it('passes at or above the threshold, default 1', async () => {
    const seven = fixed({ value: 0.7, passed: null });
    expect(await bindScorer(seven, spec()).score(input(''))).toEqual({ value: 0.7, passed: false });
    expect(await bindScorer(seven, spec(0.7)).score(input(''))).toEqual({ value: 0.7, passed: true });
    expect(await bindScorer(seven, spec(0.71)).score(input(''))).toEqual({ value: 0.7, passed: false });
    expect((await bindScorer(fixed({ value: 0, passed: false }), spec(0)).score(input(''))).passed).toBe(
      true,
    );
  });

  it('overrides what the scorer said about passing, and keeps its detail', async () => {
    const lenient = fixed({ value: 1, passed: false, detail: 'close enough' });
    expect(await bindScorer(lenient, spec(0.5)).score(input(''))).toEqual({
      value: 1,
      passed: true,
      detail: 'close enough',
    });
  });

  it('leaves unscored unscored, whatever the threshold', async () => {
    const s = await bindScorer(fixed({ value: null, passed: true, detail: 'n/a' }), spec(0)).score(input(''));
    expect(s).toEqual({ value: null, passed: null, detail: 'n/a' });
  });

  it('hands out a fresh score object each time', async () => {
    const shared = Object.freeze({ value: 1, passed: true });
    const bound = bindScorer(fixed(shared), spec());
    const a = await bound.score(input(''));
    expect(a).not.toBe(shared);
    expect(a).not.toBe(await bound.score(input('')));
  });
});

describe('match', () => {
  const applies = async (
    match: Record<string, string | string[]> | undefined,
    tags: Record<string, string>,
  ) => only(await build({ kind: 'exact', match })).appliesTo(record(undefined, tags));

  it('applies to every record without match', async () => {
    expect(await applies(undefined, {})).toBe(true);
    expect(await applies({}, { lang: 'en' })).toBe(true);
  });

  it('requires every listed tag to equal the value or be one of the values', async () => {
    expect(await applies({ lang: 'en' }, { lang: 'en', route: 'x' })).toBe(true);
    expect(await applies({ lang: 'en' }, { lang: 'de' })).toBe(false);
    expect(await applies({ lang: 'en' }, {})).toBe(false);
    expect(await applies({ lang: ['en', 'de'] }, { lang: 'de' })).toBe(true);
    expect(await applies({ lang: ['en', 'de'] }, { lang: 'fr' })).toBe(false);
    expect(await applies({ lang: ['en', 'de'], task: 'classify' }, { lang: 'en', task: 'classify' })).toBe(
      true,
    );
    expect(await applies({ lang: ['en', 'de'], task: 'classify' }, { lang: 'en', task: 'extract' })).toBe(
      false,
    );
  });
});

describe('scorer errors', () => {
  const spec = ScorerSpec.parse({ kind: 'exact' });
  const expected = { value: null, passed: null, detail: 'scorer error: boom' };

  it('records a synchronous throw instead of crashing', async () => {
    const bound = bindScorer(
      fixed(() => {
        throw new Error('boom');
      }),
      spec,
    );
    await expect(bound.score(input('x'))).resolves.toEqual(expected);
  });

  it('records a rejection and a non-Error throw', async () => {
    await expect(
      bindScorer(
        fixed(async () => Promise.reject(new Error('boom'))),
        spec,
      ).score(input('x')),
    ).resolves.toEqual(expected);
    const thrower = fixed(() => {
      throw 'boom';
    });
    await expect(bindScorer(thrower, spec).score(input('x'))).resolves.toEqual(expected);
  });

  it('treats a value outside [0, 1] as a scorer bug', async () => {
    for (const value of [1.5, -0.1, Number.NaN]) {
      const s = await bindScorer(fixed({ value, passed: true }), spec).score(input('x'));
      expect(s.value).toBeNull();
      expect(s.detail).toMatch(/^scorer error: value .* is not a number in \[0, 1\]$/);
    }
  });
});
