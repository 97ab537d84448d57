import OpenAI from 'openai';
import type { Clock } from '../clock.js';
import {
  type Completion,
  type ErrorKind,
  type Provider,
  ResponseFailedError,
  type RetryDecision,
  TruncatedStreamError,
} from './provider.js';

type Body = Record<string, unknown>;
type ToolCall = { name: string; arguments: string };

export interface OpenAIProviderOptions {
  api: 'chat' | 'responses';
  clock: Clock;
}

/**
 * One attempt through the official SDK. The client must be built with `maxRetries: 0`: retries
 * belong to the runner, which keeps their waiting time out of the latency.
 */
export function openaiProvider(client: OpenAI, opts: OpenAIProviderOptions): Provider {
  const { clock } = opts;
  const complete = opts.api === 'chat' ? chatCall : responsesCall;
  return {
    complete: (body, signal) => complete(client, clock, body, signal),
    classify: classifyError,
  };
}

function headerFacts(headers: Headers) {
  const ms = headers.get('openai-processing-ms');
  return {
    requestId: headers.get('x-request-id'),
    serverMs: ms === null || ms === '' ? null : Number(ms),
    simulated: headers.get('x-holdout-simulator') !== null,
  };
}

async function chatCall(client: OpenAI, clock: Clock, body: Body, signal: AbortSignal): Promise<Completion> {
  const t0 = clock.now();
  if (body.stream !== true) {
    const { data, response } = await client.chat.completions
      .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal })
      .withResponse();
    const latencyMs = clock.now() - t0;
    return { ...fromChatCompletion(data), latencyMs, ttftMs: null, ...headerFacts(response.headers) };
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
    servedModel ??= chunk.model ?? null;
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
  if (finishReason === null || usage === undefined) {
    throw new TruncatedStreamError(
      `stream ended before ${finishReason === null ? 'its finish_reason' : 'the usage chunk'}`,
    );
  }
  return {
    text,
    toolCalls: tools.filter(Boolean),
    usage: chatUsage(usage),
    finishReason,
    servedModel,
    serviceTier,
    latencyMs,
    ttftMs,
    ...headerFacts(response.headers),
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
    servedModel: data.model ?? null,
    serviceTier: data.service_tier ?? null,
  };
}

function chatUsage(u: OpenAI.CompletionUsage | undefined) {
  return {
    inputTokens: u?.prompt_tokens ?? 0,
    cachedTokens: u?.prompt_tokens_details?.cached_tokens ?? 0,
    outputTokens: u?.completion_tokens ?? 0,
    reasoningTokens: u?.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

async function responsesCall(
  client: OpenAI,
  clock: Clock,
  body: Body,
  signal: AbortSignal,
): Promise<Completion> {
  const t0 = clock.now();
  if (body.stream !== true) {
    const { data, response } = await client.responses
      .create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming, { signal })
      .withResponse();
    const latencyMs = clock.now() - t0;
    if (data.status === 'failed') throw new ResponseFailedError(data.error?.message ?? 'response failed');
    return { ...fromResponse(data), latencyMs, ttftMs: null, ...headerFacts(response.headers) };
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
        throw new ResponseFailedError(event.response.error?.message ?? 'response failed');
      case 'error':
        throw new ResponseFailedError(event.message);
    }
  }
  const latencyMs = clock.now() - t0;
  if (!final) throw new TruncatedStreamError('stream ended before response.completed');
  return { ...fromResponse(final), latencyMs, ttftMs, ...headerFacts(response.headers) };
}

/** What a Response body says: also how a logged production response is read (replay). */
export function fromResponse(r: OpenAI.Responses.Response) {
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const item of r.output ?? []) {
    if (item.type === 'message') {
      for (const part of item.content) {
        if (part.type === 'output_text') text += part.text;
        else if (part.type === 'refusal') text += part.refusal;
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({ name: item.name, arguments: item.arguments });
    }
  }
  const u = r.usage;
  return {
    text,
    toolCalls,
    usage: {
      inputTokens: u?.input_tokens ?? 0,
      cachedTokens: u?.input_tokens_details?.cached_tokens ?? 0,
      outputTokens: u?.output_tokens ?? 0,
      reasoningTokens: u?.output_tokens_details?.reasoning_tokens ?? 0,
    },
    finishReason:
      r.status === 'incomplete' ? (r.incomplete_details?.reason ?? 'incomplete') : (r.status ?? null),
    servedModel: r.model ?? null,
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

export function classifyError(err: unknown): RetryDecision {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof OpenAI.APIConnectionTimeoutError) return { retry: true, kind: 'timeout', message };
  if (err instanceof OpenAI.APIConnectionError) return { retry: true, kind: 'connection', message };
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    if (status === 429) {
      if (err.code === 'insufficient_quota')
        return { retry: false, kind: 'insufficient_quota', status, message };
      return { retry: true, kind: 'rate_limit', status, message, afterMs: retryAfterMs(err.headers) };
    }
    if (status >= 500)
      return { retry: true, kind: 'server_error', status, message, afterMs: retryAfterMs(err.headers) };
    if (status === 408 || status === 409) {
      return { retry: true, kind: STATUS_KIND[status]!, status, message, afterMs: retryAfterMs(err.headers) };
    }
    return { retry: false, kind: STATUS_KIND[status] ?? 'client_error', status, message };
  }
  if (err instanceof OpenAI.APIError) {
    // An error event inside an SSE stream arrives as an APIError with no status: a server-side failure.
    return { retry: true, kind: 'server_error', message };
  }
  if (err instanceof TruncatedStreamError) return { retry: true, kind: 'truncated_stream', message };
  if (err instanceof ResponseFailedError) return { retry: true, kind: 'response_failed', message };
  if (err instanceof SyntaxError) return { retry: true, kind: 'malformed_response', message };
  // undici reports a body cut off mid-response as a bare TypeError('terminated'), outside the SDK's classes.
  if (err instanceof TypeError && (message === 'terminated' || message === 'fetch failed')) {
    return { retry: true, kind: 'connection', message };
  }
  return { retry: false, kind: 'internal', message };
}
