/**
 * `holdout sample`: options as data (declared here so main.ts only registers the command), and the
 * handler: draw, write atomically, print the composition to stderr.
 */
import type { Argv } from 'yargs';
import { printable, printableError } from '../../../datasets/printable.js';
import {
  ALLOCATIONS,
  type Allocation,
  type DrawnSample,
  drawSample,
  type SampleManifest,
  writeSample,
} from '../../../datasets/sample.js';
import { cell, fixedWidth } from '../../../results/render/format.js';
import { checkSplitFraction, parseSplitKey, SPLIT_SIDES, type SplitSide } from '../../../datasets/split.js';
import type { Clock } from '../../clock.js';
import { HarnessError } from '../../errors.js';

export interface SampleArgs {
  records: string[];
  size: number;
  seed: number;
  out: string;
  stratify?: string;
  allocation: Allocation;
  minPerStratum: number;
  since?: string;
  until?: string;
  split?: number;
  splitKey: string;
  side: SplitSide;
  splitMissing: 'error' | 'id';
  dedup: boolean;
  maxStrata: number;
}

export const SAMPLE_USAGE =
  '$0 sample <records..> --size N --seed S -o out.jsonl [options]\n\n' +
  'Draws a seeded holdout sample in one streaming pass: time window, dedup by normalized prompt, ' +
  'split side, then one reservoir per stratum. The same inputs and seed give the same file, byte for byte. ' +
  'Writes <out>.sample.json beside it (seed, split, sources, composition).';

export const SAMPLE_EPILOG = [
  'Split: a record is on the tune side when sha256("holdout-split:" + key) as a number in [0, 1) is below ' +
    '--split; else on the holdout side. It depends on neither the seed nor the file order, so a record ' +
    'is on the same side in every sample; with --split-key tag:conversation a conversation never straddles.',
  'Memory: each stratum keeps up to --size records until the end (O(size × strata)); dedup keeps 8 bytes ' +
    'per distinct prompt.',
].join('\n\n');

/** The options of `holdout sample`, for buildCli. */
export function sampleOptions(c: Argv) {
  return c
    .usage(SAMPLE_USAGE)
    .positional('records', { type: 'string', array: true, describe: 'holdout records (JSONL, .gz ok)' })
    .option('size', { type: 'number', demandOption: true, describe: 'records to sample' })
    .option('seed', { type: 'number', demandOption: true, describe: 'sampling seed (0 to 4294967295)' })
    .option('out', {
      alias: 'o',
      type: 'string',
      demandOption: true,
      describe: 'output JSONL (.gz to compress)',
    })
    .option('stratify', {
      type: 'string',
      describe: 'tag to stratify by (records without it: stratum "(none)")',
    })
    .option('allocation', {
      choices: ALLOCATIONS,
      default: 'proportional' as Allocation,
      describe: 'proportional to stratum sizes, or equal per stratum (capped by the stratum size)',
    })
    .option('min-per-stratum', {
      type: 'number',
      default: 0,
      describe: 'at least K per stratum (or all it has)',
    })
    .option('since', {
      type: 'string',
      describe: 'only records with timestamp ≥ this ISO 8601 time (UTC unless zoned)',
    })
    .option('until', { type: 'string', describe: 'only records with timestamp < this ISO 8601 time' })
    .option('split', {
      type: 'number',
      describe: 'tune share of the split, in (0, 1); keep one side (--side)',
    })
    .option('split-key', {
      type: 'string',
      default: 'id',
      describe: 'what the split hashes: id, or tag:NAME',
    })
    .option('side', {
      choices: SPLIT_SIDES,
      default: 'holdout' as SplitSide,
      describe: 'side of the split to sample',
    })
    .option('split-missing', {
      choices: ['error', 'id'] as const,
      default: 'error' as 'error' | 'id',
      describe: 'a record without the split tag: stop with an error, or split it by its id',
    })
    .option('dedup', {
      type: 'boolean',
      default: true,
      describe: 'drop repeated prompts (--no-dedup keeps them)',
    })
    .option('max-strata', {
      type: 'number',
      default: 1000,
      describe: 'refuse a stratify tag with more values',
    })
    .check((a) => {
      if (a.split !== undefined) {
        checkSplitFraction(a.split);
        parseSplitKey(String(a.splitKey));
      } else if (a.splitKey !== 'id' || a.side !== 'holdout' || a.splitMissing !== 'error') {
        throw new HarnessError('USAGE', '--split-key, --side and --split-missing need --split FRACTION', {
          hint: 'run `holdout sample --help` for usage',
        });
      }
      return true;
    })
    .epilog(SAMPLE_EPILOG);
}

