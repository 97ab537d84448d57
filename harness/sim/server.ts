import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AnswerKey, parseAnswerKey } from './answer.js';
import {
  type BatchReply,
  BatchService,
  type BatchSimOptions,
  type BatchSimStats,
  parseBatchOptions,
} from './batches.js';
import { type FaultRule, parseFaults } from './faults.js';
import { callRoute, RequestLog, type SimRequest } from './wire/compat.js';
import { apiError, assertLoopback, foreignRequest, JSON_TYPE, readBody } from './wire/http.js';
import { DEFAULT_PROFILES, parseProfiles, type SimProfile, servedModelOf } from './profiles.js';
import { Simulator } from './simulator.js';
import type { SimCallLog, SimStats } from './stats.js';
import { parseStoredCompletions, type StoredCompletionSeed, StoredCompletions } from './stored.js';

export interface SimOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost; anything else throws. */
  host?: string;
  profiles?: Record<string, SimProfile>;
  answerKey?: AnswerKey;
  faults?: FaultRule[];
  seed?: number;
  /** Size of the call-log ring; default 10000. */
  logLimit?: number;
  /** Served by GET /v1/chat/completions[/{id}[/messages]] (stored completions, for importers). */
  storedCompletions?: StoredCompletionSeed[];
  /** Batches: creation to `completed` in this many ms (default 50); see sim/batches.ts. */
  batchDelayMs?: number;
  /** Batches expire once this many of their lines are answered (default: never). */
  batchExpireAfter?: number;
  /**
   * Keep the heads (method, path, query, headers) of the last this-many requests for `requests()`:
   * what the endpoint recipes' tests assert. Off (0) by default: the heads hold the keys sent.
   */
  recordRequests?: number;
}

export interface SimServer {
  /** `http://127.0.0.1:PORT/v1`: pass it as the SDK's `baseURL`. */
  url: string;
  port: number;
  stats(): SimStats;
  /** The log entry of one call, by the `x-request-id` it was answered with (while still in the ring). */
  findCall(requestId: string): SimCallLog | undefined;
  setFaults(faults: FaultRule[]): void;
  setAnswerKey(key: AnswerKey): void;
  setProfiles(profiles: Record<string, SimProfile>): void;
  /** Replaces the stored completions the list endpoints serve. */
  setStoredCompletions(items: StoredCompletionSeed[]): void;
  /** The recorded request heads, oldest first (empty unless started with `recordRequests`). */
  requests(): SimRequest[];
  /** Batch timing and expiry, for batches already created too. `expireAfter: undefined` clears it. */
  setBatchOptions(options: Partial<BatchSimOptions>): void;
  /** Files uploaded, batches created and batch lines answered since the start (reset keeps them). */
  batchStats(): BatchSimStats;
  /** Clears counters, the log, the prefix cache and fault counts, and reseeds. */
  reset(): void;
  /** Stops listening and destroys every open socket, hanging calls included. */
  close(): Promise<void>;
}

export async function startSimulator(opts: SimOptions = {}): Promise<SimServer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Expected \`port\` to be an integer from 0 to 65535, got ${port}`);
  }
  const logLimit = opts.logLimit ?? 10_000;
  if (!Number.isInteger(logLimit) || logLimit < 0) {
    throw new RangeError(`Expected \`logLimit\` to be a non-negative integer, got ${logLimit}`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isFinite(seed)) throw new RangeError(`Expected \`seed\` to be a finite number, got ${seed}`);
  const sim = new Simulator({
    seed,
    profiles: parseProfiles(opts.profiles ?? DEFAULT_PROFILES),
    answerKey: parseAnswerKey(opts.answerKey ?? {}),
    faults: parseFaults(opts.faults ?? []),
    logLimit,
  });

  const stored = new StoredCompletions(opts.storedCompletions);
  const batches = new BatchService(
    sim,
    parseBatchOptions({ delayMs: opts.batchDelayMs, expireAfter: opts.batchExpireAfter }),
  );
  const requests = new RequestLog(opts.recordRequests ?? 0);
  const server = createServer((req, res) => route(sim, req, res, stored, batches, requests));
  // Keep client connections alive across bursts; headersTimeout must exceed keepAliveTimeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${addr.port}/v1`,
    port: addr.port,
    stats: () => sim.stats.snapshot(),
    findCall: (id) => sim.stats.find(id),
    setFaults: (f) => sim.setFaults(parseFaults(f)),
    setAnswerKey: (k) => {
      sim.answerKey = parseAnswerKey(k);
    },
    setProfiles: (p) => {
      sim.profiles = parseProfiles(p);
    },
    setStoredCompletions: (items) => stored.set(parseStoredCompletions(items)),
    requests: () => requests.list(),
    setBatchOptions: (o) => batches.setOptions(parseBatchOptions(o)),
    batchStats: () => batches.stats(),
    reset: () => {
      sim.reset();
      requests.clear();
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        sim.abortAll();
      });
      return closing;
    },
  };
}

