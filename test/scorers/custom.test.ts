import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HarnessError } from '../../harness/errors.js';
import { resolvePrice } from '../../harness/providers/pricing.js';
import { runEval } from '../../harness/run/runner.js';
import { DEFAULT_PROFILES, startSimulator } from '../../harness/sim/index.js';
import { buildScorers, ScorerSpec, type ScorerSpecInput } from '../../scorers/index.js';
import { runCli, sampleSlice, tempDir } from '../support/cli.js';
import { completion, fakeClock, memoryStoreWithRun, scriptedProvider } from '../support/fakes.js';
import { input } from './fixtures.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const build = (...entries: ScorerSpecInput[]) =>
  buildScorers(z.array(ScorerSpec).parse(entries), { baseDir: FIXTURES });
const one = async (entry: Omit<ScorerSpecInput & { kind: 'module' }, 'kind'>) => {
  const [bound] = await build({ kind: 'module', ...entry });
  return bound!;
};

/** One scripted candidate answering `output` to every record of the run, scored by `scorers`. */
function runOneCandidate(
  store: Parameters<typeof runEval>[1]['store'],
  runId: number,
  scorers: Parameters<typeof runEval>[1]['scorers'],
  output: string,
) {
  return runEval(
    {
      runId,
      candidates: [
        {
          id: 'c',
          model: 'c-model',
          api: 'chat',
          params: {},
          concurrency: 1,
          price: resolvePrice('gpt-5.4-mini')!,
          provider: scriptedProvider([() => completion(output)]),
        },
      ],
      repeats: 1,
      concurrency: 2,
      maxRetries: 0,
      timeoutMs: 1000,
      stream: false,
      retryErrors: false,
    },
    { store, scorers, clock: fakeClock() },
  );
}

describe('module: loading', () => {
  it('fills in the default export and rejects unknown keys', () => {
    expect(ScorerSpec.parse({ kind: 'module', path: 'x.ts' })).toEqual({
      kind: 'module',
      path: 'x.ts',
      export: 'default',
    });
    expect(ScorerSpec.safeParse({ kind: 'module', path: 'x.ts', exports: 'a' }).success).toBe(false);
    expect(ScorerSpec.safeParse({ kind: 'module' }).success).toBe(false);
  });

  it('runs a sync JS scorer object, path relative to the config directory', async () => {
    const s = await one({ path: './exact-words.js', name: 'words', threshold: 0.5 });
    expect(s.name).toBe('words');
    // "the cat sat": the and cat found, sat not: 2/3 ≥ 0.5.
    expect(await s.score(input('The cat ran', { output: 'the cat sat' }))).toEqual({
      value: 2 / 3,
      passed: true,
      detail: '2/3 words',
    });
    expect(await s.score(input('x'))).toEqual({ value: null, passed: null, detail: 'no reference.output' });
  });

  it('runs an async TS scorer from a named export, keeping its `this`', async () => {
    const s = await one({ path: 'keywords.ts', export: 'keywords' });
    // refund and order of 3 keywords: 2/3 < threshold 1.
    expect(await s.score(input('Your refund for order 12 is on its way'))).toEqual({
      value: 2 / 3,
      passed: false,
      detail: 'hits: refund,order',
    });
  });

  it('calls a factory export with the options and the scorer context; a bare number is the value', async () => {
    const s = await one({
      path: 'length-factory.ts',
      options: { max_words: 4 },
      name: 'short',
      threshold: 0.8,
    });
    expect(await s.score(input('one two three'))).toEqual({ value: 1, passed: true });
    // 5 words over a maximum of 4: 4/5.
    expect(await s.score(input('one two three four five'))).toEqual({ value: 0.8, passed: true });
    expect(await s.score(input('a b c d e f g h'))).toEqual({ value: 0.5, passed: false });
  });

  it('records throws, rejections and missing return values as scorer errors on the row', async () => {
    const [throws, rejects, forgets] = await build(
      { kind: 'module', path: 'throwing.mjs', name: 't1' },
      { kind: 'module', path: 'throwing.mjs', name: 't2', export: 'rejects' },
      { kind: 'module', path: 'throwing.mjs', name: 't3', export: 'forgets' },
    );
    expect(await throws!.score(input('x'))).toEqual({
      value: null,
      passed: null,
      detail: 'scorer error: boom',
    });
    expect(await rejects!.score(input('x'))).toEqual({
      value: null,
      passed: null,
      detail: 'scorer error: cannot read reference',
    });
    expect(await forgets!.score(input('x'))).toEqual({
      value: null,
      passed: null,
      detail: 'scorer error: score() returned undefined, not a Score',
    });
  });

  it('keeps a run going when a module scorer throws: the error is stored on the row', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }, { id: 'b' }]);
    const scorers = await build(
      { kind: 'module', path: 'throwing.mjs', name: 'buggy' },
      { kind: 'module', path: 'length-factory.ts', name: 'short', options: { max_words: 1 } },
    );
    const s = await runOneCandidate(store, runId, scorers, 'two words');
    expect(s).toMatchObject({ done: 2, errors: 0, complete: true });
    const rows = store.db
      .prepare('SELECT scorer, value, passed, detail FROM scores ORDER BY call_id, scorer')
      .all() as Record<string, unknown>[];
    // 2 words over a maximum of 1: 1/2.
    const expected = [
      { scorer: 'buggy', value: null, passed: null, detail: 'scorer error: boom' },
      { scorer: 'short', value: 0.5, passed: 0, detail: null },
    ];
    expect(rows).toEqual([...expected, ...expected]);
  });
});

