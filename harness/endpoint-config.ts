// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages quote the ${env:NAME} syntax
/**
 * The parts of an endpoint's config that reach past api.openai.com: Azure OpenAI, organization and
 * project ids, extra headers and query parameters, a per-endpoint timeout. Secrets never enter a
 * config: a header or query value names the environment variable that holds one (`${env:NAME}`),
 * and the value is read when the client is made (harness/providers/connect.ts), never stored.
 */
import { z } from 'zod';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const EnvName = z.string().regex(ENV_NAME, 'an environment variable name, e.g. OPENAI_API_KEY');

/** `${env:NAME}` inside a header or query value: replaced by that variable's value when calls are made. */
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The environment variables a header or query value refers to, in order, repeats included. */
export function envRefs(value: string): string[] {
  return [...value.matchAll(ENV_REF)].map((m) => m[1]!);
}

/**
 * A value with every `${env:NAME}` replaced from `env`; `missing` names the variables that are not
 * set (or empty), whose references are left as they are.
 */
export function expandEnv(value: string, env: NodeJS.ProcessEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const out = value.replace(ENV_REF, (ref, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') {
      missing.push(name);
      return ref;
    }
    return v;
  });
  return { value: out, missing };
}

/**
 * A header or query parameter whose value is a credential: it must come from the environment. Matched
 * on the name, so that `X-Title` passes and `Authorization`, `api-key`, `X-Gateway-Token`, `sig` do not.
 */
const SECRET_NAME = /auth|key|token|secret|passw|cookie|signature|^sig$|^code$|credential/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** What may stand before or around the reference in a secret value: an auth scheme word, no more. */
const SCHEME_ONLY = /^(?:[A-Za-z][A-Za-z0-9-]*\s+)?$/;

/**
 * Why a header or query value is not acceptable, or undefined. A `${` that is not a well-formed
 * `${env:NAME}`, control characters (a line break would forge another header), and a credential
 * (by its name) written out instead of referred to.
 */
function valueProblem(name: string, value: string, what: 'header' | 'query parameter'): string | undefined {
  if (CONTROL.test(value)) return `control characters (line breaks, tabs) are not allowed in a ${what} value`;
  const literal = value.replace(ENV_REF, '');
  if (literal.includes('${')) return 'write an environment reference as ${env:NAME}';
  if (isSecretName(name)) {
    if (envRefs(value).length === 0 || !SCHEME_ONLY.test(literal)) {
      // No example with a scheme word here: printed errors are scrubbed, and "Bearer …" would be.
      const scheme = what === 'header' ? ', after an auth scheme word if it needs one' : '';
      return `"${name}" carries a credential: give it as \${env:NAME}${scheme}, so that it never enters a config or the database`;
    }
  }
  return undefined;
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers the HTTP client or the SDK owns: setting them would break the request, not configure it. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
]);

// Names are checked in checkEndpoint: a record's key error would not say what is wrong with it.
const Headers = z.record(z.string(), z.string());
const Query = z.record(z.string().min(1), z.string());

/** Azure OpenAI: the resource's endpoint, the deployment called, the API version. */
export const AzureConfig = z.strictObject({
  /** The resource, e.g. `https://my-resource.openai.azure.com` (the SDK adds `/openai`). */
  endpoint: z.string().min(1),
  /** The deployment's name: it is what is sent (in the path, and as the body's `model`). */
  deployment: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a deployment name: letters, digits and . _ - only'),
  /**
   * `v1` (default): the OpenAI v1 API at `{endpoint}/openai/v1`, no api-version. A dated version
   * (`2024-10-21`, `2025-04-01-preview`): `{endpoint}/openai/deployments/{deployment}/…?api-version=…`.
   */
  api_version: z
    .string()
    .regex(/^(?:v1|\d{4}-\d{2}-\d{2}(?:-preview)?)$/, 'v1, or a dated version like 2024-10-21')
    .default('v1'),
  /** Microsoft Entra ID through `@azure/identity` (DefaultAzureCredential), when it is installed. */
  entra_id: z.boolean().optional(),
  /** Or an Entra ID access token read from this environment variable (it expires: about an hour). */
  entra_token_env: EnvName.optional(),
});
export type AzureConfig = z.infer<typeof AzureConfig>;

/** The fields an endpoint (candidate, judge, router) has for endpoints beyond api.openai.com. */
export const ENDPOINT_FIELDS = {
  /** Azure OpenAI instead of `base_url`: endpoint, deployment, api_version, Entra ID. */
  azure: AzureConfig.optional(),
  /** Sent as `OpenAI-Organization`; default OPENAI_ORG_ID from the environment. */
  organization: z
    .string()
    .min(1)
    .regex(/^[^\s]+$/, 'an id, no spaces')
    .optional(),
  /** Sent as `OpenAI-Project`; default OPENAI_PROJECT_ID from the environment. */
  project: z
    .string()
    .min(1)
    .regex(/^[^\s]+$/, 'an id, no spaces')
    .optional(),
  /** Extra headers on every request; a credential is given as `${env:NAME}`. */
  headers: Headers.optional(),
  /** Extra query parameters on every request; a credential is given as `${env:NAME}`. */
  query: Query.optional(),
  /** This endpoint's per-attempt timeout, in place of the run's `timeout_ms`. */
  timeout_ms: z.number().int().min(1).optional(),
};

