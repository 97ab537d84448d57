import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { MissingStreamUsageError, TruncatedStreamError } from '../../harness/providers/provider.js';
import { classifyError, retryAfterMs } from '../../harness/providers/openai.js';

const apiError = (status: number, code: string | undefined, headers: Record<string, string> = {}) =>
  OpenAI.APIError.generate(
    status,
    { error: { message: 'x', type: 't', code } },
    undefined,
    new Headers(headers),
  );

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, then retry-after seconds, then an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '200', 'retry-after': '5' }))).toBe(200);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }))).toBe(1500);
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 25 Nov 2026 10:00:03 GMT' }), now)).toBe(3000);
  });
  it('ignores hints over 60 s or negative, like the SDK', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '120' }))).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '-5' }))).toBeUndefined();
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
  });
});

describe('classifyError', () => {
  it('retries rate limits with the server hint, but never insufficient_quota', () => {
    expect(classifyError(apiError(429, 'rate_limit_exceeded', { 'retry-after-ms': '250' }))).toMatchObject({
      retry: true,
      kind: 'rate_limit',
      afterMs: 250,
      status: 429,
    });
    expect(classifyError(apiError(429, 'insufficient_quota'))).toMatchObject({
      retry: false,
      kind: 'insufficient_quota',
    });
  });
  it('retries 408, 409 and 5xx; not other 4xx', () => {
    expect(classifyError(apiError(408, undefined)).retry).toBe(true);
    expect(classifyError(apiError(409, undefined)).retry).toBe(true);
    expect(classifyError(apiError(500, undefined))).toMatchObject({ retry: true, kind: 'server_error' });
    expect(classifyError(apiError(503, undefined))).toMatchObject({ retry: true, kind: 'server_error' });
    expect(classifyError(apiError(400, undefined))).toMatchObject({ retry: false, kind: 'bad_request' });
    expect(classifyError(apiError(401, undefined))).toMatchObject({ retry: false, kind: 'auth' });
    expect(classifyError(apiError(404, 'model_not_found'))).toMatchObject({
      retry: false,
      kind: 'not_found',
    });
    expect(classifyError(apiError(422, undefined))).toMatchObject({ retry: false, kind: 'unprocessable' });
  });
  it('retries connection errors, timeouts, truncated streams and malformed bodies; not our own bugs', () => {
    expect(classifyError(new OpenAI.APIConnectionError({ message: 'reset' }))).toMatchObject({
      retry: true,
      kind: 'connection',
    });
    expect(classifyError(new OpenAI.APIConnectionTimeoutError())).toMatchObject({
      retry: true,
      kind: 'timeout',
    });
    expect(classifyError(new TruncatedStreamError('cut'))).toMatchObject({
      retry: true,
      kind: 'truncated_stream',
    });
    // A stream that ended cleanly without usage is the endpoint's way, not a fluke: never retried.
    expect(classifyError(new MissingStreamUsageError('no usage'))).toMatchObject({
      retry: false,
      kind: 'no_stream_usage',
    });
    expect(classifyError(new SyntaxError('Unexpected end of JSON input'))).toMatchObject({
      retry: true,
      kind: 'malformed_response',
    });
    expect(classifyError(new TypeError('terminated'))).toMatchObject({ retry: true, kind: 'connection' });
    expect(classifyError(new TypeError('x is not a function'))).toMatchObject({
      retry: false,
      kind: 'internal',
    });
  });
});
