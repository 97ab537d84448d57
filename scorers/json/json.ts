import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { z } from 'zod';
import { compileSchema } from './schema.js';
import type { Score, ScoreInput, Scorer, ScorerContext, ScorerFactory } from '../types.js';
import { UNSCORED } from '../types.js';
import { clip, fail, pass, quote } from '../util.js';

export const JsonArgs = z
  .strictObject({
    /**
     * Inline JSON Schema the output must satisfy, by the rules of the draft its `$schema` declares
     * (draft-04, -06, -07, 2019-09, 2020-12; none: draft-07), `format` included. See json-schema.ts.
     */
    schema: z.record(z.string(), z.unknown()).optional(),
    /** Path of a JSON Schema file, relative to the config file's directory. */
    schema_file: z.string().min(1).optional(),
    /** Use `record.reference.schema` when this scorer has no schema of its own. */
    use_reference_schema: z.boolean().default(true),
    /** Also require the output to deep-equal `record.reference.json` (key order ignored). */
    equals_reference: z.boolean().default(false),
  })
  .refine((o) => o.schema === undefined || o.schema_file === undefined, {
    path: ['schema_file'],
    message: 'give `schema` or `schema_file`, not both',
  });
export type JsonArgs = z.infer<typeof JsonArgs>;

function ownSchema(name: string, args: JsonArgs, ctx: ScorerContext | undefined) {
  let schema = args.schema;
  let origin = 'schema';
  if (args.schema_file !== undefined) {
    const path = resolve(ctx?.baseDir ?? '.', args.schema_file);
    origin = `schema_file "${args.schema_file}" (${path})`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      const why = e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message;
      throw new Error(`scorer "${name}": ${origin}: ${why}`, { cause: e });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`scorer "${name}": ${origin}: a JSON Schema must be an object`);
    }
    schema = parsed as Record<string, unknown>;
  }
  if (schema === undefined) return undefined;
  const c = compileSchema(schema);
  if (c.error !== undefined) {
    const why = c.unsupported ? c.error : `is not a valid JSON Schema: ${c.error}`;
    throw new Error(`scorer "${name}": ${origin} ${why}`);
  }
  return c.validate;
}

// One block, optionally tagged json; prose around it is tolerated (models like to introduce it).
const FENCE = /```[ \t]*([\w-]*)[^\n]*\n([\s\S]*?)```/g;

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** The output as JSON: the whole text, or else the content of its single fenced code block. */
export function parseOutput(text: string): Parsed {
  const whole = parseJson(text);
  if (whole.ok || !text.includes('```')) return whole;
  const fences = [...text.matchAll(FENCE)];
  if (fences.length !== 1) return { ok: false, error: `${fences.length} fenced code blocks, expected one` };
  const [, lang = '', body = ''] = fences[0]!;
  if (lang !== '' && lang.toLowerCase() !== 'json') {
    return { ok: false, error: `fenced block is \`\`\`${lang}, not json` };
  }
  return parseJson(body);
}

const MAX_ERRORS = 3;

function schemaDetail(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'schema validation failed';
  const shown = errors.slice(0, MAX_ERRORS).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
  const more = errors.length > MAX_ERRORS ? ` (+${errors.length - MAX_ERRORS} more)` : '';
  return `schema: ${shown.join('; ')}${more}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON equality: object key order ignored, array order kept, numbers by value (`===`). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) if (!Object.hasOwn(rb, k) || !jsonEqual(ra[k], rb[k])) return false;
  return true;
}

function differenceDetail(got: unknown, want: unknown): string {
  if (isObject(got) && isObject(want)) {
    const missing = Object.keys(want).filter((k) => !Object.hasOwn(got, k));
    const extra = Object.keys(got).filter((k) => !Object.hasOwn(want, k));
    const changed = Object.keys(want).filter((k) => Object.hasOwn(got, k) && !jsonEqual(got[k], want[k]));
    const parts = [
      ['missing', missing],
      ['extra', extra],
      ['different', changed],
    ] as const;
    const listed = parts.filter(([, ks]) => ks.length).map(([what, ks]) => `${what} ${ks.join(', ')}`);
    return clip(`differs from reference.json at keys: ${listed.join('; ')}`, 200);
  }
  if (Array.isArray(got) && Array.isArray(want) && got.length !== want.length) {
    return `differs from reference.json: array length ${got.length}, expected ${want.length}`;
  }
  if (Array.isArray(got) && Array.isArray(want)) {
    const i = got.findIndex((v, j) => !jsonEqual(v, want[j]));
    return `differs from reference.json at index ${i}`;
  }
  return `differs from reference.json: got ${quote(JSON.stringify(got))} expected ${quote(JSON.stringify(want))}`;
}

function jsonScorer(name: string, args: JsonArgs, ctx?: ScorerContext): Scorer {
  const own = ownSchema(name, args, ctx);
  return {
    name,
    score({ record, output }: ScoreInput): Score {
      const ref = record.reference;
      if (args.equals_reference && ref?.json === undefined) return UNSCORED('no reference.json');
      const parsed = parseOutput(output.text.trim());
      if (!parsed.ok) return fail(`invalid JSON: ${clip(parsed.error, 160)}`);
      let validate = own;
      if (validate === undefined && args.use_reference_schema && ref?.schema !== undefined) {
        const c = compileSchema(ref.schema);
        if (c.error !== undefined) return UNSCORED(`invalid reference.schema: ${c.error}`);
        validate = c.validate;
      }
      if (validate && !validate(parsed.value)) return fail(schemaDetail(validate.errors));
      if (args.equals_reference && !jsonEqual(parsed.value, ref?.json)) {
        return fail(differenceDetail(parsed.value, ref?.json));
      }
      return pass();
    },
  };
}

export const json: ScorerFactory<JsonArgs> = {
  kind: 'json',
  description:
    'Output is valid JSON (bare or in one fenced block), valid against a schema, optionally equal to reference.json.',
  args: JsonArgs,
  create: jsonScorer,
};
