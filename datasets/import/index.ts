/**
 * `holdout import`: production logs in, holdout records out. One importer per format turns its
 * source into items (a draft record or an invalid line); this pipeline gives each record its id,
 * tags and defaults, validates it, drops duplicate ids, redacts, and writes the output atomically
 * with a manifest `<out>.import.json` beside it.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type OpenAI from 'openai';
import { z } from 'zod';
import { type Clock, systemClock } from '../../harness/clock.js';
import { HarnessError } from '../../harness/errors.js';
import { jsonBoundsError, lineTooLongMessage, MAX_LINE_BYTES } from '../bounds.js';
import { printable } from '../printable.js';
import { escapeLoneSurrogates, HoldoutRecord, isWellFormed } from '../record.js';
import { createRedactor, type Redactor } from '../redact.js';
import { parseInstant } from '../sample.js';
import { batchImporter } from './batch.js';
import { type ColumnMap, csvImporter } from './csv.js';
import { canonicalJson, IdSet, requestId } from './ids.js';
import { readSourceLines } from './lines.js';
import { logImporter } from './log.js';
import { messagesImporter } from './messages.js';
import { storedImporter } from './openai-stored.js';
import { EXAMPLES_KEPT, formatSummary, type ImportSummary, importProgress } from './summary.js';
import type { ImportContext, ImportItem, Importer, SkipReason, SourceInfo } from './types.js';
import {
  freshWriter,
  type OutputWriter,
  partialPathOf,
  readResumeState,
  resumableWriter,
  statePathOf,
  writeFileAtomic,
} from './writer.js';

export { COLUMN_MAP_HELP, type ColumnMap, parseColumnMap } from './csv.js';
export { canonicalJson, requestId } from './ids.js';
export { formatSummary, type ImportSummary } from './summary.js';
export type { SkipReason } from './types.js';

export const IMPORT_FORMATS = [
  'chat-log',
  'responses-log',
  'batch',
  'messages',
  'csv',
  'openai-stored',
] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

// biome-ignore lint/suspicious/noExplicitAny: each importer has its own options; the spec narrows them.
const IMPORTERS: Record<ImportFormat, Importer<any>> = {
  'chat-log': logImporter('chat'),
  'responses-log': logImporter('responses'),
  batch: batchImporter,
  messages: messagesImporter,
  csv: csvImporter,
  'openai-stored': storedImporter,
};

/** One line per format, for `--help`. */
export const FORMAT_HELP: Record<ImportFormat, string> = Object.fromEntries(
  IMPORT_FORMATS.map((f) => [f, IMPORTERS[f].describe]),
) as Record<ImportFormat, string>;

const ColumnMapSchema = z.strictObject({
  prompt: z.string().min(1),
  system: z.string().min(1).optional(),
  expected: z.string().min(1).optional(),
  label: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  timestamp: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  tags: z.record(z.string().min(1), z.string().min(1)).optional(),
});

/** What to import and how: the CLI builds it from flags, a run config from its `import:` section. */
export const ImportSpec = z.strictObject({
  format: z.enum(IMPORT_FORMATS),
  /** Source files (none for openai-stored). Gzip when the name ends in .gz. */
  paths: z.array(z.string().min(1)).default([]),
  out: z.string().min(1),
  /** Import the valid lines and count the others by reason, instead of stopping at the first. */
  skipInvalid: z.boolean().default(false),
  /** Redact PII in every record; default off, on for openai-stored. */
  redact: z.boolean().optional(),
  redactPatterns: z.array(z.strictObject({ name: z.string(), regex: z.string() })).default([]),
  /** Added to every record's tags (replacing a tag of the same name). */
  tags: z.record(z.string().min(1), z.string()).default({}),
  /** `production`: the logged answer becomes the record's reference output. */
  reference: z.enum(['none', 'production']).default('none'),
  /** batch: output files joined by custom_id. */
  outputs: z.array(z.string().min(1)).default([]),
  /** csv: which column feeds which field. */
  map: ColumnMapSchema.optional(),
  /** csv: a system prompt shared by every record (the CLI's `--system TEXT|@file`, already read). */
  system: z.string().min(1).optional(),
  /** openai-stored filters and paging. */
  model: z.string().min(1).optional(),
  metadata: z.record(z.string().min(1), z.string()).optional(),
  baseURL: z.string().min(1).optional(),
  pageSize: z.number().int().min(1).max(100).default(100),
  maxRecords: z.number().int().positive().optional(),
});
export type ImportSpec = z.infer<typeof ImportSpec>;
export type ImportSpecInput = z.input<typeof ImportSpec>;

