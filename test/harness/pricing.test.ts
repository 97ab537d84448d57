import { describe, expect, it } from 'vitest';
import { costUsd, priceFamily, resolvePrice } from '../../harness/providers/pricing.js';

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