export async function sampleCommand(
  a: SampleArgs,
  io: { stderr: NodeJS.WritableStream; clock: Pick<Clock, 'isoNow'> },
): Promise<void> {
  try {
    await drawAndWrite(a, io);
  } catch (err) {
    // Errors quote the data (ids, timestamps): nothing raw reaches the terminal.
    throw err instanceof HarnessError ? printableError(err) : err;
  }
}

async function drawAndWrite(
  a: SampleArgs,
  io: { stderr: NodeJS.WritableStream; clock: Pick<Clock, 'isoNow'> },
): Promise<void> {
  const drawn = await drawSample(a.records, {
    size: a.size,
    seed: a.seed,
    stratify: a.stratify,
    allocation: a.allocation,
    minPerStratum: a.minPerStratum,
    since: a.since,
    until: a.until,
    split:
      a.split === undefined
        ? undefined
        : { fraction: a.split, key: parseSplitKey(a.splitKey), side: a.side, missing: a.splitMissing },
    dedup: a.dedup,
    maxStrata: a.maxStrata,
  });
  const manifest = writeSample(a.out, drawn, io.clock);
  for (const line of formatComposition(manifest)) io.stderr.write(`${line}\n`);
  const split = manifest.split
    ? `; ${manifest.split.side} side of a ${manifest.split.fraction} split by ${manifest.split.key}`
    : '';
  io.stderr.write(
    `wrote ${manifest.sampled} records to ${a.out} (seed ${a.seed}${split}); manifest ${a.out}.sample.json\n`,
  );
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const int = (n: number) => n.toLocaleString('en-US');

/** The composition table (source against sample, per stratum) and what was left out. */
export function formatComposition(m: SampleManifest | DrawnSample['manifest']): string[] {
  const source = m.composition.reduce((s, x) => s + x.source_n, 0);
  const rows = m.composition.map((s) => [
    cell(printable(s.stratum)),
    int(s.source_n),
    pct(s.source_share),
    int(s.sample_n),
    pct(s.sample_share),
  ]);
  rows.push(['total', int(source), pct(1), int(m.sampled), pct(m.sampled === 0 ? 0 : 1)]);
  const head = m.stratify === null ? 'stratum' : `stratum (${cell(printable(m.stratify))})`;
  const lines = fixedWidth([head, 'source', 'share', 'sample', 'share'], rows, new Set([0]));
  const e = m.excluded;
  const left = [
    e.no_timestamp && `${int(e.no_timestamp)} without a timestamp`,
    e.outside_window && `${int(e.outside_window)} outside the window`,
    e.duplicate && `${int(e.duplicate)} duplicate prompts`,
    e.other_side && `${int(e.other_side)} on the ${m.split?.side === 'tune' ? 'holdout' : 'tune'} side`,
  ].filter(Boolean);
  lines.push(
    `read ${int(m.read)} records from ${m.sources.length} file${m.sources.length === 1 ? '' : 's'}` +
      `${left.length ? `; left out ${left.join(', ')}` : ''}; ${int(source)} eligible`,
  );
  if (m.sampled < m.size)
    lines.push(`note: only ${int(m.sampled)} records qualified; the sample holds all of them`);
  return lines;
}
