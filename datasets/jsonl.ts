import { createHash } from 'node:crypto';
import { HarnessError } from '../harness/errors.js';
import { jsonBoundsError } from './bounds.js';
import { readSourceLines } from './import/lines.js';
import { printable } from './printable.js';
import { HoldoutRecord } from './record.js';

export interface JsonlLine {
  /** 1-based line number in the (decompressed) file. */
  line: number;
  text: string;
  /** Why the line could not be read (invalid UTF-8, too long); `text` is empty then. */
  invalid?: string;
}

/**
 * Streams the non-empty lines of a JSONL file (gzip when the name ends in .gz), with a UTF-8 BOM and
 * CRLF endings tolerated. Memory stays flat whatever the file size. `onBytes` sees the raw bytes
 * (hashing). Bytes are decoded strictly: a line that is not UTF-8 comes with `invalid` set instead of
 * being silently turned into U+FFFD.
 */
export async function* readLines(path: string, onBytes?: (chunk: Buffer) => void): AsyncGenerator<JsonlLine> {
  try {
    for await (const l of readSourceLines(path, { onBytes })) {
      yield 'invalid' in l ? { line: l.line, text: '', invalid: l.invalid.message } : l;
    }
  } catch (err) {
    if (err instanceof HarnessError && err.code === 'DATASET_NOT_FOUND') {
      throw new HarnessError(
        'DATASET_NOT_FOUND',
        err.message.replace(/^cannot read /, 'cannot read dataset '),
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

export interface RecordAt {
  line: number;
  record: HoldoutRecord;
  /** The record as normalized JSON: what is stored and replayed. */
  json: string;
}

/**
 * An error about one line. The reason may quote the data (the parser's excerpt of the line, keys,
 * ids), so control characters are escaped before it reaches a terminal.
 */
function lineError(path: string, line: number, reason: string): HarnessError {
  return new HarnessError('DATASET_INVALID', printable(`${path}:${line}: ${reason}`));
}

/**
 * Parses one JSONL line into a record, or throws an error naming the file, the line and the reason.
 * Nesting and size are bounded before parsing: JSON.stringify here, and later the replay, recurse a
 * level at a time, and a line of `{},{},…` would parse into gigabytes.
 */
export function parseRecordLine(path: string, l: JsonlLine): RecordAt {
  if (l.invalid !== undefined) throw lineError(path, l.line, l.invalid);
  const bounds = jsonBoundsError(l.text);
  if (bounds !== undefined) throw lineError(path, l.line, bounds.message);
  let value: unknown;
  try {
    value = JSON.parse(l.text);
  } catch (err) {
    throw lineError(path, l.line, `invalid JSON: ${(err as Error).message}`);
  }
  const parsed = HoldoutRecord.safeParse(value);
  if (!parsed.success) {
    const reasons = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
      .join('; ');
    throw lineError(path, l.line, `not a holdout record: ${reasons}`);
  }
  return { line: l.line, record: parsed.data, json: JSON.stringify(parsed.data) };
}

export async function* readRecords(path: string): AsyncGenerator<RecordAt> {
  for await (const l of readLines(path)) yield parseRecordLine(path, l);
}

export interface DatasetCheck {
  count: number;
  /** sha256 of the file's bytes: a run resumes only over the same data. */
  hash: string;
}

/**
 * One streaming pass that validates every line and hashes the file. All problems up to `maxErrors`
 * are gathered so the user fixes them in one go; nothing is stored unless the whole file is valid.
 */
export async function checkDataset(path: string, maxErrors = 20): Promise<DatasetCheck> {
  const hash = createHash('sha256');
  const errors: string[] = [];
  const ids = new Map<string, number>();
  let count = 0;
  let more = 0;
  for await (const l of readLines(path, (b) => hash.update(b))) {
    try {
      const { record } = parseRecordLine(path, l);
      const first = ids.get(record.id);
      if (first !== undefined)
        throw lineError(path, l.line, `duplicate id "${record.id}" (first on line ${first})`);
      ids.set(record.id, l.line);
      count++;
    } catch (err) {
      if (!(err instanceof HarnessError)) throw err;
      if (errors.length < maxErrors) errors.push(err.message);
      else more++;
    }
  }
  if (errors.length > 0) {
    const tail = more > 0 ? `\n  … and ${more} more` : '';
    throw new HarnessError(
      'DATASET_INVALID',
      `${path} has invalid records:\n${errors.map((e) => `  ${e}`).join('\n')}${tail}`,
    );
  }
  if (count === 0) throw new HarnessError('DATASET_EMPTY', `${path} has no records`);
  return { count, hash: hash.digest('hex') };
}
