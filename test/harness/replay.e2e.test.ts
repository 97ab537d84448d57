import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { queryDb, runCli, tempDir } from '../support/cli.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimulator({
    profiles: { ...DEFAULT_PROFILES, 'sim-fast': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 1 } },
  });
});
afterAll(async () => {
  await sim.close();
});

const records = [
  {
    id: 'r1',
    api: 'chat',
    request: { model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'Capital of France?' }] },
    reference: { output: 'Paris' },
    production: {
      latency_ms: 812.5,
      body: {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: 'gpt-5.4-mini-2026-03-17',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Paris' }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 1200,
          completion_tokens: 300,
          total_tokens: 1500,
          prompt_tokens_details: { cached_tokens: 1024 },
          completion_tokens_details: { reasoning_tokens: 128 },
        },
      },
    },
  },
  {
    id: 'r2',
    api: 'responses',
    request: { model: 'gpt-5.4-mini', input: 'Call the weather tool for Oslo' },
    reference: { output: 'x' },
    production: {
      latency_ms: 95,
      body: {
        id: 'resp_2',
        object: 'response',
        model: 'gpt-5.4-mini-2026-03-17',
        status: 'completed',
        output: [{ type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }],
        usage: {
          input_tokens: 5000,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 100,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 5100,
        },
      },
    },
  },
  {
    id: 'r3',
    api: 'chat',
    request: { messages: [{ role: 'user', content: 'no log' }] },
    reference: { output: 'y' },
  },
];

describe('the production response as a candidate (replay: true)', () => {
  it('scores the logged output and prices its logged usage, without calling anything', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'records.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    writeFileSync(
      join(dir, 'run.yaml'),
      [
        'dataset: records.jsonl',
        'candidates:',
        '  - { id: production, model: gpt-5.4-mini, replay: true }',
        `  - { id: sim, model: sim-fast, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, price: { input: 1, cached_input: 1, output: 1 } }`,
        'scorers:',
        '  - { kind: exact }',
      ].join('\n'),
    );
    const before = sim.stats().requests;
    const db = join(dir, 'h.db');
    const out = await runCli(['run', join(dir, 'run.yaml'), '--db', db], { env: { HOLDOUT_TEST_KEY: 'k' } });
    // r3 has no production response: an error row for the replay candidate, so the run is complete
    // but exit code 0 (errors are rows, not a failed run).
    expect(out.code, out.stderr).toBe(0);
    expect(sim.stats().requests - before).toBe(3); // the sim candidate only
    const rows = queryDb(
      db,
      `SELECT record_id, status, output, tool_calls_json, cost_usd, latency_ms, input_tokens, cached_tokens,
         output_tokens, reasoning_tokens, served_model, request_id, error_kind, attempts
       FROM calls WHERE candidate = 'production' ORDER BY record_id`,
    );
    const [score] = queryDb<{ passed: number }>(
      db,
      `SELECT s.passed FROM scores s JOIN calls c ON c.id = s.call_id WHERE c.candidate = 'production' AND c.record_id = 'r1'`,
    );
    // gpt-5.4-mini list price per 1M tokens: input $0.75, cached input $0.075, output $4.50.
    // r1: (1200 − 1024) × 0.75 + 1024 × 0.075 + 300 × 4.5 = 132 + 76.8 + 1350 = 1558.8 µ$ (reasoning is in the 300).
    expect(rows[0]).toMatchObject({
      status: 'ok',
      output: 'Paris',
      latency_ms: 812.5,
      input_tokens: 1200,
      cached_tokens: 1024,
      output_tokens: 300,
      reasoning_tokens: 128,
      served_model: 'gpt-5.4-mini-2026-03-17',
      request_id: 'chatcmpl-1',
      attempts: 0,
    });
    expect(rows[0]!.cost_usd).toBeCloseTo(0.0015588, 12);
    expect(score!.passed).toBe(1);
    // r2 (a Response with a function call): 5000 × 0.75 + 100 × 4.5 = 4200 µ$.
    expect(rows[1]).toMatchObject({
      status: 'ok',
      latency_ms: 95,
      tool_calls_json: '[{"name":"weather","arguments":"{\\"city\\":\\"Oslo\\"}"}]',
    });
    expect(rows[1]!.cost_usd).toBeCloseTo(0.0042, 12);
    expect(rows[2]).toMatchObject({ status: 'error', error_kind: 'no_production', cost_usd: null });
  });
});
