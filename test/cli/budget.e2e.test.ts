import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

function setup(concurrency: number) {
  const dir = tempDir();
  const dataset = sampleSlice(dir, 20);
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    [
      `dataset: ${dataset}`,
      `simulator: { answer_key: ${answerKeyPath()} }`,
      `concurrency: ${concurrency}`,
      'candidates:',
      '  - { id: mini, model: sim-mini, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
    ].join('\n'),
  );
  return { dir, config, db: join(dir, 'h.db') };
}

const spent = (db: string) =>
  queryDb<{ n: number; usd: number; max: number }>(
    db,
    'SELECT count(*) AS n, coalesce(sum(cost_usd), 0) AS usd, max(cost_usd) AS max FROM calls',
  )[0]!;

describe('budget cap and dry run', () => {
  it('stops issuing calls before the budget would be passed, keeps what was paid for, and resumes when it is raised', async () => {
    const { config, db } = setup(1);
    const first = await runCli(['run', config, '--db', db, '--budget', '0.002']);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /run 1 stopped at its budget: \$0\.00\d+ spent .*raise budget_usd \(or pass --budget\)/,
    );
    const s = spent(db);
    expect(s.n).toBeGreaterThan(0);
    expect(s.n).toBeLessThan(20);
    // Each call's worst case is held before it is sent: the cap is never passed.
    expect(s.usd).toBeLessThanOrEqual(0.002);
    const again = await runCli(['run', config, '--db', db, '--budget', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming unfinished run 1/);
    expect(spent(db).n).toBe(20);
  });

  it('many calls in flight never take the spend past the cap (candidates of different prices)', async () => {
    for (const budget of [0.004, 0.02]) {
      const dir = tempDir();
      const dataset = sampleSlice(dir, 30);
      const config = join(dir, 'run.yaml');
      writeFileSync(
        config,
        [
          `dataset: ${dataset}`,
          `simulator: { answer_key: ${answerKeyPath()} }`,
          'concurrency: 24',
          'candidates:',
          '  - { id: nano, model: sim-nano, base_url: simulator, price: { input: 0.2, cached_input: 0.02, output: 1.25 } }',
          '  - { id: mini, model: sim-mini, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
          '  - { id: big, model: sim-mini, base_url: simulator, price: { input: 5, cached_input: 0.5, output: 30 } }',
        ].join('\n'),
      );
      const db = join(dir, 'h.db');
      const res = await runCli(['run', config, '--db', db, '--budget', String(budget)]);
      expect(res.code, res.stderr).toBe(1);
      const s = spent(db);
      expect(s.n).toBeGreaterThan(0);
      expect(s.usd, `budget ${budget}`).toBeLessThanOrEqual(budget);
    }
  });

  it('judge calls hold their worst case too: a run with judges stays within its budget', async () => {
    const dir = tempDir();
    const dataset = sampleSlice(dir, 20, (r) => r.tags.task === 'reformat');
    const config = join(dir, 'run.yaml');
    const sim = 'base_url: simulator';
    writeFileSync(
      config,
      [
        `dataset: ${dataset}`,
        `simulator: { answer_key: ${answerKeyPath()} }`,
        'concurrency: 16',
        'candidates:',
        `  - { id: nano, model: sim-nano, ${sim}, price: { input: 0.2, cached_input: 0.02, output: 1.25 } }`,
        'judges:',
        // No output limit on judge requests: each holds UNLIMITED_OUTPUT_TOKENS (4096) of output.
        `  - { id: grader, model: sim-judge, ${sim}, price: { input: 10, cached_input: 1, output: 2 } }`,
        'scorers:',
        '  - { kind: normalized }',
        '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Keeps the requested format" }',
      ].join('\n'),
    );
    const db = join(dir, 'h.db');
    const budget = 0.02;
    const res = await runCli(['run', config, '--db', db, '--budget', String(budget)]);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/stopped at its budget/);
    const byRole = queryDb<{ role: string; n: number; usd: number }>(
      db,
      'SELECT role, count(*) AS n, sum(cost_usd) AS usd FROM calls GROUP BY role ORDER BY role',
    );
    expect(byRole.map((r) => r.role)).toEqual(['candidate', 'judge']);
    expect(byRole[0]!.n).toBe(20);
    expect(byRole[1]!.n).toBeGreaterThan(0);
    expect(byRole[1]!.n).toBeLessThan(20);
    expect(spent(db).usd).toBeLessThanOrEqual(budget);
  });

  it('--dry-run prints the estimate and neither calls nor stores anything', async () => {
    const { config, db } = setup(4);
    const out = await runCli(['run', config, '--db', db, '--dry-run', '--budget', '0.001']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/dry run: 20 records × 1 repeat; no call made, nothing stored/);
    expect(out.stdout).toMatch(/mini\s+candidate\s+sim-mini\s+20\s+\d+\s+\d+\s+\$0\.\d+\s+reference 20/);
    expect(out.stdout).toMatch(
      /estimated new spend: \$0\.\d+ \(budget \$0\.00100: the run would stop at the budget\)/,
    );
    expect(existsSync(db)).toBe(false);
  });
});
