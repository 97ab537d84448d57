import OpenAI from 'openai';
import type { ApiStyle } from '../../datasets/record.js';
import type { CallOutcome } from '../run/attempt.js';
import type { Completion, RetryDecision } from '../providers/provider.js';
import { classifyError, fromChatCompletion, fromResponse } from '../providers/openai.js';

/** What one line of a batch's output or error file says about its request. */
export type LineResult =
  | { customId: string; outcome: CallOutcome }
  /** The request never ran (the batch expired or was cancelled first): no row, the next run sends it again. */
  | { customId: string; outcome?: undefined; noResult: string };

/** Error codes of requests that never ran; any other error line is a result (an error row). */
const NOT_RUN = new Set(['batch_expired', 'batch_cancelled']);

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Reads one output (or error) line: `{id, custom_id, response: {status_code, request_id, body}, error}`.
 * A 2xx body is read as a live response is (harness/providers/openai.ts), billed at the batch tier;
 * any other status is classified exactly as the same HTTP error of a live call would be. Batch
 * results have no meaningful latency: it is null, and the batch's own timing is in the batches table.
 * Throws on a line that is not of this shape.
 */
export function readOutputLine(
  line: unknown,
  api: ApiStyle,
  at: { startedAt: string; simulated: boolean },
): LineResult {
  if (!isObj(line)) throw new Error('not a JSON object');
  const customId = line.custom_id;
  if (typeof customId !== 'string' || customId === '') throw new Error('no custom_id');
  const base = { attempts: 1, waitedMs: 0, startedAt: at.startedAt, interrupted: false, fatal: false };
  const failed = (failure: RetryDecision): LineResult => ({ customId, outcome: { ...base, failure } });
  const response = line.response;
  if (isObj(response)) {
    const status = response.status_code;
    if (typeof status !== 'number' || !Number.isInteger(status))
      throw new Error('response.status_code is not an integer');
    const requestId = typeof response.request_id === 'string' ? response.request_id : null;
    const body = response.body;
    if (status < 200 || status >= 300) {
      const headers = new Headers(requestId ? { 'x-request-id': requestId } : {});
      return failed(
        classifyError(OpenAI.APIError.generate(status, isObj(body) ? body : undefined, undefined, headers)),
      );
    }
    if (!isObj(body)) {
      return failed({
        retry: true,
        kind: 'malformed_response',
        status,
        message: 'the response has no JSON body',
      });
    }
    try {
      return { customId, outcome: { ...base, completion: completionOf(body, api, requestId, at.simulated) } };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const kind = e instanceof FailedResponse ? 'response_failed' : 'malformed_response';
      return failed({ retry: true, kind, status, message });
    }
  }
  const error = line.error;
  if (!isObj(error)) throw new Error('neither a response nor an error');
  const code = typeof error.code === 'string' ? error.code : 'error';
  const message = typeof error.message === 'string' ? error.message : 'no message';
  if (NOT_RUN.has(code)) return { customId, noResult: code };
  return failed({ retry: false, kind: 'bad_request', message: `${code}: ${message}` });
}

class FailedResponse extends Error {}

function completionOf(body: Obj, api: ApiStyle, requestId: string | null, simulated: boolean): Completion {
  // The body's shape decides, as in replay: `output` items make a Response, `choices` a ChatCompletion.
  const isResponse = Array.isArray(body.output) || (api === 'responses' && !Array.isArray(body.choices));
  if (isResponse && body.status === 'failed') {
    const err = body.error as { message?: string } | null | undefined;
    throw new FailedResponse(err?.message ?? 'response failed');
  }
  if (!isResponse && !Array.isArray(body.choices))
    throw new Error('neither a ChatCompletion (choices) nor a Response (output)');
  if (!isObj(body.usage)) throw new Error('the response has no usage, so its cost is unknown');
  const facts = isResponse
    ? fromResponse(body as unknown as OpenAI.Responses.Response)
    : fromChatCompletion(body as unknown as OpenAI.ChatCompletion);
  return {
    ...facts,
    // Billed at the Batch rate (half of Standard) whatever tier the body names: harness/pricing.ts.
    serviceTier: 'batch',
    requestId: requestId ?? (typeof body.id === 'string' ? body.id : null),
    serverMs: null,
    latencyMs: null,
    ttftMs: null,
    simulated,
  };
}

/** The lines of a streamed body, decoded as UTF-8, CR LF tolerated, blank lines skipped. */
export async function* textLines(body: AsyncIterable<Uint8Array> | null): AsyncGenerator<string> {
  if (!body) return;
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      const line = p.endsWith('\r') ? p.slice(0, -1) : p;
      if (line.trim() !== '') yield line;
    }
  }
  rest += decoder.decode();
  if (rest.trim() !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}
