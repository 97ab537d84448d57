import type {
  Response,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { type InStreamError, type SimCall, type StreamPlan, splitDeltas, sseEvent } from './call.js';

/** `output_text` is a convenience the SDK adds client-side; the API never sends it. */
export type WireResponse = Omit<Response, 'output_text'>;

export function responsesUsage(call: SimCall): ResponseUsage {
  return {
    input_tokens: call.inputTokens,
    // cache_write_tokens is required by the SDK type: 0 unless the profile reports cache writes.
    input_tokens_details: {
      cached_tokens: call.cachedTokens,
      cache_write_tokens: call.cacheWriteTokens ?? 0,
    },
    output_tokens: call.outputTokens,
    output_tokens_details: { reasoning_tokens: call.reasoningTokens },
    total_tokens: call.inputTokens + call.outputTokens,
  };
}

function pick<T>(value: unknown, fallback: T): T {
  return value === undefined ? fallback : (value as T);
}

/** The Response object; request parameters are echoed back as the API does. */
export function responseObject(
  call: SimCall,
  body: Record<string, unknown>,
  state: 'in_progress' | 'completed' | 'failed',
  output: ResponseOutputMessage[],
  error: { code: string; message: string } | null = null,
): WireResponse {
  const done = state === 'completed';
  const res: WireResponse = {
    id: `resp_${call.hex}`,
    object: 'response',
    created_at: call.created,
    status: state,
    background: false,
    completed_at: done ? Math.floor(Date.now() / 1000) : null,
    // The SDK types the code as an enum; the API also sends others here (insufficient_quota).
    error: error as WireResponse['error'],
    incomplete_details: null,
    instructions: pick<WireResponse['instructions']>(body.instructions, null),
    max_output_tokens: pick<number | null>(body.max_output_tokens, null),
    metadata: pick<WireResponse['metadata']>(body.metadata, {}),
    model: call.servedModel,
    output,
    parallel_tool_calls: pick(body.parallel_tool_calls, true),
    previous_response_id: pick<string | null>(body.previous_response_id, null),
    reasoning: pick<WireResponse['reasoning']>(body.reasoning, { effort: null, summary: null }),
    service_tier: 'default',
    temperature: pick<number | null>(body.temperature, 1),
    text: pick<WireResponse['text']>(body.text, { format: { type: 'text' } }),
    tool_choice: pick<WireResponse['tool_choice']>(body.tool_choice, 'auto'),
    tools: pick<WireResponse['tools']>(body.tools, []),
    top_p: pick<number | null>(body.top_p, 1),
    truncation: pick<WireResponse['truncation']>(body.truncation, 'disabled'),
  };
  if (done) res.usage = responsesUsage(call);
  return res;
}

function message(call: SimCall, text: string, done: boolean): ResponseOutputMessage {
  return {
    type: 'message',
    id: `msg_${call.hex}`,
    role: 'assistant',
    status: done ? 'completed' : 'in_progress',
    content: done ? [outputText(text)] : [],
  };
}

function outputText(text: string): ResponseOutputText {
  return { type: 'output_text', text, annotations: [] };
}

export function responsesBody(call: SimCall, body: Record<string, unknown>): WireResponse {
  return responseObject(call, body, 'completed', [message(call, call.output, true)]);
}

type Event = ResponseStreamEvent;
// sequence_number is filled in by the plan builder, in emission order.
type Unnumbered<E> = E extends Event ? Omit<E, 'sequence_number'> : never;

/**
 * The event sequence of a streamed response: created, in_progress, output_item.added,
 * content_part.added, output_text.delta..., output_text.done, content_part.done,
 * output_item.done, completed. Each is sent as `event: <type>` plus `data: <json>`. With `error`:
 * the first `afterDeltas` deltas, then an `error` event carrying the details nested under `error`
 * (the shape recorded from the API for an in-stream insufficient_quota), then `response.failed`
 * whose `response.error` has the code and message.
 */
export function responsesStreamPlan(
  call: SimCall,
  body: Record<string, unknown>,
  error?: InStreamError,
): StreamPlan {
  let seq = 0;
  const ev = (e: Unnumbered<Event>) => sseEvent(e.type, { ...e, sequence_number: seq++ });
  const item_id = `msg_${call.hex}`;
  const at = { output_index: 0, content_index: 0, item_id };

  const head =
    ev({ type: 'response.created', response: responseObject(call, body, 'in_progress', []) as Response }) +
    ev({
      type: 'response.in_progress',
      response: responseObject(call, body, 'in_progress', []) as Response,
    }) +
    ev({ type: 'response.output_item.added', output_index: 0, item: message(call, '', false) }) +
    ev({ type: 'response.content_part.added', ...at, part: outputText('') });
  const deltas = splitDeltas(call.output).map((delta) =>
    ev({ type: 'response.output_text.delta', ...at, delta, logprobs: [] }),
  );
  if (error) {
    const kept = deltas.slice(0, error.afterDeltas);
    seq = 4 + kept.length; // the deltas left out do not take a sequence number
    const { code, type, message } = error;
    const failed = responseObject(call, body, 'failed', [], { code, message }) as Response;
    const tail =
      sseEvent('error', {
        type: 'error',
        error: { type, code, message, param: null },
        sequence_number: seq++,
      }) + ev({ type: 'response.failed', response: failed });
    return { head, deltas: kept, tail };
  }
  const tail =
    ev({ type: 'response.output_text.done', ...at, text: call.output, logprobs: [] }) +
    ev({ type: 'response.content_part.done', ...at, part: outputText(call.output) }) +
    ev({ type: 'response.output_item.done', output_index: 0, item: message(call, call.output, true) }) +
    ev({ type: 'response.completed', response: responsesBody(call, body) as Response });
  return { head, deltas, tail };
}
