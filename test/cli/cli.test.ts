import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../harness/paths.js';
import { runCli, sampleSlice, tempDir } from '../support/cli.js';

const exec = promisify(execFile);

describe('holdout CLI', () => {
  it('demo: runs the bundled bake-off on the simulator, writes SQLite and prints a report that says it is simulated', async () => {
    const dir = tempDir();
    const db = join(dir, 'demo.db');
    const res = await runCli(['demo', '--db', db, '--concurrency', '96']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^SIMULATED: these models were served by holdout's local simulator/m);
    for (const c of ['nano', 'mini', 'frontier'])
      expect(res.stdout).toMatch(new RegExp(`^${c}\\s+sim-${c}\\s+332\\s+0\\s`, 'm'));
    const d = new Database(db, { readonly: true });
    const n = d.prepare("SELECT count(*) FROM calls WHERE status = 'ok'").pluck().get();
    const records = d.prepare('SELECT count(*) FROM records').pluck().get();
    const cached = d.prepare('SELECT sum(cached_tokens) FROM calls').pluck().get() as number;
    d.close();
    expect(records).toBe(332);
    expect(n).toBe(996);
    expect(cached).toBeGreaterThan(0);
  }, 60_000);

  it('a bad config names its fields and exits 2, before any work', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(
      cfg,
      'dataset: x.jsonl\ncandidates:\n  - { id: a, model: gpt-5.4-mini, concurrency: 0 }\nrepeats: -1\n',
    );
    const res = await runCli(['run', cfg, '--db', join(dir, 'h.db')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/candidates\[0\]\.concurrency/);
    expect(res.stderr).toMatch(/repeats/);
    expect(res.stderr).not.toMatch(/ {4}at /); // no stack trace for an expected error
  });

  it('a missing API key names the environment variable and exits 2', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'run.yaml');
    writeFileSync(cfg, `dataset: ${sampleSlice(dir, 2)}\ncandidates:\n  - { id: a, model: gpt-5.4-mini }\n`);
    const res = await runCli(['run', cfg, '--db', join(dir, 'h.db')], { env: {} });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/environment variable OPENAI_API_KEY is not set/);
  });

  it('a malformed dataset line names the file and the line, and nothing is stored', async () => {
    const dir = tempDir();
    const data = join(dir, 'bad.jsonl');
    writeFileSync(
      data,
      '{"id":"a","request":{"messages":[{"role":"user","content":"hi"}]}}\n\n{"id":"b","request":{}}\n{"id": \n',
    );
    const cfg = join(dir, 'run.yaml');
    writeFileSync(
      cfg,
      `dataset: bad.jsonl\ncandidates:\n  - { id: a, model: sim-mini, base_url: simulator, price: { input: 1, cached_input: 0.1, output: 2 } }\n`,
    );
    const res = await runCli(['run', cfg, '--db', join(dir, 'h.db')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${data}:3: not a holdout record: request: request needs`);
    expect(res.stderr).toContain(`${data}:4: invalid JSON`);
    const d = new Database(join(dir, 'h.db'), { readonly: true });
    expect(d.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(0);
    d.close();
  });

  it('report: the latest run by default, in each format; an unknown run exits 2', async () => {
    const dir = tempDir();
    const db = join(dir, 'h.db');
    const cfg = join(dir, 'run.yaml');
    writeFileSync(
      cfg,
      [
        `dataset: ${sampleSlice(dir, 6)}`,
        `simulator: { answer_key: ${join(packageRoot(), 'datasets/sample/answer-key.json')} }`,
        'candidates:',
        '  - { id: m, model: sim-mini, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
        'scorers: [{ kind: label, match: { task: classify } }]',
      ].join('\n'),
    );
    expect((await runCli(['run', cfg, '--db', db])).code).toBe(0);
    const json = await runCli(['report', '--db', db, '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.run.id).toBe(1);
    expect(report.candidates[0].calls).toBe(6);
    const md = await runCli(['report', '1', '--db', db, '--format', 'md']);
    expect(md.stdout).toMatch(/^\|.*candidate.*\|/m);
    const csv = await runCli(['report', '1', '--db', db, '--format', 'csv']);
    expect(csv.stdout.split('\n').filter((l) => l.startsWith('1,default,m,sim-mini,')).length).toBe(1);
    const missing = await runCli(['report', '7', '--db', db]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/run 7 is not in this database/);
  });

  it('usage errors exit 2 with a pointer to --help', async () => {
    const res = await runCli(['run', '--resume', '1', '--new']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/resume and new are mutually exclusive/);
    expect(res.stderr).toMatch(/holdout --help/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown argument: frobnicate/);
  });

  it('the installed bin starts from compiled JavaScript and reports from a database', async () => {
    const dir = tempDir();
    const bin = join(packageRoot(), 'bin/holdout.js');
    const { stdout } = await exec(process.execPath, [bin, '--help']);
    expect(stdout).toMatch(/holdout <command>/);
    await expect(
      exec(process.execPath, [bin, 'report', '--db', join(dir, 'empty.db')]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/no database at .*empty\.db/),
    });
  });
});
