import { z } from 'zod';
import { maxWeightAssignment } from './assignment.js';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';
import { clip, pass } from './util.js';

export const ToolCallArgs = z.strictObject({
  /**
   * `exact`: the call's arguments equal the expected ones (same keys, equal values); `subset`:
   * every expected argument is present with an equal value, extra arguments allowed.
   */
  arguments: z.enum(['exact', 'subset']).default('exact'),
  /** `any`: calls are paired regardless of order (parallel calls); `strict`: in the expected order. */
  order: z.enum(['any', 'strict']).default('any'),
  /** Calls beyond the expected ones: `ignore`d, or `penalize`d through the denominator. */
  extra_calls: z.enum(['ignore', 'penalize']).default('ignore'),
  /** Absolute tolerance for numbers inside arguments. */
  abs_tol: z.number().nonnegative().default(0),
  /** Relative tolerance for numbers inside arguments, as a fraction of |expected value|. */
  rel_tol: z.number().nonnegative().default(0),
});
export type ToolCallArgs = z.infer<typeof ToolCallArgs>;

type Args = Record<string, unknown>;
type Parsed = { ok: true; args: Args } | { ok: false; error: string };
interface Expected {
  name: string;
  args: Args;
}
interface Produced {
  name: string;
  parsed: Parsed;
}

const isObject = (v: unknown): v is Args => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Arguments as a JSON object; blank text counts as `{}` (some models send "" for no arguments). */
function parseArguments(raw: unknown): Parsed {
  if (raw === undefined) return { ok: true, args: {} };
  if (isObject(raw)) return { ok: true, args: raw };
  if (typeof raw !== 'string') return { ok: false, error: 'not a JSON object' };
  if (raw.trim() === '') return { ok: true, args: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    return { ok: false, error: `not valid JSON (${clip((e as Error).message, 80)})` };
  }
  return isObject(value) ? { ok: true, args: value } : { ok: false, error: 'not a JSON object' };
}

/** JSON equality, object key order ignored, array order kept, numbers within tolerance of `want`. */
function jsonEqual(want: unknown, got: unknown, o: ToolCallArgs): boolean {
  if (typeof want === 'number' && typeof got === 'number') {
    return Math.abs(got - want) <= Math.max(o.abs_tol, o.rel_tol * Math.abs(want));
  }
  if (Array.isArray(want)) {
    return Array.isArray(got) && got.length === want.length && want.every((w, i) => jsonEqual(w, got[i], o));
  }
  if (isObject(want)) {
    if (!isObject(got)) return false;
    const keys = Object.keys(want);
    if (keys.length !== Object.keys(got).length) return false;
    return keys.every((k) => Object.hasOwn(got, k) && jsonEqual(want[k], got[k], o));
  }
  return want === got;
}

/** What keeps `got` from matching `want` under the options, at most three items. */
function argumentDifferences(want: Args, got: Args, o: ToolCallArgs): string[] {
  const out: string[] = [];
  for (const k of Object.keys(want)) {
    if (!Object.hasOwn(got, k)) out.push(`${k} missing`);
    else if (!jsonEqual(want[k], got[k], o)) out.push(`${k}: expected ${show(want[k])}, got ${show(got[k])}`);
  }
  if (o.arguments === 'exact') {
    for (const k of Object.keys(got)) if (!Object.hasOwn(want, k)) out.push(`unexpected ${k}`);
  }
  return out.slice(0, 3);
}

const show = (v: unknown) => clip(JSON.stringify(v) ?? String(v), 40);

function callMatches(want: Expected, got: Produced, o: ToolCallArgs): boolean {
  if (want.name !== got.name || !got.parsed.ok) return false;
  if (o.arguments === 'exact') return jsonEqual(want.args, got.parsed.args, o);
  const g = got.parsed.args;
  return Object.entries(want.args).every(([k, v]) => Object.hasOwn(g, k) && jsonEqual(v, g[k], o));
}