function route(
  sim: Simulator,
  req: IncomingMessage,
  res: ServerResponse,
  stored: StoredCompletions,
  batches: BatchService,
  requests: RequestLog,
): void {
  const start = performance.now();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  requests.add(req, path, q < 0 ? '' : url.slice(q + 1));
  const foreign = foreignRequest(req.headers);
  if (foreign !== undefined) {
    // Cross-origin (a web page) or DNS rebinding: the simulator and its /__sim controls serve this machine only.
    req.resume();
    const payload = JSON.stringify(apiError(`Forbidden: ${foreign}.`, 'invalid_request_error', 'forbidden'));
    res.writeHead(403, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
    return;
  }
  const call = method === 'POST' ? callRoute(path) : undefined;
  if (call) {
    sim.handleCall(req, res, call.api, start, call, q < 0 ? '' : url.slice(q + 1));
    return;
  }
  const reply = (status: number, body: unknown) => {
    const payload = JSON.stringify(body);
    const headers = sim.headers(sim.newIds().requestId, start, JSON_TYPE);
    headers['content-length'] = Buffer.byteLength(payload);
    res.writeHead(status, headers);
    res.end(payload);
  };
  if (path.startsWith('/__sim/')) {
    control(sim, req, path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), reply, stored, batches);
    return;
  }
  const batchReply = batches.route(method, path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), req);
  if (batchReply) {
    const send = (r: BatchReply) => {
      if (!('raw' in r)) {
        reply(r.status, r.body);
        return;
      }
      const headers = sim.headers(sim.newIds().requestId, start, r.contentType);
      headers['content-length'] = r.raw.length;
      res.writeHead(r.status, headers);
      res.end(r.raw);
    };
    batchReply.then(send, (err: unknown) =>
      reply(500, apiError(`holdout simulator bug: ${String(err)}`, 'server_error', 'simulator_bug')),
    );
    return;
  }
  const storedReply =
    method === 'GET'
      ? stored.route(path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), req.headers.authorization)
      : undefined;
  if (storedReply) {
    req.resume();
    reply(storedReply.status, storedReply.body);
    return;
  }
  if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) {
    if (!/^Bearer \S/.test(req.headers.authorization ?? '')) {
      reply(401, apiError("You didn't provide an API key.", 'invalid_request_error', 'invalid_api_key'));
      return;
    }
    const models = Object.entries(sim.profiles).map(([id, p]) => ({
      id,
      object: 'model' as const,
      created: 1773705600, // 2026-03-17, the default snapshot date
      owned_by: 'holdout-simulator',
      served_model: servedModelOf(id, p),
    }));
    if (path === '/v1/models') {
      reply(200, { object: 'list', data: models });
      return;
    }
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    const model = models.find((m) => m.id === id);
    if (model) reply(200, model);
    else
      reply(404, apiError(`The model \`${id}\` does not exist.`, 'invalid_request_error', 'model_not_found'));
    return;
  }
  req.resume();
  reply(404, apiError(`Invalid URL (${method} ${path})`));
}

/**
 * Control endpoints for a simulator in another process (benchmarks, `holdout sim`). Not under
 * /v1 and not counted in the stats.
 */
function control(
  sim: Simulator,
  req: IncomingMessage,
  path: string,
  query: URLSearchParams,
  reply: (status: number, body: unknown) => void,
  stored: StoredCompletions,
  batches: BatchService,
): void {
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/__sim/batches') {
    reply(200, batches.stats());
    return;
  }
  if (method === 'GET' && path === '/__sim/stats') {
    const withLog = query.get('log') !== '0' && query.get('log') !== 'false';
    reply(200, sim.stats.snapshot(withLog));
    return;
  }
  if (method === 'GET' && path.startsWith('/__sim/calls/')) {
    const entry = sim.stats.find(decodeURIComponent(path.slice('/__sim/calls/'.length)));
    if (entry) reply(200, entry);
    else reply(404, apiError('No such request id in the call log.', 'invalid_request_error', 'not_found'));
    return;
  }
  const setters: Record<string, (body: unknown) => void> = {
    '/__sim/faults': (b) => sim.setFaults(parseFaults(b)),
    '/__sim/answer-key': (b) => {
      sim.answerKey = parseAnswerKey(b);
    },
    '/__sim/profiles': (b) => {
      sim.profiles = parseProfiles(b);
    },
    '/__sim/reset': () => sim.reset(),
    '/__sim/stored': (b) => stored.set(parseStoredCompletions(b)),
    '/__sim/batch': (b) => batches.setOptions(parseBatchOptions(b)),
  };
  const set = method === 'POST' ? setters[path] : undefined;
  if (!set) {
    req.resume();
    reply(404, apiError(`Invalid URL (${method} ${path})`));
    return;
  }
  readBody(req, (text) => {
    if (text === undefined) {
      reply(413, apiError('The request body is too large.'));
      return;
    }
    // Faults are an array, so parse here rather than with parseObject (objects only).
    let body: unknown;
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      reply(400, apiError('The request body is not valid JSON.'));
      return;
    }
    try {
      set(body);
      reply(200, { ok: true });
    } catch (err) {
      reply(400, apiError(err instanceof Error ? err.message : String(err)));
    }
  });
}
