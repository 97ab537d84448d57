/**
 * A run checks its config before it creates anything (keys, scorers), and keeps credentials written
 * into a base_url out of the database.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({ answerKey: loadAnswerKey(answerKeyPath()) });
});
afterAll(async () => {
  await sim.close();
});

function write(dir: string, lines: string[]): string {
  const path = join(dir, 'run.yaml');
  writeFileSync(path, lines.join('\n'));
  return path;
}

const price = 'price: { input: 0.75, cached_input: 0.075, output: 4.5 }';

describe('pre-run checks', () => {
  it('lists every problem in one message, exit 2, and creates no run', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'bad-factory.mjs'),
      'export default () => { throw new Error("no model file"); };\n',
    );
    const cfg = write(dir, [
      `dataset: ${sampleSlice(dir, 5)}`,
      'candidates:',
      `  - { id: a, model: sim-mini, base_url: "${sim.url}", api_key_env: HOLDOUT_NO_SUCH_KEY, ${price} }`,
      'judges:',
      `  - { id: j, model: sim-judge, base_url: "${sim.url}", api_key_env: HOLDOUT_NO_JUDGE_KEY, ${price} }`,
      'scorers:',
      '  - { kind: regex, any_of: ["(unclosed"] }',
      '  - { kind: module, path: bad-factory.mjs }',
    ]);
    const db = join(dir, 'h.db');
    const res = await runCli(['run', cfg, '--db', db], { env: {} });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain('the config has 4 problems');
    expect(res.stderr).toMatch(/candidates\[0\] "a": environment variable HOLDOUT_NO_SUCH_KEY is not set/);
    expect(res.stderr).toMatch(/judges\[0\] "j": environment variable HOLDOUT_NO_JUDGE_KEY is not set/);
    expect(res.stderr).toMatch(/scorers\[0\] \(regex "regex"\)/);
    expect(res.stderr).toMatch(/scorers\[1\] \(module "module"\): .*factory "default" threw: no model file/);
    expect(res.stderr).not.toMatch(/ {4}at /);
    expect(queryDb(db, 'SELECT id FROM runs')).toEqual([]);
  });

  it('a missing key alone is PROVIDER_AUTH, exit 2, no run', async () => {
    const dir = tempDir();
    const cfg = write(dir, [
      `dataset: ${sampleSlice(dir, 5)}`,
      'candidates:',
      `  - { id: a, model: sim-mini, base_url: "${sim.url}", api_key_env: HOLDOUT_NO_SUCH_KEY, ${price} }`,
    ]);
    const db = join(dir, 'h.db');
    const res = await runCli(['run', cfg, '--db', db], { env: {} });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /^holdout: candidates\[0\] "a": environment variable HOLDOUT_NO_SUCH_KEY is not set$/m,
    );
    expect(queryDb(db, 'SELECT id FROM runs')).toEqual([]);
  });
});

describe('credentials in a base_url', () => {
  it('are not stored; resuming such a run asks for its config file', async () => {
    const dir = tempDir();
    const cfg = write(dir, [
      `dataset: ${sampleSlice(dir, 3)}`,
      'max_retries: 0',
      'candidates:',
      // Nothing listens on port 9: every call fails fast, and the candidate stops.
      `  - { id: a, model: gpt-5.4-mini, base_url: "http://user:s3cret-pass@127.0.0.1:9/v1", api_key_env: K }`,
    ]);
    const db = join(dir, 'h.db');
    await runCli(['run', cfg, '--db', db], { env: { K: 'test-key-not-secret' } });
    const [run] = queryDb<{ config_json: string }>(db, 'SELECT config_json FROM runs');
    expect(run!.config_json).not.toContain('s3cret-pass');
    expect(run!.config_json).not.toContain('user:');
    expect(JSON.parse(run!.config_json).credentials_removed).toBe(true);
    const candidates = queryDb<{ base_url: string }>(db, 'SELECT base_url FROM candidates');
    expect(candidates).toEqual([{ base_url: 'http://127.0.0.1:9/v1' }]);

    const bare = await runCli(['run', '--resume', '1', '--db', db], { env: { K: 'test-key-not-secret' } });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/had credentials in a base_url.*\nhint: resume it with its config file/);
  });
});
