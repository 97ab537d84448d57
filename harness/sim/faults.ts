import { z } from 'zod';
import { HarnessError } from '../errors.js';
import { Rng } from './hash.js';

export type FaultKind =
  | 'rate_limit' // 429 rate_limit_exceeded
  | 'insufficient_quota' // 429 insufficient_quota
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
}

export const FAULT_KINDS = [
  'rate_limit',
  'insufficient_quota',
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