describe('module: a score() that never settles', () => {
  it('is recorded as a scorer error after timeout_ms, and the call is stored', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    const scorers = await build(
      { kind: 'module', path: 'hanging.mjs', name: 'stuck', timeout_ms: 50 },
      { kind: 'module', path: 'exact-words.js', name: 'words' },
    );
    const s = await runOneCandidate(store, runId, scorers, 'the cat sat');
    expect(s).toMatchObject({ errors: 0, complete: true });
    const rows = store.db.prepare('SELECT scorer, value, detail FROM scores ORDER BY call_id, scorer').all();
    expect(rows).toContainEqual({
      scorer: 'stuck',
      value: null,
      detail: 'scorer error: score() did not settle within 50 ms (timeout_ms)',
    });
    expect(store.db.prepare("SELECT count(*) AS n FROM calls WHERE status = 'ok'").get()).toEqual({
      n: s.done,
    });
  });

  it('takes a whole number of ms', () => {
    expect(ScorerSpec.safeParse({ kind: 'module', path: 'x.ts', timeout_ms: 0 }).success).toBe(false);
    expect(ScorerSpec.safeParse({ kind: 'module', path: 'x.ts', timeout_ms: 2.5 }).success).toBe(false);
  });
});

describe('module: config errors name the scorer entry', () => {
  const rejectsWith = async (entry: Record<string, unknown>, message: RegExp) => {
    const attempt = build({ kind: 'exact' }, { kind: 'module', name: 'mine', ...entry } as ScorerSpecInput);
    await expect(attempt).rejects.toBeInstanceOf(HarnessError);
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(attempt).rejects.toThrow(message);
  };

  it('a missing file', async () => {
    await rejectsWith(
      { path: 'nope.ts' },
      /^scorers\[1\] \(module "mine"\): module "nope\.ts" \(.*fixtures\/nope\.ts\): no such file$/,
    );
    await rejectsWith({ path: '.' }, /^scorers\[1\] \(module "mine"\): module "\." .*: not a file$/);
  });

  it('a missing export, listing the ones there are', async () => {
    await rejectsWith(
      { path: 'exact-words.js', export: 'scorer' },
      /^scorers\[1\] \(module "mine"\): module "exact-words\.js" .* has no export "scorer" \(it exports default, notAScorer\)$/,
    );
    await rejectsWith({ path: 'keywords.ts' }, /has no export "default" \(it exports keywords\)$/);
  });

  it('an export that is not a scorer, or a factory that does not return one', async () => {
    await rejectsWith(
      { path: 'exact-words.js', export: 'notAScorer' },
      /: export "notAScorer" is an object without a score\(\) method, not a scorer \(\{ score\(input\) \}\) or a factory function$/,
    );
    await rejectsWith(
      { path: 'length-factory.ts', export: 'broken' },
      /: factory "broken" returned an object without a score\(\) method, not a scorer$/,
    );
  });

  it('a factory that rejects its options, and options given to a scorer object', async () => {
    await rejectsWith(
      { path: 'length-factory.ts', options: { max_words: 0 } },
      /: factory "default" threw: options\.max_words must be a number ≥ 1$/,
    );
    await rejectsWith(
      { path: 'exact-words.js', options: { a: 1 } },
      /: `options` given, but export "default" is a scorer object, not a factory$/,
    );
  });

  it('a module that fails to load', async () => {
    const dir = tempDir('holdout-module-');
    writeFileSync(join(dir, 'bad.ts'), 'export default { score( ;\n');
    writeFileSync(join(dir, 'bad.js'), 'import "./missing-dependency.js";\nexport default {};\n');
    for (const path of ['bad.ts', 'bad.js']) {
      const attempt = buildScorers(z.array(ScorerSpec).parse([{ kind: 'module', path }]), { baseDir: dir });
      await expect(attempt).rejects.toThrow(
        new RegExp(`^scorers\\[0\\] \\(module "module"\\): module "${path}" .* failed to load: `),
      );
    }
  });
});

