import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { type ApiErrorBody, apiError } from './http.js';

/**
 * Where the servers holdout's recipes name take a model call, so that a config written for one of
 * them can be pointed at the simulator unchanged but for the host (docs/endpoints.md):
 *
 * - `/v1/…`: api.openai.com, vLLM, Ollama, a LiteLLM proxy called at `/v1`;
 * - `/…` at the root: a LiteLLM proxy whose base URL has no path;
 * - `/api/v1/…`: OpenRouter;
 * - `/openai/v1/…`: Azure OpenAI's v1 API;
 * - `/openai/deployments/{deployment}/chat/completions` and `/openai/responses`, each with
 *   `?api-version=`: Azure OpenAI's dated API versions (the SDK's AzureOpenAI client).
 */
export interface CallRoute {
  api: 'chat' | 'responses';
  /** An Azure path: the key may come as `api-key` instead of a Bearer token. */
  azure: boolean;
  /** Azure's deployment from the path: the model answered, whatever the body says. */
  deployment?: string;
  /** Azure's dated paths answer only with an `api-version` query parameter. */
  needsApiVersion: boolean;
}

const PLAIN: Readonly<Record<string, CallRoute>> = {
  '/v1/chat/completions': { api: 'chat', azure: false, needsApiVersion: false },
  '/v1/responses': { api: 'responses', azure: false, needsApiVersion: false },
  '/chat/completions': { api: 'chat', azure: false, needsApiVersion: false },
  '/responses': { api: 'responses', azure: false, needsApiVersion: false },
  '/api/v1/chat/completions': { api: 'chat', azure: false, needsApiVersion: false },
  '/api/v1/responses': { api: 'responses', azure: false, needsApiVersion: false },
  '/openai/v1/chat/completions': { api: 'chat', azure: true, needsApiVersion: false },
  '/openai/v1/responses': { api: 'responses', azure: true, needsApiVersion: false },
  '/openai/responses': { api: 'responses', azure: true, needsApiVersion: true },
};

const DEPLOYMENT_CHAT = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;

/** The model call a POST to `path` is, or undefined. */
export function callRoute(path: string): CallRoute | undefined {
  const plain = PLAIN[path];
  if (plain) return plain;
  const m = DEPLOYMENT_CHAT.exec(path);
  if (!m) return undefined;
  let deployment: string;
  try {
    deployment = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  return { api: 'chat', azure: true, deployment, needsApiVersion: true };
}

/**
 * Why a model call is refused before its body is read, or undefined: no credential (a Bearer token;
 * on an Azure path an `api-key` header will do too), or an Azure dated path without `api-version`.
 */
export function refusal(
  headers: IncomingHttpHeaders,
  route: CallRoute | undefined,
  search: string,
): { status: number; body: ApiErrorBody } | undefined {
  const bearer = /^Bearer \S/.test(headers.authorization ?? '');
  const azureKey = route?.azure === true && /\S/.test(String(headers['api-key'] ?? ''));
  if (!bearer && !azureKey) {
    const msg = route?.azure
      ? 'Access denied: send the key as an `api-key` header, or an Entra ID token as `Authorization: Bearer <token>` (any value works).'
      : "You didn't provide an API key. Send an `Authorization: Bearer <key>` header (any key works).";
    return { status: 401, body: apiError(msg, 'invalid_request_error', 'invalid_api_key') };
  }
  if (route?.needsApiVersion && !new URLSearchParams(search).get('api-version')) {
    // Azure answers a dated path without its api-version as an unknown resource.
    const msg =
      'Resource not found: this path needs an api-version query parameter (?api-version=2024-10-21).';
    return { status: 404, body: apiError(msg, 'invalid_request_error', '404') };
  }
  return undefined;
}

/** One request as the simulator received it: what a recipe's test asserts. */
export interface SimRequest {
  method: string;
  path: string;
  /** Query parameters in the order sent (a repeated name keeps its last value). */
  query: Record<string, string>;
  /** Header names lower-cased (as Node gives them); repeated headers joined by ", ". */
  headers: Record<string, string>;
}

/**
 * The last requests received, heads only, when the simulator was started with `recordRequests`. Off
 * by default: it holds whatever credentials the client sent, in memory, for tests to read.
 */
export class RequestLog {
  private readonly ring: SimRequest[] = [];

  constructor(private readonly limit: number) {}

  add(req: IncomingMessage, path: string, search: string): void {
    if (this.limit <= 0) return;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    this.ring.push({
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers,
    });
    if (this.ring.length > this.limit) this.ring.shift();
  }

  list(): SimRequest[] {
    return this.ring.map((r) => ({ ...r, query: { ...r.query }, headers: { ...r.headers } }));
  }

  clear(): void {
    this.ring.length = 0;
  }
}
