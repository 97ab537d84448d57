import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyError, openaiProvider } from '../../harness/providers/openai.js';
import { resolvePrice } from '../../harness/providers/pricing.js';
import { type CandidatePlan, runEval } from '../../harness/run/runner.js';
import { type SimServer, startSimulator } from '../../harness/sim/index.js';
import { fakeClock, memoryStoreWithRun } from '../support/fakes.js';
import { client, INSTANT, userTurn } from './helpers.js';

let sim: SimServer;
let openai: OpenAI;
beforeAll(async () => {
  sim = await startSimulator({
    profiles: { 'sim-x': INSTANT, 'sim-w': { ...INSTANT, cacheWrites: true } },
  });
  openai = client(sim);
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.setFaults([]);
  sim.reset();
});

/** Iterates a stream to its end; what it throws. */
async function drain(stream: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _ of stream) {
      // read on
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('the stream_error fault: an error inside a 200 stream, as the API sends it', () => {
  it('Chat: a chunk that is {"error": …}; the SDK throws an APIError with no status and the code', async () => {
    sim.setFaults([{ kind: 'stream_error', code: 'insufficient_quota', model: 'sim-x' }]);
    const stream = await openai.chat.completions.create({
      model: 'sim-x',
      messages: userTurn('hi there, how are you today'),
      stream: true,
    });
    const err = await drain(stream);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: undefined, code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(classifyError(err)).toMatchObject({ kind: 'insufficient_quota', retry: false });
  });

  it('Responses: an `error` event (details nested) then response.failed with the code', async () => {
    sim.setFaults([{ kind: 'stream_error', code: 'rate_limit_exceeded', model: 'sim-x', afterDeltas: 2 }]);
    const res = await fetch(`${sim.url}/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim-x',
        input: 'one two three four five six seven eight',
        stream: true,
      }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text())
      .split('\n\n')
      .filter((b) => b.startsWith('event: '))
      .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)) as Record<string, unknown>);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(2);
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(events.at(-2)).toMatchObject({ error: { code: 'rate_limit_exceeded', type: 'requests' } });
    expect(events.at(-1)).toMatchObject({
      response: { status: 'failed', error: { code: 'rate_limit_exceeded' } },
    });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });

  it('answers a non-streamed request with the same error over HTTP', async () => {
    sim.setFaults([{ kind: 'stream_error', code: 'insufficient_quota' }]);
    const err = await openai.chat.completions
      .create({ model: 'sim-x', messages: userTurn('hi') })
      .catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: 'insufficient_quota' });
  });
});

describe('through the runner and the real SDK', () => {
  const plan = (runId: number, c: CandidatePlan) => ({
    runId,
    candidates: [c],
    repeats: 1,
    concurrency: 2,
    maxRetries: 3,
    timeoutMs: 5_000,
    stream: true,
    retryErrors: false,
  });
  const candidate = (api: 'chat' | 'responses', model = 'sim-x'): CandidatePlan => ({
    id: 'c',
    model,
    api,
    params: {},
    concurrency: 2,
    price: resolvePrice('sim', { input: 1, cached_input: 0.5, output: 2 })!,
    provider: openaiProvider(client(sim), { api, clock: fakeClock() }),
  });

  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: an in-stream insufficient_quota stops the candidate at once, nothing stored`, async () => {
      sim.setFaults([{ kind: 'stream_error', code: 'insufficient_quota' }]);
      const { store, runId } = memoryStoreWithRun([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
      const s = await runEval(plan(runId, candidate(api)), { store, scorers: [], clock: fakeClock() });
      expect(s.stopped.c).toMatch(/^insufficient_quota/);
      expect(store.db.prepare('SELECT count(*) FROM calls').pluck().get()).toBe(0);
      // Not retried 3× per record: at most the calls that were in flight together.
      expect(sim.stats().requests).toBeLessThanOrEqual(2);
    });

    it(`${api}: an in-stream rate_limit_exceeded is a rate limit, retried`, async () => {
      sim.setFaults([{ kind: 'stream_error', code: 'rate_limit_exceeded', count: 1 }]);
      const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
      await runEval(plan(runId, candidate(api)), { store, scorers: [], clock: fakeClock() });
      const row = store.db.prepare('SELECT status, attempts FROM calls').get();
      expect(row).toEqual({ status: 'ok', attempts: 2 });
    });
  }

  it('responses: an unknown model is a 400 model_not_found, and stops the candidate', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const s = await runEval(plan(runId, candidate('responses', 'gpt-nope')), {
      store,
      scorers: [],
      clock: fakeClock(),
    });
    expect(s.stopped.c).toMatch(/^not_found: 400 The requested model 'gpt-nope' does not exist/);
    expect(store.db.prepare('SELECT count(*) FROM calls').pluck().get()).toBe(0);
  });

  it('a request too large for the TPM limit gets one attempt and its own error kind', async () => {
    sim.setFaults([{ kind: 'request_too_large' }]);
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    await runEval(plan(runId, candidate('chat')), { store, scorers: [], clock: fakeClock() });
    const row = store.db.prepare('SELECT status, attempts, error_kind, http_status FROM calls').get();
    expect(row).toEqual({ status: 'error', attempts: 1, error_kind: 'request_too_large', http_status: 429 });
  });

  it('a profile with cacheWrites reports cache_write_tokens, and they are stored', async () => {
    const long = 'lorem ipsum dolor sit amet '.repeat(900);
    const { store, runId } = memoryStoreWithRun([
      { id: 'a', content: long },
      { id: 'b', content: long },
    ]);
    const c = { ...candidate('responses', 'sim-w'), concurrency: 1 };
    await runEval({ ...plan(runId, c), concurrency: 1 }, { store, scorers: [], clock: fakeClock() });
    const rows = store.db
      .prepare(
        'SELECT record_id, input_tokens, cached_tokens, cache_write_tokens FROM calls ORDER BY record_id',
      )
      .all() as { input_tokens: number; cached_tokens: number; cache_write_tokens: number }[];
    // The first prompt writes its 128-token blocks; the same prompt again reads them and writes none.
    expect(rows[0]!.cache_write_tokens).toBeGreaterThan(1024);
    expect(rows[0]!.cached_tokens).toBe(0);
    expect(rows[1]!.cached_tokens).toBe(rows[0]!.cache_write_tokens);
    expect(rows[1]!.cache_write_tokens).toBe(0);
  });
});
