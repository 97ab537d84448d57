/**
 * Record ids that are not well-formed UTF-16 (a lone surrogate, valid in JSON as "\ud800") are
 * refused where records are read: SQLite stores text as UTF-8, where a lone surrogate becomes
 * U+FFFD, so the id would read back as another string and never pair with its calls.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataset, parseRecordLine } from '../../datasets/jsonl.js';
import { escapeLoneSurrogates, HoldoutRecord, isWellFormed } from '../../datasets/record.js';
import { HarnessError } from '../../harness/errors.js';
import { readJsonl } from './import/helpers.js';
import { queryDb, runCli, tempDir } from '../support/cli.js';

const request = { messages: [{ role: 'user', content: 'q' }] };
/** A JSONL line whose id is `id` as JSON writes it: a lone surrogate comes out as its \u escape. */
const line = (id: string) => JSON.stringify({ id, request });

describe('record ids must be well-formed UTF-16', () => {
  it('the schema refuses a lone surrogate, high or low, and keeps proper pairs', () => {
    for (const bad of ['\ud800x', 'x\udc00', 'a\ud83d', '\udfff\ud800'])
      expect(HoldoutRecord.safeParse({ id: bad, request }).success, escapeLoneSurrogates(bad)).toBe(false);
    for (const good of ['tkt-1', 'emoji-😀', 'ünï'])
      expect(HoldoutRecord.safeParse({ id: good, request }).success).toBe(true);
    expect(isWellFormed('😀')).toBe(true);
    expect(escapeLoneSurrogates('\ud800x😀\udc01')).toBe('\\ud800x😀\\udc01');
  });

  it('a dataset line with one is a file:line error naming the id escaped', () => {
    const text = line('\ud800x');
    expect(text).toContain('\\ud800x');
    let err: unknown;
    try {
      parseRecordLine('records.jsonl', { line: 3, text });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('DATASET_INVALID');
    expect((err as HarnessError).message).toBe(
      'records.jsonl:3: not a holdout record: id: "\\ud800x" is not well-formed UTF-16 (a lone surrogate): ' +
        'the database would store it altered; give the record another id',
    );
  });

  it('control characters in such an id are escaped as well', () => {
    expect(() => parseRecordLine('r.jsonl', { line: 1, text: line('\x1b[2J\udc00') })).toThrow(
      /^r\.jsonl:1: not a holdout record: id: "\\x1b\[2J\\udc00" is not well-formed/,
    );
  });

  it('holdout run refuses the dataset before anything is stored: exit 2, file:line', async () => {
    const dir = tempDir();
    const dataset = join(dir, 'records.jsonl');
    writeFileSync(dataset, `${line('ok-1')}\n${line('bad-\ud800')}\n`);
    await expect(checkDataset(dataset)).rejects.toThrow(
      `${dataset}:2: not a holdout record: id: "bad-\\ud800"`,
    );
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        `dataset: ${dataset}`,
        'candidates:',
        '  - { id: a, model: sim-mini, base_url: simulator, price: { input: 1, cached_input: 0.1, output: 2 } }',
        'scorers:',
        '  - { kind: exact }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const r = await runCli(['run', config, '--db', db]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `${dataset}:2: not a holdout record: id: "bad-\\ud800" is not well-formed UTF-16`,
    );
    expect(r.stderr).not.toMatch(/ {4}at /);
    if (existsSync(db)) expect(queryDb(db, 'SELECT id FROM runs')).toEqual([]);
  });

  it('holdout import stops on one (exit 2), and --skip-invalid skips and counts it as invalid_id', async () => {
    const dir = tempDir();
    const log = join(dir, 'log.jsonl');
    const entry = (id: string) =>
      JSON.stringify({
        id,
        request: { model: 'gpt-5.4-mini', messages: [{ role: 'user', content: `q ${id}` }] },
      });
    writeFileSync(log, [entry('a'), entry('b\ud800'), entry('c'), entry('\udc00')].join('\n'));
    const out = join(dir, 'records.jsonl');
    const stop = await runCli(['import', 'chat-log', log, '-o', out]);
    expect(stop.code).toBe(2);
    expect(stop.stderr).toContain(`${log}:2: id "b\\ud800" is not well-formed UTF-16 (a lone surrogate)`);
    const skip = await runCli(['import', 'chat-log', log, '-o', out, '--skip-invalid']);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stderr).toContain('skipped 2 invalid: invalid_id 2');
    expect(skip.stderr).toContain(`${log}:4: invalid_id: id "\\udc00" is not well-formed UTF-16`);
    expect(readJsonl(out).map((r) => r.id)).toEqual(['a', 'c']);
    const manifest = JSON.parse(readFileSync(`${out}.import.json`, 'utf8')) as {
      skipped: Record<string, number>;
    };
    expect(manifest.skipped).toEqual({ invalid_id: 2 });
  });
});
