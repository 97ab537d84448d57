import OpenAI, { type APIError } from 'openai';
import { printable } from '../../datasets/printable.js';
import { storableUrl } from '../config.js';
import type { Clock } from '../clock.js';
import {
  type Completion,
  type ErrorKind,
  type Provider,
  MissingStreamUsageError,
  ResponseFailedError,
  type RetryDecision,
  TruncatedStreamError,
} from './provider.js';

type Body = Record<string, unknown>;
type ToolCall = { name: string; arguments: string };

export interface OpenAIProviderOptions {
  api: 'chat' | 'responses';
  clock: Clock;
  /** Responses: score the `phase: "commentary"` messages too, not only the final answer. */
  includeCommentary?: boolean;
  /** Sent as the body's `model` in place of the candidate's (an Azure deployment), which stays the price key. */
  sendModel?: string;
  /** The endpoint's own per-attempt timeout (Provider.timeoutMs). */
  timeoutMs?: number;
}

/**
 * One attempt through the official SDK. The client must be built with `maxRetries: 0`: retries
 * belong to the runner, which keeps their waiting time out of the latency.
 */
export function openaiProvider(client: OpenAI, opts: OpenAIProviderOptions): Provider {
  const { clock } = opts;
  const read: ReadOptions = { includeCommentary: opts.includeCommentary ?? false };
  const complete = opts.api === 'chat' ? chatCall : responsesCall;
  const { sendModel } = opts;
  return {
    complete: (body, signal) =>
      complete(client, clock, sendModel === undefined ? body : { ...body, model: sendModel }, signal, read),
    classify: classifyError,
    // For messages: credentials written into the URL (user:pass@, ?api-key=) stay out of them.
    endpoint: storableUrl(client.baseURL),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
}

/** How a response is read into a Completion. */
export interface ReadOptions {
  /** Responses: include the text of `phase: "commentary"` messages (default: the final answer only). */
  includeCommentary?: boolean;
}

async function chatCall(
  client: OpenAI,
  clock: Clock,
  body: Body,
  signal: AbortSignal,
  _read: ReadOptions,
): Promise<Completion> {
  const t0 = clock.now();
  if (body.stream !== true) {
    const { data, response } = await client.chat.completions
      .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal })
      .withResponse();
    const latencyMs = clock.now() - t0;
    return completionOf(fromChatCompletion(data), latencyMs, null, response.headers);
  }

  const { data: stream, response } = await client.chat.completions
    .create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, { signal })
    .withResponse();
  let ttftMs: number | null = null;
  let text = '';
  const tools: ToolCall[] = [];
  let finishReason: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let servedModel: string | null = null;
  let serviceTier: string | null = null;
  for await (const chunk of stream) {
    // The first non-empty one: Azure opens a stream with a chunk of prompt filter results whose
    // model (and id) are empty strings.
    if (!servedModel) servedModel = servedModelName(chunk.model) || null;
    serviceTier ??= chunk.service_tier ?? null;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta;
    if (ttftMs === null && (delta.content || delta.refusal || delta.tool_calls?.length))
      ttftMs = clock.now() - t0;
    if (delta.content) text += delta.content;
    else if (delta.refusal) text += delta.refusal;
    for (const tc of delta.tool_calls ?? []) {
      const slot = tools[tc.index] ?? { name: '', arguments: '' };
      tools[tc.index] = slot;
      if (tc.function?.name) slot.name += tc.function.name;
      if (tc.function?.arguments) slot.arguments += tc.function.arguments;
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  const latencyMs = clock.now() - t0;
  if (finishReason === null) throw new TruncatedStreamError('stream ended before its finish_reason');
  if (usage === undefined) {
    // Not cut off: a cut body fails in the transport ("terminated"); this one ended cleanly.
    throw new MissingStreamUsageError(
      'the stream finished without the usage chunk that stream_options.include_usage asks for: this endpoint ignores the option, so no streamed call to it can be priced; use stream: false, or an API version that supports stream_options',
    );
  }
  return completionOf(
    {
      text,
      toolCalls: tools.filter(Boolean),
      usage: chatUsage(usage),
      finishReason,
      servedModel,
      serviceTier,
    },
    latencyMs,
    ttftMs,
    response.headers,
  );
}

/** What a response body says, before the timings and the headers are added. */
type BodyFacts = Pick<
  Completion,
  'text' | 'toolCalls' | 'usage' | 'finishReason' | 'servedModel' | 'serviceTier'
>;

/**
 * A read body (fromChatCompletion, fromResponse), its timings and the response headers' facts as one
 * Completion. A flat literal: spreading the two objects into a third was V8's slow path, ≈5 µs a
 * call (of the ≈90 µs holdout adds to a JSON call in the benchmark).
 */
function completionOf(r: BodyFacts, latencyMs: number, ttftMs: number | null, headers: Headers): Completion {
  const ms = headers.get('openai-processing-ms');
  return {
    text: r.text,
    toolCalls: r.toolCalls,
    usage: r.usage,
    finishReason: r.finishReason,
    servedModel: r.servedModel,
    serviceTier: r.serviceTier,
    latencyMs,
    ttftMs,
    // Azure OpenAI's own request id when there is no x-request-id.
    requestId: headers.get('x-request-id') ?? headers.get('apim-request-id'),
    serverMs: ms === null || ms === '' ? null : Number(ms),
    simulated: headers.get('x-holdout-simulator') !== null,
  };
}

/** What a ChatCompletion body says: also how a logged production response is read (replay). */
export function fromChatCompletion(data: OpenAI.ChatCompletion) {
  const choice = data.choices?.[0];
  const msg = choice?.message;
  return {
    text: msg?.content ?? msg?.refusal ?? '',
    toolCalls: (msg?.tool_calls ?? []).flatMap((tc) =>
      tc.type === 'function' ? [{ name: tc.function.name, arguments: tc.function.arguments }] : [],
    ),
    usage: chatUsage(data.usage),
    finishReason: choice?.finish_reason ?? null,
    servedModel: servedModelName(data.model),
    serviceTier: data.service_tier ?? null,
  };
}

/**
 * The model an endpoint says it served, control characters escaped: it is stored, compared between
 * runs and printed (snapshot drift), and an endpoint's text must not reach a terminal raw.
 */
export function servedModelName(model: string | null | undefined): string | null {
  return model === null || model === undefined ? null : printable(model);
}

function chatUsage(u: OpenAI.CompletionUsage | undefined) {
  return {
    inputTokens: u?.prompt_tokens ?? 0,
    cachedTokens: u?.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: u?.prompt_tokens_details?.cache_write_tokens ?? 0,
    outputTokens: u?.completion_tokens ?? 0,
    reasoningTokens: u?.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

async function responsesCall(
  client: OpenAI,
  clock: Clock,
  body: Body,
  signal: AbortSignal,
  read: ReadOptions,
): Promise<Completion> {
  const t0 = clock.now();
  if (body.stream !== true) {
    const { data, response } = await client.responses
      .create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming, { signal })
      .withResponse();
    const latencyMs = clock.now() - t0;
    if (data.status === 'failed') throw responseFailed(data);
    return completionOf(fromResponse(data, read), latencyMs, null, response.headers);
  }

  const { data: stream, response } = await client.responses
    .create(body as unknown as OpenAI.Responses.ResponseCreateParamsStreaming, { signal })
    .withResponse();
  let ttftMs: number | null = null;
  let final: OpenAI.Responses.Response | undefined;
  for await (const event of stream) {
    switch (event.type) {
      case 'response.output_text.delta':
      case 'response.refusal.delta':
      case 'response.function_call_arguments.delta':
        ttftMs ??= clock.now() - t0;
        break;
      case 'response.completed':
      case 'response.incomplete':
        final = event.response;
        break;
      case 'response.failed':
        throw responseFailed(event.response);
      case 'error':
        // The event as the SDK types it ({type: "error", code, message, param}). The API has also
        // been seen nesting the details ({type: "error", error: {type, code, message}}): the SDK
        // throws that one itself, as an APIError with no status and the code kept.
        throw inStreamError(event, response.headers);
    }
  }
  const latencyMs = clock.now() - t0;
  if (!final) throw new TruncatedStreamError('stream ended before response.completed');
  return completionOf(fromResponse(final, read), latencyMs, ttftMs, response.headers);
}

function responseFailed(r: OpenAI.Responses.Response): ResponseFailedError {
  const e = r.error as { code?: string | null; message?: string } | null | undefined;
  return new ResponseFailedError(e?.message || 'response failed', e?.code ?? null);
}

/** An `error` event of a Responses stream, as the APIError (no status) that an SSE error payload becomes. */
function inStreamError(event: OpenAI.Responses.ResponseErrorEvent, headers: Headers): APIError {
  const e = event as unknown as Record<string, unknown>;
  const nested = e.error && typeof e.error === 'object' ? (e.error as Record<string, unknown>) : undefined;
  const details = nested ?? { code: e.code ?? null, message: e.message, param: e.param ?? null };
  return new OpenAI.APIError(undefined, details, undefined, headers);
}

/**
 * What a Response body says: also how a logged production response is read (replay). The scored
 * text is the final answer: the messages with `phase: "final_answer"` or no phase. Messages with
 * `phase: "commentary"` (progress notes some models send before it) are left out unless
 * `includeCommentary`; separate messages are joined by a blank line.
 */
export function fromResponse(r: OpenAI.Responses.Response, read: ReadOptions = {}) {
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const item of r.output ?? []) {
    if (item.type === 'message') {
      const phase = (item as { phase?: string | null }).phase;
      if (phase === 'commentary' && !read.includeCommentary) continue;
      let text = '';
      for (const part of item.content ?? []) {
        if (part.type === 'output_text') text += part.text;
        else if (part.type === 'refusal') text += part.refusal;
      }
      texts.push(text);
    } else if (item.type === 'function_call') {
      toolCalls.push({ name: item.name, arguments: item.arguments });
    }
  }
  const u = r.usage;
  return {
    text: texts.filter((t) => t !== '').join('\n\n'),
    toolCalls,
    usage: {
      inputTokens: u?.input_tokens ?? 0,
      cachedTokens: u?.input_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: u?.input_tokens_details?.cache_write_tokens ?? 0,
      outputTokens: u?.output_tokens ?? 0,
      reasoningTokens: u?.output_tokens_details?.reasoning_tokens ?? 0,
    },
    finishReason:
      r.status === 'incomplete' ? (r.incomplete_details?.reason ?? 'incomplete') : (r.status ?? null),
    servedModel: servedModelName(r.model),
    serviceTier: r.service_tier ?? null,
  };
}

const MAX_RETRY_AFTER_MS = 60_000;

/** Retry-After as the API sends it: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, nowMs = Date.now()): number | undefined {
  if (!headers) return undefined;
  let ms: number | undefined;
  const msHeader = headers.get('retry-after-ms');
  if (msHeader !== null && msHeader.trim() !== '' && Number.isFinite(Number(msHeader))) ms = Number(msHeader);
  else {
    const ra = headers.get('retry-after');
    if (ra !== null && ra.trim() !== '') {
      const seconds = Number(ra);
      if (Number.isFinite(seconds)) ms = seconds * 1000;
      else {
        const date = Date.parse(ra);
        if (!Number.isNaN(date)) ms = date - nowMs;
      }
    }
  }
  // Like the SDK: an absurd or negative hint is ignored in favour of exponential backoff.
  return ms !== undefined && ms >= 0 && ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}

const STATUS_KIND: Record<number, ErrorKind> = {
  400: 'bad_request',
  401: 'auth',
  403: 'auth',
  404: 'not_found',
  408: 'timeout',
  409: 'conflict',
  422: 'unprocessable',
};

/**
 * Error codes that say what happened whatever the status they came with (the same code can arrive
 * as a 400, a 404, a 429 or inside a 200 stream): looked at before the status.
 */
const CODE_KIND: Readonly<Record<string, { kind: ErrorKind; retry: boolean }>> = {
  // The Responses API answers an unknown model with 400, Chat Completions with 404: the same stop.
  model_not_found: { kind: 'not_found', retry: false },
  insufficient_quota: { kind: 'insufficient_quota', retry: false },
  billing_hard_limit_reached: { kind: 'insufficient_quota', retry: false },
  invalid_api_key: { kind: 'auth', retry: false },
  rate_limit_exceeded: { kind: 'rate_limit', retry: true },
  context_length_exceeded: { kind: 'context_length_exceeded', retry: false },
  server_error: { kind: 'server_error', retry: true },
  server_is_overloaded: { kind: 'server_error', retry: true },
};

/** Error types (`error.type`) that classify an in-stream error that has no (known) code. */
const TYPE_KIND: Readonly<Record<string, { kind: ErrorKind; retry: boolean }>> = {
  insufficient_quota: { kind: 'insufficient_quota', retry: false },
  server_error: { kind: 'server_error', retry: true },
  service_unavailable_error: { kind: 'server_error', retry: true },
  rate_limit_error: { kind: 'rate_limit', retry: true },
  requests: { kind: 'rate_limit', retry: true },
  tokens: { kind: 'rate_limit', retry: true },
  invalid_request_error: { kind: 'bad_request', retry: false },
};

/**
 * "Request too large for gpt-4o in organization org-… on tokens per min (TPM): Limit 30000,
 * Requested 30002": a 429 `rate_limit_exceeded` (type `tokens`) that waiting never cures.
 */
export function isRequestTooLarge(code: unknown, type: unknown, message: string): boolean {
  return (code === 'rate_limit_exceeded' || type === 'tokens') && /\brequest too large for\b/i.test(message);
}

/**
 * Whether to retry an error, and its kind. API errors are classified by their `code` first
 * (model_not_found, insufficient_quota, invalid_api_key, rate_limit_exceeded,
 * context_length_exceeded, …), then by HTTP status. Errors inside a stream (a Chat chunk that is
 * `{"error": {...}}`, a Responses `error` event or `response.failed`) keep their code and are
 * classified the same way; one with no code or type is taken as a server error.
 */
export function classifyError(err: unknown): RetryDecision {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof OpenAI.APIConnectionTimeoutError) return { retry: true, kind: 'timeout', message };
  if (err instanceof OpenAI.APIConnectionError) return { retry: true, kind: 'connection', message };
  if (err instanceof OpenAI.APIError) {
    const status = typeof err.status === 'number' ? err.status : undefined;
    const at = status !== undefined ? { status } : {};
    const afterMs = retryAfterMs(err.headers);
    const retryable = (kind: ErrorKind): RetryDecision => ({ retry: true, kind, ...at, message, afterMs });
    const final = (kind: ErrorKind): RetryDecision => ({ retry: false, kind, ...at, message });
    if (isRequestTooLarge(err.code, err.type, message)) return final('request_too_large');
    const byCode = typeof err.code === 'string' ? CODE_KIND[err.code] : undefined;
    if (byCode) return byCode.retry ? retryable(byCode.kind) : final(byCode.kind);
    if (status === undefined) {
      // An error inside an SSE stream: no status, classified by its type when it has one.
      const byType = typeof err.type === 'string' ? TYPE_KIND[err.type] : undefined;
      if (byType) return byType.retry ? retryable(byType.kind) : final(byType.kind);
      return retryable('server_error');
    }
    if (status === 429) return retryable('rate_limit');
    if (status >= 500) return retryable('server_error');
    if (status === 408 || status === 409) return retryable(STATUS_KIND[status]!);
    return final(STATUS_KIND[status] ?? 'client_error');
  }
  if (err instanceof ResponseFailedError) {
    const byCode = err.code ? CODE_KIND[err.code] : undefined;
    if (isRequestTooLarge(err.code, undefined, message))
      return { retry: false, kind: 'request_too_large', message };
    if (byCode) return { retry: byCode.retry, kind: byCode.kind, message } as RetryDecision;
    // Codes of a failed response that no retry cures: the prompt or an image in it was refused.
    if (
      err.code &&
      /^(invalid_|image_|empty_image|unsupported_image|failed_to_download|bio_policy|data_residency)/.test(
        err.code,
      )
    )
      return { retry: false, kind: 'bad_request', message };
    return { retry: true, kind: 'response_failed', message };
  }
  if (err instanceof TruncatedStreamError) return { retry: true, kind: 'truncated_stream', message };
  if (err instanceof MissingStreamUsageError) return { retry: false, kind: 'no_stream_usage', message };
  if (err instanceof SyntaxError) return { retry: true, kind: 'malformed_response', message };
  // undici reports a body cut off mid-response as a bare TypeError('terminated'), outside the SDK's classes.
  if (err instanceof TypeError && (message === 'terminated' || message === 'fetch failed')) {
    return { retry: true, kind: 'connection', message };
  }
  return { retry: false, kind: 'internal', message };
}
