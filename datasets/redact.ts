/**
 * PII redaction before anything leaves the machine: email addresses, phone numbers, payment card
 * numbers (Luhn-checked), IP addresses, API keys and bearer tokens, plus user-supplied patterns.
 * Each match becomes a typed placeholder numbered per record: `<EMAIL_1>` is the same address
 * everywhere in one record, a second address is `<EMAIL_2>`. Only counts leave this module, never
 * the values.
 *
 * Detectors run over the original text and the matches are merged by priority (user patterns,
 * secrets, email, card, IPv6, IPv4, phone): an overlapping lower-priority match is dropped, so a
 * phone pattern never eats the digits of a card or an address, and no detector ever sees another
 * one's placeholder.
 */
import { isIPv6 } from 'node:net';
import { HarnessError } from '../harness/errors.js';
import type { HoldoutRecord } from './record.js';

export interface RedactOptions {
  /**
   * Extra kinds: `name` becomes the placeholder (`employee_id` → `<EMPLOYEE_ID_1>`). A named group
   * `(?<value>…)` limits the replacement to that group (e.g. keep `emp=` and redact the number).
   */
  patterns?: { name: string; regex: string }[];
}

export interface Redactor {
  /** A redacted copy (the input is not changed) and the number of replacements per kind found. */
  redactRecord(record: HoldoutRecord): { record: HoldoutRecord; counts: Record<string, number> };
}

/** The built-in kinds, as they appear in placeholders and counts. */
export const REDACTION_KINDS = ['SECRET', 'EMAIL', 'CARD', 'IP', 'PHONE'] as const;

interface Detector {
  kind: string;
  regex: RegExp;
  /** Accepts or rejects a candidate (Luhn, digit counts…). */
  accept?: (text: string) => boolean;
  /** The identity of a value, so that `John@X.com` and `john@x.com` share a placeholder. */
  normalize?: (text: string) => string;
}

interface Span {
  start: number;
  end: number;
  kind: string;
  value: string;
}

const digitsOf = (s: string) => s.replace(/\D/g, '');

/** Luhn checksum (ISO/IEC 7812-1): double every second digit from the right. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const SECRET_KEY_NAMES =
  '[A-Za-z0-9_-]*(?:api[_-]?key|apikey|access[_-]?key|token|secret|password|passwd|client[_-]?secret)';

/**
 * Secrets: every regex either matches the secret itself or has a `value` group around it. Also used
 * by harness/secrets.ts to scrub error text.
 */
export const SECRET_DETECTORS: readonly Detector[] = [
  // OpenAI-style keys: sk-…, sk-proj-…, sk-svcacct-… (and other vendors' sk- keys).
  { kind: 'SECRET', regex: /(?<![\w-])sk-(?:[A-Za-z0-9]+-)?[A-Za-z0-9_-]{20,}/g },
  // GitHub tokens (classic and fine-grained).
  { kind: 'SECRET', regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g },
  // AWS access key ids.
  { kind: 'SECRET', regex: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  // Slack and Google API keys.
  { kind: 'SECRET', regex: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'SECRET', regex: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  // `Authorization: Bearer <token>`: the token only. A real token has a digit and some length;
  // "bearer instruments" in prose does not.
  {
    kind: 'SECRET',
    regex: /\bBearer\s+(?<value>[A-Za-z0-9\-._~+/]{16,}=*)/dgi,
    accept: (t) => /\d/.test(t),
  },
  // api_key=…, "token": "…", password: …: the value only. The key must end at a word boundary,
  // so `max_tokens: 100` and `prompt_token_count` are not secrets.
  {
    kind: 'SECRET',
    regex: new RegExp(`\\b${SECRET_KEY_NAMES}\\b["']?\\s*[:=]\\s*["']?(?<value>[^\\s"'&,;]{8,})`, 'dgi'),
  },
];

const EMAIL: Detector = {
  kind: 'EMAIL',
  // `%40` too: an address percent-encoded inside a URL is still an address.
  regex:
    /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b/g,
  normalize: (s) => s.replace(/%40/i, '@').toLowerCase(),
};

const CARD: Detector = {
  kind: 'CARD',
  regex: /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w]|-\d)/g,
  accept: (s) => {
    const d = digitsOf(s);
    // Issuer prefixes start with 2–6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6);
    // with Luhn this keeps 9 in 10 random order numbers out, and all-zero fillers.
    return d.length >= 13 && d.length <= 19 && /^[2-6]/.test(d) && luhnValid(d);
  },
  normalize: digitsOf,
};

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4: Detector = {
  kind: 'IP',
  regex: new RegExp(`(?<![\\w.])${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}(?![\\w]|\\.\\d)`, 'g'),
};

/** Non-empty 16-bit groups written out; an embedded IPv4 tail counts for two. */
const ipv6Groups = (s: string) =>
  s
    .split(':')
    .filter(Boolean)
    .reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);

const IPV6: Detector = {
  kind: 'IP',
  regex: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\w:]|\.\d)/g,
  // At least three groups: `::1`, `fe80::1` identify nobody, and `a::b` is a C++ scope, not an address.
  accept: (s) => isIPv6(s) && ipv6Groups(s) >= 3,
  normalize: (s) => s.toLowerCase(),
};

const PHONE_INTL: Detector = {
  kind: 'PHONE',
  // +CC then groups, optionally a bracketed trunk or area code: +44 (0)20 7946 0958, +1-555-123-4567.
  regex: /(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,6}){1,6}(?![\w]|[.-]\d)/g,
  accept: (s) => {
    const n = digitsOf(s).length;
    return n >= 9 && n <= 15; // E.164 allows at most 15 digits; under 9 is arithmetic, not a number
  },
  normalize: digitsOf,
};

