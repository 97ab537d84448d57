import type { Clock } from '../../harness/clock.js';
import type { ApiStyle, Reference } from '../record.js';

/**
 * Why a source line was not imported. Stable codes: they key the `--skip-invalid` counts in the
 * summary and in the manifest.
 */
export type SkipReason =
  | 'invalid_utf8'
  | 'invalid_json'
  | 'line_too_long'
  | 'json_too_deep'
  | 'json_too_large'
  | 'wrong_type'
  | 'missing_request'
  | 'missing_field'
  | 'unsupported_endpoint'
  | 'csv_error'
  | 'duplicate_output'
  | 'api_error'
  | 'invalid_id'
  | 'invalid_record';

/** A record before the pipeline gives it its id and the spec's tags, and validates it. */
export interface DraftRecord {
  id?: string;
  timestamp?: string;
  tags?: Record<string, string>;
  api: ApiStyle;
  request: Record<string, unknown>;
  reference?: Reference;
  production?: { body?: Record<string, unknown>; latency_ms?: number };
  metadata?: Record<string, unknown>;
}

export type ImportItem =
  | {
      kind: 'record';
      record: DraftRecord;
      /** `file:line` (or the API object) the record came from, for error messages. */
      where: string;
      /** Resumable formats: saved once this item is written, handed back on resume. */
      checkpoint?: unknown;
    }
  | { kind: 'invalid'; where: string; reason: SkipReason; message: string; checkpoint?: unknown };

export interface SourceInfo {
  /** File path, or an API description for openai-stored. */
  path: string;
  /** sha256 of the bytes on disk (compressed bytes for .gz); absent for API sources. */
  sha256?: string;
  bytes?: number;
  role?: 'input' | 'output';
}

/** What an importer sees: its options, and hooks the pipeline uses for hashing and progress. */
export interface ImportContext<O> {
  options: O;
  signal?: AbortSignal;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Registers a file so that its sha256 lands in the manifest; returns the byte tap to pass to readers. */
  source(path: string, role?: SourceInfo['role']): (chunk: Buffer) => void;
  /** Registers a non-file source (an API listing). */
  apiSource(description: string): void;
  /** The last checkpoint written by an interrupted import of the same spec, if any. */
  resumeFrom?: unknown;
  /** Non-fatal notes for the summary (e.g. batch lines without output). */
  note(message: string): void;
}

export interface Importer<O> {
  readonly format: string;
  /** One line for `holdout import --help`. */
  readonly describe: string;
  /** Resumable importers keep a partial file and a state file across interruptions. */
  readonly resumable?: boolean;
  read(ctx: ImportContext<O>): AsyncIterable<ImportItem>;
}

/** An invalid item, built in one place so every message starts with `file:line: `. */
export function invalid(where: string, reason: SkipReason, message: string): ImportItem {
  return { kind: 'invalid', where, reason, message };
}
