/**
 * Routing policies (YAML or JSON, zod-validated): rules evaluated in order, first match wins; then an
 * optional classifier router; then the default. Every candidate a policy names must be a candidate
 * of the run it is evaluated on (checked against the run, with the run's candidates listed).
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { HarnessError } from '../errors.js';
import { EndpointConfig, readYamlFile } from '../config.js';

const count = z.number().int().nonnegative();

/** A comparison on a count: every bound given must hold (`{gt: 10, lte: 20}` is 10 < x ≤ 20). */
export const Comparison = z
  .strictObject({ gt: count.optional(), gte: count.optional(), lt: count.optional(), lte: count.optional() })
  .refine((c) => Object.values(c).some((v) => v !== undefined), {
    message: 'give at least one of gt, gte, lt, lte',
  });
export type Comparison = z.infer<typeof Comparison>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A regular expression over the prompt text; the string form has no flags. */
export const PromptRegex = z.union([
  z.string().min(1),
  z.strictObject({
    pattern: z.string().min(1),
    /** JavaScript RegExp flags, e.g. "i"; g and y are refused (they make `test` stateful). */
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'use only the flags i, m, s, u')
      .default(''),
    /** 'last_user' (default): the last user turn; 'all': every message, system and assistant included. */
    in: z.enum(['last_user', 'all']).default('last_user'),
  }),
]);
export type PromptRegex = z.infer<typeof PromptRegex>;

export interface Condition {
  /** Approximate billed input tokens of the request (harness/providers/tokens.ts). */
  input_tokens?: Comparison;
  /** Every tag named must have the value (or one of the values) given. */
  tags?: Record<string, string | string[]>;
  /** Every metadata key named must equal the value (or one of the values) given. */
  metadata?: Record<string, z.infer<typeof Scalar> | z.infer<typeof Scalar>[]>;
  prompt_regex?: PromptRegex;
  /** User turns in the request. */
  turns?: Comparison;
  /** Whether the request offers tools. */
  tools?: boolean;
  /** Expected output tokens: the reference output's tokens, else the request's output-token cap. */
  expected_output_tokens?: Comparison;
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
}

export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z
    .strictObject({
      input_tokens: Comparison.optional(),
      tags: z.record(z.string().min(1), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
      metadata: z.record(z.string().min(1), z.union([Scalar, z.array(Scalar).min(1)])).optional(),
      prompt_regex: PromptRegex.optional(),
      turns: Comparison.optional(),
      tools: z.boolean().optional(),
      expected_output_tokens: Comparison.optional(),
      all: z.array(Condition).min(1).optional(),
      any: z.array(Condition).min(1).optional(),
      not: Condition.optional(),
    })
    .refine((c) => Object.values(c).some((v) => v !== undefined), {
      message: 'a condition needs at least one test (input_tokens, tags, metadata, prompt_regex, …)',
    }),
);

const Rule = z.strictObject({ when: Condition, route: z.string().min(1) });

/** The router's own endpoint: the fields of a run config's candidate that say where and how to call. */
const RouterEndpoint = EndpointConfig;

const Sweep = z
  .strictObject({ from: z.number().min(0).max(1), to: z.number().min(0).max(1), step: z.number().positive() })
  .refine((s) => s.to >= s.from, { message: '`to` must be at least `from`' })
  .refine((s) => (s.to - s.from) / s.step <= 1000, { message: 'at most 1,000 thresholds' });

const Fit = z
  .strictObject({
    /** The cheapest threshold whose performance gap recovered reaches this share. */
    min_pgr: z.number().min(0).max(1).optional(),
    /** The cheapest threshold non-inferior to the strongest single candidate at the margin. */
    non_inferior: z.boolean().optional(),
  })
  .refine((f) => (f.min_pgr === undefined) !== (f.non_inferior === undefined), {
    message: 'give exactly one of min_pgr or non_inferior',
  });

