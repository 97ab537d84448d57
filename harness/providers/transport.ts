import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, request } from 'undici';

/**
 * The HTTP transport under the SDK: a `fetch` for `new OpenAI({ fetch })` built on undici's
 * `request` over one pooled keep-alive Agent, answering with a Response-shaped object whose body
 * is a Node stream. Node's global fetch is the same undici underneath, but it turns every body into
 * a WHATWG stream and walks the fetch spec's steps per request: in the benchmark (README, sections b
 * and g) that was about half of the SDK's CPU per call (a streamed call: ~1.0 ms there, ~0.5 ms here).
 *
 * What the SDK reads of a Response (status, ok, headers, body as an async iterable, json(), text())
 * behaves as the global fetch's does, errors included: a request that fails before its response
 * rejects with `TypeError('fetch failed')`, a body cut off mid-way with `TypeError('terminated')`
 * (each with the undici error as `cause`), an abort with the signal's reason. Anything off the hot
 * path (a multipart upload, a stream body, a redirect) goes to the global fetch unchanged.
 */
export const pooledFetch: typeof fetch = (input, init) => send(input, init, undefined);

/**
 * Looks at each chunk of a response body as the reader gets it; an Error it returns ends the body
 * with that error instead of the chunk (the request is ended too).
 */
export type ChunkCheck = (chunk: Uint8Array) => Error | undefined;

/**
 * `pooledFetch` whose response bodies are read through the check that `checkFor` gives for the
 * request (a new one per request, so it may keep state across chunks; none: the body as it is).
 * The check runs inside the body's own iterator (how the SDK reads a stream), not in a second
 * wrapper around it; on the pooled path `json()` and `text()` read through it too, while a response
 * of the global fetch (the paths off the pooled one) is checked when its body is iterated.
 */
export function pooledFetchWith(
  checkFor: (init: RequestInit | undefined) => ChunkCheck | undefined,
): typeof fetch {
  return (input, init) => send(input, init, checkFor(init));
}

async function send(
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
  check: ChunkCheck | undefined,
): Promise<Response> {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
  const body = init?.body;
  const plainBody =
    body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
  if (url === undefined || !plainBody || init?.redirect === 'manual' || init?.redirect === 'error')
    return checked(await fetch(input, init), check);
  const signal = init?.signal ?? undefined;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: (init?.method ?? 'GET') as 'GET',
      headers: plainHeaders(init?.headers),
      body: body as string | Uint8Array | null | undefined,
      signal,
      dispatcher: agent(),
    });
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    throw new TypeError('fetch failed', { cause: err });
  }
  const { statusCode: status, headers: raw } = res;
  if (status >= 300 && status < 400 && raw.location !== undefined) {
    // The API never redirects; a proxy in front of it might. The global fetch follows it as before.
    discard(res.body);
    return checked(await fetch(input, init), check);
  }
  const noBody = status === 204 || status === 304 || init?.method === 'HEAD';
  if (noBody) discard(res.body);
  const response = new PooledResponse(
    url,
    status,
    toHeaders(raw),
    noBody ? null : decoded(res.body, raw),
    signal,
    check,
  );
  return response as unknown as Response;
}

/** A global fetch's response (the paths off the pooled one), its body read through `check`. */
function checked(res: Response, check: ChunkCheck | undefined): Response {
  const body = res.body;
  if (check && body) stepThrough(body, (it) => () => it.next().then((r) => passed(r, check, it)));
  return res;
}

type Body = { [Symbol.asyncIterator](): AsyncIterator<Uint8Array> };

/**
 * Replaces a body's async iterator (what the SDK reads a stream with) by one whose `next` is
 * `step` over the original. Kept on the body itself, not a wrapper object: a reader that cancels a
 * body calls its iterator's return(), which reaches the original.
 */
function stepThrough(
  body: Body,
  step: (it: AsyncIterator<Uint8Array>) => () => Promise<IteratorResult<Uint8Array>>,
): void {
  const iterate = body[Symbol.asyncIterator].bind(body);
  Object.defineProperty(body, Symbol.asyncIterator, {
    configurable: true,
    value: () => {
      const it = iterate();
      const wrapped: AsyncIterableIterator<Uint8Array> = {
        next: step(it),
        return: async () => {
          await it.return?.(undefined);
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]: () => wrapped,
      };
      return wrapped;
    },
  });
}

