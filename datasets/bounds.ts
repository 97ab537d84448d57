/**
 * Limits on one line of a data file, shared by every reader (`import`, `run`, `sample`): a broken or
 * hostile file must end in one error naming its line, never in a stack overflow or a process out of
 * memory.
 */

/**
 * Longest line accepted, checked while the line streams in: a longer one is never held whole. Room
 * for a request carrying a 20 MB image inline (base64, ~27 MB).
 */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

/**
 * Most JSON values (objects, arrays and elements) accepted in one line. Text costs about its size
 * once parsed, structure much more: 32 MiB of `{},{},…` parse into 10 million objects, 1.2 GB on
 * import and 1.8 GB with redaction. Two million values stay under ~0.5 GB and still hold a 10,000-token
 * answer logged with 20 top logprobs a token.
 */
export const MAX_JSON_VALUES = 2_000_000;

/**
 * Deepest JSON nesting accepted. Real records stay within a few dozen levels (a JSON Schema in a tool
 * definition adds two a level), while JSON.stringify, the redactor and canonical JSON recurse once a
 * level and overflow the stack somewhere past 5,000.
 */
export const MAX_JSON_DEPTH = 100;

/** `32 MiB` for whole mebibytes, else the byte count: limits as the user would write them. */
export function formatBytes(bytes: number): string {
  const mib = 1024 * 1024;
  return bytes >= mib && bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}

/** The message for a line over `max` bytes; the caller prefixes file:line. */
export const lineTooLongMessage = (max: number) =>
  `line longer than ${formatBytes(max)} (the per-line limit)`;

export interface JsonLimits {
  depth: number;
  values: number;
}

const LIMITS: JsonLimits = { depth: MAX_JSON_DEPTH, values: MAX_JSON_VALUES };

/** What is wrong with a line's JSON shape; the reasons are skip reasons of `holdout import`. */
export interface JsonBoundsError {
  reason: 'json_too_deep' | 'json_too_large';
  message: string;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const BACKSLASH = 0x5c;

/**
 * Why `text` is nested or sized beyond the limits, or undefined. One linear scan of the text before
 * JSON.parse, so nothing recursive ever sees a deeper value, and a line of `[[[[…` or `{},{},…` is
 * refused before it turns into millions of objects. Strings are skipped with indexOf (brackets and
 * commas inside them do not count). Values are counted as opening brackets plus commas, which is
 * within a factor of two of the true count. Unbalanced text is left for JSON.parse to report.
 */
export function jsonBoundsError(text: string, limits: JsonLimits = LIMITS): JsonBoundsError | undefined {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      continue;
    }
    if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
      continue;
    }
    const opens = c === OPEN_ARRAY || c === OPEN_OBJECT;
    if (!opens && c !== COMMA) continue;
    if (opens && ++depth > limits.depth) {
      return {
        reason: 'json_too_deep',
        message: `JSON nested deeper than ${limits.depth} levels (at column ${i + 1})`,
      };
    }
    if (++values > limits.values) {
      const max = limits.values.toLocaleString('en-US');
      return { reason: 'json_too_large', message: `JSON with more than ${max} values (at column ${i + 1})` };
    }
  }
  return undefined;
}

/** Index of the quote that closes the string opened at `open` (the text's end when none does). */
function closingQuote(text: string, open: number): number {
  let i = open;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return text.length;
    // A quote after an odd run of backslashes is escaped: `\"` is inside, `\\"` closes.
    let slashes = 0;
    while (text.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return i;
  }
}
