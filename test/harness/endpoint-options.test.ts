import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, residencyRegionOf } from '../../harness/config.js';
import { HarnessError } from '../../harness/errors.js';
import { connectEndpoint, endpointClient } from '../../harness/providers/connect.js';
import { fakeClock } from '../support/fakes.js';

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdout-cfg-'));
  const path = join(dir, 'run.yaml');
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

const ctx = { env: { OPENAI_API_KEY: 'k' }, clock: fakeClock(), timeoutMs: 1_000 };

describe('data_residency (regional processing)', () => {
  it('sends calls to the region host and prices eligible models 10% higher', () => {
    const cfg = loadConfig(
      write(
        [
          'dataset: d.jsonl',
          'candidates:',
          '  - { id: eu, model: gpt-5.4-mini, data_residency: eu }',
          '  - { id: global, model: gpt-5.4-mini }',
          '  - { id: old, model: gpt-4.1, data_residency: eu }',
          '  - { id: host, model: gpt-5.5, base_url: "https://jp.api.openai.com/v1" }',
        ].join('\n'),
      ),
    );
    const [eu, global, old, host] = cfg.candidates;
    expect(eu!.price.regionalUplift).toBe(1.1);
    expect(global!.price.regionalUplift).toBeUndefined();
    expect(old!.price.regionalUplift).toBeUndefined();
    expect(host!.price.regionalUplift).toBe(1.1);
    expect(endpointClient(eu!, ctx).baseURL).toBe('https://eu.api.openai.com/v1');
    expect(endpointClient(global!, ctx).baseURL).toBe('https://api.openai.com/v1');
    expect(connectEndpoint(eu!, ctx).endpoint).toBe('https://eu.api.openai.com/v1');
    expect(residencyRegionOf('https://us.api.openai.com/v1')).toBe('us');
    expect(residencyRegionOf('https://api.openai.com/v1')).toBeUndefined();
  });

  it('rejects a data_residency that contradicts base_url', () => {
    const err = errorOf(() =>
      loadConfig(
        write(
          'dataset: d.jsonl\ncandidates:\n  - { id: a, model: gpt-5.4-mini, data_residency: eu, base_url: "http://localhost:1/v1" }\n',
        ),
      ),
    );
    expect(err.message).toMatch(
      /candidates\[0\]\.data_residency: "eu" sends calls to https:\/\/eu\.api\.openai\.com\/v1/,
    );
  });
});

describe('include_commentary', () => {
  it('is a candidate option, off by default', () => {
    const cfg = loadConfig(
      write(
        'dataset: d.jsonl\ncandidates:\n  - { id: a, model: gpt-5.5, api: responses, include_commentary: true }\n  - { id: b, model: gpt-5.5, api: responses }\n',
      ),
    );
    expect(cfg.candidates[0]!.include_commentary).toBe(true);
    expect(cfg.candidates[1]!.include_commentary).toBeUndefined();
  });

  it('is refused on replay and batch candidates, whose output is the final answer', () => {
    const err = errorOf(() =>
      loadConfig(
        write(
          'dataset: d.jsonl\ncandidates:\n  - { id: p, model: gpt-5.5, replay: true, include_commentary: true }\n  - { id: b, model: gpt-5.5, batch: true, include_commentary: true }\n',
        ),
      ),
    );
    expect(err.message).toMatch(
      /candidates\[0\]\.include_commentary: applies to live calls only, not to a replay/,
    );
    expect(err.message).toMatch(
      /candidates\[1\]\.include_commentary: applies to live calls only, not to a batch/,
    );
  });
});

describe('price: in a config', () => {
  it('takes cache_write and priority rates', () => {
    const cfg = loadConfig(
      write(
        'dataset: d.jsonl\ncandidates:\n  - { id: a, model: gpt-5.6-sol, price: { input: 4, cached_input: 0.4, output: 24, cache_write: 5, priority: { input: 8, cached_input: 0.8, output: 48 } } }\n',
      ),
    );
    expect(cfg.candidates[0]!.price.standard).toMatchObject({ cache_write: 5, priority: { input: 8 } });
    expect(cfg.candidates[0]!.price.cacheWriteFactor).toBe(1.25);
  });
});
