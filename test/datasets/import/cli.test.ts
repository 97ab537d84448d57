import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimServer, startSimulator } from '../../../harness/sim/index.js';
import { runCli, tempDir } from '../../support/cli.js';
import { fixture, listDir, readJsonl } from './helpers.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimulator({
    storedCompletions: [
      {
        id: 'chatcmpl-cli-1',
        created: 1794700800,
        model: 'gpt-5.4-mini',
        metadata: { task: 'qa' },
        choices: [{ index: 0, message: { role: 'assistant', content: '42' }, finish_reason: 'stop' }],
        messages: [{ role: 'user', content: 'Call me at +1-555-123-4567' }],
      },
    ],
  });
});
afterAll(async () => {
  await sim.close();
});

describe('holdout import', () => {
  it('imports a chat log and prints the summary on stderr (stdout stays clean)', async () => {
    const out = join(tempDir(), 'records.jsonl');
    const r = await runCli([
      'import',
      'chat-log',
      fixture('chat-log.jsonl'),
      '-o',
      out,
      '--tag',
      'source=prod',
      '--reference',
      'production',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`imported 3 record(s) from chat-log into ${out}`);
    const records = readJsonl(out);
    expect(records.map((x) => x.tags.source)).toEqual(['prod', 'prod', 'prod']);
    expect(records[0].reference).toEqual({ output: 'billing' });
  });

  it('exit 2 with file:line on a malformed line; --skip-invalid imports the rest', async () => {
    const dir = tempDir();
    const out = join(dir, 'records.jsonl');
    const mixed = fixture('malformed/mixed.jsonl');
    const bad = await runCli(['import', 'chat-log', mixed, '-o', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `holdout: ${mixed}:2: truncated JSON: the line ends (at column 57) before the value is complete\n` +
        'hint: fix that line, or pass --skip-invalid to import the rest and count what is skipped\n',
    );
    expect(listDir(dir)).toEqual([]);
    const ok = await runCli(['import', 'chat-log', mixed, '-o', out, '--skip-invalid']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('skipped 7 invalid');
    expect(readJsonl(out)).toHaveLength(2);
  });

  it('csv with --map; batch with --output; usage errors name the flag', async () => {
    const dir = tempDir();
    const csv = await runCli([
      'import',
      'csv',
      fixture('questions.csv'),
      '-o',
      join(dir, 'c.jsonl'),
      '--map',
      'prompt=question,expected=answer',
      '--map',
      'tag:task=category',
    ]);
    expect(csv.code).toBe(0);
    expect(readJsonl(join(dir, 'c.jsonl'))[0].tags).toEqual({ task: 'math' });
    const batch = await runCli([
      'import',
      'batch',
      fixture('batch-input.jsonl'),
      '--output',
      fixture('batch-output.jsonl'),
      '-o',
      join(dir, 'b.jsonl'),
    ]);
    expect(batch.code).toBe(0);
    expect(readJsonl(join(dir, 'b.jsonl'))[0].production.body.id).toBe('chatcmpl-batch1');

    const noMap = await runCli(['import', 'csv', fixture('questions.csv'), '-o', join(dir, 'x.jsonl')]);
    expect(noMap.code).toBe(2);
    expect(noMap.stderr).toContain('holdout: csv needs a column map');
    const badTag = await runCli([
      'import',
      'chat-log',
      fixture('chat-log.jsonl'),
      '-o',
      join(dir, 'x'),
      '--tag',
      'oops',
    ]);
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toContain('holdout: --tag takes key=value, got "oops"');
    const badFormat = await runCli(['import', 'parquet', 'x', '-o', join(dir, 'x')]);
    expect(badFormat.code).toBe(2);
    const noOut = await runCli(['import', 'chat-log', fixture('chat-log.jsonl')]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('Missing required argument: out');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('openai-stored: key from the environment, --base-url, redaction on unless --no-redact', async () => {
    const dir = tempDir();
    const env = { OPENAI_API_KEY: 'test-key' };
    const r = await runCli(['import', 'openai-stored', '-o', join(dir, 's.jsonl'), '--base-url', sim.url], {
      env,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('redacted PHONE 1');
    expect(r.stderr).not.toContain('test-key');
    expect(readJsonl(join(dir, 's.jsonl'))[0].request.messages[0].content).toBe('Call me at <PHONE_1>');
    const manifest = readFileSync(join(dir, 's.jsonl.import.json'), 'utf8');
    expect(manifest).not.toContain('test-key');
    const raw = await runCli(
      ['import', 'openai-stored', '-o', join(dir, 'raw.jsonl'), '--base-url', sim.url, '--no-redact'],
      { env },
    );
    expect(raw.code).toBe(0);
    expect(readJsonl(join(dir, 'raw.jsonl'))[0].request.messages[0].content).toBe(
      'Call me at +1-555-123-4567',
    );
    const noKey = await runCli([
      'import',
      'openai-stored',
      '-o',
      join(dir, 'k.jsonl'),
      '--base-url',
      sim.url,
    ]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('OPENAI_API_KEY is not set');
    const withFiles = await runCli(['import', 'openai-stored', 'x.jsonl', '-o', join(dir, 'k.jsonl')], {
      env,
    });
    expect(withFiles.code).toBe(2);
    expect(withFiles.stderr).toContain('openai-stored reads from the API: give no input files');
  });
});
