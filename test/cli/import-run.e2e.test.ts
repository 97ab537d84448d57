import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../harness/paths.js';
import { queryDb, runCli, tempDir } from '../support/cli.js';

const LOG = join(packageRoot(), 'test/fixtures/import/chat-log.jsonl');

describe('import: in a run config', () => {
  it('imports production logs into the dataset once, then replays production beside a live candidate', async () => {
    const dir = tempDir();
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        'dataset: records.jsonl',
        `import: { format: chat-log, paths: [${JSON.stringify(LOG)}], redact: true, tags: { source: prod } }`,
        'candidates:',
        '  - { id: production, model: gpt-5.4-mini, replay: true }',
        '  - { id: nano, model: sim-nano, base_url: simulator, price: { input: 1, cached_input: 1, output: 1 } }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const first = await runCli(['run', config, '--db', db]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/importing chat-log logs into .*records\.jsonl/);
    const dataset = join(dir, 'records.jsonl');
    expect(existsSync(join(dir, 'records.jsonl.import.json'))).toBe(true);
    const lines = readFileSync(dataset, 'utf8').trim().split('\n');
    const logLines = readFileSync(LOG, 'utf8').trim().split('\n').length;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(logLines);
    expect(JSON.parse(lines[0]!).tags.source).toBe('prod');

    const prod = queryDb<{ status: string; n: number }>(
      db,
      `SELECT status, count(*) AS n FROM calls WHERE candidate = 'production' GROUP BY status`,
    );
    expect(prod.reduce((s, r) => s + r.n, 0)).toBe(lines.length);
    expect(prod.find((r) => r.status === 'ok')!.n).toBeGreaterThan(0);

    // The dataset exists now: a new run uses it as it is and imports nothing.
    const second = await runCli(['run', config, '--db', db, '--new']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/importing/);
  });

  it('names a bad import field the way the config spells it', async () => {
    const dir = tempDir();
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        'dataset: records.jsonl',
        'import: { format: chat-log, page_size: 500, skip_invalid: "yes" }',
        'candidates:',
        '  - { id: nano, model: sim-nano, base_url: simulator, price: { input: 1, cached_input: 1, output: 1 } }',
      ].join('\n'),
    );
    const out = await runCli(['run', config, '--db', join(dir, 'h.db')]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/import\.skip_invalid/);
  });
});
