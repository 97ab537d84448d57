import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDataset, readRecords } from '../../datasets/jsonl.js';
import { loadConfig } from '../../harness/config.js';
import { configHash } from '../../harness/run/start.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { type NewRecord, Store } from '../../results/store/store.js';
import { packageRoot } from '../../harness/paths.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast': { latencyMs: { median: 20 }, ttftMs: 5, accuracy: 0.9 },
      'sim-fast-b': { latencyMs: { median: 20 }, ttftMs: 5, accuracy: 0.8, reasoningTokens: 16 },
      'sim-instant': { latencyMs: { median: 0 }, ttftMs: 0, accuracy: 0.9 },
    },
  });
});

/**
 * Waits until the simulator has taken in every request a finished (or aborted) client sent: an
 * aborted request's bytes may still sit in the simulator's socket when the client's run returns,
 * and the simulator counts it a few turns of the event loop later. Quiet = no request in flight and
 * the count unchanged over several turns.
 */
async function simSettled(): Promise<number> {
  let last = -1;
  let quiet = 0;
  while (quiet < 5) {
    await new Promise((r) => setTimeout(r, 10));
    const s = sim.stats();
    quiet = s.requests === last && s.inFlight === 0 ? quiet + 1 : 0;
    last = s.requests;
  }
  return last;
}
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
    const kept = rows(db);
    const done = kept.length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(60);
    // A request the first run sent just before Ctrl-C (and then abandoned) can reach the simulator
    // after runCli returned: count from when the simulator has taken in all of the first run's.
    const before = await simSettled();
    const second = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/resuming unfinished run 1/);
    const after = await simSettled();
    expect(after - before).toBe(60 - done);
    const all = rows(db);
    expect(all).toHaveLength(60);
    expect(new Set(all.map((r) => `${r.record_id}/${r.candidate}/${r.repeat}`)).size).toBe(60);
    expect(new Set(all.map((r) => r.run_id))).toEqual(new Set([1]));
    // The first run's rows are untouched, and every request the second run sent made a new row.
    expect(all.slice(0, done)).toEqual(kept);
    expect(all.slice(done).every((r) => r.attempts === 1)).toBe(true);
  });

  it('a run stopped while its records were being stored stores the rest on resume, then does all the work', async () => {
    const dir = tempDir();
    // 1,200 records: more than one transaction of 1,000, like a large dataset cut short.
    const sample = readFileSync(join(packageRoot(), 'datasets/sample/records.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const lines: string[] = [];
    for (let i = 0; lines.length < 1200; i++) {
      const rec = JSON.parse(sample[i % sample.length]!);
      rec.id = `${rec.id}-${i}`;
      lines.push(JSON.stringify(rec));
    }
    const dataset = join(dir, 'records.jsonl');
    writeFileSync(dataset, `${lines.join('\n')}\n`);
    const cfg = writeConfig(dir, {
      dataset,
      concurrency: 64,
      stream: false,
      candidates: [{ id: 'a', model: 'sim-instant' }],
    });
    const db = join(dir, 'h.db');
    // What `holdout run` leaves when killed after its first transaction of records: the run row and
    // 1,000 of its 1,200 records (the same calls as harness/run/start.ts openRun).
    const config = loadConfig(cfg);
    const check = await checkDataset(dataset);
    const store = new Store(db);
    const runId = store.createRun(
      {
        suite: config.suite,
        configPath: cfg,
        configJson: JSON.stringify(config),
        configHash: configHash(config, check.hash),
        datasetPath: config.dataset,
        datasetHash: check.hash,
        recordCount: check.count,
        repeats: config.repeats,
        scorersJson: JSON.stringify(config.scorers),
        createdAt: new Date().toISOString(),
      },
      config.candidates.map((c) => ({
        candidate: c.id,
        model: c.model,
        api: c.api,
        baseUrl: c.base_url,
        paramsJson: JSON.stringify(c.params),
        priceJson: JSON.stringify(c.price.standard),
      })),
    );
    const first: NewRecord[] = [];
    for await (const { record, json } of readRecords(dataset)) {
      if (first.length === 1000) break;
      first.push({ id: record.id, api: record.api, tags: record.tags, json });
    }
    store.insertRecords(runId, first, 0);
    store.close();

    sim.reset();
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(res.stderr).toMatch(/run 1 has 1000 of its 1200 records stored .*storing the rest/);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resuming unfinished run 1/);
    expect(await simSettled()).toBe(1200);
    const got = queryDb<{ n: number; items: number }>(
      db,
      'SELECT count(*) AS n, count(DISTINCT record_id) AS items FROM calls',
    )[0]!;
    expect(got).toEqual({ n: 1200, items: 1200 });
    const recs = queryDb<{ n: number; seqs: number; top: number }>(
      db,
      'SELECT count(*) AS n, count(DISTINCT seq) AS seqs, max(seq) AS top FROM records',
    )[0]!;
    expect(recs).toEqual({ n: 1200, seqs: 1200, top: 1199 });

    // A dataset changed since the run started cannot complete it: said so, nothing called.
    const store2 = new Store(db);
    store2.db.exec(`DELETE FROM scores; DELETE FROM calls; DELETE FROM records WHERE seq >= 1000;
      UPDATE runs SET status = 'interrupted', finished_at = NULL`);
    store2.close();
    writeFileSync(dataset, `${lines.slice(0, 1100).join('\n')}\n`);
    const changed = await runCli(['run', '--resume', '1', '--db', db], { env: ENV });
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(
      /run 1 has 1000 of its 1200 records stored, and its dataset .* has changed/,
    );
    expect(queryDb(db, 'SELECT * FROM calls')).toHaveLength(0);
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
