/**
 * `holdout export`: the two tables, read back by readers that are not the writer's. Parquet files
 * are read with parquet-wasm (the Rust arrow-rs Parquet implementation) into Apache Arrow; the
 * expected values are the ones written into the store by hand below, not re-read through our code.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { type ExportFormat, exportRun } from '../results/export/export.js';
import { CALLS, SCORES } from '../results/export/tables.js';
import { type CallRow, openStore, type Store } from '../results/store/store.js';
import { exportCommand } from '../harness/cli/data/export-command.js';
import type { CommandIo } from '../harness/cli/common.js';
import { systemClock } from '../harness/clock.js';
import { packageRoot } from '../harness/paths.js';
import { addRecords, newRun } from './results/report-helpers.js';
import { runCli, tempDir } from './support/cli.js';

function call(runId: number, over: Partial<CallRow>): CallRow {
  return {
    runId,
    recordId: 'r1',
    candidate: 'mini',
    repeat: 0,
    role: 'candidate',
    status: 'ok',
    output: 'billing',
    toolCallsJson: null,
    finishReason: 'stop',
    inputTokens: 1200,
    cachedTokens: 1024,
    cacheWriteTokens: 64,
    outputTokens: 40,
    reasoningTokens: 32,
    costUsd: 0.000_312_5,
    latencyMs: 812.5,
    ttftMs: 301.25,
    queueMs: 3,
    backoffMs: 0,
    attempts: 1,
    errorKind: null,
    errorMessage: null,
    httpStatus: null,
    servedModel: 'gpt-5.4-mini-2026-03-17',
    requestId: 'req_1',
    serverMs: 700,
    serviceTier: 'default',
    simulated: false,
    startedAt: '2026-03-01T10:00:00.000Z',
    finishedAt: '2026-03-01T10:00:00.812Z',
    ...over,
  };
}

/** Two runs; the newer one has an ok call, an error call, a judge call and unicode text. */
function fixture(dir: string): { db: string; older: number; newer: number } {
  const db = join(dir, 'h.db');
  const store = openStore(db);
  const older = newRun(store, 1, 1, [['a', 'gpt-5.4-nano']], { suite: 'old' });
  addRecords(store, older, [['x', {}]]);
  store.recordCall(call(older, { recordId: 'x', candidate: 'a' }), [
    { scorer: 's', value: 0, passed: false },
  ]);
  const newer = newRun(
    store,
    1,
    2,
    [
      ['mini', 'gpt-5.4-mini'],
      ['nano', 'gpt-5.4-nano'],
    ],
    { suite: 'weekly' },
  );
  addRecords(store, newer, [
    ['r1', { task: 'classify' }],
    ['r2', { task: 'extract', tenant: 'é"q' }],
  ]);
  store.recordCall(call(newer, {}), [
    { scorer: 'label', value: 1, passed: true },
    { scorer: 'judge', value: null, passed: null, detail: 'no reference.label' },
  ]);
  store.recordCall(
    call(newer, {
      recordId: 'r2',
      candidate: 'nano',
      status: 'error',
      output: null,
      finishReason: null,
      inputTokens: null,
      cachedTokens: null,
      cacheWriteTokens: null,
      outputTokens: null,
      reasoningTokens: null,
      costUsd: null,
      latencyMs: null,
      ttftMs: null,
      attempts: 5,
      errorKind: 'rate_limit',
      errorMessage: 'Rate limit reached — “tokens”',
      httpStatus: 429,
      servedModel: null,
      requestId: null,
      serverMs: null,
      serviceTier: null,
    }),
    [],
  );
  store.recordCall(
    call(newer, {
      recordId: 'r1',
      candidate: 'mini',
      role: 'judge',
      aux: 'judge',
      output: '{"score": 0.5}',
      toolCallsJson: '[{"name":"f","arguments":"{}"}]',
      servedModel: 'gpt-5.5',
      simulated: true,
    }),
    [],
  );
  store.close();
  return { db, older, newer };
}

