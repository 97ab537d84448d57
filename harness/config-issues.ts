/**
 * Validation errors of a YAML file (run config, routing policy) as one readable message: zod's
 * pretty print, with a "did you mean `concurrency`?" after each unrecognized key that is a small
 * edit away from a key the schema knows at that place (`concurency`, `candidate`, `modle`).
 */
import { type ZodError, type ZodType, z } from 'zod';

interface Def {
  type: string;
  [k: string]: unknown;
}

const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Wrappers whose inner schema describes the same place. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/**
 * The object schemas that may describe the value at `path` (the raw input picks the member of a
 * discriminated union: the scorer entry of `kind: label` is checked against label's keys).
 */
function objectsAt(schema: unknown, path: readonly PropertyKey[], value: unknown, depth = 0): Def[] {
  if (depth > 64) return [];
  const def = defOf(schema);
  const next = (s: unknown, p: readonly PropertyKey[], v: unknown) => objectsAt(s, p, v, depth + 1);
  if (WRAPPERS.has(def.type)) return next(def.innerType, path, value);
  if (def.type === 'pipe') return next(def.in, path, value);
  if (def.type === 'lazy') return next((def.getter as () => unknown)(), path, value);
  if (def.type === 'intersection') return [...next(def.left, path, value), ...next(def.right, path, value)];
  if (def.type === 'union') {
    let options = def.options as unknown[];
    const key = def.discriminator as string | undefined;
    if (key !== undefined && isObject(value)) {
      const picked = options.filter((o) => {
        const d = defOf(o);
        const field = d.type === 'object' ? (d.shape as Record<string, ZodType>)[key] : undefined;
        return field?.safeParse(value[key]).success === true;
      });
      if (picked.length > 0) options = picked;
    }
    return options.flatMap((o) => next(o, path, value));
  }
  if (path.length === 0) return def.type === 'object' ? [def] : [];
  const [head, ...rest] = path;
  const child =
    isObject(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[head!] : undefined;
  switch (def.type) {
    case 'object': {
      const field = (def.shape as Record<string, unknown>)[String(head)];
      return field ? next(field, rest, child) : [];
    }
    case 'array':
      return next(def.element, rest, child);
    case 'tuple':
      return typeof head === 'number' && (def.items as unknown[])[head]
        ? next((def.items as unknown[])[head], rest, child)
        : [];
    case 'record':
      return next(def.valueType, rest, child);
    default:
      return [];
  }
}

/** The keys the schema knows for the object at `path` of `raw`. */
export function knownKeysAt(schema: ZodType, path: readonly PropertyKey[], raw: unknown): string[] {
  const keys = new Set<string>();
  for (const d of objectsAt(schema, path, raw)) for (const k of Object.keys(d.shape as object)) keys.add(k);
  return [...keys];
}

/** Optimal string alignment distance: Levenshtein plus swapping two neighbours (`modle` → `model`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key `key` was most likely meant to be: one or two edits away (by its length), the closest. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  const limit = k.length >= 8 ? 2 : 1;
  let best: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = editDistance(k, candidate.toLowerCase());
    if (d <= limit && (best === undefined || d < best.d)) best = { key: candidate, d };
  }
  return best?.key;
}

/** Adds the suggestions to the unrecognized-key issues of `error` (in place) and pretty-prints it. */
export function prettifyIssues(schema: ZodType, error: ZodError, raw: unknown): string {
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    // Keys present as well count: `candidate` next to `candidates` is still most likely a typo of it.
    const known = knownKeysAt(schema, issue.path, raw);
    const parts = issue.keys.map((key) => {
      const meant = suggestKey(key, known);
      return meant === undefined ? `"${key}"` : `"${key}" (did you mean \`${meant}\`?)`;
    });
    (issue as { message: string }).message =
      `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
  }
  return z.prettifyError(error);
}
