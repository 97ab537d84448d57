/**
 * The benchmark's sequential section: the e-process stopping rule (results/stats/sequential.ts)
 * simulated on paired pass/fail data, seeded (mulberry32), no model calls. Measures what
 * SEQUENTIAL.md §1 promises: false FAIL ≤ α under A/A (Δ = 0, several pass rates and discordance
 * levels), false PASS ≤ α at Δ = −m, and the share of the fixed n a run uses at Δ = −10, −6, 0, +3
 * points, with the money that saves on a gpt-5.4-mini/gpt-5.5 bake-off at the bundled prices.
 *
 *   node dist/bench/sequential.js [--quick]      (also run at the end of `npm run bench`)
 */
import { fileURLToPath } from 'node:url';
import { costUsd, type PriceRule, resolvePrice } from '../harness/providers/pricing.js';
import { mulberry32 } from '../harness/random.js';
import { nonInferiorityN } from '../results/stats/power.js';
import {
  SEQUENTIAL_DEFAULTS,
  type SequentialState,
  startSequential,
  stepSequential,
} from '../results/stats/sequential.js';

/** Tokens per call assumed for the money figures: a mid-sized chat request and answer. */
const TOKENS = { input: 1500, output: 400 };
const MODELS = ['gpt-5.4-mini', 'gpt-5.5'] as const;

export interface SequentialBench {
  text: string;
  figures: Record<string, unknown>;
}

interface Cell {
  reps: number;
  fail: number;
  pass: number;
  inconclusive: number;
  /** Mean prompts fed at the stop. */
  meanUsed: number;
}

/**
 * One simulated run: pairs drawn from the joint pass/fail distribution of (A, B) with pass rate p
 * for A, discordant share ψ and true Δ = p_B − p_A (b = P(A pass, B fail) = (ψ − Δ)/2, c = (ψ + Δ)/2),
 * fed until a decision or nMax.
 */
function simulate(
  rnd: () => number,
  psi: number,
  delta: number,
  nMax: number,
  state: () => SequentialState,
): { verdict: 'PASS' | 'FAIL' | 'INCONCLUSIVE'; used: number } {
  const b = (psi - delta) / 2;
  const c = (psi + delta) / 2;
  const st = state();
  for (let t = 0; t < nMax; t++) {
    const u = rnd();
    stepSequential(st, u < b ? -1 : u < b + c ? 1 : 0);
    if (st.decided) return { verdict: st.decided.verdict, used: st.t };
  }
  return { verdict: 'INCONCLUSIVE', used: nMax };
}

/** Scores in [0, 1] with Δ = 0: a prompt difficulty q ~ U(0, 1), each side q plus its own noise. */
function simulateScores(rnd: () => number, noise: number, nMax: number): { verdict: string; used: number } {
  const st = startSequential(SEQUENTIAL_DEFAULTS);
  const side = (q: number) => Math.min(1, Math.max(0, q + noise * (rnd() + rnd() + rnd() - 1.5)));
  for (let t = 0; t < nMax; t++) {
    const q = rnd();
    stepSequential(st, side(q) - side(q));
    if (st.decided) return { verdict: st.decided.verdict, used: st.t };
  }
  return { verdict: 'INCONCLUSIVE', used: nMax };
}

