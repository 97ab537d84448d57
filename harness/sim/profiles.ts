import { z } from 'zod';
import { HarnessError } from '../errors.js';
import type { Rng } from './hash.js';

export interface SimProfile {
  /** Total service time; lognormal around the median with `sigma` (0 or absent = fixed). */
  latencyMs: { median: number; sigma?: number };
  /** Time to first content token when streaming; clamped to the sampled total latency. */
  ttftMs: number;
  /** Informational only: streaming spreads the deltas over (latency - ttft) whatever this says. */
  tokensPerSec?: number;
  /** Probability of giving the answer-key answer, 0..1. */
  accuracy: number;
  /** Hidden reasoning tokens per call, added to output tokens and reported in the details. */
  reasoningTokens?: number;
  /** Snapshot reported in `model`; defaults to `${name}-2026-03-17`. */
  servedModel?: string;
  /** As a pairwise judge: the share of calls answered "A" whatever the answers (sim/grader.ts). */
  positionBias?: number;
  /** Report `cache_write_tokens` (the prompt-prefix tokens newly cached), as models from gpt-5.6 do. */
  cacheWrites?: boolean;
}

const nonNegative = z.number().finite().nonnegative();

export const SimProfileSchema = z.strictObject({
  latencyMs: z.strictObject({ median: nonNegative, sigma: nonNegative.optional() }),
  ttftMs: nonNegative,
  tokensPerSec: z.number().finite().positive().optional(),
  accuracy: z.number().min(0).max(1),
  reasoningTokens: z.number().int().nonnegative().optional(),
  servedModel: z.string().min(1).optional(),
  positionBias: z.number().min(0).max(1).optional(),
  cacheWrites: z.boolean().optional(),
});

export const SimProfilesSchema = z.record(z.string().min(1), SimProfileSchema);

/** Simulated models: names say `sim-` so nobody mistakes their numbers for a real model's. */
export const DEFAULT_PROFILES: Record<string, SimProfile> = {
  'sim-nano': { latencyMs: { median: 120, sigma: 0.25 }, ttftMs: 40, tokensPerSec: 400, accuracy: 0.72 },
  'sim-mini': { latencyMs: { median: 220, sigma: 0.3 }, ttftMs: 80, tokensPerSec: 200, accuracy: 0.86 },
  'sim-frontier': {
    latencyMs: { median: 450, sigma: 0.35 },
    ttftMs: 180,
    tokensPerSec: 90,
    accuracy: 0.95,
    reasoningTokens: 64,
  },
  // A grader: the simulator answers holdout's judge prompts from their tagged parts (sim/grader.ts).
  'sim-judge': { latencyMs: { median: 150, sigma: 0.2 }, ttftMs: 60, tokensPerSec: 300, accuracy: 1 },
};

/** Validates profiles, throwing one message that lists every problem. */
export function parseProfiles(input: unknown, source = 'profiles'): Record<string, SimProfile> {
  const parsed = SimProfilesSchema.safeParse(input);
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `Invalid simulator ${source}:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

export function servedModelOf(name: string, profile: SimProfile): string {
  return profile.servedModel ?? `${name}-2026-03-17`;
}

export interface ResolvedModel {
  /** Profile name: the unit of determinism, accuracy and prefix caching. */
  name: string;
  profile: SimProfile;
  servedModel: string;
}

/**
 * Maps a requested model to its profile: the profile name, its served snapshot, or any
 * `${name}-…` snapshot. The longest matching name wins so 'sim-mini-x' never lands on 'sim-m'.
 */
export function resolveModel(
  requested: string,
  profiles: Record<string, SimProfile>,
): ResolvedModel | undefined {
  let best: string | undefined;
  for (const [name, profile] of Object.entries(profiles)) {
    if (requested === name || requested === profile.servedModel) {
      best = name;
      break;
    }
    if (requested.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  }
  if (best === undefined) return undefined;
  const profile = profiles[best]!;
  return { name: best, profile, servedModel: servedModelOf(best, profile) };
}

/** Total service time in ms for one call. */
export function sampleLatency(profile: SimProfile, rng: Rng): number {
  const { median, sigma } = profile.latencyMs;
  if (!sigma || median === 0) return median;
  return median * Math.exp(sigma * rng.normal());
}
