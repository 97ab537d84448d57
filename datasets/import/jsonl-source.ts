import { FieldError, type Obj, parseJsonObject } from './fields.js';
import { readSourceLines } from './lines.js';
import { type ImportContext, type ImportItem, invalid, type SourceInfo } from './types.js';

/**
 * The JSONL loop every line-based importer shares: read, decode, parse, build, and turn a
 * `FieldError` into an invalid item at `file:line`. `build` returns undefined for a line it consumed
 * without producing a record (batch output lines). Anything else thrown is a bug and propagates.
 */
export async function* jsonlItems(
  ctx: ImportContext<unknown>,
  path: string,
  build: (line: Obj, where: string) => ImportItem | undefined,
  role?: SourceInfo['role'],
): AsyncGenerator<ImportItem> {
  const tap = ctx.source(path, role);
  let lines = 0;
  for await (const l of readSourceLines(path, { onBytes: tap })) {
    lines++;
    const where = `${path}:${l.line}`;
    if ('invalid' in l) {
      yield invalid(where, l.invalid.reason, l.invalid.message);
      continue;
    }
    try {
      const item = build(parseJsonObject(l.text), where);
      if (item) yield item;
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      yield invalid(where, err.reason, err.message);
    }
  }
  if (lines === 0) ctx.note(`${path} is empty: 0 records from it`);
}
