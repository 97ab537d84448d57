/**
 * Text from the database never reaches a terminal raw: suite names, candidate ids, models, tags,
 * error kinds and scorer names with escape sequences are escaped in the table and Markdown reports
 * (and in the trend), and the CSV report parses with a real CSV reader, its header first.
 */
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../results/report/report.js';
import { buildTrend } from '../../results/report/trend.js';
import { renderReport, renderTrend } from '../../results/render/report-text.js';
import { Store } from '../../results/store/store.js';
import { addRecords, call, newRun, score } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

const ESC = '\u001b]0;pwned\u0007\u001b[31m';
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function hostileRun(simulated: boolean): number {
  const runId = newRun(
    store,
    1,
    2,
    [
      [`cand${ESC}`, `model${ESC}\u009b2J`],
      ['plain', 'gpt-x'],
    ],
    { suite: `suite${ESC}\r\nforged line` },
  );
  addRecords(store, runId, [
    ['r1', { task: `tag${ESC}` }],
    ['r2', { task: 'b' }],
  ]);
  for (const candidate of [`cand${ESC}`, 'plain']) {
    store.recordCall(call(runId, { candidate, recordId: 'r1', simulated, servedModel: `served${ESC}` }), [
      score(`scorer${ESC}`, 1, true),
    ]);
    store.recordCall(
      call(runId, {
        candidate,
        recordId: 'r2',
        status: 'error',
        output: null,
        errorKind: `kind${ESC}`,
        errorMessage: `boom${ESC}`,
      }),
      [],
    );
  }
  return runId;
}

describe('reports escape text from the database', () => {
  it('table and Markdown, whole run and by a tag', () => {
    store = new Store(':memory:');
    const runId = hostileRun(true);
    for (const by of [undefined, 'task']) {
      const r = buildReport(store, runId, by === undefined ? {} : { by });
      for (const format of ['table', 'md'] as const) {
        const out = renderReport(r, format);
        expect(out, `${format} by ${by}`).not.toMatch(RAW_CONTROL);
        expect(out).not.toContain('\r');
        expect(out).toContain('cand');
      }
    }
  });

  it('the trend of a suite', () => {
    store = new Store(':memory:');
    hostileRun(false);
    const suite = `suite${ESC}\r\nforged line`;
    for (const format of ['table', 'md'] as const) {
      const out = renderTrend(buildTrend(store, suite), format);
      expect(out, format).not.toMatch(RAW_CONTROL);
      expect(out).not.toContain('\r');
    }
  });
});

describe('CSV', () => {
  it('parses with csv-parse: the header is the first record, the notice is the simulated column', () => {
    store = new Store(':memory:');
    const runId = hostileRun(true);
    const text = renderReport(buildReport(store, runId), 'csv');
    const rows = parse(text, { relax_column_count: false }) as string[][];
    const [header, ...body] = rows;
    expect(header![0]).toBe('run_id');
    expect(header).toContain('simulated');
    expect(body).toHaveLength(2);
    for (const row of body) {
      expect(row).toHaveLength(header!.length);
      expect(row[header!.indexOf('simulated')]).toBe('true');
    }
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(records.map((r) => r.candidate)).toEqual([`cand${ESC}`, 'plain']);
  });

  it('the trend CSV too', () => {
    store = new Store(':memory:');
    hostileRun(true);
    const text = renderTrend(buildTrend(store, `suite${ESC}\r\nforged line`), 'csv');
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(records.length).toBe(2);
    expect(records.every((r) => r.simulated === 'true')).toBe(true);
  });
});
