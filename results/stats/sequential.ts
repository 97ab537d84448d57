/**
 * Anytime-valid early stopping by betting (SEQUENTIAL.md §1). Per claim a wealth process starts at 1
 * and bets on each paired difference d_t = B_t − A_t ∈ [−1, 1]; under the claim's null it is a
 * nonnegative supermartingale, so P(ever ≥ 1/α) ≤ α however often it is looked at (Ville). Each
 * claim's wealth is the mean of two bets: aGRAPA (Waudby-Smith & Ramdas 2023) and a fixed bet sized
 * for an effect of the margin m. Wealth lives in logs (log1p, log-sum-exp): thousands of factors
 * neither overflow nor underflow.
 *
 * Claims: FAIL (B worse), Δ < 0, is the process (δ = 0, σ = −1); PASS (non-inferior), Δ > −m, is
 * (δ = −m, σ = +1). State updates are O(1) per pair, so the runner decides after every record; the
 * confidence sequence needs the whole path (bisection over δ, each step a replay) and is for display.
 * Pure, no I/O; the state object is mutated in place (the benchmark steps it millions of times).
 */
import { mulberry32 } from '../../harness/random.js';

export interface SequentialSettings {
  /** One-sided level per claim (0.025): a claim is shown when its wealth reaches 1/α. */
  alpha: number;
  /** Non-inferiority margin m, absolute (0.03); also the effect the fixed bet is sized for. */
  margin: number;
  /** Bet cap c (0.9): every factor is at least 1 − c, so wealth stays positive. */
  c: number;
}

export const SEQUENTIAL_DEFAULTS: Readonly<SequentialSettings> = { alpha: 0.025, margin: 0.03, c: 0.9 };

export type SequentialVerdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

/** One claim's wealth: the two bets' log wealth and log max_{s≤t} E_s (E_0 = 1 counts: starts at 0). */
export interface Wealth {
  delta: number;
  sign: 1 | -1;
  logG: number;
  logM: number;
  logMax: number;
}

export interface SequentialState {
  settings: SequentialSettings;
  /** Pairs fed. */
  t: number;
  /** Σ d_i. */
  sum: number;
  /** Σ (d_i − d̄_i)², d̄_i = Σ_{j≤i} d_j/(i + 1) (the running mean with a prior 0 counted once). */
  sq: number;
  fail: Wealth;
  pass: Wealth;
  /** The first pair after which a claim reached 1/α (FAIL when both did at once): where a run stops. */
  decided: { verdict: 'PASS' | 'FAIL'; t: number } | null;
}

export function checkSequentialSettings(s: SequentialSettings): void {
  if (!(s.alpha > 0 && s.alpha < 0.5)) throw new RangeError(`alpha must be in (0, 0.5), got ${s.alpha}`);
  if (!(s.margin > 0 && s.margin < 1)) throw new RangeError(`margin must be in (0, 1), got ${s.margin}`);
  if (!(s.c > 0 && s.c < 1)) throw new RangeError(`c must be in (0, 1), got ${s.c}`);
}

function wealth(delta: number, sign: 1 | -1): Wealth {
  return { delta, sign, logG: 0, logM: 0, logMax: 0 };
}

export function startSequential(settings: SequentialSettings = SEQUENTIAL_DEFAULTS): SequentialState {
  checkSequentialSettings(settings);
  return {
    settings: { ...settings },
    t: 0,
    sum: 0,
    sq: 0,
    fail: wealth(0, -1),
    pass: wealth(-settings.margin, 1),
    decided: null,
  };
}

const LN2 = Math.LN2;

