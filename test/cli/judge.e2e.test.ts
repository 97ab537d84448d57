import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

/**
 * Model-graded scorers end to end: candidates and judges on the simulator, whose judge answers are
 * a documented function of the prompt's parts (harness/sim/grader.ts), so every verdict below is
 * recomputed here from the stored outputs and the references.
 */
const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast-nano': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 0.3 },
      'sim-fast-mini': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 0.85 },
      'sim-judge': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 1 },
      'sim-judge-biased': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 1, positionBias: 1 },
    },
  });
});
afterAll(async () => {
  await sim.close();
});

const endpoint = (id: string, model: string, api = 'chat', extra = '') =>
  `  - { id: ${id}, model: ${model}, api: ${api}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ` +
  `price: { input: 1, cached_input: 0.1, output: 2 }${extra} }`;

function setup(): { dir: string; config: string; db: string } {
  const dir = tempDir();
  const dataset = sampleSlice(dir, 30, (r) => r.tags.task === 'reformat');
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    [
      'suite: judges',
      `dataset: ${dataset}`,
      'concurrency: 8',
      'timeout_ms: 10000',
      'candidates:',
      endpoint('nano', 'sim-fast-nano'),
      endpoint('mini', 'sim-fast-mini'),
      'judges:',
      endpoint('grader', 'sim-judge', 'responses', ', concurrency: 2'),
      endpoint('biased', 'sim-judge-biased'),
      'scorers:',
      '  - { kind: normalized, name: exact_format }',
      '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Keeps the requested format", threshold: 0.8 }',
      '  - { kind: judge_pairwise, name: vs_mini, judge: grader, baseline: mini }',
      '  - { kind: judge_pairwise, name: biased_vs_mini, judge: biased, baseline: mini }',
      '  - kind: judge_label',
      '    name: verdict',
      '    judge: grader',
      '    labels: [correct, incorrect]',
      '    pass: [correct]',
      '    instructions: correct when the answer says what the reference says',
    ].join('\n'),
  );
  return { dir, config, db: join(dir, 'h.db') };
}

type Row = Record<string, unknown>;
const query = (db: string, sql: string, ...args: unknown[]): Row[] => queryDb(db, sql, ...args);

const fold = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** Bag-of-words F1, computed by sorting both word lists and merging (independent of the grader's map). */
function f1(answer: string, reference: string): number {
  const a = fold(answer).split(' ').filter(Boolean).sort();
  const r = fold(reference).split(' ').filter(Boolean).sort();
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < r.length) {
    if (a[i] === r[j]) {
      common++;
      i++;
      j++;
    } else if (a[i]! < r[j]!) i++;
    else j++;
  }
  if (common === 0) return 0;
  const p = common / a.length;
  const q = common / r.length;
  return (2 * p * q) / (p + q);
}