export interface ImportIo {
  /** Progress and the summary; silent when absent. */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Aborting stops the import: nothing is written (openai-stored keeps its progress for a rerun). */
  signal?: AbortSignal;
  /** openai-stored: builds the SDK client (tests, proxies); default `new OpenAI({apiKey, baseURL})`. */
  makeClient?: (opts: { apiKey: string; baseURL?: string }) => OpenAI;
  /** Called after every item; `progressEveryMs` paces the stderr progress line. */
  onItem?: (p: { records: number; skipped: number }) => void;
  progressEveryMs?: number;
}

/** Thrown when the signal aborts an import; the CLI exits 130. */
export class ImportInterrupted extends Error {
  override readonly name = 'ImportInterrupted';
  constructor(
    message: string,
    readonly resumable: boolean,
  ) {
    super(message);
  }
}

export const manifestPathOf = (out: string) => `${out}.import.json`;

function parseSpec(input: ImportSpecInput): ImportSpec {
  const parsed = ImportSpec.safeParse(input);
  if (!parsed.success) {
    throw new HarnessError('CONFIG_INVALID', `invalid import spec:\n${z.prettifyError(parsed.error)}`);
  }
  const spec = parsed.data;
  const usage = (msg: string, hint?: string) => new HarnessError('USAGE', msg, { hint });
  if (spec.format === 'openai-stored') {
    if (spec.paths.length > 0) throw usage('openai-stored reads from the API: give no input files');
  } else {
    if (spec.paths.length === 0) throw usage(`${spec.format} needs at least one input file`);
    const stored = (['model', 'metadata', 'baseURL', 'maxRecords'] as const).filter(
      (k) => spec[k] !== undefined,
    );
    if (stored.length > 0) throw usage(`${stored.join(', ')}: only for openai-stored`);
  }
  if (spec.format !== 'batch' && spec.outputs.length > 0)
    throw usage('output files (--output) are only for batch');
  if (spec.format === 'csv' && !spec.map) {
    throw usage('csv needs a column map', 'e.g. --map prompt=question,expected=answer,tag:task=category');
  }
  if (spec.format !== 'csv' && spec.map) throw usage('a column map (--map) is only for csv');
  if (spec.format !== 'csv' && spec.system !== undefined) throw usage('--system is only for csv');
  if (spec.system !== undefined && spec.map?.system !== undefined) {
    throw usage(
      `--system gives every record the same system prompt, system=${spec.map.system} gives each row its own: choose one`,
    );
  }
  if (spec.reference === 'production' && (spec.format === 'csv' || spec.format === 'messages')) {
    throw usage(`${spec.format} has no production response: its reference comes from the data`);
  }
  const out = resolve(spec.out);
  for (const p of [...spec.paths, ...spec.outputs]) {
    if (resolve(p) === out) throw usage(`the output ${spec.out} is also an input: choose another -o`);
  }
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) {
    throw usage(`cannot write ${spec.out}: directory ${dirname(out)} does not exist`);
  }
  if (existsSync(out) && statSync(out).isDirectory())
    throw usage(`cannot write ${spec.out}: it is a directory`);
  return spec;
}

function importerOptions(spec: ImportSpec, io: ImportIo): unknown {
  switch (spec.format) {
    case 'chat-log':
    case 'responses-log':
      return { paths: spec.paths, reference: spec.reference };
    case 'batch':
      return { paths: spec.paths, outputs: spec.outputs, reference: spec.reference };
    case 'messages':
      return { paths: spec.paths };
    case 'csv':
      return { paths: spec.paths, map: spec.map as ColumnMap, system: spec.system };
    case 'openai-stored':
      return {
        model: spec.model,
        metadata: spec.metadata,
        baseURL: spec.baseURL,
        pageSize: spec.pageSize,
        maxRecords: spec.maxRecords,
        reference: spec.reference,
        makeClient: io.makeClient,
      };
  }
}

/** The options that shape the output: a resume under different ones would mix two imports. */
function fingerprintOf(spec: ImportSpec, redact: boolean): string {
  const { out: _out, skipInvalid: _skip, maxRecords: _max, pageSize: _page, ...rest } = spec;
  return createHash('sha256')
    .update(canonicalJson({ ...rest, redact }))
    .digest('hex');
}

interface Counters {
  records: number;
  duplicates: number;
  skipped: Partial<Record<SkipReason, number>>;
  examples: ImportSummary['examples'];
  redactions: Record<string, number>;
  /** Timestamps of the records written (ms since the epoch): the time span the manifest states. */
  span?: { first: number; last: number; records: number };
}

/**
 * Runs one import to completion and returns its summary (also printed to `io.stderr`). Throws a
 * HarnessError on a bad spec, an unreadable source, or (without `skipInvalid`) the first invalid
 * line, naming file:line; then no output is written.
 */
