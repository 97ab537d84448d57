/**
 * The Comparison `holdout compare` renders, and the settings it was made with. The JSON output is
 * this shape: fields are only added; a rename, removal or change of meaning bumps `version`.
 */
import type { CompareRows, ServedModel } from '../pairing/pairing.js';
import type { Projection } from '../report/projection.js';
import type { McNemar, PairedT, Wilcoxon } from '../stats/paired.js';
import type { RunRow } from '../store/store.js';

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

export interface CompareSettings {
  /** One-sided level of every gating test; intervals are at confidence 1 − 2α (95% at 0.025). */
  alpha: number;
  /** Non-inferiority margin m, absolute (0.03 = 3 points of pass rate). */
  margin: number;
  /** Tag to slice by (records.tags_json). */
  by?: string;
  /** Tag whose values are clusters: t tests use the CR1 clustered SE on C − 1 df. */
  cluster?: string;
  /** Seed of the paired bootstrap. */
  seed: number;
  /** Bootstrap resamples (10,000). */
  resamples: number;
}

export interface Estimate {
  /** B − A. */
  delta: number;
  lo: number;
  hi: number;
  /**
   * 'tango': Tango score interval (binary, one call per prompt); else a t interval, clipped to
   * [−1, 1] where the difference lives (coverage unchanged). The unclipped t interval is in the
   * metric's `t` (the test's own figures).
   */
  method: 'tango' | 't' | 'clustered-t';
}

export interface NonInferiority {
  margin: number;
  /** z(−m) from Tango (binary, K = 1) or t = (d̄ + m)/SE. */
  statistic: number;
  /** One-sided p for H0: Δ ≤ −m. */
  p: number;
  test: 'tango-z' | 't';
}

export interface BinaryMetric {
  kind: 'binary';
  name: string;
  /** 'call': one paired call per prompt; 'prompt': repeats averaged per prompt first. */
  unit: 'call' | 'prompt';
  /** The test that gates: exact McNemar, or the paired t on per-unit differences. */
  test: 'mcnemar' | 'paired-t' | 'clustered-t';
  /** Units: pairs (unit 'call') or prompts. */
  n: number;
  /** Paired calls behind the units. */
  calls: number;
  clusters: number | null;
  rateA: number;
  rateB: number;
  /** Unit 'call': discordant pairs. Unit 'prompt': prompts whose pass share fell (b) or rose (c). */
  b: number;
  c: number;
  estimate: Estimate;
  /** Exact, mid-p and χ² McNemar (unit 'call'); informational when the test is a clustered t. */
  mcnemar: McNemar | null;
  t: PairedT | null;
  /** One-sided p for "B worse" of the gating test. */
  pWorse: number;
  nonInferiority: NonInferiority;
  /** This metric's own verdict at α, unadjusted. */
  verdict: Verdict;
}

export interface Resampled {
  /** 'bootstrap': seeded paired bootstrap; 'normal': t interval / delta method (n > 20,000). */
  method: 'bootstrap' | 'normal';
  estimate: number;
  /** The interval to read: BCa when defined, else percentile; or the normal interval. */
  lo: number;
  hi: number;
  percentile: { lo: number; hi: number } | null;
  bca: { lo: number; hi: number } | null;
  resamples: number | null;
  seed: number | null;
}

export interface ContinuousMetric {
  kind: 'continuous';
  name: string;
  unit: 'call' | 'prompt';
  test: 'paired-t' | 'clustered-t';
  n: number;
  clusters: number | null;
  meanA: number;
  meanB: number;
  estimate: Estimate;
  t: PairedT;
  pWorse: number;
  nonInferiority: NonInferiority;
  /** Mean difference by the paired bootstrap (robustness); null on slices. */
  bootstrap: Resampled | null;
  /** Wilcoxon signed-rank on the differences (robustness); null on slices. */
  wilcoxon: Wilcoxon | null;
  /** Never gates the exit code: shown for reading. */
  verdict: Verdict;
}

