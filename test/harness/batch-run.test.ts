import { Writable } from 'node:stream';
import OpenAI, { toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  awaitBatches,
  type BatchCandidatePlan,
  type BatchDeps,
  type BatchPlan,
  submitBatches,
} from '../../harness/batch/index.js';
import { type SimServer, startSimulator } from '../../harness/sim/index.js';
import type { Store } from '../../results/store/store.js';
import { fakeClock, memoryStoreWithRun } from '../support/fakes.js';

const PRICE = { standard: { input: 1, cached_input: 0.5, output: 2 }, source: 'config' };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    profiles: { 'sim-x': { latencyMs: { median: 0 }, ttftMs: 0, accuracy: 1 } },
    batchDelayMs: 0,
  });
});
afterAll(() => sim.close());
afterEach(() => sim.setBatchOptions({ delayMs: 0, expireAfter: undefined }));

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Seven records whose ids, and so whose batch lines, all have the same length. */
const IDS = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'];

function setup(over: Partial<BatchPlan> = {}, cand: Partial<BatchCandidatePlan> = {}) {
  const { store, runId } = memoryStoreWithRun(IDS.map((id) => ({ id, content: `question ${id}` })));
  const client = new OpenAI({ baseURL: sim.url, apiKey: 'test', maxRetries: 0 });
  const plan: BatchPlan = {
    runId,
    candidates: [
      { id: 'c', model: 'sim-x', api: 'chat', params: {}, price: PRICE, client, ephemeral: false, ...cand },
    ],
    repeats: 1,
    retryErrors: false,
    pollMs: 5,
    maxRetries: 1,
    transferTimeoutMs: 10_000,
    ...over,
  };
  const stderr = new Capture();
  const deps: BatchDeps = { store, scorers: [], clock: fakeClock(), stderr };
  return { store, runId, plan, deps, stderr, client };
}

const rows = (store: Store, runId: number) =>
  store.db.prepare('SELECT record_id, repeat, status FROM calls WHERE run_id = ? ORDER BY id').all(runId) as {
    record_id: string;
    repeat: number;
    status: string;
  }[];

async function inputLines(client: OpenAI, fileId: string): Promise<string[]> {
  return (await (await client.files.content(fileId)).text()).split('\n').filter((l) => l !== '');
}

