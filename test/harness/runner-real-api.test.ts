import { createServer } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { openaiProvider } from '../../harness/providers/openai.js';
import { resolvePrice } from '../../harness/providers/pricing.js';
import { MAX_CONSECUTIVE_CONNECTION_FAILURES } from '../../harness/run/attempt.js';
import { type CandidatePlan, runEval } from '../../harness/run/runner.js';
import { Store } from '../../results/store/store.js';
import { completion, fakeClock, memoryStoreWithRun, scriptedProvider } from '../support/fakes.js';

function plan(runId: number, candidates: CandidatePlan[], over: Partial<Parameters<typeof runEval>[0]> = {}) {
  return {
    runId,
    candidates,
    repeats: 1,
    concurrency: 4,
    maxRetries: 2,
    timeoutMs: 5_000,
    stream: true,
    retryErrors: false,
    ...over,
  };
}

function candidate(
  id: string,
  provider: CandidatePlan['provider'],
  over: Partial<CandidatePlan> = {},
): CandidatePlan {
  return {
    id,
    model: 'gpt-5.4-mini',
    api: 'chat',
    params: {},
    concurrency: 2,
    price: resolvePrice('gpt-5.4-mini')!,
    provider,
    ...over,
  };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${String(i).padStart(3, '0')}` }));
const refused = () => new OpenAI.APIConnectionError({ message: 'Connection error.' });

describe('a dead endpoint stops its candidate', () => {
  it(`after ${MAX_CONSECUTIVE_CONNECTION_FAILURES} consecutive connection failures and no success, naming the URL; nothing stored`, async () => {
    const { store, runId } = memoryStoreWithRun(ids(200));
    const dead = { ...scriptedProvider([refused]), endpoint: 'http://127.0.0.1:9/v1' };
    const warnings: string[] = [];
    const s = await runEval(plan(runId, [candidate('c', dead)]), {
      store,
      scorers: [],
      clock: fakeClock(),
      reporter: { warn: (m) => warnings.push(m) },
    });
    expect(s.stopped.c).toMatch(
      /^connection: 8 consecutive connection failures to http:\/\/127\.0\.0\.1:9\/v1/,
    );
    expect(warnings.join('\n')).toMatch(
      /c: stopped sending after 8 consecutive connection failures to http:\/\/127\.0\.0\.1:9\/v1/,
    );
    expect(s.complete).toBe(false);
    // No error rows: fixing the URL and rerunning redoes every record.
    expect(store.db.prepare('SELECT count(*) FROM calls').pluck().get()).toBe(0);
    // The calls in flight when it stopped finish; nothing near 200 × 3 attempts.
    expect(dead.calls.length).toBeLessThanOrEqual((MAX_CONSECUTIVE_CONNECTION_FAILURES + 2) * 3);
  });

  it('a flaky start is not a dead endpoint: the failed calls become error rows once a call succeeds', async () => {
    const { store, runId } = memoryStoreWithRun(ids(10));
    const steps = [...Array.from({ length: 3 * 3 }, () => refused), () => completion('ok')];
    const flaky = scriptedProvider(steps);
    const s = await runEval(plan(runId, [candidate('c', flaky, { concurrency: 1 })], { concurrency: 1 }), {
      store,
      scorers: [],
      clock: fakeClock(),
    });
    expect(s.stopped).toEqual({});
    expect(s).toMatchObject({ done: 10, errors: 3, complete: true });
    const kinds = store.db.prepare('SELECT error_kind, count(*) n FROM calls GROUP BY 1 ORDER BY 1').all();
    expect(kinds).toEqual([
      { error_kind: null, n: 7 },
      { error_kind: 'connection', n: 3 },
    ]);
  });

  it('fewer failures than the limit on a short run are stored as errors, as before', async () => {
    const { store, runId } = memoryStoreWithRun(ids(3));
    const s = await runEval(plan(runId, [candidate('c', scriptedProvider([refused]))]), {
      store,
      scorers: [],
      clock: fakeClock(),
    });
    expect(s).toMatchObject({ done: 3, errors: 3, stopped: {} });
  });

  it('through the real SDK: a base_url where nothing listens', async () => {
    // A port that was free a moment ago: connection refused.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}/v1`;
    const client = new OpenAI({ baseURL: url, apiKey: 'k', maxRetries: 0 });
    const provider = openaiProvider(client, { api: 'chat', clock: fakeClock() });
    const { store, runId } = memoryStoreWithRun(ids(100));
    const s = await runEval(plan(runId, [candidate('c', provider)], { maxRetries: 1 }), {
      store,
      scorers: [],
      clock: fakeClock(),
    });
    expect(s.stopped.c).toContain(url);
    expect(store.db.prepare('SELECT count(*) FROM calls').pluck().get()).toBe(0);
  });
});

