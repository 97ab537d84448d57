import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../harness/config.js';
import { HarnessError } from '../../harness/errors.js';
import { sampleConfigPath } from '../../harness/paths.js';
import { configHash } from '../../harness/run/start.js';

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdout-cfg-'));
  const path = join(dir, 'bakeoff.yaml');
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): HarnessError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HarnessError) return err;
    throw err;
  }
  throw new Error('expected a HarnessError');
}

describe('loadConfig', () => {
  it('loads the bundled sample config with defaults and resolved paths', () => {
    const cfg = loadConfig(sampleConfigPath());
    expect(cfg.candidates.map((c) => c.id)).toEqual(['nano', 'mini', 'frontier']);
    expect(cfg.dataset).toMatch(/datasets\/sample\/records\.jsonl$/);
    expect(cfg.candidates[1]!.price.standard).toEqual({ input: 0.75, cached_input: 0.075, output: 4.5 });
    expect(cfg.max_retries).toBe(4);
  });

  it('prices a known model from the dated table when the config gives no price', () => {
    const cfg = loadConfig(
      write('dataset: d.jsonl\ncandidates:\n  - { id: m, model: gpt-5.4-mini-2026-03-17 }\n'),
    );
    expect(cfg.candidates[0]!.price.source).toMatch(/^table 2026-08: gpt-5.4-mini$/);
    expect(cfg.candidates[0]!.api_key_env).toBe('OPENAI_API_KEY');
    expect(cfg.concurrency).toBe(16);
  });

  it('names every bad field at once', () => {
    const err = errorOf(() =>
      loadConfig(
        write(
          [
            'dataset: d.jsonl',
            'concurency: 3', // typo
            'repeats: 0',
            'candidates:',
            '  - { id: a, model: gpt-5.4-mini, api: completions }',
            '  - { id: b, model: gpt-5.4-mini, price: { input: -1, cached_input: 0, output: 1 } }',
            'scorers:',
            '  - { kind: labels }',
          ].join('\n'),
        ),
      ),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/concurency/);
    expect(err.message).toMatch(/repeats/);
    expect(err.message).toMatch(/candidates\[0\]\.api|candidates\.0\.api/);
    expect(err.message).toMatch(/candidates\[1\]\.price\.input|candidates\.1\.price\.input/);
    expect(err.message).toMatch(/scorers\[0\]\.kind|scorers\.0\.kind/);
  });

  it('rejects duplicate candidate ids and models with no known price, naming the field', () => {
    const err = errorOf(() =>
      loadConfig(
        write(
          'dataset: d.jsonl\ncandidates:\n  - { id: a, model: gpt-5.4-mini }\n  - { id: a, model: my-own-model }\n',
        ),
      ),
    );
    expect(err.message).toContain('candidates[1].id: "a" is already used by candidates[0]');
    expect(err.message).toContain('candidates[1].price: no bundled price for model "my-own-model"');
  });

  it('reports YAML syntax errors and a missing file clearly', () => {
    expect(errorOf(() => loadConfig(write('candidates: [\n'))).message).toMatch(/not valid YAML/);
    const missing = errorOf(() => loadConfig('/nonexistent/holdout.yaml'));
    expect(missing.code).toBe('CONFIG_NOT_FOUND');
    expect(missing.message).toContain('/nonexistent/holdout.yaml');
  });
});

describe('configHash', () => {
  it('is what earlier releases computed for the same config, so their unfinished runs still resume', () => {
    // Computed by the release before replay, judges, import, budgets and batch mode existed
    // (commit ad87b16), for the bundled sample config and dataset hash 'h'.
    const cfg = loadConfig(sampleConfigPath());
    expect(configHash(cfg, 'h')).toBe('a53f68c8c87c62aca9d48037b9e923b49a4b47efab0205eb2e38e79a1ded63cc');
    // Options that change results change it; speed settings do not.
    expect(configHash({ ...cfg, repeats: 2 }, 'h')).not.toBe(configHash(cfg, 'h'));
    const batched = { ...cfg, candidates: cfg.candidates.map((c) => ({ ...c, batch: true })) };
    expect(configHash(batched, 'h')).not.toBe(configHash(cfg, 'h'));
    expect(configHash({ ...cfg, concurrency: 3, timeout_ms: 5 }, 'h')).toBe(configHash(cfg, 'h'));
  });
});
