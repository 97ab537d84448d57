import type { z } from 'zod';
import type { HoldoutRecord } from '../datasets/record.js';
import type { JudgedCall, JudgeService } from './judge/service.js';

/** What a candidate produced for one record: what scorers look at. */
export interface CallOutput {
  text: string;
  /** Tool calls in a neutral shape: Chat `tool_calls` and Responses `function_call` items alike. */
  toolCalls: { name: string; arguments: string }[];
}

/**
 * A scorer's verdict. `value` in [0, 1], or null when the scorer cannot judge this record
 * ("unscored": e.g. no reference label), which is never the same as 0.
 */
export interface Score {
  value: number | null;
  passed: boolean | null;
  detail?: string;
}

export interface ScoreInput {
  record: HoldoutRecord;
  output: CallOutput;
  /** Which stored call the output is: given when scoring a run's calls (judges need it). */
  call?: JudgedCall;
}

export interface Scorer {
  /** Unique within a run: the name scores are stored under. */
  readonly name: string;
  /**
   * Scored after the run's candidate calls, from the stored outputs (model-graded scorers: they make
   * calls of their own and may need other candidates' outputs). Default: scored as each call finishes.
   */
  readonly deferred?: boolean;
  score(input: ScoreInput): Score | Promise<Score>;
}

/** What a factory may need from the run besides its options. */
export interface ScorerContext {
  /** Directory that relative paths in scorer options (e.g. `schema_file`) resolve against: the config's. */
  baseDir?: string;
  /** The run's judges: what model-graded scorers call. */
  judges?: JudgeService;
}

/** Builds a scorer from its validated options; `args` is the options' zod schema. */
export interface ScorerFactory<A> {
  readonly kind: string;
  readonly description: string;
  readonly args: z.ZodType<A>;
  /** May throw on bad options that zod cannot see (unreadable files, invalid schemas): a config error. */
  create(name: string, args: A, ctx?: ScorerContext): Scorer;
}

export const UNSCORED = (detail: string): Score => ({ value: null, passed: null, detail });
