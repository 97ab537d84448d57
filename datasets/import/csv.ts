/**
 * `csv`: one record per row, through a column map (`prompt=question,system=sys,expected=answer,
 * tag:task=category,id=row_id`). Parsed by csv-parse (quoted fields with commas, newlines and
 * doubled quotes; a header row), fed line by line from the same fatal UTF-8 reader as JSONL.
 */
import { Readable } from 'node:stream';
import { type CsvError, type Info, parse } from 'csv-parse';
import { HarnessError } from '../../harness/errors.js';
import { formatBytes, MAX_LINE_BYTES } from '../bounds.js';
import { printable } from '../printable.js';
import { FieldError, toIsoTimestamp } from './fields.js';
import { readSourceLines } from './lines.js';
import { type DraftRecord, type ImportItem, type Importer, invalid } from './types.js';

/** Which column feeds which part of a record. Only `prompt` is required. */
export interface ColumnMap {
  prompt: string;
  system?: string;
  expected?: string;
  label?: string;
  id?: string;
  timestamp?: string;
  model?: string;
  /** Tag name → column. */
  tags?: Record<string, string>;
}

export interface CsvOptions {
  paths: string[];
  map: ColumnMap;
  /** A system prompt for every record (`--system`); not with a `system` column. */
  system?: string;
}

const FIELDS = ['prompt', 'system', 'expected', 'label', 'id', 'timestamp', 'model'] as const;

/**
 * What each `--map` key fills, for `holdout import --help`. Typed by FIELDS, so a new key cannot be
 * left out. `expected` and `label` feed different scorers: a label run given only `expected=`
 * scores nothing.
 */
export const COLUMN_MAP_HELP: Record<(typeof FIELDS)[number] | 'tag:NAME', string> = {
  prompt: 'the user message (required)',
  system: "a system message before it (each row's own; --system gives all rows one)",
  expected: 'reference.output, what exact and normalized compare against',
  label: 'reference.label, what the label scorer compares against',
  id: 'the record id (else h_ + a hash of the request)',
  timestamp: 'the record timestamp (ISO 8601 or Unix seconds/ms)',
  model: 'request.model',
  'tag:NAME': 'tag NAME (repeat for more tags)',
};

/** `a=x,b=y, z` → [`a=x`, `b=y, z`]: a piece without `=` belongs to the column name before it. */
function splitPairs(entry: string): string[] {
  const pairs: string[] = [];
  for (const piece of entry.split(',')) {
    if (!piece.includes('=') && pairs.length > 0) pairs[pairs.length - 1] += `,${piece}`;
    else pairs.push(piece);
  }
  return pairs;
}

/**
 * Parses `--map` entries: each is `key=column[,key=column…]`, keys from FIELDS or `tag:NAME`.
 * Later entries win. A column name may hold a comma as long as no `=` follows it.
 */
export function parseColumnMap(entries: readonly string[]): ColumnMap {
  const map: Partial<ColumnMap> & { tags: Record<string, string> } = { tags: {} };
  for (const pair of entries.flatMap(splitPairs)) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const column = pair.slice(eq + 1).trim();
    if (eq <= 0 || column === '') {
      throw new HarnessError('USAGE', `--map: "${pair}" is not key=column`, {
        hint: 'e.g. --map prompt=question,system=sys,expected=answer,tag:task=category,id=row_id',
      });
    }
    if (key.startsWith('tag:')) {
      const tag = key.slice(4);
      if (tag === '') throw new HarnessError('USAGE', `--map: "${pair}" needs a tag name: tag:NAME=column`);
      map.tags[tag] = column;
    } else if ((FIELDS as readonly string[]).includes(key)) {
      map[key as (typeof FIELDS)[number]] = column;
    } else {
      throw new HarnessError('USAGE', `--map: unknown key "${key}"`, {
        hint: `keys: ${FIELDS.join(', ')}, tag:NAME`,
      });
    }
  }
  if (map.prompt === undefined) {
    throw new HarnessError('USAGE', '--map needs prompt=<column>: the column holding the user prompt');
  }
  return map as ColumnMap;
}

function mappedColumns(map: ColumnMap): string[] {
  return [...FIELDS.map((f) => map[f]), ...Object.values(map.tags ?? {})].filter(
    (c): c is string => c !== undefined,
  );
}

/** csv-parse messages quote field values; say what is wrong without them. */
function describeCsvError(err: CsvError): string {
  switch (err.code) {
    case 'CSV_RECORD_INCONSISTENT_COLUMNS':
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
      return err.message.replace(/^Invalid Record Length: /, 'wrong number of fields: ');
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed: the rest of the file was read as one field';
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'INVALID_OPENING_QUOTE':
      return 'stray quote in a field';
    default:
      return `CSV error ${err.code}`;
  }
}

