import { describe, expect, it } from 'vitest';
import {
  billsCacheWrites,
  costUsd,
  PRICE_TABLE_DATE,
  PRICE_TABLE_SOURCE,
  priceFamily,
  regionalEligible,
  resolvePrice,
  SERVICE_TIER_BILLING,
} from '../../harness/providers/pricing.js';

const usage = (inputTokens: number, cachedTokens: number, outputTokens: number, reasoningTokens = 0) => ({
  inputTokens,
  cachedTokens,
  outputTokens,
  reasoningTokens,
});

describe('costUsd', () => {
  it('gpt-5.4-mini: 10,000 input of which 8,000 cached, 500 output = $0.00435', () => {
    // (2,000 × 0.75 + 8,000 × 0.075 + 500 × 4.50) / 1e6 = (1,500 + 600 + 2,250) / 1e6 = 0.00435
    const rule = resolvePrice('gpt-5.4-mini')!;
    expect(costUsd(usage(10_000, 8_000, 500), rule)).toBeCloseTo(0.00435, 12);
  });

  it('does not add reasoning tokens twice: they are inside output tokens', () => {
    // gpt-5.5: 1,000 × 5 + 2,000 × 30 = 5,000 + 60,000 → $0.065, with 1,500 of the output being reasoning
    const rule = resolvePrice('gpt-5.5')!;
    expect(costUsd(usage(1_000, 0, 2_000, 1_500), rule)).toBeCloseTo(0.065, 12);
  });

  it('prices a dated snapshot as its family', () => {
    expect(priceFamily('gpt-5.4-nano-2026-03-17')).toBe('gpt-5.4-nano');
    expect(priceFamily('my-finetune')).toBeUndefined();
    // nano: 1,000,000 × 0.20 = $0.20
    expect(costUsd(usage(1_000_000, 0, 0), resolvePrice('gpt-5.4-nano-2026-03-17')!)).toBeCloseTo(0.2, 12);
  });

  it('applies the long-context multipliers above 272K input tokens (2× input and cached, 1.5× output)', () => {
    const rule = resolvePrice('gpt-5.4')!;
    // 300,000 in (100,000 cached), 1,000 out: (200,000 × 5 + 100,000 × 0.5 + 1,000 × 22.5) / 1e6
    //   = (1,000,000 + 50,000 + 22,500) / 1e6 = 1.0725
    expect(costUsd(usage(300_000, 100_000, 1_000), rule)).toBeCloseTo(1.0725, 12);
    // exactly 272,000 is not above the threshold: 272,000 × 2.5 / 1e6 = 0.68
    expect(costUsd(usage(272_000, 0, 0), rule)).toBeCloseTo(0.68, 12);
  });

  it('bills by the tier the response reports: priority and flex', () => {
    const rule = resolvePrice('gpt-5.4-mini')!;
    // priority: (1,000 × 1.50 + 100 × 9) / 1e6 = 0.0024
    expect(costUsd(usage(1_000, 0, 100), rule, 'priority')).toBeCloseTo(0.0024, 12);
    // flex: half of standard: (1,000 × 0.375 + 100 × 2.25) / 1e6 = 0.0006
    expect(costUsd(usage(1_000, 0, 100), rule, 'flex')).toBeCloseTo(0.0006, 12);
  });

  it('a configured price wins over the table', () => {
    const rule = resolvePrice('gpt-5.4-mini', { input: 1, cached_input: 0.1, output: 2 })!;
    expect(rule.source).toBe('config');
    // (900 × 1 + 100 × 0.1 + 10 × 2) / 1e6 = 930 / 1e6
    expect(costUsd(usage(1_000, 100, 10), rule)).toBeCloseTo(0.00093, 12);
  });
});

