import { z } from 'zod';
import { HarnessError } from '../errors.js';
import { Rng } from './hash.js';

export type FaultKind =
  | 'rate_limit' // 429 rate_limit_exceeded
  | 'request_too_large' // 429 rate_limit_exceeded, type tokens: "Request too large for … (TPM)"
  | 'insufficient_quota' // 429 insufficient_quota
  | 'stream_error' // stream: 200, a few deltas, then an in-stream error with `code`; non-stream: that error over HTTP
  | 'server_error' // 500
  | 'unavailable' // 503
  | 'reset' // socket destroyed before any response
  | 'hang' // never answers; the socket stays open until the client aborts or close()
  | 'truncate' // stream: cut after some deltas, no final events; non-stream: half the body, then cut
  | 'malformed'; // 200 with a body that is not JSON

export interface FaultRule {
  kind: FaultKind;
  /** Requested model or profile name; absent = every model. */
  model?: string;
  /** Probability that a matching request gets the fault (seeded). Absent = 1. */
  rate?: number;
  /** Fire at most this many times; with no `rate`, that is the first N matching requests. */
  count?: number;
  /** Sent as `retry-after-ms`. */
  retryAfterMs?: number;
  /** Sent as `retry-after` (seconds). */
  retryAfterSec?: number;
  /** `stream_error`: the error code sent inside the stream (default `server_error`). */
  code?: StreamErrorCode;
  /** `stream_error`: content deltas sent before the error (default 1). */
  afterDeltas?: number;
}

/**
 * The in-stream errors `stream_error` can send, each with the type, message and HTTP status the API
 * gives the same error outside a stream (a non-streamed request gets that instead).
 */
export const STREAM_ERRORS = {
  server_error: {
    status: 500,
    type: 'server_error',
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  insufficient_quota: {
    status: 429,
    type: 'insufficient_quota',
    message:
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  },
  rate_limit_exceeded: {
    status: 429,
    type: 'requests',
    message: 'Rate limit reached for requests per min (RPM).',
  },
  context_length_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Your input exceeds the context window of this model. Please adjust your input and try again.',
  },
} as const;
export type StreamErrorCode = keyof typeof STREAM_ERRORS;
const STREAM_ERROR_CODES = Object.keys(STREAM_ERRORS) as [StreamErrorCode, ...StreamErrorCode[]];

export const FAULT_KINDS = [
  'rate_limit',
  'request_too_large',
  'insufficient_quota',
  'stream_error',
  'server_error',
  'unavailable',
  'reset',
  'hang',
  'truncate',
  'malformed',
] as const satisfies readonly FaultKind[];

const FaultRuleSchema = z.strictObject({
  kind: z.enum(FAULT_KINDS),
  model: z.string().min(1).optional(),
  rate: z.number().min(0).max(1).optional(),
  count: z.number().int().nonnegative().optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
  retryAfterSec: z.number().int().nonnegative().optional(),
  code: z.enum(STREAM_ERROR_CODES).optional(),
  afterDeltas: z.number().int().nonnegative().optional(),
});

export function parseFaults(input: unknown, source = 'faults'): FaultRule[] {
  const parsed = z.array(FaultRuleSchema).safeParse(input);
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `Invalid simulator ${source}:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/**
 * Decides per request which fault, if any, to inject. Rules are tried in order and the first that
 * fires wins; a rule that matches but does not fire (dice, or count used up) passes to the next.
 */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private fired: number[] = [];
  private rng: Rng;

  constructor(private readonly seed: number) {
    this.rng = new Rng(seed);
  }

  set(rules: FaultRule[]): void {
    this.rules = rules;
    this.fired = rules.map(() => 0);
  }

  reset(): void {
    this.fired = this.rules.map(() => 0);
    this.rng = new Rng(this.seed);
  }

  pick(requestedModel: string, profileName: string): FaultRule | undefined {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (rule.model !== undefined && rule.model !== requestedModel && rule.model !== profileName) continue;
      if (rule.count !== undefined && this.fired[i]! >= rule.count) continue;
      if (rule.rate !== undefined && this.rng.next() >= rule.rate) continue;
      this.fired[i] = this.fired[i]! + 1;
      return rule;
    }
    return undefined;
  }
}
