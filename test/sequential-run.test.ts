/**
 * `holdout run --until-decided` against the simulator: the seeded order is committed with the run,
 * pairs are fed in that order, the run stops sending at the decision, the decision is stored and
 * reproduced by an independent replay of the stored rows, a decided run never resumes sending, and
 * `holdout compare` reports the sequential verdict and exits on it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILES,
  loadAnswerKey,
  type SimProfile,
  type SimServer,
  startSimulator,
} from '../harness/sim/index.js';
import { mulberry32 } from '../harness/random.js';
import { replaySequential, SEQUENTIAL_DEFAULTS } from '../results/stats/sequential.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from './support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
const fast = { latencyMs: { median: 2 }, ttftMs: 1 };
const PROFILES: Record<string, SimProfile> = {
  ...DEFAULT_PROFILES,
  'sim-good': { ...fast, accuracy: 0.95 },
  'sim-bad': { ...fast, accuracy: 0.55 },
  'sim-judge': { ...fast, accuracy: 1 },
};

let sim: SimServer;
let dir: string;
let dataset: string;

function writeConfig(name: string, extra: string[] = [], repeats = 1): string {
  const path = join(dir, name);
  const lines = [
    'suite: seq',
    `dataset: ${dataset}`,
    'concurrency: 4',
    'stream: false',
    'timeout_ms: 10000',
    `repeats: ${repeats}`,
    'candidates:',
    ...[
      ['good', 'sim-good'],
      ['bad', 'sim-bad'],
      ['good2', 'sim-good'],
    ].map(
      ([id, model]) =>
        `  - { id: ${id}, model: ${model}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ` +
        'price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
    ),
    'scorers:',
    '  - { kind: label, match: { task: classify } }',
    '  - { kind: json, match: { task: extract }, equals_reference: true }',
    '  - { kind: normalized, match: { task: reformat } }',
    ...extra,
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

/**
 * The test's own reading of the stored rows: each call's pass (error 0, all non-null scores passed 1,
 * no non-null score: unscored), per record, B's mean over repeats minus A's, in the stored order.
 */
function replayFromDb(db: string, runId: number) {
  const [row] = queryDb<{ baseline: string; candidate: string; order_json: string; seed: number }>(
    db,
    'SELECT baseline, candidate, order_json, seed FROM sequential WHERE run_id = ?',
    runId,
  );
  const order = JSON.parse(row!.order_json) as number[];
  const calls = queryDb<{ record_id: string; seq: number; candidate: string; pass: number | null }>(
    db,
    `SELECT c.record_id, r.seq, c.candidate,
       CASE WHEN c.status = 'error' THEN 0
            WHEN NOT EXISTS (SELECT 1 FROM scores s WHERE s.call_id = c.id AND s.value IS NOT NULL) THEN NULL
            WHEN EXISTS (SELECT 1 FROM scores s WHERE s.call_id = c.id AND s.value IS NOT NULL AND s.passed = 0) THEN 0
            ELSE 1 END AS pass
     FROM calls c JOIN records r ON r.run_id = c.run_id AND r.record_id = c.record_id
     WHERE c.run_id = ? AND c.role = 'candidate'`,
    runId,
  );
  const bySeq = new Map<number, { a: (number | null)[]; b: (number | null)[] }>();
  for (const c of calls) {
    const e = bySeq.get(c.seq) ?? { a: [], b: [] };
    if (c.candidate === row!.baseline) e.a.push(c.pass);
    if (c.candidate === row!.candidate) e.b.push(c.pass);
    bySeq.set(c.seq, e);
  }
  return { order, bySeq, seed: row!.seed };
}

beforeAll(async () => {
  sim = await startSimulator({ answerKey: loadAnswerKey(answerKeyPath()), profiles: PROFILES });
  dir = tempDir();
  dataset = sampleSlice(dir, 300);
}, 30_000);

afterAll(async () => {
  await sim.close();
});

