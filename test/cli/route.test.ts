import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../harness/paths.js';
import type { RouteResult } from '../../results/route/route.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

/*
 * End to end through the CLI: a small bake-off on the in-process simulator (every 7th sample record,
 * three simulated candidates, fast profiles), then `holdout route` with a classifier router that the
 * simulator serves too (nano, default profile, accuracy 0.72 against the sample's difficulty tag).
 */

const dir = tempDir('holdout-route-');
const db = join(dir, 'h.db');

const CLASSIFIER = `
name: nano-classifier
default: mini
router:
  name: nano-router
  candidate:
    model: sim-nano
    base_url: simulator
    price: { input: 0.20, cached_input: 0.02, output: 1.25 }
    params: { max_completion_tokens: 4 }
  prompt: "Is this easy or hard?\\n{{prompt}}"
  labels: { easy: mini, hard: frontier }
  simulator: { truth_tag: difficulty, truth: { easy: easy, hard: hard } }
`;

const SCORED = `
name: nano-score
default: nano
router:
  name: nano-scorer
  candidate:
    model: sim-nano
    base_url: simulator
    price: { input: 0.20, cached_input: 0.02, output: 1.25 }
  prompt: "Difficulty from 0 to 1?\\n{{prompt}}"
  score: { sweep: { from: 0.1, to: 0.9, step: 0.2 }, below: nano, above: frontier }
  simulator: { truth_tag: difficulty, truth: { easy: "0.2", hard: "0.8" } }
`;

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

let records = 0;

beforeAll(async () => {
  let i = 0;
  const dataset = sampleSlice(dir, 1000, () => i++ % 7 === 0);
  records = readFileSync(dataset, 'utf8').trim().split('\n').length;
  const fast = (accuracy: number) => ({ latencyMs: { median: 3 }, ttftMs: 1, accuracy });
  const profiles = write(
    'profiles.json',
    JSON.stringify({ 'sim-nano': fast(0.72), 'sim-mini': fast(0.86), 'sim-frontier': fast(0.95) }),
  );
  const bakeoff = readFileSync(join(packageRoot(), 'datasets/sample/bakeoff.yaml'), 'utf8')
    .replace(/^dataset: .*$/m, `dataset: ${dataset}`)
    .replace(/^ {2}answer_key: .*$/m, `  answer_key: ${answerKeyPath()}\n  profiles: ${profiles}`);
  const res = await runCli(['run', write('bakeoff.yaml', bakeoff), '--db', db]);
  expect(res.code, res.stderr).toBe(0);
}, 60_000);

const query = <T>(sql: string, ...params: unknown[]): T => queryDb<T>(db, sql, ...params)[0]!;

