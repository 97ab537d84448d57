import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, runCli, sampleSlice, tempDir } from '../support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast': { latencyMs: { median: 20 }, ttftMs: 5, accuracy: 0.9 },
      'sim-fast-b': { latencyMs: { median: 20 }, ttftMs: 5, accuracy: 0.8, reasoningTokens: 16 },
    },
  });
});
afterAll(async () => {
  await sim.close();
});

interface ConfigOpts {
  dataset: string;
  stream?: boolean;
  concurrency?: number;
  candidates: { id: string; model: string; api?: string; concurrency?: number }[];
  maxRetries?: number;
}

function writeConfig(dir: string, o: ConfigOpts): string {
  const lines = [
    'suite: e2e',
    `dataset: ${o.dataset}`,
    `concurrency: ${o.concurrency ?? 8}`,
    `stream: ${o.stream ?? true}`,
    `max_retries: ${o.maxRetries ?? 3}`,
    'timeout_ms: 10000',
    'candidates:',
    ...o.candidates.map(
      (c) =>
        `  - { id: ${c.id}, model: ${c.model}, api: ${c.api ?? 'chat'}, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, ` +
        `price: { input: 0.75, cached_input: 0.075, output: 4.5 }${c.concurrency ? `, concurrency: ${c.concurrency}` : ''} }`,
    ),
    'scorers:',
    '  - { kind: label, match: { task: classify } }',
    '  - { kind: json, match: { task: extract }, equals_reference: true }',
    '  - { kind: normalized, match: { task: reformat } }',
  ];
  const path = join(dir, 'run.yaml');
  writeFileSync(path, lines.join('\n'));
  return path;
}

type Row = Record<string, unknown>;
const rows = (db: string): Row[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT * FROM calls ORDER BY id').all() as Row[];
  } finally {
    d.close();
  }
};

