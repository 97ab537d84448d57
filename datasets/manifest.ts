/**
 * The sidecar `<sample>.sample.json` that `holdout sample` writes next to its output: how the sample
 * was drawn (seed, strata, window, split), from which files, and what it holds. A run over the sample
 * stores it, so the split, its key and the seed travel with the results.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { HarnessError } from '../harness/errors.js';

export const manifestPathOf = (datasetPath: string): string => `${datasetPath}.sample.json`;

const Stratum = z.strictObject({
  stratum: z.string(),
  /** Records of this stratum that passed the window, dedup and split filters. */
  source_n: z.number().int().nonnegative(),
  source_share: z.number().min(0).max(1),
  sample_n: z.number().int().nonnegative(),
  sample_share: z.number().min(0).max(1),
});

export const SampleManifest = z.strictObject({
  version: z.literal(1),
  seed: z.number().int(),
  /** The size asked for; `sampled` is what the file holds (less when fewer records qualified). */
  size: z.number().int().positive(),
  sampled: z.number().int().nonnegative(),
  stratify: z.string().nullable(),
  allocation: z.enum(['proportional', 'equal']),
  min_per_stratum: z.number().int().nonnegative(),
  /** ISO 8601 bounds: since inclusive, until exclusive. */
  window: z.strictObject({ since: z.string().nullable(), until: z.string().nullable() }).nullable(),
  split: z
    .strictObject({
      fraction: z.number(),
      key: z.string(),
      side: z.enum(['holdout', 'tune']),
      salt: z.string(),
      missing: z.enum(['error', 'id']),
    })
    .nullable(),
  dedup: z.strictObject({ enabled: z.boolean(), removed: z.number().int().nonnegative() }),
  /**
   * The records read inside the window with a timestamp (before dedup and the split), and their first
   * and last: the traffic `--project` turns into a monthly volume. Absent when none had a timestamp,
   * and in manifests written before it was added.
   */
  span: z
    .strictObject({ first: z.string(), last: z.string(), records: z.number().int().positive() })
    .optional(),
  /** Records read, and those left out before sampling, by reason. */
  read: z.number().int().nonnegative(),
  excluded: z.strictObject({
    no_timestamp: z.number().int().nonnegative(),
    outside_window: z.number().int().nonnegative(),
    duplicate: z.number().int().nonnegative(),
    other_side: z.number().int().nonnegative(),
  }),
  sources: z.array(z.strictObject({ path: z.string(), sha256: z.string(), records: z.number().int() })),
  /** sha256 of the sample file as written: a mismatch means the file changed after sampling. */
  output_sha256: z.string(),
  composition: z.array(Stratum),
  created_at: z.string(),
});
export type SampleManifest = z.infer<typeof SampleManifest>;

/** The manifest next to `datasetPath`, if there is one; a malformed one is an error, not ignored. */
export function readSampleManifest(datasetPath: string): SampleManifest | undefined {
  const path = manifestPathOf(datasetPath);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new HarnessError('DATASET_INVALID', `${path}: invalid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = SampleManifest.safeParse(value);
  if (!parsed.success) {
    throw new HarnessError(
      'DATASET_INVALID',
      `${path}: not a sample manifest:\n${z.prettifyError(parsed.error)}`,
      {
        hint: 'rewrite it with `holdout sample`, or delete it',
      },
    );
  }
  return parsed.data;
}
