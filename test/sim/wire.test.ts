import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptKey } from '../../datasets/record.js';
import {
  DEFAULT_PROFILES,
  loadAnswerKey,
  runSimulatorCli,
  type SimServer,
  startSimulator,
} from '../../harness/sim/index.js';
import { client, INSTANT, userTurn } from './helpers.js';

let sim: SimServer;
let openai: OpenAI;
const QUESTION = 'What is the capital of France?';

beforeAll(async () => {
  sim = await startSimulator({
    seed: 1,
    profiles: { 'sim-x': INSTANT, 'sim-r': { ...INSTANT, reasoningTokens: 64 } },
    answerKey: { [promptKey({ messages: userTurn(QUESTION) })]: { answer: 'Paris' } },
  });
  openai = client(sim);
});
afterAll(() => sim.close());

describe('chat completions', () => {
  it('answers with the Chat Completion shape, usage and simulator headers', async () => {
    const { data, response, request_id } = await openai.chat.completions
      .create({ model: 'sim-x', messages: userTurn(QUESTION) })
      .withResponse();
    expect(data).toMatchObject({
      object: 'chat.completion',
      model: 'sim-x-2026-03-17',
      system_fingerprint: 'holdout-sim',
      service_tier: 'default',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Paris' } }],
    });
    expect(data.id).toMatch(/^chatcmpl-[0-9a-f]+$/);
    // "user: <question>\n" is 37 characters: ceil(37 / 4) = 10 tokens; "Paris" is 2.
    expect(data.usage).toEqual({
      prompt_tokens: 10,
      completion_tokens: 2,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
    expect(request_id).toMatch(/^req_[0-9a-f]+$/);
    expect(response.headers.get('x-request-id')).toBe(request_id);
    expect(response.headers.get('openai-processing-ms')).toMatch(/^\d+$/);
    expect(response.headers.get('x-holdout-simulator')).toBe('1');
    expect(response.headers.get('openai-version')).toBeTruthy();
    expect(response.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
    expect(sim.findCall(request_id!)).toMatchObject({ endpoint: 'chat', status: 200, output: 'Paris' });
  });

  it('streams role, content, finish and (with include_usage) a final usage chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: 'sim-r',
      messages: userTurn('Tell me something long enough to need several deltas please'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const first = chunks[0]!;
    const last = chunks.at(-1)!;
    expect(first.object).toBe('chat.completion.chunk');
    expect(first.choices[0]!.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(last.choices).toEqual([]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const finish = chunks.at(-2)!;
    expect(finish.choices[0]).toMatchObject({ finish_reason: 'stop', delta: {} });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(chunks.length).toBeGreaterThan(4);
    expect(text).toMatch(/^Simulated answer from sim-r/);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(last.usage).toMatchObject({
      completion_tokens: Math.ceil(text.length / 4) + 64,
      completion_tokens_details: { reasoning_tokens: 64 },
    });
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
  });

  it('leaves usage off the chunks without include_usage', async () => {
    const stream = await openai.chat.completions.create({
      model: 'sim-x',
      messages: userTurn(QUESTION),
      stream: true,
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Paris');
  });
});

describe('responses', () => {
  it('answers with the Response shape; output_text is added by the SDK, not sent', async () => {
    const res = await openai.responses.create({ model: 'sim-r', input: QUESTION, instructions: 'Be brief.' });
    expect(res).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'sim-r-2026-03-17',
      instructions: 'Be brief.',
      service_tier: 'default',
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Paris', annotations: [] }],
        },
      ],
      output_text: 'Paris',
    });
    expect(res.id).toMatch(/^resp_/);
    // "system: Be brief.\nuser: <question>\n" is 55 characters: 14 tokens.
    expect(res.usage).toMatchObject({
      input_tokens: 14,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 2 + 64,
      output_tokens_details: { reasoning_tokens: 64 },
      total_tokens: 14 + 66,
    });
    const raw = await openai.responses.create({ model: 'sim-x', input: QUESTION }).asResponse();
    expect(Object.keys((await raw.json()) as object)).not.toContain('output_text');
  });

  it('streams the event sequence with increasing sequence numbers and usage on completion', async () => {
    const stream = await openai.responses.create({ model: 'sim-x', input: QUESTION, stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type).filter((t, i, a) => t !== a[i - 1]);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.join('')).toBe('Paris');
    const done = events.at(-1);
    if (done?.type !== 'response.completed') throw new Error('no response.completed');
    expect(done.response.status).toBe('completed');
    expect(done.response.usage).toMatchObject({ input_tokens: 10, output_tokens: 2 });

    const helper = openai.responses.stream({ model: 'sim-x', input: QUESTION });
    expect((await helper.finalResponse()).output_text).toBe('Paris');
  });

  it('names each SSE event on an `event:` line matching its data type', async () => {
    const res = await fetch(`${sim.url}/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-x', input: QUESTION, stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const blocks = (await res.text()).split('\n\n').filter(Boolean);
    expect(blocks.length).toBeGreaterThan(8);
    for (const b of blocks) {
      const [eventLine, dataLine] = b.split('\n');
      expect(eventLine).toBe(`event: ${JSON.parse(dataLine!.slice('data: '.length)).type}`);
    }
  });
});

describe('errors and routing', () => {
  it('rejects a request without a bearer key with 401', async () => {
    const res = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-x', messages: userTurn('hi') }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('maps unknown models to 404 model_not_found and accepts snapshots of a profile', async () => {
    const err = await openai.chat.completions
      .create({ model: 'gpt-5.4-mini', messages: userTurn('hi') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found' });
    const ok = await openai.chat.completions.create({ model: 'sim-x-2026-03-17', messages: userTurn('hi') });
    expect(ok.model).toBe('sim-x-2026-03-17');
  });

  it('answers 400 invalid_request_error for bad JSON and a missing prompt', async () => {
    const res = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: '{"model": "sim-x", "messages": [',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const err = await openai.responses.create({ model: 'sim-x' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, param: 'input' });
  });

  it('lists its profiles as models', async () => {
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    expect(ids).toEqual(['sim-x', 'sim-r']);
  });

  it('refuses to listen on a non-loopback host', async () => {
    await expect(startSimulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    await expect(startSimulator({ host: '192.168.1.10' })).rejects.toThrow(/loopback/);
    const local = await startSimulator({ host: 'localhost' });
    expect(local.url).toMatch(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+\/v1$/);
    await local.close();
  });
});

describe('control endpoints and CLI', () => {
  it('sets faults, reads stats and resets over HTTP', async () => {
    const other = await startSimulator({ profiles: { 'sim-x': INSTANT } });
    const base = other.url.replace(/\/v1$/, '');
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post('/__sim/faults', [{ kind: 'server_error', count: 1 }])).status).toBe(200);
    expect((await post('/__sim/faults', [{ kind: 'nope' }])).status).toBe(400);
    expect((await post('/__sim/faults', [{ kind: 'server_error', count: 1 }])).status).toBe(200);
    const oc = client(other);
    await expect(oc.chat.completions.create({ model: 'sim-x', messages: userTurn('a') })).rejects.toThrow();
    const { request_id } = await oc.chat.completions
      .create({ model: 'sim-x', messages: userTurn('a') })
      .withResponse();
    const stats = (await (await fetch(`${base}/__sim/stats?log=0`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ requests: 2, byModel: { 'sim-x': 2 }, inFlight: 0, log: [] });
    const call = (await (await fetch(`${base}/__sim/calls/${request_id}`)).json()) as Record<string, unknown>;
    expect(call).toMatchObject({ requestId: request_id, status: 200, model: 'sim-x' });
    expect(call.serviceMs).toBeTypeOf('number');
    expect((await post('/__sim/reset', {})).status).toBe(200);
    expect(other.stats()).toMatchObject({ requests: 0, log: [] });
    // reset() re-arms count-limited faults: the first call after it fails again.
    await expect(oc.chat.completions.create({ model: 'sim-x', messages: userTurn('a') })).rejects.toThrow(
      /500/,
    );
    const key = promptKey({ messages: userTurn('q') });
    expect((await post('/__sim/answer-key', { [key]: { answer: 'A' } })).status).toBe(200);
    const ans = await oc.chat.completions.create({ model: 'sim-x', messages: userTurn('q') });
    expect(ans.choices[0]!.message.content).toBe('A');
    await other.close();
  });

  it('starts from files and announces itself as simulated on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdout-sim-'));
    const keyPath = join(dir, 'key.json');
    writeFileSync(keyPath, JSON.stringify({ [promptKey({ input: 'q' })]: { answer: 'A', wrong: ['B'] } }));
    const profilesPath = join(dir, 'profiles.json');
    writeFileSync(profilesPath, JSON.stringify({ 'sim-a': INSTANT, 'sim-b': INSTANT }));
    const stderr = new PassThrough();
    let printed = '';
    stderr.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const cli = await runSimulatorCli(
      { port: 0, host: '127.0.0.1', answerKeyPath: keyPath, profilesPath },
      { stderr },
    );
    const models = '(models: sim-a, sim-b) — simulated models, not real ones';
    expect(printed).toBe(`holdout simulator listening on ${cli.url} ${models}\n`);
    const res = await client(cli).responses.create({ model: 'sim-b', input: 'q' });
    expect(res.output_text).toBe('A');
    await cli.close();

    writeFileSync(keyPath, JSON.stringify({ k: { wrong: ['B'] } }));
    expect(() => loadAnswerKey(keyPath)).toThrow(/answer/);
    expect(() => loadAnswerKey(join(dir, 'missing.json'))).toThrow(/Cannot read/);
    expect(Object.keys(DEFAULT_PROFILES)).toEqual(['sim-nano', 'sim-mini', 'sim-frontier', 'sim-judge']);
  });
});
