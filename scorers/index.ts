import { z } from 'zod';
import type { HoldoutRecord } from '../datasets/record.js';
import { HarnessError } from '../harness/errors.js';
import { ModuleArgs, moduleScorer } from './custom.js';
import { FormatArgs, format } from './format.js';
import { JsonArgs, json } from './json/json.js';
import { JsonDiffArgs, json_diff } from './json/diff.js';
import {
  JudgeLabelArgs,
  JudgePairwiseArgs,
  JudgeRubricArgs,
  judge_label,
  judge_pairwise,
  judge_rubric,
} from './judge/judge.js';
import { LabelArgs, label } from './label.js';
import { ExactArgs, exact, NormalizedArgs, normalized } from './match.js';
import { NumericArgs, numeric } from './numeric.js';
import { BleuArgs, bleu, LevenshteinArgs, levenshtein, RougeLArgs, rouge_l } from './similarity.js';
import { ContainsArgs, contains, RegexArgs, regex } from './text.js';
import { ToolCallArgs, tool_call } from './tool-call.js';
import type { Score, ScoreInput, Scorer, ScorerContext } from './types.js';
import { UNSCORED } from './types.js';

export type { ModuleScorerContext, ScorerLike } from './custom.js';
export type { ExtractedLabel, LabelOptions } from './label.js';
export { extractLabel } from './label.js';
export type { CallOutput, Score, ScoreInput, Scorer, ScorerContext, ScorerFactory } from './types.js';
export { UNSCORED } from './types.js';

/** Scorer kinds a run config may name. A new kind needs an entry here and a member in `ScorerSpec`. */
export const SCORER_FACTORIES = {
  exact,
  normalized,
  label,
  json,
  json_diff,
  tool_call,
  module: moduleScorer,
  contains,
  regex,
  numeric,
  levenshtein,
  rouge_l,
  bleu,
  format,
  judge_rubric,
  judge_label,
  judge_pairwise,
} as const;
export type ScorerKind = keyof typeof SCORER_FACTORIES;

/** Fields every scorer entry has, whatever its kind. */
const common = {
  /** Scores are stored under it; defaults to the kind. */
  name: z.string().trim().min(1).optional(),
  /** Score only records whose tags all match: tag → value, or → any of several values. */
  match: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
  /** `passed` is `value >= threshold`; default 1. */
  threshold: z.number().min(0).max(1).optional(),
};

/** One `scorers:` entry of the run config; also what a run saves to be recreated. */
export const ScorerSpec = z.discriminatedUnion('kind', [
  ExactArgs.safeExtend({ kind: z.literal('exact'), ...common }),
  NormalizedArgs.safeExtend({ kind: z.literal('normalized'), ...common }),
  LabelArgs.safeExtend({ kind: z.literal('label'), ...common }),
  JsonArgs.safeExtend({ kind: z.literal('json'), ...common }),
  JsonDiffArgs.safeExtend({ kind: z.literal('json_diff'), ...common }),
  ToolCallArgs.safeExtend({ kind: z.literal('tool_call'), ...common }),
  ModuleArgs.safeExtend({ kind: z.literal('module'), ...common }),
  ContainsArgs.safeExtend({ kind: z.literal('contains'), ...common }),
  RegexArgs.safeExtend({ kind: z.literal('regex'), ...common }),
  NumericArgs.safeExtend({ kind: z.literal('numeric'), ...common }),
  LevenshteinArgs.safeExtend({ kind: z.literal('levenshtein'), ...common }),
  RougeLArgs.safeExtend({ kind: z.literal('rouge_l'), ...common }),
  BleuArgs.safeExtend({ kind: z.literal('bleu'), ...common }),
  FormatArgs.safeExtend({ kind: z.literal('format'), ...common }),
  JudgeRubricArgs.safeExtend({ kind: z.literal('judge_rubric'), ...common }),
  JudgeLabelArgs.safeExtend({ kind: z.literal('judge_label'), ...common }),
  JudgePairwiseArgs.safeExtend({ kind: z.literal('judge_pairwise'), ...common }),
]);
export type ScorerSpec = z.infer<typeof ScorerSpec>;
export type ScorerSpecInput = z.input<typeof ScorerSpec>;

