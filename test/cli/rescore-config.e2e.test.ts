/**
 * `holdout rescore --config F` with a scorer-only file (scorers:, judges:, simulator:), checked as a
 * run config is (fields, did-you-mean, alias bound), and `rescore --dry-run`: per scorer the scores it
 * would compute and, for judge scorers, the judge calls and their estimated cost; nothing called,
 * nothing stored.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScorerConfig } from '../../harness/config.js';
import { HarnessError } from '../../harness/errors.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
const PRICE = 'price: { input: 1, cached_input: 0.1, output: 2 }';
let sim: SimServer;
let dir: string;
let db: string;

const endpoint = (id: string, model: string) =>
  `  - { id: ${id}, model: ${model}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ${PRICE} }`;

function write(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n'));
  return path;
}

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast-nano': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.3 },
      'sim-fast-mini': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.85 },
      'sim-judge': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 1 },
    },
  });
  dir = tempDir();
  db = join(dir, 'h.db');
  const config = write('run.yaml', [
    'suite: rescore-config',
    `dataset: ${sampleSlice(dir, 10, (r) => r.tags.task === 'reformat')}`,
    'candidates:',
    endpoint('nano', 'sim-fast-nano'),
    endpoint('mini', 'sim-fast-mini'),
    'judges:',
    endpoint('old', 'sim-judge'),
    'scorers:',
    '  - { kind: normalized, name: fmt }',
  ]);
  const r = await runCli(['run', config, '--db', db], { env: ENV });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => sim.close());

/** The dry run's table rows by scorer: the cells after the name. */
function table(stdout: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const cells = line.trim().split(/\s{2,}/);
    if (cells.length === 10 && cells[0] !== 'scorer' && !/^-+$/.test(cells[0]!))
      rows.set(cells[0]!, cells.slice(1));
  }
  return rows;
}

