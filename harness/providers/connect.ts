import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { Logger, LogLevel } from 'openai/client';
import type { ApiStyle } from '../../datasets/record.js';
import type { Clock } from '../clock.js';
import { SIMULATOR } from '../config.js';
import { HarnessError } from '../errors.js';
import { registerSecret, safeErrorText } from '../secrets.js';
import type { Provider } from './provider.js';
import { openaiProvider } from './openai.js';
import { loadAnswerKey, type SimProfile, type SimServer, startSimulator } from '../sim/index.js';

/** What a candidate, a judge or a router has in common: where and how to call a model. */
export interface Endpoint {
  /** Names the endpoint in errors: candidate id, judge or router name. */
  id: string;
  model: string;
  api: ApiStyle;
  /** `simulator` for the in-process simulator; default OPENAI_BASE_URL or the SDK's. */
  base_url?: string;
  /** The environment variable holding the key; the key itself is never stored. */
  api_key_env: string;
  /** Regional processing: `https://<region>.api.openai.com/v1` unless `base_url` is given. */
  data_residency?: string;
  /** Responses: score `phase: "commentary"` messages too. */
  include_commentary?: boolean;
}

export type MakeClient = (opts: {
  apiKey: string;
  baseURL?: string;
  timeout: number;
  /** The SDK's logging, routed through holdout (`sdkLogging`): pass both on to `new OpenAI`. */
  logger: Logger;
  logLevel: LogLevel;
  /** Fetch with the SSE guard (`guardedFetch`): pass it on to `new OpenAI`. */
  fetch: typeof fetch;
}) => OpenAI;

export interface ConnectContext {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  timeoutMs: number;
  /** The in-process simulator's URL, when one was started. */
  simUrl?: string;
  /** Injected for tests: builds the SDK client (default: the real one over HTTP, SDK retries off). */
  makeClient?: MakeClient;
  /** Where the SDK's own log lines go when OPENAI_LOG asks for them (default: process stderr). */
  sdkLog?: (line: string) => void;
}

/**
 * The SDK client of an endpoint: the in-process simulator for `base_url: simulator`, else the key
 * from the environment (never from a config or the database) and the endpoint's or the default URL.
 * SDK retries are off: holdout retries itself.
 */
export function endpointClient(e: Endpoint, ctx: ConnectContext): OpenAI {
  let apiKey: string;
  let baseURL: string | undefined;
  if (e.base_url === SIMULATOR) {
    if (!ctx.simUrl) throw new Error(`${e.id}: the simulator was not started`);
    apiKey = 'simulator';
    baseURL = ctx.simUrl;
  } else {
    const key = ctx.env[e.api_key_env];
    if (!key) {
      throw new HarnessError('PROVIDER_AUTH', `"${e.id}": environment variable ${e.api_key_env} is not set`, {
        hint: `export ${e.api_key_env}=… (the key is read from the environment only, never from a config or the database)`,
      });
    }
    apiKey = key;
    // Scrubbed from every error text from now on: an endpoint may echo it back.
    registerSecret(key);
    baseURL =
      e.base_url ??
      (e.data_residency ? `https://${e.data_residency}.api.openai.com/v1` : undefined) ??
      ctx.env.OPENAI_BASE_URL ??
      undefined;
  }
  const make = ctx.makeClient ?? ((o) => new OpenAI({ ...o, maxRetries: 0 }));
  return make({ apiKey, baseURL, timeout: ctx.timeoutMs, ...sdkLogging(ctx), fetch: guardedFetch });
}

const SDK_LOG_LEVELS: readonly LogLevel[] = ['off', 'error', 'warn', 'info', 'debug'];
/** One SDK log line at most this long once escaped: a debug line can hold a whole request body. */
const SDK_LOG_MAX_CHARS = 2000;

/**
 * The SDK's logging, routed through holdout. Left to itself the SDK logs to `console` at level
 * `warn`: a malformed SSE event prints its raw data twice ("Could not parse message into JSON",
 * "From chunk"), once per failed attempt, on top of the error row holdout records for it, and raw
 * endpoint text can carry escape sequences or an echoed key. Here it is off unless `OPENAI_LOG` (in
 * the environment holdout was given) names a level; then each message is one line, prefixed
 * `openai <level>:`, keys scrubbed, control characters escaped and cut at SDK_LOG_MAX_CHARS.
 */
export function sdkLogging(ctx: Pick<ConnectContext, 'env' | 'sdkLog'>): {
  logger: Logger;
  logLevel: LogLevel;
} {
  const asked = ctx.env.OPENAI_LOG?.trim().toLowerCase();
  const logLevel = SDK_LOG_LEVELS.find((l) => l === asked) ?? 'off';
  const sink = ctx.sdkLog ?? ((line: string) => process.stderr.write(line));
  const at =
    (level: string) =>
    (message: string, ...rest: unknown[]) => {
      const text = [message, ...rest].map(logText).join(' ');
      const safe = safeErrorText(text);
      const cut = safe.length > SDK_LOG_MAX_CHARS ? `${safe.slice(0, SDK_LOG_MAX_CHARS)}… (cut)` : safe;
      sink(`openai ${level}: ${cut}\n`);
    };
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, logLevel };
}