export async function importToFile(input: ImportSpecInput, io: ImportIo): Promise<ImportSummary> {
  const spec = parseSpec(input);
  const clock = io.clock ?? systemClock;
  const importer = IMPORTERS[spec.format];
  const redact = spec.redact ?? spec.format === 'openai-stored';
  const redactor: Redactor | undefined = redact
    ? createRedactor({ patterns: spec.redactPatterns })
    : undefined;
  const out = resolve(spec.out);

  const sources: (SourceInfo & { hash?: ReturnType<typeof createHash> })[] = [];
  const notes: string[] = [];
  let bytesRead = 0;
  let bytesTotal = 0;
  const counters: Counters = { records: 0, duplicates: 0, skipped: {}, examples: [], redactions: {} };
  const ids = new IdSet();

  let writer: OutputWriter;
  let resumeFrom: unknown;
  let resumed = 0;
  const fingerprint = importer.resumable ? fingerprintOf(spec, redact) : '';
  if (importer.resumable) {
    const state = readResumeState(out);
    if (state && state.fingerprint !== fingerprint) {
      throw new HarnessError(
        'USAGE',
        `an interrupted import into ${spec.out} used other options (format, filters, tags or redaction)`,
        {
          hint: `rerun it with the same options to resume, or delete ${statePathOf(out)} and ${partialPathOf(out)} to start over`,
        },
      );
    }
    writer = resumableWriter(out, fingerprint, state);
    if (state) {
      resumeFrom = state.checkpoint;
      Object.assign(counters, state.counters as Counters);
      resumed = counters.records;
      // Ids already written: a completion listed again after the cursor is still a duplicate.
      for await (const l of readSourceLines(partialPathOf(out))) {
        if ('text' in l) ids.add((JSON.parse(l.text) as { id: string }).id);
      }
      io.stderr?.write(`resuming the import into ${spec.out}: ${resumed} record(s) already written\n`);
    }
  } else {
    writer = freshWriter(out);
  }

  const ctx: ImportContext<unknown> = {
    options: importerOptions(spec, io),
    signal: io.signal,
    env: io.env,
    clock,
    resumeFrom,
    source(path, role) {
      const hash = createHash('sha256');
      let size = 0;
      try {
        size = statSync(path).size;
      } catch {
        // The reader reports a missing file with its own message.
      }
      bytesTotal += size;
      sources.push({ path, role, bytes: size, hash });
      return (chunk) => {
        hash.update(chunk);
        bytesRead += chunk.length;
      };
    },
    apiSource(description) {
      sources.push({ path: description });
    },
    note(message) {
      notes.push(message);
    },
  };

  const progress = importProgress(io.stderr, clock, io.progressEveryMs);
  const skippedTotal = () => Object.values(counters.skipped).reduce((a, b) => a + (b ?? 0), 0);
  const keepExample = (e: ImportSummary['examples'][number]) => {
    if (counters.examples.length < EXAMPLES_KEPT) counters.examples.push(e);
  };

  const handle = (item: ImportItem): void => {
    if (item.kind === 'invalid') {
      // Places and reasons quote ids, keys, URLs and bytes from the data: escaped before printing.
      const where = printable(item.where);
      const message = printable(item.message);
      if (!spec.skipInvalid) {
        throw new HarnessError('DATASET_INVALID', `${where}: ${message}`, {
          hint: 'fix that line, or pass --skip-invalid to import the rest and count what is skipped',
        });
      }
      counters.skipped[item.reason] = (counters.skipped[item.reason] ?? 0) + 1;
      keepExample({ where, reason: item.reason, message });
      return;
    }
    const draft = item.record;
    const id = draft.id ?? requestId(draft.request as Record<string, unknown>);
    if (!isWellFormed(id)) {
      // A lone surrogate has no UTF-8 form: the database would store another id than the file holds.
      handle({
        kind: 'invalid',
        where: item.where,
        reason: 'invalid_id',
        message: `id "${escapeLoneSurrogates(id)}" is not well-formed UTF-16 (a lone surrogate)`,
      });
      return;
    }
    const parsed = HoldoutRecord.safeParse({ ...draft, id, tags: { ...draft.tags, ...spec.tags } });
    if (!parsed.success) {
      const why = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
        .join('; ');
      handle({
        kind: 'invalid',
        where: item.where,
        reason: 'invalid_record',
        message: `not a holdout record: ${why}`,
      });
      return;
    }
    let record = parsed.data;
    let redactions: Record<string, number> = {};
    if (redactor) ({ record, counts: redactions } = redactor.redactRecord(record));
    const json = JSON.stringify(record);
    // Checked before the id is taken: a record left out must not make a later one a duplicate.
    const unreadable = outputBoundsError(json);
    if (unreadable) {
      handle({ kind: 'invalid', where: item.where, ...unreadable });
      return;
    }
    if (!ids.add(id)) {
      counters.duplicates++;
      keepExample({
        where: printable(item.where),
        reason: 'duplicate_id',
        message: `id "${printable(id)}" was already imported`,
      });
      return;
    }
    for (const [kind, c] of Object.entries(redactions))
      counters.redactions[kind] = (counters.redactions[kind] ?? 0) + c;
    writer.write(`${json}\n`);
    counters.records++;
    const t = record.timestamp === undefined ? Number.NaN : parseInstant(record.timestamp);
    if (!Number.isNaN(t)) {
      const sp = counters.span ?? { first: t, last: t, records: 0 };
      counters.span = { first: Math.min(sp.first, t), last: Math.max(sp.last, t), records: sp.records + 1 };
    }
  };

  try {
    for await (const item of importer.read(ctx)) {
      if (io.signal?.aborted) throw interrupted(spec, importer.resumable === true, counters.records);
      handle(item);
      if (item.checkpoint !== undefined) writer.checkpoint({ checkpoint: item.checkpoint, counters });
      io.onItem?.({ records: counters.records, skipped: skippedTotal() });
      progress.tick({ records: counters.records, skipped: skippedTotal(), bytesRead, bytesTotal });
    }
    if (io.signal?.aborted) throw interrupted(spec, importer.resumable === true, counters.records);
  } catch (err) {
    progress.done();
    writer.abandon();
    if (isAbort(err) || io.signal?.aborted) {
      throw err instanceof ImportInterrupted
        ? err
        : interrupted(spec, importer.resumable === true, counters.records);
    }
    throw err;
  }
  progress.done();

  const summary: ImportSummary = {
    format: spec.format,
    out: spec.out,
    manifest: manifestPathOf(spec.out),
    records: counters.records,
    skipped: counters.skipped,
    examples: counters.examples,
    duplicates: counters.duplicates,
    redaction: { enabled: redact, counts: counters.redactions },
    sources: sources.map(({ hash, ...s }) => (hash ? { ...s, sha256: hash.digest('hex') } : s)),
    notes,
    resumed,
  };
  const manifest = {
    version: 1,
    format: spec.format,
    output: basename(out),
    created_at: clock.isoNow(),
    records: summary.records,
    // The logs' time span (records with a timestamp): with `records` it gives the traffic per month.
    ...(counters.span
      ? {
          span: {
            first: new Date(counters.span.first).toISOString(),
            last: new Date(counters.span.last).toISOString(),
            records: counters.span.records,
          },
        }
      : {}),
    sources: summary.sources,
    skipped: summary.skipped,
    skipped_examples: summary.examples,
    duplicates: summary.duplicates,
    redaction: {
      enabled: redact,
      patterns: spec.redactPatterns.map((p) => p.name),
      counts: counters.redactions,
    },
    options: {
      skip_invalid: spec.skipInvalid,
      reference: spec.reference,
      tags: spec.tags,
      ...(spec.map ? { map: spec.map } : {}),
      ...(spec.system !== undefined ? { system: spec.system } : {}),
      ...(spec.format === 'openai-stored'
        ? { model: spec.model ?? null, metadata: spec.metadata ?? {} }
        : {}),
    },
    notes,
  };
  // The records land first: a manifest never describes a file that is not there.
  writer.commit();
  writeFileAtomic(manifestPathOf(out), `${JSON.stringify(manifest, null, 2)}\n`);
  io.stderr?.write(formatSummary(summary));
  return summary;
}

/**
 * Why a record, as written, would not read back (`holdout run` and `sample` apply the same limits), or
 * undefined. The record can be larger or deeper than its source line: extra log fields move into
 * `metadata`, JSON escaping lengthens CSV text.
 */
function outputBoundsError(json: string): { reason: SkipReason; message: string } | undefined {
  if (Buffer.byteLength(json) > MAX_LINE_BYTES) {
    return {
      reason: 'line_too_long',
      message: `the record would be a ${lineTooLongMessage(MAX_LINE_BYTES)}`,
    };
  }
  const bounds = jsonBoundsError(json);
  return bounds && { reason: bounds.reason, message: `the record as written: ${bounds.message}` };
}

function interrupted(spec: ImportSpec, resumable: boolean, records: number): ImportInterrupted {
  return resumable
    ? new ImportInterrupted(
        `import interrupted after ${records} record(s); progress is saved in ${statePathOf(spec.out)}: rerun the same command to resume`,
        true,
      )
    : new ImportInterrupted(`import interrupted: nothing written to ${spec.out}`, false);
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'APIUserAbortError');
}
