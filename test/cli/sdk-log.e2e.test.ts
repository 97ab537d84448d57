/**
 * The openai SDK's own logging goes through holdout: a malformed SSE body makes the SDK log its raw
 * data ("Could not parse message into JSON", "From chunk") on every attempt; through the real bin
 * none of it reaches stderr, and the failure is recorded once, on the call's row.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, queryDb, sampleSlice, tempDir } from '../support/cli.js';
import { startHoldout } from './child.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 },
      'sim-broken': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 },
    },
    // Every streamed answer of candidate `bad` (sim-broken) is one SSE event whose data is not JSON.
    faults: [{ kind: 'malformed', model: 'sim-broken' }],
  });
});
afterAll(() => sim.close());

function config(dir: string, api: 'chat' | 'responses'): string {
  const path = join(dir, `run-${api}.yaml`);
  const price = 'price: { input: 1, cached_input: 0.1, output: 2 }';
  writeFileSync(
    path,
    [
      `suite: sdk-log-${api}`,
      `dataset: ${sampleSlice(dir, 12)}`,
      'concurrency: 4',
      'max_retries: 1',
      'stream: true',
      'candidates:',
      `  - { id: good, model: sim-fast, api: ${api}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ${price} }`,
      `  - { id: bad, model: sim-broken, api: ${api}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ${price} }`,
      'scorers:',
      '  - { kind: label, match: { task: classify } }',
    ].join('\n'),
  );
  return path;
}

describe('the SDK logs nothing raw to stderr', () => {
  it.each(['chat', 'responses'] as const)(
    'a malformed %s stream: no SDK lines on stderr, one error row per call',
    async (api) => {
      const dir = tempDir();
      const db = join(dir, 'h.db');
      const child = startHoldout(['run', config(dir, api), '--db', db], ENV);
      const code = await child.exited;
      expect(code, child.stderr).toBe(0);
      expect(child.stderr).not.toMatch(/Could not parse message|From chunk|holdout-sim malformed body/);
      expect(child.stderr).not.toMatch(/openai (error|warn|info|debug):/);
      // The failure is the call's row, once: 12 records, each tried twice, one row each.
      const rows = queryDb<{ status: string; error_kind: string | null; attempts: number; n: number }>(
        db,
        `SELECT status, error_kind, attempts, count(*) AS n FROM calls
         WHERE candidate = 'bad' GROUP BY status, error_kind, attempts`,
      );
      expect(rows).toEqual([{ status: 'error', error_kind: 'malformed_response', attempts: 2, n: 12 }]);
      const good = queryDb<{ n: number }>(
        db,
        `SELECT count(*) AS n FROM calls WHERE candidate = 'good' AND status = 'ok'`,
      );
      expect(good[0]!.n).toBe(12);
    },
  );

  it('OPENAI_LOG=error asks for the SDK lines: one escaped line each, prefixed, never the raw chunk', async () => {
    const dir = tempDir();
    const db = join(dir, 'h.db');
    const child = startHoldout(['run', config(dir, 'chat'), '--db', db], { ...ENV, OPENAI_LOG: 'error' });
    expect(await child.exited, child.stderr).toBe(0);
    const lines = child.stderr.split('\n').filter((l) => l.includes('Could not parse message'));
    // 12 calls × 2 attempts; "From chunk" is a line of its own, prefixed the same way.
    expect(lines).toHaveLength(24);
    for (const l of lines) expect(l).toMatch(/^openai error: Could not parse message into JSON: /);
    expect(child.stderr).not.toMatch(/^From chunk/m);
  });
});
