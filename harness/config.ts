import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { IMPORT_FORMATS, ImportSpec } from '../datasets/import/index.js';
import { ScorerSpec } from '../scorers/index.js';
import { prettifyIssues } from './config-issues.js';
import { checkEndpoint, ENDPOINT_FIELDS, EnvName, keyEnvOf, storableValues } from './endpoint-config.js';
import { HarnessError } from './errors.js';
import { Price, type PriceRule, resolvePrice } from './providers/pricing.js';

/** The value of `base_url` that asks for holdout's in-process simulator instead of a real endpoint. */
export const SIMULATOR = 'simulator';

/** OpenAI's regional-processing (data residency) hosts: `https://<region>.api.openai.com/v1`. */
export const DATA_RESIDENCY_REGIONS = ['us', 'eu', 'au', 'in', 'jp', 'ae'] as const;

/** The region a base URL processes in, when it is one of OpenAI's data-residency hosts. */
export function residencyRegionOf(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return undefined;
  }
  const m = /^([a-z]{2})\.api\.openai\.com$/.exec(host);
  return m && (DATA_RESIDENCY_REGIONS as readonly string[]).includes(m[1]!) ? m[1] : undefined;
}

/** Whether `value` may be a `base_url`: an http(s) URL with a host, or the `simulator` keyword. */
export function isEndpointUrl(value: string): boolean {
  if (value === SIMULATOR) return true;
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const BaseUrl = z.string().min(1).refine(isEndpointUrl, {
  message: 'not an http(s) URL: give one like https://api.example.com/v1, or `simulator`',
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/**
 * A name or path holdout prints (suite, model, dataset): an escape sequence or a line break in it
 * would reach the terminal, so it is refused.
 */
const PrintedText = z
  .string()
  .min(1)
  .regex(NO_CONTROL, 'control characters (escape sequences, line breaks, tabs) are not allowed');

/** Where and how to call a model: what candidates, judges and routers have in common. */
const EndpointFields = z.strictObject({
  model: PrintedText,
  api: z.enum(['chat', 'responses']).default('chat'),
  /** An http(s) URL of any OpenAI-compatible endpoint; `simulator` for the in-process simulator; default: OPENAI_BASE_URL or the SDK's. */
  base_url: BaseUrl.optional(),
  /**
   * The name of the environment variable holding the key: the key itself never enters a config or a
   * row. Default OPENAI_API_KEY (AZURE_OPENAI_API_KEY with `azure:`; none with Entra ID or an
   * Authorization header); resolved configs always say which.
   */
  api_key_env: EnvName.optional(),
  /** Merged into every request body; null removes a key (e.g. temperature for a reasoning model). */
  params: z.record(z.string(), z.unknown()).default({}),
  /**
   * USD per 1M tokens ({input, cached_input, output}, optional cache_write and priority rates),
   * Standard tier; default: the bundled, dated price table. The tier a response reports, long
   * context, cache writes and regional processing are applied to it as to the table's.
   */
  price: Price.optional(),
  /**
   * Regional processing (data residency): calls go to `https://<region>.api.openai.com/v1`, and
   * eligible models (gpt-5.4 family, gpt-5.5 and later) are priced 10% higher. A `base_url` on one
   * of those hosts counts the same.
   */
  data_residency: z.enum(DATA_RESIDENCY_REGIONS).optional(),
  /**
   * Responses API: also score the text of output messages with `phase: "commentary"` (progress
   * notes some models send before the answer), joined by blank lines. Default: only the final
   * answer (`phase: "final_answer"` or no phase).
   */
  include_commentary: z.boolean().optional(),
  ...ENDPOINT_FIELDS,
});
/** The fields, and the checks that span them (harness/endpoint-config.ts), named by field. */
export const EndpointConfig = EndpointFields.superRefine(checkEndpoint);

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

/**
 * `stop:` (docs/config-stop.md): stop sending once the sequential verdict of `candidate` against
 * `baseline` is clear (SEQUENTIAL.md §1), as `holdout run --until-decided` does.
 */
const Stop = z.strictObject({
  baseline: z.string().min(1),
  candidate: z.string().min(1),
  /** Non-inferiority margin, absolute (0.03 = 3 points of pass rate). */
  margin: z.number().gt(0).lt(1).default(0.03),
  /** One-sided level of each claim (FAIL, PASS). */
  alpha: z.number().gt(0).lt(0.5).default(0.025),
  /** Seed of the order records are issued in; default: a random one, stored with the run. */
  seed: z.number().int().min(0).max(0xffffffff).optional(),
});
export type StopConfig = z.infer<typeof Stop>;

/**
 * What is wrong with a `stop:` block for these candidates, each naming its field: the two must be
 * distinct candidates of the run, called live (a batch returns all at once: nothing to stop).
 */
export function stopProblems(
  stop: StopConfig,
  cfg: { candidates: readonly { id: string; batch?: boolean; replay?: boolean }[]; mode?: string },
): string[] {
  const problems: string[] = [];
  const ids = cfg.candidates.map((c) => c.id);
  for (const field of ['baseline', 'candidate'] as const) {
    const c = cfg.candidates.find((x) => x.id === stop[field]);
    if (!c)
      problems.push(`stop.${field}: "${stop[field]}" is not a candidate (candidates: ${ids.join(', ')})`);
    else if (!c.replay && (c.batch || cfg.mode === 'batch')) {
      problems.push(
        `stop.${field}: "${stop[field]}" goes through the Batch API, which cannot stop early; call it live`,
      );
    }
  }
  if (stop.baseline === stop.candidate) {
    problems.push(`stop.candidate: "${stop.candidate}" is also the baseline; name two different candidates`);
  }
  return problems;
}

export const RunConfig = z.strictObject({
  suite: PrintedText.default('default'),
  dataset: PrintedText,
  import: DatasetImport.optional(),
  db: PrintedText.optional(),
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
  stop: Stop.optional(),
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
  try {
    // Aliases are expanded into copies: bounded, so that a "billion laughs" file cannot exhaust memory.
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new HarnessError(
        'CONFIG_INVALID',
        `${path}: too many YAML alias expansions (the limit is ${MAX_YAML_ALIAS_COUNT}); is this ${what} an alias bomb?`,
        { cause: err, hint: `write the repeated parts of the ${what} out, or use fewer aliases` },
      );
    }
    throw err;
  }
}

/** How many alias expansions a YAML file may make (the yaml library's `maxAliasCount`). */
export const MAX_YAML_ALIAS_COUNT = 100;

/** Reads, parses and validates a YAML (or JSON) run config; every problem is reported at once. */
export function loadConfig(path: string): ResolvedConfig {
  return resolveConfig(readYamlFile(path, 'config'), path);
}

export function resolveConfig(raw: unknown, path: string): ResolvedConfig {
  const parsed = RunConfig.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `${path} has invalid fields:\n${indent(prettifyIssues(RunConfig, parsed.error, raw ?? {}))}`,
    );
  }
  const cfg = parsed.data;
  const problems: string[] = [];
  const candidates = resolveEndpoints(cfg.candidates, 'candidates', problems, cfg.mode);
  const judges = resolveEndpoints(cfg.judges, 'judges', problems);
  cfg.candidates.forEach((c, i) => {
    if (c.batch && c.replay) {
      problems.push(`candidates[${i}].batch: a replay candidate makes no calls, so it cannot be batched`);
    }
  });
  checkJudgesLive(cfg.judges, problems);
  checkScorers(
    cfg.scorers,
    judges.map((j) => j.id),
    candidates.map((c) => c.id),
    problems,
  );
  if (cfg.stop) problems.push(...stopProblems(cfg.stop, cfg));
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
  if (problems.length > 0) throw invalidFields(path, problems);
  return {
    ...cfg,
    import: importSpec,
    candidates,
    judges,
    baseDir,
    dataset: resolve(baseDir, cfg.dataset),
    simulator: resolveSimulator(cfg.simulator, baseDir),
  };
}

/**
 * Prices and checks candidates or judges (`field` names the list in messages), adding what is wrong
 * to `problems`. `mode` is the run's: `batch` batches every candidate that is not a replay.
 */
function resolveEndpoints(
  list: CandidateConfig[],
  field: 'candidates' | 'judges',
  problems: string[],
  mode?: RunConfig['mode'],
): ResolvedCandidate[] {
  const seen = new Map<string, number>();
  const resolved = list.map((c, i): ResolvedCandidate => {
    if (seen.has(c.id))
      problems.push(`${field}[${i}].id: "${c.id}" is already used by ${field}[${seen.get(c.id)}]`);
    seen.set(c.id, i);
    const region = residencyRegionOf(c.base_url);
    if (c.data_residency && c.base_url !== undefined && region !== c.data_residency) {
      problems.push(
        `${field}[${i}].data_residency: "${c.data_residency}" sends calls to https://${c.data_residency}.api.openai.com/v1; drop base_url (${c.base_url}) or make it that host`,
      );
    }
    const batched = c.batch || (field === 'candidates' && mode === 'batch' && !c.replay);
    if (c.include_commentary !== undefined && (c.replay || batched)) {
      problems.push(
        `${field}[${i}].include_commentary: applies to live calls only, not to ${c.replay ? 'a replay' : 'a batch'} candidate (its output is the final answer)`,
      );
    }
    if (c.azure && batched) {
      problems.push(
        `${field}[${i}].batch: Azure OpenAI's Batch API is not supported; call this candidate live (batch: false)`,
      );
    }
    const price = resolvePrice(c.model, c.price, { regional: (c.data_residency ?? region) !== undefined });
    if (!price) {
      // An Azure deployment is sent; `model` is the model it serves, and the price table's key.
      const deployment = c.azure
        ? ` (the model deployment "${c.azure.deployment}" serves, e.g. gpt-4.1-mini)`
        : '';
      problems.push(
        `${field}[${i}].price: no bundled price for model "${c.model}"${deployment}; give price: {input, cached_input, output} in USD per 1M tokens (cache_write and priority optional)`,
      );
    }
    return {
      ...c,
      api_key_env: keyEnvOf(c),
      price: price ?? { standard: { input: 0, cached_input: 0, output: 0 }, source: 'missing' },
    };
  });
  return resolved;
}

function checkJudgesLive(list: CandidateConfig[], problems: string[]): void {
  list.forEach((j, i) => {
    if (j.batch) problems.push(`judges[${i}].batch: judges are called live; only candidates can be batched`);
  });
}

/**
 * The scorers' references and names: each `judge` must be one of `judges`, each pairwise `baseline`
 * one of `candidates` (not checked when undefined: a scorer-only config leaves that to its run), and
 * no two scorers may share a name.
 */
function checkScorers(
  scorers: readonly ScorerSpec[],
  judges: readonly string[],
  candidates: readonly string[] | undefined,
  problems: string[],
): void {
  scorers.forEach((s, i) => {
    if ('judge' in s && !judges.includes(s.judge)) {
      const declared = judges.join(', ') || 'none';
      problems.push(
        `scorers[${i}].judge: "${s.judge}" is not declared under judges: (declared: ${declared})`,
      );
    }
    if (candidates && 'baseline' in s && !candidates.includes(s.baseline)) {
      problems.push(
        `scorers[${i}].baseline: "${s.baseline}" is not a candidate (candidates: ${candidates.join(', ')})`,
      );
    }
  });
  const names = new Map<string, number>();
  scorers.forEach((s, i) => {
    const name = s.name ?? s.kind;
    if (names.has(name)) {
      problems.push(
        `scorers[${i}].name: "${name}" is already used by scorers[${names.get(name)}]; give each a unique name`,
      );
    }
    names.set(name, i);
  });
}

function invalidFields(path: string, problems: readonly string[]): HarnessError {
  return new HarnessError(
    'CONFIG_INVALID',
    `${path} has invalid fields:\n${problems.map((p) => `  ✖ ${p}`).join('\n')}`,
  );
}

/**
 * What `holdout rescore --config` reads: `scorers:`, `judges:` and `simulator:` alone, checked as
 * in a run config (the same field checks, the same did-you-mean on unknown keys, the same alias
 * bound). A file that has `dataset` or `candidates` is taken as a full run config instead.
 */
export const ScorerConfig = RunConfig.pick({ scorers: true, judges: true, simulator: true });

export interface ResolvedScorerConfig {
  scorers: ScorerSpec[];
  judges: ResolvedCandidate[];
  simulator?: ResolvedConfig['simulator'];
  baseDir: string;
}

export interface ScorerConfigContext {
  /** Judges declared elsewhere (the run's own config) that the file's scorers may name. */
  judges?: readonly string[];
}

/**
 * Reads a scorer-only config (or a full run config: then `loadConfig`'s checks apply, and its
 * scorers may name only its own judges). Every problem is reported at once, exit 2.
 */
export function loadScorerConfig(path: string, ctx: ScorerConfigContext = {}): ResolvedScorerConfig {
  const raw = readYamlFile(path, 'config');
  if (raw !== null && typeof raw === 'object' && ('dataset' in raw || 'candidates' in raw)) {
    const full = resolveConfig(raw, path);
    return { scorers: full.scorers, judges: full.judges, simulator: full.simulator, baseDir: full.baseDir };
  }
  const parsed = ScorerConfig.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `${path} has invalid fields:\n${indent(prettifyIssues(ScorerConfig, parsed.error, raw ?? {}))}`,
      {
        hint: 'a scorer-only config holds scorers:, judges: and simulator:; a full run config also needs dataset: and candidates:',
      },
    );
  }
  const cfg = parsed.data;
  const problems: string[] = [];
  const judges = resolveEndpoints(cfg.judges, 'judges', problems);
  checkJudgesLive(cfg.judges, problems);
  const named = [...new Set([...judges.map((j) => j.id), ...(ctx.judges ?? [])])];
  checkScorers(cfg.scorers, named, undefined, problems);
  if (problems.length > 0) throw invalidFields(path, problems);
  const baseDir = dirname(resolve(path));
  return { scorers: cfg.scorers, judges, simulator: resolveSimulator(cfg.simulator, baseDir), baseDir };
}

