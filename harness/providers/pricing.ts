import { z } from 'zod';

const rate = z.number().nonnegative();

/** USD per 1M tokens, one tier. */
const Rates = z.strictObject({
  input: rate,
  cached_input: rate,
  output: rate,
  /**
   * Input tokens written to the prompt cache (`cache_write_tokens`). Default: the input rate, or
   * 1.25× it for models that bill cache writes (gpt-5.6 and later; see `billsCacheWrites`).
   */
  cache_write: rate.optional(),
});

/** USD per 1M tokens: what a config's `price:` takes, Standard tier, global processing. */
export const Price = Rates.extend({
  /**
   * The Priority-tier rates, for responses that report `service_tier: priority`. Default: the
   * standard rates scaled by the price table's priority/standard ratio for the model's family
   * (none known: the standard rates).
   */
  priority: Rates.optional(),
});
export type Price = z.infer<typeof Price>;

/**
 * Standard-tier list prices, as published on OpenAI's model and pricing pages between 2026-05 and
 * 2026-08. Prices move: a config's own `price` always wins (the tier, long-context, cache-write and
 * regional rules below apply to it too).
 */
export const PRICE_TABLE_DATE = '2026-08';
export const PRICE_TABLE_SOURCE =
  'shared/reference/openai-api.md §2 (snapshot 2026-05..2026-08): developers.openai.com/api/docs/models/{gpt-5-nano, gpt-5-mini, gpt-5.4-nano, gpt-4.1-mini}; ' +
  'captures of the models index (2026-05-25) and pricing page (2026-06-17, gpt-5.5); github/docs data/tables/copilot/models-and-pricing.yml (gpt-5.4*, gpt-5-mini, gpt-4.1); ' +
  'Priority rates from openai.com/api-priority-processing; regional processing from developers.openai.com/api/docs/guides/data-residency. ' +
  'Not confirmed against an official page: gpt-4.1-nano and gpt-4o-mini. Deprecated: gpt-5, gpt-5-mini, gpt-5-nano. ' +
  'Not in the table (no published rates in the snapshot): gpt-5.6 Sol/Terra/Luna and gpt-6, which bill cache writes at 1.25× input: give price: for them.';

interface ModelPrices {
  standard: Price;
  priority?: Price;
  /** Above this many input tokens the whole request is billed at the long-context multipliers. */
  longContext?: { aboveInputTokens: number; input: number; output: number };
  /** Eligible for the regional-processing (data residency) uplift: released on or after 2026-03-05. */
  regional?: boolean;
}

const LONG_272K = { aboveInputTokens: 272_000, input: 2, output: 1.5 };
const p = (input: number, cached_input: number, output: number): Price => ({ input, cached_input, output });

export const PRICE_TABLE: Readonly<Record<string, ModelPrices>> = {
  'gpt-5.5': {
    standard: p(5, 0.5, 30),
    priority: p(12.5, 1.25, 75),
    longContext: LONG_272K,
    regional: true,
  },
  'gpt-5.4': { standard: p(2.5, 0.25, 15), priority: p(5, 0.5, 30), longContext: LONG_272K, regional: true },
  'gpt-5.4-mini': { standard: p(0.75, 0.075, 4.5), priority: p(1.5, 0.15, 9), regional: true },
  'gpt-5.4-nano': { standard: p(0.2, 0.02, 1.25), regional: true },
  'gpt-5': { standard: p(1.25, 0.125, 10), priority: p(2.5, 0.25, 20) },
  'gpt-5-mini': { standard: p(0.25, 0.025, 2), priority: p(0.45, 0.045, 3.6) },
  'gpt-5-nano': { standard: p(0.05, 0.005, 0.4) },
  'gpt-4.1': { standard: p(2, 0.5, 8), priority: p(3.5, 0.875, 14) },
  'gpt-4.1-mini': { standard: p(0.4, 0.1, 1.6), priority: p(0.7, 0.175, 2.8) },
  'gpt-4.1-nano': { standard: p(0.1, 0.025, 0.4), priority: p(0.2, 0.05, 0.8) },
  'gpt-4o-mini': { standard: p(0.15, 0.075, 0.6), priority: p(0.25, 0.125, 1) },
};

/** Cache writes cost this × the uncached input rate on models that bill them (gpt-5.6 and later). */
export const CACHE_WRITE_FACTOR = 1.25;
/** Regional processing (data residency endpoints) on eligible models: +10% on every rate. */
export const REGIONAL_UPLIFT = 1.1;

/** gpt-5.6 and later (gpt-5.6-sol, gpt-5.10, gpt-6, gpt-6.1-…): released after both cut-offs below. */
const GPT_5_6_OR_LATER = /^gpt-(?:5\.(?:[6-9]|\d{2,})|(?:[6-9]|\d{2,})(?:\.\d+)?)(?:-|$)/;

/** Models billing cache writes at 1.25× input: "Cache writes cost nothing extra before gpt-5.6". */
export function billsCacheWrites(model: string): boolean {
  return GPT_5_6_OR_LATER.test(model);
}

