import { statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Jiti } from 'jiti';
import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerContext, ScorerFactory } from './types.js';

export const ModuleArgs = z.strictObject({
  /** The JS or TS file, relative to the config file's directory. */
  path: z.string().trim().min(1),
  /** Which export to use: `default`, or a named export. */
  export: z.string().trim().min(1).default('default'),
  /** Handed to a factory export as its first argument; refused for a scorer-object export. */
  options: z.record(z.string(), z.unknown()).optional(),
  /** How long one score() may take before it is recorded as a scorer error (default 30 s). */
  timeout_ms: z.number().int().positive().optional(),
});
export type ModuleArgs = z.infer<typeof ModuleArgs>;

/** What a factory export receives as its second argument. */
export interface ModuleScorerContext {
  /** The scorer's name in this run (what its scores are stored under). */
  name: string;
  /** The config file's directory, for files the scorer wants to read. */
  baseDir: string;
}

/** The shape a module scorer must have: `score` may be sync or async. */
export interface ScorerLike {
  score(input: ScoreInput): Score | number | null | Promise<Score | number | null>;
}

/** Like `ScorerFactory`, but building needs to load a module first. */
export interface AsyncScorerFactory<A> extends Omit<ScorerFactory<A>, 'create'> {
  create(name: string, args: A, ctx?: ScorerContext): Promise<Scorer>;
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
export const MODULE_SCORE_TIMEOUT_MS = 30_000;

/**
 * The scorer's answer, or a rejection once `ms` have passed. The timer is deliberately not unref'd:
 * a score() whose promise never settles would otherwise let the event loop drain and the process
 * exit (code 13) before the finished call is stored.
 */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`score() did not settle within ${ms} ms (timeout_ms)`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
let jiti: Jiti | undefined;

async function importFile(abs: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.has(extname(abs).toLowerCase())) {
    // interopDefault off: the namespace as written, so `export: default` means the default export.
    // jiti loaded here, not at start-up: only a .ts scorer needs it.
    jiti ??= (await import('jiti')).createJiti(import.meta.url, { interopDefault: false });
    return jiti.import<Record<string, unknown>>(abs);
  }
  return import(pathToFileURL(abs).href) as Promise<Record<string, unknown>>;
}

const isScorerLike = (v: unknown): v is ScorerLike =>
  typeof v === 'object' && v !== null && typeof (v as { score?: unknown }).score === 'function';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return `an object without a score() method`;
  return `a ${typeof v}`;
}

/**
 * What a module scorer returned, as a Score: a bare number or null is taken as the value. The
 * binding (bindScorer) then checks the value, applies the threshold and records throws.
 */
function toScore(r: unknown): Score {
  if (typeof r === 'number' || r === null) return { value: r, passed: null };
  if (typeof r !== 'object') {
    throw new Error(`score() returned ${r === undefined ? 'undefined' : describe(r)}, not a Score`);
  }
  const { value, passed, detail } = r as Partial<Score>;
  return {
    value: value as number | null,
    passed: typeof passed === 'boolean' ? passed : null,
    ...(detail !== undefined && detail !== null && { detail: String(detail) }),
  };
}

async function loadScorer(name: string, args: ModuleArgs, ctx?: ScorerContext): Promise<Scorer> {
  const baseDir = ctx?.baseDir ?? '.';
  const abs = resolve(baseDir, args.path);
  const where = `module "${args.path}" (${abs})`;
  const stat = statSync(abs, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new Error(`${where}: ${stat ? 'not a file' : 'no such file'}`);
  let mod: Record<string, unknown>;
  try {
    mod = await importFile(abs);
  } catch (e) {
    throw new Error(`${where} failed to load: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!Object.hasOwn(mod, args.export) || mod[args.export] === undefined) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule');
    const has = names.length ? `it exports ${names.join(', ')}` : 'it has no exports';
    throw new Error(`${where} has no export "${args.export}" (${has})`);
  }
  const exported = mod[args.export];
  let scorer: unknown = exported;
  if (typeof exported === 'function') {
    try {
      scorer = await exported(args.options ?? {}, { name, baseDir } satisfies ModuleScorerContext);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`${where}: factory "${args.export}" threw: ${why}`, { cause: e });
    }
    if (!isScorerLike(scorer)) {
      throw new Error(`${where}: factory "${args.export}" returned ${describe(scorer)}, not a scorer`);
    }
  } else if (!isScorerLike(exported)) {
    throw new Error(
      `${where}: export "${args.export}" is ${describe(exported)}, not a scorer ({ score(input) }) or a factory function`,
    );
  } else if (args.options !== undefined) {
    throw new Error(
      `${where}: \`options\` given, but export "${args.export}" is a scorer object, not a factory`,
    );
  }
  const s = scorer as ScorerLike;
  return {
    name,
    // Called as a method so that class-based scorers keep their `this`.
    score: async (input) =>
      toScore(await withTimeout(Promise.resolve(s.score(input)), args.timeout_ms ?? MODULE_SCORE_TIMEOUT_MS)),
  };
}

/**
 * `module`: a scorer from the user's own JS or TS file (`path`, relative to the config file).
 * The chosen export (`export`, default `default`) is either
 * - a scorer object `{ score(input) }`, or
 * - a factory function `(options, { name, baseDir }) => scorer` (may be async), called once at
 *   start with the entry's `options` (`{}` when absent).
 * `score({ record, output })` gets the HoldoutRecord and `{ text, toolCalls }` and returns, sync or
 * async, a Score `{ value, passed?, detail? }` (value in [0, 1], or null for unscored) or a bare
 * number / null; `passed` is then set from `threshold`. `.ts`/`.mts`/`.cts` files load through
 * jiti (no build step), others through `import()`. A file that is missing or does not load, or an
 * export that is missing or not a scorer, is a config error before the run starts; a throw or
 * rejection inside `score`, or a score() that has not settled after `timeout_ms` (default 30 s), is
 * recorded as that row's `scorer error: …`.
 */
export const moduleScorer: AsyncScorerFactory<ModuleArgs> = {
  kind: 'module',
  description: "A scorer from the user's JS/TS module: a { score(input) } object or a factory function.",
  args: ModuleArgs,
  create: loadScorer,
};
