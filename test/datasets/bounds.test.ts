import { openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { jsonBoundsError, MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_LINE_BYTES } from '../../datasets/bounds.js';
import { checkDataset, readRecords } from '../../datasets/jsonl.js';
import { printable, printableError, printableLines } from '../../datasets/printable.js';
import { drawSample } from '../../datasets/sample.js';
import { formatComposition } from '../../harness/cli/data/sample-command.js';
import { readSystemPrompt } from '../../harness/cli/data/import-command.js';
import { HarnessError } from '../../harness/errors.js';
import { packageRoot } from '../../harness/paths.js';
import { runCli, tempDir } from '../support/cli.js';
import { failImport, listDir, readJsonl, runImport } from './import/helpers.js';

const exec = promisify(execFile);
const DEEP = 100_000;
const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
/** A log line whose request is fine and whose metadata (never type-checked) nests `n` deep. */
const deepLogLine = (n: number, id?: string) =>
  `{${id ? `"id":"${id}",` : ''}"request":{"messages":[{"role":"user","content":"hi"}]},"metadata":{"x":${nested(n)}}}`;
const okLog = (content: string, id?: string) =>
  JSON.stringify({ ...(id ? { id } : {}), request: { messages: [{ role: 'user', content }] } });
const okRecord = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, request: { messages: [{ role: 'user', content: `q ${id}` }] }, ...extra });

function file(name: string, text: string): string {
  const p = join(tempDir(), name);
  writeFileSync(p, text);
  return p;
}

/** `before`, then `fill` repeated to `bytes`, a newline and `after`: written in pieces, never one string. */
function hugeFile(name: string, before: string, fill: string, bytes: number, after = ''): string {
  const p = join(tempDir(), name);
  const fd = openSync(p, 'w');
  writeSync(fd, before);
  const block = Buffer.from(fill.repeat(Math.ceil((1024 * 1024) / fill.length)));
  for (let n = 0; n < bytes; n += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - n));
  writeSync(fd, `\n${after}`);
  closeSync(fd);
  return p;
}

async function drain(path: string) {
  for await (const _ of readRecords(path)) {
    // reading is the test
  }
}

