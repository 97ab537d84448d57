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
  it('stops issuing calls at the budget, keeps what was paid for, and resumes when the budget is raised', async () => {
    const { config, db } = setup(1);
    const first = await runCli(['run', config, '--db', db, '--budget', '0.002']);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /run 1 stopped at its budget: \$0\.00\d+ spent .*raise budget_usd \(or pass --budget\)/,
    );
    const s = spent(db);
    expect(s.n).toBeGreaterThan(0);
    expect(s.n).toBeLessThan(20);
    // One call in flight at a time: the spend passes the cap by less than one call's cost.
    expect(s.usd).toBeGreaterThanOrEqual(0.002);
    expect(s.usd - 0.002).toBeLessThan(s.max);
    const again = await runCli(['run', config, '--db', db, '--budget', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming unfinished run 1/);
    expect(spent(db).n).toBe(20);
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
