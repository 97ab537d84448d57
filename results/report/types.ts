/**
 * The report model: what `buildReport` and `buildTrend` produce and every renderer (results/render/)
 * reads. Plain data; stable field names (see RunReport's version note).
 */
import type { HumanGrades } from './grades.js';
import type { AgreementReport, LabelReport } from './labels.js';
import type { Projection, ProjectionSources } from './projection.js';

export type { HumanGrades } from './grades.js';

export type {
  AgreementFigures,
  AgreementReport,
  LabelCandidateReport,
  LabelReport,
} from './labels.js';

/** Interval of a pass rate, as a share in [0, 1]. */
export interface PassRate {
  /**
   * 'wilson': Wilson score interval over scored calls (one sample per call).
   * 'per-prompt-t': each prompt's repeats are averaged first, then a t interval over prompts,
   * clipped to [0, 1] (STATS.md: repeats are never independent samples).
   */
  method: 'wilson' | 'per-prompt-t';
  /** Units the interval is over: scored calls ('wilson') or prompts with a scored call. */
  n: number;
  p: number;
  lo: number;
  hi: number;
}

/**
 * t interval of the mean score; over calls, or over per-prompt means when the run has repeats. Scores
 * lie in [0, 1], so the interval is clipped to [0, 1] (the true mean is always inside, so coverage is
 * unchanged); NaN bounds (fewer than 2 units) stay NaN.
 */