describe('rescore --config with a scorer-only file', () => {
  it('dry run first: counts per scorer, judge calls and cost; no call, nothing stored', async () => {
    const graded = write('graded.yaml', [
      '# scorers and judges only: no dataset, no candidates',
      'judges:',
      endpoint('grader', 'sim-judge'),
      'scorers:',
      '  - { kind: normalized, name: fmt, case: false }',
      '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Right format" }',
      '  - { kind: judge_pairwise, name: vs_mini, judge: grader, baseline: mini }',
      '  - { kind: judge_label, name: verdict, judge: old, labels: [ok, bad], pass: [ok], instructions: "ok if right" }',
    ]);
    const before = { requests: sim.stats().requests, db: fileHash(db) };
    const dry = await runCli(['rescore', '1', '--config', graded, '--db', db, '--dry-run'], { env: ENV });
    expect(dry.code, dry.stderr).toBe(0);
    expect(sim.stats().requests).toBe(before.requests);
    expect(fileHash(db)).toBe(before.db);
    expect(dry.stdout).toMatch(/^dry run: rescore of run 1; no call made, nothing stored\n/);
    const rows = table(dry.stdout);
    // fmt changed (case folded): recomputed over all 20 ok calls; no judge.
    expect(rows.get('fmt')!.slice(0, 3)).toEqual(['normalized', 'recompute', '20']);
    expect(rows.get('fmt')![4]).toBe('-');
    // rubric: one judge call per call; vs_mini: two (both orders) per nano call, none for mini's own.
    expect(rows.get('rubric')!.slice(0, 6)).toEqual([
      'judge_rubric',
      'recompute',
      '20',
      'grader (sim-judge)',
      '20',
      '0',
    ]);
    expect(rows.get('vs_mini')!.slice(0, 6)).toEqual([
      'judge_pairwise',
      'recompute',
      '20',
      'grader (sim-judge)',
      '20',
      '0',
    ]);
    // A judge declared by the run (not in the file) may be named.
    expect(rows.get('verdict')!.slice(0, 6)).toEqual([
      'judge_label',
      'recompute',
      '20',
      'old (sim-judge)',
      '20',
      '0',
    ]);
    for (const name of ['rubric', 'vs_mini', 'verdict']) {
      const [, , , , , , input, output, cost] = rows.get(name)!;
      expect(Number(output)).toBe(20 * 80);
      // $1 per 1M input, $2 per 1M output.
      expect(Number(cost!.slice(1))).toBeCloseTo((Number(input) * 1 + 20 * 80 * 2) / 1e6, 5);
    }
    const total = [...rows.values()].reduce((s, r) => s + (r[8] === '-' ? 0 : Number(r[8]!.slice(1))), 0);
    expect(dry.stdout).toMatch(/estimated new spend: \$[\d.]+ \(judge calls\)/);
    expect(Number(/estimated new spend: \$([\d.]+)/.exec(dry.stdout)![1])).toBeCloseTo(total, 4);

    // The real rescore makes exactly the calls the dry run counted; the simulator's token counts
    // (characters / 4) land near the tokenizer's.
    const real = await runCli(['rescore', '1', '--config', graded, '--db', db], { env: ENV });
    expect(real.code, real.stderr).toBe(0);
    const judged = queryDb<{ aux: string; n: number; input: number }>(
      db,
      `SELECT CASE WHEN aux LIKE 'vs_mini:%' THEN 'vs_mini' ELSE aux END AS aux, count(*) AS n,
              sum(input_tokens) AS input
       FROM calls WHERE role = 'judge' GROUP BY 1 ORDER BY 1`,
    );
    expect(judged.map((j) => [j.aux, j.n])).toEqual([
      ['rubric', 20],
      ['verdict', 20],
      ['vs_mini', 20],
    ]);
    for (const j of judged) {
      const estimated = Number(rows.get(j.aux)![6]);
      expect(estimated / j.input).toBeGreaterThan(0.6);
      expect(estimated / j.input).toBeLessThan(1.6);
    }
  });

  it('a fill counts the stored judge answers it would reuse', async () => {
    // Three rubric scores lost (as if interrupted after their judge calls were stored).
    const d = new Database(db);
    d.prepare(
      "DELETE FROM scores WHERE scorer = 'rubric' AND call_id IN (SELECT call_id FROM scores WHERE scorer = 'rubric' LIMIT 3)",
    ).run();
    d.close();
    const dry = await runCli(['rescore', '1', '--db', db, '--dry-run'], { env: ENV });
    expect(dry.code, dry.stderr).toBe(0);
    const rows = table(dry.stdout);
    expect(rows.get('rubric')!.slice(0, 6)).toEqual([
      'judge_rubric',
      'fill',
      '3',
      'grader (sim-judge)',
      '0',
      '3',
    ]);
    expect(rows.get('fmt')!.slice(0, 3)).toEqual(['normalized', 'fill', '0']);
    expect(dry.stdout).toContain('estimated new spend: $0.00 (judge calls)');
  });

  it('the file is checked like a run config: every problem at once, did-you-mean, exit 2', async () => {
    const bad = write('bad.yaml', [
      'judge:', // typo of judges
      endpoint('g', 'sim-judge'),
      'scorers:',
      '  - { kind: judge_rubric, name: r, judge: nobody, rubric: x }',
      '  - { kind: normalized, nmae: y }',
    ]);
    const r = await runCli(['rescore', '1', '--config', bad, '--db', db], { env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"judge" (did you mean `judges`?)');
    expect(r.stderr).toContain('"nmae" (did you mean `name`?)');
    expect(r.stderr).toMatch(/hint: a scorer-only config holds scorers:, judges: and simulator:/);
    const unknownJudge = write('unknown-judge.yaml', [
      'scorers:',
      '  - { kind: judge_rubric, name: r, judge: nobody, rubric: x }',
    ]);
    const u = await runCli(['rescore', '1', '--config', unknownJudge, '--db', db], { env: ENV });
    expect(u.code).toBe(2);
    expect(u.stderr).toContain(
      'scorers[0].judge: "nobody" is not declared under judges: (declared: old, grader)',
    );
    const priced = write('unpriced.yaml', [
      'judges:',
      '  - { id: j, model: my-own-model }',
      '  - { id: j, model: gpt-5.4-mini, batch: true }',
      'scorers: []',
    ]);
    const p = await runCli(['rescore', '1', '--config', priced, '--db', db], { env: ENV });
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('judges[0].price: no bundled price for model "my-own-model"');
    expect(p.stderr).toContain('judges[1].id: "j" is already used by judges[0]');
    expect(p.stderr).toContain('judges[1].batch: judges are called live');
  });

  it('loadScorerConfig: the alias bound; a full run config still reads as one', () => {
    const bomb = join(dir, 'bomb.yaml');
    // A "billion laughs": nine levels of ten aliases each.
    const levels = 'abcdefghi';
    const lines = [`a: &a [${Array(10).fill('x').join(', ')}]`];
    for (let i = 1; i < levels.length; i++) {
      lines.push(
        `${levels[i]}: &${levels[i]} [${Array(10)
          .fill(`*${levels[i - 1]}`)
          .join(', ')}]`,
      );
    }
    lines.push('scorers: []');
    writeFileSync(bomb, lines.join('\n'));
    expect(() => loadScorerConfig(bomb)).toThrow(/too many YAML alias expansions/);
    const full = write('full.yaml', [
      'dataset: records.jsonl',
      'candidates:',
      endpoint('nano', 'sim-fast-nano'),
      'judges:',
      endpoint('grader', 'sim-judge'),
      'scorers:',
      '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "x" }',
    ]);
    const cfg = loadScorerConfig(full);
    expect(cfg.judges.map((j) => j.id)).toEqual(['grader']);
    expect(cfg.scorers.map((s) => s.name)).toEqual(['rubric']);
    // A full run config's scorers name its own judges only, as `holdout run` requires.
    const missing = write('full-missing.yaml', [
      'dataset: records.jsonl',
      'candidates:',
      endpoint('nano', 'sim-fast-nano'),
      'scorers:',
      '  - { kind: judge_rubric, name: rubric, judge: old, rubric: "x" }',
    ]);
    expect(() => loadScorerConfig(missing, { judges: ['old'] })).toThrow(HarnessError);
  });
});
