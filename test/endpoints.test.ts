// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the config's own syntax, written as configs write it
/**
 * The endpoint recipes of docs/endpoints.md, each read from the page itself, pointed at the simulator
 * (only the host changes) and called once through the real SDK over loopback: the path, the query and
 * the headers the simulator received are asserted exactly. The SDK's own transport headers
 * (user-agent, x-stainless-*, accept, …) are set aside; everything a config controls is compared whole.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { HoldoutRecord } from '../datasets/record.js';
import { type ResolvedCandidate, resolveConfig } from '../harness/config.js';
import { packageRoot } from '../harness/paths.js';
import { AZURE_OPENAI_SCOPE, connectEndpoint } from '../harness/providers/connect.js';
import { buildRequest } from '../harness/providers/request.js';
import { type SimProfile, type SimRequest, type SimServer, startSimulator } from '../harness/sim/index.js';
import { fakeClock } from './support/fakes.js';

const DOC = readFileSync(join(packageRoot(), 'docs/endpoints.md'), 'utf8');

/** The YAML block of docs/endpoints.md that starts `# recipe: <name>`. */
function recipe(name: string): string {
  const m = new RegExp(`\`\`\`yaml\\n# recipe: ${name}\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!m) throw new Error(`docs/endpoints.md has no recipe ${name}`);
  return m[1]!;
}

/** Fast simulated models under the names the recipes ask for (and the Azure deployment). */
const fast = (servedModel: string): SimProfile => ({
  latencyMs: { median: 1 },
  ttftMs: 0,
  accuracy: 1,
  servedModel,
});
const PROFILES: Record<string, SimProfile> = {
  'meta-llama/Llama-3.1-8B-Instruct': fast('sim-llama-8b'),
  'llama3.2': fast('sim-llama3.2'),
  'gpt-4.1-mini': fast('sim-gpt-4.1-mini'),
  'openai/gpt-4.1-mini': fast('sim-openrouter-mini'),
  'mini-prod': fast('sim-mini-prod'),
};

/** Set aside: the SDK and node's fetch send these on every request, whatever the config says. */
const TRANSPORT = new Set([
  'host',
  'connection',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-fetch-mode',
  'user-agent',
  'content-type',
  'content-length',
]);
function configured(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([n]) => !TRANSPORT.has(n) && !n.startsWith('x-stainless-')),
  );
}

const ENV = {
  VLLM_API_KEY: 'vllm-key-0001',
  OLLAMA_API_KEY: 'ollama',
  LITELLM_API_KEY: 'sk-litellm-virtual-0001',
  OPENROUTER_API_KEY: 'sk-or-v1-0000000000000001',
  AZURE_OPENAI_API_KEY: 'azure-key-0000000000000001',
  AZURE_OPENAI_AD_TOKEN: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra',
  GATEWAY_TOKEN: 'gw-token-0000000000000001',
  GATEWAY_SIG: 'sig-0000000000000001',
};

const RECORD: HoldoutRecord = {
  id: 'r1',
  api: 'chat',
  tags: {},
  request: { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Say hello.' }] },
} as unknown as HoldoutRecord;

let sim: SimServer;
let origin: string;

beforeAll(async () => {
  sim = await startSimulator({ profiles: PROFILES, recordRequests: 50 });
  origin = new URL(sim.url).origin;
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

/** The recipe's first candidate, its host replaced by the simulator's. */
function candidateOf(name: string): ResolvedCandidate {
  const yaml = recipe(name).replace(/(base_url|endpoint): https?:\/\/[^/\s]+/g, `$1: ${origin}`);
  const cfg = resolveConfig(
    { dataset: 'd.jsonl', ...(parseYaml(yaml) as object) },
    `docs/endpoints.md (${name})`,
  );
  return cfg.candidates[0]!;
}

/** One call of the candidate through the SDK; the request head the simulator received. */
async function callOnce(
  c: ResolvedCandidate,
  opts: { stream?: boolean; ctx?: Partial<Parameters<typeof connectEndpoint>[1]> } = {},
): Promise<{ req: SimRequest; model: string; text: string }> {
  const provider = connectEndpoint(c, {
    env: ENV,
    clock: fakeClock(),
    timeoutMs: 5_000,
    ...opts.ctx,
  });
  const { body } = buildRequest(RECORD, {
    model: c.model,
    api: c.api,
    params: c.params,
    stream: opts.stream ?? true,
  });
  const completion = await provider.complete(body, new AbortController().signal);
  const requests = sim.requests();
  expect(requests).toHaveLength(1);
  const log = sim.stats().log;
  return { req: requests[0]!, model: log[0]!.model, text: completion.text };
}

describe('recipes of docs/endpoints.md, against the simulator', () => {
  it('vLLM: /v1/chat/completions with the server key as a Bearer token', async () => {
    const { req, model } = await callOnce(candidateOf('vllm'));
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.query).toEqual({});
    expect(configured(req.headers)).toEqual({ authorization: 'Bearer vllm-key-0001' });
    expect(req.headers['user-agent']).toMatch(/^OpenAI\/JS /);
    expect(model).toBe('meta-llama/Llama-3.1-8B-Instruct');
  });

  it('Ollama: /v1/chat/completions, any key, its own timeout', async () => {
    const c = candidateOf('ollama');
    expect(c.timeout_ms).toBe(300_000);
    expect(connectEndpoint(c, { env: ENV, clock: fakeClock(), timeoutMs: 5_000 }).timeoutMs).toBe(300_000);
    const { req, model } = await callOnce(c);
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.query).toEqual({});
    expect(configured(req.headers)).toEqual({ authorization: 'Bearer ollama' });
    expect(model).toBe('llama3.2');
  });

  it('LiteLLM proxy: /chat/completions at the root, the virtual key; priced from the table', async () => {
    const c = candidateOf('litellm');
    expect(c.price.source).not.toBe('missing');
    const { req, model } = await callOnce(c);
    expect(req.path).toBe('/chat/completions');
    expect(req.query).toEqual({});
    expect(configured(req.headers)).toEqual({ authorization: 'Bearer sk-litellm-virtual-0001' });
    expect(model).toBe('gpt-4.1-mini');
  });

  it('OpenRouter: /api/v1/chat/completions with the attribution headers', async () => {
    const { req, model } = await callOnce(candidateOf('openrouter'));
    expect(req.path).toBe('/api/v1/chat/completions');
    expect(req.query).toEqual({});
    expect(configured(req.headers)).toEqual({
      authorization: 'Bearer sk-or-v1-0000000000000001',
      'http-referer': 'https://github.com/your-org/your-evals',
      'x-openrouter-title': 'holdout evals',
    });
    expect(model).toBe('openai/gpt-4.1-mini');
  });

  it('Azure, dated version: the deployment path, api-version, the api-key header, no Bearer', async () => {
    const c = candidateOf('azure');
    expect(c.model).toBe('gpt-4.1-mini');
    expect(c.api_key_env).toBe('AZURE_OPENAI_API_KEY');
    const { req, model, text } = await callOnce(c);
    expect(req.path).toBe('/openai/deployments/mini-prod/chat/completions');
    expect(req.query).toEqual({ 'api-version': '2024-10-21' });
    expect(configured(req.headers)).toEqual({ 'api-key': 'azure-key-0000000000000001' });
    expect(req.headers['user-agent']).toMatch(/^AzureOpenAI\/JS /);
    expect(model).toBe('mini-prod');
    expect(text.length).toBeGreaterThan(0);
  });

  it('Azure, dated version, Responses API: /openai/responses with the deployment as the model', async () => {
    const c = { ...candidateOf('azure'), api: 'responses' as const };
    c.azure = { ...c.azure!, api_version: '2025-04-01-preview' };
    const { req, model } = await callOnce(c, { stream: false });
    expect(req.path).toBe('/openai/responses');
    expect(req.query).toEqual({ 'api-version': '2025-04-01-preview' });
    expect(configured(req.headers)).toEqual({ 'api-key': 'azure-key-0000000000000001' });
    expect(model).toBe('mini-prod');
  });

  it('Azure, v1 API: /openai/v1/chat/completions, the key as a Bearer token, the deployment as the model', async () => {
    const c = candidateOf('azure-v1');
    expect(c.azure?.api_version).toBe('v1');
    const { req, model } = await callOnce(c);
    expect(req.path).toBe('/openai/v1/chat/completions');
    expect(req.query).toEqual({});
    expect(configured(req.headers)).toEqual({ authorization: 'Bearer azure-key-0000000000000001' });
    expect(model).toBe('mini-prod');
  });

  it('Azure with an Entra ID token from the environment: Bearer token, no api-key', async () => {
    const c = candidateOf('azure-entra');
    expect(c.api_key_env).toBeUndefined();
    const { req } = await callOnce(c, { ctx: { env: { AZURE_OPENAI_AD_TOKEN: ENV.AZURE_OPENAI_AD_TOKEN } } });
    expect(req.path).toBe('/openai/deployments/mini-prod/chat/completions');
    expect(req.query).toEqual({ 'api-version': '2024-10-21' });
    expect(configured(req.headers)).toEqual({ authorization: `Bearer ${ENV.AZURE_OPENAI_AD_TOKEN}` });
  });

  it('Azure with entra_id: true asks the credential for the Cognitive Services scope, per request', async () => {
    const base = candidateOf('azure-entra');
    const c: ResolvedCandidate = {
      ...base,
      azure: { ...base.azure!, entra_token_env: undefined, entra_id: true },
    };
    const scopes: string[] = [];
    let n = 0;
    const entraTokens = (scope: string) => {
      scopes.push(scope);
      return async () => `entra-token-${++n}-abcdefgh`;
    };
    const { req } = await callOnce(c, { ctx: { env: {}, entraTokens } });
    expect(scopes).toEqual([AZURE_OPENAI_SCOPE]);
    expect(AZURE_OPENAI_SCOPE).toBe('https://cognitiveservices.azure.com/.default');
    expect(configured(req.headers)).toEqual({ authorization: 'Bearer entra-token-1-abcdefgh' });
  });

  it('a gateway: its own Authorization, a routing header, query parameters, organization and project', async () => {
    const c = candidateOf('gateway');
    expect(c.api_key_env).toBeUndefined();
    const { req, model } = await callOnce(c, {
      ctx: { env: { GATEWAY_TOKEN: ENV.GATEWAY_TOKEN, GATEWAY_SIG: ENV.GATEWAY_SIG } },
    });
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.query).toEqual({ route: 'canary', sig: 'sig-0000000000000001' });
    expect(configured(req.headers)).toEqual({
      authorization: 'Bearer gw-token-0000000000000001',
      'x-team': 'evals',
      'openai-organization': 'org-evals',
      'openai-project': 'proj_holdout',
    });
    expect(model).toBe('gpt-4.1-mini');
  });
});

describe('a gateway that takes its key as api-key (API Management in front of Azure, say)', () => {
  it('sends that header alone: no Authorization with a placeholder key', async () => {
    const base = candidateOf('gateway');
    const c: ResolvedCandidate = {
      ...base,
      base_url: `${origin}/openai/v1`,
      headers: { 'api-key': '${env:GATEWAY_TOKEN}' },
      query: undefined,
    };
    const { req } = await callOnce(c, { ctx: { env: { GATEWAY_TOKEN: ENV.GATEWAY_TOKEN } } });
    expect(req.path).toBe('/openai/v1/chat/completions');
    expect(configured(req.headers)).toEqual({
      'api-key': 'gw-token-0000000000000001',
      'openai-organization': 'org-evals',
      'openai-project': 'proj_holdout',
    });
  });
});

describe('the simulator on Azure paths', () => {
  it('refuses a dated path without api-version, and a call with no credential', async () => {
    const url = `${origin}/openai/deployments/mini-prod/chat/completions`;
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
    const noVersion = await fetch(url, { method: 'POST', headers: { 'api-key': 'k' }, body });
    expect(noVersion.status).toBe(404);
    const noKey = await fetch(`${url}?api-version=2024-10-21`, { method: 'POST', body });
    expect(noKey.status).toBe(401);
    // Off an Azure path, an api-key header is no credential (api.openai.com wants a Bearer token).
    const plain = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'api-key': 'k' },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(plain.status).toBe(401);
    const ok = await fetch(`${url}?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'api-key': 'k' },
      body,
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { model: string }).model).toBe('sim-mini-prod');
    expect(sim.requests().map((r) => [r.path, r.query])).toEqual([
      ['/openai/deployments/mini-prod/chat/completions', {}],
      ['/openai/deployments/mini-prod/chat/completions', { 'api-version': '2024-10-21' }],
      ['/v1/chat/completions', {}],
      ['/openai/deployments/mini-prod/chat/completions', { 'api-version': '2024-10-21' }],
    ]);
  });

  it('records nothing unless asked to', async () => {
    const quiet = await startSimulator({ profiles: PROFILES });
    try {
      await fetch(`${quiet.url}/models`, { headers: { authorization: 'Bearer k' } });
      expect(quiet.requests()).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
