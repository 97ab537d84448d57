import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { resolvePrice } from '../../harness/providers/pricing.js';
import { type CandidatePlan, runEval } from '../../harness/run/runner.js';
import { bindScorer, buildScorers } from '../../scorers/index.js';
import { completion, fakeClock, memoryStoreWithRun, scriptedProvider } from '../support/fakes.js';

const rateLimited = (ms: number) =>
  OpenAI.APIError.generate(
    429,
    { error: { message: 'slow down', code: 'rate_limit_exceeded' } },
    undefined,
    new Headers({ 'retry-after-ms': String(ms) }),
  );

function plan(runId: number, candidates: CandidatePlan[], over: Partial<Parameters<typeof runEval>[0]> = {}) {
  return {
    runId,
    candidates,
    repeats: 1,
    concurrency: 4,
    maxRetries: 3,
    timeoutMs: 5_000,
    stream: true,
    retryErrors: false,
    ...over,
  };
}

function candidate(id: string, provider: CandidatePlan['provider']): CandidatePlan {
  return {
    id,
    model: `${id}-model`,
    api: 'chat',
    params: {},
    concurrency: 2,
    price: resolvePrice('gpt-5.4-mini')!,
    provider,
  };
}

describe('runEval', () => {
  it('commits through the call writer it is given (the store by default), and counts a call done once committed', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const groups: string[][] = [];
    const s = await runEval(plan(runId, [candidate('mini', scriptedProvider([() => completion('x')]))]), {
      store,
      scorers: [],
      clock: fakeClock(),
      callWriter: { recordCalls: (calls) => groups.push(calls.map((f) => f.row.recordId)) },
    });
    expect(s).toMatchObject({ total: 3, done: 3, complete: true });
    expect(groups.flat().sort()).toEqual(['a', 'b', 'c']);
    // Nothing went to the store itself.
    expect(store.db.prepare('SELECT count(*) AS n FROM calls').get()).toEqual({ n: 0 });
  });

  it('writes one row per work item with usage, cost, scores and the served snapshot', async () => {
    const { store, runId } = memoryStoreWithRun([
      { id: 'a', tags: { task: 'classify' }, reference: { label: 'billing' } },
      { id: 'b', tags: { task: 'classify' }, reference: { label: 'bug' } },
    ]);
    const provider = scriptedProvider([
      () =>
        completion('billing', {
          usage: { inputTokens: 10_000, cachedTokens: 8_000, outputTokens: 500, reasoningTokens: 0 },
        }),
    ]);
    const scorers = await buildScorers([{ kind: 'label', match: { task: 'classify' } }] as never, {
      baseDir: '.',
    });
    const s = await runEval(plan(runId, [candidate('mini', provider)]), {
      store,
      scorers,
      clock: fakeClock(),
    });
    expect(s).toMatchObject({ total: 2, done: 2, errors: 0, complete: true, aborted: false });
    const rows = store.db.prepare('SELECT * FROM calls ORDER BY record_id').all() as Record<
      string,
      unknown
    >[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      status: 'ok',
      input_tokens: 10_000,
      cached_tokens: 8_000,
      output_tokens: 500,
      served_model: 'fake-1',
      attempts: 1,
    });
    expect(rows[0]!.cost_usd as number).toBeCloseTo(0.00435, 12);
    const scores = store.db
      .prepare('SELECT c.record_id, s.passed FROM scores s JOIN calls c ON c.id = s.call_id ORDER BY 1')
      .all();
    expect(scores).toEqual([
      { record_id: 'a', passed: 1 },
      { record_id: 'b', passed: 0 },
    ]);
    // the request sent: the record's body with the candidate's model and streaming usage on
    expect(provider.calls[0]).toMatchObject({
      model: 'mini-model',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('retries a 429 after the server hint, keeps the wait out of the latency and counts the attempts', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    const clock = fakeClock();
    const provider = scriptedProvider([() => rateLimited(200), () => completion('ok', { latencyMs: 42 })]);
    await runEval(plan(runId, [candidate('c', provider)]), { store, scorers: [], clock });
    const row = store.db.prepare('SELECT * FROM calls').get() as Record<string, number>;
    expect(clock.slept).toEqual([200]);
    expect(row.attempts).toBe(2);
    expect(row.latency_ms).toBe(42);
    expect(row.backoff_ms).toBeGreaterThanOrEqual(200);
  });

  it('backs off exponentially with jitter when there is no hint, and records an error after the retry limit', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    const clock = fakeClock();
    const provider = scriptedProvider([
      () => OpenAI.APIError.generate(503, { error: { message: 'busy' } }, undefined, new Headers()),
    ]);
    const s = await runEval(plan(runId, [candidate('c', provider)], { maxRetries: 3 }), {
      store,
      scorers: [],
      clock,
      random: () => 1,
    });
    // min(500·2^(n−1), 8000) × (1 − 0.25·1): 375, 750, 1500
    expect(clock.slept).toEqual([375, 750, 1500]);
    expect(provider.calls).toHaveLength(4);
    const row = store.db.prepare('SELECT * FROM calls').get() as Record<string, unknown>;
    expect(row).toMatchObject({
      status: 'error',
      error_kind: 'server_error',
      http_status: 503,
      attempts: 4,
      cost_usd: null,
    });
    expect(s.errors).toBe(1);
  });

  it('does not retry a 400 and stops a candidate whose key is refused, recording nothing for it', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const bad = scriptedProvider([
      () => OpenAI.APIError.generate(400, { error: { message: 'bad param' } }, undefined, new Headers()),
    ]);
    const denied = scriptedProvider([
      () => OpenAI.APIError.generate(401, { error: { message: 'bad key' } }, undefined, new Headers()),
    ]);
    const s = await runEval(
      plan(runId, [candidate('bad', bad), { ...candidate('denied', denied), concurrency: 1 }], {
        concurrency: 1,
      }),
      {
        store,
        scorers: [],
        clock: fakeClock(),
      },
    );
    expect(bad.calls).toHaveLength(3);
    expect(denied.calls).toHaveLength(1);
    expect(s.stopped.denied).toMatch(/^auth/);
    expect(s.complete).toBe(false);
    const rows = store.db
      .prepare('SELECT candidate, count(*) n, max(attempts) a FROM calls GROUP BY candidate')
      .all();
    expect(rows).toEqual([{ candidate: 'bad', n: 3, a: 1 }]);
  });

  it('a rerun does only the missing work; --retry-errors redoes errors and replaces their rows', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const flaky = scriptedProvider([
      () => completion('1'),
      () => OpenAI.APIError.generate(400, { error: { message: 'no' } }, undefined, new Headers()),
      () => completion('3'),
    ]);
    const p = plan(runId, [{ ...candidate('c', flaky), concurrency: 1 }], { concurrency: 1 });
    await runEval(p, { store, scorers: [], clock: fakeClock() });
    expect(flaky.calls).toHaveLength(3);
    const again = scriptedProvider([() => completion('fixed')]);
    const s2 = await runEval(
      { ...p, candidates: [{ ...p.candidates[0]!, provider: again }] },
      { store, scorers: [], clock: fakeClock() },
    );
    expect(again.calls).toHaveLength(0);
    expect(s2).toMatchObject({ done: 3, errors: 1, complete: true });
    const s3 = await runEval(
      { ...p, retryErrors: true, candidates: [{ ...p.candidates[0]!, provider: again }] },
      { store, scorers: [], clock: fakeClock() },
    );
    expect(again.calls).toHaveLength(1);
    expect(s3).toMatchObject({ done: 3, errors: 0, complete: true });
    const rows = store.db.prepare('SELECT record_id, status, output FROM calls ORDER BY record_id').all();
    expect(rows).toEqual([
      { record_id: 'a', status: 'ok', output: '1' },
      { record_id: 'b', status: 'ok', output: 'fixed' },
      { record_id: 'c', status: 'ok', output: '3' },
    ]);
  });

  it('times out an attempt that never finishes and retries it', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    let n = 0;
    const provider = {
      complete: (_b: Record<string, unknown>, signal: AbortSignal) => {
        n++;
        if (n === 1) {
          return new Promise<never>((_, reject) =>
            signal.addEventListener('abort', () => reject(new OpenAI.APIUserAbortError())),
          );
        }
        return Promise.resolve(completion('late but fine'));
      },
      classify: scriptedProvider([]).classify,
    };
    await runEval(plan(runId, [candidate('c', provider)], { timeoutMs: 30 }), {
      store,
      scorers: [],
      clock: fakeClock(),
      random: () => 0,
    });
    const row = store.db.prepare('SELECT status, attempts, output FROM calls').get();
    expect(row).toEqual({ status: 'ok', attempts: 2, output: 'late but fine' });
  });

  it('a scorer that throws becomes a recorded scorer error, not a crashed run', async () => {
    const { store, runId } = memoryStoreWithRun([{ id: 'a' }]);
    const thrower = bindScorer(
      {
        name: 'custom',
        score: () => {
          throw new Error('bug in a custom scorer');
        },
      },
      { kind: 'exact', name: 'custom' } as never,
    );
    const s = await runEval(plan(runId, [candidate('c', scriptedProvider([() => completion('x')]))]), {
      store,
      scorers: [thrower],
      clock: fakeClock(),
    });
    expect(s.complete).toBe(true);
    const score = store.db.prepare('SELECT scorer, value, passed, detail FROM scores').get();
    expect(score).toEqual({
      scorer: 'custom',
      value: null,
      passed: null,
      detail: 'scorer error: bug in a custom scorer',
    });
  });

  it('many attempts in flight on one run signal raise no listener-leak warning', async () => {
    const { store, runId } = memoryStoreWithRun(Array.from({ length: 40 }, (_, i) => ({ id: `r${i}` })));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const slow = scriptedProvider([() => completion('x')]);
      const provider = {
        ...slow,
        complete: async (b: Record<string, unknown>) => {
          await new Promise((r) => setTimeout(r, 5));
          return slow.complete(b, new AbortController().signal);
        },
      };
      const c = { ...candidate('c', provider), concurrency: 32 };
      await runEval(plan(runId, [c], { concurrency: 32 }), {
        store,
        scorers: [],
        clock: fakeClock(),
        signal: new AbortController().signal,
      });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