/** A chunk the check lets through (as it is, no extra promise), or its error once the body is ended. */
function passed(
  r: IteratorResult<Uint8Array>,
  check: ChunkCheck,
  it: AsyncIterator<Uint8Array>,
): IteratorResult<Uint8Array> | Promise<never> {
  if (r.done) return r;
  const refused = check(r.value);
  if (refused === undefined) return r;
  return Promise.resolve(it.return?.(undefined)).then(() => {
    throw refused;
  });
}

/** Reads an unwanted body to its end (undici's way: destroying it aborts the request, loudly). */
function discard(body: Awaited<ReturnType<typeof request>>['body']): void {
  body.dump().catch(() => {});
}

let shared: Agent | undefined;

/**
 * One pool for the process: every endpoint's client shares its keep-alive connections per origin.
 * Timeouts are undici's defaults, as the global fetch has them (5 min for headers and between body
 * chunks); holdout's own per-attempt timeout (harness/run/attempt.ts) is what a call is held to.
 * Idle sockets are unreferenced by undici, so the pool never keeps the process alive.
 */
function agent(): Agent {
  shared ??= new Agent({ keepAliveTimeout: 10_000, connections: null });
  return shared;
}

type HeadersInput = NonNullable<RequestInit['headers']>;

function plainHeaders(h: HeadersInput | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) {
    h.forEach((v, k) => {
      out[k] = v;
    });
  } else if (Array.isArray(h)) {
    for (const [k, v] of h) out[k!.toLowerCase()] = v!;
  } else {
    for (const k of Object.keys(h)) out[k.toLowerCase()] = (h as Record<string, string>)[k]!;
  }
  return out;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const h = new Headers();
  for (const k of Object.keys(raw)) {
    const v = raw[k];
    if (typeof v === 'string') h.append(k, v);
    else if (v) for (const x of v) h.append(k, x);
  }
  return h;
}

/** A body the server compressed anyway (nothing here asks for it: no Accept-Encoding is sent). */
function decoded(body: Readable, raw: Record<string, string | string[] | undefined>): Readable {
  const enc = String(raw['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  const decoder =
    enc === 'gzip' || enc === 'x-gzip'
      ? createGunzip()
      : enc === 'deflate'
        ? createInflate()
        : enc === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return body;
  pipeline(body, decoder, () => {});
  return decoder;
}

/** The part of a fetch Response that the SDK and holdout read, over a Node stream. */
class PooledResponse {
  readonly ok: boolean;
  readonly statusText = '';
  readonly redirected = false;
  readonly type = 'basic';
  bodyUsed = false;
  readonly body: AsyncIterable<Uint8Array> | null;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: Headers,
    stream: Readable | null,
    signal: AbortSignal | undefined,
    check: ChunkCheck | undefined,
  ) {
    this.ok = status >= 200 && status < 300;
    this.body = stream ? fetchErrors(stream, signal, check) : null;
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.bytes()], { type: this.headers.get('content-type') ?? '' });
  }

  private async bytes(): Promise<Buffer> {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.bodyUsed = true;
    if (!this.body) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for await (const chunk of this.body) parts.push(chunk as Buffer);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/**
 * The stream's own async iterator (what the SDK reads SSE with), its errors made the global
 * fetch's: `TypeError('terminated')` for a connection lost mid-body (what the provider classifies as
 * a retryable connection error), the signal's reason after an abort. Each chunk passes `check`,
 * when there is one, in the same step.
 */
function fetchErrors(
  stream: Readable,
  signal: AbortSignal | undefined,
  check: ChunkCheck | undefined,
): AsyncIterable<Uint8Array> {
  const map = (err: unknown): unknown => {
    if (signal?.aborted) return signal.reason ?? err;
    return new TypeError('terminated', { cause: err });
  };
  const failed = (err: unknown) => Promise.reject(map(err));
  stepThrough(stream, (it) =>
    check ? () => it.next().then((r) => passed(r, check, it), failed) : () => it.next().catch(failed),
  );
  return stream as AsyncIterable<Uint8Array>;
}