function logText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The SDK's SSE parser has one path that writes to `console.error` whatever its logger: an event
 * named `thread.*` (the Assistants API's) whose data is not JSON gets its raw data and chunk printed
 * before the parse error is thrown. holdout never calls the Assistants API, so such an event in a
 * Chat Completions or Responses stream is a malformed body: `guardedFetch` refuses it before the SDK
 * parses it, as the SyntaxError the provider classifies as `malformed_response` (retried, and
 * recorded once on the call's row when the retries run out). Every other byte passes untouched.
 */
export const guardedFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (res.body) guardStream(res.body);
  return res;
};

const EVENT_FIELD = Buffer.from('event:');
const THREAD_PREFIX = Buffer.from('thread.');
/** Longest match: a line break, `event:`, a space and `thread.`. */
const MATCH_BYTES = 1 + EVENT_FIELD.length + 1 + THREAD_PREFIX.length;

/** Whether `b` holds a line `event:thread.…` or `event: thread.…`; `lineAt0`: b[0] begins a line. */
export function hasThreadEvent(b: Buffer, lineAt0: boolean): boolean {
  for (let i = b.indexOf(EVENT_FIELD); i >= 0; i = b.indexOf(EVENT_FIELD, i + 1)) {
    const lineStart = i === 0 ? lineAt0 : b[i - 1] === 0x0a || b[i - 1] === 0x0d;
    if (!lineStart) continue;
    let j = i + EVENT_FIELD.length;
    if (b[j] === 0x20) j++;
    if (b.subarray(j, j + THREAD_PREFIX.length).equals(THREAD_PREFIX)) return true;
  }
  return false;
}

/**
 * Wraps the body's async iterator (what the SDK reads a stream with) so that each chunk is scanned,
 * with the tail of the one before it, for an Assistants event line. The chunks themselves are
 * passed on as they are: no copy, no extra stream.
 */
function guardStream(body: ReadableStream<Uint8Array>): void {
  const iterate = body[Symbol.asyncIterator].bind(body);
  Object.defineProperty(body, Symbol.asyncIterator, {
    configurable: true,
    value: () => {
      const it = iterate();
      // The last MATCH_BYTES of the stream so far: an event line split between chunks (however small)
      // is found in the joint of that tail and the next chunk's head.
      let tail = Buffer.alloc(0);
      let seen = 0;
      const found = (chunk: Uint8Array): boolean => {
        const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const atStart = seen === 0;
        const jointAtStart = seen === tail.length;
        seen += b.length;
        const joint = tail.length > 0 ? Buffer.concat([tail, b.subarray(0, MATCH_BYTES)]) : undefined;
        tail = Buffer.concat([tail, b.subarray(Math.max(0, b.length - MATCH_BYTES))]);
        tail = tail.subarray(Math.max(0, tail.length - MATCH_BYTES));
        return hasThreadEvent(b, atStart) || (joint !== undefined && hasThreadEvent(joint, jointAtStart));
      };
      const guarded: AsyncIterableIterator<Uint8Array> = {
        async next() {
          const r = await it.next();
          if (!r.done && found(r.value)) {
            await it.return?.(undefined);
            throw new SyntaxError(
              'malformed stream: an Assistants event (event: thread.…) in a Chat Completions or Responses stream',
            );
          }
          return r;
        },
        async return() {
          await it.return?.(undefined);
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return guarded;
        },
      };
      return guarded;
    },
  });
}

/** The endpoint's client wrapped as a Provider (one attempt per call; the runner owns retries). */
export function connectEndpoint(e: Endpoint, ctx: ConnectContext): Provider {
  return openaiProvider(endpointClient(e, ctx), {
    api: e.api,
    clock: ctx.clock,
    includeCommentary: e.include_commentary ?? false,
  });
}

/** Starts the in-process simulator when any endpoint asks for it; the caller closes it. */
export async function startSimulatorIfNeeded(
  endpoints: readonly Endpoint[],
  sim?: { answer_key?: string; profiles?: string },
): Promise<SimServer | undefined> {
  if (!endpoints.some((e) => e.base_url === SIMULATOR)) return undefined;
  const profiles = sim?.profiles
    ? (JSON.parse(readFileSync(sim.profiles, 'utf8')) as Record<string, SimProfile>)
    : undefined;
  return startSimulator({
    answerKey: sim?.answer_key ? loadAnswerKey(sim.answer_key) : undefined,
    profiles,
  });
}