/** Most pairs (expected i, produced j) with i and j both increasing: LCS over the match relation. */
function inOrderPairs(match: boolean[][], n: number, m: number): [number, number][] {
  const best = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      best[i]![j] = match[i]![j] ? best[i + 1]![j + 1]! + 1 : Math.max(best[i + 1]![j]!, best[i]![j + 1]!);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (match[i]![j] && best[i]![j] === best[i + 1]![j + 1]! + 1) pairs.push([i++, j++]);
    else if (best[i + 1]![j]! >= best[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

/**
 * `tool_call`: the output's tool calls against `reference.tool_calls` (`[{name, arguments}]`).
 * Value = matched expected calls / denominator, the denominator being the number of expected
 * calls, or with `extra_calls: penalize` max(expected, produced); 1 when it is 0 (nothing
 * expected and, when penalizing, nothing produced). An expected and a produced call match when
 * their names are equal and their arguments (JSON objects) are equal under `arguments`: deep JSON
 * equality, key order ignored, list order kept, numbers within max(abs_tol, rel_tol·|expected|);
 * with `subset` only the top-level argument set may be larger, nested objects compare whole.
 * `order: any` pairs calls to match as many as possible whatever their order (optimal
 * assignment); `strict` counts the most matches that keep the expected order (a longest common
 * subsequence). A produced call whose arguments are not a JSON object (unparseable text) matches
 * nothing. No `reference.tool_calls`: unscored; `[]` expects no calls. The detail names each
 * missing or mismatched expected call, calls with unparseable arguments, and extra calls when
 * they are penalized.
 */
export const tool_call: ScorerFactory<ToolCallArgs> = {
  kind: 'tool_call',
  description:
    'Tool calls match reference.tool_calls by name and arguments (exact or subset), in any or strict order.',
  args: ToolCallArgs,
  create(name, o): Scorer {
    return {
      name,
      score({ record, output }: ScoreInput): Score {
        const ref = record.reference?.tool_calls;
        if (ref === undefined) return UNSCORED('no reference.tool_calls');
        const expected: Expected[] = [];
        for (const [i, c] of ref.entries()) {
          const parsed = parseArguments(c.arguments);
          if (!parsed.ok) return UNSCORED(`reference.tool_calls[${i}].arguments: ${parsed.error}`);
          expected.push({ name: c.name, args: parsed.args });
        }
        const produced: Produced[] = output.toolCalls.map((c) => ({
          name: c.name,
          parsed: parseArguments(c.arguments),
        }));
        const n = expected.length;
        const m = produced.length;
        const match = expected.map((e) => produced.map((p) => callMatches(e, p, o)));
        const pairs =
          o.order === 'strict'
            ? inOrderPairs(match, n, m)
            : maxWeightAssignment(match.map((row) => row.map(Number))).pairs.filter(([i, j]) => match[i]![j]);
        const denominator = o.extra_calls === 'penalize' ? Math.max(n, m) : n;
        const value = denominator === 0 ? 1 : pairs.length / denominator;

        const usedExpected = new Set(pairs.map(([i]) => i));
        const usedProduced = new Set(pairs.map(([, j]) => j));
        const free = (j: number) => !usedProduced.has(j);
        const notes: string[] = [];
        for (let i = 0; i < n; i++) {
          if (usedExpected.has(i)) continue;
          const e = expected[i]!;
          const label = `${e.name} (expected call ${i + 1})`;
          // Only under `strict` can an equal call be left over: it came in the wrong place.
          const displaced = match[i]!.findIndex((ok, j) => ok && free(j));
          // Otherwise explain against a left-over call of the same name, preferring a parseable one.
          const sameName = [...produced.keys()].filter((j) => free(j) && produced[j]!.name === e.name);
          const j =
            displaced >= 0 ? displaced : (sameName.find((k) => produced[k]!.parsed.ok) ?? sameName[0]);
          if (j === undefined) {
            notes.push(`${label}: missing`);
            continue;
          }
          usedProduced.add(j);
          const p = produced[j]!.parsed;
          if (displaced >= 0) notes.push(`${label}: out of order`);
          else if (!p.ok) notes.push(`${label}: arguments ${p.error}`);
          else notes.push(`${label}: ${argumentDifferences(e.args, p.args, o).join(', ')}`);
        }
        for (let j = 0; j < m; j++) {
          if (usedProduced.has(j)) continue;
          const p = produced[j]!;
          if (!p.parsed.ok) notes.push(`call ${p.name}: arguments ${p.parsed.error}`);
          else if (o.extra_calls === 'penalize')
            notes.push(`unexpected call ${p.name}(${show(p.parsed.args)})`);
        }
        const summary = `${pairs.length}/${denominator} calls matched`;
        const detail = clip(notes.length ? `${summary}: ${notes.join('; ')}` : summary, 400);
        if (value === 1) return notes.length ? pass(detail) : pass();
        return { value, passed: false, detail };
      },
    };
  },
};