/** Models with the regional-processing uplift: those released on or after 2026-03-05. */
export function regionalEligible(model: string): boolean {
  const family = priceFamily(model);
  return (family !== undefined && PRICE_TABLE[family]!.regional === true) || GPT_5_6_OR_LATER.test(model);
}

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
  /** Cache writes at this × the input rate when `cache_write` is not given; absent = 1 (no extra charge). */
  cacheWriteFactor?: number;
  /** Every rate × this: regional processing on an eligible model; absent = 1. */
  regionalUplift?: number;
}

export interface PriceOptions {
  /** The endpoint processes in a region (data residency): eligible models cost REGIONAL_UPLIFT more. */
  regional?: boolean;
}

export function resolvePrice(
  model: string,
  configured?: Price,
  opts: PriceOptions = {},
): PriceRule | undefined {
  const family = priceFamily(model);
  // Optional keys only when they apply, so that a rule (and the config hash it is part of) is
  // unchanged for every model and endpoint that existed before them.
  const extra: Pick<PriceRule, 'cacheWriteFactor' | 'regionalUplift'> = {};
  if (billsCacheWrites(model)) extra.cacheWriteFactor = CACHE_WRITE_FACTOR;
  if (opts.regional && regionalEligible(model)) extra.regionalUplift = REGIONAL_UPLIFT;
  if (configured) return { standard: configured, source: 'config', family, ...extra };
  if (!family) return undefined;
  return {
    standard: PRICE_TABLE[family]!.standard,
    source: `table ${PRICE_TABLE_DATE}: ${family}`,
    family,
    ...extra,
  };
}

export interface Usage {
  /** All input tokens, cached and cache-written ones included. */
  inputTokens: number;
  /** Read from the prompt cache: a part of inputTokens. */
  cachedTokens: number;
  /** Written to the prompt cache (`cache_write_tokens`): a part of inputTokens, apart from cachedTokens. */
  cacheWriteTokens?: number;
  outputTokens: number;
  reasoningTokens: number;
}

/**
 * How each `service_tier` a response reports is billed: `default` (and `auto`, `scale`, or none) at
 * the standard rates; `priority` (and `fast`, which reports as priority) at the Priority rates;
 * `flex` and `batch` at half the standard rates, caching discounts on top. Others: standard.
 */
export const SERVICE_TIER_BILLING: Readonly<Record<string, 'standard' | 'priority' | 'half'>> = {
  default: 'standard',
  auto: 'standard',
  scale: 'standard',
  priority: 'priority',
  fast: 'priority',
  flex: 'half',
  batch: 'half',
};

/**
 * Cost in USD from the API's own usage, per 1M tokens:
 *   (input − cached − cache writes)·in + cached·cached_in + cache writes·cache_write + output·out.
 * Reasoning tokens are already inside output tokens, so they are not added again. Rates follow the
 * tier the response reports (SERVICE_TIER_BILLING), the long-context multipliers above 272K input
 * tokens (not for priority), and the regional uplift; for a configured price as for the table's.
 */
export function costUsd(usage: Usage, rule: PriceRule, serviceTier?: string | null): number {
  const family = rule.family ? PRICE_TABLE[rule.family] : undefined;
  const billing = (serviceTier && SERVICE_TIER_BILLING[serviceTier]) || 'standard';
  let price: Rates = rule.standard;
  if (billing === 'priority') price = priorityRates(rule, family);
  else if (billing === 'half') price = scale(price, 0.5, 0.5);
  const long = family?.longContext;
  if (long && usage.inputTokens > long.aboveInputTokens && billing !== 'priority') {
    price = scale(price, long.input, long.output);
  }
  if (rule.regionalUplift) price = scale(price, rule.regionalUplift, rule.regionalUplift);
  const cached = Math.min(usage.cachedTokens, usage.inputTokens);
  const writes = Math.min(usage.cacheWriteTokens ?? 0, Math.max(0, usage.inputTokens - cached));
  const uncached = Math.max(0, usage.inputTokens - cached - writes);
  const writeRate = price.cache_write ?? price.input * (rule.cacheWriteFactor ?? 1);
  return (
    (uncached * price.input +
      cached * price.cached_input +
      writes * writeRate +
      usage.outputTokens * price.output) /
    1e6
  );
}

type Rates = z.infer<typeof Rates>;

/** The rates of a `priority` response: configured ones, the table's, or the table's ratio applied to a configured price. */
function priorityRates(rule: PriceRule, family: ModelPrices | undefined): Rates {
  if (rule.standard.priority) return rule.standard.priority;
  const table = family?.priority;
  if (!table || !family) return rule.standard;
  if (rule.source !== 'config') return table;
  const ratio = (k: 'input' | 'cached_input' | 'output') =>
    family.standard[k] > 0 ? table[k] / family.standard[k] : 1;
  const s = rule.standard;
  return {
    input: s.input * ratio('input'),
    cached_input: s.cached_input * ratio('cached_input'),
    output: s.output * ratio('output'),
    ...(s.cache_write !== undefined ? { cache_write: s.cache_write * ratio('input') } : {}),
  };
}

function scale(pr: Rates, inputFactor: number, outputFactor: number): Rates {
  return {
    input: pr.input * inputFactor,
    cached_input: pr.cached_input * inputFactor,
    output: pr.output * outputFactor,
    ...(pr.cache_write !== undefined ? { cache_write: pr.cache_write * inputFactor } : {}),
  };
}
