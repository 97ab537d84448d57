import type { Clock } from '../../harness/clock.js';
import type { Completion, Provider, RetryDecision } from '../../harness/providers/provider.js';
import { classifyError } from '../../harness/providers/openai.js';
import { Store } from '../../results/store/store.js';

/** A clock whose sleeps advance time at once: backoff in tests costs nothing. */
export function fakeClock(start = 1_000): Clock & { slept: number[]; advance(ms: number): void } {
  let t = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    isoNow: () => new Date(Date.UTC(2026, 10, 25) + t).toISOString(),
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      t += ms;
    },
    advance(ms) {
      t += ms;
    },
  };
}

export function completion(text: string, over: Partial<Completion> = {}): Completion {
  return {
    text,
    toolCalls: [],
    usage: { inputTokens: 100, cachedTokens: 0, outputTokens: 10, reasoningTokens: 0 },
    finishReason: 'stop',
    servedModel: 'fake-1',
    requestId: 'req_1',
    serverMs: 5,
    serviceTier: 'default',
    latencyMs: 50,
    ttftMs: 20,
    simulated: false,
    ...over,
  };
}

/** A provider scripted per call: each entry answers one attempt, in order; the last repeats. */
export function scriptedProvider(
  script: ((body: Record<string, unknown>) => Completion | Error)[],
): Provider & { calls: Record<string, unknown>[] } {
  const calls: Record<string, unknown>[] = [];
  return {
    calls,
    async complete(body) {
      const step = script[Math.min(calls.length, script.length - 1)]!;
      calls.push(body);
      const out = step(body);
      if (out instanceof Error) throw out;
      return out;
    },
    classify: (err): RetryDecision => classifyError(err),
  };
}

export function memoryStoreWithRun(
  records: { id: string; tags?: Record<string, string>; reference?: unknown; content?: string }[],
) {
  const store = new Store(':memory:');
  const runId = store.createRun(
    {
      suite: 't',
      configJson: '{}',
      configHash: 'h',
      datasetPath: 'mem',
      datasetHash: 'd',
      recordCount: records.length,
      repeats: 1,
      scorersJson: '[]',
      createdAt: '2026-11-25T00:00:00Z',
    },
    [],
  );
  store.insertRecords(
    runId,
    records.map((r) => {
      const rec = {
        id: r.id,
        tags: r.tags ?? {},
        api: 'chat',
        request: { model: 'x', messages: [{ role: 'user', content: r.content ?? `question ${r.id}` }] },
        ...(r.reference ? { reference: r.reference } : {}),
      };
      return { id: r.id, api: 'chat', tags: rec.tags, json: JSON.stringify(rec) };
    }),
    0,
  );
  return { store, runId };
}
