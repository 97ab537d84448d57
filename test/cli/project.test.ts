import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../harness/paths.js';
import type { Comparison } from '../../results/compare/compare.js';
import type { RunReport } from '../../results/report/report.js';
import type { RouteResult } from '../../results/route/route.js';
import { answerKeyPath, runCli, tempDir } from '../support/cli.js';

/*
 * `--project` end to end on the simulator: a sample of the bundled records stratified by task (equal
 * allocation, so the sample's mix is not production's), a bake-off over it, then report, route and
 * compare projected to the bundled file's volume (its 332 records over their time span).
 */

const dir = tempDir('holdout-project-');
const db = join(dir, 'h.db');
const pool = join(packageRoot(), 'datasets/sample/records.jsonl');

beforeAll(async () => {
  const sample = join(dir, 'holdout.jsonl');
  const s = await runCli([
    'sample',
    pool,
    '--size',
    '24',
    '--seed',
    '3',
    '--stratify',
    'task',
    '--allocation',
    'equal',
    '-o',
    sample,
  ]);
  expect(s.code, s.stderr).toBe(0);
  const fast = (accuracy: number) => ({ latencyMs: { median: 3 }, ttftMs: 1, accuracy });
  const profiles = join(dir, 'profiles.json');
  writeFileSync(
    profiles,
    JSON.stringify({ 'sim-nano': fast(0.7), 'sim-mini': fast(0.85), 'sim-frontier': fast(0.95) }),
  );
  const config = join(dir, 'bakeoff.yaml');
  writeFileSync(
    config,
    readFileSync(join(packageRoot(), 'datasets/sample/bakeoff.yaml'), 'utf8')
      .replace(/^dataset: .*$/m, `dataset: ${sample}`)
      .replace(/^ {2}answer_key: .*$/m, `  answer_key: ${answerKeyPath()}\n  profiles: ${profiles}`),
  );
  const r = await runCli(['run', config, '--db', db]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

// The bundled records: classify 130, reformat 102, extract 100; first to last timestamp
// 2026-11-09T02:30:11.991Z → 2026-11-15T22:58:27.466Z.
const SPAN_DAYS =
  (Date.parse('2026-11-15T22:58:27.466Z') - Date.parse('2026-11-09T02:30:11.991Z')) / 86_400_000;

describe('--project', () => {
  it('report: the sample manifest weighs the strata, the pool gives the volume', async () => {
    const r = await runCli([
      'report',
      '--db',
      db,
      '--project',
      '--volume-from',
      pool,
      '--baseline',
      'frontier',
      '--format',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const p = (JSON.parse(r.stdout) as RunReport).projection!;
    expect(p.frame.source).toBe('sample manifest');
    expect(p.frame.strata.map((s) => [s.key, s.N, s.sampled])).toEqual([
      ['classify', 130, 8],
      ['reformat', 102, 8],
      ['extract', 100, 8],
    ]);
    expect(p.frame.volume!.perMonth).toBeCloseTo((332 * 30.4375) / SPAN_DAYS, 6);
    expect(p.arms.map((a) => a.name)).toEqual(['nano', 'mini', 'frontier']);
    expect(p.differences.map((d) => `${d.candidate}-${d.baseline}`)).toEqual([
      'nano-frontier',
      'mini-frontier',
    ]);
    const table = await runCli([
      'report',
      '--db',
      db,
      '--project',
      '--volume',
      '250000',
      '--baseline',
      'frontier',
    ]);
    expect(table.stdout).toMatch(/Projection to production volume/);
    expect(table.stdout).toMatch(/250,000 requests\/month \(--volume\)/);
    expect(table.stdout).toMatch(/nano instead of frontier: −\$[\d,.]+\/month \[/);
  });

  it('route and compare carry the same section', async () => {
    const route = await runCli([
      'route',
      join(packageRoot(), 'examples/route-canonical.yaml'),
      '--db',
      db,
      '--project',
      '--volume',
      '100000',
      '--format',
      'json',
    ]);
    expect(route.code, route.stderr).toBe(0);
    const rp = (JSON.parse(route.stdout) as RouteResult).projection!;
    expect(rp.arms.map((a) => `${a.name}:${a.kind}`)).toEqual([
      'nano:candidate',
      'mini:candidate',
      'frontier:candidate',
      'canonical:policy',
    ]);
    expect(rp.differences[0]).toMatchObject({ baseline: 'frontier', candidate: 'canonical' });
    const html = await runCli([
      'route',
      join(packageRoot(), 'examples/route-canonical.yaml'),
      '--db',
      db,
      '--project',
      '--format',
      'html',
    ]);
    expect(html.stdout).toContain('<section id="routing-projection">');

    const cmp = await runCli([
      'compare',
      '--db',
      db,
      '--baseline',
      'frontier',
      '--candidate',
      'mini',
      '--project',
      '--format',
      'json',
    ]);
    expect([0, 1, 3]).toContain(cmp.code);
    const cp = (JSON.parse(cmp.stdout) as Comparison).projection!;
    expect(cp.differences[0]).toMatchObject({ baseline: 'frontier', candidate: 'mini' });
    // The same pair, the same per-prompt differences: compare and report agree.
    const rep = JSON.parse(
      (await runCli(['report', '--db', db, '--project', '--baseline', 'frontier', '--format', 'json']))
        .stdout,
    ) as RunReport;
    const same = rep.projection!.differences.find((d) => d.candidate === 'mini')!;
    expect(cp.differences[0]!.passRate.estimate).toBeCloseTo(same.passRate.estimate, 12);
    expect(cp.differences[0]!.cost!.estimate).toBeCloseTo(same.cost!.estimate, 12);
  });

  it('says clearly what is wrong with the flags', async () => {
    const bad = async (args: string[], message: RegExp) => {
      const r = await runCli(['report', '--db', db, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await bad(['--volume', '1000'], /--volume only with --project/);
    await bad(['--project', '--volume', '-5'], /--volume must be a positive number/);
    await bad(['--project', '--volume', 'lots'], /--volume must be a positive number/);
    await bad(['--project', '--format', 'csv'], /--project has no csv format/);
    await bad(['--project', '--post-stratify', 'tenant'], /stratified by 'task'/);
    const untimed = join(dir, 'untimed.jsonl');
    writeFileSync(untimed, `${JSON.stringify({ id: 'x', request: { messages: [] } })}\n`);
    await bad(['--project', '--volume-from', untimed], /no record has a timestamp.*--volume N|--volume N/s);
    await bad(['--project', '--volume-from', join(dir, 'missing.jsonl')], /no such file/);
  });
});
