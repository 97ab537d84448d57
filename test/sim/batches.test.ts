import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { promptKey } from '../../datasets/record.js';
import { type SimServer, startSimulator } from '../../harness/sim/index.js';
import { client, INSTANT, userTurn } from './helpers.js';

const PROFILES = { 'sim-x': INSTANT, 'sim-r': { ...INSTANT, reasoningTokens: 32 } };
const ANSWERS = { [promptKey({ messages: userTurn('Capital of France?') })]: { answer: 'Paris' } };

let sim: SimServer;
let openai: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ seed: 3, profiles: PROFILES, answerKey: ANSWERS, batchDelayMs: 0 });
  openai = client(sim);
});
afterAll(() => sim.close());
afterEach(() => {
  sim.setBatchOptions({ delayMs: 0, expireAfter: undefined });
  sim.setFaults([]);
});

type Line = { custom_id: string; method: string; url: string; body: Record<string, unknown> };

function chatLine(customId: string, question: string, model = 'sim-x'): Line {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: userTurn(question) },
  };
}

async function upload(lines: unknown[], purpose: 'batch' | 'user_data' = 'batch') {
  const text = lines.map((l) => JSON.stringify(l)).join('\n');
  return openai.files.create({ file: await toFile(Buffer.from(`${text}\n`), 'in.jsonl'), purpose });
}

async function submit(
  lines: Line[],
  endpoint: '/v1/chat/completions' | '/v1/responses' = '/v1/chat/completions',
) {
  const file = await upload(lines);
  return openai.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
}