export interface MeanScore {
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

/**
 * A type-7 percentile with its distribution-free 95% interval from order statistics (percentileCI):
 * a bound is null ("unbounded") when the sample is too small to give it, e.g. the upper bound of
 * p95 below 72 values and of p99 below 368.
 */
export interface Quantile {
  /** The type-7 estimate; null without values. */
  value: number | null;
  lo: number | null;
  hi: number | null;
  /** Both bounds finite. */
  bounded: boolean;
}

export interface ScorerReport {
  scorer: string;
  /** Score rows with a value. */
  scored: number;
  /** Score rows where the scorer could not judge (value NULL). */
  unscored: number;
  /** Scored rows that passed. */
  passes: number;
  passRate: PassRate;
  /** Mean value over scored rows (per-prompt means first when the run has repeats). */
  meanValue: number;
}

/** The figures of one candidate over a set of its calls: the whole run, or one slice of it. */
export interface Figures {
  /** Rows in the calls table (ok + errors), role 'candidate' only. */
  calls: number;
  ok: number;
  errors: number;
  /** error_kind → count; errors without a kind count as 'unknown'. */
  errorsByKind: Record<string, number>;
  /** Calls that needed more than one attempt. */
  retried: number;
  /** Calls with at least one non-null score. Errored calls have no scores, so they are never scored. */
  scored: number;
  /** Scored calls on which every non-null score passed. */
  passes: number;
  passRate: PassRate;
  /** A call's score is the mean of its non-null score values. */
  meanScore: MeanScore;
  /** Sum of known call costs; null when no call has a cost (no price configured). */
  totalCostUsd: number | null;
  /** totalCostUsd / calls × 1000. */
  costPer1kCalls: number | null;
  /**
   * totalCostUsd / passes: what one passing answer costs, failures and errors paid for included.
   * Null without a cost or without any pass.
   */
  costPerPass: number | null;
  /** Ok calls without a cost (no price known): the total leaves them out. */
  costUnknown: number;
  /**
   * Ok calls that stopped at the output token limit (finish_reason `length`, or `max_output_tokens`
   * on the Responses API): their answers are cut off, and scored as they are.
   */
  cutOff: number;
  /** Ok calls that the provider's content filter stopped (finish_reason `content_filter`). */
  contentFiltered: number;
  tokens: { input: number; cached: number; output: number; reasoning: number };
  /** Latency of ok calls (ms), type-7 percentiles with order-statistic 95% intervals. */
  latency: { n: number; p50: Quantile; p95: Quantile; p99: Quantile };
  /** Time to first token over ok streamed calls (ms), type-7 percentiles; null without any. */
  ttft: { n: number; p50: number | null; p95: number | null };
  /** Σ output tokens / Σ (latency − TTFT) over ok streamed calls: the speed after the first token. */
  outputTokensPerSec: number | null;
  /** Time spent waiting for a concurrency slot, outside latency. */
  queue: { totalMs: number; meanMs: number };
  /** Retry waits and failed attempts, outside latency. */
  backoff: { totalMs: number; meanMs: number };
}

export interface CandidateReport extends Figures {
  candidate: string;
  /** The model configured for the candidate. */
  model: string;
  /** What the API said it served, over ok calls that reported it; most calls first. */
  servedModels: { model: string; calls: number }[];
  /**
   * The type-7 latency percentiles 0, 1, …, 100 of ok calls (101 values; empty without any): the
   * distribution the HTML report draws, without a second read of the database.
   */
  latencyQuantiles: number[];
  scorers: ScorerReport[];
  /**
   * Reviewers' grades from `holdout view` (the newest per output): graded outputs, passes, the human
   * pass rate (Wilson). Present on every candidate only when the run has a graded output.
   */
  humanGrades?: HumanGrades;
}

/** One value of the `by` tag: the figures of every candidate over the records carrying it. */
export interface SliceReport {
  /** The tag's value as text; null for records without the tag. */
  value: string | null;
  /** Records of the run in this slice. */
  records: number;
  /** One entry per candidate, in candidate order. */
  candidates: (Figures & { candidate: string })[];
}

/** Cost and tokens of every call of one role: judges and routers are kept apart from candidates. */
export interface RoleCost {
  role: string;
  calls: number;
  /** Sum of known costs; null when none of these calls has a cost. */
  costUsd: number | null;
  tokens: { input: number; cached: number; output: number; reasoning: number };
}

/** One prompt that flipped between the baseline and a candidate. */
export interface Flip {
  recordId: string;
  /** Position of the record in the dataset; null when the records table does not have it. */
  seq: number | null;
  tags: Record<string, string>;
  /** Share of the prompt's scored ok repeats that passed: 0 or 1 without repeats. */
  baselineRate: number;
  candidateRate: number;
  /** The first ok output of each, whitespace collapsed, cut to 200 characters ('…' marks a cut). */
  baselineExcerpt: string | null;
  candidateExcerpt: string | null;
  /** The prompt's last user turn, cut the same way; null when the record has none. */
  promptExcerpt: string | null;
  /** The record's reference (its output, else its label, else the reference as JSON), cut the same way. */
  referenceExcerpt: string | null;
}

/**
 * A candidate B against the baseline A, paired per prompt (STATS.md). A prompt enters a test when
 * both have the figure on it: a scored ok call for pass rate and score, a known cost, an ok latency.
 * With repeats, each prompt's ok repeats are averaged first.
 */
export interface Comparison {
  candidate: string;
  baseline: string;
  /**
   * Δ pass rate = B − A. 'mcnemar-tango' (one sample per prompt): Tango score interval and McNemar's
   * exact two-sided p. 'paired-t' (repeats): paired t over per-prompt pass rates, clipped to [−1, 1].
   */
  passRate: {
    method: 'mcnemar-tango' | 'paired-t';
    n: number;
    delta: number;
    lo: number;
    hi: number;
    p: number;
  };
  /** Prompts that regressed (b: A passed, B failed; with repeats: B passed less often). */
  regressions: number;
  /** Prompts that B fixed (c: A failed, B passed; with repeats: B passed more often). */
  fixes: number;
  /** Δ mean score = B − A, paired t over per-prompt scores, the interval clipped to [−1, 1]; p two-sided. */
  meanScore: { n: number; delta: number; lo: number; hi: number; p: number };
  /**
   * Cost ratio B/A as a ratio of mean per-prompt costs, with a paired bootstrap interval (BCa, or
   * the percentile interval where BCa is undefined). Null without paired costs or when A cost $0.
   */
  costRatio: {
    n: number;
    ratio: number;
    lo: number;
    hi: number;
    interval: 'bca' | 'percentile';
    resamples: number;
    seed: number;
  } | null;
  /** Δ p50 latency = median(B) − median(A) over prompts both answered ok; bootstrap percentile CI. */
  latencyP50: { n: number; delta: number; lo: number; hi: number; resamples: number; seed: number } | null;
  /** The first 50 flips each way in dataset order; the counts are `regressions` and `fixes`. */
  flips: { regressions: Flip[]; fixes: Flip[] };
}

export interface RunHeader {
  id: number;
  suite: string;
  status: 'running' | 'interrupted' | 'finished';
  createdAt: string;
  finishedAt: string | null;
  datasetPath: string;
  recordCount: number;
  repeats: number;
  configPath: string | null;
}

/**
 * The report of one run: what every output format renders. Stable: fields are only added; a
 * rename, removal or change of meaning bumps `version`. Statistics that are undefined (a mean of
 * nothing, an interval from one sample) are NaN, which JSON writes as null; figures that may simply
 * be absent (cost without prices, latency without ok calls) are null.
 *
 * Version 2 (from 1):
 * - candidate `latency` is `{ n, p50, p95, p99 }` of Quantile objects (value and order-statistic
 *   interval) instead of `{ n, p50, p95 }` numbers;
 * - `ttftP50` became `ttft: { n, p50, p95 }`;
 * - added per candidate: `costPerPass`, `latencyQuantiles`; at the top: `by`, `slices`,
 *   `costByRole`, `baseline`, `comparisons`; `method.latencyInterval` and `method.bootstrap`.
 * Added later in version 2 (optional, present only when relevant): `labels`, `agreement`, candidate
 * `humanGrades`, agreement `reviewed`; flips gained `promptExcerpt` and `referenceExcerpt`.
 */
export interface RunReport {
  version: 2;
  /** True when any call of the run, of any role, was served by holdout's local simulator. */
  simulated: boolean;
  /** calls.candidate of every simulated call (judges and routers included), sorted. */
  simulatedCandidates: string[];
  /** Caveats that must be read before any figure; the SIMULATED notice comes first. */
  warnings: string[];
  run: RunHeader;
  method: {
    confidence: 0.95;
    percentiles: 'type-7';
    latencyInterval: 'order-statistic';
    passRate: PassRate['method'];
    meanScore: 'per-call-t' | 'per-prompt-t';
    /** Seed and most resamples of the paired bootstraps (fewer when n is large: see each result). */
    bootstrap: { seed: number; maxResamples: number };
  };
  /** role = 'candidate' only, in the order of the candidates table. */
  candidates: CandidateReport[];
  /** The tag the report is sliced by, or null. */
  by: string | null;
  /** One entry per value of `by`, sorted by value, records without the tag last; [] without `by`. */
  slices: SliceReport[];
  /** Cost of the run's calls by role: 'candidate', 'judge', 'router' always, then any other role. */
  costByRole: RoleCost[];
  /** The candidate the others are compared with, or null. */
  baseline: string | null;
  /** Every other candidate against `baseline`, in candidate order; [] without a baseline. */
  comparisons: Comparison[];
  /**
   * Per-class precision, recall, F1 and the confusion matrix of each `label` scorer, per candidate.
   * Absent when the run has no label scorer or no record with `reference.label`.
   */
  labels?: LabelReport[];
  /**
   * Agreement of each model-graded judge (`judge_*` kinds) with the human grades in `reference.grade`:
   * accuracy and Cohen's kappa, per candidate and pooled. Absent without a judge or a graded record.
   */
  agreement?: AgreementReport[];
  /**
   * `--project`: every candidate (and each against the baseline) at the production mix and volume
   * (results/report/projection.ts). Absent without `--project`.
   */
  projection?: Projection;
  /** Quieter caveats: what was left out and why. */
  notes: string[];
}

export interface ReportOptions {
  /** Slice every candidate's figures by the value of this record tag. */
  by?: string;
  /** Compare every other candidate with this one, paired per prompt. */
  baseline?: string;
  /** Project to production volume with this frame (what `--project` read from files). */
  projection?: ProjectionSources;
}
