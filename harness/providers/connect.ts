import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { ApiStyle } from '../../datasets/record.js';
import type { Clock } from '../clock.js';
import { SIMULATOR } from '../config.js';
import { HarnessError } from '../errors.js';
import { registerSecret } from '../secrets.js';
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

export type MakeClient = (opts: { apiKey: string; baseURL?: string; timeout: number }) => OpenAI;

export interface ConnectContext {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  timeoutMs: number;
  /** The in-process simulator's URL, when one was started. */
  simUrl?: string;
  /** Injected for tests: builds the SDK client (default: the real one over HTTP, SDK retries off). */
  makeClient?: MakeClient;
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
  return make({ apiKey, baseURL, timeout: ctx.timeoutMs });
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
