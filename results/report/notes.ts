/**
 * The report's caveats: the SIMULATED notice and the quieter notes on what was left out and why.
 */
import type Database from 'better-sqlite3';
import { decisionText, sequentialOf } from '../store/sequential.js';
import type { RunRow } from '../store/store.js';
import { MAX_RESAMPLES } from './baseline.js';
import type { CandidateReport, Comparison, RoleCost, SliceReport } from './types.js';

export function simulatedNotice(candidates: readonly string[]): string {
  return (
    "SIMULATED: these models were served by holdout's local simulator, not real models " +
    `(candidates: ${candidates.join(', ')})`
  );
}

/**
 * A run that stops early (`run --until-decided`) covers only the records issued before its decision,
 * in a seeded order, and its verdict is the sequential one: the report says so, and where to read it.
 */
export function sequentialNotes(db: Database.Database, run: RunRow): string[] {
  const seq = sequentialOf(db, run.id);
  if (!seq) return [];
  const pair = `${seq.candidate} against ${seq.baseline}`;
  const how = `holdout compare --run ${run.id} --baseline ${seq.baseline} --candidate ${seq.candidate}`;
  if (seq.verdict === null || seq.records_used === null) {
    return [
      `Stopping early on ${pair} (run --until-decided): not decided yet; records are issued in a seeded random order, so figures cover a random part of the sample.`,
    ];
  }
  return [
    `Stopped early on ${pair}: ${decisionText(seq.verdict, seq.records_used, run.record_count)}; ` +
      `figures cover the records issued before the stop. The verdict is the sequential one: ${how}.`,
  ];
}

export function notes(
  run: RunRow,
  candidates: CandidateReport[],
  slices: SliceReport[],
  costByRole: RoleCost[],
  comparisons: Comparison[],
  stray: string[],
): string[] {
  const out: string[] = [];
  if (run.status !== 'finished')
    out.push(`The run is ${run.status}: figures cover only the calls stored so far.`);
  if (run.repeats > 1) {
    out.push(
      `${run.repeats} repeats per prompt: pass rates and mean scores average each prompt's repeats first, ` +
        'then take a t interval over prompts.',
    );
  }
  if (run.record_count < 100) {
    out.push(
      `Only ${run.record_count} prompts (fewer than 100): intervals are wide, read differences with care.`,
    );
  }
  for (const c of candidates) {
    if (c.errors > 0) {
      out.push(
        `${c.candidate}: ${calls(c.errors, 'errored')} left out of its pass rate (errors are not scored).`,
      );
    }
    if (c.costUnknown > 0) {
      out.push(
        `${c.candidate}: cost unknown for ${calls(c.costUnknown, 'ok')}, left out of its cost figures.`,
      );
    }
    if (c.cutOff > 0) {
      out.push(
        `${c.candidate}: ${c.cutOff} of ${calls(c.ok, 'ok')} stopped at the output token limit ` +
          '(finish_reason length / max_output_tokens): those answers are cut off and scored as they are. ' +
          'Reasoning tokens count toward max_completion_tokens / max_output_tokens; raise it to score whole answers.',
      );
    }
    if (c.contentFiltered > 0) {
      out.push(
        `${c.candidate}: ${c.contentFiltered} of ${calls(c.ok, 'ok')} stopped by the provider's content filter ` +
          '(finish_reason content_filter), scored as they are.',
      );
    }
    const unscored = c.ok - c.scored;
    if (unscored > 0) {
      out.push(`${c.candidate}: ${calls(unscored, 'ok')} without a usable score left out of its pass rate.`);
    }
  }
  const unbounded = (p: 'p95' | 'p99', min: number) => {
    const short = candidates.filter((c) => c.latency.n > 0 && !c.latency[p].bounded).map((c) => c.candidate);
    if (short.length > 0) {
      out.push(
        `Latency ${p} intervals need about ${min} ok calls for a finite upper bound; ` +
          'shown as unbounded for ' +
          `${short.join(', ')}.`,
      );
    }
  };
  unbounded('p95', 72);
  unbounded('p99', 368);
  const others = costByRole.filter((r) => r.role !== 'candidate' && r.calls > 0);
  if (others.length > 0) {
    const parts = others.map((r) => {
      const cost = r.costUsd === null ? 'cost unknown' : `$${r.costUsd.toPrecision(4)}`;
      return `${r.role} calls ${r.calls} (${cost})`;
    });
    out.push(`Kept apart from the candidates' figures: ${parts.join(', ')}.`);
  }
  const small = slices.filter((s) => s.records < 30).map((s) => s.value ?? '(no tag)');
  if (small.length > 0) {
    out.push(`Slices with fewer than 30 records are descriptive only: ${small.join(', ')}.`);
  }
  for (const c of comparisons) {
    const discordant = c.regressions + c.fixes;
    if (c.passRate.n > 0 && discordant < 10) {
      out.push(
        `${c.candidate} vs ${c.baseline}: only ${discordant} prompts flipped (fewer than 10): ` +
          'the paired test has little power.',
      );
    }
    const boot = [c.costRatio, c.latencyP50].find((x) => x !== null && x.resamples < MAX_RESAMPLES);
    if (boot) {
      out.push(
        `${c.candidate} vs ${c.baseline}: bootstrap intervals use ${boot.resamples} resamples ` +
          `(seed ${boot.seed}), ` +
          `fewer than ${MAX_RESAMPLES} because ${boot.n} pairs make each resample slow.`,
      );
    }
  }
  if (comparisons.length > 0 && run.repeats > 1) {
    out.push(
      'With repeats, a prompt flips when the candidate passed a smaller (larger) share of its repeats.',
    );
  }
  if (stray.length > 0) {
    out.push(`Calls from candidates missing from the candidates table were ignored: ${stray.join(', ')}.`);
  }
  return out;
}

/** Unscored rows of one scorer with one stored detail (null: the scorer gave no reason). */
export interface UnscoredDetail {
  scorer: string;
  detail: string | null;
  n: number;
}

const DETAIL_CHARS = 120;

/**
 * One note per scorer that scored none of the calls it applied to, with the reason its score rows
 * give most often: "label: unscored on all 120 calls (no reference.label)". `details` are the
 * unscored rows grouped by scorer and detail (UNSCORED_DETAILS_SQL).
 */
export function unscoredScorerNotes(details: readonly UnscoredDetail[]): string[] {
  const byScorer = new Map<string, UnscoredDetail[]>();
  for (const d of details) {
    const list = byScorer.get(d.scorer);
    if (list) list.push(d);
    else byScorer.set(d.scorer, [d]);
  }
  return [...byScorer.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([scorer, list]) => {
      const total = list.reduce((t, d) => t + d.n, 0);
      // Most rows first; ties by detail so the note does not depend on row order.
      const top = [...list].sort(
        (x, y) => y.n - x.n || (x.detail ?? '').localeCompare(y.detail ?? '', 'en'),
      )[0]!;
      const reason = top.detail === null ? 'no reason stored' : oneLine(top.detail);
      const why = list.length === 1 ? reason : `most often: ${reason}, ${top.n} of ${total}`;
      return `${scorer}: unscored on all ${total} ${total === 1 ? 'call' : 'calls'} (${why}).`;
    });
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > DETAIL_CHARS ? `${chars.slice(0, DETAIL_CHARS - 1).join('')}…` : flat;
}

function calls(n: number, kind: string): string {
  return `${n} ${kind} ${n === 1 ? 'call' : 'calls'}`;
}