export interface ResourceMetric {
  kind: 'informational';
  name: 'cost' | 'latency';
  unit: 'call' | 'prompt';
  /** Units with a value on both sides. */
  n: number;
  meanA: number;
  meanB: number;
  /** mean(B)/mean(A). */
  ratio: Resampled;
  /** mean(B) − mean(A). */
  diff: Resampled;
  wilcoxon: Wilcoxon;
}

export interface GateEntry {
  id: string;
  kind: 'pass' | 'scorer' | 'slice';
  /** Unadjusted one-sided p for "B worse" (NaN counted as 1). */
  p: number;
  pHolm: number;
  pBH: number;
  verdict: Verdict;
  /** BH-adjusted p < α without a FAIL: worth a look, not a gate. */
  flagged: boolean;
}

export interface ScorerComparison {
  scorer: string;
  pass: BinaryMetric;
  /** Present when a value other than 0 and 1 occurs. */
  value: ContinuousMetric | null;
  /** Holm/BH over the gate family (see Comparison.gate). */
  pHolm: number;
  pBH: number;
  verdict: Verdict;
  flagged: boolean;
}

export interface SliceComparison {
  /** The tag value; '(none)' for records without the tag. */
  value: string;
  n: number;
  /** n ≥ 30: part of the gate family. */
  gated: boolean;
  pass: BinaryMetric;
  score: ContinuousMetric | null;
  pHolm: number | null;
  pBH: number | null;
  verdict: Verdict | 'DESCRIPTIVE';
  flagged: boolean;
}

export interface Flip {
  recordId: string;
  tags: Record<string, string>;
  /** The repeat the excerpts come from. */
  repeat: number;
  /** 1/0 (one call per prompt) or the prompt's pass share over its paired repeats. */
  passA: number;
  passB: number;
  /** Single-line excerpts (~100 characters) of the outputs: untrusted text. */
  outputA: string;
  outputB: string;
}

export interface DriftNote {
  kind: 'sides-differ' | 'mixed-snapshots' | 'alias-moved';
  side: 'baseline' | 'candidate' | 'both';
  /** Starts with 'SNAPSHOT DRIFT: '. */
  message: string;
}

export interface CompareSide {
  /** How the report names the side: the candidate id, with its run when that is needed. */
  label: string;
  runId: number;
  suite: string;
  runStatus: RunRow['status'];
  candidate: string;
  model: string;
  servedModels: ServedModel[];
  simulated: boolean;
  calls: number;
  ok: number;
  errors: number;
}

/**
 * The comparison: what every format renders. Stable: fields are only added; a rename, removal or
 * change of meaning bumps `version`. NaN and ±Infinity are written as null in JSON.
 */
