import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImportInterrupted } from '../../../datasets/import/index.js';
import { IdSet } from '../../../datasets/import/ids.js';
import { checkDataset, readRecords } from '../../../datasets/jsonl.js';
import { tempDir } from '../../support/cli.js';
import { failImport, fixture, hashId, listDir, readJsonl, runImport, sha256File } from './helpers.js';

const line = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ request: { messages: [{ role: 'user', content }] }, ...extra });

describe('atomic output', () => {
  it('an error after megabytes of good lines leaves no output, no temp file, and an older output intact', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    // 3,000 lines of ~1 KB: more than the 1 MB write buffer, so the temp file had data on disk.
    const good = Array.from({ length: 3000 }, (_, i) => line(`${i} ${'x'.repeat(1000)}`));
    writeFileSync(p, `${good.join('\n')}\n{"request": {"messages": [}\n`);
    const out = join(dir, 'records.jsonl');
    writeFileSync(out, 'previous import\n');
    const { error } = await failImport({ format: 'chat-log', paths: [p], out });
    expect(error.message).toBe(`${p}:3001: invalid JSON: unexpected '}'`);
    expect(listDir(dir)).toEqual(['log.jsonl', 'records.jsonl']);
    expect(readFileSync(out, 'utf8')).toBe('previous import\n');
  });

  it('an abort mid-import writes nothing', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(p, Array.from({ length: 50 }, (_, i) => line(`q${i}`)).join('\n'));
    const ctl = new AbortController();
    const { error } = await failImport(
      { format: 'chat-log', paths: [p], out: join(dir, 'o.jsonl') },
      {
        signal: ctl.signal,
        onItem: (prog) => {
          if (prog.records === 10) ctl.abort();
        },
      },
    );
    expect(error).toBeInstanceOf(ImportInterrupted);
    expect(error.message).toBe(`import interrupted: nothing written to ${join(dir, 'o.jsonl')}`);
    expect(listDir(dir)).toEqual(['log.jsonl']);
  });

  it('refuses to write over an input', async () => {
    const p = fixture('chat-log.jsonl');
    const { error } = await failImport({ format: 'chat-log', paths: [p], out: p });
    expect(error.message).toBe(`the output ${p} is also an input: choose another -o`);
  });
});

describe('progress', () => {
  it('prints a progress line every few seconds on a non-TTY stderr', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(p, Array.from({ length: 20 }, (_, i) => line(`q${i}`)).join('\n'));
    // A clock that moves 1 s per reading: with a 5 s pace, a line every five or so records.
    let t = 0;
    const clock = { now: () => (t += 1000), isoNow: () => '2026-11-25T00:00:00.000Z', sleep: async () => {} };
    const { stderr } = await runImport(
      { format: 'chat-log', paths: [p], out: join(dir, 'o.jsonl') },
      { clock, progressEveryMs: 5000 },
    );
    const lines = stderr.split('\n').filter((l) => l.startsWith('import: '));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toMatch(/^import: \d+ records · 0 skipped \(100\.0% of input\) · \d+\/s · \d+s$/);
  });
});

describe('ids, tags and duplicates', () => {
  it('keeps the first of a repeated id and counts the rest; --tag adds to every record', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(
      p,
      [
        line('one', { id: 'a', tags: { task: 'qa', env: 'staging' } }),
        line('two', { id: 'a' }),
        line('three'),
        line('three'), // same request, no id: same hash, so a duplicate too
        line('four', { id: 'b' }),
      ].join('\n'),
    );
    const out = join(dir, 'o.jsonl');
    const { summary, stderr } = await runImport({
      format: 'chat-log',
      paths: [p],
      out,
      tags: { env: 'prod', week: '2026-47' },
    });
    const records = readJsonl(out);
    const h3 = hashId('{"messages":[{"content":"three","role":"user"}]}');
    expect(records.map((r) => r.id)).toEqual(['a', h3, 'b']);
    expect(records[0].request.messages[0].content).toBe('one');
    expect(records[0].tags).toEqual({ task: 'qa', env: 'prod', week: '2026-47' });
    expect(records[2].tags).toEqual({ env: 'prod', week: '2026-47' });
    expect(summary.duplicates).toBe(2);
    expect(summary.examples.map((e) => [e.where, e.reason])).toEqual([
      [`${p}:2`, 'duplicate_id'],
      [`${p}:4`, 'duplicate_id'],
    ]);
    expect(stderr).toContain('dropped 2 duplicate id(s) (kept the first of each)');
  });

  it('the fallback id ignores key order and whitespace in the log', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(
      p,
      [
        '{"request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}}',
        '{"request":{"messages":[{"content":"hi","role":"user"}],"model":"m"}}',
      ].join('\n'),
    );
    const { summary } = await runImport({ format: 'chat-log', paths: [p], out: join(dir, 'o.jsonl') });
    expect(summary.records).toBe(1);
    expect(summary.duplicates).toBe(1);
    expect(readJsonl(join(dir, 'o.jsonl'))[0].id).toBe(
      hashId('{"messages":[{"content":"hi","role":"user"}],"model":"m"}'),
    );
  });

  it('IdSet: no false duplicates over 200,000 distinct ids, and every repeat found', () => {
    const set = new IdSet();
    let added = 0;
    for (let i = 0; i < 200_000; i++) if (set.add(`chatcmpl-${i}`)) added++;
    expect(added).toBe(200_000);
    let repeats = 0;
    for (let i = 0; i < 200_000; i += 997) if (!set.add(`chatcmpl-${i}`)) repeats++;
    expect(repeats).toBe(Math.ceil(200_000 / 997));
    expect(set.size).toBe(200_000);
  });
});

