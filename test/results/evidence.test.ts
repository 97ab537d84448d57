/**
 * The evidence behind the numbers: `holdout runs` (runs newest first) and `holdout show` (one record:
 * prompt, reference, outputs side by side fitted to the terminal, scores, tokens, cost, latency), with
 * every string from the database escaped for the terminal.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { displayWidth, renderRecord, renderRuns, wrapLine } from '../../results/render/record-text.js';
import { listRuns, loadRecordEvidence } from '../../results/report/records.js';
import { Store } from '../../results/store/store.js';
import { runCli, tempDir } from '../support/cli.js';
import { call, newRun, score } from './report-helpers.js';

let store: Store | undefined;
afterEach(() => store?.close());

const ESC = '\u001b';
/** What must never reach a terminal raw: C0 but newline, DEL, C1, and the bidirectional overrides. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Run 1 (suite "old") with one record; run 2 (suite "weekly") with the record below and three candidates. */
function fixture(s: Store, id = `tkt-1${ESC}[2J`): number {
  const old = newRun(s, 1, 1, [['solo', 'gpt-s']], { suite: 'old', createdAt: '2025-01-01T00:00:00.000Z' });
  s.insertRecords(old, [{ id: 'x', api: 'chat', tags: {}, json: '{"id":"x","request":{"messages":[]}}' }], 0);
  s.recordCall(call(old, { recordId: 'x', candidate: 'solo', costUsd: 0.5 }), [score('exact', 1, true)]);
  const runId = newRun(
    s,
    1,
    1,
    [
      ['alpha', 'gpt-a'],
      ['beta', 'gpt-b'],
      ['gamma', 'gpt-g'],
    ],
    { suite: 'weekly', createdAt: '2025-02-01T00:00:00.000Z' },
  );
  const body = {
    id,
    api: 'chat',
    tags: { task: `classify${ESC}]0;pwned\u0007` },
    request: {
      model: 'gpt-x',
      messages: [
        { role: 'system', content: 'You sort tickets.\tReply with one label.' },
        {
          role: 'user',
          content: [{ type: 'text', text: `My invoice is wrong${ESC}[31m\rOVERWRITE \u202eevil` }],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup' } }],
        },
        { role: 'user', content: 'still wrong' },
      ],
    },
    reference: { label: 'billing', output: `billing${ESC}[0m` },
  };
  s.insertRecords(runId, [{ id, api: 'chat', tags: body.tags, json: JSON.stringify(body) }], 0);
  const long = 'word '.repeat(60);
  s.recordCall(
    call(runId, {
      recordId: id,
      candidate: 'alpha',
      output: `billing${ESC}[32m OK\nsecond line ${long}`,
      inputTokens: 1200,
      cachedTokens: 1024,
      outputTokens: 40,
      costUsd: 0.00123,
      latencyMs: 812.4,
      ttftMs: 190,
    }),
    [
      { scorer: 'intent', value: 1, passed: true },
      { scorer: 'json', value: null, passed: null, detail: 'no reference json' },
    ],
  );
  s.recordCall(
    call(runId, {
      recordId: id,
      candidate: 'beta',
      output: '请把发票改正 — 错误 😀 bug',
      latencyMs: 95,
      costUsd: 0.0002,
    }),
    [{ scorer: 'intent', value: 0, passed: false, detail: `predicted="bug" expected="billing"${ESC}[5m` }],
  );
  s.recordCall(
    call(runId, {
      recordId: id,
      candidate: 'gamma',
      status: 'error',
      output: null,
      errorKind: 'rate_limit',
      errorMessage: `429 too many${ESC}[1A`,
      httpStatus: 429,
    }),
    [],
  );
  s.db
    .prepare(
      `INSERT INTO grades (run_id, record_id, candidate, repeat, reviewer, value, note, created_at)
       VALUES (?, ?, 'beta', 0, ?, 'fail', ?, '2025-02-02T00:00:00.000Z')`,
    )
    .run(runId, id, `ann${ESC}[7m`, 'said bug, is billing');
  s.setRunStatus(runId, 'finished', '2025-02-01T01:00:00.000Z');
  return runId;
}

