import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readSourceLines } from '../../../datasets/import/lines.js';
import { HarnessError } from '../../../harness/errors.js';
import { tempDir } from '../../support/cli.js';
import { failImport, fixture, listDir, readJsonl, runImport } from './helpers.js';

async function collect(path: string, opts: Parameters<typeof readSourceLines>[1] = {}) {
  const out = [];
  for await (const l of readSourceLines(path, opts)) out.push(l);
  return out;
}

const userLine = (content: string) => JSON.stringify({ request: { messages: [{ role: 'user', content }] } });

describe('the line reader', () => {
  it('drops a BOM and CR, keeps line numbers across blank lines', async () => {
    expect(await collect(fixture('malformed/bom-crlf.jsonl'))).toEqual([
      { line: 1, text: userLine('with a BOM') },
      { line: 3, text: userLine('after a blank CRLF line') },
    ]);
  });

  it('reports an undecodable line by number and byte instead of replacing it with U+FFFD', async () => {
    const lines = await collect(fixture('malformed/invalid-utf8.jsonl'));
    expect(lines[0]).toEqual({ line: 1, text: userLine('fine') });
    // `{"request":{"messages":[{"role":"user","content":"caf` is 53 bytes (11 + 12 + 1 + 8 + 7 + 10 + 4): the lone 0xE9 is byte 54.
    expect(lines[1]).toEqual({
      line: 2,
      invalid: { reason: 'invalid_utf8', message: 'invalid UTF-8 at byte 54' },
    });
  });

  it('skips past a line over the cap and goes on with the next one', async () => {
    const dir = tempDir();
    const p = join(dir, 'long.jsonl');
    writeFileSync(p, `${'x'.repeat(5000)}\nshort\n${'y'.repeat(3000)}`);
    const tooLong = { reason: 'line_too_long', message: 'line longer than 1000 bytes (the per-line limit)' };
    expect(await collect(p, { maxLineBytes: 1000 })).toEqual([
      { line: 1, invalid: tooLong },
      { line: 2, text: 'short' },
      { line: 3, invalid: tooLong },
    ]);
  });

  it('names a truncated gzip file and a missing file', async () => {
    const dir = tempDir();
    const gz = join(dir, 'cut.jsonl.gz');
    const whole = gzipSync(`${userLine('a')}\n`.repeat(2000));
    writeFileSync(gz, whole.subarray(0, whole.length - 40));
    const err = await collect(gz).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toMatch(new RegExp(`^${gz}: not a readable gzip file`));
    const missing = await collect(join(dir, 'nope.jsonl')).catch((e: unknown) => e);
    expect((missing as Error).message).toBe(`cannot read ${join(dir, 'nope.jsonl')}: ENOENT`);
  });
});