export interface Comparison {
  version: 1;
  /** The overall gate: FAIL exits 1, PASS 0, INCONCLUSIVE 0 (3 with --fail-on-inconclusive). */
  verdict: Verdict;
  /** The verdict line, plain text. */
  summary: string;
  /** Why the verdict is FAIL: the metrics or slices that failed. */
  failedBy: string[];
  simulated: boolean;
  drift: DriftNote[];
  /** Read before any figure: SIMULATED first, then SNAPSHOT DRIFT, then the power caveats. */
  warnings: string[];
  baseline: CompareSide;
  candidate: CompareSide;
  settings: CompareSettings & { confidence: number };
  pairing: {
    items: number;
    paired: number;
    dropped: CompareRows['dropped'];
    /** Paired items left out of the pass metric: unscored on A, on B, on either. */
    unscored: { a: number; b: number; pairs: number };
    unit: 'call' | 'prompt';
    prompts: number;
    /** The most paired repeats of one prompt. */
    repeats: number;
  };
  metrics: {
    pass: BinaryMetric;
    score: ContinuousMetric | null;
    scorers: ScorerComparison[];
    cost: ResourceMetric | null;
    latency: ResourceMetric | null;
  };
  /** Holm (gating) and Benjamini–Hochberg (flagging) over: pass + each scorer's pass + slices n ≥ 30. */
  gate: GateEntry[];
  slices: { by: string; slices: SliceComparison[] } | null;
  /**
   * The flipped records in the order A's calls were stored (the runner stores them in about
   * dataset order). `counts` are always complete; the lists hold the first `listed` of each (all
   * unless the caller asked for fewer: the CLI lists all in JSON, 20 in the other formats).
   */
  flips: {
    counts: { regressions: number; fixes: number };
    listed: number | 'all';
    regressions: Flip[];
    fixes: Flip[];
  };
  power: {
    /** 'connor': McNemar sample-size formula at ψ; 'normal-se': from the observed SE of the t test. */
    method: 'connor' | 'normal-se';
    /** Share of discordant pairs (b + c)/n; null for the t-based method. */
    psi: number | null;
    /** Smallest |Δ| detected with power 0.8 by a two-sided test at 2α; null when undefined. */
    mde: number | null;
    /** Power to show non-inferiority at the margin when the true Δ is 0. */
    powerAtMargin: number | null;
    /**
     * How powerAtMargin was computed: 'exact' (the Tango non-inferiority test's rejection probability
     * summed over every (b, c) at p10 = p01 = ψ/2; used when fewer than 25 pairs are expected to be
     * discordant, where the approximation is optimistic) or 'normal-approximation' (Φ(m·√(n/ψ) −
     * z_{1−α}) for McNemar pairs; from the observed SE for the t test). Null when powerAtMargin is.
     */
    powerMethod: 'exact' | 'normal-approximation' | null;
    /** nψ = b + c: the discordant pairs expected at the observed ψ; null for the t-based method. */
    expectedDiscordant: number | null;
  };
  /** `--project`: A, B and B − A at the production mix and volume; absent without it. */
  projection?: Projection;
  notes: string[];
  /**
   * The compared pair is the one its run stopped early on (`holdout run --until-decided`): the
   * sequential verdict, which `verdict` then follows. Null or absent otherwise. Versioned on its own.
   */
  sequential?: SequentialSection | null;
}

/**
 * The sequential section (results/compare/sequential.ts) of a comparison of the pair a run stopped
 * early on.
 */
export interface SequentialSection {
  /** Stable: fields are only added; a rename, removal or change of meaning bumps it. */
  version: 1;
  runId: number;
  baseline: string;
  candidate: string;
  settings: { alpha: number; margin: number; c: number; seed: number; confidence: number };
  /**
   * The gate: FAIL when the FAIL wealth ever reached 1/α (also after a PASS, on calls folded in),
   * else PASS when the PASS wealth did; INCONCLUSIVE when neither, with the whole sample fed or the
   * run not (yet) decided (`decided` false: resume the run).
   */
  verdict: Verdict;
  decided: boolean;
  /** Where the run stopped: the first crossing in the replay. Null when no claim was shown. */
  stop: { verdict: 'PASS' | 'FAIL'; records: number; prompts: number } | null;
  /** What the run stored when it stopped (null: not decided). */
  stored: { verdict: Verdict; records: number; prompts: number; at: string } | null;
  /** The run's records, records of the order fed (a contiguous head), pairs fed, records left out unscored. */
  records: number;
  recordsFed: number;
  promptsFed: number;
  unscored: number;
  /** Pairs fed after the stop: the calls that were in flight. */
  folded: number;
  /** Mean paired difference over the pairs fed (biased away from 0 at a data-dependent stop: read the CS). */
  mean: number | null;
  /** Anytime-valid, at confidence 1 − 2α. */
  confidenceSequence: { lo: number; hi: number };
  /** min(1, 1/max E): "B worse" (the FAIL claim) and "B non-inferior at the margin" (the PASS claim). */
  pValues: { worse: number; nonInferior: number };
  /** max_{s≤t} E_s of each claim. */
  wealth: { fail: number; pass: number };
  notes: string[];
}
