import { createRequire } from 'node:module';
import type * as ajvModule from 'ajv';
import type { AnySchemaObject, Options, ValidateFunction } from 'ajv';
import type * as ajv2019Module from 'ajv/dist/2019.js';
import type * as ajv2020Module from 'ajv/dist/2020.js';
// CommonJS packages whose types declare a default export: required, that is `.default`.
import type ajvDraft04Module from 'ajv-draft-04';
import type ajvFormatsModule from 'ajv-formats';
import type traverseModule from 'json-schema-traverse';

// JSON Schema validation for the `json` scorer, by the rules of the draft a schema declares in
// `$schema`, so that a verdict agrees with what other validators say about the same schema.

/** The drafts a schema may declare; a schema without `$schema` is read as draft-07 (ajv's default). */
export const DRAFTS = ['draft-04', 'draft-06', 'draft-07', '2019-09', '2020-12'] as const;
export type Draft = (typeof DRAFTS)[number];

/** Each draft's meta-schema URI, spelled as ajv registers it. */
const META: Record<Draft, string> = {
  'draft-04': 'http://json-schema.org/draft-04/schema#',
  'draft-06': 'http://json-schema.org/draft-06/schema#',
  'draft-07': 'http://json-schema.org/draft-07/schema#',
  '2019-09': 'https://json-schema.org/draft/2019-09/schema',
  '2020-12': 'https://json-schema.org/draft/2020-12/schema',
};

// http or https, with or without the empty fragment: schemas in the wild spell them every way.
const uriKey = (uri: string) =>
  uri
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/#$/, '');
const BY_URI = new Map(DRAFTS.map((d) => [uriKey(META[d]), d]));

type Dialect = { draft: Draft } | { error: string };

/** The draft a schema declares, or why it declares none holdout can validate. */
export function draftOf(schema: Record<string, unknown>): Dialect {
  const declared = schema.$schema;
  if (declared === undefined) return { draft: 'draft-07' };
  const draft = typeof declared === 'string' ? BY_URI.get(uriKey(declared)) : undefined;
  if (draft !== undefined) return { draft };
  return {
    error: `declares $schema ${JSON.stringify(declared)}, a JSON Schema draft holdout cannot validate (it knows ${DRAFTS.join(', ')})`,
  };
}

// `strict: false`: schemas come from users and datasets, and unknown keywords are ignored by every
// draft. `strictNumbers`, which `strict: false` would turn off: JSON.parse reads 1E400 as Infinity, which
// is then neither an integer nor a number. `logger: false`: an unknown `format` is let through (the
// drafts allow it), and ajv would say so on the console in the middle of a run's progress output.
// `addUsedSchema: false` so two schemas sharing an `$id` don't collide.
const AJV_OPTIONS: Options = {
  allErrors: true,
  strict: false,
  strictNumbers: true,
  logger: false,
  addUsedSchema: false,
};

/**
 * Keywords ajv applies that a draft does not have yet: ajv-draft-04 reuses ajv's draft-07 applicators
 * and `const`, and the draft-06 meta-schema is served by ajv's draft-07 class.
 */
const LATER_KEYWORDS: Partial<Record<Draft, string[]>> = {
  'draft-04': ['const', 'contains', 'propertyNames', 'if', 'then', 'else'],
  'draft-06': ['if', 'then', 'else'],
};

const require = createRequire(import.meta.url);

/**
 * ajv and its plugins, required on the first schema compiled rather than imported at start-up (they
 * are CommonJS, so synchronously): commands that never validate a schema, `holdout report` among
 * them, do not pay for loading them.
 */
interface AjvPackages {
  Ajv: typeof ajvModule.Ajv;
  Ajv2019: typeof ajv2019Module.Ajv2019;
  Ajv2020: typeof ajv2020Module.Ajv2020;
  ajvDraft04: typeof ajvDraft04Module;
  ajvFormats: typeof ajvFormatsModule;
  traverse: typeof traverseModule;
}
let loadedPackages: AjvPackages | undefined;

function ajvPackages(): AjvPackages {
  loadedPackages ??= {
    Ajv: (require('ajv') as typeof ajvModule).Ajv,
    Ajv2019: (require('ajv/dist/2019.js') as typeof ajv2019Module).Ajv2019,
    Ajv2020: (require('ajv/dist/2020.js') as typeof ajv2020Module).Ajv2020,
    ajvDraft04: require('ajv-draft-04') as typeof ajvDraft04Module,
    ajvFormats: require('ajv-formats') as typeof ajvFormatsModule,
    traverse: require('json-schema-traverse') as typeof traverseModule,
  };
  return loadedPackages;
}