function clip(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

/** log((e^a + e^b)/2). */
function logMean(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  return hi + Math.log1p(Math.exp(lo - hi)) - LN2;
}

/** One claim's bets on d, sized from the moments of d_1..d_{t−1} (mean, s2), then its wealth. */
function bet(w: Wealth, d: number, mean: number, s2: number, s: SequentialSettings): void {
  const g = w.sign * (mean - w.delta);
  const cap = s.c / (1 + w.sign * w.delta);
  const lg = clip(g / (s2 + g * g), 0, cap);
  const lm = clip(s.margin / (s2 + s.margin * s.margin), 0, cap);
  const x = w.sign * (d - w.delta);
  w.logG += Math.log1p(lg * x);
  w.logM += Math.log1p(lm * x);
  const logE = logMean(w.logG, w.logM);
  if (logE > w.logMax) w.logMax = logE;
}

function checkD(d: number): void {
  if (!(d >= -1 && d <= 1)) throw new RangeError(`a paired difference must be in [-1, 1], got ${d}`);
}

/** Whether a claim's wealth has reached 1/α at some s ≤ t. */
function crossed(w: Wealth, alpha: number): boolean {
  return w.logMax >= -Math.log(alpha);
}

/** Feeds one paired difference: both claims bet, then the shared moments and the decision update. */
export function stepSequential(state: SequentialState, d: number): SequentialState {
  checkD(d);
  const s = state.settings;
  const mean = state.sum / (state.t + 1);
  const s2 = (1 + state.sq) / (state.t + 1);
  bet(state.fail, d, mean, s2, s);
  bet(state.pass, d, mean, s2, s);
  state.t++;
  state.sum += d;
  const r = d - state.sum / (state.t + 1);
  state.sq += r * r;
  if (state.decided === null) {
    // Both at the same pair: FAIL (a regression outranks non-inferiority).
    if (crossed(state.fail, s.alpha)) state.decided = { verdict: 'FAIL', t: state.t };
    else if (crossed(state.pass, s.alpha)) state.decided = { verdict: 'PASS', t: state.t };
  }
  return state;
}

/** Replays a path of paired differences from the start. */
export function replaySequential(
  ds: ArrayLike<number>,
  settings: SequentialSettings = SEQUENTIAL_DEFAULTS,
): SequentialState {
  const state = startSequential(settings);
  for (let i = 0; i < ds.length; i++) stepSequential(state, ds[i]!);
  return state;
}

/**
 * The verdict after the pairs fed so far. FAIL whenever the FAIL wealth has reached 1/α (also after
 * a PASS: keeping on after PASS and failing on a later crossing is still valid, SEQUENTIAL.md), else
 * PASS when the PASS wealth has; else INCONCLUSIVE once the whole sample is in, and null before.
 */
export function sequentialVerdict(state: SequentialState, exhausted: boolean): SequentialVerdict | null {
  if (crossed(state.fail, state.settings.alpha)) return 'FAIL';
  if (crossed(state.pass, state.settings.alpha)) return 'PASS';
  return exhausted ? 'INCONCLUSIVE' : null;
}

/** Anytime p-values, min(1, 1/max_{s≤t} E_s): "B worse" (FAIL claim) and "non-inferior" (PASS claim). */
export function anytimePValues(state: SequentialState): { worse: number; nonInferior: number } {
  return {
    worse: Math.min(1, Math.exp(-state.fail.logMax)),
    nonInferior: Math.min(1, Math.exp(-state.pass.logMax)),
  };
}

/** log max_{s≤t} E_s(δ, σ) over a path: one replay. */
function maxLogWealth(ds: ArrayLike<number>, delta: number, sign: 1 | -1, s: SequentialSettings): number {
  const w = wealth(delta, sign);
  let t = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    bet(w, d, sum / (t + 1), (1 + sq) / (t + 1), s);
    t++;
    sum += d;
    const r = d - sum / (t + 1);
    sq += r * r;
  }
  return w.logMax;
}

/** Bisection steps: the bound to 2·2⁻³⁰ ≈ 2e-9, far below what is printed. */
const BISECTIONS = 30;

/**
 * The confidence sequence at level 1 − 2α after the path `ds` (95% at α = 0.025):
 * L = sup{δ : max_s E_s(δ, +1) ≥ 1/α}, U = inf{δ : max_s E_s(δ, −1) ≥ 1/α}, each by bisection on
 * (−1, 1) with a replay per step (rejection is monotone in δ in practice). Empty path: [−1, 1].
 * PASS ⇔ lo > −m and FAIL ⇔ hi < 0, up to the bisection's precision.
 */
export function confidenceSequence(
  ds: ArrayLike<number>,
  settings: SequentialSettings = SEQUENTIAL_DEFAULTS,
): { lo: number; hi: number } {
  checkSequentialSettings(settings);
  const bar = -Math.log(settings.alpha);
  const rejects = (delta: number, sign: 1 | -1) => maxLogWealth(ds, delta, sign, settings) >= bar;
  // Lower bound: "Δ > δ" is shown for every δ below it.
  let a = -1;
  let b = 1;
  for (let i = 0; i < BISECTIONS; i++) {
    const mid = (a + b) / 2;
    if (rejects(mid, 1)) a = mid;
    else b = mid;
  }
  const lo = a;
  // Upper bound: "Δ < δ" is shown for every δ above it.
  a = -1;
  b = 1;
  for (let i = 0; i < BISECTIONS; i++) {
    const mid = (a + b) / 2;
    if (rejects(mid, -1)) b = mid;
    else a = mid;
  }
  return { lo, hi: b };
}

/**
 * A prompt's paired difference from its calls' pass values (1 pass, 0 fail or error, NaN unscored):
 * the mean over A's scored repeats subtracted from B's (repeats are averaged per prompt first). Null
 * when either side has no scored call: the prompt is left out, as the fixed-n gate leaves it out.
 */
export function promptDifference(passA: readonly number[], passB: readonly number[]): number | null {
  const mean = (xs: readonly number[]) => {
    let n = 0;
    let sum = 0;
    for (const x of xs) {
      if (Number.isNaN(x)) continue;
      n++;
      sum += x;
    }
    return n === 0 ? null : sum / n;
  };
  const a = mean(passA);
  const b = mean(passB);
  return a === null || b === null ? null : b - a;
}

/**
 * The order a run issues and feeds its records in: a Fisher–Yates shuffle of 0..n−1 driven by
 * mulberry32(seed). Committed before the first call (SEQUENTIAL.md pitfall 1: feeding in completion
 * order lets latency, which tracks difficulty, choose what enters first).
 */
export function seededOrder(n: number, seed: number): number[] {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`n must be a whole number, got ${n}`);
  const order = Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const x = order[i]!;
    order[i] = order[j]!;
    order[j] = x;
  }
  return order;
}
