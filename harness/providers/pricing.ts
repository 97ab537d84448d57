import { z } from 'zod';

/** USD per 1M tokens. */
export const Price = z.strictObject({
  input: z.number().nonnegative(),
  cached_input: z.number().nonnegative(),
  output: z.number().nonnegative(),
});
export type Price = z.infer<typeof Price>;

/**
 * Standard-tier list prices, as published on OpenAI's model and pricing pages between 2026-05 and
 * 2026-08 (shared/reference/openai-api.md §2). Prices move: a config's own `price` always wins.
 */
export const PRICE_TABLE_DATE = '2026-08';

interface ModelPrices {
  standard: Price;
  priority?: Price;
  /** Above this many input tokens the whole request is billed at the long-context multipliers. */
  longContext?: { aboveInputTokens: number; input: number; output: number };
}

const LONG_272K = { aboveInputTokens: 272_000, input: 2, output: 1.5 };
const p = (input: number, cached_input: number, output: number): Price => ({ input, cached_input, output });

export const PRICE_TABLE: Readonly<Record<string, ModelPrices>> = {
  'gpt-5.5': { standard: p(5, 0.5, 30), priority: p(12.5, 1.25, 75), longContext: LONG_272K },
  'gpt-5.4': { standard: p(2.5, 0.25, 15), priority: p(5, 0.5, 30), longContext: LONG_272K },
  'gpt-5.4-mini': { standard: p(0.75, 0.075, 4.5), priority: p(1.5, 0.15, 9) },
  'gpt-5.4-nano': { standard: p(0.2, 0.02, 1.25) },
  'gpt-5': { standard: p(1.25, 0.125, 10), priority: p(2.5, 0.25, 20) },
  'gpt-5-mini': { standard: p(0.25, 0.025, 2), priority: p(0.45, 0.045, 3.6) },
  'gpt-5-nano': { standard: p(0.05, 0.005, 0.4) },
  'gpt-4.1': { standard: p(2, 0.5, 8), priority: p(3.5, 0.875, 14) },
  'gpt-4.1-mini': { standard: p(0.4, 0.1, 1.6), priority: p(0.7, 0.175, 2.8) },
  'gpt-4.1-nano': { standard: p(0.1, 0.025, 0.4), priority: p(0.2, 0.05, 0.8) },
  'gpt-4o-mini': { standard: p(0.15, 0.075, 0.6), priority: p(0.25, 0.125, 1) },
};

/** A dated snapshot (`gpt-5.4-mini-2026-03-17`) is priced as its family. */
export function priceFamily(model: string): string | undefined {
  if (model in PRICE_TABLE) return model;
  const stripped = model.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  return stripped in PRICE_TABLE ? stripped : undefined;
}

export interface PriceRule {
  /** The configured or table price, Standard tier. */
  standard: Price;
  /** Where the price came from, stored with the run. */
  source: string;
  family?: string;
}

export function resolvePrice(model: string, configured?: Price): PriceRule | undefined {
  const family = priceFamily(model);
  if (configured) return { standard: configured, source: 'config', family };
  if (!family) return undefined;
  return { standard: PRICE_TABLE[family]!.standard, source: `table ${PRICE_TABLE_DATE}: ${family}`, family };
}

export interface Usage {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

/**
 * Cost in USD from the API's own usage: (input − cached)·in + cached·cached_in + output·out, per 1M.
 * Reasoning tokens are already inside output tokens, so they are not added again. Rates follow the
 * tier the response reports serving (a `priority` response is billed at priority rates; `flex` and
 * `batch` at half the standard rate), and the long-context multipliers above 272K input tokens.
 */
export function costUsd(usage: Usage, rule: PriceRule, serviceTier?: string | null): number {
  const family = rule.family ? PRICE_TABLE[rule.family] : undefined;
  let price = rule.standard;
  if (serviceTier === 'priority' && family?.priority && rule.source !== 'config') price = family.priority;
  else if (serviceTier === 'flex' || serviceTier === 'batch') price = scale(price, 0.5, 0.5);
  const long = family?.longContext;
  if (long && usage.inputTokens > long.aboveInputTokens && serviceTier !== 'priority') {
    price = scale(price, long.input, long.output);
  }
  const uncached = Math.max(0, usage.inputTokens - usage.cachedTokens);
  return (
    (uncached * price.input + usage.cachedTokens * price.cached_input + usage.outputTokens * price.output) /
    1e6
  );
}

function scale(pr: Price, inputFactor: number, outputFactor: number): Price {
  return {
    input: pr.input * inputFactor,
    cached_input: pr.cached_input * inputFactor,
    output: pr.output * outputFactor,
  };
}
