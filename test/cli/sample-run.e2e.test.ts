import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

describe('a run over a drawn sample', () => {
  it('stores the sample manifest (seed, strata, split) with the run, and warns when the file changed since', async () => {
    const dir = tempDir();
    const source = sampleSlice(dir, 60);
    const sample = join(dir, 'holdout.jsonl');
    const drawn = await runCli([
      'sample',
      source,
      '--size',
      '12',
      '--seed',
      '7',
      '-o',
      sample,
      '--stratify',
      'task',
      '--split',
      '0.3',
      '--side',
      'holdout',
    ]);
    expect(drawn.code, drawn.stderr).toBe(0);
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        `dataset: ${sample}`,
        `simulator: { answer_key: ${answerKeyPath()} }`,
        'candidates:',
        '  - { id: nano, model: sim-nano, base_url: simulator, price: { input: 1, cached_input: 1, output: 1 } }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const run = await runCli(['run', config, '--db', db]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/changed after/);
    const stored = () =>
      queryDb<{ config_json: string }>(db, 'SELECT config_json FROM runs ORDER BY id').map(
        (r) => JSON.parse(r.config_json) as { sample?: Record<string, unknown> },
      );
    expect(stored()[0]!.sample).toMatchObject({
      seed: 7,
      size: 12,
      stratify: 'task',
      split: { fraction: 0.3, key: 'id', side: 'holdout', salt: 'holdout-split:' },
    });

    // Edit the sample after drawing it: the next run still stores the manifest, and says so.
    appendFileSync(
      sample,
      `${JSON.stringify({ id: 'extra', request: { messages: [{ role: 'user', content: 'x' }] } })}\n`,
    );
    const again = await runCli(['run', config, '--db', db, '--new']);
    expect(again.stderr).toMatch(/changed after `holdout sample` wrote it/);
    expect(stored()[1]!.sample).toBeDefined();
  });
});