const Score = z
  .strictObject({
    /** The operating point: scores at or above it go to `above`. Without it, it is fitted. */
    threshold: z.number().min(0).max(1).optional(),
    thresholds: z.array(z.number().min(0).max(1)).min(1).optional(),
    sweep: Sweep.optional(),
    below: z.string().min(1),
    above: z.string().min(1),
    /** How a threshold is fitted when `threshold` is not given (default: min_pgr 0.9). */
    fit: Fit.optional(),
  })
  .refine((s) => !(s.thresholds && s.sweep), { message: 'give thresholds or sweep, not both' })
  .refine((s) => s.threshold !== undefined || s.thresholds !== undefined || s.sweep !== undefined, {
    message: 'give a threshold, a list of thresholds or a sweep',
  })
  .refine((s) => !(s.fit && s.threshold !== undefined), {
    message: '`fit` chooses a threshold: leave it out when `threshold` is given',
    path: ['fit'],
  });

/** Only for a router on `base_url: simulator`: what the simulated router answers. */
const RouterSimulator = z
  .strictObject({
    /** An answer key (JSON) keyed on the rendered router prompt, as the simulator reads it. */
    answer_key: z.string().min(1).optional(),
    /**
     * Or: the right answer of each record comes from this tag, through `truth` (tag value → the
     * router's right output); the simulated router gives it as often as its profile's accuracy.
     */
    truth_tag: z.string().min(1).optional(),
    truth: z.record(z.string(), z.string()).optional(),
  })
  .refine((s) => (s.answer_key !== undefined) !== (s.truth_tag !== undefined), {
    message: 'give answer_key, or truth_tag with truth',
  })
  .refine((s) => (s.truth_tag === undefined) === (s.truth === undefined), {
    message: 'truth_tag and truth go together',
  });

export const Router = z
  .strictObject({
    /** Stored as calls.candidate of the router's rows (role 'router'). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only')
      .default('router'),
    candidate: RouterEndpoint,
    /** An optional system message sent before the prompt. */
    system: z.string().optional(),
    /** The user message; {{prompt}} is the record's last user turn, {{conversation}} every message. */
    prompt: z
      .string()
      .min(1)
      .refine((p) => /\{\{\s*(prompt|conversation)\s*\}\}/.test(p), {
        message: 'the prompt must contain {{prompt}} or {{conversation}}',
      }),
    /** Router output label → candidate. */
    labels: z.record(z.string().min(1), z.string().min(1)).optional(),
    /** The router outputs a difficulty score in [0, 1]. */
    score: Score.optional(),
    /** Where an error or an unreadable answer of the router sends the record (default: the policy default). */
    fallback: z.string().min(1).optional(),
    concurrency: z.number().int().min(1).max(1024).default(16),
    timeout_ms: z.number().int().min(1).default(60_000),
    max_retries: z.number().int().min(0).max(20).default(4),
    simulator: RouterSimulator.optional(),
  })
  .refine((r) => (r.labels === undefined) !== (r.score === undefined), {
    message: 'give labels (label → candidate) or score (thresholds), not both',
  })
  .refine((r) => r.simulator === undefined || r.candidate.base_url === 'simulator', {
    message: '`simulator` applies only to a router with base_url: simulator',
    path: ['simulator'],
  });
export type Router = z.infer<typeof Router>;

export const Policy = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  default: z.string().min(1),
  /** Tokenizer for input_tokens / expected_output_tokens: a model name or an encoding (default: the request's model). */
  tokenizer: z.string().min(1).optional(),
  rules: z.array(Rule).default([]),
  router: Router.optional(),
});
export type Policy = z.infer<typeof Policy>;

export interface LoadedPolicy {
  policy: Policy;
  path: string;
  /** Paths in the policy (the simulator answer key) are relative to its file. */
  baseDir: string;
}

/** Reads, parses and validates a policy file; every problem is reported at once. */
export function loadPolicy(path: string): LoadedPolicy {
  return { policy: parsePolicy(readYamlFile(path, 'policy'), path), path, baseDir: dirname(resolve(path)) };
}

