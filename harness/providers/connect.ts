import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import OpenAI, { AzureOpenAI } from 'openai';
import type { Logger, LogLevel } from 'openai/client';
import type { ApiStyle } from '../../datasets/record.js';
import type { Clock } from '../clock.js';
import { SIMULATOR } from '../config.js';
import { type AzureConfig, envRefs, expandEnv, keyEnvOf } from '../endpoint-config.js';
import { HarnessError } from '../errors.js';
import { registerSecret, safeErrorText } from '../secrets.js';
import type { Provider } from './provider.js';
import { openaiProvider } from './openai.js';
import { type ChunkCheck, pooledFetchWith } from './transport.js';
import { loadAnswerKey, type SimProfile, type SimServer, startSimulator } from '../sim/index.js';

/** What a candidate, a judge or a router has in common: where and how to call a model. */
export interface Endpoint {
  /** Names the endpoint in errors: candidate id, judge or router name. */
  id: string;
  model: string;
  api: ApiStyle;
  /** `simulator` for the in-process simulator; default OPENAI_BASE_URL or the SDK's. */
  base_url?: string;
  /**
   * The environment variable holding the key; the key itself is never stored. Default (`keyEnvOf`):
   * OPENAI_API_KEY, AZURE_OPENAI_API_KEY with `azure`, none with Entra ID or an Authorization header.
   */
  api_key_env?: string;
  /** Regional processing: `https://<region>.api.openai.com/v1` unless `base_url` is given. */
  data_residency?: string;
  /** Responses: score `phase: "commentary"` messages too. */
  include_commentary?: boolean;
  /** Azure OpenAI: the resource, the deployment (what is sent; `model` stays the price key), the API version. */
  azure?: AzureConfig;
  /** `OpenAI-Organization` and `OpenAI-Project`; default OPENAI_ORG_ID and OPENAI_PROJECT_ID. */
  organization?: string;
  project?: string;
  /** Extra headers and query parameters; `${env:NAME}` in a value is read from the environment. */
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** Per attempt, in place of the run's timeout. */
  timeout_ms?: number;
}

/** The Azure OpenAI client's own options (a dated API version): `new AzureOpenAI` takes them. */
export interface AzureClientOptions {
  apiVersion: string;
  deployment: string;
  /** An Entra ID token per request (then `apiKey` is unused). */
  azureADTokenProvider?: () => Promise<string>;
}

