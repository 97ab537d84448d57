import { z } from 'zod';
import { maxWeightAssignment } from '../assignment.js';
import { parseOutput } from './json.js';
import { levenshteinSimilarity } from '../similarity.js';
import type { Score, ScoreInput, Scorer, ScorerFactory } from '../types.js';
import { UNSCORED } from '../types.js';
import { clip, fail, pass } from '../util.js';

export const JsonDiffArgs = z
  .strictObject({
    /** Absolute tolerance for numbers. */
    abs_tol: z.number().nonnegative().default(0),
    /** Relative tolerance for numbers, as a fraction of |reference value|. */
    rel_tol: z.number().nonnegative().default(0),
    /**
     * How string fields compare: `exact`; `normalized` (lowercase, whitespace runs collapsed to one
     * space, trimmed, then equal); `fuzzy` (the normalized strings' Levenshtein similarity is the
     * field's score, partial credit).
     */
    strings: z.enum(['exact', 'normalized', 'fuzzy']).default('exact'),
    /** With `strings: fuzzy`: a similarity below this scores 0 instead (default 0: always partial credit). */
    fuzzy_threshold: z.number().min(0).max(1).optional(),
    /** Output keys the reference does not have: `ignore`d, or each one `penalize`d as a failed field. */
    extra_keys: z.enum(['ignore', 'penalize']).default('ignore'),
  })
  .refine((o) => o.fuzzy_threshold === undefined || o.strings === 'fuzzy', {
    path: ['fuzzy_threshold'],
    message: '`fuzzy_threshold` needs `strings: fuzzy`',
  });
export type JsonDiffArgs = z.infer<typeof JsonDiffArgs>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Failure {
  path: string;
  message: string;
}