function resolveSimulator(
  sim: RunConfig['simulator'],
  baseDir: string,
): ResolvedConfig['simulator'] | undefined {
  return (
    sim && {
      answer_key: sim.answer_key && resolve(baseDir, sim.answer_key),
      profiles: sim.profiles && resolve(baseDir, sim.profiles),
    }
  );
}

/** What replaces a query parameter's value in a stored URL. */
export const REDACTED_PARAM = 'REDACTED';

/**
 * A `base_url` as it may be stored: user and password removed, every query parameter's value
 * replaced by `REDACTED` (`?api-key=…` is how some gateways take a key). A URL with neither, and the
 * `simulator` keyword, are returned unchanged, byte for byte.
 */
export function storableUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username === '' && u.password === '' && u.search === '') return url;
  u.username = '';
  u.password = '';
  if (u.search !== '') {
    const names = [...u.searchParams.keys()];
    u.search = names.map((n) => `${encodeURIComponent(n)}=${REDACTED_PARAM}`).join('&');
  }
  return u.toString();
}

/**
 * The config as it may be stored (`runs.config_json`): every `base_url` of candidates and judges, and
 * `import.baseURL`, through `storableUrl`, so that credentials written into a URL never reach the
 * database; `headers` and `query` hold `${env:NAME}` references, never their values (a credential
 * written out is withheld). The rest is unchanged; the argument is not modified.
 */
export function storableConfig(config: ResolvedConfig): ResolvedConfig {
  const endpoint = (c: ResolvedCandidate): ResolvedCandidate => ({
    ...c,
    ...(c.base_url !== undefined ? { base_url: storableUrl(c.base_url) } : {}),
    ...(c.headers !== undefined ? { headers: storableValues(c.headers, 'header') } : {}),
    ...(c.query !== undefined ? { query: storableValues(c.query, 'query parameter') } : {}),
  });
  return {
    ...config,
    candidates: config.candidates.map(endpoint),
    judges: config.judges.map(endpoint),
    ...(config.import?.baseURL !== undefined
      ? { import: { ...config.import, baseURL: storableUrl(config.import.baseURL) } }
      : {}),
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
