import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyError,
  fromChatCompletion,
  fromResponse,
  openaiProvider,
} from '../../harness/providers/openai.js';
import { costUsd, resolvePrice } from '../../harness/providers/pricing.js';
import { callWithRetries } from '../../harness/run/attempt.js';
import { fakeClock } from '../support/fakes.js';

/**
 * The real SDK against the bytes of real (recorded or documented) OpenAI responses, served from
 * test/fixtures/openai/ (sources in its README): what holdout does with what the API sends, not with
 * what the simulator happens to send.
 */
const FIXTURES = join(import.meta.dirname, '../fixtures/openai');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const json = (name: string) => JSON.parse(fixture(name)) as Record<string, unknown>;

let server: Server;
let baseURL: string;
/** What the next request is answered with. */
let reply: { status: number; type: string; body: string; headers?: Record<string, string> } = {
  status: 200,
  type: 'application/json',
  body: '{}',
};
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      res.writeHead(reply.status, {
        'content-type': reply.type,
        ...(reply.headers ?? { 'x-request-id': 'req_fixture' }),
      });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function serveJson(name: string) {
  const f = json(name) as { status: number; body: unknown };
  reply = { status: f.status, type: 'application/json', body: JSON.stringify(f.body) };
}
function serveSse(name: string) {
  reply = { status: 200, type: 'text/event-stream; charset=utf-8', body: fixture(name) };
}
function provider(api: 'chat' | 'responses', includeCommentary = false) {
  const client = new OpenAI({ baseURL, apiKey: 'k', maxRetries: 0, logLevel: 'off' });
  return openaiProvider(client, { api, clock: fakeClock(), includeCommentary });
}
const chatBody = (stream: boolean) => ({
  model: 'gpt-5.4-mini',
  messages: [{ role: 'user', content: 'hi' }],
  ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
});
const responsesBody = (stream: boolean) => ({
  model: 'gpt-5.4-mini',
  input: 'hi',
  ...(stream ? { stream: true } : {}),
});

/** One logical call through holdout's retry loop (3 retries, sleeps free). */
async function call(api: 'chat' | 'responses', body: Record<string, unknown>) {
  requests = 0;
  const out = await callWithRetries(provider(api), body, {
    maxRetries: 3,
    timeoutMs: 5_000,
    clock: fakeClock(),
  });
  return { ...out, requests };
}

describe('HTTP errors are classified by their code first, then by status', () => {
  it('an unknown model on the Responses API is a 400 model_not_found: a fatal stop, like a 404', async () => {
    serveJson('responses-400-model-not-found.json');
    const out = await call('responses', responsesBody(false));
    expect(out.failure).toMatchObject({ kind: 'not_found', retry: false, status: 400 });
    expect(out.fatal).toBe(true);
    expect(out.requests).toBe(1);
  });

  it('a 429 "Request too large … tokens per min" is request_too_large: never retried, not fatal', async () => {
    serveJson('429-request-too-large.json');
    const out = await call('chat', chatBody(false));
    expect(out.failure).toMatchObject({ kind: 'request_too_large', retry: false, status: 429 });
    expect(out.fatal).toBe(false);
    expect(out.requests).toBe(1);
    // A plain rate limit is still retried.
    const plain = OpenAI.APIError.generate(
      429,
      {
        error: {
          message: 'Rate limit reached for gpt-5.4-mini on requests per min (RPM)',
          type: 'requests',
          code: 'rate_limit_exceeded',
        },
      },
      undefined,
      new Headers(),
    );
    expect(classifyError(plain)).toMatchObject({ kind: 'rate_limit', retry: true });
  });

  it('classifies by code whatever the status: quota, key, context length', () => {
    const err = (status: number, code: string, type = 'invalid_request_error') =>
      OpenAI.APIError.generate(status, { error: { message: 'x', type, code } }, undefined, new Headers());
    expect(classifyError(err(400, 'insufficient_quota'))).toMatchObject({
      kind: 'insufficient_quota',
      retry: false,
    });
    expect(classifyError(err(400, 'invalid_api_key'))).toMatchObject({ kind: 'auth', retry: false });
    expect(classifyError(err(400, 'context_length_exceeded'))).toMatchObject({
      kind: 'context_length_exceeded',
      retry: false,
      status: 400,
    });
    expect(classifyError(err(404, 'model_not_found'))).toMatchObject({ kind: 'not_found', status: 404 });
  });
});