function readParquetRows(path: string): { rows: Record<string, unknown>[]; types: Record<string, string> } {
  const table = tableFromIPC(readParquet(new Uint8Array(readFileSync(path))).intoIPCStream());
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  return { rows: table.toArray().map((r) => r.toJSON() as Record<string, unknown>), types };
}

const readJsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function withStore<T>(db: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = openStore(db, { mustExist: true });
  return fn(s).finally(() => s.close());
}

describe('export: parquet', () => {
  it('writes typed calls and scores that an independent reader reads back', async () => {
    const dir = tempDir();
    const { db, newer } = fixture(dir);
    const out = join(dir, 'x');
    const result = await withStore(db, (s) =>
      exportRun(s, s.getRun(newer)!, { format: 'parquet', dir: out }),
    );
    expect(result).toEqual({
      interrupted: false,
      files: [
        { table: 'calls', path: join(out, 'calls.parquet'), rows: 3 },
        { table: 'scores', path: join(out, 'scores.parquet'), rows: 2 },
      ],
    });
    expect(readdirSync(out).sort()).toEqual(['calls.parquet', 'scores.parquet']);
    expect(statSync(join(out, 'calls.parquet')).mode & 0o777).toBe(0o600);

    const calls = readParquetRows(join(out, 'calls.parquet'));
    expect(Object.keys(calls.types)).toEqual(CALLS.columns.map((c) => c.name));
    expect(calls.types).toMatchObject({
      run_id: 'Int64',
      repeat: 'Int32',
      input_tokens: 'Int64',
      cost_usd: 'Float64',
      simulated: 'Bool',
      record_id: 'Utf8',
      started_at: 'Timestamp<MILLISECOND, UTC>',
    });
    // In the order of candidate, role, call: mini's call, the judge call on it, nano's call.
    const [ok, judge, err] = calls.rows;
    expect(ok).toMatchObject({
      run_id: BigInt(newer),
      suite: 'weekly',
      record_id: 'r1',
      record_seq: 0n,
      candidate: 'mini',
      role: 'candidate',
      aux: '',
      repeat: 0,
      model: 'gpt-5.4-mini',
      served_model: 'gpt-5.4-mini-2026-03-17',
      api: 'chat',
      status: 'ok',
      input_tokens: 1200n,
      cached_tokens: 1024n,
      cache_write_tokens: 64n,
      output_tokens: 40n,
      reasoning_tokens: 32n,
      cost_usd: 0.000_312_5,
      latency_ms: 812.5,
      ttft_ms: 301.25,
      attempts: 1,
      error_kind: null,
      simulated: false,
      // Date.UTC(2026, 2, 1, 10, 0, 0, 812), computed independently of the ISO parser
      finished_at: Date.UTC(2026, 2, 1, 10, 0, 0, 812),
      tags: '{"task":"classify"}',
      output: 'billing',
    });
    expect(err).toMatchObject({
      record_id: 'r2',
      record_seq: 1n,
      candidate: 'nano',
      model: 'gpt-5.4-nano',
      status: 'error',
      input_tokens: null,
      cost_usd: null,
      latency_ms: null,
      attempts: 5,
      error_kind: 'rate_limit',
      error_message: 'Rate limit reached — “tokens”',
      http_status: 429,
      tags: '{"task":"extract","tenant":"é\\"q"}',
      output: null,
    });
    // A judge call: the candidate it judged, but no candidate model (it is not the candidate's call).
    expect(judge).toMatchObject({
      role: 'judge',
      aux: 'judge',
      candidate: 'mini',
      model: null,
      simulated: true,
    });
    expect(judge!.tool_calls).toBe('[{"name":"f","arguments":"{}"}]');

    const scores = readParquetRows(join(out, 'scores.parquet'));
    expect(Object.keys(scores.types)).toEqual(SCORES.columns.map((c) => c.name));
    expect(scores.rows).toEqual([
      {
        run_id: BigInt(newer),
        call_id: ok!.call_id,
        record_id: 'r1',
        candidate: 'mini',
        repeat: 0,
        scorer: 'judge',
        value: null,
        passed: null,
        detail: 'no reference.label',
      },
      {
        run_id: BigInt(newer),
        call_id: ok!.call_id,
        record_id: 'r1',
        candidate: 'mini',
        repeat: 0,
        scorer: 'label',
        value: 1,
        passed: true,
        detail: null,
      },
    ]);
  });

  it('splits a run into row groups of the batch size and keeps every row, in call order', async () => {
    const dir = tempDir();
    const db = join(dir, 'h.db');
    const store = openStore(db);
    const run = newRun(store, 1, 25, [['a', 'gpt-5.4-mini']]);
    addRecords(
      store,
      run,
      Array.from({ length: 25 }, (_, i) => [`r${i}`, {}] as [string, Record<string, string>]),
    );
    for (let i = 0; i < 25; i++) {
      store.recordCall(call(run, { recordId: `r${i}`, candidate: 'a', inputTokens: i }), [
        { scorer: 's', value: i % 2, passed: i % 2 === 1 },
      ]);
    }
    const out = join(dir, 'x');
    await exportRun(store, store.getRun(run)!, { format: 'parquet', dir: out, batchRows: 7 });
    store.close();
    const bytes = new Uint8Array(readFileSync(join(out, 'calls.parquet')));
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    // 25 rows in batches of 7: row groups of 7, 7, 7 and 4, read one at a time; there is no fifth.
    const group = (i: number) => tableFromIPC(readParquet(bytes, { rowGroups: [i] }).intoIPCStream()).numRows;
    expect([0, 1, 2, 3].map(group)).toEqual([7, 7, 7, 4]);
    expect(() => group(4)).toThrow();
    expect(table.getChild('input_tokens')!.toArray()).toEqual(
      BigInt64Array.from({ length: 25 }, (_, i) => BigInt(i)),
    );
    const scores = readParquetRows(join(out, 'scores.parquet')).rows;
    expect(scores.filter((r) => r.passed).length).toBe(12); // odd i in 0..24
  });

  it('writes valid empty tables for a run without calls', async () => {
    const dir = tempDir();
    const db = join(dir, 'h.db');
    const store = openStore(db);
    const run = newRun(store, 1, 0, [['a', 'gpt-5.4-mini']]);
    const out = join(dir, 'x');
    const r = await exportRun(store, store.getRun(run)!, { format: 'parquet', dir: out });
    store.close();
    expect(r.interrupted === false && r.files.map((f) => f.rows)).toEqual([0, 0]);
    const calls = readParquetRows(join(out, 'calls.parquet'));
    expect(calls.rows).toEqual([]);
    expect(Object.keys(calls.types)).toEqual(CALLS.columns.map((c) => c.name));
  });
});

