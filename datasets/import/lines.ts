import { createReadStream, statSync } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { HarnessError } from '../../harness/errors.js';
import { lineTooLongMessage, MAX_LINE_BYTES } from '../bounds.js';
import type { SkipReason } from './types.js';

export type SourceLine =
  | { line: number; text: string }
  | { line: number; invalid: { reason: SkipReason; message: string } };

export interface ReadLinesOptions {
  /** Sees every raw byte as read from disk (compressed for .gz): for the manifest's sha256. */
  onBytes?: (chunk: Buffer) => void;
  /** Yield blank lines too (CSV: a quoted field may hold an empty line). */
  keepBlank?: boolean;
  /** Default MAX_LINE_BYTES: a longer line is reported (`line_too_long`) and skipped, never held whole. */
  maxLineBytes?: number;
}

/** Opens a file as a stream of decompressed bytes (gzip when the name ends in .gz). */
export function openSource(path: string, onBytes?: (chunk: Buffer) => void): Readable {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    throw new HarnessError(
      'DATASET_NOT_FOUND',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`,
      {
        cause: err,
      },
    );
  }
  if (!isFile) throw new HarnessError('DATASET_NOT_FOUND', `cannot read ${path}: not a file`);
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes?.(chunk);
      done(null, chunk);
    },
  });
  // pipeline forwards an error from any stage to the last one, where the reader sees it.
  const noop = () => {};
  return path.endsWith('.gz') ? pipeline(raw, tap, createGunzip(), noop) : pipeline(raw, tap, noop);
}

/** Iterates a source's bytes, turning I/O and gzip errors into errors that name the file. */
export async function* sourceChunks(path: string, onBytes?: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  const stream = openSource(path, onBytes);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || /gzip|header check|unexpected end of file/i.test((err as Error).message)) {
      throw new HarnessError(
        'DATASET_INVALID',
        `${path}: not a readable gzip file (${(err as Error).message})`,
        {
          cause: err,
          hint: 'the file may be truncated; only names ending in .gz are decompressed',
        },
      );
    }
    throw new HarnessError('DATASET_NOT_FOUND', `cannot read ${path}: ${code || (err as Error).message}`, {
      cause: err,
    });
  } finally {
    stream.destroy();
  }
}

const BOM = [0xef, 0xbb, 0xbf] as const;

/**
 * Streams the lines of a text file with their 1-based numbers. Unlike readline, bytes are decoded
 * with a fatal UTF-8 decoder, so an undecodable line is reported instead of silently turned into
 * U+FFFD; a UTF-8 BOM on the first line and CR before LF are dropped. Splitting on the LF byte is
 * safe: 0x0A never occurs inside a multi-byte UTF-8 sequence. Memory holds one line at a time.
 */
export async function* readSourceLines(
  path: string,
  opts: ReadLinesOptions = {},
): AsyncGenerator<SourceLine> {
  const max = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let parts: Buffer[] = [];
  let partLen = 0;
  let overlong = false;
  let line = 0;
  const tooLong = { reason: 'line_too_long', message: lineTooLongMessage(max) } as const;

  const finish = (piece: Buffer): SourceLine | undefined => {
    line++;
    if (overlong) {
      overlong = false;
      return { line, invalid: tooLong };
    }
    let buf = partLen > 0 ? Buffer.concat([...parts, piece]) : piece;
    parts = [];
    partLen = 0;
    if (line === 1 && buf[0] === BOM[0] && buf[1] === BOM[1] && buf[2] === BOM[2]) buf = buf.subarray(3);
    if (buf.length > 0 && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    if (buf.length > max) {
      return { line, invalid: tooLong };
    }
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      return {
        line,
        invalid: { reason: 'invalid_utf8', message: `invalid UTF-8 at byte ${firstInvalidByte(buf) + 1}` },
      };
    }
    if (!opts.keepBlank && text.trim() === '') return undefined;
    return { line, text };
  };

  for await (const chunk of sourceChunks(path, opts.onBytes)) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const item = finish(chunk.subarray(start, nl));
      if (item) yield item;
      start = nl + 1;
    }
    if (start < chunk.length && !overlong) {
      parts.push(chunk.subarray(start));
      partLen += chunk.length - start;
      if (partLen > max + 1) {
        // Drop what is buffered and skip to the next newline: the line is reported, not held.
        overlong = true;
        parts = [];
        partLen = 0;
      }
    }
  }
  if (partLen > 0 || overlong) {
    const item = finish(Buffer.alloc(0));
    if (item) yield item;
  }
}

/** Index of the first byte where `buf` stops being valid UTF-8 (for the error message). */
function firstInvalidByte(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    const n =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > buf.length) return i;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(i, i + n));
    } catch {
      return i;
    }
    i += n;
  }
  return i;
}
