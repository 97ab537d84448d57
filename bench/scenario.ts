/**
 * One benchmark scenario in its own process (forked by run.ts), so that its peak RSS is its own.
 * `pipeline` drives the real thing: the SDK client as the CLI builds it (connectEndpoint: holdout's
 * transport and SSE guard), runEval with an on-disk Store and the `normalized` scorer. `bare` is the
 * SDK client in a plain loop at the same concurrency, making the same requests (bench/bare.ts), with
 * Node's default fetch or holdout's transport: the baselines the pipeline is measured against.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { systemClock } from '../harness/clock.js';
import { connectEndpoint } from '../harness/providers/connect.js';
import { resolvePrice } from '../harness/providers/pricing.js';
import { progressReporter } from '../harness/run/progress.js';
import { type CandidatePlan, type RunPlan, runEval } from '../harness/run/runner.js';
import type { SimCallLog, SimStats } from '../harness/sim/index.js';
import { percentile } from '../results/stats/stats.js';
import { type NewRecord, Store } from '../results/store/store.js';
import { buildScorers, ScorerSpec } from '../scorers/index.js';
import { bareClient, bareLoop } from './bare.js';
import {
  type ChildMessage,
  type LatencyJoin,
  type LoopDelay,
  type MemoryFigures,
  type ScenarioResult,
  type ScenarioSpec,
  sorted,
  syntheticRecord,
  toMb,
} from './common.js';

const INSERT_BATCH = 1000;

const send = (m: ChildMessage, cb?: () => void) => {
  if (process.send) process.send(m, undefined, undefined, cb);
  else cb?.();
};

/** Samples RSS every 100 ms from the moment the process starts. */
class MemorySampler {
  private readonly baseline = process.memoryUsage().rss;
  private peak = this.baseline;
  private peakRun = 0;
  private peakHeap = 0;
  private samples = 0;
  private running = false;
  private readonly timer = setInterval(() => this.sample(), 100);
  heapBefore = 0;
  heapAfter = 0;

  sample(): void {
    const m = process.memoryUsage();
    this.samples++;
    if (m.rss > this.peak) this.peak = m.rss;
    if (this.running && m.rss > this.peakRun) this.peakRun = m.rss;
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed;
  }

  /** Brackets the measured phase; a full GC first (children run with --expose-gc): the retained heap. */
  begin(): void {
    this.heapBefore = heapAfterGc();
    this.running = true;
    this.sample();
  }

  end(): void {
    this.sample();
    this.running = false;
    this.heapAfter = heapAfterGc();
  }

  figures(): MemoryFigures {
    this.sample();
    clearInterval(this.timer);
    return {
      baselineRssMb: toMb(this.baseline),
      peakRssMb: toMb(this.peak),
      peakRunRssMb: toMb(this.peakRun),
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      peakHeapUsedMb: toMb(this.peakHeap),
      heapAfterGcBeforeMb: toMb(this.heapBefore),
      heapAfterGcAfterMb: toMb(this.heapAfter),
      samples: this.samples,
    };
  }
}

const memory = new MemorySampler();

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

async function simStats(spec: ScenarioSpec, withLog: boolean): Promise<SimStats> {
  const origin = new URL(spec.simUrl).origin;
  const res = await fetch(`${origin}/__sim/stats${withLog ? '' : '?log=0'}`);
  if (!res.ok) throw new Error(`GET /__sim/stats: HTTP ${res.status}`);
  return (await res.json()) as SimStats;
}

/**
 * Measures `fn` alone: wall time, CPU, event-loop delay (10 ms resolution is too coarse for a loop
 * that stalls a few ms, so 1 ms) and the memory bracket; tells the parent when it starts and ends.
 */
async function measured<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; wallMs: number; cpuMs: number; loop: LoopDelay }> {
  memory.begin();
  send({ type: 'mark', phase: 'start' });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  h.disable();
  send({ type: 'mark', phase: 'end' });
  memory.end();
  const ms = (ns: number) => ns / 1e6;
  const loop = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
  return { value, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, loop };
}