// biome-ignore lint/suspicious/noExplicitAny: output lines are JSON checked field by field.
async function jsonl(fileId: string | null | undefined): Promise<Record<string, any>[]> {
  if (!fileId) return [];
  const text = await (await openai.files.content(fileId)).text();
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('files', () => {
  it('stores an upload and serves its object and exact bytes back', async () => {
    const content = '{"a":1}\n{"b":"é"}\n';
    const file = await openai.files.create({
      file: await toFile(Buffer.from(content), 'mine.jsonl'),
      purpose: 'batch',
    });
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'mine.jsonl',
      bytes: Buffer.byteLength(content),
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
    // Batch files expire 30 days after creation.
    expect(file.expires_at! - file.created_at).toBe(30 * 86_400);
    expect(await openai.files.retrieve(file.id)).toEqual(file);
    const res = await openai.files.content(file.id);
    expect(await res.text()).toBe(content);
    expect(res.headers.get('x-holdout-simulator')).toBe('1');
  });

  it('answers 404 for an unknown file and 401 without a key', async () => {
    await expect(openai.files.retrieve('file-nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.files.content('file-nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const res = await fetch(`${sim.url}/batches/batch_x`);
    expect(res.status).toBe(401);
  });
});

describe('batches', () => {
  it('goes validating → in_progress → completed, answering each line like a live call', async () => {
    // 200 ms: validating for the first 20, lines answered until 180, completed at 200.
    sim.setBatchOptions({ delayMs: 200 });
    const lines = [
      chatLine('a#0', 'Capital of France?'),
      chatLine('b#0', 'Say something.'),
      chatLine('c#0', 'Hi'),
    ];
    const created = await submit(lines);
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      output_file_id: null,
      error_file_id: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
    });
    expect(created.expires_at! - created.created_at).toBe(86_400);
    await new Promise((r) => setTimeout(r, 60));
    const running = await openai.batches.retrieve(created.id);
    expect(running.status).toBe('in_progress');
    expect(running.in_progress_at).not.toBeNull();
    expect(running.request_counts?.total).toBe(3);
    expect(running.output_file_id).toBeNull();
    await new Promise((r) => setTimeout(r, 160));
    const done = await openai.batches.retrieve(created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect(done.finalizing_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();
    expect(done.error_file_id).toBeNull();

    const out = await jsonl(done.output_file_id);
    expect(out.map((l) => l.custom_id).sort()).toEqual(['a#0', 'b#0', 'c#0']);
    // Independent check: a second simulator with the same seed answers the same bodies live.
    const twin = await startSimulator({ seed: 3, profiles: PROFILES, answerKey: ANSWERS });
    try {
      const live = client(twin);
      let usage = { input: 0, output: 0 };
      for (const line of lines) {
        const got = out.find((l) => l.custom_id === line.custom_id)!;
        expect(got.error).toBeNull();
        expect(got.id).toMatch(/^batch_req_/);
        expect(got.response.status_code).toBe(200);
        expect(got.response.request_id).toMatch(/^req_/);
        const want = await live.chat.completions.create(line.body as never);
        expect(got.response.body.object).toBe('chat.completion');
        expect(got.response.body.model).toBe('sim-x-2026-03-17');
        expect(got.response.body.choices[0].message.content).toBe(want.choices[0]!.message.content);
        expect(got.response.body.usage).toEqual(want.usage);
        usage = {
          input: usage.input + want.usage!.prompt_tokens,
          output: usage.output + want.usage!.completion_tokens,
        };
      }
      expect(out.find((l) => l.custom_id === 'a#0')!.response.body.choices[0].message.content).toBe('Paris');
      expect(done.usage).toMatchObject({
        input_tokens: usage.input,
        output_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      });
    } finally {
      await twin.close();
    }
  });

  it('runs /v1/responses batches with Response bodies and reasoning tokens', async () => {
    const line = {
      custom_id: 'r',
      method: 'POST',
      url: '/v1/responses',
      body: { model: 'sim-r', input: 'Capital of France?' },
    };
    const created = await submit([line], '/v1/responses');
    const done = await openai.batches.retrieve(created.id);
    expect(done.status).toBe('completed');
    const [out] = await jsonl(done.output_file_id);
    expect(out!.response.body).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'sim-r-2026-03-17',
      usage: { output_tokens_details: { reasoning_tokens: 32 } },
    });
    expect(out!.response.body.output[0].content[0].text).toBe('Paris');
  });

  it('puts failed lines in the error file: an unknown model (404) and an injected server error (500)', async () => {
    const unknown = await submit([chatLine('u1', 'Hi', 'gpt-nope'), chatLine('u2', 'Hello', 'gpt-nope')]);
    const u = await openai.batches.retrieve(unknown.id);
    expect(u.status).toBe('completed');
    expect(u.request_counts).toEqual({ total: 2, completed: 0, failed: 2 });
    expect(u.output_file_id).toBeNull();
    const errs = await jsonl(u.error_file_id);
    expect(errs.map((l) => l.custom_id).sort()).toEqual(['u1', 'u2']);
    expect(errs[0]!.response.status_code).toBe(404);
    expect(errs[0]!.response.body.error.code).toBe('model_not_found');

    sim.setFaults([{ kind: 'server_error', model: 'sim-x', count: 1 }]);
    const mixed = await submit([chatLine('m1', 'Hi'), chatLine('m2', 'Hello')]);
    const m = await openai.batches.retrieve(mixed.id);
    expect(m.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    const [bad] = await jsonl(m.error_file_id);
    expect(bad).toMatchObject({ custom_id: 'm1', response: { status_code: 500 }, error: null });
    expect((await jsonl(m.output_file_id)).map((l) => l.custom_id)).toEqual(['m2']);
  });

  it('fails a batch whose file has bad lines, naming each line', async () => {
    const file = await upload([
      chatLine('x', 'Hi'),
      chatLine('x', 'again'),
      { ...chatLine('y', 'Hi'), url: '/v1/responses' },
      { ...chatLine('z', 'Hi'), body: { model: 'sim-r', messages: userTurn('Hi') } },
    ]);
    const created = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const b = await openai.batches.retrieve(created.id);
    expect(b.status).toBe('failed');
    expect(b.failed_at).not.toBeNull();
    expect(b.errors?.data?.map((e) => [e.code, e.line])).toEqual([
      ['duplicate_custom_id', 2],
      ['mismatched_endpoint', 3],
      ['mismatched_model', 4],
    ]);
  });

  it('refuses a file not uploaded for batch, an unknown file and an unsupported endpoint', async () => {
    const notBatch = await upload([chatLine('a', 'Hi')], 'user_data');
    const create = (input_file_id: string, endpoint: string) =>
      openai.batches.create({ input_file_id, endpoint: endpoint as never, completion_window: '24h' });
    await expect(create(notBatch.id, '/v1/chat/completions')).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(create('file-missing', '/v1/chat/completions')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(create(notBatch.id, '/v1/embeddings')).rejects.toThrow(/endpoint/);
    await expect(openai.batches.retrieve('batch_missing')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('cancels: cancelling, then cancelled with no output for lines never answered', async () => {
    sim.setBatchOptions({ delayMs: 60_000 });
    const created = await submit([chatLine('a', 'Hi'), chatLine('b', 'Hello')]);
    const cancelling = await openai.batches.cancel(created.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).not.toBeNull();
    const cancelled = await openai.batches.retrieve(created.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', output_file_id: null, error_file_id: null });
    await expect(openai.batches.cancel(created.id)).rejects.toBeInstanceOf(OpenAI.ConflictError);
  });

  it('expires after `expireAfter` answered lines: the rest come back as batch_expired errors', async () => {
    sim.setBatchOptions({ expireAfter: 1 });
    const created = await submit([chatLine('a', 'Hi'), chatLine('b', 'Hello'), chatLine('c', 'Hey')]);
    const b = await openai.batches.retrieve(created.id);
    expect(b.status).toBe('expired');
    expect(b.expired_at).not.toBeNull();
    expect(b.request_counts).toEqual({ total: 3, completed: 1, failed: 2 });
    expect((await jsonl(b.output_file_id)).map((l) => l.custom_id)).toEqual(['a']);
    const expired = await jsonl(b.error_file_id);
    expect(expired.map((l) => [l.custom_id, l.response, l.error.code])).toEqual([
      ['b', null, 'batch_expired'],
      ['c', null, 'batch_expired'],
    ]);
  });

  it('lists batches newest first, with metadata and cursor paging', async () => {
    const before = sim.batchStats().batchesCreated;
    const ids: string[] = [];
    for (const tag of ['one', 'two', 'three']) {
      const file = await upload([chatLine(tag, 'Hi')]);
      const b = await openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { tag },
      });
      ids.push(b.id);
    }
    expect(sim.batchStats().batchesCreated).toBe(before + 3);
    const first = await openai.batches.list({ limit: 2 });
    expect(first.data.map((b) => b.id)).toEqual([ids[2], ids[1]]);
    expect(first.data[0]!.metadata).toEqual({ tag: 'three' });
    expect(first.hasNextPage()).toBe(true);
    const seen: Batch[] = [];
    for await (const b of openai.batches.list({ limit: 2 })) seen.push(b);
    expect(seen.slice(0, 3).map((b) => b.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(seen.length).toBe(before + 3);
  });
});
