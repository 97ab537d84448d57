/**
 * What `--project` reads from files (results/report/projection.ts assembles the frame from it): a
 * pool of production requests (`--volume-from`: its count, timestamps, per-tag counts and logged
 * input tokens), the run's sample manifest and the span an import manifest states.
 */
import { existsSync, readFileSync } from 'node:fs';
import { HarnessError } from '../harness/errors.js';
import { parseRecordLine, readLines } from './jsonl.js';
import { readSampleManifest, SampleManifest } from './manifest.js';
import { NO_STRATUM, parseInstant } from './sample.js';

export interface PoolSummary {
  path: string;
  records: number;
  timestamped: number;
  first: number | null;
  last: number | null;
  tag: string | null;
  counts: Record<string, number> | null;
  inputTokens: { records: number; total: number };
}

/** The logged input tokens of a record's production response (Chat `prompt_tokens`, Responses `input_tokens`). */
export function loggedInputTokens(production: unknown): number | undefined {
  const usage = (production as { body?: { usage?: Record<string, unknown> } } | undefined)?.body?.usage;
  const v = usage?.prompt_tokens ?? usage?.input_tokens;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * One streaming pass over a pool of records (JSONL, .gz allowed): every line must be a record, as
 * for `holdout run`. A timestamp that is not ISO 8601 is an error naming the line: a volume must not
 * quietly rest on part of the file.
 */
export async function readPool(path: string, tag: string | null): Promise<PoolSummary> {
  if (!existsSync(path)) {
    throw new HarnessError('USAGE', `--volume-from ${path}: no such file`, {
      hint: 'give a JSONL file of production records (e.g. the output of `holdout import`)',
    });
  }
  const out: PoolSummary = {
    path,
    records: 0,
    timestamped: 0,
    first: null,
    last: null,
    tag,
    counts: tag === null ? null : {},
    inputTokens: { records: 0, total: 0 },
  };
  for await (const l of readLines(path)) {
    const { record } = parseRecordLine(path, l);
    out.records++;
    if (record.timestamp !== undefined) {
      const t = parseInstant(record.timestamp);
      if (Number.isNaN(t)) {
        throw new HarnessError(
          'DATASET_INVALID',
          `${path}:${l.line}: timestamp ${JSON.stringify(record.timestamp)} is not ISO 8601 (e.g. 2025-06-01T12:00:00Z)`,
        );
      }
      out.timestamped++;
      out.first = out.first === null ? t : Math.min(out.first, t);
      out.last = out.last === null ? t : Math.max(out.last, t);
    }
    if (out.counts) {
      const v = record.tags[tag!] ?? NO_STRATUM;
      out.counts[v] = (out.counts[v] ?? 0) + 1;
    }
    const x = loggedInputTokens(record.production);
    if (x !== undefined) {
      out.inputTokens.records++;
      out.inputTokens.total += x;
    }
  }
  if (out.records === 0) throw new HarnessError('DATASET_EMPTY', `--volume-from ${path}: no records`);
  return out;
}

/** The sample manifest a run was made with (stored in its config), else the one beside its dataset. */
export function runSampleManifest(configJson: string, datasetPath: string): SampleManifest | undefined {
  let stored: unknown;
  try {
    stored = (JSON.parse(configJson) as { sample?: unknown }).sample;
  } catch {
    stored = undefined;
  }
  const parsed = SampleManifest.safeParse(stored);
  if (parsed.success) return parsed.data;
  return existsSync(datasetPath) || existsSync(`${datasetPath}.sample.json`)
    ? readSampleManifest(datasetPath)
    : undefined;
}

/**
 * The span `holdout import` recorded for `path` (`<path>.import.json`), if any. A manifest without
 * one (written before spans were recorded, or logs without timestamps) gives undefined.
 */
export function importSpan(
  path: string,
): { path: string; first: string; last: string; records: number } | undefined {
  const file = `${path}.import.json`;
  if (!existsSync(file)) return undefined;
  try {
    const span = (JSON.parse(readFileSync(file, 'utf8')) as { span?: unknown }).span as
      | { first?: unknown; last?: unknown; records?: unknown }
      | undefined;
    if (
      typeof span?.first === 'string' &&
      typeof span.last === 'string' &&
      typeof span.records === 'number'
    ) {
      return { path: file, first: span.first, last: span.last, records: span.records };
    }
  } catch {
    // An unreadable import manifest only means no volume from it.
  }
  return undefined;
}

export interface ProjectionFlags {
  volume?: number;
  volumeFrom?: string;
  postStratify?: string;
}

/**
 * Everything `--project` reads from files for a run, as plain data: the manifest, the pool (counted
 * by the tag the frame will use), the import span of the run's data or of the sample's only source.
 */
export async function projectionSources(
  run: { configJson: string; datasetPath: string },
  flags: ProjectionFlags,
): Promise<{
  manifest: SampleManifest | null;
  pool: PoolSummary | null;
  importSpan: { path: string; first: string; last: string; records: number } | null;
  volume: number | null;
  postStratify: string | null;
}> {
  const manifest = runSampleManifest(run.configJson, run.datasetPath) ?? null;
  const tag = flags.postStratify ?? manifest?.stratify ?? null;
  const pool = flags.volumeFrom === undefined ? null : await readPool(flags.volumeFrom, tag);
  const source = manifest?.sources.length === 1 ? manifest.sources[0]!.path : undefined;
  const span = importSpan(run.datasetPath) ?? (source === undefined ? undefined : importSpan(source));
  return {
    manifest,
    pool,
    importSpan: span ?? null,
    volume: flags.volume ?? null,
    postStratify: flags.postStratify ?? null,
  };
}
