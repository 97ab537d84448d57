import type OpenAI from 'openai';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { CallOutcome } from './attempt.js';
import type { Completion } from '../providers/provider.js';
import { fromChatCompletion, fromResponse } from '../providers/openai.js';
import { type PriceRule, priceFamily, resolvePrice } from '../providers/pricing.js';

/** What replay needs of its candidate: the model and price it is configured with. */
export interface ReplayCandidate {
  id: string;
  model: string;
  price: PriceRule;
}

/** Per candidate: the models its log has shown so far, and whether the mix was reported. */
const logs = new WeakMap<object, { models: Set<string>; warned: boolean; unpriced: Set<string> }>();

/**
 * The production response as a candidate (`replay: true`): no call is made. The record's logged
 * response is read like a live one — output, tool calls, usage (cached, cache-write and reasoning
 * tokens included) and served model — and its logged latency stands for the call's. Its cost comes
 * from the price of the model the response names (`model` in the logged body), not the candidate's
 * `model`: a log may mix models. A logged model of the candidate's own family keeps the candidate's
 * price (its `price:` when configured); one with no bundled price falls back to it too. `warn` is
 * told once per candidate when its log mixes models.
 */
export function replayOutcome(
  record: HoldoutRecord,
  startedAt: string,
  candidate?: ReplayCandidate,
  warn?: (message: string) => void,
): CallOutcome {
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
  let completion: Completion;
  try {
    completion = completionOf(record, body);
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
  const price = candidate ? priceOfLogged(completion.servedModel, candidate, warn) : undefined;
  return { ...base, completion, ...(price ? { price } : {}) };
}

/** The rule a logged answer is priced by; undefined = the candidate's own. */
function priceOfLogged(
  logged: string | null,
  c: ReplayCandidate,
  warn: ((message: string) => void) | undefined,
): PriceRule | undefined {
  const model = logged ?? c.model;
  const family = priceFamily(model);
  let log = logs.get(c);
  if (!log) {
    log = { models: new Set(), warned: false, unpriced: new Set() };
    logs.set(c, log);
  }
  log.models.add(family ?? model.replace(/-\d{4}-\d{2}-\d{2}$/, ''));
  if (log.models.size > 1 && !log.warned) {
    log.warned = true;
    warn?.(
      `${c.id}: the logged production responses mix models (${[...log.models].join(', ')}); each answer is priced by the model it logged, not by "${c.model}"`,
    );
  }
  const own = c.price.family ?? priceFamily(c.model);
  if (family === undefined || family === own) {
    if (family === undefined && logged !== null && !sameModel(logged, c.model) && !log.unpriced.has(logged)) {
      log.unpriced.add(logged);
      warn?.(
        `${c.id}: logged model "${logged}" has no bundled price; its answers are priced as "${c.model}"`,
      );
    }
    return undefined;
  }
  return resolvePrice(model);
}

/** `my-ft-2026-03-17` is a snapshot of `my-ft`. */
function sameModel(logged: string, configured: string): boolean {
  return logged === configured || logged.replace(/-\d{4}-\d{2}-\d{2}$/, '') === configured;
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