describe('jsonBoundsError', () => {
  it('accepts MAX_JSON_DEPTH levels and refuses one more, naming the column', () => {
    expect(jsonBoundsError(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(jsonBoundsError(nested(MAX_JSON_DEPTH + 1))).toEqual({
      reason: 'json_too_deep',
      message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels (at column ${MAX_JSON_DEPTH + 1})`,
    });
    expect(jsonBoundsError('{"a":[{"b":[1]}]}', { depth: 3, values: 100 })?.reason).toBe('json_too_deep');
  });

  it('does not count brackets or commas inside strings, escaped quotes included', () => {
    const tricky = JSON.stringify({ a: `[[[{{{ \\" \\\\" ,,,, ${'['.repeat(500)}` });
    expect(jsonBoundsError(tricky, { depth: 1, values: 1 })).toBeUndefined();
    expect(jsonBoundsError(JSON.stringify(['\\', '[', '"['.repeat(300)]), { depth: 1, values: 3 })).toBe(
      undefined,
    );
  });

  it('counts values as opening brackets and commas', () => {
    expect(jsonBoundsError('[1,2,3]', { depth: 5, values: 3 })).toBeUndefined();
    expect(jsonBoundsError('[1,2,3,4]', { depth: 5, values: 3 })).toEqual({
      reason: 'json_too_large',
      message: 'JSON with more than 3 values (at column 7)',
    });
    expect(jsonBoundsError(`[${'{},'.repeat(MAX_JSON_VALUES)}{}]`)?.reason).toBe('json_too_large');
  });
});

describe('deep JSON (100,000 levels in a field nothing type-checks)', () => {
  it('import: one file:line error, exit 2; --skip-invalid skips it and counts json_too_deep', async () => {
    const dir = tempDir();
    const src = join(dir, 'deep.jsonl');
    // Without an id (the fallback id hashes canonical JSON) and with one (redaction and writing recurse).
    writeFileSync(src, `${okLog('fine')}\n${deepLogLine(DEEP)}\n${deepLogLine(DEEP, 'has-id')}\n`);
    const out = join(dir, 'out.jsonl');
    const { error } = await failImport({ format: 'chat-log', paths: [src], out });
    expect(error).toBeInstanceOf(HarnessError);
    expect(error.message).toBe(`${src}:2: JSON nested deeper than ${MAX_JSON_DEPTH} levels (at column 172)`);
    const { summary } = await runImport({
      format: 'chat-log',
      paths: [src],
      out,
      skipInvalid: true,
      redact: true,
    });
    expect(summary.records).toBe(1);
    expect(summary.skipped).toEqual({ json_too_deep: 2 });

    const cli = await runCli(['import', 'chat-log', src, '-o', join(dir, 'cli.jsonl')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(new RegExp(`^holdout: ${src}:2: JSON nested deeper than 100 levels`));
    const skip = await runCli(['import', 'chat-log', src, '-o', join(dir, 'cli.jsonl'), '--skip-invalid']);
    expect(skip.code).toBe(0);
    expect(skip.stderr).toContain('skipped 2 invalid: json_too_deep 2');
  });

  it('run: reading and checking the dataset name file:line instead of overflowing the stack', async () => {
    const src = file('deep.jsonl', `${okRecord('a')}\n${deepLogLine(DEEP, 'b')}\n`);
    await expect(drain(src)).rejects.toThrow(`${src}:2: JSON nested deeper than 100 levels`);
    const err = await checkDataset(src).catch((e: unknown) => e as HarnessError);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).message).toContain(`${src}:2: JSON nested deeper than 100 levels`);
  });

  it('sample: exit 2 with file:line', async () => {
    const dir = tempDir();
    const src = join(dir, 'deep.jsonl');
    writeFileSync(src, `${okRecord('a')}\n${deepLogLine(DEEP, 'b')}\n`);
    await expect(drawSample([src], { size: 1, seed: 1 })).rejects.toThrow(`${src}:2: JSON nested deeper`);
    const r = await runCli(['sample', src, '--size', '1', '--seed', '1', '-o', join(dir, 's.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^holdout: ${src}:2: JSON nested deeper than 100 levels`));
  });

  it('import never writes a record that run would refuse: extra fields moved into metadata nest deeper', async () => {
    // At the line's top level `extra` is within the limit; in the record it sits under `metadata`.
    const line = `{"request":{"messages":[{"role":"user","content":"hi"}]},"extra":${nested(MAX_JSON_DEPTH - 1)}}`;
    const src = file('edge.jsonl', `${line}\n${okLog('fine')}\n`);
    const out = join(tempDir(), 'out.jsonl');
    const { summary } = await runImport({ format: 'chat-log', paths: [src], out, skipInvalid: true });
    expect(summary.skipped).toEqual({ json_too_deep: 1 });
    expect(summary.examples[0]!.message).toMatch(/^the record as written: JSON nested deeper than 100/);
    expect((await checkDataset(out)).count).toBe(1);
  });
});

describe('memory per line', () => {
  it('a line over MAX_LINE_BYTES is refused while it streams, naming file:line and the limit', async () => {
    const src = hugeFile('big.jsonl', '', '[', MAX_LINE_BYTES + 1024 * 1024, `${okRecord('after')}\n`);
    const dir = tempDir();
    const { error } = await failImport({ format: 'chat-log', paths: [src], out: join(dir, 'o.jsonl') });
    expect(error.message).toBe(`${src}:1: line longer than 32 MiB (the per-line limit)`);
    const { summary } = await runImport({
      format: 'chat-log',
      paths: [src],
      out: join(dir, 'o.jsonl'),
      skipInvalid: true,
    });
    expect(summary).toMatchObject({ records: 1, skipped: { line_too_long: 1 } });
    await expect(drain(src)).rejects.toThrow(`${src}:1: line longer than 32 MiB (the per-line limit)`);
    await expect(drawSample([src], { size: 1, seed: 1 })).rejects.toThrow(
      `${src}:1: line longer than 32 MiB`,
    );
  });

  it('a line of millions of tiny values is refused before parsing (it would parse into gigabytes)', async () => {
    const meta = `[${'{},'.repeat(MAX_JSON_VALUES)}{}]`;
    const line = `{"id":"w","request":{"messages":[{"role":"user","content":"hi"}]},"metadata":{"x":${meta}}}`;
    const src = file('wide.jsonl', `${line}\n${okRecord('b')}\n`);
    const out = join(tempDir(), 'o.jsonl');
    const { summary } = await runImport({ format: 'chat-log', paths: [src], out, skipInvalid: true });
    expect(summary).toMatchObject({ records: 1, skipped: { json_too_large: 1 } });
    await expect(drain(src)).rejects.toThrow(`${src}:1: JSON with more than 2,000,000 values`);
  });

  it('csv: a quoted field that never closes stops at the limit instead of holding the file', async () => {
    const line = `${'x'.repeat(999)}\n`;
    const src = hugeFile('open.csv', 'question,answer\nq1,a1\n"q2 ', line, MAX_LINE_BYTES + 1024 * 1024);
    const { error } = await failImport({
      format: 'csv',
      paths: [src],
      out: join(tempDir(), 'o.jsonl'),
      map: { prompt: 'question', expected: 'answer' },
      skipInvalid: true,
    });
    expect(error.message).toMatch(
      new RegExp(`^${src}:\\d+: a CSV record running to this line is longer than 32 MiB`),
    );
  });
});

describe('printable', () => {
  it('escapes C0 (tab and newline too), DEL and C1; keeps backslashes and other text', () => {
    expect(printable('a\x1b[31mred\x1b[0m\tb\nc\rd\x00\x7f\u009b2J\u0085é€\\x')).toBe(
      'a\\x1b[31mred\\x1b[0m\\x09b\\x0ac\\x0dd\\x00\\x7f\\u009b2J\\u0085é€\\x',
    );
    expect(printable(printable('\x1b'))).toBe('\\x1b');
    expect(printableLines('line 1\x1b]0;title\x07\nline 2')).toBe('line 1\\x1b]0;title\\x07\nline 2');
  });

  it('printableError keeps code, exit code and hint', () => {
    const e = printableError(
      new HarnessError('DATASET_INVALID', 'id "\x1b[2J"\nnext', { hint: 'h\u009b', exitCode: 3 }),
    );
    expect(e).toMatchObject({ code: 'DATASET_INVALID', message: 'id "\\x1b[2J"\nnext', hint: 'h\\u009b' });
    expect(e.exitCode).toBe(3);
  });
});

describe('terminal safety: data never reaches stderr raw', () => {
  const ESC_ID = 'evil\x1b[2J\x1b]0;pwned\x07\u009b31m';
  const SAFE_ID = 'evil\\x1b[2J\\x1b]0;pwned\\x07\\u009b31m';
  // Newlines separate our own lines; any other control would come from the data.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  const hasControls = (s: string) => /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(s);

  it('import: a duplicate id in the summary, a bad byte in an error', async () => {
    const dir = tempDir();
    const src = join(dir, 'dup.jsonl');
    writeFileSync(src, `${okLog('a', ESC_ID)}\n${okLog('b', ESC_ID)}\n`);
    const dup = await runCli(['import', 'chat-log', src, '-o', join(dir, 'o.jsonl')]);
    expect(dup.code).toBe(0);
    expect(dup.stderr).toContain(`${src}:2: duplicate_id: id "${SAFE_ID}" was already imported`);
    expect(hasControls(dup.stderr)).toBe(false);

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${okLog('a')}\n\x1b[31m\n`);
    const r = await runCli(['import', 'chat-log', bad, '-o', join(dir, 'o2.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2: invalid JSON: unexpected '\\x1b'`);
    expect(hasControls(r.stderr)).toBe(false);
  });

  it('import: tag keys and csv column names quoted in errors', async () => {
    const dir = tempDir();
    const src = join(dir, 'tags.jsonl');
    writeFileSync(src, `${JSON.stringify({ request: { messages: [] }, tags: { 'k\x1b[1m': 5 } })}\n`);
    const r = await runCli(['import', 'chat-log', src, '-o', join(dir, 'o.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('`tags.k\\x1b[1m` must be a string');
    expect(hasControls(r.stderr)).toBe(false);

    const csv = join(dir, 'q.csv');
    writeFileSync(csv, 'qu\x1bestion,answer\nq,a\n');
    const c = await runCli(['import', 'csv', csv, '-o', join(dir, 'c.jsonl'), '--map', 'prompt=question']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('its columns: "qu\\x1bestion", "answer"');
    expect(hasControls(c.stderr)).toBe(false);
  });

  it('run: duplicate ids and the parser excerpt are escaped', async () => {
    const src = file('dup.jsonl', `${okRecord(ESC_ID)}\n${okRecord(ESC_ID)}\n\x1b[31m\n`);
    const err = (await checkDataset(src).catch((e: unknown) => e)) as HarnessError;
    expect(err.message).toContain(`${src}:2: duplicate id "${SAFE_ID}" (first on line 1)`);
    expect(err.message).toContain(`${src}:3: invalid JSON: Unexpected token '\\x1b'`);
    expect(hasControls(err.message)).toBe(false);
  });

  it('sample: tag values in the composition, a timestamp and an id in errors', async () => {
    const dir = tempDir();
    const src = join(dir, 'r.jsonl');
    writeFileSync(
      src,
      `${okRecord('a', { tags: { task: 'x\x1b[41my' } })}\n${okRecord('b', { tags: { task: 'plain' } })}\n`,
    );
    const drawn = await drawSample([src], { size: 2, seed: 1, stratify: 'task' });
    const table = formatComposition(drawn.manifest).join('\n');
    expect(table).toContain('x\\x1b[41my');
    expect(hasControls(table)).toBe(false);

    const ts = join(dir, 'ts.jsonl');
    writeFileSync(ts, `${okRecord('a', { timestamp: 'soon\x1b[2J' })}\n`);
    const r = await runCli([
      'sample',
      ts,
      '--size',
      '1',
      '--seed',
      '1',
      '--since',
      '2025-01-01',
      '-o',
      join(dir, 's'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${ts}:1: timestamp "soon\\x1b[2J" is not ISO 8601`);

    const split = join(dir, 'split.jsonl');
    writeFileSync(split, `${okRecord(ESC_ID)}\n`);
    const s = await runCli([
      ...['sample', split, '--size', '1', '--seed', '1', '-o', join(dir, 's2')],
      ...['--split', '0.5', '--split-key', 'tag:conv'],
    ]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain(`${split}:1: record "${SAFE_ID}" has no tag "conv" to split on`);
    expect(hasControls(s.stderr)).toBe(false);
  });
});

describe('import csv: --system and the column map help', () => {
  const csvFile = () =>
    file('q.csv', 'question,answer,category\nWhat is 2+2?,4,math\nCapital of France?,Paris,geo\n');

  it('--system TEXT and --system @FILE give every record the same system prompt', async () => {
    const src = csvFile();
    const dir = tempDir();
    const prompt = join(dir, 'system.txt');
    writeFileSync(prompt, '\uFEFFAnswer with one word.\n\n');
    for (const arg of ['Answer with one word.', `@${prompt}`]) {
      const out = join(dir, `o-${arg.length}.jsonl`);
      const r = await runCli([
        'import',
        'csv',
        src,
        '-o',
        out,
        '--map',
        'prompt=question,label=category',
        '--system',
        arg,
      ]);
      expect(r.code).toBe(0);
      const records = readJsonl(out);
      expect(records.map((x) => x.request.messages[0])).toEqual([
        { role: 'system', content: 'Answer with one word.' },
        { role: 'system', content: 'Answer with one word.' },
      ]);
      expect(records[0].reference).toEqual({ label: 'math' });
      expect(JSON.parse(readFileSync(`${out}.import.json`, 'utf8')).options.system).toBe(
        'Answer with one word.',
      );
    }
  });

  it('a missing file, an empty prompt, a system= column too, or another format: usage errors, nothing written', async () => {
    const src = csvFile();
    const dir = tempDir();
    const out = join(dir, 'o.jsonl');
    const missing = join(tempDir(), 'nope.txt');
    const base = ['import', 'csv', src, '-o', out, '--map', 'prompt=question'];
    const r = await runCli([...base, '--system', `@${missing}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`holdout: --system @${missing}: cannot read ${missing}: ENOENT`);
    expect(() => readSystemPrompt('@')).toThrow('--system @ needs a file name');
    expect(() => readSystemPrompt(' ')).toThrow('--system is empty');
    const empty = file('empty.txt', '\n');
    expect(() => readSystemPrompt(`@${empty}`)).toThrow('is empty');
    const both = await runCli([...base, '--map', 'system=answer', '--system', 'x']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('choose one');
    const log = await runCli(['import', 'chat-log', src, '-o', out, '--system', 'x']);
    expect(log.code).toBe(2);
    expect(log.stderr).toContain('--system is only for csv');
    expect(listDir(dir)).toEqual([]);
  });

  it('--help lists every --map key and says which reference field each fills', async () => {
    // yargs prints help through console.log in-process: ask the bin (dist/ is built by the global setup).
    const { stdout } = await exec(process.execPath, [
      join(packageRoot(), 'bin/holdout.js'),
      'import',
      '--help',
    ]);
    const help = stdout.replace(/\s+/g, ' ');
    for (const key of ['prompt', 'system', 'expected', 'label', 'id', 'timestamp', 'model', 'tag:NAME'])
      expect(help).toContain(` ${key}=COLUMN: `);
    expect(help).toContain('label=COLUMN: reference.label, what the label scorer compares against');
    expect(help).toContain('expected=COLUMN: reference.output');
    expect(help).toContain('--system');
  });
});