/** Creates a run and streams `count` synthetic records into it in batches; nothing is kept in memory. */
function filledRun(store: Store, name: string, count: number, candidates: CandidatePlan[]): number {
  const runId = store.createRun(
    {
      suite: `bench-${name}`,
      configJson: '{}',
      configHash: name,
      datasetPath: '(synthetic)',
      datasetHash: name,
      recordCount: count,
      repeats: 1,
      scorersJson: '[{"kind":"normalized","name":"normalized"}]',
      createdAt: systemClock.isoNow(),
    },
    candidates.map((c) => ({
      candidate: c.id,
      model: c.model,
      api: c.api,
      paramsJson: '{}',
      priceJson: JSON.stringify({ ...c.price.standard, source: c.price.source }),
    })),
  );
  for (let start = 0; start < count; start += INSERT_BATCH) {
    const batch: NewRecord[] = [];
    for (let i = start; i < Math.min(count, start + INSERT_BATCH); i++) {
      const { id, api, tags, json } = syntheticRecord(name, i);
      batch.push({ id, api, tags, json });
    }
    store.insertRecords(runId, batch, start);
  }
  return runId;
}

async function pipeline(spec: ScenarioSpec): Promise<ScenarioResult> {
  const dbPath = join(spec.tmpDir, `${spec.name}.db`);
  const store = new Store(dbPath);
  try {
    const clock = systemClock;
    // As `holdout run` builds it: the key from an environment (here a private one), holdout's transport.
    const provider = connectEndpoint(
      { id: 'bench', model: spec.model, api: 'chat', base_url: spec.simUrl, api_key_env: 'BENCH_KEY' },
      { env: { BENCH_KEY: 'bench-key-not-a-secret' }, clock, timeoutMs: 120_000 },
    );
    const price = resolvePrice(spec.model, { input: 0.4, cached_input: 0.1, output: 1.6 })!;
    const candidates: CandidatePlan[] = Array.from({ length: spec.candidates }, (_, k) => ({
      id: `cand-${k}`,
      model: spec.model,
      api: 'chat',
      params: {},
      concurrency: spec.concurrency,
      price,
      provider,
    }));
    const scorers = await buildScorers([ScorerSpec.parse({ kind: 'normalized' })], {
      baseDir: process.cwd(),
    });
    // As the CLI wires it: a Ctrl-C signal and the progress reporter (plain lines, here to nowhere).
    const controller = new AbortController();
    const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    const deps = {
      store,
      scorers,
      clock,
      signal: controller.signal,
      reporter: progressReporter({ stream: sink, clock }),
      ...(spec.store === 'none' ? { callWriter: { recordCalls: () => {} } } : {}),
    };
    const plan = (runId: number): RunPlan => ({
      runId,
      candidates,
      repeats: 1,
      concurrency: spec.concurrency,
      maxRetries: 4,
      timeoutMs: 120_000,
      stream: spec.stream,
      retryErrors: false,
    });

    const records = Math.ceil(spec.calls / spec.candidates);
    const setupStart = performance.now();
    const warmRun =
      spec.warmup > 0
        ? filledRun(store, `${spec.name}-warmup`, Math.ceil(spec.warmup / spec.candidates), candidates)
        : undefined;
    const runId = filledRun(store, spec.name, records, candidates);
    const setupMs = performance.now() - setupStart;
    if (warmRun !== undefined) await runEval(plan(warmRun), deps);

    const { value: summary, wallMs, cpuMs, loop } = await measured(() => runEval(plan(runId), deps));
    const calls = summary.doneNow;
    const stats = await simStats(spec, spec.latencyJoin);
    const latency = spec.latencyJoin ? joinLatencies(store, runId, stats.log) : undefined;
    return {
      name: spec.name,
      kind: 'pipeline',
      calls,
      ok: calls - summary.errors,
      errors: summary.errors + (summary.complete ? 0 : records * spec.candidates - calls),
      wallMs,
      callsPerSec: calls / (wallMs / 1000),
      cpuMs,
      cpuUsPerCall: (cpuMs * 1000) / calls,
      loopDelayMs: loop,
      setupMs,
      memory: memory.figures(),
      simMaxInFlight: stats.maxInFlight,
      ...(latency ? { latency } : {}),
    };
  } finally {
    store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
}

/**
 * latency_ms as stored, against the simulator's measured service time of the same request id. Also
 * apart for the steady state: calls started after the first call finished, i.e. not in the opening
 * burst where every slot starts at once and each call's clock runs while the others are being sent.
 */
function joinLatencies(store: Store, runId: number, log: SimCallLog[]): LatencyJoin {
  const byId = new Map(log.map((e) => [e.requestId, e]));
  const rows = store.db
    .prepare(
      `SELECT request_id AS id, latency_ms AS ms, started_at AS startedAt
       FROM calls WHERE run_id = ? AND status = 'ok'`,
    )
    .all(runId) as { id: string | null; ms: number; startedAt: string }[];
  const firstFinish = store.db
    .prepare('SELECT min(finished_at) FROM calls WHERE run_id = ?')
    .pluck()
    .get(runId) as string;
  const overhead: number[] = [];
  const steady: number[] = [];
  const late: number[] = [];
  for (const r of rows) {
    const e = r.id === null ? undefined : byId.get(r.id);
    if (!e) continue;
    overhead.push(r.ms - e.serviceMs);
    if (r.startedAt > firstFinish) steady.push(r.ms - e.serviceMs);
    late.push(e.serviceMs - e.latencyMs);
  }
  const o = sorted(overhead);
  const st = sorted(steady);
  const l = sorted(late);
  return {
    joined: overhead.length,
    overheadP50: percentile(o, 0.5),
    overheadP90: percentile(o, 0.9),
    overheadP99: percentile(o, 0.99),
    overheadMax: o.length > 0 ? o[o.length - 1]! : Number.NaN,
    steadyCalls: st.length,
    steadyP50: percentile(st, 0.5),
    steadyP99: percentile(st, 0.99),
    simLateP50: percentile(l, 0.5),
    simLateP99: percentile(l, 0.99),
  };
}

async function bare(spec: ScenarioSpec): Promise<ScenarioResult> {
  const opts = {
    baseURL: spec.simUrl,
    transport: spec.transport,
    concurrency: spec.concurrency,
    stream: spec.stream,
  };
  const client = bareClient(opts);
  if (spec.warmup > 0) await bareLoop(client, opts, [spec.model], spec.warmup, `${spec.name}-warmup`);
  const {
    value: errors,
    wallMs,
    cpuMs,
    loop: loopDelay,
  } = await measured(() => bareLoop(client, opts, [spec.model], spec.calls, spec.name));
  const stats = await simStats(spec, false);
  return {
    name: spec.name,
    kind: 'bare',
    calls: spec.calls,
    ok: spec.calls - errors,
    errors,
    wallMs,
    callsPerSec: spec.calls / (wallMs / 1000),
    cpuMs,
    cpuUsPerCall: (cpuMs * 1000) / spec.calls,
    loopDelayMs: loopDelay,
    setupMs: 0,
    memory: memory.figures(),
    simMaxInFlight: stats.maxInFlight,
  };
}

process.on('disconnect', () => process.exit(1));
process.once('message', (spec: ScenarioSpec) => {
  (spec.kind === 'pipeline' ? pipeline(spec) : bare(spec)).then(
    (result) => send({ type: 'result', result }, () => process.exit(0)),
    (err: unknown) => {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      send({ type: 'error', message }, () => process.exit(1));
    },
  );
});