/** 1.234.567.890 or 1 000 000 000: an amount with thousands separators. */
const THOUSANDS = /^\d{1,3}([ .])\d{3}(?:\1\d{3})+$/;
/** 2024-01-15 10 …: a date followed by more numbers. */
const DATE_FIRST = /^(?:19|20)\d\d[-.]\d\d[-.]\d\d/;

const PHONE_NATIONAL: Detector = {
  kind: 'PHONE',
  // (555) 123-4567, 555-123-4567, 555.123.4567, 020 7946 0958, 07700 900123, 01 23 45 67 89,
  // 1-800-555-0199. Separators are required (a bare digit run is as likely an order number), and 10
  // or 11 digits: dates (8), versions, times and 12+ digit ids fall outside.
  regex:
    /(?<![\w+.\-/:])(?:1[ .-])?(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{2,6}(?:[ .-]\d{2,6}){0,3}(?![\w:]|[.\-/]\d)/g,
  accept: (s) => {
    const n = digitsOf(s).length;
    return n >= 10 && n <= 11 && !THOUSANDS.test(s) && !DATE_FIRST.test(s);
  },
  normalize: digitsOf,
};

const BUILT_IN: Detector[] = [...SECRET_DETECTORS, EMAIL, CARD, IPV6, IPV4, PHONE_INTL, PHONE_NATIONAL];

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function userDetectors(patterns: RedactOptions['patterns'] = []): Detector[] {
  const seen = new Set<string>();
  return patterns.map((p, i) => {
    const where = `redaction pattern ${i + 1}${typeof p?.name === 'string' ? ` "${p.name}"` : ''}`;
    if (typeof p?.name !== 'string' || !NAME.test(p.name)) {
      throw new HarnessError(
        'CONFIG_INVALID',
        `${where}: name must be letters, digits and underscores, starting with a letter`,
      );
    }
    const kind = p.name.toUpperCase();
    if (seen.has(kind)) throw new HarnessError('CONFIG_INVALID', `${where}: name used twice`);
    seen.add(kind);
    let regex: RegExp;
    try {
      regex = new RegExp(p.regex, 'dg');
    } catch (err) {
      throw new HarnessError('CONFIG_INVALID', `${where}: invalid regex: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // An empty match would put a placeholder between every two characters.
    if (new RegExp(p.regex).test('')) {
      throw new HarnessError('CONFIG_INVALID', `${where}: the regex matches the empty string`);
    }
    return { kind, regex };
  });
}

/** Every accepted match of every detector, non-overlapping, earlier detectors first. */
function findSpans(text: string, detectors: Detector[]): Span[] {
  const taken: Span[] = [];
  for (const d of detectors) {
    for (const m of text.matchAll(d.regex)) {
      // Regexes with a `value` group carry the `d` flag: the group's own offsets.
      const at = m.indices?.groups?.value;
      const start = at ? at[0] : m.index;
      const value = at ? m.groups!.value! : m[0];
      if (value.length === 0) continue;
      if (d.accept && !d.accept(value)) continue;
      const end = start + value.length;
      if (taken.some((s) => start < s.end && s.start < end)) continue;
      taken.push({ start, end, kind: d.kind, value: d.normalize ? d.normalize(value) : value });
    }
  }
  return taken.sort((a, b) => a.start - b.start);
}

/**
 * Builds a redactor. Throws a CONFIG_INVALID HarnessError naming a bad user pattern.
 *
 * Walked: every string value of the record (request, reference, production, metadata and any extra
 * field), keys excluded. Not walked: `id`, `api`, `timestamp` and `tags`, which identify, slice and
 * split records (put no personal data in tags). Strings that are `data:` URLs (inline images,
 * files) are left whole: base64 can spell a phone number by chance, and a broken image is worse.
 */
export function createRedactor(opts: RedactOptions = {}): Redactor {
  const detectors = [...userDetectors(opts.patterns), ...BUILT_IN];
  return {
    redactRecord(record) {
      const ids = new Map<string, Map<string, number>>();
      const counts: Record<string, number> = {};
      const placeholder = (kind: string, value: string): string => {
        let byValue = ids.get(kind);
        if (!byValue) {
          byValue = new Map();
          ids.set(kind, byValue);
        }
        let n = byValue.get(value);
        if (n === undefined) {
          n = byValue.size + 1;
          byValue.set(value, n);
        }
        counts[kind] = (counts[kind] ?? 0) + 1;
        return `<${kind}_${n}>`;
      };
      const redactString = (text: string): string => {
        if (text.length < 6 || text.startsWith('data:')) return text;
        const spans = findSpans(text, detectors);
        if (spans.length === 0) return text;
        let out = '';
        let at = 0;
        for (const s of spans) {
          out += text.slice(at, s.start) + placeholder(s.kind, s.value);
          at = s.end;
        }
        return out + text.slice(at);
      };
      const walk = (v: unknown): unknown => {
        if (typeof v === 'string') return redactString(v);
        if (Array.isArray(v)) return v.map(walk);
        if (v !== null && typeof v === 'object') {
          const out: Record<string, unknown> = {};
          for (const [k, x] of Object.entries(v)) out[k] = walk(x);
          return out;
        }
        return v;
      };
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(record)) out[k] = UNWALKED.has(k) ? v : walk(v);
      return { record: out as HoldoutRecord, counts };
    },
  };
}

const UNWALKED = new Set(['id', 'api', 'timestamp', 'tags']);
