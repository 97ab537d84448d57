/**
 * Run references (harness/cli/run-ref.ts): an id, `latest`, `latest~N`, and `--suite` counting one
 * suite's runs; a reference that names no run is exit 2 listing the runs there are. Then the
 * commands that take one: report, compare --run/--runs, route --run, run --resume, rescore.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRunRef, resolveRun } from '../../harness/cli/run-ref.js';
import { HarnessError } from '../../harness/errors.js';
import { Store } from '../../results/store/store.js';
import { runCli, tempDir } from '../support/cli.js';
import { addRecords, call, newRun, score } from '../results/report-helpers.js';

let store: Store | undefined;
afterEach(() => store?.close());

/** Runs 1 (weekly), 2 (nightly), 3 (weekly), 4 (nightly): each with candidates a and b on two records. */
function fourRuns(s: Store): void {
  for (const suite of ['weekly', 'nightly', 'weekly', 'nightly']) {
    const runId = newRun(
      s,
      1,
      2,
      [
        ['a', 'gpt-a'],
        ['b', 'gpt-b'],
      ],
      { suite },
    );
    addRecords(s, runId, [
      ['r1', { task: 'x' }],
      ['r2', { task: 'y' }],
    ]);
    for (const recordId of ['r1', 'r2']) {
      for (const candidate of ['a', 'b']) {
        s.recordCall(call(runId, { recordId, candidate, output: `${candidate} on run ${runId}` }), [
          score('exact', 1, true),
        ]);
      }
    }
    s.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  }
}

function thrown(f: () => unknown): HarnessError {
  try {
    f();
  } catch (err) {
    if (err instanceof HarnessError) return err;
    throw err;
  }
  throw new Error('expected a HarnessError');
}

describe('parseRunRef', () => {
  it('reads ids, latest and latest~N; anything else is not a reference', () => {
    expect(parseRunRef('12')).toEqual({ kind: 'id', id: 12 });
    expect(parseRunRef(7)).toEqual({ kind: 'id', id: 7 });
    expect(parseRunRef('latest')).toEqual({ kind: 'latest', back: 0 });
    expect(parseRunRef('latest~0')).toEqual({ kind: 'latest', back: 0 });
    expect(parseRunRef('latest~3')).toEqual({ kind: 'latest', back: 3 });
    for (const bad of [
      '0',
      '-1',
      '1.5',
      'abc',
      'latest~',
      'latest~-1',
      'latest~x',
      'Latest',
      '~1',
      '',
      '1e3',
    ])
      expect(parseRunRef(bad), bad).toBeNull();
  });
});