describe('holdout run against the simulator over loopback, through the real SDK', () => {
  for (const stream of [true, false]) {
    it(`chat and Responses, ${stream ? 'streaming' : 'not streaming'}: rows match what the simulator served`, async () => {
      const dir = tempDir();
      // Classify records share a long system prompt, so later calls get cached tokens.
      const dataset = sampleSlice(dir, 12);
      const cfg = writeConfig(dir, {
        dataset,
        stream,
        concurrency: 1, // sequential, so the prefix cache is deterministic
        candidates: [
          { id: 'chat', model: 'sim-fast', api: 'chat' },
          { id: 'resp', model: 'sim-fast-b', api: 'responses' },
        ],
      });
      const db = join(dir, 'h.db');
      const res = await runCli(['run', cfg, '--db', db], { env: ENV });
      expect(res.stderr).not.toMatch(/unexpected error/);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/SIMULATED/);
      const calls = rows(db);
      expect(calls).toHaveLength(24);
      let cachedSeen = 0;
      for (const row of calls) {
        expect(row.status).toBe('ok');
        const served = sim.findCall(row.request_id as string);
        expect(served, `sim log for ${row.request_id}`).toBeDefined();
        expect(served!.stream).toBe(stream);
        expect(served!.endpoint).toBe(row.candidate === 'chat' ? 'chat' : 'responses');
        expect(row.input_tokens).toBe(served!.inputTokens);
        expect(row.cached_tokens).toBe(served!.cachedTokens);
        expect(row.output_tokens).toBe(served!.outputTokens);
        expect(row.reasoning_tokens).toBe(served!.reasoningTokens);
        expect(row.served_model).toBe(served!.servedModel);
        expect(row.output).toBe(served!.output);
        expect(row.simulated).toBe(1);
        expect(row.ttft_ms === null).toBe(!stream);
        expect(row.server_ms).toEqual(expect.any(Number));
        const cost =
          (((row.input_tokens as number) - (row.cached_tokens as number)) * 0.75 +
            (row.cached_tokens as number) * 0.075 +
            (row.output_tokens as number) * 4.5) /
          1e6;
        expect(row.cost_usd as number).toBeCloseTo(cost, 12);
        if ((row.cached_tokens as number) > 0) cachedSeen++;
      }
      expect(calls.filter((r) => r.candidate === 'resp').every((r) => r.reasoning_tokens === 16)).toBe(true);
      expect(cachedSeen).toBeGreaterThan(0);
    });
  }

  it('retries a 429 with retry-after-ms: 200 after at least 200 ms, 2 attempts, the wait not in the latency', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 1),
      candidates: [{ id: 'a', model: 'sim-fast' }],
    });
    sim.setFaults([{ kind: 'rate_limit', model: 'sim-fast', count: 1, retryAfterMs: 200 }]);
    const before = sim.stats().requests;
    const started = performance.now();
    try {
      const res = await runCli(['run', cfg, '--db', join(dir, 'h.db')], { env: ENV });
      expect(res.code).toBe(0);
    } finally {
      sim.setFaults([]);
    }
    const elapsed = performance.now() - started;
    const [row] = rows(join(dir, 'h.db'));
    expect(sim.stats().requests - before).toBe(2);
    expect(row).toMatchObject({ status: 'ok', attempts: 2 });
    expect(row!.backoff_ms as number).toBeGreaterThanOrEqual(200);
    expect(row!.latency_ms as number).toBeLessThan(150); // one 20 ms call, not 200 ms of waiting
    expect(elapsed).toBeGreaterThanOrEqual(200);
  });

  it('never has more calls in flight than the total or the per-candidate limit (measured at the simulator)', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 40),
      concurrency: 6,
      candidates: [
        { id: 'a', model: 'sim-fast', concurrency: 2 },
        { id: 'b', model: 'sim-fast-b', concurrency: 5 },
      ],
    });
    sim.reset();
    const res = await runCli(['run', cfg, '--db', join(dir, 'h.db')], { env: ENV });
    expect(res.code).toBe(0);
    const s = sim.stats();
    expect(s.requests).toBe(80);
    expect(s.maxInFlight).toBe(6);
    expect(s.maxInFlightByModel['sim-fast']).toBe(2);
    expect(s.maxInFlightByModel['sim-fast-b']).toBeLessThanOrEqual(5);
    expect(s.maxInFlightByModel['sim-fast-b']).toBeGreaterThanOrEqual(4);
  });

  it('an aborted run resumes with exactly one row per work item and no second request for a finished item', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 30),
      concurrency: 4,
      candidates: [
        { id: 'a', model: 'sim-fast' },
        { id: 'b', model: 'sim-fast-b' },
      ],
    });
    const db = join(dir, 'h.db');
    sim.reset();
    const ac = new AbortController();
    const poll = setInterval(() => {
      if (sim.stats().requests >= 24) ac.abort();
    }, 2);
    const first = await runCli(['run', cfg, '--db', db], { env: ENV, signal: ac.signal });
    clearInterval(poll);
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/resume with: holdout run --resume 1/);
    const done = rows(db).length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(60);

    const before = sim.stats().requests;
    const second = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/resuming unfinished run 1/);
    expect(sim.stats().requests - before).toBe(60 - done);
    const all = rows(db);
    expect(all).toHaveLength(60);
    expect(new Set(all.map((r) => `${r.record_id}/${r.candidate}/${r.repeat}`)).size).toBe(60);
    expect(new Set(all.map((r) => r.run_id))).toEqual(new Set([1]));
  });

  it('an unknown model stops its candidate at once; nothing is recorded, so a rerun redoes that work', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 3),
      candidates: [{ id: 'a', model: 'no-such-model' }],
    });
    const res = await runCli(['run', cfg, '--db', join(dir, 'h.db')], { env: ENV });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/candidate a stopped early: not_found/);
    expect(rows(join(dir, 'h.db'))).toHaveLength(0);
  });

  it('retries a truncated stream and a connection reset, recording the attempts', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 2),
      concurrency: 1,
      candidates: [{ id: 'a', model: 'sim-fast' }],
    });
    sim.setFaults([
      { kind: 'truncate', model: 'sim-fast', count: 1 },
      { kind: 'reset', model: 'sim-fast', count: 1 },
    ]);
    try {
      expect((await runCli(['run', cfg, '--db', join(dir, 'h.db')], { env: ENV })).code).toBe(0);
    } finally {
      sim.setFaults([]);
    }
    const calls = rows(join(dir, 'h.db'));
    expect(calls.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(calls.reduce((n, r) => n + (r.attempts as number), 0)).toBe(4);
  });

  it('the API key never reaches the database, the output or the report', async () => {
    const dir = tempDir();
    const secret = 'sk-proj-THIS-IS-A-SECRET-4242';
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 3),
      candidates: [{ id: 'a', model: 'sim-fast' }],
    });
    const db = join(dir, 'h.db');
    const run = await runCli(['run', cfg, '--db', db], { env: { HOLDOUT_TEST_KEY: secret } });
    const report = await runCli(['report', '--db', db, '--format', 'json']);
    expect(run.code).toBe(0);
    for (const text of [run.stdout, run.stderr, report.stdout]) expect(text).not.toContain(secret);
    for (const f of readdirSync(dir).filter((n) => n.startsWith('h.db'))) {
      expect(readFileSync(join(dir, f)).includes(secret), f).toBe(false);
    }
  });

  it('--resume N with a changed config is refused, naming the run', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 2),
      candidates: [{ id: 'a', model: 'sim-fast' }],
    });
    const db = join(dir, 'h.db');
    expect((await runCli(['run', cfg, '--db', db], { env: ENV })).code).toBe(0);
    writeConfig(dir, { dataset: sampleSlice(dir, 2), candidates: [{ id: 'a', model: 'sim-fast-b' }] });
    const res = await runCli(['run', cfg, '--resume', '1', '--db', db], { env: ENV });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/run 1 was made from a different config or dataset/);
  });
});