describe('the malformed-input corpus', () => {
  const mixed = fixture('malformed/mixed.jsonl');

  it('stops at the first bad line with file:line and the reason; writes nothing (exit 2)', async () => {
    const dir = tempDir();
    const { error } = await failImport({ format: 'chat-log', paths: [mixed], out: join(dir, 'o.jsonl') });
    expect(error).toBeInstanceOf(HarnessError);
    expect(error.exitCode).toBe(2);
    // Line 2 is 57 characters long (49 up to the content's quote, then `"cut off`) and stops inside a string.
    expect(error.message).toBe(
      `${mixed}:2: truncated JSON: the line ends (at column 57) before the value is complete`,
    );
    expect(error.hint).toContain('--skip-invalid');
    expect(listDir(dir)).toEqual([]); // no output, no temp file, no manifest
  });

  it('--skip-invalid imports the good lines and counts every bad one by reason', async () => {
    const dir = tempDir();
    const out = join(dir, 'o.jsonl');
    const { summary, stderr } = await runImport({
      format: 'chat-log',
      paths: [mixed],
      out,
      skipInvalid: true,
    });
    // Lines 1 and 11 are good; 5 and 6 are blank (not counted); the other seven are bad.
    expect(readJsonl(out).map((r) => r.request.messages[0].content)).toEqual([
      'first good line',
      'last good line',
    ]);
    expect(summary.skipped).toEqual({ invalid_json: 1, wrong_type: 4, missing_request: 1, invalid_utf8: 1 });
    expect(summary.examples.map((e) => [e.where.slice(mixed.length + 1), e.reason, e.message])).toEqual([
      ['2', 'invalid_json', 'truncated JSON: the line ends (at column 57) before the value is complete'],
      ['3', 'wrong_type', '`tags.priority` must be a string, got a number'],
      ['4', 'missing_request', 'missing `request` (the request body as sent)'],
      ['7', 'wrong_type', 'expected a JSON object, got an array'],
      ['8', 'invalid_utf8', 'invalid UTF-8 at byte 60'],
    ]);
    expect(stderr).toContain(
      'skipped 7 invalid: wrong_type 4, invalid_json 1, missing_request 1, invalid_utf8 1',
    );
    const manifest = JSON.parse(readFileSync(`${out}.import.json`, 'utf8'));
    expect(manifest.skipped).toEqual(summary.skipped);
    expect(manifest.records).toBe(2);
  });

  it('names each kind of bad line on its own', async () => {
    const dir = tempDir();
    const cases: [string, string][] = [
      ['invalid-utf8.jsonl', ':2: invalid UTF-8 at byte 54'],
      [
        'truncated-last.jsonl',
        ':2: truncated JSON: the line ends (at column 66) before the value is complete',
      ],
    ];
    for (const [name, tail] of cases) {
      const { error } = await failImport({
        format: 'chat-log',
        paths: [fixture(`malformed/${name}`)],
        out: join(dir, 'o'),
      });
      expect(error.message).toBe(`${fixture(`malformed/${name}`)}${tail}`);
    }
    const bad = join(dir, 'types.jsonl');
    const cases2: [unknown, string][] = [
      [{ request: 'x' }, '`request` must be an object, got a string'],
      [{ request: { messages: 'hi' } }, '`request.messages` must be an array, got a string'],
      [{ request: { messages: [{ content: 'hi' }] } }, 'missing `request.messages[0].role`'],
      [{ request: { messages: [] }, response: [] }, '`response` must be an object, got an array'],
      [
        { request: { messages: [] }, latency_ms: -5 },
        '`latency_ms` must be a non-negative number of milliseconds, got a number',
      ],
      [
        { request: { messages: [] }, timestamp: true },
        '`timestamp` must be an ISO date or a Unix time, got a boolean',
      ],
      [{ request: { messages: [] }, timestamp: 'yesterday' }, '`timestamp` is not a date'],
      [{ request: { messages: [] }, id: { x: 1 } }, '`id` must be a string, got an object'],
      [{ request: { messages: [] }, metadata: 'm' }, '`metadata` must be an object, got a string'],
    ];
    for (const [line, message] of cases2) {
      writeFileSync(bad, `${JSON.stringify(line)}\n`);
      const { error } = await failImport({ format: 'chat-log', paths: [bad], out: join(dir, 'o') });
      expect(error.message).toBe(`${bad}:1: ${message}`);
    }
    expect(listDir(dir)).toEqual(['types.jsonl']);
  });

  it('an empty file gives zero records and says so', async () => {
    const dir = tempDir();
    const out = join(dir, 'o.jsonl');
    const { summary, stderr } = await runImport({
      format: 'chat-log',
      paths: [fixture('malformed/empty.jsonl')],
      out,
    });
    expect(summary.records).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('');
    expect(stderr).toContain(`note: ${fixture('malformed/empty.jsonl')} is empty: 0 records from it`);
    expect(stderr).toContain('warning: the output holds no records');
  });

  it('BOM, CRLF and blank lines import cleanly', async () => {
    const out = join(tempDir(), 'o.jsonl');
    await runImport({ format: 'chat-log', paths: [fixture('malformed/bom-crlf.jsonl')], out });
    expect(readJsonl(out).map((r) => r.request.messages[0].content)).toEqual([
      'with a BOM',
      'after a blank CRLF line',
    ]);
  });

  it('a 10 MB line imports whole, multi-byte characters across read chunks included', async () => {
    const dir = tempDir();
    const p = join(dir, 'big.jsonl');
    // 'é' is 2 bytes and '€' 3: with 256 KB reads, sequences straddle chunk boundaries.
    const content = 'aé€'.repeat(1_750_000); // 6 bytes × 1.75M = 10.5 MB
    writeFileSync(
      p,
      `${userLine('small')}\n${JSON.stringify({ id: 'big', request: { messages: [{ role: 'user', content }] } })}\n`,
    );
    const out = join(dir, 'o.jsonl');
    const { summary } = await runImport({ format: 'chat-log', paths: [p], out });
    expect(summary.records).toBe(2);
    const big = readJsonl(out)[1];
    expect(big.id).toBe('big');
    expect(big.request.messages[0].content.length).toBe(3 * 1_750_000);
    expect(big.request.messages[0].content === content).toBe(true);
  });
});