function newAjv(draft: Draft) {
  const { Ajv, Ajv2019, Ajv2020, ajvDraft04 } = ajvPackages();
  switch (draft) {
    case 'draft-04':
      return new ajvDraft04.default(AJV_OPTIONS);
    case 'draft-06': {
      const ajv = new Ajv(AJV_OPTIONS);
      ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as AnySchemaObject);
      return ajv;
    }
    case 'draft-07':
      return new Ajv(AJV_OPTIONS);
    case '2019-09':
      return new Ajv2019(AJV_OPTIONS);
    case '2020-12':
      return new Ajv2020(AJV_OPTIONS);
  }
}

type SchemaCompiler = { compile(schema: AnySchemaObject): ValidateFunction };
const instances = new Map<Draft, SchemaCompiler>();

function ajvFor(draft: Draft): SchemaCompiler {
  let ajv = instances.get(draft);
  if (ajv) return ajv;
  const created = newAjv(draft);
  for (const keyword of LATER_KEYWORDS[draft] ?? []) created.removeKeyword(keyword);
  // `format` is checked (email, date, date-time, uri, ipv4, uuid, …). `keywords: false`: ajv-formats'
  // formatMinimum and friends are ajv's own keywords, not JSON Schema's.
  ajvPackages().ajvFormats.default(created, { mode: 'full', keywords: false });
  ajv = created;
  instances.set(draft, ajv);
  return ajv;
}

/**
 * Keywords kept beside `$ref` under draft-07 and earlier: not validation keywords, but what refs
 * resolve through (ids, `definitions`) and the dialect itself.
 */
const KEPT_BESIDE_REF = new Set(['$ref', '$schema', '$id', 'id', 'definitions', '$defs', '$comment']);

/**
 * Up to draft-07, "all other properties in a `$ref` object MUST be ignored"; from 2019-09 they apply.
 * ajv applies them in every draft (its `ignoreKeywordsWithRef` still checks `type`), so older schemas
 * are compiled from a copy whose `$ref` objects have lost their validation keywords. Only schema
 * positions are visited (json-schema-traverse knows them): a property named `$ref` is left alone.
 */
function withoutRefSiblings(schema: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(schema);
  ajvPackages().traverse(copy, (sub: traverseModule.SchemaObject) => {
    if (typeof sub.$ref !== 'string') return;
    for (const key of Object.keys(sub)) if (!KEPT_BESIDE_REF.has(key)) delete sub[key];
  });
  return copy;
}

const REF_SIBLINGS_IGNORED = new Set<Draft>(['draft-04', 'draft-06', 'draft-07']);

export type Compiled =
  | { validate: ValidateFunction; error?: undefined }
  /** `unsupported`: the schema declares a draft holdout does not know (the error says which). */
  | { error: string; unsupported?: boolean };

function compileUncached(schema: Record<string, unknown>, text: string): Compiled {
  const dialect = draftOf(schema);
  if ('error' in dialect) return { error: dialect.error, unsupported: true };
  const { draft } = dialect;
  let prepared = schema;
  if (REF_SIBLINGS_IGNORED.has(draft) && text.includes('"$ref"')) prepared = withoutRefSiblings(schema);
  // ajv finds the meta-schema by `$schema`, spelled its way only.
  if (prepared.$schema !== undefined && prepared.$schema !== META[draft]) {
    prepared = { ...prepared, $schema: META[draft] };
  }
  try {
    return { validate: ajvFor(draft).compile(prepared) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

// Records usually share a handful of schemas, each arriving as a separate object per record: the
// WeakMap skips re-serializing an object already seen, the Map skips recompiling equal content.
// Neither is bounded: distinct schemas in a dataset are few.
const byObject = new WeakMap<object, Compiled>();
const byText = new Map<string, Compiled>();

/** The schema's validator, compiled once per distinct schema, or why it cannot be compiled. */
export function compileSchema(schema: Record<string, unknown>): Compiled {
  let c = byObject.get(schema);
  if (c) return c;
  const text = JSON.stringify(schema);
  c = byText.get(text);
  if (!c) {
    c = compileUncached(schema, text);
    byText.set(text, c);
  }
  byObject.set(schema, c);
  return c;
}
