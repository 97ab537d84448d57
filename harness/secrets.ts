/**
 * Keeps API keys out of what holdout stores and prints. An endpoint may echo a request's
 * `Authorization` header (or the key in a URL) in its error body; that text becomes a call's
 * `error_message`, a warning and an error on stderr. `scrubSecrets` replaces, in any such text, the
 * key values holdout was configured with (the values of the `api_key_env` variables of candidates,
 * judges and routers, of the `${env:…}` references in their headers and query parameters, and Entra ID
 * tokens, registered when their clients are made or a token is got) and anything shaped like a key or a
 * token (`sk-…`, `Bearer …`, `api_key=…`: the detectors of `datasets/redact.ts`).
 */
import { printable } from '../datasets/printable.js';
import { SECRET_DETECTORS } from '../datasets/redact.js';

/** What a secret becomes. */
export const REDACTED = '[REDACTED]';

/** Shorter values are not scrubbed by value: "abc" would be cut out of every word that holds it. */
export const MIN_SECRET_LENGTH = 8;

/** The key values read from the environment in this process. */
const known = new Set<string>();

/** Remembers a key value, so that every later scrub removes it. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.trim().length >= MIN_SECRET_LENGTH) known.add(value);
}

/**
 * Shapes that are keys in error text whatever their length or digits: an `sk-` key (also the masked
 * `sk-proj-****abcd` of an "Incorrect API key" message), whatever follows `Bearer`, and the
 * user:password of a URL.
 */
const ERROR_TEXT_DETECTORS: readonly { regex: RegExp; accept?: (s: string) => boolean }[] = [
  ...SECRET_DETECTORS,
  { regex: /(?<![\w-])sk-[A-Za-z0-9_*-]{6,}/g },
  { regex: /\bBearer\s+(?<value>[^\s"',;]{4,})/dgi },
  // user:password@ in a URL.
  { regex: /\b[a-z][a-z0-9+.-]*:\/\/(?<value>[^\s/@:]+:[^\s/@]+)@/dgi },
];

/** `text` with every registered key value (and `extra` ones) and every key-shaped token replaced. */
export function scrubSecrets(text: string, extra: readonly string[] = []): string {
  let out = text;
  const values = [...known, ...extra.filter((v) => v.trim().length >= MIN_SECRET_LENGTH)];
  // Longest first: a key that contains another is removed whole.
  for (const v of values.sort((a, b) => b.length - a.length)) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
  }
  const spans: [number, number][] = [];
  for (const d of ERROR_TEXT_DETECTORS) {
    for (const m of out.matchAll(d.regex)) {
      const at = m.indices?.groups?.value;
      const start = at ? at[0] : m.index;
      const value = at ? m.groups!.value! : m[0];
      if (value.length === 0 || value === REDACTED || (d.accept && !d.accept(value))) continue;
      const end = start + value.length;
      if (spans.some(([s, e]) => start < e && s < end)) continue;
      spans.push([start, end]);
    }
  }
  for (const [start, end] of spans.sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, start) + REDACTED + out.slice(end);
  }
  return out;
}

/**
 * Text from an endpoint or from data, made fit to store and print on one line: keys scrubbed (an
 * endpoint may echo the Authorization header) and control characters escaped. Doing it twice
 * changes nothing.
 */
export function safeErrorText(message: string): string {
  return printable(scrubSecrets(message));
}