describe('holdout runs', () => {
  it('lists runs newest first with records, candidates and cost; md and json too', () => {
    store = new Store(':memory:');
    fixture(store);
    const rows = listRuns(store.db);
    expect(rows.map((r) => [r.id, r.suite, r.candidates])).toEqual([
      [2, 'weekly', ['alpha', 'beta', 'gamma']],
      [1, 'old', ['solo']],
    ]);
    expect(listRuns(store.db, { suite: 'old' }).map((r) => r.id)).toEqual([1]);
    const table = renderRuns(rows, 'table').split('\n');
    expect(table[0]).toMatch(/^id\s+suite\s+created\s+status\s+records\s+candidates\s+cost$/);
    expect(table[2]).toMatch(
      /^ 2\s+weekly\s+2025-02-01T00:00:00\.000Z\s+finished\s+1\s+alpha, beta, gamma\s+\$0\.001430$/,
    );
    expect(table[3]).toMatch(/^ 1\s+old\s+2025-01-01T00:00:00\.000Z\s+running\s+1\s+solo\s+\$0\.5000$/);
    const md = renderRuns(rows, 'md');
    expect(md).toContain(
      '| 2 | weekly | 2025-02-01T00:00:00.000Z | finished | 1 | alpha, beta, gamma | \\$0.001430 |',
    );
    const json = JSON.parse(renderRuns(rows, 'json'));
    expect(json[0]).toMatchObject({
      id: 2,
      suite: 'weekly',
      status: 'finished',
      records: 1,
      candidates: ['alpha', 'beta', 'gamma'],
    });
    expect(json[0].costUsd).toBeCloseTo(0.00143, 10);
  });

  it('escapes control characters in suite names', () => {
    store = new Store(':memory:');
    newRun(store, 1, 0, [['a', 'm']], { suite: `evil${ESC}[2J\rsuite` });
    const text = renderRuns(listRuns(store.db), 'table');
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('evil?[2J?suite');
  });
});