describe('cache writes are stored and priced', () => {
  it('fills calls.cache_write_tokens and bills the writes', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    const usage = {
      inputTokens: 10_000,
      cachedTokens: 2_000,
      cacheWriteTokens: 6_000,
      outputTokens: 100,
      reasoningTokens: 0,
    };
    const price = resolvePrice('gpt-5.6-sol', { input: 4, cached_input: 0.4, output: 24 })!;
    await runEval(
      plan(runId, [candidate('c', scriptedProvider([() => completion('x', { usage })]), { price })]),
      {
        store,
        scorers: [],
        clock: fakeClock(),
      },
    );
    const row = store.db
      .prepare('SELECT cache_write_tokens, cached_tokens, cost_usd FROM calls')
      .get() as Record<string, number>;
    expect(row.cache_write_tokens).toBe(6_000);
    expect(row.cached_tokens).toBe(2_000);
    // 2,000 × 4 + 2,000 × 0.4 + 6,000 × 5 + 100 × 24 = 41,200 µ$
    expect(row.cost_usd).toBeCloseTo(0.0412, 12);
  });

  it('adds the column to a database made before it, leaving old rows NULL', () => {
    const store = new Store(':memory:');
    const cols = store.db.prepare('PRAGMA table_info(calls)').all() as { name: string }[];
    expect(cols.map((c) => c.name)).toContain('cache_write_tokens');
    store.close();
  });
});

describe('replay prices each logged answer by the model it logged', () => {
  const chat = (model: string, content: string) => ({
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1_000, completion_tokens: 100, total_tokens: 1_100 },
  });

  function storeWithLog(models: string[]) {
    const store = new Store(':memory:');
    const runId = store.createRun(
      {
        suite: 't',
        configJson: '{}',
        configHash: 'h',
        datasetPath: 'mem',
        datasetHash: 'd',
        recordCount: models.length,
        repeats: 1,
        scorersJson: '[]',
        createdAt: '2026-11-25T00:00:00Z',
      },
      [],
    );
    store.insertRecords(
      runId,
      models.map((m, i) => {
        const rec = {
          id: `r${i}`,
          tags: {},
          api: 'chat',
          request: { model: m, messages: [{ role: 'user', content: `q${i}` }] },
          production: { body: chat(m, `a${i}`), latency_ms: 100 },
        };
        return { id: rec.id, api: 'chat', tags: {}, json: JSON.stringify(rec) };
      }),
      0,
    );
    return { store, runId };
  }

  it('a mixed log: gpt-5.5 answers at gpt-5.5 rates, the rest at the candidate price; one warning', async () => {
    const { store, runId } = storeWithLog([
      'gpt-5.4-mini-2026-03-17',
      'gpt-5.5-2026-04-23',
      'gpt-5.4-mini',
      'gpt-5.5',
    ]);
    const warnings: string[] = [];
    const production = candidate('prod', scriptedProvider([() => completion('never')]), { replay: true });
    await runEval(plan(runId, [production]), {
      store,
      scorers: [],
      clock: fakeClock(),
      reporter: { warn: (m) => warnings.push(m) },
    });
    const rows = store.db
      .prepare('SELECT record_id, cost_usd, served_model FROM calls ORDER BY record_id')
      .all() as {
      cost_usd: number;
    }[];
    // gpt-5.4-mini: 1,000 × 0.75 + 100 × 4.5 = 1,200 µ$; gpt-5.5: 1,000 × 5 + 100 × 30 = 8,000 µ$
    expect(rows.map((r) => Math.round(r.cost_usd * 1e6))).toEqual([1200, 8000, 1200, 8000]);
    expect(warnings.filter((w) => /mix models/.test(w))).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /prod: the logged production responses mix models \(gpt-5\.4-mini, gpt-5\.5\)/,
    );
  });

  it('keeps a configured price for answers logged from the candidate model; no warning for one model', async () => {
    const { store, runId } = storeWithLog(['gpt-5.4-mini-2026-03-17', 'gpt-5.4-mini']);
    const warnings: string[] = [];
    const price = resolvePrice('gpt-5.4-mini', { input: 1, cached_input: 1, output: 1 })!;
    await runEval(
      plan(runId, [
        candidate('prod', scriptedProvider([() => completion('never')]), { replay: true, price }),
      ]),
      {
        store,
        scorers: [],
        clock: fakeClock(),
        reporter: { warn: (m) => warnings.push(m) },
      },
    );
    const costs = store.db.prepare('SELECT cost_usd FROM calls').pluck().all() as number[];
    expect(costs.map((c) => Math.round(c * 1e6))).toEqual([1100, 1100]);
    expect(warnings).toEqual([]);
  });
});
