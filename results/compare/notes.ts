/**
 * The notes under a comparison: how the pairing and the analysis went (items dropped, pairs left
 * unscored, repeats averaged, clustering, the normal approximation, different datasets).
 */
import { BOOTSTRAP_MAX_N } from './metrics.js';
import type { CompareRows } from '../pairing/pairing.js';
import type { BinaryMetric, CompareSettings, ContinuousMetric, ResourceMetric } from './types.js';

export function notesOf(
  rows: CompareRows,
  s: CompareSettings,
  unit: 'call' | 'prompt',
  repeats: number,
  unscoredPairs: number,
  pass: BinaryMetric,
  score: ContinuousMetric | null,
  cost: ResourceMetric | null,
): string[] {
  const out: string[] = [];
  const d = rows.dropped;
  if (d.total > 0) {
    out.push(
      `${d.total} of ${rows.items} work items dropped (an item failed on both sides counts under both ` +
        `reasons): error on A ${d.errorA}, error on B ${d.errorB}, missing on A ${d.missingA}, ` +
        `missing on B ${d.missingB}.`,
    );
  }
  if (unscoredPairs > 0) {
    out.push(`${unscoredPairs} paired calls left out of the pass metric: unscored on at least one side.`);
  }
  if (unit === 'prompt') {
    out.push(
      `Up to ${repeats} paired repeats per prompt: each prompt's repeats are averaged first and the ` +
        'paired t test runs over prompts (McNemar needs one call per prompt).',
    );
  }
  if (s.cluster !== undefined) {
    out.push(
      `Clustered by ${s.cluster}: t tests use the CR1 clustered SE on C − 1 df` +
        (pass.unit === 'call'
          ? ', and the pass metric gates on that t over the per-pair differences (McNemar assumes ' +
            'independent pairs and is shown for reference)'
          : '') +
        '; the bootstrap resamples prompts, not clusters.',
    );
  }
  const big = (score?.bootstrap?.method ?? cost?.ratio.method) === 'normal';
  if (big) {
    out.push(
      `More than ${BOOTSTRAP_MAX_N.toLocaleString('en-US')} units: the bootstrap is replaced by the normal ` +
        'approximation (t interval for differences, delta method for ratios).',
    );
  }
  if (
    rows.baseline.runId !== rows.candidate.runId &&
    rows.baseline.datasetHash !== rows.candidate.datasetHash
  ) {
    out.push(
      `Runs ${rows.baseline.runId} and ${rows.candidate.runId} are over different datasets: only records ` +
        'present in both are paired.',
    );
  }
  return out;
}
