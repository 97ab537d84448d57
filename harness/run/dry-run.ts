/**
 * `holdout run --dry-run`: what a run would cost, from the tokenizer and the price table, with no call
 * made and nothing stored (estimate.ts says how output tokens are guessed).
 */
import { existsSync } from 'node:fs';
import { checkDataset, readRecords } from '../../datasets/jsonl.js';
import { isBatchCandidate } from '../batch/plan.js';
import { loadConfig, type ResolvedConfig } from '../config.js';
import { HarnessError } from '../errors.js';
import { estimateRun, type RunEstimate } from './estimate.js';

/**
 * `holdout run --dry-run`: what the run would cost, from a real tokenizer and the price table, with
 * no call made and nothing stored (harness/estimate.ts says how output tokens are guessed).
 */
export async function dryRunCommand(
  configPath: string,
): Promise<{ estimate: RunEstimate; config: ResolvedConfig }> {
  const config = loadConfig(configPath);
  if (config.import && !existsSync(config.dataset)) {
    throw new HarnessError(
      'DATASET_NOT_FOUND',
      `${config.dataset} does not exist yet: it is imported on the first run`,
      {
        hint: `import it first: holdout import ${config.import.format} … -o ${config.dataset}`,
      },
    );
  }
  await checkDataset(config.dataset);
  async function* records() {
    for await (const { record } of readRecords(config.dataset)) yield record;
  }
  const estimate = await estimateRun(
    {
      candidates: config.candidates,
      judges: config.judges ?? [],
      scorers: config.scorers,
      repeats: config.repeats,
      stream: config.stream,
      batched: new Set(config.candidates.filter((c) => isBatchCandidate(c, config)).map((c) => c.id)),
    },
    records(),
  );
  return { estimate, config };
}