describe('holdout route', () => {
  it('a classifier router end to end on the simulator: stored as router rows, paid for by the policy, resumable', async () => {
    const policy = write('classifier.yaml', CLASSIFIER);
    const first = await runCli(['route', policy, '--run', '1', '--db', db, '--format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    const r = JSON.parse(first.stdout) as RouteResult;
    const p = r.policies[0]!;
    expect(r.records.evaluated).toBe(records);
    expect(p.router!.calls).toEqual({ reused: 0, made: records, errors: 0 });
    expect(first.stderr).toMatch(
      new RegExp(`router nano-router \\(sim-nano\\): ${records} calls to make, 0 reused`),
    );

    // Independently, from the database: one router row per record, and the labels it stored.
    const rows = query<{ n: number; cost: number; hard: number; easy: number }>(
      `SELECT count(*) AS n, sum(cost_usd) AS cost, sum(output = 'hard') AS hard, sum(output = 'easy') AS easy
       FROM calls WHERE run_id = 1 AND role = 'router' AND candidate = 'nano-router' AND status = 'ok'`,
    );
    expect(rows.n).toBe(records);
    expect(rows.hard + rows.easy).toBe(records);
    expect(p.routedBy).toMatchObject({ router: records, fallback: 0 });
    expect(p.figures.share).toEqual([0, rows.easy / records, rows.hard / records]);
    // The policy pays for its routing: its cost is the chosen candidates' plus every router call.
    expect(p.figures.cost.routerUsd).toBeCloseTo(rows.cost, 12);
    const chosen = query<{ cost: number }>(
      `SELECT sum(c.cost_usd) AS cost FROM calls c JOIN calls r ON r.run_id = c.run_id AND r.record_id = c.record_id
         AND r.role = 'router' AND r.candidate = 'nano-router'
       WHERE c.run_id = 1 AND c.role = 'candidate'
         AND c.candidate = CASE r.output WHEN 'hard' THEN 'frontier' ELSE 'mini' END`,
    );
    expect(p.figures.cost.totalUsd).toBeCloseTo(chosen.cost + rows.cost, 12);
    // The simulated nano gives the right label (the difficulty tag) 72% of the time in expectation.
    const right = query<{ n: number }>(
      `SELECT count(*) AS n FROM calls c JOIN records r ON r.run_id = c.run_id AND r.record_id = c.record_id
       WHERE c.run_id = 1 AND c.role = 'router' AND c.output = json_extract(r.tags_json, '$.difficulty')`,
    );
    expect(right.n / records).toBeGreaterThan(0.5);
    expect(right.n).toBeLessThan(records);

    // Second invocation: every router row is reused, no call is made, the figures are the same.
    const second = await runCli(['route', policy, '--run', '1', '--db', db, '--format', 'json']);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as RouteResult;
    expect(again.policies[0]!.router!.calls).toEqual({ reused: records, made: 0, errors: 0 });
    expect(second.stderr).not.toMatch(/calls to make/);
    expect(again.policies[0]!.figures).toEqual(p.figures);
    expect(query<{ n: number }>("SELECT count(*) AS n FROM calls WHERE role = 'router'").n).toBe(records);

    // Lose three router rows (as if interrupted): only those are called again.
    const d = new Database(db);
    d.prepare(
      "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE role = 'router' ORDER BY id DESC LIMIT 3)",
    ).run();
    d.close();
    const third = await runCli(['route', policy, '--run', '1', '--db', db, '--format', 'json']);
    expect(third.code, third.stderr).toBe(0);
    expect((JSON.parse(third.stdout) as RouteResult).policies[0]!.router!.calls).toEqual({
      reused: records - 3,
      made: 3,
      errors: 0,
    });
    // The simulator is deterministic per model and prompt: the same labels come back.
    expect((JSON.parse(third.stdout) as RouteResult).policies[0]!.figures.share).toEqual(p.figures.share);
  }, 60_000);

  it('a score router with a sweep: fitted on all records it warns; fitted on tune and evaluated on holdout it does not', async () => {
    const policy = write('scored.yaml', SCORED);
    const all = await runCli(['route', policy, '--run', '1', '--db', db, '--format', 'json']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toMatch(
      /^WARNING: the threshold of policy nano-score \([\d.]+\) was fitted on the records it is evaluated on/m,
    );
    const r = JSON.parse(all.stdout) as RouteResult;
    const s = r.policies[0]!.sweep!;
    expect(s.points.map((x) => x.threshold)).toEqual([0.1, 0.3, 0.5, 0.7, 0.9]);
    // Scores are 0.2 or 0.8: t = .1 escalates everything, t = .9 nothing; .3, .5 and .7 the same set.
    expect(s.points[0]!.escalationShare).toBe(1);
    expect(s.points[4]!.escalationShare).toBe(0);
    expect(new Set(s.points.slice(1, 4).map((x) => x.escalationShare)).size).toBe(1);
    expect(s.points[0]!.pgr).toBeCloseTo(1, 12);
    expect(s.points[4]!.pgr).toBe(0);

    const split = await runCli([
      'route',
      policy,
      '--run',
      '1',
      '--db',
      db,
      '--format',
      'json',
      '--fit-on',
      'tune',
      '--evaluate-on',
      'holdout',
      '--split',
      '0.5',
    ]);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stderr).not.toMatch(/WARNING/);
    const rs = JSON.parse(split.stdout) as RouteResult;
    expect(rs.settings.split).toEqual({ fraction: 0.5, key: 'id', source: '--split' });
    expect(rs.records.evaluated + rs.records.fittedOn).toBe(records);
    expect(rs.policies[0]!.threshold).toMatchObject({ fitted: true, fittedOn: 'tune' });

    // Without --split, the split comes from the sample manifest the run stored in its config.
    const manifest = {
      version: 1,
      seed: 1,
      size: records,
      sampled: records,
      stratify: null,
      allocation: 'proportional',
      min_per_stratum: 0,
      window: null,
      split: { fraction: 0.3, key: 'id', side: 'holdout', salt: 'holdout-split:', missing: 'error' },
      dedup: { enabled: false, removed: 0 },
      read: records,
      excluded: { no_timestamp: 0, outside_window: 0, duplicate: 0, other_side: 0 },
      sources: [],
      output_sha256: 'x',
      composition: [],
      created_at: '2026-01-01T00:00:00Z',
    };
    const w = new Database(db);
    w.prepare("UPDATE runs SET config_json = json_set(config_json, '$.sample', json(?)) WHERE id = 1").run(
      JSON.stringify(manifest),
    );
    // Independently: a record is on the tune side when sha256("holdout-split:" + id)'s first 48 bits / 2^48 < .3.
    const ids = w.prepare('SELECT record_id FROM records WHERE run_id = 1').pluck().all() as string[];
    w.close();
    const tune = ids.filter(
      (id) => createHash('sha256').update(`holdout-split:${id}`).digest().readUIntBE(0, 6) / 2 ** 48 < 0.3,
    ).length;
    const fromManifest = await runCli([
      'route',
      policy,
      '--run',
      '1',
      '--db',
      db,
      '--format',
      'json',
      '--fit-on',
      'tune',
      '--evaluate-on',
      'holdout',
    ]);
    expect(fromManifest.code, fromManifest.stderr).toBe(0);
    const rm = JSON.parse(fromManifest.stdout) as RouteResult;
    expect(rm.settings.split).toEqual({ fraction: 0.3, key: 'id', source: 'sample manifest' });
    expect(rm.records.fittedOn).toBe(tune);
    expect(rm.records.evaluated).toBe(records - tune);
    const undo = new Database(db);
    undo.prepare("UPDATE runs SET config_json = json_remove(config_json, '$.sample') WHERE id = 1").run();
    undo.close();
  }, 60_000);

  it('table and Markdown output, slices, and an HTML page that is self-contained and escaped', async () => {
    const canonical = join(packageRoot(), 'examples/route-canonical.yaml');
    const classifier = write('classifier.yaml', CLASSIFIER);
    const table = await runCli(['route', canonical, classifier, '--run', '1', '--db', db, '--by', 'task']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^SIMULATED: /);
    expect(table.stdout).toMatch(/^canonical\s+policy\s+\d+\.\d% \[/m);
    expect(table.stdout).toMatch(/^nano-classifier\s+policy/m);
    expect(table.stdout).toMatch(/^oracle\s+oracle/m);
    expect(table.stdout).toMatch(/^By task$/m);
    expect(table.stdout).toMatch(/^The cheapest model that is smart enough$/m);

    const evil = write('evil.yaml', 'name: "<script>alert(1)</script>"\ndefault: mini\n');
    const out = join(dir, 'route.html');
    const html = await runCli([
      'route',
      evil,
      classifier,
      '--run',
      '1',
      '--db',
      db,
      '--format',
      'html',
      '--out',
      out,
    ]);
    expect(html.code, html.stderr).toBe(0);
    const page = readFileSync(out, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('Content-Security-Policy');
    expect(page).toContain('<svg');
    expect(page).toContain('class="hull"');
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');

    const md = await runCli(['route', classifier, '--run', '1', '--db', db, '--format', 'md']);
    expect(md.stdout).toMatch(/^\| nano-classifier \| policy \|/m);
  }, 60_000);

  it('report --route adds the routing section to the run’s HTML report, and only to HTML', async () => {
    const policy = write('report-route.yaml', CLASSIFIER);
    const out = join(dir, 'report.html');
    const res = await runCli(['report', '--db', db, '--format', 'html', '--route', policy, '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    // One page: the run's own sections, then the routing section with the policy's row.
    expect(html.indexOf('id="summary"')).toBeGreaterThan(-1);
    expect(html.indexOf('id="routing"')).toBeGreaterThan(html.indexOf('id="summary"'));
    expect(html).toContain('nano-classifier');
    expect(html.match(/<html/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script/i);
    const md = await runCli(['report', '--db', db, '--format', 'md', '--route', policy]);
    expect(md.code).toBe(2);
    expect(md.stderr).toMatch(/--route adds a section to the html report/);
  });

  it('bad input: unknown candidates, invalid fields, a missing file, a split that is not there — exit 2, no stack', async () => {
    const unknown = write(
      'unknown.yaml',
      'name: x\ndefault: gpt-mini\nrules:\n  - { when: { tags: { a: b } }, route: frontier }\n',
    );
    const a = await runCli(['route', unknown, '--run', '1', '--db', db]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/default: "gpt-mini" is not a candidate of run 1/);
    expect(a.stderr).toMatch(/hint: the candidates of run 1 are: nano, mini, frontier/);

    const invalid = write(
      'invalid.yaml',
      'name: x\ndefault: mini\nrules:\n  - { when: { input_tokens: { above: 5 } }, route: frontier }\n',
    );
    const b = await runCli(['route', invalid, '--run', '1', '--db', db]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/rules\[0\]\.when\.input_tokens/);
    expect(b.stderr).not.toMatch(/ {4}at /);

    const c = await runCli(['route', join(dir, 'nope.yaml'), '--run', '1', '--db', db]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/cannot read policy/);

    const ok = write('ok.yaml', 'name: ok\ndefault: mini\n');
    const d = await runCli([
      'route',
      ok,
      '--run',
      '1',
      '--db',
      db,
      '--fit-on',
      'tune',
      '--evaluate-on',
      'holdout',
    ]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/need a split/);

    const e = await runCli(['route', unknown, '--run', '9', '--db', db]);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/run 9 is not in this database/);

    const f = await runCli(['route', '--run', '1', '--db', db]);
    expect(f.code).toBe(2);
  });
});
