import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../../harness/providers/openai.js';
import { type ChunkCheck, pooledFetch, pooledFetchWith } from '../../harness/providers/transport.js';

/**
 * holdout's transport against a small server: what the SDK reads of a response is what the global
 * fetch gives, the same error classes included (so the provider classifies failures as before).
 */
let server: Server;
let base: string;
const seen: { method: string; url: string; body: string; headers: Record<string, unknown> }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, headers: req.headers });
      if (req.url === '/json') {
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-request-id': 'req_1',
          'set-cookie': ['a=1', 'b=2'],
        });
        res.end(JSON.stringify({ echo: body }));
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify({ zipped: true })));
      } else if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (req.url === '/cut') {
        // Half a stream, then the connection dies: what a dropped connection looks like mid-body.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"a":1}\n\n');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (req.url === '/slow') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"a":1}\n\n');
      } else if (req.url === '/redirect') {
        res.writeHead(307, { location: '/json' });
        res.end();
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"nope","type":"invalid_request_error","code":null}}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('pooledFetch', () => {
  it('posts the body and headers, and answers with status, headers, json() like fetch', async () => {
    const res = await pooledFetch(`${base}/json`, {
      method: 'POST',
      headers: new Headers({ 'Content-Type': 'application/json', 'X-Test': 'yes' }),
      body: '{"q":1}',
    });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req_1');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ echo: '{"q":1}' });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: 'POST', url: '/json', body: '{"q":1}' });
    expect(last.headers['x-test']).toBe('yes');
  });

  it('decodes a body the server compressed anyway; a 204 has no body; a redirect is followed', async () => {
    expect(await (await pooledFetch(`${base}/gzip`)).json()).toEqual({ zipped: true });
    const empty = await pooledFetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const moved = await pooledFetch(`${base}/redirect`);
    expect(moved.status).toBe(200);
    expect(await moved.json()).toEqual({ echo: '' });
  });

  it('a connection refused rejects with TypeError("fetch failed"), classified as a connection error', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const err = await pooledFetch(`http://127.0.0.1:${port}/x`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('fetch failed');
    expect((err as Error).cause).toBeDefined();
  });

  it('a body cut off mid-way throws TypeError("terminated"), classified as a retryable connection error', async () => {
    const res = await pooledFetch(`${base}/cut`);
    const chunks: string[] = [];
    const err = await (async () => {
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>)
        chunks.push(Buffer.from(c).toString());
    })().catch((e: unknown) => e);
    expect(chunks.join('')).toContain('data: {"a":1}');
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('terminated');
    expect(classifyError(err)).toMatchObject({ retry: true, kind: 'connection' });
  });

  it('an abort mid-body throws the signal’s reason (an AbortError), as fetch does', async () => {
    const controller = new AbortController();
    const res = await pooledFetch(`${base}/slow`, { signal: controller.signal });
    const it = (res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    const err = await it.next().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });

  it('serves the SDK: a 404 becomes the SDK’s NotFoundError with the body’s message', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0, fetch: pooledFetch });
    const err = await client.models.retrieve('m').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as Error).message).toContain('nope');
  });

  it('leaves a multipart upload to the global fetch', async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    const res = await pooledFetch(`${base}/json`, { method: 'POST', body: form });
    expect(res).toBeInstanceOf(Response);
    const echoed = ((await res.json()) as { echo: string }).echo;
    expect(echoed).toContain('name="purpose"');
  });

  describe('pooledFetchWith: a check on each chunk of the body', () => {
    /** Refuses the first chunk that holds `word`; counts the chunks it saw. */
    const refusing = (word: string) => {
      const saw: string[] = [];
      const check: ChunkCheck = (chunk) => {
        saw.push(Buffer.from(chunk).toString());
        return saw.at(-1)!.includes(word) ? new SyntaxError(`refused: ${word}`) : undefined;
      };
      return { saw, check };
    };
    const read = async (res: Response) => {
      const out: string[] = [];
      const err = await (async () => {
        for await (const c of res.body as unknown as AsyncIterable<Uint8Array>)
          out.push(Buffer.from(c).toString());
      })().catch((e: unknown) => e);
      return { out, err };
    };

    it('passes the chunks it lets through as they are, and ends the body with the error it returns', async () => {
      const pass = refusing('nothing-like-this');
      const ok = await read(await pooledFetchWith(() => pass.check)(`${base}/json`));
      expect(ok.err).toBeUndefined();
      expect(ok.out.join('')).toBe(JSON.stringify({ echo: '' }));
      expect(pass.saw.join('')).toBe(ok.out.join(''));

      const refuse = refusing('"a":1');
      const res = await pooledFetchWith(() => refuse.check)(`${base}/slow`);
      const got = await read(res);
      // The server never ends /slow: the error comes from the check, and the read does not hang.
      expect(got.out).toEqual([]);
      expect(got.err).toBeInstanceOf(SyntaxError);
      expect((got.err as Error).message).toBe('refused: "a":1');
    });

    it('checks json() and text() too, and a body off the pooled path (the global fetch)', async () => {
      const refuse = refusing('echo');
      const viaJson = await pooledFetchWith(() => refuse.check)(`${base}/json`)
        .then((r) => r.json())
        .catch((e: unknown) => e);
      expect((viaJson as Error).message).toBe('refused: echo');

      const form = new FormData();
      form.append('purpose', 'batch');
      const off = await pooledFetchWith(() => refusing('echo').check)(`${base}/json`, {
        method: 'POST',
        body: form,
      });
      expect(off).toBeInstanceOf(Response);
      expect(((await read(off)).err as Error).message).toBe('refused: echo');
    });

    it('asks for a check per request; without one the body is read as pooledFetch reads it', async () => {
      const asked: (string | undefined)[] = [];
      const f = pooledFetchWith((init) => {
        asked.push(init?.method);
        return undefined;
      });
      const { out, err } = await read(await f(`${base}/json`, { method: 'POST', body: 'x' }));
      expect(err).toBeUndefined();
      expect(out.join('')).toBe(JSON.stringify({ echo: 'x' }));
      expect(asked).toEqual(['POST']);
    });
  });
});