describe('module: through `holdout run`', () => {
  it('loads a TS scorer next to the config and scores every call against the simulator', async () => {
    const sim = await startSimulator({
      profiles: { ...DEFAULT_PROFILES, 'sim-fast': { latencyMs: { median: 5 }, ttftMs: 1, accuracy: 0.9 } },
    });
    try {
      const dir = tempDir('holdout-module-run-');
      const dataset = sampleSlice(dir, 4);
      // A scorer file beside the config, written by "the user": value = 1 when the output is non-empty.
      writeFileSync(
        join(dir, 'nonempty.ts'),
        'export default (opts: { min: number }) => ({ score: ({ output }: { output: { text: string } }) => ' +
          '(output.text.length >= opts.min ? 1 : 0) });\n',
      );
      writeFileSync(
        join(dir, 'run.yaml'),
        [
          'suite: module-e2e',
          `dataset: ${dataset}`,
          'candidates:',
          `  - { id: c, model: sim-fast, base_url: "${sim.url}", api_key_env: K, price: { input: 1, cached_input: 1, output: 1 } }`,
          'scorers:',
          '  - { kind: module, path: ./nonempty.ts, options: { min: 1 }, name: nonempty }',
          `  - { kind: module, path: ${join(FIXTURES, 'throwing.mjs')}, name: buggy }`,
        ].join('\n'),
      );
      const db = join(dir, 'h.db');
      const r = await runCli(['run', join(dir, 'run.yaml'), '--db', db], { env: { K: 'k' } });
      expect(r.code, r.stderr).toBe(0);
      const d = new Database(db, { readonly: true });
      try {
        const scores = d.prepare('SELECT scorer, value, detail FROM scores ORDER BY scorer').all();
        expect(scores).toHaveLength(8);
        expect(scores.slice(0, 4)).toEqual(
          Array(4).fill({ scorer: 'buggy', value: null, detail: 'scorer error: boom' }),
        );
        expect(scores.slice(4)).toEqual(Array(4).fill({ scorer: 'nonempty', value: 1, detail: null }));
      } finally {
        d.close();
      }
    } finally {
      await sim.close();
    }
  });
});
