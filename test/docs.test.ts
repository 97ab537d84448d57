import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RunConfig } from '../harness/config.js';

// The config reference is written by hand; these tests make it fail loudly when the schema grows a
// field the reference does not name, so the docs cannot silently fall behind the code.

const DOCS = join(import.meta.dirname, '..', 'docs');
const read = (f: string) => readFileSync(join(DOCS, f), 'utf8');

type Json = {
  type?: string;
  properties?: Record<string, Json>;
  items?: Json;
  anyOf?: Json[];
  oneOf?: Json[];
  allOf?: Json[];
  const?: unknown;
  enum?: unknown[];
};

const schema = z.toJSONSchema(RunConfig, { io: 'input', unrepresentable: 'any' }) as Json;

/** Every field path of a JSON Schema (`candidates[].price.input`), unions flattened. */
function fieldPaths(s: Json | undefined, prefix: string, out: Set<string>): Set<string> {
  if (!s) return out;
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])])
    fieldPaths(alt, prefix, out);
  if (s.items) fieldPaths(s.items, `${prefix}[]`, out);
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.add(p);
    fieldPaths(v, p, out);
  }
  return out;
}

/** The object variants of the scorer union, each with its `kind`. */
function scorerVariants(): { kind: string; options: string[] }[] {
  const items = schema.properties?.scorers?.items;
  const variants: { kind: string; options: string[] }[] = [];
  const visit = (s: Json | undefined) => {
    if (!s) return;
    for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) visit(alt);
    const kind = s.properties?.kind;
    const k = kind?.const ?? kind?.enum?.[0];
    if (typeof k === 'string') variants.push({ kind: k, options: Object.keys(s.properties ?? {}) });
  };
  visit(items);
  return variants;
}

describe('docs/config.md', () => {
  const doc = read('config.md');
  const paths = [...fieldPaths(schema, '', new Set())].filter((p) => !p.startsWith('scorers[].'));

  it('finds the schema (a sanity check on the walk itself)', () => {
    expect(paths).toContain('candidates[].model');
    expect(paths).toContain('import.redact_patterns[].regex');
    expect(paths.length).toBeGreaterThan(50);
  });

  it('names every field of the run config', () => {
    // Judges are documented once, as candidates: they are the same shape.
    const missing = paths
      .map((p) => p.replace(/^judges\[\]/, 'candidates[]'))
      .filter((p) => !doc.includes(`\`${p}\``));
    expect([...new Set(missing)]).toEqual([]);
  });
});

describe('docs/scorers.md', () => {
  const doc = read('scorers.md');
  const COMMON = new Set(['kind', 'name', 'match', 'threshold']);

  it('has a table row for every scorer kind, naming each of its options', () => {
    const variants = scorerVariants();
    expect(variants.length).toBeGreaterThanOrEqual(15);
    const problems: string[] = [];
    for (const { kind, options } of variants) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${kind}\` |`));
      if (!row) {
        problems.push(`${kind}: no row`);
        continue;
      }
      // `normalized`'s switches are shared by `exact`, whose row says so.
      const own =
        kind === 'exact' ? (doc.split('\n').find((l) => l.startsWith('| `normalized` |')) ?? row) : row;
      for (const o of options) if (!COMMON.has(o) && !own.includes(`\`${o}\``)) problems.push(`${kind}.${o}`);
    }
    for (const c of COMMON) if (!doc.includes(`\`${c}\``)) problems.push(`common field ${c}`);
    expect(problems).toEqual([]);
  });
});