describe('submitting batches', () => {
  it('splits the work at the request limit and writes every result', async () => {
    const { store, runId, plan, deps } = setup({ limits: { maxRequests: 3, maxBytes: 1e9 }, repeats: 2 });
    const before = sim.batchStats().batchesCreated;
    const sub = await submitBatches(plan, deps);
    // 7 records × 2 repeats = 14 requests in files of at most 3: 5 batches (3+3+3+3+2).
    expect(sub).toMatchObject({ aborted: false, batches: 5, requests: 14, stopped: {} });
    expect(sim.batchStats().batchesCreated - before).toBe(5);
    const stored = store.runBatches(runId);
    expect(stored.map((b) => b.request_count)).toEqual([3, 3, 3, 3, 2]);
    const covered = stored.flatMap((b) => JSON.parse(b.custom_ids_json) as string[]);
    expect(new Set(covered).size).toBe(14);
    // Dataset order, the repeats of a record together.
    expect(covered.slice(0, 4)).toEqual(['r1#0', 'r1#1', 'r2#0', 'r2#1']);

    const got = await awaitBatches(plan, deps);
    expect(got).toMatchObject({ aborted: false, rows: 14, errors: 0, missing: 0, open: 0 });
    expect(rows(store, runId)).toHaveLength(14);
    expect(store.runBatches(runId).every((b) => b.collected_at !== null && b.status === 'completed')).toBe(
      true,
    );
  });

  it('splits at the byte limit: no input file over it', async () => {
    const probe = setup({ limits: { maxRequests: 1, maxBytes: 1e9 } });
    await submitBatches(probe.plan, probe.deps);
    // Every line has the same length (same-length ids and questions): measure one as uploaded.
    const line = (await inputLines(probe.client, probe.store.runBatches(probe.runId)[0]!.input_file_id))[0]!;
    const size = Buffer.byteLength(line) + 1;

    const { store, runId, plan, deps, client } = setup({
      limits: { maxRequests: 100, maxBytes: 2 * size + 1 },
    });
    await submitBatches(plan, deps);
    const stored = store.runBatches(runId);
    // Two lines fit in 2·size + 1 bytes, three do not: 7 lines make 4 files (2+2+2+1).
    expect(stored.map((b) => b.request_count)).toEqual([2, 2, 2, 1]);
    for (const b of stored) {
      const file = await client.files.retrieve(b.input_file_id);
      expect(file.bytes).toBeLessThanOrEqual(2 * size + 1);
      expect((await inputLines(client, b.input_file_id)).map((l) => JSON.parse(l).custom_id)).toEqual(
        JSON.parse(b.custom_ids_json),
      );
    }
  });

  it('submits nothing new for work that has a row or is in a running batch', async () => {
    const { store, runId, plan, deps } = setup();
    sim.setBatchOptions({ delayMs: 600_000 });
    await submitBatches(plan, deps);
    const again = await submitBatches(plan, deps);
    expect(again.batches).toBe(0);
    sim.setBatchOptions({ delayMs: 0 });
    await awaitBatches(plan, deps);
    expect(rows(store, runId)).toHaveLength(7);
    expect((await submitBatches(plan, deps)).batches).toBe(0);
  });

  it('adopts a batch created just before a crash (found by its token) and gives up one never created', async () => {
    const { store, runId, plan, deps, stderr, client } = setup();
    // The crash window: the batch exists at the provider, its row has no batch id yet.
    const text = ['r1#0', 'r2#0']
      .map((id) =>
        JSON.stringify({
          custom_id: id,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'sim-x', messages: [{ role: 'user', content: `question ${id.slice(0, 2)}` }] },
        }),
      )
      .join('\n');
    const file = await client.files.create({
      file: await toFile(Buffer.from(text), 'x.jsonl'),
      purpose: 'batch',
    });
    const made = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { holdout_token: 'tok-made' },
    });
    const at = new Date(Date.now() - 1000).toISOString();
    const base = {
      runId,
      candidate: 'c',
      endpoint: '/v1/chat/completions',
      inputFileId: file.id,
      createdAt: at,
    };
    store.insertBatch({ ...base, token: 'tok-made', requestCount: 2, customIds: ['r1#0', 'r2#0'] });
    store.insertBatch({ ...base, token: 'tok-lost', requestCount: 1, customIds: ['r3#0'] });
    const before = sim.batchStats().batchesCreated;

    const sub = await submitBatches(plan, deps);
    expect(stderr.text).toContain(`c: found batch ${made.id}, created just before the last session stopped`);
    // r1 and r2 are in the adopted batch; the five others (r3 included) go in one new batch.
    expect(sub).toMatchObject({ batches: 1, requests: 5 });
    expect(sim.batchStats().batchesCreated - before).toBe(1);
    const [adopted, lost, fresh] = store.runBatches(runId);
    expect(adopted).toMatchObject({ batch_id: made.id, token: 'tok-made' });
    expect(lost).toMatchObject({ status: 'abandoned', batch_id: null });
    expect(lost!.collected_at).not.toBeNull();
    expect(JSON.parse(fresh!.custom_ids_json)).toEqual(['r3#0', 'r4#0', 'r5#0', 'r6#0', 'r7#0']);

    await awaitBatches(plan, deps);
    expect(
      rows(store, runId)
        .map((r) => r.record_id)
        .sort(),
    ).toEqual(IDS);
  });

  it('a batch the endpoint no longer knows: stop on a real endpoint, resubmit with --retry-errors or on the simulator', async () => {
    const gone = (s: ReturnType<typeof setup>) => {
      const id = s.store.insertBatch({
        runId: s.runId,
        candidate: 'c',
        token: `t-${Math.random()}`,
        endpoint: '/v1/chat/completions',
        inputFileId: 'file-x',
        requestCount: 7,
        customIds: IDS.map((r) => `${r}#0`),
        createdAt: new Date().toISOString(),
      });
      s.store.updateBatch(id, { batchId: `batch_gone_${id}_${s.runId}`, status: 'in_progress' });
    };
    const strict = setup();
    gone(strict);
    const before = sim.batchStats().batchesCreated;
    const stopped = await submitBatches(strict.plan, strict.deps);
    expect(stopped.stopped.c).toMatch(/batch batch_gone_\w+ is not found at the endpoint/);
    expect(strict.stderr.text).toMatch(/rerun with --retry-errors/);
    expect(sim.batchStats().batchesCreated).toBe(before);

    for (const s of [setup({ retryErrors: true }), setup({}, { ephemeral: true })]) {
      gone(s);
      const sub = await submitBatches(s.plan, s.deps);
      expect(sub).toMatchObject({ batches: 1, requests: 7, stopped: {} });
      expect(s.store.runBatches(s.runId)[0]).toMatchObject({ status: 'lost' });
      expect(s.stderr.text).toMatch(/is gone \(.*\): its 7 requests are submitted again/);
    }
  });

  it('a create whose answer is lost is not retried blind: the batch it made is found by its token', async () => {
    let lost = 0;
    // The request reaches the simulator (which creates the batch), then the connection "drops".
    const dropping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith('/batches') && init?.method === 'POST' && lost++ === 0) {
        throw new TypeError('fetch failed');
      }
      return res;
    };
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: dropping });
    const { store, runId, plan, deps } = setup({}, { client });
    const before = sim.batchStats().batchesCreated;
    const sub = await submitBatches(plan, deps);
    expect(lost).toBe(1);
    expect(sub).toMatchObject({ batches: 1, requests: 7, stopped: {} });
    expect(sim.batchStats().batchesCreated - before).toBe(1);
    expect(store.runBatches(runId)[0]!.batch_id).toMatch(/^batch_/);
    await awaitBatches(plan, deps);
    expect(rows(store, runId)).toHaveLength(7);
  });

  it('a create refused outright (400) gives the row up and stops the candidate', async () => {
    const refusing: typeof fetch = async (input, init) =>
      String(input).endsWith('/batches') && init?.method === 'POST'
        ? new Response(
            JSON.stringify({ error: { message: 'endpoint not allowed', type: 'invalid_request_error' } }),
            {
              status: 400,
              headers: { 'content-type': 'application/json' },
            },
          )
        : fetch(input, init);
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: refusing });
    const { store, runId, plan, deps, stderr } = setup({}, { client });
    const sub = await submitBatches(plan, deps);
    expect(sub.stopped.c).toMatch(/creating a batch: bad_request: 400 endpoint not allowed/);
    expect(stderr.text).toMatch(/no more batches for c in this session/);
    const [row] = store.runBatches(runId);
    expect(row).toMatchObject({ status: 'abandoned', batch_id: null });
    expect(row!.collected_at).not.toBeNull();
  });

  it('submits no batch once the budget is spent', async () => {
    const { plan, deps } = setup({ budgetUsd: 0.5 });
    const before = sim.batchStats().batchesCreated;
    const sub = await submitBatches(plan, { ...deps, spent: () => 0.5 });
    expect(sub).toMatchObject({ budgetReached: true, batches: 0 });
    expect(sim.batchStats().batchesCreated).toBe(before);
  });
});

