/**
 * Batch mode prints (and stores) what the provider says: SDK error messages, batch ids, a failed
 * batch's reasons. An endpoint may echo a key or send escape sequences: every such text is scrubbed
 * (harness/secrets.ts) and escaped (datasets/printable.ts) before it reaches stderr or the database.
 */
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awaitBatches,
  type BatchCandidatePlan,
  type BatchDeps,
  type BatchPlan,
  submitBatches,
} from '../../harness/batch/index.js';
import { type SimServer, startSimulator } from '../../harness/sim/index.js';
import { fakeClock, memoryStoreWithRun } from '../support/fakes.js';

const PRICE = { standard: { input: 1, cached_input: 0.5, output: 2 }, source: 'config' };
const KEY = 'sk-proj-Zy8ExampleKeyThatLeaks0123';
const HOSTILE = `your key Bearer ${KEY} \x1b[2J\x1b]0;pwned\x07 was refused`;
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    profiles: { 'sim-x': { latencyMs: { median: 0 }, ttftMs: 0, accuracy: 1 } },
    batchDelayMs: 0,
  });
});
afterAll(() => sim.close());

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** A client whose requests `intercept` may answer instead of the simulator. */
function client(intercept: (url: string, method: string) => Response | undefined): OpenAI {
  const f: typeof fetch = async (input, init) =>
    intercept(String(input), init?.method ?? 'GET') ?? fetch(input, init);
  return new OpenAI({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: f });
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function setup(c: OpenAI) {
  const { store, runId } = memoryStoreWithRun([
    { id: 'r1', content: 'q1' },
    { id: 'r2', content: 'q2' },
  ]);
  const cand: BatchCandidatePlan = {
    id: 'c',
    model: 'sim-x',
    api: 'chat',
    params: {},
    price: PRICE,
    client: c,
    ephemeral: false,
  };
  const plan: BatchPlan = {
    runId,
    candidates: [cand],
    repeats: 1,
    retryErrors: false,
    pollMs: 5,
    maxRetries: 0,
    transferTimeoutMs: 10_000,
  };
  const stderr = new Capture();
  const deps: BatchDeps = { store, scorers: [], clock: fakeClock(), stderr };
  return { store, runId, plan, deps, stderr };
}

function expectSafe(text: string): void {
  expect(text).not.toContain(KEY);
  expect(text).toContain('[REDACTED]');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
  expect(text.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f]/);
  expect(text).toContain('\\x1b[2J');
}

describe('batch mode prints and stores provider text scrubbed and escaped', () => {
  it('submit: a refused create', async () => {
    const c = client((url, method) =>
      url.endsWith('/batches') && method === 'POST'
        ? json(400, { error: { message: HOSTILE, type: 'invalid_request_error' } })
        : undefined,
    );
    const { store, runId, plan, deps, stderr } = setup(c);
    const sub = await submitBatches(plan, deps);
    expect(stderr.text).toMatch(/warning: c: creating a batch: bad_request: 400 your key/);
    expectSafe(stderr.text);
    expectSafe(sub.stopped.c!);
    expectSafe(store.runBatches(runId)[0]!.note!);
  });

  it('poll: a failed retrieve, and a failed batch with its reasons and a hostile id', async () => {
    let mode: 'refuse' | 'failed' = 'refuse';
    const c = client((url, method) => {
      if (method !== 'GET' || !/\/batches\/[^/]+$/.test(new URL(url).pathname)) return undefined;
      if (mode === 'refuse') return json(400, { error: { message: HOSTILE, type: 'invalid_request_error' } });
      return json(200, {
        id: 'batch_\x1b[31mred',
        object: 'batch',
        endpoint: '/v1/chat/completions',
        input_file_id: 'file-1',
        completion_window: '24h',
        status: 'failed',
        created_at: 1,
        errors: { object: 'list', data: [{ code: 'invalid', line: 1, message: HOSTILE }] },
      });
    });
    const normal = setup(client(() => undefined));
    await submitBatches(normal.plan, normal.deps);
    const { store, runId } = normal;
    const plan = { ...normal.plan, candidates: [{ ...normal.plan.candidates[0]!, client: c }] };

    const refused = new Capture();
    const got = await awaitBatches(plan, { ...normal.deps, stderr: refused });
    expect(refused.text).toMatch(/warning: c: polling batch batch_\w+: bad_request: 400 your key/);
    expectSafe(refused.text);
    expectSafe(got.stopped.c!);

    mode = 'failed';
    const failed = new Capture();
    await awaitBatches(plan, { ...normal.deps, stderr: failed });
    expect(failed.text).toContain('c: batch batch_\\x1b[31mred failed: line 1: invalid: your key');
    expectSafe(failed.text);
    expectSafe(store.runBatches(runId)[0]!.note!);
  });
});