export type MakeClient = (opts: {
  /** A key, or a function giving a token per request (Entra ID on the v1 API). */
  apiKey: string | (() => Promise<string>);
  baseURL?: string;
  timeout: number;
  organization: string | null;
  project: string | null;
  /** The endpoint's `headers` and `query`, environment references read. */
  defaultHeaders?: Record<string, string | null>;
  defaultQuery?: Record<string, string>;
  /** Set for an Azure endpoint on a dated API version: build `new AzureOpenAI` with these. */
  azure?: AzureClientOptions;
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
  /**
   * Injected for tests: gives Entra ID tokens for `scope` (default: `@azure/identity`'s
   * DefaultAzureCredential, when that package is installed; holdout does not depend on it).
   */
  entraTokens?: (scope: string) => () => Promise<string>;
}

/**
 * The SDK client of an endpoint: the in-process simulator for `base_url: simulator`, else the key
 * from the environment (never from a config or the database) and the endpoint's or the default URL;
 * an Azure endpoint through the SDK's Azure client (dated API version) or at `{endpoint}/openai/v1`.
 * Headers and query parameters are the endpoint's, their `${env:NAME}` read now. SDK retries are
 * off: holdout retries itself.
 */
export function endpointClient(e: Endpoint, ctx: ConnectContext): OpenAI {
  let apiKey: string | (() => Promise<string>);
  let baseURL: string | undefined;
  let azure: AzureClientOptions | undefined;
  const extras = requestExtras(e, ctx.env);
  if (e.base_url === SIMULATOR) {
    if (!ctx.simUrl) throw new Error(`${e.id}: the simulator was not started`);
    apiKey = 'simulator';
    baseURL = ctx.simUrl;
  } else if (e.azure) {
    const a = e.azure;
    const token = entraToken(e, a, ctx);
    // An Authorization header from `headers` is refused with azure:, so a key or a token it is.
    apiKey = token ?? endpointKey(e, ctx.env) ?? '';
    const resource = a.endpoint.replace(/\/+$/, '');
    if (a.api_version === 'v1') {
      // The OpenAI v1 API: the plain client, key (or Entra ID token) as a Bearer token, the
      // deployment as the body's model.
      baseURL = `${resource}/openai/v1`;
    } else {
      // Given as baseURL, not endpoint: the SDK would otherwise also read OPENAI_BASE_URL from the
      // process environment and refuse the pair.
      baseURL = `${resource}/openai`;
      azure = {
        apiVersion: a.api_version,
        deployment: a.deployment,
        ...(token ? { azureADTokenProvider: token } : {}),
      };
    }
  } else {
    // No key variable: an Authorization or api-key header from `headers` carries the credential.
    // The SDK still wants a key: an Authorization header replaces the one it would send, and with an
    // api-key header alone its Authorization is removed, so that the placeholder never goes out.
    const key = endpointKey(e, ctx.env);
    apiKey = key ?? 'unused';
    if (
      key === undefined &&
      !Object.keys(extras.defaultHeaders ?? {}).some((h) => /^authorization$/i.test(h))
    ) {
      extras.defaultHeaders = { ...extras.defaultHeaders, Authorization: null };
    }
    baseURL =
      e.base_url ??
      (e.data_residency ? `https://${e.data_residency}.api.openai.com/v1` : undefined) ??
      ctx.env.OPENAI_BASE_URL ??
      undefined;
  }
  const make = ctx.makeClient ?? defaultMakeClient;
  return make({
    apiKey,
    baseURL,
    timeout: e.timeout_ms ?? ctx.timeoutMs,
    // From holdout's environment, not the SDK's own reading of process.env: one source for both.
    organization: e.organization ?? (ctx.env.OPENAI_ORG_ID || null),
    project: e.project ?? (ctx.env.OPENAI_PROJECT_ID || null),
    ...extras,
    ...(azure ? { azure } : {}),
    ...sdkLogging(ctx),
    fetch: guardedFetch,
  });
}

const defaultMakeClient: MakeClient = ({ azure, ...o }) =>
  azure
    ? new AzureOpenAI({
        ...o,
        ...(azure.azureADTokenProvider
          ? { apiKey: undefined, azureADTokenProvider: azure.azureADTokenProvider }
          : { apiKey: o.apiKey as string }),
        apiVersion: azure.apiVersion,
        deployment: azure.deployment,
        maxRetries: 0,
      })
    : new OpenAI({ ...o, maxRetries: 0 });

/** The endpoint's key from the environment, registered for scrubbing; undefined when it needs none. */
function endpointKey(e: Endpoint, env: NodeJS.ProcessEnv): string | undefined {
  const name = keyEnvOf(e);
  if (name === undefined) return undefined;
  const key = env[name];
  if (!key) {
    throw new HarnessError('PROVIDER_AUTH', `"${e.id}": environment variable ${name} is not set`, {
      hint: `export ${name}=… (the key is read from the environment only, never from a config or the database)`,
    });
  }
  // Scrubbed from every error text from now on: an endpoint may echo it back.
  registerSecret(key);
  return key;
}

/** The scope of Azure OpenAI's Entra ID tokens. */
export const AZURE_OPENAI_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** An Entra ID token provider for an Azure endpoint that uses one; every token it gives is scrubbed. */
function entraToken(e: Endpoint, a: AzureConfig, ctx: ConnectContext): (() => Promise<string>) | undefined {
  if (a.entra_token_env !== undefined) {
    const token = ctx.env[a.entra_token_env];
    if (!token) {
      throw new HarnessError(
        'PROVIDER_AUTH',
        `"${e.id}": environment variable ${a.entra_token_env} (azure.entra_token_env) is not set`,
        {
          hint: `export ${a.entra_token_env}=$(az account get-access-token --resource https://cognitiveservices.azure.com --query accessToken -o tsv)`,
        },
      );
    }
    registerSecret(token);
    return async () => token;
  }
  if (a.entra_id !== true) return undefined;
  const inner = (ctx.entraTokens ?? identityTokens(e.id))(AZURE_OPENAI_SCOPE);
  return async () => {
    const token = await inner();
    registerSecret(token);
    return token;
  };
}

const IDENTITY_PACKAGE = '@azure/identity';

/**
 * Tokens from `@azure/identity` (DefaultAzureCredential: environment, workload or managed identity,
 * Azure CLI login), loaded only when an endpoint asks for Entra ID. holdout does not depend on it: a
 * missing package is a clear error here, before any call.
 */
function identityTokens(id: string): (scope: string) => () => Promise<string> {
  try {
    createRequire(import.meta.url).resolve(IDENTITY_PACKAGE);
  } catch {
    throw new HarnessError(
      'CONFIG_INVALID',
      `"${id}": azure.entra_id needs the ${IDENTITY_PACKAGE} package, which is not installed`,
      {
        hint: `npm install ${IDENTITY_PACKAGE} next to holdout, or give a token instead: azure.entra_token_env: AZURE_OPENAI_AD_TOKEN`,
      },
    );
  }
  return (scope) => {
    let provider: Promise<() => Promise<string>> | undefined;
    return async () => {
      provider ??= (import(IDENTITY_PACKAGE) as Promise<IdentityModule>).then((m) =>
        m.getBearerTokenProvider(new m.DefaultAzureCredential(), scope),
      );
      return (await provider)();
    };
  };
}

/** The part of `@azure/identity` used here. */
interface IdentityModule {
  DefaultAzureCredential: new () => unknown;
  getBearerTokenProvider(credential: unknown, scope: string): () => Promise<string>;
}

/**
 * The endpoint's `headers` and `query` with their `${env:NAME}` read from the environment; every
 * value read is registered for scrubbing. A variable that is not set is an error naming the field.
 */
export function requestExtras(
  e: Pick<Endpoint, 'id' | 'headers' | 'query'>,
  env: NodeJS.ProcessEnv,
): { defaultHeaders?: Record<string, string | null>; defaultQuery?: Record<string, string> } {
  const read = (map: Record<string, string> | undefined, field: string) => {
    if (map === undefined || Object.keys(map).length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const [name, template] of Object.entries(map)) {
      const { value, missing } = expandEnv(template, env);
      if (missing.length > 0) {
        throw new HarnessError(
          'PROVIDER_AUTH',
          `"${e.id}": environment variable ${missing.join(', ')} (${field}.${name}) is not set`,
          { hint: `export ${missing[0]}=… (values named by \${env:…} are read from the environment only)` },
        );
      }
      for (const name of envRefs(template)) registerSecret(env[name]);
      out[name] = value;
    }
    return out;
  };
  const defaultHeaders = read(e.headers, 'headers');
  const defaultQuery = read(e.query, 'query');
  return { ...(defaultHeaders ? { defaultHeaders } : {}), ...(defaultQuery ? { defaultQuery } : {}) };
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
 *
 * Only a streamed request's body is scanned: the SDK parses SSE only when it asked for a stream,
 * whose JSON body then holds `"stream":true` (a string value cannot hold that sequence: every quote
 * in it is escaped), so an answer read as JSON never pays for the scan.
 */
export const guardedFetch: typeof fetch = pooledFetchWith((init) =>
  // The pooled transport (transport.ts): the global fetch's behaviour at half its CPU per call.
  asksForStream(init?.body) ? threadEventCheck() : undefined,
);

/** Whether a request body may ask for a stream; anything but a JSON string is taken as one. */
function asksForStream(body: RequestInit['body']): boolean {
  return typeof body !== 'string' || body.includes('"stream":true');
}

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
 * Scans a stream chunk by chunk for an Assistants event line, one split between chunks (however
 * small) included: the last MATCH_BYTES of the stream so far are kept, and their joint with the
 * next chunk's head is scanned too. Two small buffers per stream, none per chunk.
 */
export function threadEventScanner(): (chunk: Uint8Array) => boolean {
  const tail = Buffer.alloc(MATCH_BYTES);
  const joint = Buffer.alloc(2 * MATCH_BYTES);
  let tailLength = 0;
  let seen = 0;
  return (chunk) => {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const atStart = seen === 0;
    // The tail begins a line only if it is the whole stream so far.
    const jointAtStart = seen === tailLength;
    seen += b.length;
    let found = hasThreadEvent(b, atStart);
    if (!found && tailLength > 0) {
      tail.copy(joint, 0, 0, tailLength);
      const head = b.copy(joint, tailLength, 0, Math.min(b.length, MATCH_BYTES));
      found = hasThreadEvent(joint.subarray(0, tailLength + head), jointAtStart);
    }
    // The new tail: the last MATCH_BYTES of (old tail + chunk).
    if (b.length >= MATCH_BYTES) {
      tailLength = b.copy(tail, 0, b.length - MATCH_BYTES);
    } else {
      const keep = Math.min(tailLength, MATCH_BYTES - b.length);
      tail.copy(tail, 0, tailLength - keep, tailLength);
      tailLength = keep + b.copy(tail, keep);
    }
    return found;
  };
}

/** The guard's check of one stream (transport.ts reads each chunk through it). */
function threadEventCheck(): ChunkCheck {
  const found = threadEventScanner();
  return (chunk) =>
    found(chunk)
      ? new SyntaxError(
          'malformed stream: an Assistants event (event: thread.…) in a Chat Completions or Responses stream',
        )
      : undefined;
}

/** The endpoint's client wrapped as a Provider (one attempt per call; the runner owns retries). */
export function connectEndpoint(e: Endpoint, ctx: ConnectContext): Provider {
  return openaiProvider(endpointClient(e, ctx), {
    api: e.api,
    clock: ctx.clock,
    includeCommentary: e.include_commentary ?? false,
    // Azure is asked for the deployment; `model` stays what the call is priced and reported as.
    ...(e.azure ? { sendModel: e.azure.deployment } : {}),
    ...(e.timeout_ms !== undefined ? { timeoutMs: e.timeout_ms } : {}),
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
