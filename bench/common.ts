/**
 * Shared by the benchmark's three kinds of process: the orchestrator (run.ts), the simulator
 * (sim-process.ts) and the scenario children (scenario.ts), which talk over Node's IPC channel.
 */
import type { NewRecord } from '../results/store/store.js';

/** Simulated models the bench drives; the simulator process serves all of them at once. */
export const BENCH_PROFILES = {
  'bench-fixed-200': { latencyMs: { median: 200, sigma: 0 }, ttftMs: 20, accuracy: 1 },
  'bench-fixed-50': { latencyMs: { median: 50, sigma: 0 }, ttftMs: 5, accuracy: 1 },
  'bench-lognormal-200': { latencyMs: { median: 200, sigma: 0.3 }, ttftMs: 20, accuracy: 1 },
  'bench-zero': { latencyMs: { median: 0 }, ttftMs: 0, accuracy: 1 },
} as const;
export type BenchModel = keyof typeof BENCH_PROFILES;

export interface ScenarioSpec {
  /** `pipeline`: runEval with store and scorer; `bare`: the SDK client alone in a loop (bench/bare.ts). */
  kind: 'pipeline' | 'bare';
  /** What the bare loop's SDK client sends with: Node's global fetch, or holdout's pooled transport. */
  transport: 'default' | 'holdout';
  /** Unique per scenario: prefixes record ids so no two scenarios share a prompt. */
  name: string;
  simUrl: string;
  model: BenchModel;
  /** Calls measured (pipeline: records × candidates). */
  calls: number;
  candidates: number;
  concurrency: number;
  stream: boolean;
  /** Calls made (and not measured) before the measured ones, in the same process. */
  warmup: number;
  /** A directory of the bench's own temp root, for the store; removed by the scenario. */
  tmpDir: string;
  /** Join the calls table with the simulator's log on request id (scenario c). */
  latencyJoin: boolean;
  /** Pipeline only: `none` commits nothing (a writer that drops the rows), to measure the store's share. */
  store?: 'sqlite' | 'none';
}

export interface MemoryFigures {
  /** RSS after imports, before the store is filled. */
  baselineRssMb: number;
  /** Highest RSS sampled every 100 ms over the whole process. */
  peakRssMb: number;
  /** Highest RSS sampled while runEval (or the bare loop) ran. */
  peakRunRssMb: number;
  /** process.resourceUsage().maxRSS at the end. */
  maxRssMb: number;
  peakHeapUsedMb: number;
  /** heapUsed after a full GC, before and after the measured run: what the run retained. */
  heapAfterGcBeforeMb: number;
  heapAfterGcAfterMb: number;
  samples: number;
}

export interface LatencyJoin {
  /** Calls whose request id was found in the simulator's log. */
  joined: number;
  /** latency_ms (calls table) − serviceMs (simulator, measured), type-7. */
  overheadP50: number;
  overheadP90: number;
  overheadP99: number;
  overheadMax: number;
  /** The same for calls started after the first call finished (the opening burst left out). */
  steadyCalls: number;
  steadyP50: number;
  steadyP99: number;
  /** serviceMs − latencyMs (the simulator's measured time against its own target). */
  simLateP50: number;
  simLateP99: number;
}

/** Event-loop delay of the scenario process over the measured phase (ms). */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export interface ScenarioResult {
  name: string;
  kind: ScenarioSpec['kind'];
  calls: number;
  ok: number;
  errors: number;
  /** The measured phase alone: runEval, or the bare loop after its warm-up. */
  wallMs: number;
  callsPerSec: number;
  /** Scenario process CPU over the measured phase. */
  cpuMs: number;
  cpuUsPerCall: number;
  loopDelayMs: LoopDelay;
  /** Filling the store before the run. */
  setupMs: number;
  memory: MemoryFigures;
  /** The simulator's own count of the most calls it had open at once during the scenario. */
  simMaxInFlight: number;
  latency?: LatencyJoin;
}

/** Child → parent messages. `mark` brackets the measured phase so the parent can read the sim's CPU. */
export type ChildMessage =
  | { type: 'mark'; phase: 'start' | 'end' }
  | { type: 'result'; result: ScenarioResult }
  | { type: 'error'; message: string };

/** Parent → simulator process and back. */
export type SimRequest = { type: 'cpu'; id: number };
export type SimMessage =
  | { type: 'ready'; url: string }
  | { type: 'cpu'; id: number; userUs: number; systemUs: number }
  | { type: 'error'; message: string };

const MB = 1024 * 1024;
/** One line of the benchmark's table: its section, what was measured, and the target it is held to. */
export interface BenchRow<S extends string = string> {
  section: S;
  label: string;
  text: string;
  /** Printed on its own line under the row. */
  detail?: string;
  target?: string;
  met?: boolean;
  figures: Record<string, unknown>;
}

export const toMb = (bytes: number): number => bytes / MB;

/**
 * One synthetic Chat record: a short prompt unique to (scenario, i) and a reference output, so the
 * `normalized` scorer applies to every record. `json` is the record in its normalized form.
 */
export function syntheticRecord(
  scenario: string,
  i: number,
): NewRecord & { request: Record<string, unknown> } {
  const id = `${scenario}-${i}`;
  const tags = { task: 'bench', shard: String(i % 8) };
  const request = {
    model: 'gpt-4.1-mini',
    messages: [
      { role: 'system', content: 'You are a terse calculator. Answer with the number only.' },
      { role: 'user', content: `[${id}] What is ${i} plus ${i % 97}?` },
    ],
    max_completion_tokens: 32,
    temperature: 0,
  };
  const record = { id, tags, api: 'chat', request, reference: { output: String(i + (i % 97)) } };
  return { id, api: 'chat', tags, json: JSON.stringify(record), request };
}

/** Sorts a copy ascending (numeric). */
export function sorted(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}