describe('gzip, manifest and redaction', () => {
  it('reads gzip input, writes gzip output, and the manifest hashes the bytes on disk', async () => {
    const dir = tempDir();
    const gz = join(dir, 'log.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture('chat-log.jsonl'))));
    const out = join(dir, 'records.jsonl.gz');
    const { summary } = await runImport({ format: 'chat-log', paths: [gz], out });
    expect(summary.records).toBe(3);
    // The existing dataset reader takes the output as it is.
    const ids: string[] = [];
    for await (const r of readRecords(out)) ids.push(r.record.id);
    expect(ids[0]).toBe('chatcmpl-C1a2b3c4d5e6f7g8h9');
    expect((await checkDataset(out)).count).toBe(3);
    const manifest = JSON.parse(readFileSync(`${out}.import.json`, 'utf8'));
    expect(manifest).toMatchObject({
      version: 1,
      format: 'chat-log',
      output: 'records.jsonl.gz',
      records: 3,
      skipped: {},
      duplicates: 0,
      sources: [{ path: gz, sha256: sha256File(gz), bytes: readFileSync(gz).length }],
      redaction: { enabled: false, patterns: [], counts: {} },
    });
    expect(manifest.created_at).toBe('2026-11-25T00:00:01.000Z'); // the fake clock's wall time
  });

  it('an empty gzip output is still valid gzip', async () => {
    const dir = tempDir();
    const out = join(dir, 'o.jsonl.gz');
    await runImport({ format: 'chat-log', paths: [fixture('malformed/empty.jsonl')], out });
    expect(readJsonl(out)).toEqual([]);
  });

  it('--redact replaces PII with placeholders; counts reach stderr and the manifest, values never', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    const content =
      'Mail jane.doe@example.com or JANE.DOE@example.com, card 4111 1111 1111 1111, emp=E-99812';
    writeFileSync(
      p,
      `${line(content, { id: 'r1', response: { id: 'x', choices: [{ message: { content: 'ok jane.doe@example.com' } }] } })}\n`,
    );
    const out = join(dir, 'o.jsonl');
    const { summary, stderr } = await runImport({
      format: 'chat-log',
      paths: [p],
      out,
      redact: true,
      redactPatterns: [{ name: 'employee_id', regex: 'E-\\d{5}' }],
    });
    const [r] = readJsonl(out);
    expect(r.request.messages[0].content).toBe(
      'Mail <EMAIL_1> or <EMAIL_1>, card <CARD_1>, emp=<EMPLOYEE_ID_1>',
    );
    expect(r.production.body.choices[0].message.content).toBe('ok <EMAIL_1>');
    expect(summary.redaction).toEqual({ enabled: true, counts: { EMAIL: 3, CARD: 1, EMPLOYEE_ID: 1 } });
    expect(stderr).toContain('redacted EMAIL 3, CARD 1, EMPLOYEE_ID 1');
    const manifestText = readFileSync(`${out}.import.json`, 'utf8');
    expect(JSON.parse(manifestText).redaction).toEqual({
      enabled: true,
      patterns: ['employee_id'],
      counts: { EMAIL: 3, CARD: 1, EMPLOYEE_ID: 1 },
    });
    for (const text of [stderr, manifestText, readFileSync(out, 'utf8')]) {
      expect(text).not.toContain('jane.doe');
      expect(text).not.toContain('4111');
    }
  });

  it('error messages never quote the line', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(p, '{"request": {"messages": [{"role": "user", "content": "secret sk-abc"}]} trailing}\n');
    const { error } = await failImport({ format: 'chat-log', paths: [p], out: join(dir, 'o') });
    expect(error.message).toMatch(/^.*:1: invalid JSON at column \d+$/);
    expect(error.message).not.toContain('secret');
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });
});
