import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkSplitFraction,
  parseSplitKey,
  SPLIT_SALT,
  splitKeyOf,
  splitSide,
  splitUnit,
} from '../../datasets/split.js';
import { HarnessError } from '../../harness/errors.js';

const rec = (id: string, tags: Record<string, string> = {}) => ({ id, tags });

describe('holdout split', () => {
  it('hashes the salted key: the first 48 bits of sha256 over 2^48', () => {
    // Independently: hex of the digest, first 12 hex digits as an integer.
    const hex = createHash('sha256').update('holdout-split:rec-1').digest('hex');
    expect(SPLIT_SALT).toBe('holdout-split:');
    expect(splitUnit('rec-1')).toBe(Number.parseInt(hex.slice(0, 12), 16) / 2 ** 48);
    expect(splitUnit('rec-1')).toBeGreaterThanOrEqual(0);
    expect(splitUnit('rec-1')).toBeLessThan(1);
  });

  it('u < fraction is tune, else holdout', () => {
    const u = splitUnit('rec-1');
    expect(splitSide(rec('rec-1'), { fraction: Math.min(u + 1e-9, 0.999999), key: 'id' })).toBe('tune');
    expect(splitSide(rec('rec-1'), { fraction: Math.max(u, 1e-9), key: 'id' })).toBe('holdout');
  });

  it('puts about `fraction` of keys on the tune side', () => {
    // 20,000 keys at 0.2: binomial sd = sqrt(0.2·0.8/20000) = 0.0028; ±0.015 is over 5 sd.
    let tune = 0;
    for (let i = 0; i < 20_000; i++)
      if (splitSide(rec(`id-${i}`), { fraction: 0.2, key: 'id' }) === 'tune') tune++;
    expect(Math.abs(tune / 20_000 - 0.2)).toBeLessThan(0.015);
  });

  it('a tag key puts a whole conversation on one side, whatever its record ids', () => {
    const opts = { fraction: 0.5, key: 'tag:conversation' as const };
    for (let c = 0; c < 50; c++) {
      const sides = new Set(
        Array.from({ length: 5 }, (_, t) =>
          splitSide(rec(`c${c}-turn${t}`, { conversation: `conv-${c}` }), opts),
        ),
      );
      expect(sides.size).toBe(1);
    }
  });

  it('a missing tag is an error naming the record, unless the fallback to id is asked for', () => {
    const opts = { fraction: 0.3, key: 'tag:conversation' as const };
    expect(() => splitKeyOf(rec('r-9'), opts)).toThrow(/record "r-9" has no tag "conversation"/);
    expect(() => splitKeyOf(rec('r-9', { conversation: '' }), opts)).toThrow(HarnessError);
    expect(splitKeyOf(rec('r-9'), { ...opts, missing: 'id' })).toBe('r-9');
    expect(splitKeyOf(rec('r-9', { conversation: 'c' }), { ...opts, missing: 'id' })).toBe('c');
  });

  it('checks its key and fraction', () => {
    expect(parseSplitKey('id')).toBe('id');
    expect(parseSplitKey('tag:conversation')).toBe('tag:conversation');
    expect(() => parseSplitKey('tag:')).toThrow(/--split-key must be "id" or "tag:NAME"/);
    expect(() => parseSplitKey('conversation')).toThrow(HarnessError);
    for (const bad of [0, 1, -0.1, 1.5, Number.NaN]) expect(() => checkSplitFraction(bad)).toThrow(/--split/);
    expect(() => checkSplitFraction(0.25)).not.toThrow();
  });
});