describe('holdout show', () => {
  it('prints the prompt turn by turn, the reference, and the outputs side by side with scores and figures', () => {
    store = new Store(':memory:');
    const runId = fixture(store);
    const e = loadRecordEvidence(store, runId, `tkt-1${ESC}[2J`);
    const text = renderRecord(e, 120);
    expect(text).not.toMatch(RAW_CONTROL);
    // Turns, with their roles; the tool call of the assistant turn as JSON.
    expect(text).toMatch(
      /\[system\]\n {2}You sort tickets\. {2}Reply with one label\.\n\[user\]\n {2}My invoice is wrong\\x1b\[31m\n {2}OVERWRITE \\u202eevil\n\[assistant\]\n {2}\{"tool_calls":/,
    );
    expect(text).toContain('Prompt (Chat Completions, 4 turns)');
    expect(text).toMatch(/Reference\n─+\nlabel: billing\noutput: billing\\x1b\[0m/);
    // Three columns side by side.
    const lines = text.split('\n');
    const titles = lines.find((l) => l.startsWith('alpha · gpt-a'))!;
    expect(titles).toMatch(/^alpha · gpt-a\s+│ beta · gpt-b\s+│ gamma · gpt-g$/);
    expect(lines.find((l) => l.startsWith('billing\\x1b[32m OK'))).toMatch(
      /│ 请把发票改正 — 错误 😀 bug\s+│ error rate_limit \(HTTP 429\)$/,
    );
    for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(120);
    // Scores with their detail, the reviewer's grade, tokens, cost, latency.
    expect(text).toMatch(/intent: 1 pass/);
    expect(text).toMatch(/json: unscored/);
    expect(text).toMatch(/ {2}no reference json/);
    expect(text).toContain('intent: 0 fail');
    expect(text).toContain('predicted="bug"');
    expect(text).toContain('expected="billing"\\x1b[5m');
    expect(text).toContain('fail by ann\\x1b[7m');
    expect(text).toContain('said bug, is billing');
    expect(text).toContain('tokens in 1,200 (1,024 cached)');
    expect(text).toContain('cost $0.001230');
    expect(text).toContain('latency 812 ms · TTFT 190 ms');
    expect(text).toContain('429 too many\\x1b[1A');
    expect(text).toContain('── scores: PASS');
    expect(text).toContain('── scores: FAIL');
    expect(text).toContain('── scores: ERROR rate_limit');
    expect(text).toContain('task=classify\\x1b]0;pwned\\x07');
  });

  it('fits narrow terminals: columns on several bands, no line wider than the terminal', () => {
    store = new Store(':memory:');
    const runId = fixture(store);
    const e = loadRecordEvidence(store, runId, `tkt-1${ESC}[2J`);
    const text = renderRecord(e, 64);
    const lines = text.split('\n');
    for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(64);
    // Two columns of 30 fit in 64; gamma goes on a second band.
    expect(lines.find((l) => l.startsWith('alpha · gpt-a'))).toMatch(/│ beta · gpt-b$/);
    expect(lines.some((l) => l.startsWith('gamma · gpt-g'))).toBe(true);
    expect(text).not.toMatch(RAW_CONTROL);
  });

  it('--candidates picks and orders the columns; unknown names and records list what exists', () => {
    store = new Store(':memory:');
    const runId = fixture(store);
    const s = store;
    const e = loadRecordEvidence(s, runId, `tkt-1${ESC}[2J`, ['gamma', 'alpha']);
    expect(e.calls.map((c) => c.candidate)).toEqual(['gamma', 'alpha']);
    expect(renderRecord(e, 100)).toMatch(/^gamma · gpt-g\s+│ alpha · gpt-a$/m);
    expect(() => loadRecordEvidence(s, runId, `tkt-1${ESC}[2J`, ['delta'])).toThrow(
      /"delta" is not a candidate of run 2/,
    );
    try {
      loadRecordEvidence(s, runId, 'tkt-1');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe('record "tkt-1" is not in run 2');
      expect((err as { hint: string }).hint).toBe('records with a similar id: "tkt-1\\u001b[2J"');
    }
  });

  it('wraps at spaces, else mid-word, by display width', () => {
    expect(wrapLine('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapLine('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapLine('发票发票发票', 5)).toEqual(['发票', '发票', '发票']);
    expect(wrapLine('', 5)).toEqual(['']);
  });
});

describe('holdout runs and holdout show on the command line', () => {
  it('runs, show latest <id>, and their exit-2 errors', async () => {
    const path = join(tempDir(), 'evidence.db');
    const s = new Store(path);
    fixture(s, 'tkt-1');
    s.close();
    const runs = await runCli(['runs', '--db', path]);
    expect(runs.code).toBe(0);
    expect(runs.stdout.split('\n')[2]).toMatch(/^ 2\s+weekly/);
    const weekly = await runCli(['runs', '--db', path, '--suite', 'old', '--format', 'json']);
    expect(JSON.parse(weekly.stdout).map((r: { id: number }) => r.id)).toEqual([1]);
    const noSuite = await runCli(['runs', '--db', path, '--suite', 'monthly']);
    expect(noSuite.code).toBe(2);
    expect(noSuite.stderr).toMatch(/no runs of suite "monthly" in this database\nhint: its runs: 2 \(weekly/);

    const show = await runCli(['show', 'latest', 'tkt-1', '--db', path, '--candidates', 'beta,alpha']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^beta · gpt-b\s+│ alpha · gpt-a$/m);
    expect(show.stdout).not.toMatch(RAW_CONTROL);
    for (const l of show.stdout.split('\n')) expect(displayWidth(l)).toBeLessThanOrEqual(120);
    const missing = await runCli(['show', 'latest', 'tkt-9', '--db', path]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/record "tkt-9" is not in run 2\nhint: its first records: "tkt-1"/);
    const badRun = await runCli(['show', 'latest~5', 'tkt-1', '--db', path]);
    expect(badRun.code).toBe(2);
    expect(badRun.stderr).toMatch(/run latest~5 is not in this database/);
    const badCandidate = await runCli(['show', '2', 'tkt-1', '--db', path, '--candidates', 'zeta']);
    expect(badCandidate.code).toBe(2);
    expect(badCandidate.stderr).toMatch(
      /"zeta" is not a candidate of run 2\nhint: its candidates: alpha, beta, gamma/,
    );
  });
});
