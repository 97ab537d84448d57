/**
 * The holdout split: a record's side comes from a hash of its key (the record id, or a tag such as
 * the conversation id) under a fixed salt. It depends on nothing else (not the sampling seed, not
 * the file order, not the other records), so a record is on the same side in every sample, and rules
 * fitted on the `tune` side never see a `holdout` record. Changing the salt would reshuffle every
 * split ever made: it is part of the format, stored in each sample manifest.
 */
import { createHash } from 'node:crypto';
import { HarnessError } from '../harness/errors.js';
import { printable } from './printable.js';
import type { HoldoutRecord } from './record.js';

export const SPLIT_SALT = 'holdout-split:';

export type SplitSide = 'tune' | 'holdout';
export const SPLIT_SIDES: readonly SplitSide[] = ['holdout', 'tune'];

/** `id`, or `tag:NAME` (all records sharing the tag's value land on one side). */
export type SplitKey = 'id' | `tag:${string}`;

export interface SplitOptions {
  /** Share of keys on the `tune` side, in (0, 1). */
  fraction: number;
  key: SplitKey;
  /**
   * A record without the key's tag: throw (default), or fall back to its id. The fallback is only
   * safe when such records stand alone (no conversation partner elsewhere lacking the tag too).
   */
  missing?: 'error' | 'id';
}

export function parseSplitKey(text: string): SplitKey {
  if (text === 'id') return 'id';
  if (text.startsWith('tag:') && text.length > 4) return text as SplitKey;
  throw new HarnessError(
    'USAGE',
    `--split-key must be "id" or "tag:NAME" (e.g. tag:conversation), got "${text}"`,
  );
}

export function checkSplitFraction(fraction: number): void {
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction < 1)) {
    throw new HarnessError(
      'USAGE',
      `--split must be a fraction between 0 and 1 (the tune share), got ${fraction}`,
    );
  }
}

/**
 * The key's position in [0, 1): the first 48 bits of sha256(salt + key) over 2^48, exact in a
 * double, so `u < fraction` puts a `fraction` share of keys on the tune side.
 */
export function splitUnit(key: string): number {
  const d = createHash('sha256')
    .update(SPLIT_SALT + key)
    .digest();
  return d.readUIntBE(0, 6) / 2 ** 48;
}

/** The value the split hashes for this record; throws (naming the record) when a tag is missing. */
export function splitKeyOf(record: Pick<HoldoutRecord, 'id' | 'tags'>, opts: SplitOptions): string {
  if (opts.key === 'id') return record.id;
  const tag = opts.key.slice(4);
  const value = record.tags?.[tag];
  if (value !== undefined && value !== '') return value;
  if (opts.missing === 'id') return record.id;
  throw new HarnessError(
    'DATASET_INVALID',
    `record "${printable(record.id)}" has no tag "${tag}" to split on`,
    {
      hint: `tag every record with "${tag}", or pass --split-missing id to split untagged records by their id`,
    },
  );
}

export function splitSide(record: Pick<HoldoutRecord, 'id' | 'tags'>, opts: SplitOptions): SplitSide {
  return splitUnit(splitKeyOf(record, opts)) < opts.fraction ? 'tune' : 'holdout';
}
