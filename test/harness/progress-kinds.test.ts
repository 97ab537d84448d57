/**
 * The live progress line names the kinds of the errors it counts, the commonest two, so that a
 * failing candidate (a wrong base_url, a dead key) shows why while the run goes on.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorKinds, progressReporter } from '../../harness/run/progress.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import type { CallRow } from '../../results/store/store.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';
import { fakeClock } from '../support/fakes.js';

class Sink extends Writable {
  text = '';
  override _write(c: Buffer, _e: string, done: () => void) {
    this.text += c.toString();
    done();
  }
}

const ok = { status: 'ok', errorKind: null } as CallRow;
const err = (kind: string) => ({ status: 'error', errorKind: kind }) as CallRow;

describe('error kinds on the progress line', () => {
  it('shows the kinds of the errors counted, the commonest two first', () => {
    const sink = new Sink();
    const clock = fakeClock();
    const r = progressReporter({ stream: sink, clock, plainEveryMs: 1000 });
    r.start({ total: 20, done: 0, errors: 0, costUsd: 0, doneNow: 0 });
    let errors = 0;
    const rows = [ok, err('connection'), err('connection'), err('rate_limit'), ok, err('connection')];
    rows.forEach((row, i) => {
      if (row.status === 'error') errors++;
      r.callDone(row, { total: 20, done: i + 1, errors, costUsd: 0, doneNow: i + 1 });
    });
    r.finish({ total: 20, done: 6, errors, costUsd: 0, doneNow: 6 });
    expect(sink.text.trim().split('\n').at(-1)).toMatch(
      /^6\/20 calls \(30\.0%\) · 4 errors \(connection 3, rate_limit 1\) · /,
    );
  });

  it('no parenthesis without errors; the rest of the errors counted together', () => {
    expect(errorKinds(new Map(), 0)).toBe('');
    // The scoring pass counts scorer errors with no row: no kind to name.
    expect(errorKinds(new Map(), 3)).toBe('');
    const kinds = new Map([
      ['server_error', 2],
      ['connection', 12],
      ['timeout', 2],
      ['rate_limit', 1],
    ]);
    expect(errorKinds(kinds, 17)).toBe(' (connection 12, server_error 2, 3 other)');
    // Errors stored by an earlier session (a resumed run) have no kind here: they are "other".
    expect(errorKinds(new Map([['connection', 4]]), 9)).toBe(' (connection 4, 5 other)');
  });

  it('the scoring pass reports no row: its line stays as it was', () => {
    const sink = new Sink();
    const r = progressReporter({ stream: sink, clock: fakeClock(), unit: 'scores' });
    r.start({ total: 2, done: 0, errors: 0, costUsd: 0, doneNow: 0 });
    r.callDone(undefined as never, { total: 2, done: 1, errors: 1, costUsd: 0, doneNow: 1 });
    r.finish({ total: 2, done: 2, errors: 1, costUsd: 0, doneNow: 2 });
    expect(sink.text).toMatch(/^2\/2 scores \(100\.0%\) · 1 errors · /m);
  });
});

describe('a run with a failing candidate', () => {
  let sim: SimServer;
  beforeAll(async () => {
    sim = await startSimulator({
      answerKey: loadAnswerKey(answerKeyPath()),
      profiles: {
        ...DEFAULT_PROFILES,
        'sim-fast': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 },
        'sim-flaky': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 },
      },
      // A connection that drops now and then: connection errors, stored once a call has succeeded.
      faults: [{ kind: 'reset', model: 'sim-flaky', rate: 0.3 }],
      seed: 11,
    });
  });
  afterAll(() => sim.close());

  it('names the kind on the progress line: "N errors (connection N)"', async () => {
    const dir = tempDir();
    const config = join(dir, 'run.yaml');
    const price = 'price: { input: 1, cached_input: 0.1, output: 2 }';
    writeFileSync(
      config,
      [
        `dataset: ${sampleSlice(dir, 30)}`,
        'concurrency: 1',
        'max_retries: 0',
        'candidates:',
        `  - { id: good, model: sim-fast, base_url: "${sim.url}", api_key_env: K, ${price} }`,
        `  - { id: flaky, model: sim-flaky, base_url: "${sim.url}", api_key_env: K, ${price} }`,
        'scorers:',
        '  - { kind: label, match: { task: classify } }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const r = await runCli(['run', config, '--db', db], { env: { K: 'test-key-not-secret' } });
    const { n } = queryDb<{ n: number }>(
      db,
      `SELECT count(*) AS n FROM calls WHERE status = 'error' AND error_kind = 'connection'`,
    )[0]!;
    expect(n, r.stderr).toBeGreaterThan(0);
    const last = r.stderr
      .split('\n')
      .filter((l) => /^\d+\/60 calls/.test(l))
      .at(-1);
    expect(last).toContain(`· ${n} errors (connection ${n}) ·`);
  });
});
