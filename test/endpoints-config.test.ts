// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the config's own syntax, written as configs write it
/**
 * The endpoint fields of a config: bad combinations named by their field, credentials written out
 * refused, `${env:…}` references read when the client is made (and only then), the defaults of the
 * key variable, and what a stored config keeps.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, storableConfig } from '../harness/config.js';
import { endpointEnvNeeds, envRefs, expandEnv, keyEnvOf } from '../harness/endpoint-config.js';
import { HarnessError } from '../harness/errors.js';
import { connectEndpoint, endpointClient, requestExtras } from '../harness/providers/connect.js';
import { REDACTED, scrubSecrets } from '../harness/secrets.js';
import { fakeClock } from './support/fakes.js';

/** A config of one candidate with these fields (model gpt-4.1-mini, priced from the table). */
function one(fields: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return resolveConfig(
    { dataset: 'd.jsonl', candidates: [{ id: 'c', model: 'gpt-4.1-mini', ...fields }], ...extra },
    'run.yaml',
  );
}

function problemsOf(fields: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  try {
    one(fields, extra);
  } catch (err) {
    if (err instanceof HarnessError) return err.message;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

const AZ = { endpoint: 'https://res.openai.azure.com', deployment: 'mini-prod' };

describe('bad combinations, named by field', () => {
  it('azure with base_url or data_residency', () => {
    const msg = problemsOf({ azure: AZ, base_url: 'https://x.example/v1', data_residency: 'eu' });
    expect(msg).toMatch(
      /an Azure endpoint is given by azure\.endpoint; drop base_url\n\s+→ at candidates\[0\]\.base_url/,
    );
    expect(msg).toMatch(/applies to api\.openai\.com only[^\n]*\n\s+→ at candidates\[0\]\.data_residency/);
  });

  it('azure without a deployment, with a bad endpoint or api_version, with a misspelt key', () => {
    const missing = problemsOf({ azure: { endpoint: 'https://res.openai.azure.com' } });
    expect(missing).toMatch(/→ at candidates\[0\]\.azure\.deployment/);
    const msg = problemsOf({
      azure: { endpoint: 'res.openai.azure.com', deployment: 'd', api_version: 'latest' },
    });
    expect(msg).toMatch(
      /v1, or a dated version like 2024-10-21\n\s+→ at candidates\[0\]\.azure\.api_version/,
    );
    const typo = problemsOf({ azure: { ...AZ, api_verison: '2024-10-21' } });
    expect(typo).toContain('"api_verison" (did you mean `api_version`?)');
    expect(typo).toMatch(/→ at candidates\[0\]\.azure/);
    const top = problemsOf({ header: { 'X-Team': 'a' } });
    expect(top).toContain('"header" (did you mean `headers`?)');
  });

  it('an endpoint URL that is not a resource', () => {
    expect(problemsOf({ azure: { ...AZ, endpoint: 'not a url' } })).toMatch(
      /not an http\(s\) URL[^\n]*\n\s+→ at candidates\[0\]\.azure\.endpoint/,
    );
    expect(problemsOf({ azure: { ...AZ, endpoint: 'https://res.openai.azure.com/openai/' } })).toMatch(
      /without \/openai \(holdout adds it\): https:\/\/res\.openai\.azure\.com/,
    );
    expect(problemsOf({ azure: { ...AZ, endpoint: 'https://res.openai.azure.com/?api-key=x' } })).toMatch(
      /give the resource URL alone/,
    );
  });

  it('Entra ID: one way to get the token, and no key beside it', () => {
    expect(problemsOf({ azure: { ...AZ, entra_id: true, entra_token_env: 'T' } })).toMatch(
      /give entra_id: true or entra_token_env, not both\n\s+→ at candidates\[0\]\.azure\.entra_token_env/,
    );
    expect(problemsOf({ azure: { ...AZ, entra_id: true }, api_key_env: 'K' })).toMatch(
      /Entra ID authenticates this endpoint, not a key; drop api_key_env\n\s+→ at candidates\[0\]\.api_key_env/,
    );
  });

  it('the key given twice: an Authorization header and api_key_env, or any auth header with azure', () => {
    expect(
      problemsOf({
        base_url: 'https://gw.example/v1',
        api_key_env: 'K',
        headers: { Authorization: 'Bearer ${env:T}' },
      }),
    ).toMatch(
      /replaces the key from api_key_env \(K\)[^\n]*\n\s+→ at candidates\[0\]\.headers\.Authorization/,
    );
    expect(problemsOf({ azure: AZ, headers: { 'api-key': '${env:T}' } })).toMatch(
      /Azure sends the key as api-key[^\n]*\n\s+→ at candidates\[0\]\.headers\["api-key"\]/,
    );
    expect(problemsOf({ azure: AZ, query: { 'api-version': '2024-10-21' } })).toMatch(
      /set azure\.api_version instead/,
    );
  });

  it('batch mode with azure', () => {
    expect(problemsOf({ azure: AZ, batch: true })).toMatch(
      /candidates\[0\]\.batch: Azure OpenAI's Batch API is not supported/,
    );
  });

  it('each problem of one endpoint at once, with the price hint naming the deployment', () => {
    const msg = problemsOf({ model: 'my-finetune', azure: AZ });
    expect(msg).toContain(
      'candidates[0].price: no bundled price for model "my-finetune" (the model deployment "mini-prod" serves, e.g. gpt-4.1-mini)',
    );
  });
});

describe('headers and query values', () => {
  it('refuses a credential written out, by the name of the header or parameter', () => {
    const msg = problemsOf({
      base_url: 'https://gw.example/v1',
      headers: { 'X-Api-Key': 'abc123abc123', Authorization: 'Bearer sk-abc${env:T}' },
      query: { sig: 'deadbeef' },
    });
    expect(msg).toMatch(/"X-Api-Key" carries a credential: give it as \$\{env:NAME\}/);
    expect(msg).toMatch(/→ at candidates\[0\]\.headers\["X-Api-Key"\]/);
    expect(msg).toMatch(/"Authorization" carries a credential/);
    expect(msg).toMatch(/"sig" carries a credential[^\n]*\n\s+→ at candidates\[0\]\.query\.sig/);
    // Settings are not credentials.
    const ok = one({
      base_url: 'https://gw.example/v1',
      headers: { 'X-Title': 'evals', 'HTTP-Referer': 'https://x.example', Authorization: 'Bearer ${env:T}' },
      query: { route: 'canary', 'api-version': '2024-10-21' },
    });
    expect(ok.candidates[0]!.headers).toEqual({
      'X-Title': 'evals',
      'HTTP-Referer': 'https://x.example',
      Authorization: 'Bearer ${env:T}',
    });
  });

  it('refuses line breaks, malformed references, reserved and duplicate headers', () => {
    const msg = problemsOf({
      base_url: 'https://gw.example/v1',
      headers: { 'X-A': 'a\r\nX-Forged: 1', 'X-B': '${env:}', Host: 'evil.example', 'x-c': '1', 'X-C': '2' },
    });
    expect(msg).toMatch(/control characters[^\n]*\n\s+→ at candidates\[0\]\.headers\["X-A"\]/);
    expect(msg).toMatch(
      /write an environment reference as \$\{env:NAME\}\n\s+→ at candidates\[0\]\.headers\["X-B"\]/,
    );
    expect(msg).toMatch(/set by the HTTP client[^\n]*\n\s+→ at candidates\[0\]\.headers\.Host/);
    expect(msg).toMatch(/the same header as x-c\n\s+→ at candidates\[0\]\.headers\["X-C"\]/);
    expect(problemsOf({ headers: { 'Bad Name': 'x' } })).toMatch(/not an HTTP header name/);
  });

  it('reads ${env:…} when the client is made, names the field of a missing variable, scrubs the values', () => {
    expect(envRefs('Bearer ${env:A} ${env:B_2}')).toEqual(['A', 'B_2']);
    expect(expandEnv('Bearer ${env:A}', { A: 'x' })).toEqual({ value: 'Bearer x', missing: [] });
    expect(expandEnv('${env:A}-${env:B}', { A: 'x' })).toEqual({ value: 'x-${env:B}', missing: ['B'] });
    const e = {
      id: 'gw',
      headers: { Authorization: 'Bearer ${env:GW_TOKEN_X}' },
      query: { sig: '${env:GW_SIG_X}' },
    };
    let err: unknown;
    try {
      requestExtras(e, { GW_TOKEN_X: 'gw-secret-value-1234' });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as Error).message).toBe('"gw": environment variable GW_SIG_X (query.sig) is not set');
    const extras = requestExtras(e, { GW_TOKEN_X: 'gw-secret-value-1234', GW_SIG_X: 'gw-signature-5678' });
    expect(extras).toEqual({
      defaultHeaders: { Authorization: 'Bearer gw-secret-value-1234' },
      defaultQuery: { sig: 'gw-signature-5678' },
    });
    // Registered: scrubbed from any error text from now on, whatever surrounds them.
    expect(scrubSecrets('echo: gw-secret-value-1234 / x=gw-signature-5678')).toBe(
      `echo: ${REDACTED} / x=${REDACTED}`,
    );
  });
});

describe('the key variable and the environment an endpoint needs', () => {
  it('defaults: OPENAI_API_KEY, AZURE_OPENAI_API_KEY with azure, none with Entra ID or an Authorization header', () => {
    expect(one({}).candidates[0]!.api_key_env).toBe('OPENAI_API_KEY');
    expect(one({ azure: AZ }).candidates[0]!.api_key_env).toBe('AZURE_OPENAI_API_KEY');
    expect(one({ azure: AZ, api_key_env: 'MY_AZ' }).candidates[0]!.api_key_env).toBe('MY_AZ');
    expect(one({ azure: { ...AZ, entra_id: true } }).candidates[0]!.api_key_env).toBeUndefined();
    expect(
      one({ base_url: 'https://gw.example/v1', headers: { authorization: 'Bearer ${env:T}' } }).candidates[0]!
        .api_key_env,
    ).toBeUndefined();
    expect(keyEnvOf({})).toBe('OPENAI_API_KEY');
    expect(
      endpointEnvNeeds({
        azure: { ...AZ, api_version: 'v1', entra_token_env: 'AD' },
        headers: { 'X-Team': '${env:TEAM}' },
        query: { sig: '${env:SIG}' },
      }),
    ).toEqual([
      { env: 'AD', field: 'azure.entra_token_env' },
      { env: 'TEAM', field: 'headers.X-Team' },
      { env: 'SIG', field: 'query.sig' },
    ]);
  });

  it('organization and project from the endpoint, else from holdout’s environment; per-endpoint timeout', () => {
    const c = one({ organization: 'org-a', project: 'proj_a', timeout_ms: 1234 }).candidates[0]!;
    const ctx = {
      env: { OPENAI_API_KEY: 'k', OPENAI_ORG_ID: 'org-env', OPENAI_PROJECT_ID: 'proj_env' },
      clock: fakeClock(),
      timeoutMs: 99,
    };
    const client = endpointClient(c, ctx);
    expect([client.organization, client.project, client.timeout]).toEqual(['org-a', 'proj_a', 1234]);
    const d = one({}).candidates[0]!;
    const fromEnv = endpointClient(d, ctx);
    expect([fromEnv.organization, fromEnv.project, fromEnv.timeout]).toEqual(['org-env', 'proj_env', 99]);
    expect(connectEndpoint(c, ctx).timeoutMs).toBe(1234);
    expect(connectEndpoint(d, ctx).timeoutMs).toBeUndefined();
  });

  it('entra_id: true without @azure/identity installed is a clear error before any call', () => {
    const c = one({ azure: { ...AZ, entra_id: true } }).candidates[0]!;
    let err: unknown;
    try {
      endpointClient(c, { env: {}, clock: fakeClock(), timeoutMs: 1000 });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).message).toBe(
      '"c": azure.entra_id needs the @azure/identity package, which is not installed',
    );
    expect((err as HarnessError).hint).toMatch(/npm install @azure\/identity[^\n]*entra_token_env/);
  });

  it('a missing Azure key or token names its variable', () => {
    const keyed = one({ azure: AZ }).candidates[0]!;
    expect(() => endpointClient(keyed, { env: {}, clock: fakeClock(), timeoutMs: 1 })).toThrow(
      '"c": environment variable AZURE_OPENAI_API_KEY is not set',
    );
    const token = one({ azure: { ...AZ, entra_token_env: 'AD_TOKEN' } }).candidates[0]!;
    expect(() => endpointClient(token, { env: {}, clock: fakeClock(), timeoutMs: 1 })).toThrow(
      '"c": environment variable AD_TOKEN (azure.entra_token_env) is not set',
    );
  });
});

describe('what a stored config keeps', () => {
  it('references, never values; a credential written out in code is withheld', () => {
    const cfg = one({
      base_url: 'https://gw.example/v1',
      headers: { Authorization: 'Bearer ${env:T}', 'X-Team': 'a' },
    });
    const stored = storableConfig(cfg);
    expect(stored.candidates[0]!.headers).toEqual({ Authorization: 'Bearer ${env:T}', 'X-Team': 'a' });
    // Built in code, past the config checks: the stored copy still never holds the value.
    const forged = {
      ...cfg,
      candidates: [
        {
          ...cfg.candidates[0]!,
          headers: { 'X-Api-Key': 'literal-secret-1234' },
          query: { token: 'abc', route: 'x' },
        },
      ],
    };
    const safe = storableConfig(forged);
    expect(safe.candidates[0]!.headers).toEqual({ 'X-Api-Key': 'REDACTED' });
    expect(safe.candidates[0]!.query).toEqual({ token: 'REDACTED', route: 'x' });
    // A config with nothing to remove is stored as it is.
    expect(JSON.stringify(storableConfig(cfg))).toBe(JSON.stringify(cfg));
  });
});