function rowRecord(
  row: Record<string, string>,
  map: ColumnMap,
  unmapped: string[],
  sharedSystem = '',
): DraftRecord {
  const value = (col: string | undefined) => (col === undefined ? '' : (row[col] ?? ''));
  const prompt = value(map.prompt);
  if (prompt.trim() === '') throw new FieldError('missing_field', `prompt column \`${map.prompt}\` is empty`);
  const system = map.system === undefined ? sharedSystem : value(map.system);
  const messages = [
    ...(system !== '' ? [{ role: 'system', content: system }] : []),
    { role: 'user', content: prompt },
  ];
  const request: Record<string, unknown> = { messages };
  const model = value(map.model);
  if (model !== '') request.model = model;
  const record: DraftRecord = { api: 'chat', request };
  const id = value(map.id);
  if (id !== '') record.id = id;
  if (map.timestamp !== undefined) {
    const ts = toIsoTimestamp(value(map.timestamp), map.timestamp);
    if (ts !== undefined) record.timestamp = ts;
  }
  const expected = value(map.expected);
  const label = value(map.label);
  if (expected !== '' || label !== '') {
    record.reference = {};
    if (expected !== '') record.reference.output = expected;
    if (label !== '') record.reference.label = label;
  }
  const tags: Record<string, string> = {};
  for (const [tag, col] of Object.entries(map.tags ?? {})) if (value(col) !== '') tags[tag] = value(col);
  record.tags = tags;
  if (unmapped.length > 0) {
    const columns: Record<string, string> = {};
    for (const c of unmapped) columns[c] = value(c);
    record.metadata = { columns };
  }
  return record;
}

function recordTooLarge(path: string, line: number): HarnessError {
  return new HarnessError(
    'DATASET_INVALID',
    `${path}:${line}: a CSV record running to this line is longer than ${formatBytes(MAX_LINE_BYTES)} (the per-line limit)`,
    { hint: 'a quoted field is probably never closed; the file cannot be read past it' },
  );
}

/** The file as text for csv-parse, line by line; an undecodable line stops the file. */
async function* csvText(path: string, onBytes: (b: Buffer) => void): AsyncGenerator<string> {
  let batch = '';
  for await (const l of readSourceLines(path, { onBytes, keepBlank: true })) {
    if ('invalid' in l) {
      // A quoted CSV field can span lines: past a line we cannot decode, row boundaries are unknown.
      throw new HarnessError('DATASET_INVALID', `${path}:${l.line}: ${l.invalid.message}`, {
        hint:
          l.invalid.reason === 'invalid_utf8'
            ? 'a CSV file cannot be read past an undecodable line; convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)'
            : undefined,
      });
    }
    batch += `${l.text}\n`;
    if (batch.length >= 64 * 1024) {
      yield batch;
      batch = '';
    }
  }
  if (batch !== '') yield batch;
}

export const csvImporter: Importer<CsvOptions> = {
  format: 'csv',
  describe:
    'CSV with a header row, through a column map (--map prompt=question,expected=answer,tag:task=category)',
  async *read(ctx) {
    const { map, system } = ctx.options;
    const wanted = mappedColumns(map);
    for (const path of ctx.options.paths) {
      let unmapped: string[] = [];
      let sawHeader = false;
      const skipped: ImportItem[] = [];
      const skippedLines = new Set<number>();
      const parser = parse({
        columns: (header: string[]) => {
          sawHeader = true;
          const missing = wanted.filter((c) => !header.includes(c));
          if (missing.length > 0) {
            throw new HarnessError(
              'DATASET_INVALID',
              `${path}:1: the header has no column ${missing.map((c) => `"${c}"`).join(', ')}`,
              { hint: `its columns: ${header.map((c) => `"${printable(c)}"`).join(', ')}` },
            );
          }
          const dup = wanted.find((c) => header.indexOf(c) !== header.lastIndexOf(c));
          if (dup)
            throw new HarnessError(
              'DATASET_INVALID',
              `${path}:1: column "${dup}" appears twice in the header`,
            );
          unmapped = header.filter((c) => !wanted.includes(c));
          return header;
        },
        info: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        relax_quotes: true,
        // A record spans lines when a quote never closes: bounded like a line, or it holds the file.
        max_record_size: MAX_LINE_BYTES,
      });
      // One bad quote can raise several errors on one line: count the line once.
      parser.on('skip', (err: CsvError) => {
        const line = (err as CsvError & { lines?: number }).lines ?? 0;
        // Thrown from here, the error stops the parser. Not skippable: the record's end is unknown.
        if (err.code === 'CSV_MAX_RECORD_SIZE') throw recordTooLarge(path, line);
        if (skippedLines.has(line)) return;
        skippedLines.add(line);
        skipped.push(invalid(`${path}:${line}`, 'csv_error', describeCsvError(err)));
      });
      const source = Readable.from(csvText(path, ctx.source(path)));
      source.on('error', (err) => parser.destroy(err));
      source.pipe(parser);
      try {
        for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
          yield* skipped.splice(0);
          const where = `${path}:${row.info.lines}`;
          try {
            yield { kind: 'record', where, record: rowRecord(row.record, map, unmapped, system) };
          } catch (err) {
            if (!(err instanceof FieldError)) throw err;
            yield invalid(where, err.reason, err.message);
          }
        }
        yield* skipped.splice(0);
      } finally {
        source.destroy();
        parser.destroy();
      }
      if (!sawHeader) ctx.note(`${path} is empty (no header row): 0 records from it`);
    }
  },
};
