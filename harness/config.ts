import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { IMPORT_FORMATS, ImportSpec } from '../datasets/import/index.js';
import { ScorerSpec } from '../scorers/index.js';
import { HarnessError } from './errors.js';
import { Price, type PriceRule, resolvePrice } from './providers/pricing.js';

/** The value of `base_url` that asks for holdout's in-process simulator instead of a real endpoint. */
export const SIMULATOR = 'simulator';

/** Where and how to call a model: what candidates, judges and routers have in common. */
export const EndpointConfig = z.strictObject({
  model: z.string().min(1),
  api: z.enum(['chat', 'responses']).default('chat'),
  /** Any OpenAI-compatible endpoint; `simulator` for the in-process simulator; default: OPENAI_BASE_URL or the SDK's. */
  base_url: z.string().min(1).optional(),
  /** The name of the environment variable holding the key: the key itself never enters a config or a row. */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name, e.g. OPENAI_API_KEY')
    .default('OPENAI_API_KEY'),
  /** Merged into every request body; null removes a key (e.g. temperature for a reasoning model). */
  params: z.record(z.string(), z.unknown()).default({}),
  /** USD per 1M tokens; default: the bundled, dated price table. */
  price: Price.optional(),
});

const Candidate = EndpointConfig.safeExtend({
  id: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only'),
  concurrency: z.number().int().min(1).max(1024).optional(),
  /**
   * The production response logged with each record is this candidate's answer: no call is made.
   * `model` names the production model, for the price table (or give `price`).
   */
  replay: z.boolean().default(false),
  /**
   * Send this candidate's requests through the Batch API (half price, results within 24 h) instead
   * of one call each: never streamed, so no latency or time to first token is recorded. `mode: batch`
   * turns it on for every candidate that is not a replay.
   */
  batch: z.boolean().default(false),
});

/**
 * `import:` makes the dataset from production logs before the first run (when the `dataset` file
 * does not exist yet): the options of `holdout import`, in the config's snake_case.
 */
const DatasetImport = z.strictObject({
  format: z.enum(IMPORT_FORMATS),
  paths: z.array(z.string().min(1)).default([]),
  skip_invalid: z.boolean().optional(),
  redact: z.boolean().optional(),
  redact_patterns: z.array(z.strictObject({ name: z.string(), regex: z.string() })).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  reference: z.enum(['none', 'production']).optional(),
  outputs: z.array(z.string().min(1)).optional(),
  map: z.record(z.string(), z.unknown()).optional(),
  model: z.string().min(1).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  base_url: z.string().min(1).optional(),
  page_size: z.number().int().optional(),
  max_records: z.number().int().optional(),
});

/** ImportSpec's field names as the config spells them, for error messages. */
const SNAKE: Record<string, string> = {
  skipInvalid: 'skip_invalid',
  redactPatterns: 'redact_patterns',
  baseURL: 'base_url',
  pageSize: 'page_size',
  maxRecords: 'max_records',
};

export const RunConfig = z.strictObject({
  suite: z.string().min(1).default('default'),
  dataset: z.string().min(1),
  import: DatasetImport.optional(),
  db: z.string().min(1).optional(),
  candidates: z.array(Candidate).min(1),
  scorers: z.array(ScorerSpec).default([]),
  /** Models that grade instead of answer: model-graded scorers name one by its `id`. */
  judges: z.array(Candidate).default([]),
  concurrency: z.number().int().min(1).max(4096).default(16),
  repeats: z.number().int().min(1).max(100).default(1),
  timeout_ms: z.number().int().min(1).default(120_000),
  max_retries: z.number().int().min(0).max(20).default(4),
  /**
   * Stop issuing calls once the run's recorded spend (candidate and judge calls, earlier sessions
   * included) reaches this many USD; calls in flight finish and are kept. Default: no cap.
   */
  budget_usd: z.number().positive().optional(),
  stream: z.boolean().default(true),
  /** `batch`: every candidate that is not a replay goes through the Batch API (as `batch: true` on each). */
  mode: z.enum(['live', 'batch']).default('live'),
  /**
   * Batch mode: the longest wait between two polls of a batch. Polls start 1 s apart (or this, if
   * shorter) and back off to it; batches take minutes to hours, the simulator's a fraction of a second.
   */
  batch_poll_ms: z.number().int().min(1).default(30_000),
  simulator: z
    .strictObject({
      answer_key: z.string().optional(),
      profiles: z.string().optional(),
    })
    .optional(),
});
export type RunConfig = z.infer<typeof RunConfig>;
export type CandidateConfig = z.infer<typeof Candidate>;

// `batch`, `mode` and `batch_poll_ms` are optional here: configs stored by runs made before batch
// mode existed lack them (and mean live).
export interface ResolvedCandidate extends Omit<CandidateConfig, 'price' | 'batch'> {
  price: PriceRule;
  batch?: boolean;
}