/** What the combination checks read of an endpoint. */
export interface EndpointShape {
  base_url?: string;
  api_key_env?: string;
  data_residency?: string;
  azure?: AzureConfig;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

/** The header that carries the key (Authorization, or Azure's api-key), when `headers` sets it. */
export function authHeaderOf(e: Pick<EndpointShape, 'headers'>): string | undefined {
  return Object.keys(e.headers ?? {}).find((h) => /^(?:authorization|api-key)$/i.test(h));
}

/** Whether the endpoint authenticates with Microsoft Entra ID (no key). */
export function usesEntraId(e: Pick<EndpointShape, 'azure'>): boolean {
  return e.azure !== undefined && (e.azure.entra_id === true || e.azure.entra_token_env !== undefined);
}

/**
 * The environment variable holding the endpoint's key: the one given, else AZURE_OPENAI_API_KEY for
 * Azure and OPENAI_API_KEY otherwise; none when Entra ID or an Authorization header authenticates.
 */
export function keyEnvOf(e: Pick<EndpointShape, 'api_key_env' | 'azure' | 'headers'>): string | undefined {
  if (e.api_key_env !== undefined) return e.api_key_env;
  if (usesEntraId(e) || authHeaderOf(e) !== undefined) return undefined;
  return e.azure ? 'AZURE_OPENAI_API_KEY' : 'OPENAI_API_KEY';
}

/** Every environment variable the endpoint's calls need, with the field that names it. */
export function endpointEnvNeeds(
  e: Pick<EndpointShape, 'api_key_env' | 'azure' | 'headers' | 'query'>,
): { env: string; field: string }[] {
  const out: { env: string; field: string }[] = [];
  const key = keyEnvOf(e);
  if (key !== undefined) out.push({ env: key, field: 'api_key_env' });
  if (e.azure?.entra_token_env) out.push({ env: e.azure.entra_token_env, field: 'azure.entra_token_env' });
  for (const [kind, map] of [
    ['headers', e.headers],
    ['query', e.query],
  ] as const) {
    for (const [name, value] of Object.entries(map ?? {})) {
      for (const env of envRefs(value)) out.push({ env, field: `${kind}.${name}` });
    }
  }
  return out;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The checks that span fields of one endpoint, added to `ctx` under the field they are about: Azure
 * against `base_url` and `data_residency`, its credentials, header and query values, duplicates.
 */
export function checkEndpoint(e: EndpointShape, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const az = e.azure;
  if (az) {
    if (e.base_url !== undefined) {
      issue(['base_url'], 'an Azure endpoint is given by azure.endpoint; drop base_url');
    }
    if (e.data_residency !== undefined) {
      issue(['data_residency'], 'applies to api.openai.com only; an Azure resource has its own region');
    }
    if (!isHttpUrl(az.endpoint)) {
      issue(
        ['azure', 'endpoint'],
        'not an http(s) URL: give the resource, like https://my-resource.openai.azure.com',
      );
    } else {
      const u = new URL(az.endpoint);
      if (u.search !== '' || u.username !== '' || u.password !== '') {
        issue(['azure', 'endpoint'], 'give the resource URL alone: no query, no user or password');
      } else if (/\/openai(?:\/|$)/.test(u.pathname)) {
        issue(['azure', 'endpoint'], `give the resource without /openai (holdout adds it): ${u.origin}`);
      }
    }
    if (az.entra_id === true && az.entra_token_env !== undefined) {
      issue(['azure', 'entra_token_env'], 'give entra_id: true or entra_token_env, not both');
    }
    if (usesEntraId(e) && e.api_key_env !== undefined) {
      issue(['api_key_env'], 'Entra ID authenticates this endpoint, not a key; drop api_key_env');
    }
    const auth = authHeaderOf(e);
    if (auth !== undefined) {
      issue(
        ['headers', auth],
        'Azure sends the key as api-key (or an Entra ID token as Authorization); drop this header',
      );
    }
    const versionParam = Object.keys(e.query ?? {}).find((q) => q.toLowerCase() === 'api-version');
    if (versionParam !== undefined) issue(['query', versionParam], 'set azure.api_version instead');
  } else {
    const auth = authHeaderOf(e);
    if (auth !== undefined && e.api_key_env !== undefined) {
      issue(
        ['headers', auth],
        `replaces the key from api_key_env (${e.api_key_env}); give the credential one way: drop api_key_env or this header`,
      );
    }
  }
  checkMap(e.headers, 'headers', 'header', issue);
  checkMap(e.query, 'query', 'query parameter', issue);
}

function checkMap(
  map: Record<string, string> | undefined,
  field: 'headers' | 'query',
  what: 'header' | 'query parameter',
  issue: (path: (string | number)[], message: string) => void,
): void {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(map ?? {})) {
    const lower = name.toLowerCase();
    if (what === 'header' && !HEADER_NAME.test(name)) {
      issue([field, name], "not an HTTP header name (letters, digits and !#$%&'*+.^_`|~- only)");
      continue;
    }
    if (what === 'header' && RESERVED_HEADERS.has(lower)) {
      issue([field, name], 'set by the HTTP client; it cannot be configured');
    }
    const problem = valueProblem(name, value, what);
    if (problem) issue([field, name], problem);
    // Header names are case-insensitive: two spellings would be sent as one, whichever came last.
    const key = what === 'header' ? lower : name;
    const first = seen.get(key);
    if (first !== undefined) issue([field, name], `the same ${what} as ${first}`);
    seen.set(key, name);
  }
}

/** What replaces a credential written out in a header or query value when a config is stored. */
const WITHHELD = 'REDACTED';

/**
 * A header or query map as it may be stored: values kept (they are references or plain settings),
 * except a credential written out, which `checkEndpoint` refuses in a config file but which a config
 * built in code could still hold.
 */
export function storableValues(
  map: Record<string, string> | undefined,
  what: 'header' | 'query parameter',
): Record<string, string> | undefined {
  if (map === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(map).map(([n, v]) => [n, isSecretName(n) && valueProblem(n, v, what) ? WITHHELD : v]),
  );
}