function cell(results: { verdict: string; used: number }[]): Cell {
  const n = results.length;
  return {
    reps: n,
    fail: results.filter((r) => r.verdict === 'FAIL').length / n,
    pass: results.filter((r) => r.verdict === 'PASS').length / n,
    inconclusive: results.filter((r) => r.verdict === 'INCONCLUSIVE').length / n,
    meanUsed: results.reduce((s, r) => s + r.used, 0) / n,
  };
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const usd = (x: number) => `$${x.toFixed(2)}`;

export function sequentialBench(opts: { quick?: boolean } = {}): SequentialBench {
  const t0 = performance.now();
  const reps = opts.quick ? 1000 : 2000;
  const { alpha, margin } = SEQUENTIAL_DEFAULTS;
  const mcError = (p: number) => 2 * Math.sqrt((p * (1 - p)) / reps);
  const lines: string[] = [];
  const figures: Record<string, unknown> = { reps, alpha, margin, c: SEQUENTIAL_DEFAULTS.c };
  const fresh = () => startSequential(SEQUENTIAL_DEFAULTS);

  // A/A: Δ = 0. On pass/fail pairs only the discordant share moves d; the pass rate bounds it (ψ/2 ≤ p, 1 − p).
  const aa: { label: string; cell: Cell; within: boolean }[] = [];
  let seed = 1;
  for (const p of [0.5, 0.8, 0.95]) {
    for (const psi of [0.05, 0.15, 0.3]) {
      if (psi / 2 > Math.min(p, 1 - p)) continue;
      const nFix = nonInferiorityN(psi, margin);
      const rnd = mulberry32(seed++);
      const c = cell(Array.from({ length: reps }, () => simulate(rnd, psi, 0, 2 * nFix, fresh)));
      aa.push({ label: `pass ${pct(p, 0)}, ψ ${psi}`, cell: c, within: c.fail <= alpha + mcError(alpha) });
    }
  }
  {
    const rnd = mulberry32(seed++);
    const c = cell(Array.from({ length: reps }, () => simulateScores(rnd, 0.4, 2000)));
    aa.push({ label: 'scores, noise sd ≈ .2', cell: c, within: c.fail <= alpha + mcError(alpha) });
  }
  const worstAA = Math.max(...aa.map((x) => x.cell.fail));
  lines.push(
    `A/A (Δ = 0), ${reps} runs each, n_max = 2·n_fix: false FAIL ${aa.map((x) => `${x.label}: ${pct(x.cell.fail)}`).join('; ')}` +
      ` — worst ${pct(worstAA)} vs α ${pct(alpha)} (+2 SE ${pct(mcError(alpha))}): ${aa.every((x) => x.within) ? 'within' : 'ABOVE'}`,
  );
  figures.aa = aa.map((x) => ({ case: x.label, ...x.cell, withinAlpha: x.within }));

  // Δ = −m: a false PASS is the other error the gate must bound.
  const psi = 0.15;
  const nFix = nonInferiorityN(psi, margin);
  // One generator for the whole cell, so the runs are independent draws.
  const rndMargin = mulberry32(900);
  const falsePass = cell(
    Array.from({ length: reps }, () => simulate(rndMargin, psi, -margin, 2 * nFix, fresh)),
  );
  lines.push(
    `Δ = −${margin * 100} points (ψ ${psi}): false PASS ${pct(falsePass.pass)} vs α ${pct(alpha)} (+2 SE ${pct(mcError(alpha))}): ${falsePass.pass <= alpha + mcError(alpha) ? 'within' : 'ABOVE'}`,
  );
  figures.falsePass = falsePass;

  // Expected sample size: SEQUENTIAL.md's table (ψ 0.15, n_fix = 1,309 for 80% power at Δ = 0).
  const prices = MODELS.map((m) => resolvePrice(m) as PriceRule);
  const perPrompt = prices.reduce(
    (s, rule) =>
      s +
      costUsd(
        { inputTokens: TOKENS.input, cachedTokens: 0, outputTokens: TOKENS.output, reasoningTokens: 0 },
        rule,
      ),
    0,
  );
  const fixedCost = perPrompt * nFix;
  const shareTable: Record<string, unknown>[] = [];
  const reference: Record<string, number> = { '-0.1': 0.11, '-0.06': 0.3, '0': 0.98, '0.03': 0.32 };
  for (const delta of [-0.1, -0.06, 0, 0.03]) {
    const rnd = mulberry32(1000 + Math.round(delta * 1000));
    const c = cell(Array.from({ length: reps }, () => simulate(rnd, psi, delta, 2 * nFix, fresh)));
    const share = c.meanUsed / nFix;
    const saved = (1 - share) * fixedCost;
    shareTable.push({ delta, ...c, share, savedUsd: saved, reference: reference[String(delta)] });
    const points = `${delta > 0 ? '+' : ''}${Math.round(delta * 100)}`;
    lines.push(
      `Δ ${points.padStart(3)} points: ${Math.round(c.meanUsed)} prompts = ${share.toFixed(2)}·n_fix (reference simulation ${reference[String(delta)]}); ` +
        `FAIL ${pct(c.fail)}, PASS ${pct(c.pass)}, INCONCLUSIVE ${pct(c.inconclusive)}; ` +
        `saves ${saved >= 0 ? usd(saved) : `−${usd(-saved)}`} of ${usd(fixedCost)} per bake-off`,
    );
  }
  figures.expectedSampleSize = { psi, nFix, nMax: 2 * nFix, table: shareTable };
  figures.money = {
    models: MODELS,
    tokensPerCall: TOKENS,
    usdPerPrompt: perPrompt,
    fixedBakeOffUsd: fixedCost,
  };
  lines.push(
    `money: ${MODELS.join(' vs ')} at the bundled prices, ${TOKENS.input} input + ${TOKENS.output} output tokens a call: ` +
      `${usd(perPrompt * 1000)} per 1,000 prompts; the fixed bake-off of n_fix = ${nFix} costs ${usd(fixedCost)}`,
  );
  const seconds = (performance.now() - t0) / 1000;
  figures.seconds = seconds;
  lines.push(`simulated in ${seconds.toFixed(1)} s`);
  return { text: `${lines.map((l) => `(seq) ${l}`).join('\n')}\n`, figures };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(sequentialBench({ quick: process.argv.includes('--quick') }).text);
}
