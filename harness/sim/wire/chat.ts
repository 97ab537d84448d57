import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { type InStreamError, type SimCall, type StreamPlan, splitDeltas, sseData } from './call.js';

const FINGERPRINT = 'holdout-sim';

export function chatUsage(call: SimCall): CompletionUsage {
  return {
    prompt_tokens: call.inputTokens,
    completion_tokens: call.outputTokens,
    total_tokens: call.inputTokens + call.outputTokens,
    prompt_tokens_details: {
      cached_tokens: call.cachedTokens,
      ...(call.cacheWriteTokens !== undefined ? { cache_write_tokens: call.cacheWriteTokens } : {}),
      audio_tokens: 0,
    },
    completion_tokens_details: {
      reasoning_tokens: call.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function chatCompletion(call: SimCall): ChatCompletion {
  return {
    id: `chatcmpl-${call.hex}`,
    object: 'chat.completion',
    created: call.created,
    model: call.servedModel,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: call.output, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: chatUsage(call),
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  };
}

/**
 * Chunks as the API sends them: a role chunk with empty content, content chunks, a chunk with
 * finish_reason and an empty delta, then (only with include_usage) a `choices: []` chunk carrying
 * usage, every earlier chunk having `usage: null`; then `[DONE]`. With `error`, the first
 * `afterDeltas` content chunks, then a chunk that is only `{"error": {...}}`, and the stream ends.
 */
export function chatStreamPlan(call: SimCall, includeUsage: boolean, error?: InStreamError): StreamPlan {
  const chunk = (choice: ChatCompletionChunk.Choice | undefined, usage?: CompletionUsage) => {
    const c: ChatCompletionChunk = {
      id: `chatcmpl-${call.hex}`,
      object: 'chat.completion.chunk',
      created: call.created,
      model: call.servedModel,
      service_tier: 'default',
      system_fingerprint: FINGERPRINT,
      choices: choice ? [choice] : [],
    };
    if (includeUsage) c.usage = usage ?? null;
    return sseData(c);
  };
  const delta = (d: ChatCompletionChunk.Choice.Delta, finish: 'stop' | null = null) =>
    chunk({ index: 0, delta: d, logprobs: null, finish_reason: finish });

  const head = delta({ role: 'assistant', content: '', refusal: null });
  const deltas = splitDeltas(call.output).map((content) => delta({ content }));
  if (error) {
    const { code, type, message } = error;
    return {
      head,
      deltas: deltas.slice(0, error.afterDeltas),
      tail: sseData({ error: { message, type, param: null, code } }),
    };
  }
  let tail = delta({}, 'stop');
  if (includeUsage) tail += chunk(undefined, chatUsage(call));
  tail += 'data: [DONE]\n\n';
  return { head, deltas, tail };
}