/** Points earned over fields counted, with the failing fields, for one subtree. */
interface Tally {
  earned: number;
  fields: number;
  failures: Failure[];
}

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A reference value's field count: 1 per scalar, and 1 for an empty object or list. */
export function leafCount(v: unknown): number {
  if (Array.isArray(v)) return v.length === 0 ? 1 : v.reduce((n: number, x) => n + leafCount(x), 0);
  if (isObject(v)) {
    const values = Object.values(v);
    return values.length === 0 ? 1 : values.reduce((n: number, x) => n + leafCount(x), 0);
  }
  return 1;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function keyPath(parent: string, key: string): string {
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

const show = (v: unknown) => clip(JSON.stringify(v), 40);
const normalizeText = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();
const round = (x: number) => Math.round(x * 100) / 100;

function missed(ref: unknown, path: string, message: string): Tally {
  return { earned: 0, fields: leafCount(ref), failures: [{ path, message }] };
}

function add(into: Tally, t: Tally): void {
  into.earned += t.earned;
  into.fields += t.fields;
  into.failures.push(...t.failures);
}

function diffScalar(ref: Json, out: Json, path: string, args: JsonDiffArgs): Tally {
  const wrong = (extra = ''): Tally => missed(ref, path, `expected ${show(ref)}, got ${show(out)}${extra}`);
  if (typeof ref === 'number' && typeof out === 'number') {
    const tol = Math.max(args.abs_tol, args.rel_tol * Math.abs(ref));
    return Math.abs(out - ref) <= tol ? { earned: 1, fields: 1, failures: [] } : wrong();
  }
  if (typeof ref === 'string' && typeof out === 'string') {
    if (args.strings === 'exact') return ref === out ? { earned: 1, fields: 1, failures: [] } : wrong();
    const a = normalizeText(ref);
    const b = normalizeText(out);
    if (a === b) return { earned: 1, fields: 1, failures: [] };
    if (args.strings === 'normalized') return wrong();
    const sim = levenshteinSimilarity(a, b);
    const earned = sim >= (args.fuzzy_threshold ?? 0) ? sim : 0;
    return { ...wrong(` (similarity ${round(sim)})`), earned };
  }
  // null, booleans, and every type mismatch (10 vs "10" included).
  return ref === out ? { earned: 1, fields: 1, failures: [] } : wrong();
}

function diffObject(ref: Record<string, Json>, out: Json, path: string, args: JsonDiffArgs): Tally {
  if (!isObject(out)) return missed(ref, path || '(root)', `expected an object, got ${show(out)}`);
  const keys = Object.keys(ref);
  const t: Tally = { earned: keys.length === 0 ? 1 : 0, fields: keys.length === 0 ? 1 : 0, failures: [] };
  for (const k of keys) {
    const p = keyPath(path, k);
    if (Object.hasOwn(out, k)) add(t, diff(ref[k]!, out[k]!, p, args));
    else add(t, missed(ref[k], p, `missing, expected ${show(ref[k])}`));
  }
  if (args.extra_keys === 'penalize') {
    for (const k of Object.keys(out)) {
      if (Object.hasOwn(ref, k)) continue;
      add(t, { earned: 0, fields: 1, failures: [{ path: keyPath(path, k), message: 'unexpected key' }] });
    }
  }
  return t;
}

function diffList(ref: Json[], out: Json, path: string, args: JsonDiffArgs): Tally {
  if (!Array.isArray(out)) return missed(ref, path || '(root)', `expected a list, got ${show(out)}`);
  const at = (i: number) => `${path}[${i}]`;
  const t: Tally = { earned: ref.length === 0 ? 1 : 0, fields: ref.length === 0 ? 1 : 0, failures: [] };
  // Every reference element against every output element; the pairing that earns the most
  // points in total wins, so element order in the output does not matter.
  const pairTallies = ref.map((r, i) => out.map((o) => diff(r, o, at(i), args)));
  const { pairs } = maxWeightAssignment(pairTallies.map((row) => row.map((x) => x.earned)));
  const partner = new Map(pairs);
  const outMatched = new Set(partner.values());
  for (let i = 0; i < ref.length; i++) {
    const j = partner.get(i);
    if (j === undefined) add(t, missed(ref[i], at(i), `missing, expected ${show(ref[i])}`));
    else add(t, pairTallies[i]![j]!);
  }
  for (let j = 0; j < out.length; j++) {
    if (outMatched.has(j)) continue;
    add(t, missed(out[j], path || '(root)', `unexpected element ${show(out[j])}`));
  }
  return t;
}

function diff(ref: Json, out: Json, path: string, args: JsonDiffArgs): Tally {
  if (Array.isArray(ref)) return diffList(ref, out, path, args);
  if (isObject(ref)) return diffObject(ref, out, path, args);
  return diffScalar(ref, out, path || '(root)', args);
}

/** The tally of `output` against `reference`: exported for tests and for reports that want fields. */
export function jsonDiff(reference: unknown, output: unknown, args: JsonDiffArgs): Tally {
  return diff(reference as Json, output as Json, '', args);
}

const MAX_FAILURES = 5;

function detail(t: Tally): string {
  const shown = t.failures.slice(0, MAX_FAILURES).map((f) => `${f.path}: ${f.message}`);
  const more = t.failures.length > MAX_FAILURES ? `; (+${t.failures.length - MAX_FAILURES} more)` : '';
  return clip(`${round(t.earned)}/${t.fields} fields: ${shown.join('; ')}`, 400 - more.length) + more;
}

/**
 * `json_diff`: field-level comparison of the output's JSON (bare, or the one fenced code block, as
 * the `json` scorer reads it) with `reference.json`. Value = points earned / fields counted.
 *
 * Fields: every leaf of the reference is one field: a string, number, boolean or null at any
 * depth, and an empty object or empty list (which earns its point when the output has an object /
 * a list there). Objects are compared key by key (key order ignored); a missing key fails every
 * field beneath it. Lists are compared element by element after pairing each reference element
 * with at most one output element so that the total points earned is the largest possible
 * (optimal assignment: order in the output does not matter); a reference element left without a
 * partner fails all its fields, and each output element left over adds its own field count as
 * failed fields (so extra list elements always cost). With `extra_keys: penalize`, every output key
 * the reference object lacks adds one failed field (its contents are not counted). A type mismatch
 * (10 vs "10", object vs list) fails every field of the reference subtree.
 *
 * A field earns 1 or 0: numbers when |out − ref| ≤ max(abs_tol, rel_tol·|ref|); strings per
 * `strings` (with `fuzzy`, the Levenshtein similarity of the normalized strings, or 0 below
 * `fuzzy_threshold`); booleans and null when identical. Output not JSON: 0; no `reference.json`:
 * unscored. The detail lists the failing fields by path (`items[1].price: expected 10, got 12`),
 * paths using the reference's list indices.
 */
export const json_diff: ScorerFactory<JsonDiffArgs> = {
  kind: 'json_diff',
  description:
    'Field-level diff with reference.json: mean over reference leaves; lists by best assignment; number tolerance.',
  args: JsonDiffArgs,
  create(name, args): Scorer {
    return {
      name,
      score({ record, output }: ScoreInput): Score {
        const ref = record.reference?.json;
        if (ref === undefined) return UNSCORED('no reference.json');
        const parsed = parseOutput(output.text.trim());
        if (!parsed.ok) return fail(`invalid JSON: ${clip(parsed.error, 160)}`);
        const t = jsonDiff(ref, parsed.value, args);
        if (t.failures.length === 0 && t.earned === t.fields) return pass();
        const value = t.earned / t.fields;
        return { value, passed: value >= 1, detail: detail(t) };
      },
    };
  },
};
