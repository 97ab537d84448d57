import type OpenAI from 'openai';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { CallOutcome } from './attempt.js';
import type { Completion } from '../providers/provider.js';
import { fromChatCompletion, fromResponse } from '../providers/openai.js';

/**
 * The production response as a candidate (`replay: true`): no call is made. The record's logged
 * response is read like a live one — output, tool calls, usage (cached and reasoning tokens
 * included) and served model — and its logged latency stands for the call's. Its cost comes from
 * the same price table as every other candidate's.
 */
export function replayOutcome(record: HoldoutRecord, startedAt: string): CallOutcome {
  const base = { attempts: 0, waitedMs: 0, startedAt, interrupted: false, fatal: false };
  const body = record.production?.body;
  if (!body) {
    return {
      ...base,
      failure: {
        retry: false,
        kind: 'no_production',
        message: 'the record has no logged production response',
      },
    };
  }
  try {
    return { ...base, completion: completionOf(record, body) };
  } catch (e) {
    return {
      ...base,
      failure: {
        retry: false,
        kind: 'malformed_response',
        message: `the logged production response cannot be read: ${e instanceof Error ? e.message : String(e)}`,
      },
    };
  }
}

function completionOf(record: HoldoutRecord, body: Record<string, unknown>): Completion {
  // A Response has `output` items; a ChatCompletion has `choices`. The body says which, whatever
  // API the request was logged under.
  const facts = Array.isArray(body.output)
    ? fromResponse(body as unknown as OpenAI.Responses.Response)
    : Array.isArray(body.choices)
      ? fromChatCompletion(body as unknown as OpenAI.ChatCompletion)
      : undefined;
  if (!facts) throw new Error('neither a ChatCompletion (choices) nor a Response (output)');
  if (body.usage === undefined || body.usage === null)
    throw new Error('it has no usage, so its cost is unknown');
  const latency = record.production?.latency_ms;
  return {
    ...facts,
    requestId: typeof body.id === 'string' ? body.id : null,
    serverMs: null,
    // Unknown when the log has no latency: null, never a made-up 0.
    latencyMs: typeof latency === 'number' ? latency : null,
    ttftMs: null,
    simulated: false,
  };
}
