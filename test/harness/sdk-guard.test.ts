/**
 * The SDK client holdout builds (harness/providers/connect.ts): its logging goes through holdout
 * (off unless OPENAI_LOG asks; then scrubbed, escaped, one line a message), and the one SSE path
 * where the SDK writes to console.error itself (an Assistants `thread.*` event whose data is not
 * JSON) is refused before the SDK parses it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  connectEndpoint,
  hasThreadEvent,
  sdkLogging,
  threadEventScanner,
} from '../../harness/providers/connect.js';
import { fakeClock } from '../support/fakes.js';

/** What the fake endpoint streams for the next request, chunk by chunk. */
let chunks: string[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of chunks) {
        res.write(c);
        // A pause between writes, so that the client reads them as separate chunks.
        await new Promise((r) => setTimeout(r, 2));
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => vi.restoreAllMocks());

const KEY = 'sk-guard-test-0123456789abcdef';

function provider(env: NodeJS.ProcessEnv = {}, sdkLog?: (l: string) => void) {
  return connectEndpoint(
    { id: 'c', model: 'gpt-5.4-mini', api: 'chat', base_url: url, api_key_env: 'K' },
    { env: { K: KEY, ...env }, clock: fakeClock(), timeoutMs: 5000, ...(sdkLog ? { sdkLog } : {}) },
  );
}

const BODY = { model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], stream: true };

function chatChunk(content: string, extra: Record<string, unknown> = {}): string {
  const chunk = {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-5.4-mini',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
    ...extra,
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}
const END =
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-5.4-mini', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-5.4-mini', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })}\n\n` +
  'data: [DONE]\n\n';

async function failure(p: ReturnType<typeof provider>) {
  const err = await p.complete(BODY, new AbortController().signal).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return p.classify(err);
}

describe('an Assistants event in a chat stream', () => {
  const garbage = 'event: thread.run.created\ndata: {"id": \x1b[31m<<not json>>\n\n';

  it.each([
    ['in one chunk', [garbage]],
    ['split across one-byte chunks', [...'event: thread.run'].concat(['.created\ndata: {oops\n\n'])],
    [
      'after a valid event, split inside its name',
      [chatChunk('Hel'), '\nevent: thr', 'ead.x\ndata: nope\n\n'],
    ],
    ['with no space after the colon', ['event:thread.message.delta\r\ndata: nope\r\n\r\n']],
  ])('%s: refused as malformed_response, nothing on console.error', async (_what, body) => {
    chunks = body;
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const decision = await failure(provider());
    expect(decision).toMatchObject({ kind: 'malformed_response', retry: true });
    expect(decision.message).toMatch(/Assistants event/);
    expect(spy).not.toHaveBeenCalled();
  });

  it('text that only looks like one is an answer like any other', async () => {
    // "event: thread." inside the data (JSON escapes its line break) and a thread. that starts no line.
    chunks = [chatChunk('a\nevent: thread.x'), 'event: response.x\n', chatChunk(' thread.y'), END];
    const done = await provider().complete(BODY, new AbortController().signal);
    expect(done.text).toBe('a\nevent: thread.x thread.y');
  });

  it('finds across chunk joints what a scan of the whole stream finds, however the stream is cut', () => {
    const streams = [
      'data: {}\n\nevent: thread.run.created\ndata: x\n\n',
      'data: {}\n\nevent:thread.x\n',
      'event: thread.a\n',
      'data: event: thread.a\n\n',
      'data: {}\r\nevent: response.x\nevent:  thread.x\n',
      `${'data: {"a":1}\n\n'.repeat(3)}x\nevent: thread.`,
    ];
    for (const text of streams) {
      const whole = Buffer.from(text);
      const expected = hasThreadEvent(whole, true);
      // Every cut into two pieces, and every chunk size from one byte up.
      const cuts: Buffer[][] = [];
      for (let at = 0; at <= whole.length; at++) cuts.push([whole.subarray(0, at), whole.subarray(at)]);
      for (let size = 1; size <= whole.length; size++) {
        const parts: Buffer[] = [];
        for (let i = 0; i < whole.length; i += size) parts.push(whole.subarray(i, i + size));
        cuts.push(parts);
      }
      for (const parts of cuts) {
        const scan = threadEventScanner();
        let found = false;
        for (const p of parts) if (scan(p)) found = true;
        expect({ text, parts: parts.map(String), found }).toEqual({
          text,
          parts: parts.map(String),
          found: expected,
        });
      }
    }
  });

  it('leaves an answer read as JSON unscanned: a non-streamed request is never refused', async () => {
    chunks = [
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-5.4-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
      '\nevent: thread.x\n',
    ];
    // Not a stream: the SDK reads the body as JSON, which the trailing line makes invalid, so the
    // failure is the JSON parser's and not the guard's refusal.
    const p = provider();
    const err = await p.complete({ ...BODY, stream: false }, new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).not.toMatch(/Assistants event/);
  });

  it('finds the line start the SDK would', () => {
    const b = (s: string) => Buffer.from(s);
    expect(hasThreadEvent(b('event: thread.a'), true)).toBe(true);
    expect(hasThreadEvent(b('event: thread.a'), false)).toBe(false);
    expect(hasThreadEvent(b('x\revent:thread.a'), false)).toBe(true);
    expect(hasThreadEvent(b('data: event: thread.a'), true)).toBe(false);
    expect(hasThreadEvent(b('event:  thread.a'), true)).toBe(false);
    expect(hasThreadEvent(b('event: thread'), true)).toBe(false);
  });
});

describe("the SDK's own log lines", () => {
  it('are off by default: a malformed event logs nothing', async () => {
    chunks = ['data: {"id": <<not json>>\n\n'];
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await failure(provider({}, (l) => lines.push(l)))).toMatchObject({ kind: 'malformed_response' });
    expect(lines).toEqual([]);
    expect(spy).not.toHaveBeenCalled();
  });

  it('with OPENAI_LOG, one line per message: prefixed, escaped, the key scrubbed', async () => {
    chunks = [`data: {"key": "${KEY}", "x": \x1b]0;pwned\x07\n\n`];
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    await failure(provider({ OPENAI_LOG: 'error' }, (l) => lines.push(l)));
    expect(spy).not.toHaveBeenCalled();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^openai error: Could not parse message into JSON: /);
    expect(lines[1]).toMatch(/^openai error: From chunk: /);
    for (const l of lines) {
      expect(l.endsWith('\n')).toBe(true);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
      expect(l.slice(0, -1)).not.toMatch(/[\x00-\x1f\x7f]/);
      expect(l).not.toContain(KEY);
      // Escaped, whether by holdout (\x1b) or by JSON (\u001b, the chunk is logged as an array).
      expect(l).toMatch(/\\(x1b|u001b)\]0;pwned\\(x07|u0007)/);
    }
  });

  it('an unknown level is off; long messages are cut', () => {
    const lines: string[] = [];
    const off = sdkLogging({ env: { OPENAI_LOG: 'verbose' }, sdkLog: (l) => lines.push(l) });
    expect(off.logLevel).toBe('off');
    const on = sdkLogging({ env: { OPENAI_LOG: 'DEBUG' }, sdkLog: (l) => lines.push(l) });
    expect(on.logLevel).toBe('debug');
    on.logger.debug('request', { body: 'x'.repeat(5000) });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(2100);
    expect(lines[0]).toMatch(/^openai debug: request \{"body":"x+… \(cut\)\n$/);
  });
});