describe('export: jsonl', () => {
  it('writes one JSON object per row with the same columns; JSON columns as values', async () => {
    const dir = tempDir();
    const { db, newer } = fixture(dir);
    const out = join(dir, 'j');
    await withStore(db, (s) => exportRun(s, s.getRun(newer)!, { format: 'jsonl', dir: out }));
    const calls = readJsonl(join(out, 'calls.jsonl'));
    expect(calls).toHaveLength(3);
    expect(Object.keys(calls[0]!)).toEqual(CALLS.columns.map((c) => c.name));
    expect(calls[0]).toMatchObject({
      run_id: newer,
      cache_write_tokens: 64,
      reasoning_tokens: 32,
      simulated: false,
      started_at: '2026-03-01T10:00:00.000Z',
      tags: { task: 'classify' },
      tool_calls: null,
    });
    expect(calls[1]!.tool_calls).toEqual([{ name: 'f', arguments: '{}' }]);
    const scores = readJsonl(join(out, 'scores.jsonl'));
    expect(scores.map((s) => [s.scorer, s.value, s.passed])).toEqual([
      ['judge', null, null],
      ['label', 1, true],
    ]);
  });
});

function io(signal = new AbortController().signal) {
  let stderr = '';
  const sink = {
    write: (s: string) => {
      stderr += s;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const cio: CommandIo = { stdout: sink, stderr: sink, env: {}, clock: systemClock, signal };
  return { cio, err: () => stderr };
}

describe('holdout export (command)', () => {
  it('resolves latest and latest~1, and defaults --out to holdout-run-<id>', async () => {
    const dir = tempDir();
    const { db, older, newer } = fixture(dir);
    const out = join(dir, 'latest');
    const a = io();
    expect(await exportCommand({ run: 'latest', format: 'jsonl', out, db }, a.cio)).toBe(0);
    expect(readJsonl(join(out, 'calls.jsonl'))[0]!.run_id).toBe(newer);
    expect(a.err()).toContain('3 calls rows');
    const b = io();
    const prev = join(dir, 'prev');
    expect(await exportCommand({ run: 'latest~1', format: 'parquet', out: prev, db }, b.cio)).toBe(0);
    expect(readParquetRows(join(prev, 'calls.parquet')).rows.map((r) => r.run_id)).toEqual([BigInt(older)]);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await exportCommand({ run: String(older), format: 'jsonl', db }, io().cio)).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir, `holdout-run-${older}`, 'calls.jsonl'))).toBe(true);
  });

  it('never overwrites without --force, and names a run that does not exist', async () => {
    const dir = tempDir();
    const { db } = fixture(dir);
    const out = join(dir, 'o');
    await exportCommand({ run: 'latest', format: 'parquet', out, db }, io().cio);
    await expect(exportCommand({ run: 'latest', format: 'parquet', out, db }, io().cio)).rejects.toThrow(
      /calls\.parquet and .*scores\.parquet already exist: not overwritten/,
    );
    expect(await exportCommand({ run: 'latest', format: 'parquet', out, db, force: true }, io().cio)).toBe(0);
    await expect(exportCommand({ run: 'latest~5', format: 'parquet', out, db }, io().cio)).rejects.toThrow(
      /run latest~5 is not in this database: it has 2 runs/,
    );
    const file = join(dir, 'f');
    writeFileSync(file, '');
    await expect(exportCommand({ run: 'latest', format: 'jsonl', out: file, db }, io().cio)).rejects.toThrow(
      /is a file: export writes a folder/,
    );
  });

  it('stops on Ctrl-C between batches and leaves nothing behind', async () => {
    const dir = tempDir();
    const { db, newer } = fixture(dir);
    const out = join(dir, 'stopped');
    const controller = new AbortController();
    controller.abort();
    const r = await withStore(db, (s) =>
      exportRun(s, s.getRun(newer)!, {
        format: 'parquet',
        dir: out,
        signal: controller.signal,
        batchRows: 1,
      }),
    );
    expect(r).toEqual({ interrupted: true });
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('docs/export.md', () => {
  it('documents every column of both tables with its type', () => {
    const doc = readFileSync(join(packageRoot(), 'docs/export.md'), 'utf8');
    for (const col of [...CALLS.columns, ...SCORES.columns]) {
      expect(doc).toContain(`| \`${col.name}\` | ${col.type} |`);
    }
  });
});

describe.each<ExportFormat>(['parquet', 'jsonl'])('holdout export --format %s (CLI)', (format) => {
  it('is wired into the command line', async () => {
    const dir = tempDir();
    const { db } = fixture(dir);
    const out = join(dir, 'cli');
    const r = await runCli(['export', 'latest', '--format', format, '--out', out, '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([`calls.${format}`, `scores.${format}`]);
  });
});