describe('holdout run --until-decided', () => {
  const db = () => join(dir, 'fail.db');
  let runId = 0;

  it('stops a clear regression early, stores the decision and the order, and exits 0', async () => {
    const cfg = writeConfig('fail.yaml');
    const res = await runCli(
      ['run', cfg, '--db', db(), '--until-decided', '--baseline', 'good', '--candidate', 'bad'],
      { env: ENV },
    );
    expect(res.code, res.stderr).toBe(0);
    const m = /run (\d+) decided early: FAIL after (\d+) of 300 records \((\d+) pairs fed\)/.exec(res.stderr);
    expect(m, res.stderr).not.toBeNull();
    runId = Number(m![1]);
    const used = Number(m![2]);
    expect(used).toBeLessThan(150);
    const [seq] = queryDb<{ verdict: string; records_used: number; prompts_fed: number; seed: number }>(
      db(),
      'SELECT * FROM sequential WHERE run_id = ?',
      runId,
    );
    expect(seq).toMatchObject({ verdict: 'FAIL', records_used: used });
    const [run] = queryDb<{ status: string }>(db(), 'SELECT status FROM runs WHERE id = ?', runId);
    expect(run!.status).toBe('finished');

    // The stored order is the seeded shuffle of the stored seed: Fisher–Yates with mulberry32, redone here.
    const { order, bySeq, seed } = replayFromDb(db(), runId);
    const expected = Array.from({ length: 300 }, (_, i) => i);
    const rnd = mulberry32(seed);
    for (let i = 299; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [expected[i], expected[j]] = [expected[j]!, expected[i]!];
    }
    expect(order).toEqual(expected);

    // Calls were issued in that order and stopped at the decision: only records near the head have
    // calls (the decision's records, plus at most what was in flight: concurrency 4 per candidate).
    const called = new Set(bySeq.keys());
    const ranks = [...called].map((s) => order.indexOf(s));
    expect(Math.max(...ranks)).toBeLessThan(used + 8);
    expect(called.size).toBeLessThan(300);
    // Every candidate, the third one included, is paced on the order: none races ahead of the stop.
    const perCandidate = queryDb<{ candidate: string; n: number }>(
      db(),
      'SELECT candidate, count(*) AS n FROM calls WHERE run_id = ? GROUP BY candidate',
      runId,
    );
    expect(perCandidate.map((x) => x.candidate).sort()).toEqual(['bad', 'good', 'good2']);
    for (const x of perCandidate) expect(x.n, x.candidate).toBeLessThanOrEqual(used + 8);

    // An independent replay of the stored rows, in the stored order, decides at the same record.
    const ds: number[] = [];
    let decidedAt = -1;
    for (let k = 0; k < order.length && decidedAt < 0; k++) {
      const e = bySeq.get(order[k]!);
      expect(e?.a.length, `record at rank ${k}`).toBe(1);
      expect(e?.b.length, `record at rank ${k}`).toBe(1);
      if (e!.a[0] === null || e!.b[0] === null) continue;
      ds.push(e!.b[0]! - e!.a[0]!);
      if (replaySequential(ds, SEQUENTIAL_DEFAULTS).decided) decidedAt = k + 1;
    }
    expect(decidedAt).toBe(used);
    expect(replaySequential(ds).decided).toEqual({ verdict: 'FAIL', t: seq!.prompts_fed });
  }, 60_000);

  it('never resumes sending once decided', async () => {
    const before = queryDb<{ n: number }>(db(), 'SELECT count(*) AS n FROM calls WHERE run_id = ?', runId)[0]!
      .n;
    const res = await runCli(['run', '--resume', String(runId), '--db', db()], { env: ENV });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/was decided early: FAIL after \d+ of 300 records; nothing more to send/);
    const after = queryDb<{ n: number }>(db(), 'SELECT count(*) AS n FROM calls WHERE run_id = ?', runId)[0]!
      .n;
    expect(after).toBe(before);
  }, 30_000);

  it('the report of a run stopped early says so and where its verdict is', async () => {
    const res = await runCli(['report', String(runId), '--db', db(), '--format', 'json']);
    expect(res.code, res.stderr).toBe(0);
    const notes = (JSON.parse(res.stdout) as { notes: string[] }).notes;
    const note = notes.find((n) => n.startsWith('Stopped early on bad against good'));
    expect(note).toMatch(
      /decided early: FAIL after \d+ of 300 records; figures cover the records issued before the stop/,
    );
    expect(note).toContain(`holdout compare --run ${runId} --baseline good --candidate bad`);
  });

  it('refuses to change the test of a resumed run', async () => {
    const res = await runCli(
      ['run', '--resume', String(runId), '--db', db(), '--until-decided', '--margin', '0.05'],
      { env: ENV },
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--margin 0\.05 would change its test mid-run/);
  });

  it('compare reports the sequential verdict and exits on it', async () => {
    const res = await runCli([
      'compare',
      '--db',
      db(),
      '--run',
      String(runId),
      '--baseline',
      'good',
      '--candidate',
      'bad',
    ]);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/^Sequential verdict \(anytime-valid\): FAIL/m);
    expect(res.stdout).toMatch(/decided early after \d+ of 300 records/);
    expect(res.stdout).toMatch(/fixed-n tests .* do not apply/);
    const json = await runCli([
      'compare',
      '--db',
      db(),
      '--run',
      String(runId),
      '--baseline',
      'good',
      '--candidate',
      'bad',
      '--format',
      'json',
    ]);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.verdict).toBe('FAIL');
    expect(parsed.sequential.version).toBe(1);
    expect(parsed.sequential.verdict).toBe('FAIL');
    expect(parsed.sequential.pValues.worse).toBeLessThan(0.025);
    expect(parsed.sequential.confidenceSequence.hi).toBeLessThan(0);
    // With --by the stop is on the overall claim: every slice is descriptive.
    const bySlice = await runCli([
      'compare',
      '--db',
      db(),
      '--run',
      String(runId),
      '--baseline',
      'good',
      '--candidate',
      'bad',
      '--by',
      'task',
      '--format',
      'json',
    ]);
    expect(bySlice.code).toBe(1);
    const slices = JSON.parse(bySlice.stdout).slices.slices as { verdict: string }[];
    expect(slices.length).toBeGreaterThan(0);
    expect(slices.every((x) => x.verdict === 'DESCRIPTIVE')).toBe(true);
  }, 30_000);
});

