/**
 * Checks shared by the log readers. Each failure is a `FieldError` naming the field and the type
 * found, never the value: messages go to stderr and the manifest, and values may hold PII.
 */
import { jsonBoundsError } from '../bounds.js';
import { printable } from '../printable.js';
import type { SkipReason } from './types.js';

export type Obj = Record<string, unknown>;

export class FieldError extends Error {
  constructor(
    readonly reason: SkipReason,
    message: string,
  ) {
    super(message);
  }
}

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/**
 * Parses one line as a JSON object. The engine's own messages quote the input around the error, so
 * they are rewritten to a position only. Nesting and size are bounded first: every later step (ids,
 * redaction, writing) recurses once a level, and copies the value.
 */
export function parseJsonObject(text: string): Obj {
  const bounds = jsonBoundsError(text);
  if (bounds !== undefined) throw new FieldError(bounds.reason, bounds.message);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FieldError('invalid_json', describeJsonError((err as Error).message, text.length));
  }
  if (!isObject(value)) throw new FieldError('wrong_type', `expected a JSON object, got ${typeName(value)}`);
  return value;
}

function describeJsonError(message: string, length: number): string {
  if (/end of JSON input|Unterminated string/i.test(message)) {
    return `truncated JSON: the line ends (at column ${length}) before the value is complete`;
  }
  const at = /position (\d+)/.exec(message);
  if (at) {
    const pos = Number(at[1]);
    return pos >= length
      ? `truncated JSON: the line ends (at column ${length}) before the value is complete`
      : `invalid JSON at column ${pos + 1}`;
  }
  // "Unexpected token 'x', "…" is not valid JSON": the token is one character, the rest is input.
  const token = /Unexpected token '(.)'/u.exec(message);
  return token ? `invalid JSON: unexpected '${printable(token[1]!)}'` : 'invalid JSON';
}

export function objectField(o: Obj, key: string, path: string, required: true): Obj;
export function objectField(o: Obj, key: string, path: string, required?: false): Obj | undefined;
export function objectField(o: Obj, key: string, path: string, required = false): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new FieldError('missing_field', `missing \`${path}\``);
    return undefined;
  }
  if (!isObject(v)) throw new FieldError('wrong_type', `\`${path}\` must be an object, got ${typeName(v)}`);
  return v;
}

export function stringField(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw new FieldError('wrong_type', `\`${path}\` must be a string, got ${typeName(v)}`);
  return v;
}

/** A non-negative number of milliseconds; numeric strings are accepted (CSV-born logs). */
export function latencyField(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new FieldError(
      'wrong_type',
      `\`${key}\` must be a non-negative number of milliseconds, got ${typeName(v)}`,
    );
  }
  return n;
}

/** An id given as a string or a number (some logs number their lines). */
export function idField(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string')
    throw new FieldError('wrong_type', `\`${path}\` must be a string, got ${typeName(v)}`);
  return v;
}

/** `tags`: an object of string values. A number or an object there is an error naming the tag. */
export function tagsField(o: Obj, key: string): Record<string, string> | undefined {
  const v = objectField(o, key, key);
  if (!v) return undefined;
  const tags: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') {
      throw new FieldError('wrong_type', `\`${key}.${k}\` must be a string, got ${typeName(value)}`);
    }
    tags[k] = value;
  }
  return tags;
}

/**
 * A timestamp as an ISO string. Accepts ISO/RFC 3339 strings and Unix epochs in seconds (the API's
 * `created`) or milliseconds (numbers above 1e11 are taken as ms: 1e11 s is the year 5138).
 */
export function toIsoTimestamp(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let ms: number;
  if (typeof v === 'number') ms = v > 1e11 ? v : v * 1000;
  else if (typeof v === 'string') {
    ms = /^\d+(\.\d+)?$/.test(v) ? (Number(v) > 1e11 ? Number(v) : Number(v) * 1000) : Date.parse(v);
  } else
    throw new FieldError('wrong_type', `\`${path}\` must be an ISO date or a Unix time, got ${typeName(v)}`);
  if (!Number.isFinite(ms)) throw new FieldError('wrong_type', `\`${path}\` is not a date`);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new FieldError('wrong_type', `\`${path}\` is out of range`);
  return d.toISOString();
}

/** Usage counters must be numbers when present: the replay candidate prices them. */
export function checkUsage(response: Obj, fields: readonly string[], path: string): void {
  const usage = objectField(response, 'usage', `${path}.usage`);
  if (!usage) return;
  for (const f of fields) {
    const [head, sub] = f.split('.') as [string, string | undefined];
    const v = sub === undefined ? usage[head] : isObject(usage[head]) ? (usage[head] as Obj)[sub] : undefined;
    if (sub !== undefined && usage[head] !== undefined && usage[head] !== null && !isObject(usage[head])) {
      throw new FieldError(
        'wrong_type',
        `\`${path}.usage.${head}\` must be an object, got ${typeName(usage[head])}`,
      );
    }
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new FieldError(
        'wrong_type',
        `\`${path}.usage.${f}\` must be a non-negative number, got ${typeName(v)}`,
      );
    }
  }
}

/** Keys of `o` not in `known`, as an object (the "rest" that metadata keeps), or undefined. */
export function rest(o: Obj, known: ReadonlySet<string>): Obj | undefined {
  let out: Obj | undefined;
  for (const [k, v] of Object.entries(o)) {
    if (known.has(k) || v === undefined) continue;
    out ??= {};
    out[k] = v;
  }
  return out;
}
