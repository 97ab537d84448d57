/**
 * What kind of file `holdout init` was given, and its records: holdout records as `holdout run`
 * reads them, or a production log in a format `holdout import` understands, read through that
 * format's own importer (datasets/import), so that init sees exactly the records an import would
 * write. Reading stops after `limit` records: a starter config needs a profile, not the whole log.
 */
import { systemClock } from '../../harness/clock.js';
import { HarnessError } from '../../harness/errors.js';
import { batchImporter } from '../import/batch.js';
import { FieldError, isObject, type Obj, parseJsonObject } from '../import/fields.js';
import { readSourceLines } from '../import/lines.js';
import { logImporter } from '../import/log.js';
import { messagesImporter } from '../import/messages.js';
import type { DraftRecord, ImportContext, Importer } from '../import/types.js';
import { parseRecordLine, readLines } from '../jsonl.js';
import { printable } from '../printable.js';

/** `records`: holdout records, read as they are; the rest are `holdout import` formats. */
export type StarterSource = 'records' | 'chat-log' | 'responses-log' | 'batch' | 'messages';

export const SOURCE_LABEL: Record<StarterSource, string> = {
  records: 'holdout records',
  'chat-log': 'a Chat Completions request/response log (import format chat-log)',
  'responses-log': 'a Responses API request/response log (import format responses-log)',
  batch: 'a Batch API input file (import format batch)',
  messages: 'fine-tuning style messages JSONL (import format messages)',
};

/** How many leading lines are looked at to name the format: the first object line decides. */
const SNIFF_LINES = 50;

/**
 * The format of `path`, from its first JSON object line. Throws a HarnessError naming file:line for
 * what no reader understands: a CSV (it needs a column map), a Batch output file, unknown JSON.
 */
export async function detectSource(path: string): Promise<StarterSource> {
  if (/\.csv(\.gz)?$/i.test(path)) {
    throw new HarnessError('USAGE', `${path} is a CSV: holdout init cannot guess its column map`, {
      hint: `import it first, e.g. holdout import csv ${path} --map prompt=question,label=category,tag:task=kind -o records.jsonl, then run holdout init records.jsonl`,
    });
  }
  let seen = 0;
  for await (const l of readSourceLines(path)) {
    if (++seen > SNIFF_LINES) break;
    const where = `${path}:${l.line}`;
    if ('invalid' in l)
      throw new HarnessError('DATASET_INVALID', printable(`${where}: ${l.invalid.message}`));
    let line: Obj;
    try {
      line = parseJsonObject(l.text);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      throw new HarnessError('DATASET_INVALID', printable(`${where}: ${err.message}`), {
        hint: 'holdout init reads JSONL: holdout records, chat/responses logs, Batch input files or messages JSONL',
      });
    }
    return classifyLine(line, where);
  }
  throw new HarnessError('DATASET_EMPTY', `${path} has no lines to read`);
}

/** One parsed line to the format it belongs to; exported for tests. */
export function classifyLine(line: Obj, where = 'line'): StarterSource {
  if ('custom_id' in line) {
    if ('body' in line || 'url' in line) return 'batch';
    throw new HarnessError('USAGE', printable(`${where}: this looks like a Batch API output file`), {
      hint: 'give the Batch input file instead (its requests); `holdout import batch IN --output OUT` joins the answers',
    });
  }
  const request = line.request;
  if (isObject(request)) {
    // A logged response (or its latency) makes a log; a record has neither at its top level.
    if ('response' in line || ('latency_ms' in line && !('api' in line))) {
      const response = isObject(line.response) ? line.response : undefined;
      const responses = response?.object === 'response' || (!('messages' in request) && 'input' in request);
      return responses ? 'responses-log' : 'chat-log';
    }
    return 'records';
  }
  if (Array.isArray(line.messages)) return 'messages';
  const keys = Object.keys(line).slice(0, 8).join(', ');
  throw new HarnessError(
    'DATASET_INVALID',
    printable(`${where}: not a format holdout init knows (keys: ${keys || 'none'})`),
    {
      hint: 'give holdout records (`{id, request, …}`), a chat/responses log (`{request, response}`), a Batch input file (`{custom_id, url, body}`) or messages JSONL (`{messages}`)',
    },
  );
}

/** A record as init sees it: the fields a starter config is inferred from. */
export type StarterRecord = Pick<DraftRecord, 'api' | 'tags' | 'request' | 'reference'>;

export interface ReadOutcome {
  /** Lines that were not records (the import would stop at the first, or count them with --skip-invalid). */
  invalid: number;
  firstInvalid?: string;
  /** Stopped at `limit`: later records were not looked at. */
  truncated: boolean;
}

const IMPORTERS: Record<Exclude<StarterSource, 'records'>, Importer<unknown>> = {
  'chat-log': logImporter('chat') as Importer<unknown>,
  'responses-log': logImporter('responses') as Importer<unknown>,
  batch: batchImporter as Importer<unknown>,
  messages: messagesImporter as Importer<unknown>,
};

/**
 * Streams up to `limit` records of `path` to `onRecord`. Logs are read with `reference:
 * production`, so that the logged answers stand in for references (label sets, JSON shapes).
 * Holdout records must all be valid (a run would refuse the file): the first bad line is an error.
 */
export async function readStarterRecords(
  path: string,
  source: StarterSource,
  limit: number,
  onRecord: (r: StarterRecord) => void,
): Promise<ReadOutcome> {
  const out: ReadOutcome = { invalid: 0, truncated: false };
  let count = 0;
  if (source === 'records') {
    for await (const l of readLines(path)) {
      if (count >= limit) {
        out.truncated = true;
        break;
      }
      onRecord(parseRecordLine(path, l).record);
      count++;
    }
    return out;
  }
  const ctx: ImportContext<unknown> = {
    options: { paths: [path], outputs: [], reference: 'production' },
    env: {},
    clock: systemClock,
    source: () => () => {},
    apiSource() {},
    note() {},
  };
  for await (const item of IMPORTERS[source].read(ctx)) {
    if (item.kind === 'invalid') {
      out.invalid++;
      out.firstInvalid ??= printable(`${item.where}: ${item.message}`);
      continue;
    }
    if (count >= limit) {
      out.truncated = true;
      break;
    }
    onRecord(item.record);
    count++;
  }
  return out;
}
