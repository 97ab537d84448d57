/**
 * The two file formats, each taking a table's rows a batch at a time so that memory holds one
 * batch, never the run. Parquet through hyparquet-writer (pure JavaScript, Snappy-compressed, one
 * row group per batch); JSONL one object per line. Both write to a path the caller renames into
 * place once everything is written.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import type { Column, ColumnType, Table } from './tables.js';

/** A row as SQLite returns it in raw mode: the table's columns in order (numbers, strings, nulls). */
export type Row = readonly unknown[];

export interface TableWriter {
  /** Writes rows (one Parquet row group); rows are in the table's column order. */
  write(rows: readonly Row[]): void;
  /** Completes the file (the Parquet footer). */
  finish(): void;
  /** Releases the file without completing it (the caller deletes it). */
  abandon(): void;
}

type SchemaElement = {
  name: string;
  type?: 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY';
  repetition_type?: 'OPTIONAL';
  num_children?: number;
  converted_type?: 'UTF8' | 'JSON' | 'TIMESTAMP_MILLIS';
  logical_type?:
    | { type: 'STRING' }
    | { type: 'JSON' }
    | { type: 'TIMESTAMP'; isAdjustedToUTC: boolean; unit: 'MILLIS' };
};

/** Parquet's physical and logical type for each column type; every column may be null. */
function element(col: Column): SchemaElement {
  const base = { name: col.name, repetition_type: 'OPTIONAL' as const };
  switch (col.type) {
    case 'BIGINT':
      return { ...base, type: 'INT64' };
    case 'INTEGER':
      return { ...base, type: 'INT32' };
    case 'DOUBLE':
      return { ...base, type: 'DOUBLE' };
    case 'BOOLEAN':
      return { ...base, type: 'BOOLEAN' };
    case 'VARCHAR':
    case 'JSON':
      // JSON text is written as a plain UTF-8 string: every reader takes it, and DuckDB's
      // json_extract, BigQuery's JSON functions and pandas' json.loads work on it alike.
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'TIMESTAMP':
      return {
        ...base,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
  }
}

/** An ISO 8601 time as Unix milliseconds; null for text that is not a time. */
export function isoMillis(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/** One stored value as the column's Parquet value. */
function parquetValue(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'BIGINT':
      return typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    case 'INTEGER':
    case 'DOUBLE':
      return Number(v);
    case 'BOOLEAN':
      return Boolean(v);
    case 'TIMESTAMP': {
      const ms = isoMillis(v);
      return ms === null ? null : BigInt(ms);
    }
    default:
      return String(v);
  }
}

/** One stored value as JSON: timestamps stay ISO text, JSON text becomes the value it holds. */
export function jsonValue(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'BOOLEAN':
      return Boolean(v);
    case 'BIGINT':
    case 'INTEGER':
      // Ids and token counts fit a double exactly below 2^53; SQLite hands back a bigint only above.
      return typeof v === 'bigint' ? Number(v) : v;
    case 'JSON':
      try {
        return JSON.parse(String(v));
      } catch {
        return String(v);
      }
    default:
      return v;
  }
}

export function parquetTableWriter(path: string, table: Table, meta: Record<string, string>): TableWriter {
  const schema: SchemaElement[] = [
    { name: 'root', num_children: table.columns.length },
    ...table.columns.map(element),
  ];
  // Created private first: the rows hold production prompts' answers. fileWriter truncates, keeping the mode.
  closeSync(openSync(path, 'w', 0o600));
  const writer = fileWriter(path);
  let total = 0;
  const pq = new ParquetWriter({
    writer,
    // biome-ignore lint/suspicious/noExplicitAny: hyparquet's SchemaElement, narrowed above to what we write.
    schema: schema as any,
    kvMetadata: Object.entries(meta).map(([key, value]) => ({ key, value })),
    createdBy: 'holdout export (hyparquet-writer)',
  });
  return {
    write(rows) {
      if (rows.length === 0) return;
      total += rows.length;
      const columnData = table.columns.map((col, i) => ({
        name: col.name,
        data: rows.map((r) => parquetValue(col.type, r[i])),
      }));
      // One row group per batch: the writer holds only this batch's columns.
      // biome-ignore lint/suspicious/noExplicitAny: the column arrays mix null with the column's type.
      pq.write({ columnData: columnData as any, rowGroupSize: rows.length });
    },
    finish() {
      pq.finish();
      if (total === 0) patchEmptyRowGroups(path);
    },
    abandon() {
      // fileWriter keeps no descriptor open between flushes: nothing to release.
    },
  };
}

/**
 * A table without rows has an empty `row_groups` list in its footer, which hyparquet-writer 0.17
 * writes with element type 0 instead of STRUCT (its list type is guessed from the first element).
 * DuckDB reads that file; stricter readers (arrow-rs, used by parquet-wasm and polars) refuse it.
 * In the compact Thrift footer of a zero-row file, `num_rows: 0` (field 3, i64: 0x16 0x00) is
 * followed by the `row_groups` header (field 4, list: 0x19) and the list's size-and-type byte
 * (0x00): that byte becomes 0x0C (size 0, STRUCT). Only when the sequence occurs exactly once.
 */
export function patchEmptyRowGroups(path: string): void {
  const bytes = readFileSync(path);
  const footerLength = bytes.readUInt32LE(bytes.length - 8);
  const start = bytes.length - 8 - footerLength;
  const needle = Buffer.from([0x16, 0x00, 0x19, 0x00]);
  const at = bytes.indexOf(needle, start);
  if (at < 0 || bytes.indexOf(needle, at + 1) >= 0) return;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.from([0x0c]), 0, 1, at + 3);
  } finally {
    closeSync(fd);
  }
}

/** Buffered synchronous writes: one write call per ~1 MB, not per row. */
export function jsonlTableWriter(path: string, table: Table): TableWriter {
  const fd = openSync(path, 'w', 0o600);
  let buffer = '';
  const flush = () => {
    if (buffer !== '') writeSync(fd, buffer);
    buffer = '';
  };
  let closed = false;
  const close = () => {
    if (!closed) closeSync(fd);
    closed = true;
  };
  return {
    write(rows) {
      for (const r of rows) {
        const o: Record<string, unknown> = {};
        table.columns.forEach((col, i) => {
          o[col.name] = jsonValue(col.type, r[i]);
        });
        buffer += `${JSON.stringify(o)}\n`;
        if (buffer.length > 1 << 20) flush();
      }
    },
    finish() {
      flush();
      close();
    },
    abandon() {
      close();
    },
  };
}