describe('stopping on PASS, with repeats, from a stop: block', () => {
  it('two identical candidates pass early; every repeat is final before a prompt is fed', async () => {
    const db = join(dir, 'pass.db');
    const cfg = writeConfig('pass.yaml', ['stop: { baseline: good, candidate: good2, seed: 7 }'], 2);
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(res.code, res.stderr).toBe(0);
    const m = /run (\d+) decided early: PASS after (\d+) of 300 records/.exec(res.stderr);
    expect(m, res.stderr).not.toBeNull();
    const runId = Number(m![1]);
    const { order, bySeq, seed } = replayFromDb(db, runId);
    expect(seed).toBe(7);
    const ds: number[] = [];
    for (let k = 0; k < Number(m![2]); k++) {
      const e = bySeq.get(order[k]!)!;
      expect(e.a).toHaveLength(2);
      expect(e.b).toHaveLength(2);
      const mean = (xs: (number | null)[]) => {
        const v = xs.filter((x): x is number => x !== null);
        return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
      };
      const a = mean(e.a);
      const b = mean(e.b);
      if (a !== null && b !== null) ds.push(b - a);
    }
    const st = replaySequential(ds);
    expect(st.decided?.verdict).toBe('PASS');
    expect(st.decided?.t).toBe(ds.length);
    const cmp = await runCli([
      'compare',
      '--db',
      db,
      '--run',
      String(runId),
      '--baseline',
      'good',
      '--candidate',
      'good2',
    ]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stdout).toMatch(/^Sequential verdict \(anytime-valid\): PASS/m);
  }, 60_000);

  it('resumes an undecided run in the same order into the same e-processes', async () => {
    // The first session stops at its budget before any decision; the second resumes and decides. The
    // stored decision must be the one a single replay of all stored rows, in the stored order, makes.
    const db = join(dir, 'resume.db');
    const cfg = writeConfig('resume.yaml', ['stop: { baseline: good, candidate: good2, seed: 3 }']);
    const first = await runCli(['run', cfg, '--db', db, '--budget', '0.02'], { env: ENV });
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/stopped at its budget/);
    const [undecided] = queryDb<{ verdict: string | null; run_id: number }>(db, 'SELECT * FROM sequential');
    expect(undecided!.verdict).toBeNull();
    const calledBefore = queryDb<{ n: number }>(db, 'SELECT count(*) AS n FROM calls')[0]!.n;
    expect(calledBefore).toBeGreaterThan(10);
    const second = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming unfinished run/);
    const [decided] = queryDb<{ verdict: string; records_used: number; prompts_fed: number }>(
      db,
      'SELECT * FROM sequential',
    );
    expect(decided!.verdict).toBe('PASS');
    const { order, bySeq } = replayFromDb(db, undecided!.run_id);
    const ds: number[] = [];
    let at = -1;
    for (let k = 0; k < order.length && at < 0; k++) {
      const e = bySeq.get(order[k]!)!;
      if (e.a[0] === null || e.b[0] === null) continue;
      ds.push(e.b[0]! - e.a[0]!);
      if (replaySequential(ds).decided) at = k + 1;
    }
    expect(at).toBe(decided!.records_used);
    expect(ds.length).toBe(decided!.prompts_fed);
    const runs = await runCli(['runs', '--db', db, '--format', 'json']);
    expect(JSON.parse(runs.stdout)[0].decided).toBe(`decided early: PASS after ${at} of 300 records`);
  }, 60_000);

  it('scores model-graded scorers per record before feeding it (judges), not after the run', async () => {
    // The only scorer is a judge: without the gate's per-record scoring every pair would be unscored,
    // nothing would be fed, and the run could never decide early.
    const own = tempDir();
    const records = sampleSlice(own, 100, (r) => r.tags.task === 'reformat');
    const db = join(own, 'judge.db');
    const cfg = join(own, 'judge.yaml');
    const endpoint = (id: string, model: string) =>
      `  - { id: ${id}, model: ${model}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ` +
      'price: { input: 1, cached_input: 0.1, output: 2 } }';
    writeFileSync(
      cfg,
      [
        `dataset: ${records}`,
        'concurrency: 4',
        'stream: false',
        'candidates:',
        endpoint('good', 'sim-good'),
        endpoint('bad', 'sim-bad'),
        'judges:',
        endpoint('grader', 'sim-judge'),
        'scorers:',
        '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Keeps the requested format", threshold: 0.8 }',
        'stop: { baseline: good, candidate: bad, seed: 5 }',
      ].join('\n'),
    );
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(res.code, res.stderr).toBe(0);
    const m = /decided early: FAIL after (\d+) of (\d+) records \((\d+) pairs fed\)/.exec(res.stderr);
    expect(m, res.stderr).not.toBeNull();
    expect(Number(m![3])).toBeGreaterThan(0);
    const [row] = queryDb<{ run_id: number; records_used: number }>(db, 'SELECT * FROM sequential');
    const { order, bySeq } = replayFromDb(db, row!.run_id);
    const ds: number[] = [];
    let at = -1;
    for (let k = 0; k < order.length && at < 0; k++) {
      const e = bySeq.get(order[k]!)!;
      if (e.a[0] === null || e.b[0] === null) continue;
      ds.push(e.b[0]! - e.a[0]!);
      if (replaySequential(ds).decided) at = k + 1;
    }
    expect(at).toBe(row!.records_used);
    const judged = queryDb<{ n: number }>(db, `SELECT count(*) AS n FROM calls WHERE role = 'judge'`)[0]!.n;
    expect(judged).toBeLessThan(2 * Number(m![2]));
  }, 60_000);

  it('refuses a stop: block naming an unknown candidate, naming the field', async () => {
    const cfg = writeConfig('bad-stop.yaml', ['stop: { baseline: good, candidate: nope }']);
    const res = await runCli(['run', cfg, '--db', join(dir, 'x.db')], { env: ENV });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/stop\.candidate: "nope" is not a candidate \(candidates: good, bad, good2\)/);
  });

  it('refuses --until-decided without the two candidates', async () => {
    const cfg = writeConfig('plain.yaml');
    const res = await runCli(['run', cfg, '--db', join(dir, 'y.db'), '--until-decided'], { env: ENV });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--until-decided needs --baseline A and --candidate B/);
  });
});