export function parsePolicy(raw: unknown, path: string): Policy {
  const parsed = Policy.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `${path} has invalid fields:\n${indent(z.prettifyError(parsed.error))}`,
      {
        hint: 'see examples/route-canonical.yaml and examples/route-classifier.yaml',
      },
    );
  }
  const problems: string[] = [];
  const p = parsed.data;
  p.rules.forEach((r, i) => {
    collectRegexProblems(r.when, `rules[${i}].when`, problems);
  });
  if (problems.length > 0) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `${path} has invalid fields:\n${problems.map((x) => `  ✖ ${x}`).join('\n')}`,
    );
  }
  return p;
}

function collectRegexProblems(c: Condition, at: string, problems: string[]): void {
  if (c.prompt_regex !== undefined) {
    const { pattern, flags } =
      typeof c.prompt_regex === 'string' ? { pattern: c.prompt_regex, flags: '' } : c.prompt_regex;
    try {
      new RegExp(pattern, flags);
    } catch (err) {
      problems.push(`${at}.prompt_regex: not a valid regular expression: ${(err as Error).message}`);
    }
  }
  for (const [i, x] of (c.all ?? []).entries()) collectRegexProblems(x, `${at}.all[${i}]`, problems);
  for (const [i, x] of (c.any ?? []).entries()) collectRegexProblems(x, `${at}.any[${i}]`, problems);
  if (c.not) collectRegexProblems(c.not, `${at}.not`, problems);
}

/** Every candidate the policy routes to, with the field that names it. */
export function routedCandidates(p: Policy): { field: string; candidate: string }[] {
  const out = [{ field: 'default', candidate: p.default }];
  for (const [i, rule] of p.rules.entries()) out.push({ field: `rules[${i}].route`, candidate: rule.route });
  const r = p.router;
  if (r) {
    for (const [label, c] of Object.entries(r.labels ?? {}))
      out.push({ field: `router.labels.${label}`, candidate: c });
    if (r.score) {
      out.push({ field: 'router.score.below', candidate: r.score.below });
      out.push({ field: 'router.score.above', candidate: r.score.above });
    }
    if (r.fallback !== undefined) out.push({ field: 'router.fallback', candidate: r.fallback });
  }
  return out;
}

/**
 * Throws CONFIG_INVALID naming each field whose candidate is not one of the run's (`excluded`: the
 * run's candidates left out for want of any scored answer).
 */
export function checkCandidates(
  p: Policy,
  path: string,
  runId: number,
  candidates: readonly string[],
  excluded: readonly string[] = [],
): void {
  const known = new Set(candidates);
  const bad = routedCandidates(p).filter((x) => !known.has(x.candidate));
  if (bad.length === 0) return;
  const lines = bad.map((x) =>
    excluded.includes(x.candidate)
      ? `  ✖ ${x.field}: "${x.candidate}" has no scored answer in run ${runId}, so it cannot be evaluated`
      : `  ✖ ${x.field}: "${x.candidate}" is not a candidate of run ${runId}`,
  );
  throw new HarnessError('CONFIG_INVALID', `${path} routes to unknown candidates:\n${lines.join('\n')}`, {
    hint: `the candidates of run ${runId} are: ${candidates.join(', ') || '(none)'}`,
  });
}

/** The thresholds a score router is swept over (sorted, deduplicated), or [] without a sweep. */
export function sweepThresholds(score: NonNullable<Router['score']>): number[] {
  let list: number[] = [];
  if (score.thresholds) list = [...score.thresholds];
  else if (score.sweep) {
    const { from, to, step } = score.sweep;
    const n = Math.floor((to - from) / step + 1e-9);
    for (let i = 0; i <= n; i++) list.push(Number((from + i * step).toFixed(10)));
  }
  if (score.threshold !== undefined) list.push(score.threshold);
  return [...new Set(list)].sort((a, b) => a - b);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