export interface BoundScorer {
  readonly name: string;
  /** The spec with its resolved `name`: store it so that the run can be recreated. */
  readonly spec: ScorerSpec;
  /** Scored after the candidate calls, from stored outputs (model-graded scorers). */
  readonly deferred: boolean;
  appliesTo(record: HoldoutRecord): boolean;
  /** Never rejects: a throwing scorer yields an unscored `scorer error: …` score. */
  score(input: ScoreInput): Promise<Score>;
}

/** Any registered factory: `module` builds asynchronously (it loads the user's file), the rest sync. */
type AnyFactory = {
  create(name: string, args: ScorerSpec, ctx: ScorerContext): Scorer | Promise<Scorer>;
};

/**
 * Builds the run's scorers from validated specs; async because `module` scorers load user code.
 * Rejects with a CONFIG_INVALID HarnessError on duplicate names or options a factory rejects
 * (unreadable schema file, invalid schema, a module that is missing or exports no scorer).
 */
export async function buildScorers(
  specs: readonly ScorerSpec[],
  ctx: ScorerContext & { baseDir: string },
): Promise<BoundScorer[]> {
  const firstAt = new Map<string, number>();
  specs.forEach((spec, i) => {
    const name = spec.name ?? spec.kind;
    const prior = firstAt.get(name);
    if (prior !== undefined) {
      throw new HarnessError(
        'CONFIG_INVALID',
        `scorers[${prior}] and scorers[${i}] are both named "${name}"`,
        {
          hint: 'give one of them a distinct `name`: scores are stored under it',
        },
      );
    }
    firstAt.set(name, i);
  });
  const bound: BoundScorer[] = [];
  // One at a time, in config order: the first bad entry is the one reported.
  for (const [i, spec] of specs.entries()) {
    const made = await createScorer(i, spec, ctx);
    if (made instanceof HarnessError) throw made;
    bound.push(made);
  }
  return bound;
}

/**
 * Every problem of every scorer entry, without stopping at the first: what a run checks before it
 * creates anything, so that one message lists them all. Builds each scorer (a custom module is
 * loaded) and throws nothing.
 */
export async function checkScorers(
  specs: readonly ScorerSpec[],
  ctx: ScorerContext & { baseDir: string },
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const made = await createScorer(i, spec, ctx);
    if (made instanceof HarnessError) problems.push(made.message);
  }
  return problems;
}

async function createScorer(
  i: number,
  spec: ScorerSpec,
  ctx: ScorerContext & { baseDir: string },
): Promise<BoundScorer | HarnessError> {
  const name = spec.name ?? spec.kind;
  // Factories read only their own options from the spec; the common fields are ours.
  const factory = SCORER_FACTORIES[spec.kind] as AnyFactory;
  let scorer: Scorer;
  try {
    scorer = await factory.create(name, spec, ctx);
  } catch (e) {
    const message = `scorers[${i}] (${spec.kind} "${name}"): ${e instanceof Error ? e.message : String(e)}`;
    return new HarnessError('CONFIG_INVALID', message, { cause: e });
  }
  return bindScorer(scorer, { ...spec, name });
}

/** Wraps a scorer with the spec's tag filter, threshold and error capture. Exported for custom scorers. */
export function bindScorer(scorer: Scorer, spec: ScorerSpec): BoundScorer {
  const threshold = spec.threshold ?? 1;
  return {
    name: scorer.name,
    spec,
    deferred: scorer.deferred === true,
    appliesTo: tagFilter(spec.match),
    async score(input) {
      try {
        const s = await scorer.score(input);
        const value = s.value;
        if (value === null) {
          return s.detail === undefined ? { value: null, passed: null } : UNSCORED(s.detail);
        }
        if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
          return UNSCORED(`scorer error: value ${String(value)} is not a number in [0, 1]`);
        }
        const passed = value >= threshold;
        // A fresh object every time: scorers may share constant scores, callers may annotate ours.
        return s.detail === undefined ? { value, passed } : { value, passed, detail: s.detail };
      } catch (e) {
        return UNSCORED(`scorer error: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}

/** The records a scorer entry's `match:` selects: every listed tag equal to (one of) its values. */
export function tagFilter(match: ScorerSpec['match']): (record: Pick<HoldoutRecord, 'tags'>) => boolean {
  if (match === undefined) return () => true;
  const rules = Object.entries(match).map(
    ([tag, want]) => [tag, typeof want === 'string' ? [want] : want] as const,
  );
  return (record) => {
    for (const [tag, allowed] of rules) {
      const value = record.tags[tag];
      if (value === undefined || !allowed.includes(value)) return false;
    }
    return true;
  };
}