export interface ResolvedConfig
  extends Omit<RunConfig, 'candidates' | 'judges' | 'import' | 'mode' | 'batch_poll_ms'> {
  mode?: RunConfig['mode'];
  batch_poll_ms?: number;
  candidates: ResolvedCandidate[];
  judges: ResolvedCandidate[];
  /** `import:` as `holdout import` takes it, paths absolute, writing to `dataset`. */
  import?: ImportSpec;
  /** Paths in the config are relative to the file; these are absolute. */
  baseDir: string;
}

/**
 * Reads a YAML (or JSON) file: a missing file is CONFIG_NOT_FOUND, a syntax error CONFIG_INVALID
 * listing every problem. `what` names the file in messages ("config", "policy").
 */
export function readYamlFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HarnessError(
      'CONFIG_NOT_FOUND',
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code}`,
      {
        cause: err,
      },
    );
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `  - ${e.message.split('\n')[0]}`);
    throw new HarnessError('CONFIG_INVALID', `${path} is not valid YAML:\n${lines.join('\n')}`);
  }
  return doc.toJS();
}

/** Reads, parses and validates a YAML (or JSON) run config; every problem is reported at once. */
export function loadConfig(path: string): ResolvedConfig {
  return resolveConfig(readYamlFile(path, 'config'), path);
}

export function resolveConfig(raw: unknown, path: string): ResolvedConfig {
  const parsed = RunConfig.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `${path} has invalid fields:\n${indent(z.prettifyError(parsed.error))}`,
    );
  }
  const cfg = parsed.data;
  const problems: string[] = [];
  const resolveEndpoints = (list: CandidateConfig[], field: string) => {
    const seen = new Map<string, number>();
    return list.map((c, i): ResolvedCandidate => {
      if (seen.has(c.id))
        problems.push(`${field}[${i}].id: "${c.id}" is already used by ${field}[${seen.get(c.id)}]`);
      seen.set(c.id, i);
      const price = resolvePrice(c.model, c.price);
      if (!price) {
        problems.push(
          `${field}[${i}].price: no bundled price for model "${c.model}"; give price: {input, cached_input, output} in USD per 1M tokens`,
        );
      }
      return {
        ...c,
        price: price ?? { standard: { input: 0, cached_input: 0, output: 0 }, source: 'missing' },
      };
    });
  };
  const candidates = resolveEndpoints(cfg.candidates, 'candidates');
  const judges = resolveEndpoints(cfg.judges, 'judges');
  cfg.candidates.forEach((c, i) => {
    if (c.batch && c.replay) {
      problems.push(`candidates[${i}].batch: a replay candidate makes no calls, so it cannot be batched`);
    }
  });
  cfg.judges.forEach((j, i) => {
    if (j.batch) problems.push(`judges[${i}].batch: judges are called live; only candidates can be batched`);
  });
  cfg.scorers.forEach((s, i) => {
    if ('judge' in s && !judges.some((j) => j.id === s.judge)) {
      const declared = judges.map((j) => j.id).join(', ') || 'none';
      problems.push(
        `scorers[${i}].judge: "${s.judge}" is not declared under judges: (declared: ${declared})`,
      );
    }
    if ('baseline' in s && !candidates.some((c) => c.id === s.baseline)) {
      problems.push(
        `scorers[${i}].baseline: "${s.baseline}" is not a candidate (candidates: ${candidates.map((c) => c.id).join(', ')})`,
      );
    }
  });
  const names = new Map<string, number>();
  cfg.scorers.forEach((s, i) => {
    const name = s.name ?? s.kind;
    if (names.has(name)) {
      problems.push(
        `scorers[${i}].name: "${name}" is already used by scorers[${names.get(name)}]; give each a unique name`,
      );
    }
    names.set(name, i);
  });
  const baseDir = dirname(resolve(path));
  let importSpec: ImportSpec | undefined;
  if (cfg.import) {
    const i = cfg.import;
    const parsed = ImportSpec.safeParse({
      format: i.format,
      paths: i.paths.map((p) => resolve(baseDir, p)),
      out: resolve(baseDir, cfg.dataset),
      skipInvalid: i.skip_invalid,
      redact: i.redact,
      redactPatterns: i.redact_patterns,
      tags: i.tags,
      reference: i.reference,
      outputs: i.outputs?.map((p) => resolve(baseDir, p)),
      map: i.map,
      model: i.model,
      metadata: i.metadata,
      baseURL: i.base_url,
      pageSize: i.page_size,
      maxRecords: i.max_records,
    });
    if (parsed.success) importSpec = parsed.data;
    else {
      for (const issue of parsed.error.issues) {
        const [head, ...rest] = issue.path.map(String);
        const field = head === 'out' ? 'dataset' : `import.${[SNAKE[head!] ?? head, ...rest].join('.')}`;
        problems.push(`${field}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `${path} has invalid fields:\n${problems.map((p) => `  ✖ ${p}`).join('\n')}`,
    );
  }
  return {
    ...cfg,
    import: importSpec,
    candidates,
    judges,
    baseDir,
    dataset: resolve(baseDir, cfg.dataset),
    simulator: cfg.simulator && {
      answer_key: cfg.simulator.answer_key && resolve(baseDir, cfg.simulator.answer_key),
      profiles: cfg.simulator.profiles && resolve(baseDir, cfg.simulator.profiles),
    },
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