describe('model-graded scorers through the runner', () => {
  it('grades with rubric, label and pairwise judges, keeps judge cost apart, and resumes without paying twice', async () => {
    const { config, db } = setup();
    const before = sim.stats().requests;
    const first = await runCli(['run', config, '--db', db, '--format', 'json'], { env: ENV });
    expect(first.code, first.stderr).toBe(0);

    const calls = query(
      db,
      `SELECT c.id, c.candidate, c.output, r.body_json FROM calls c
       JOIN records r ON r.run_id = c.run_id AND r.record_id = c.record_id WHERE c.role = 'candidate'`,
    );
    expect(calls).toHaveLength(60);
    const scoreOf = (callId: unknown, scorer: string) =>
      query(
        db,
        'SELECT value, passed, detail FROM scores WHERE call_id = ? AND scorer = ?',
        callId,
        scorer,
      )[0];
    const good = new Map<string, boolean>(); // `${candidate}/${record}` → output matches the reference
    for (const c of calls) {
      const rec = JSON.parse(c.body_json as string) as { id: string; reference: { output: string } };
      good.set(`${c.candidate}/${rec.id}`, fold(c.output as string) === fold(rec.reference.output));
    }
    let sawPartial = false;
    for (const c of calls) {
      const rec = JSON.parse(c.body_json as string) as { id: string; reference: { output: string } };
      const ok = good.get(`${c.candidate}/${rec.id}`)!;
      const expected = ok ? 1 : Math.round(f1(c.output as string, rec.reference.output) * 100) / 100;
      if (!ok && expected > 0) sawPartial = true;
      const rubric = scoreOf(c.id, 'rubric')!;
      expect(rubric.value).toBeCloseTo(expected, 10);
      expect(rubric.passed).toBe(expected >= 0.8 ? 1 : 0);
      expect(scoreOf(c.id, 'verdict')).toMatchObject({ value: ok ? 1 : 0, passed: ok ? 1 : 0 });
      const pair = scoreOf(c.id, 'vs_mini')!;
      const biased = scoreOf(c.id, 'biased_vs_mini')!;
      if (c.candidate === 'mini') {
        expect(pair).toMatchObject({ value: null, passed: null });
        continue;
      }
      const miniOk = good.get(`mini/${rec.id}`)!;
      expect(pair.value).toBe(ok === miniOk ? 0.5 : ok ? 1 : 0);
      // A judge that always says "A" contradicts itself once the answers swap places: a tie.
      expect(biased.value).toBe(0.5);
      expect(biased.detail).toMatch(/inconsistent/);
    }
    // Some wrong answers share words with the reference (a partial rubric score is exercised).
    expect(sawPartial).toBe(true);
    expect(new Set([...good.values()]).size).toBe(2); // some right, some wrong: the checks above bite

    // Judge calls: rubric and label 60 each; each pairwise judge 30 nano outputs × 2 orders.
    const judgeRows = query(
      db,
      `SELECT candidate, aux, served_model, cost_usd FROM calls WHERE role = 'judge'`,
    );
    expect(judgeRows).toHaveLength(60 + 60 + 60 + 60);
    expect(new Set(judgeRows.map((r) => r.aux))).toEqual(
      new Set(['rubric', 'verdict', 'vs_mini:cb', 'vs_mini:bc', 'biased_vs_mini:cb', 'biased_vs_mini:bc']),
    );
    expect(
      judgeRows
        .filter((r) => r.aux === 'rubric')
        .every((r) => String(r.served_model).startsWith('sim-judge')),
    ).toBe(true);
    expect(sim.stats().requests - before).toBe(60 + 240);
    // The grader's own limit holds while the pass runs 8 scorings at once.
    expect(sim.stats().maxInFlightByModel['sim-judge']).toBeLessThanOrEqual(2);

    const report = JSON.parse(first.stdout) as {
      costByRole: { role: string; calls: number; costUsd: number }[];
    };
    const judgeCost = report.costByRole.find((r) => r.role === 'judge')!;
    const candidateCost = report.costByRole.find((r) => r.role === 'candidate')!;
    expect(judgeCost.calls).toBe(240);
    const summed = judgeRows.reduce((s, r) => s + (r.cost_usd as number), 0);
    expect(judgeCost.costUsd).toBeCloseTo(summed, 12);
    const candidateSum = query(db, `SELECT sum(cost_usd) AS s FROM calls WHERE role = 'candidate'`)[0]!
      .s as number;
    expect(candidateCost.costUsd).toBeCloseTo(candidateSum, 12);

    // Lose some work as a crash would: five rubric scores with their judge calls, and three label
    // scores whose judge calls were stored. Resuming pays for the five calls only.
    const w = new Database(db);
    const nano = calls.filter((c) => c.candidate === 'nano');
    for (const c of nano.slice(0, 5)) {
      w.prepare(`DELETE FROM scores WHERE call_id = ? AND scorer = 'rubric'`).run(c.id);
      const rec = JSON.parse(c.body_json as string) as { id: string };
      w.prepare(
        `DELETE FROM calls WHERE role = 'judge' AND aux = 'rubric' AND candidate = 'nano' AND record_id = ?`,
      ).run(rec.id);
    }
    for (const c of nano.slice(5, 8))
      w.prepare(`DELETE FROM scores WHERE call_id = ? AND scorer = 'verdict'`).run(c.id);
    w.prepare(`UPDATE runs SET status = 'interrupted'`).run();
    w.close();
    const mark = sim.stats().requests;
    const resumed = await runCli(['run', '--resume', '1', '--db', db, '--format', 'json'], { env: ENV });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sim.stats().requests - mark).toBe(5);
    expect(query(db, `SELECT count(*) AS n FROM scores WHERE scorer IN ('rubric', 'verdict')`)[0]!.n).toBe(
      120,
    );
    expect(query(db, `SELECT status FROM runs`)[0]!.status).toBe('finished');
  });

  it('rejects a judge scorer whose judge or baseline is not declared, before any call', async () => {
    const { dir } = setup();
    const dataset = sampleSlice(dir, 2);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        `dataset: ${dataset}`,
        'candidates:',
        endpoint('nano', 'sim-fast-nano'),
        'scorers:',
        '  - { kind: judge_rubric, judge: nobody, rubric: r }',
        '  - { kind: judge_pairwise, judge: nobody, baseline: ghost }',
      ].join('\n'),
    );
    const before = sim.stats().requests;
    const out = await runCli(['run', bad, '--db', join(dir, 'x.db')], { env: ENV });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(
      /scorers\[0\]\.judge: "nobody" is not declared under judges: \(declared: none\)/,
    );
    expect(out.stderr).toMatch(/scorers\[1\]\.baseline: "ghost" is not a candidate/);
    expect(sim.stats().requests).toBe(before);
  });

  it('rescore applies new and changed scorers to stored outputs without calling the candidates again', async () => {
    const { dir, db } = setup();
    const dataset = sampleSlice(dir, 10, (r) => r.tags.task === 'reformat');
    const head = ['suite: rescore', `dataset: ${dataset}`, 'candidates:', endpoint('nano', 'sim-fast-nano')];
    const plain = join(dir, 'plain.yaml');
    writeFileSync(
      plain,
      [...head, 'scorers:', '  - { kind: normalized, name: fmt, case: false }'].join('\n'),
    );
    const graded = join(dir, 'graded.yaml');
    writeFileSync(
      graded,
      [
        ...head,
        'judges:',
        endpoint('grader', 'sim-judge'),
        'scorers:',
        '  - { kind: normalized, name: fmt, case: true }',
        '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Right format" }',
      ].join('\n'),
    );
    expect((await runCli(['run', plain, '--db', db], { env: ENV })).code).toBe(0);
    const count = (sql: string) => query(db, sql)[0]!.n as number;
    const candidateCalls = () => sim.stats().byModel['sim-fast-nano'] ?? 0;
    const judgeCalls = () => sim.stats().byModel['sim-judge'] ?? 0;
    const [c0, j0] = [candidateCalls(), judgeCalls()];

    const first = await runCli(['rescore', '1', '--config', graded, '--db', db], { env: ENV });
    expect(first.code, first.stderr).toBe(0);
    // fmt changed (case now folded), rubric is new: both computed; no candidate called again.
    expect(first.stderr).toMatch(/fmt: discarded 10 scores and 0 judge calls/);
    expect(first.stderr).toMatch(/rubric: new scorer/);
    expect(first.stderr).toMatch(/20 of 20 missing scores computed \(0 scorer errors\)/);
    expect(candidateCalls()).toBe(c0);
    expect(judgeCalls() - j0).toBe(10);
    expect(count(`SELECT count(*) AS n FROM scores WHERE scorer = 'rubric'`)).toBe(10);
    expect(count(`SELECT count(*) AS n FROM calls WHERE role = 'judge'`)).toBe(10);
    const stored = JSON.parse(query(db, 'SELECT scorers_json FROM runs')[0]!.scorers_json as string) as {
      name: string;
    }[];
    expect(stored.map((s) => s.name)).toEqual(['fmt', 'rubric']);

    // Nothing left to do: the same command again computes nothing and calls nobody.
    const again = await runCli(['rescore', '1', '--db', db], { env: ENV });
    expect(again.stderr).toMatch(/0 of 0 missing scores computed/);
    expect(judgeCalls() - j0).toBe(10);

    // --scorer recomputes from scratch: its judge calls are made afresh.
    const redo = await runCli(['rescore', '1', '--scorer', 'rubric', '--db', db], { env: ENV });
    expect(redo.stderr).toMatch(/rubric: discarded 10 scores and 10 judge calls/);
    expect(judgeCalls() - j0).toBe(20);
    expect(count(`SELECT count(*) AS n FROM calls WHERE role = 'judge'`)).toBe(10);
    expect(candidateCalls()).toBe(c0);

    const unknown = await runCli(['rescore', '1', '--scorer', 'nope', '--db', db], { env: ENV });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/run 1 has no scorer "nope"/);
  });
});