describe('errors inside a stream keep their code and are classified like HTTP ones', () => {
  it('Responses: an `error` event with nested details (insufficient_quota) stops the candidate, untried again', async () => {
    serveSse('responses-stream-insufficient-quota.sse');
    const out = await call('responses', responsesBody(true));
    expect(out.failure).toMatchObject({ kind: 'insufficient_quota', retry: false });
    expect(out.failure?.message).toMatch(/exceeded your current quota/);
    expect(out.fatal).toBe(true);
    expect(out.requests).toBe(1);
  });

  it('Responses: an `error` event as the SDK types it (rate_limit_exceeded) is a rate limit, retried', async () => {
    serveSse('responses-stream-error-event-flat.sse');
    const out = await call('responses', responsesBody(true));
    expect(out.failure).toMatchObject({ kind: 'rate_limit', retry: true });
    expect(out.requests).toBe(4);
  });

  it('Responses: response.failed with response.error.code server_error is a retried server error', async () => {
    serveSse('responses-stream-failed-server-error.sse');
    const out = await call('responses', responsesBody(true));
    expect(out.failure).toMatchObject({ kind: 'server_error', retry: true });
    expect(out.requests).toBe(4);
  });

  it('Chat: a chunk that is {"error": …} keeps its code: insufficient_quota is fatal, server_is_overloaded retried', async () => {
    serveSse('chat-stream-error-insufficient-quota.sse');
    const quota = await call('chat', chatBody(true));
    expect(quota.failure).toMatchObject({ kind: 'insufficient_quota', retry: false });
    expect(quota.fatal).toBe(true);
    expect(quota.requests).toBe(1);

    serveSse('chat-stream-error-overloaded.sse');
    const busy = await call('chat', chatBody(true));
    expect(busy.failure).toMatchObject({ kind: 'server_error', retry: true });
    expect(busy.requests).toBe(4);
  });
});

describe('Azure OpenAI streams', () => {
  // Azure's own request id; no x-request-id.
  const azure = { 'apim-request-id': 'a1b2c3d4-0000-4000-8000-000000000001' };

  it('opens with an empty-model chunk of prompt filter results: the served model is the first named one', async () => {
    reply = {
      status: 200,
      type: 'text/event-stream',
      body: fixture('azure-chat-stream-usage.sse'),
      headers: azure,
    };
    const done = await provider('chat').complete(chatBody(true), new AbortController().signal);
    expect(done).toMatchObject({
      text: 'Hello!',
      finishReason: 'stop',
      servedModel: 'gpt-4o-2024-05-13',
      requestId: azure['apim-request-id'],
      usage: { inputTokens: 9, outputTokens: 2, cachedTokens: 0, reasoningTokens: 0 },
    });
  });

  it('a stream that ends cleanly without the usage chunk stops the candidate at once: it cannot be priced, and retrying repeats it', async () => {
    serveSse('azure-chat-stream-no-usage.sse');
    const out = await call('chat', chatBody(true));
    expect(out.completion).toBeUndefined();
    expect(out.failure).toMatchObject({ kind: 'no_stream_usage', retry: false });
    expect(out.failure!.message).toMatch(/stream: false/);
    expect(out.fatal).toBe(true);
    expect(out.requests).toBe(1);
  });
});

describe('cache writes', () => {
  it('reads cache_write_tokens from Chat and Responses usage, through the SDK', async () => {
    reply = { status: 200, type: 'application/json', body: fixture('chat-usage-cache-write.json') };
    const chat = await provider('chat').complete(chatBody(false), new AbortController().signal);
    expect(chat.usage).toMatchObject({
      inputTokens: 100,
      cachedTokens: 50,
      cacheWriteTokens: 30,
      outputTokens: 5,
    });

    reply = { status: 200, type: 'application/json', body: fixture('responses-usage-cache-write.json') };
    const resp = await provider('responses').complete(responsesBody(false), new AbortController().signal);
    expect(resp.usage).toMatchObject({
      inputTokens: 8477,
      cachedTokens: 8385,
      cacheWriteTokens: 89,
      outputTokens: 38,
    });
  });

  it('prices them at 1.25× input on a model that bills cache writes', () => {
    const usage = fromResponse(json('responses-usage-cache-write.json') as never).usage;
    // gpt-5.6-sol has no bundled price: a configured one, cache_write defaulting to 1.25 × input.
    const rule = resolvePrice('gpt-5.6-sol', { input: 4, cached_input: 0.4, output: 24 })!;
    // (8477 − 8385 − 89) × 4 + 8385 × 0.4 + 89 × 5 + 38 × 24 = 12 + 3354 + 445 + 912 = 4723 µ$
    expect(costUsd(usage, rule, 'default')).toBeCloseTo(0.004723, 12);
    const chatUsage = fromChatCompletion(json('chat-usage-cache-write.json') as never).usage;
    // (100 − 50 − 30) × 4 + 50 × 0.4 + 30 × 5 + 5 × 24 = 80 + 20 + 150 + 120 = 370 µ$
    expect(
      costUsd(chatUsage, resolvePrice('gpt-5.6-terra', { input: 4, cached_input: 0.4, output: 24 })!),
    ).toBeCloseTo(0.00037, 12);
  });
});

describe('message phases', () => {
  it('scores the final answer; commentary only when asked, separated by a blank line', async () => {
    const body = json('responses-phase-commentary.json');
    expect(fromResponse(body as never).text).toBe('Done.');
    expect(fromResponse(body as never, { includeCommentary: true }).text).toBe('Checking. \n\nDone.');
    reply = { status: 200, type: 'application/json', body: JSON.stringify(body) };
    const live = await provider('responses').complete(responsesBody(false), new AbortController().signal);
    expect(live.text).toBe('Done.');
    const withCommentary = await provider('responses', true).complete(
      responsesBody(false),
      new AbortController().signal,
    );
    expect(withCommentary.text).toBe('Checking. \n\nDone.');
  });

  it('keeps unphased messages (models without phases)', () => {
    const r = {
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Paris' }] }],
    };
    expect(fromResponse(r as never).text).toBe('Paris');
  });
});