describe('resolveRun', () => {
  it('latest is the newest run, latest~N the Nth before it; --suite counts that suite only', () => {
    store = new Store(':memory:');
    fourRuns(store);
    const s = store;
    expect(resolveRun(s, undefined).id).toBe(4);
    expect(resolveRun(s, 'latest').id).toBe(4);
    expect(resolveRun(s, 'latest~1').id).toBe(3);
    expect(resolveRun(s, 'latest~3').id).toBe(1);
    expect(resolveRun(s, '2').id).toBe(2);
    expect(resolveRun(s, undefined, { suite: 'weekly' }).id).toBe(3);
    expect(resolveRun(s, 'latest~1', { suite: 'weekly' }).id).toBe(1);
    expect(resolveRun(s, 'latest~1', { suite: 'nightly' }).id).toBe(2);
  });

  it('a reference that names no run, or is none, is exit 2 listing the runs there are', () => {
    store = new Store(':memory:');
    fourRuns(store);
    const s = store;
    const back = thrown(() => resolveRun(s, 'latest~4'));
    expect(back.exitCode).toBe(2);
    expect(back.message).toBe(
      'run latest~4 is not in this database: it has 4 runs, so latest~3 is the oldest',
    );
    expect(back.hint).toBe(
      'its runs: 4 (nightly, finished), 3 (weekly, finished), 2 (nightly, finished), 1 (weekly, finished)',
    );
    const ofSuite = thrown(() => resolveRun(s, 'latest~2', { suite: 'weekly' }));
    expect(ofSuite.message).toMatch(/run latest~2 of suite "weekly" is not in this database: it has 2 runs/);
    expect(ofSuite.hint).toBe('its runs of suite "weekly": 3 (weekly, finished), 1 (weekly, finished)');
    const noSuite = thrown(() => resolveRun(s, undefined, { suite: 'monthly' }));
    expect(noSuite.message).toBe('no runs of suite "monthly" in this database');
    expect(noSuite.hint).toMatch(/^its runs: 4 \(nightly/);
    const id = thrown(() => resolveRun(s, '9', { which: 'candidate' }));
    expect(id.message).toBe('run 9 (candidate) is not in this database');
    expect(id.hint).toMatch(/^its runs: 4 /);
    const bad = thrown(() => resolveRun(s, 'lastest'));
    expect(bad.exitCode).toBe(2);
    expect(bad.message).toBe(
      '"lastest" is not a run: give a run id, `latest` or `latest~N` (N runs before the latest)',
    );
    expect(bad.hint).toMatch(/^its runs: /);
  });

  it('an empty database says so', () => {
    store = new Store(':memory:');
    const s = store;
    const e = thrown(() => resolveRun(s, 'latest'));
    expect(e.message).toBe('no runs in this database yet');
    expect(e.hint).toMatch(/holdout demo/);
  });
});

describe('commands taking a run reference', () => {
  const db = () => {
    const path = join(tempDir(), 'refs.db');
    const s = new Store(path);
    fourRuns(s);
    s.close();
    return path;
  };

  it('report: latest~N, latest with --suite, and a bad reference (exit 2, runs listed)', async () => {
    const path = db();
    const back = await runCli(['report', 'latest~2', '--db', path, '--format', 'json']);
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout).run.id).toBe(2);
    const suite = await runCli(['report', '--suite', 'weekly', '--db', path, '--format', 'json']);
    expect(JSON.parse(suite.stdout).run.id).toBe(3);
    const suiteBack = await runCli([
      'report',
      'latest~1',
      '--suite',
      'weekly',
      '--db',
      path,
      '--format',
      'json',
    ]);
    expect(JSON.parse(suiteBack.stdout).run.id).toBe(1);
    const id = await runCli(['report', '2', '--db', path, '--format', 'json']);
    expect(JSON.parse(id.stdout).run.id).toBe(2);
    const bad = await runCli(['report', 'latest~9', '--db', path]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /run latest~9 is not in this database: it has 4 runs, so latest~3 is the oldest\nhint: its runs: 4 \(nightly/,
    );
    const junk = await runCli(['report', 'newest', '--db', path]);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/"newest" is not a run: give a run id, `latest` or `latest~N`/);
    expect(junk.stderr).toMatch(/hint: its runs: 4 \(nightly, finished\), 3 \(weekly, finished\)/);
  });

  it('compare --run latest~1 and --runs latest~1 latest', async () => {
    const path = db();
    const one = await runCli([
      'compare',
      '--db',
      path,
      '--run',
      'latest~1',
      '--baseline',
      'a',
      '--candidate',
      'b',
      '--format',
      'json',
    ]);
    expect(JSON.parse(one.stdout).baseline.runId).toBe(3);
    const two = await runCli([
      'compare',
      '--db',
      path,
      '--runs',
      'latest~1',
      'latest',
      '--baseline',
      'a',
      '--candidate',
      'a',
      '--format',
      'json',
    ]);
    const json = JSON.parse(two.stdout);
    expect([json.baseline.runId, json.candidate.runId]).toEqual([3, 4]);
    const missing = await runCli([
      'compare',
      '--db',
      path,
      '--runs',
      'latest',
      'latest~7',
      '--baseline',
      'a',
      '--candidate',
      'b',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/run latest~7 \(candidate\) is not in this database/);
  });

  it('route --run latest~3 evaluates run 1', async () => {
    const path = db();
    const policy = join(tempDir(), 'policy.yaml');
    writeFileSync(policy, 'name: all-a\ndefault: a\n');
    const res = await runCli(['route', policy, '--run', 'latest~3', '--db', path, '--format', 'json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).run.id).toBe(1);
    const bad = await runCli(['route', policy, '--run', 'latest~4', '--db', path]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/run latest~4 is not in this database/);
  });

  it('rescore latest~3 rescores run 1; a reference that names no run is exit 2', async () => {
    const path = db();
    const res = await runCli(['rescore', 'latest~3', '--db', path]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/^run 1: /m);
    const bad = await runCli(['rescore', 'latest~9', '--db', path]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/run latest~9 is not in this database/);
  });

  it('run --resume with a reference that names no run: exit 2 listing the runs', async () => {
    const path = db();
    const res = await runCli(['run', '--resume', 'latest~5', '--db', path]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/run latest~5 is not in this database: it has 4 runs, .*\nhint: its runs: 4 /);
  });
});