describe('cache writes (cache_write_tokens, a part of input tokens apart from cached ones)', () => {
  const withWrites = (input: number, cached: number, writes: number, output: number) => ({
    ...usage(input, cached, output),
    cacheWriteTokens: writes,
  });

  it('models from gpt-5.6 bill them at 1.25× input by default, for a configured price too', () => {
    const rule = resolvePrice('gpt-5.6-sol', { input: 4, cached_input: 0.4, output: 24 })!;
    expect(rule.cacheWriteFactor).toBe(1.25);
    // (10,000 − 2,000 − 6,000) × 4 + 2,000 × 0.4 + 6,000 × 5 + 100 × 24 = 8,000 + 800 + 30,000 + 2,400
    expect(costUsd(withWrites(10_000, 2_000, 6_000, 100), rule)).toBeCloseTo(0.0412, 12);
    // Dropping the writes (the old reading) billed them as plain input: 8,000 × 4 …, ~20% less on them.
    expect(costUsd(usage(10_000, 2_000, 100), rule)).toBeCloseTo(0.0352, 12);
    expect(billsCacheWrites('gpt-6')).toBe(true);
    expect(billsCacheWrites('gpt-5.10-mini')).toBe(true);
    expect(billsCacheWrites('gpt-5.5')).toBe(false);
    expect(billsCacheWrites('gpt-5-mini')).toBe(false);
  });

  it('a configured cache_write rate wins; earlier models bill writes as plain input', () => {
    const rule = resolvePrice('gpt-5.6-luna', { input: 1, cached_input: 0.1, output: 2, cache_write: 1.5 })!;
    // 2,000 × 1 + 0 + 8,000 × 1.5 = 14,000
    expect(costUsd(withWrites(10_000, 0, 8_000, 0), rule)).toBeCloseTo(0.014, 12);
    const mini = resolvePrice('gpt-5.4-mini')!;
    expect(mini.cacheWriteFactor).toBeUndefined();
    expect(costUsd(withWrites(10_000, 8_000, 1_000, 500), mini)).toBeCloseTo(
      costUsd(usage(10_000, 8_000, 500), mini),
      15,
    );
  });

  it('leaves the rule of an existing model unchanged (it is part of the config hash a rerun resumes by)', () => {
    expect(resolvePrice('gpt-5.4-mini')).toEqual({
      standard: { input: 0.75, cached_input: 0.075, output: 4.5 },
      source: 'table 2026-08: gpt-5.4-mini',
      family: 'gpt-5.4-mini',
    });
    expect(resolvePrice('my-ft', { input: 1, cached_input: 1, output: 1 })).toEqual({
      standard: { input: 1, cached_input: 1, output: 1 },
      source: 'config',
    });
  });
});

describe('service tiers and regional processing', () => {
  it('a configured price follows the tier the response reports: priority by the table ratio, or given rates', () => {
    const rule = resolvePrice('gpt-5.4-mini', { input: 0.6, cached_input: 0.06, output: 3.6 })!;
    // standard: 1,000 × 0.6 + 100 × 3.6 = 960 µ$; priority is 2× for gpt-5.4-mini (1.50 / 0.75, 9 / 4.5)
    expect(costUsd(usage(1_000, 0, 100), rule, 'default')).toBeCloseTo(0.00096, 12);
    expect(costUsd(usage(1_000, 0, 100), rule, 'priority')).toBeCloseTo(0.00192, 12);
    const given = resolvePrice('my-ft', {
      input: 1,
      cached_input: 0.1,
      output: 2,
      priority: { input: 3, cached_input: 0.3, output: 6 },
    })!;
    expect(costUsd(usage(1_000, 0, 100), given, 'priority')).toBeCloseTo(0.0036, 12);
  });

  it('bills default, auto and scale at standard; fast as priority; flex and batch at half', () => {
    const rule = resolvePrice('gpt-5.4-mini')!;
    const u = usage(1_000, 0, 100);
    for (const t of ['default', 'auto', 'scale', null, undefined])
      expect(costUsd(u, rule, t)).toBeCloseTo(0.0012, 12);
    expect(costUsd(u, rule, 'fast')).toBeCloseTo(0.0024, 12);
    expect(costUsd(u, rule, 'batch')).toBeCloseTo(0.0006, 12);
    expect(SERVICE_TIER_BILLING.flex).toBe('half');
  });

  it('regional processing adds 10% on eligible models (gpt-5.4 family, gpt-5.5 and later), not on older ones', () => {
    const eu = resolvePrice('gpt-5.4-mini', undefined, { regional: true })!;
    expect(eu.regionalUplift).toBe(1.1);
    // 1.1 × (1,000 × 0.75 + 100 × 4.5) = 1.1 × 1,200 = 1,320 µ$
    expect(costUsd(usage(1_000, 0, 100), eu)).toBeCloseTo(0.00132, 12);
    expect(resolvePrice('gpt-4.1', undefined, { regional: true })!.regionalUplift).toBeUndefined();
    expect(resolvePrice('gpt-5', undefined, { regional: true })!.regionalUplift).toBeUndefined();
    expect(regionalEligible('gpt-5.5-2026-04-23')).toBe(true);
    expect(regionalEligible('gpt-5.6-sol')).toBe(true);
  });

  it('dates and sources its table', () => {
    expect(PRICE_TABLE_DATE).toBe('2026-08');
    expect(PRICE_TABLE_SOURCE).toMatch(/openai-api\.md/);
  });
});
