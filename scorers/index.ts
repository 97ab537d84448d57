import { z } from 'zod';
import type { HoldoutRecord } from '../datasets/record.js';
import { HarnessError } from '../harness/errors.js';
import { FormatArgs, format } from './format.js';
import { JsonArgs, json } from './json.js';
import { LabelArgs, label } from './label.js';
import { ExactArgs, exact, NormalizedArgs, normalized } from './match.js';
import { NumericArgs, numeric } from './numeric.js';
import { BleuArgs, bleu, LevenshteinArgs, levenshtein, RougeLArgs, rouge_l } from './similarity.js';
import { ContainsArgs, contains, RegexArgs, regex } from './text.js';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';

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
  contains,
  regex,
  numeric,
  levenshtein,
  rouge_l,
  bleu,
  format,
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
  ContainsArgs.safeExtend({ kind: z.literal('contains'), ...common }),
  RegexArgs.safeExtend({ kind: z.literal('regex'), ...common }),
  NumericArgs.safeExtend({ kind: z.literal('numeric'), ...common }),
  LevenshteinArgs.safeExtend({ kind: z.literal('levenshtein'), ...common }),
  RougeLArgs.safeExtend({ kind: z.literal('rouge_l'), ...common }),
  BleuArgs.safeExtend({ kind: z.literal('bleu'), ...common }),
  FormatArgs.safeExtend({ kind: z.literal('format'), ...common }),
]);
export type ScorerSpec = z.infer<typeof ScorerSpec>;
export type ScorerSpecInput = z.input<typeof ScorerSpec>;

export interface BoundScorer {
  readonly name: string;
  /** The spec with its resolved `name`: store it so that the run can be recreated. */
  readonly spec: ScorerSpec;
  appliesTo(record: HoldoutRecord): boolean;
  /** Never rejects: a throwing scorer yields an unscored `scorer error: …` score. */
  score(input: ScoreInput): Promise<Score>;
}

/**
 * Builds the run's scorers from validated specs. Throws a CONFIG_INVALID HarnessError on
 * duplicate names or options a factory rejects (unreadable schema file, invalid schema).
 */
export function buildScorers(specs: readonly ScorerSpec[], ctx: { baseDir: string }): BoundScorer[] {
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
  return specs.map((spec, i) => {
    const name = spec.name ?? spec.kind;
    // Factories read only their own options from the spec; the common fields are ours.
    const factory = SCORER_FACTORIES[spec.kind] as ScorerFactory<ScorerSpec>;
    let scorer: Scorer;
    try {
      scorer = factory.create(name, spec, ctx);
    } catch (e) {
      const message = `scorers[${i}] (${spec.kind} "${name}"): ${e instanceof Error ? e.message : String(e)}`;
      throw new HarnessError('CONFIG_INVALID', message, { cause: e });
    }
    return bindScorer(scorer, { ...spec, name });
  });
}

/** Wraps a scorer with the spec's tag filter, threshold and error capture. Exported for custom scorers. */
export function bindScorer(scorer: Scorer, spec: ScorerSpec): BoundScorer {
  const threshold = spec.threshold ?? 1;
  return {
    name: scorer.name,
    spec,
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

function tagFilter(match: ScorerSpec['match']): (record: HoldoutRecord) => boolean {
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