describe('awaiting batches', () => {
  it('Ctrl-C stops the waiting, not the batch: it stays stored and uncollected', async () => {
    const { store, runId, plan, deps, stderr } = setup();
    sim.setBatchOptions({ delayMs: 600_000 }); // validating for a minute
    await submitBatches(plan, deps);
    const ac = new AbortController();
    const clock = fakeClock();
    let polls = 0;
    const got = await awaitBatches(plan, {
      ...deps,
      signal: ac.signal,
      clock: {
        ...clock,
        // The second wait is interrupted.
        sleep: async (ms, signal) => {
          if (++polls === 2) ac.abort();
          await clock.sleep(ms, signal);
        },
      },
    });
    expect(got).toMatchObject({ aborted: true, open: 1, rows: 0 });
    expect(stderr.text).toMatch(/still validating at the provider; its id is stored: rerun to collect it/);
    expect(store.runBatches(runId)[0]).toMatchObject({ status: 'validating', collected_at: null });
    // Polls back off: 5 ms (pollMs is below 1 s), then stays at 5.
    expect(clock.slept).toEqual([5]);
  });

  it('a failed batch writes no rows and says why, line by line', async () => {
    const { store, runId, plan, deps, stderr, client } = setup();
    const line = (id: string) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'sim-x' },
      });
    const file = await client.files.create({
      file: await toFile(Buffer.from([line('r1#0'), line('r1#0')].join('\n')), 'bad.jsonl'),
      purpose: 'batch',
    });
    const made = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const id = store.insertBatch({
      runId,
      candidate: 'c',
      token: 'tok-bad',
      endpoint: '/v1/chat/completions',
      inputFileId: file.id,
      requestCount: 2,
      customIds: ['r1#0', 'r2#0'],
      createdAt: new Date().toISOString(),
    });
    store.updateBatch(id, { batchId: made.id, status: made.status });
    const got = await awaitBatches(plan, deps);
    expect(got).toMatchObject({ rows: 0, missing: 2 });
    expect(stderr.text).toMatch(/failed: line 2: duplicate_custom_id/);
    expect(stderr.text).toMatch(/none of its 2 requests ran; the next run submits them again/);
    expect(store.runBatches(runId)[0]).toMatchObject({ status: 'failed' });
    expect(store.runBatches(runId)[0]!.note).toMatch(/duplicate_custom_id/);
    expect(rows(store, runId)).toHaveLength(0);
  });
});
