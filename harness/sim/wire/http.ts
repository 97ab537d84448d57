import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { HarnessError } from '../../errors.js';

/** Headers every response carries. Rate-limit values are fixed: the simulator does not meter. */
export const BASE_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'openai-version': '2020-10-01',
  // Lets the harness (and anyone reading a capture) tell simulated output from a real model's.
  'x-holdout-simulator': '1',
  'x-ratelimit-limit-requests': '30000',
  'x-ratelimit-limit-tokens': '150000000',
  'x-ratelimit-remaining-requests': '29999',
  'x-ratelimit-remaining-tokens': '149990000',
  'x-ratelimit-reset-requests': '2ms',
  'x-ratelimit-reset-tokens': '0s',
});

export const JSON_TYPE = 'application/json';
export const SSE_TYPE = 'text/event-stream; charset=utf-8';

export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function apiError(
  message: string,
  type = 'invalid_request_error',
  code: string | null = null,
  param: string | null = null,
): ApiErrorBody {
  return { error: { message, type, param, code } };
}

/** Largest request body accepted; prompts near the 1M-token context are ~4 MB of JSON. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body as text. Callback style on purpose: this runs once per call at benchmark
 * rates, and a promise per request shows up in the profile for nothing.
 */
export function readBody(req: IncomingMessage, done: (text: string | undefined) => void): void {
  let text = '';
  let size = 0;
  let failed = false;
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    if (failed) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      failed = true;
      done(undefined);
      return;
    }
    text += chunk;
  });
  req.on('end', () => {
    if (!failed) done(text);
  });
}

/** Parses a JSON object body; undefined when it is not JSON or not an object. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function assertLoopback(host: string): void {
  if (!LOOPBACK.has(host)) {
    throw new HarnessError('USAGE', `The simulator only listens on loopback, not on '${host}'.`, {
      hint: 'Use --host 127.0.0.1, ::1 or localhost.',
    });
  }
}

/** A host name (as `URL.hostname` gives it) that is this machine: localhost, 127.0.0.0/8 or [::1]. */
function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** A `Host` header naming this machine, with an optional port (no URL parse: this runs per call). */
const LOOPBACK_HOST = /^(?:localhost\.?|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

/**
 * Why a request must be refused, or undefined: the simulator serves this machine only. A browser
 * page on another site can POST to a loopback port (its `Origin` names that site), and a DNS
 * rebinding attack reaches it under a foreign name (its `Host`); both are refused. Clients that send
 * neither header (the SDK sends no Origin) pass.
 */
export function foreignRequest(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host;
  if (host !== undefined && !LOOPBACK_HOST.test(host)) return 'Host is not a loopback address';
  const origin = headers.origin;
  if (origin !== undefined) {
    let ok = false;
    try {
      const u = new URL(origin);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackName(u.hostname);
    } catch {
      ok = false;
    }
    if (!ok) return 'Origin is not a loopback origin';
  }
  return undefined;
}
