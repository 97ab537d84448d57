/**
 * Bench section (f): production logs in, holdout out. Generates chat-log lines (request, response
 * with usage, latency, timestamp, a skewed `task` tag; about 1 prompt in 100 repeated), imports them
 * (`importToFile`, chat-log) and draws a stratified sample of 1,000 by task (`drawSample` +
 * `writeSample`), at two sizes. Each phase runs in a fresh child (this same file, forked with a
 * phase name), so its wall time and peak RSS are its own. The target is flat memory: peak RSS under
 * 200 MB, and about the same at 1M lines as at 100K.
 *
 * run.ts calls `importSampleRows`; as a forked child this file runs one phase and reports it.
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importToFile } from '../datasets/import/index.js';
import { drawSample, writeSample } from '../datasets/sample.js';
import { systemClock } from '../harness/clock.js';
import { mulberry32 } from '../harness/random.js';
import { type BenchRow, toMb } from './common.js';

const SAMPLE_SIZE = 1000;
const RSS_TARGET_MB = 200;
/** Shares of the `task` tag: skewed, with a small stratum, as production traffic is. */
const TASKS: [string, number][] = [
  ['classify', 0.4],
  ['extract', 0.25],
  ['reformat', 0.2],
  ['chat', 0.1],
  ['plan', 0.05],
];

// ---- the phases (child side) ----

interface PhaseResult {
  wallMs: number;
  /** process.resourceUsage().maxRSS at the end: the phase's peak, Node's own ~40 MB included. */
  maxRssMb: number;
  /** RSS after the imports, before the work. */
  baselineRssMb: number;
  /** Highest heapUsed sampled every 50 ms. */
  peakHeapMb: number;
  detail: Record<string, number | string>;
}

type PhaseMessage = { type: 'result'; result: PhaseResult } | { type: 'error'; message: string };

/** The task of prompt q, a function of q alone so that a repeated prompt keeps its task. */
function taskOf(q: number): string {
  const u = (Math.imul(q + 1, 0x9e3779b1) >>> 0) / 2 ** 32;
  let acc = 0;
  for (const [name, share] of TASKS) {
    acc += share;
    if (u < acc) return name;
  }
  return TASKS[TASKS.length - 1]![0];
}

/** A chat-log line as an application would log it. */
function logLine(i: number, rnd: () => number, t0: number): string {
  // About 1 in 100 lines repeats an earlier prompt (a retry, a popular question): dedup has work.
  const q = rnd() < 0.01 && i > 0 ? Math.floor(rnd() * i) : i;
  const task = taskOf(q);
  const prompt = `[${task}] Customer ticket ${q}: my order ${100000 + q} arrived late and the box was damaged, what now?`;
  const created = Math.floor(t0 / 1000) + i;
  const promptTokens = 40 + (q % 60);
  const completionTokens = 10 + Math.floor(rnd() * 90);
  return JSON.stringify({
    request: {
      model: 'gpt-5.4-mini',
      messages: [
        { role: 'system', content: `You are the ${task} assistant of a support desk. Answer briefly.` },
        { role: 'user', content: prompt },
      ],
      temperature: 0,
    },
    response: {
      id: `chatcmpl-bench-${i}`,
      object: 'chat.completion',
      created,
      model: 'gpt-5.4-mini-2026-03-17',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: `Sorry about ticket ${q}; a replacement is on its way.` },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    },
    latency_ms: 200 + Math.floor(rnd() * 800),
    timestamp: new Date(created * 1000).toISOString(),
    tags: { task },
  });
}

async function generate(path: string, n: number): Promise<Record<string, number>> {
  const rnd = mulberry32(20250601);
  const t0 = Date.UTC(2026, 0, 1);
  const out = createWriteStream(path);
  const CHUNK = 2000;
  for (let i = 0; i < n; i += CHUNK) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(n, i + CHUNK); j++) lines.push(logLine(j, rnd, t0));
    if (!out.write(`${lines.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((ok, fail) => out.end((err?: Error | null) => (err ? fail(err) : ok())));
  return { lines: n, bytes: statSync(path).size };
}

async function runPhase(phase: string, args: string[]): Promise<PhaseResult> {
  const baselineRssMb = toMb(process.memoryUsage().rss);
  let peakHeap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  const t0 = performance.now();
  let detail: Record<string, number | string>;
  try {
    if (phase === 'generate') {
      detail = await generate(args[0]!, Number(args[1]));
    } else if (phase === 'import') {
      const s = await importToFile({ format: 'chat-log', paths: [args[0]!], out: args[1]! }, { env: {} });
      detail = { records: s.records, bytes: statSync(args[1]!).size };
    } else if (phase === 'sample') {
      const drawn = await drawSample([args[0]!], { size: SAMPLE_SIZE, seed: 1, stratify: 'task' });
      const m = writeSample(args[1]!, drawn, systemClock);
      detail = {
        read: m.read,
        sampled: m.sampled,
        duplicates: m.dedup.removed,
        composition: m.composition.map((c) => `${c.stratum} ${c.sample_n}`).join(', '),
      };
    } else {
      throw new Error(`unknown phase ${phase}`);
    }
  } finally {
    clearInterval(timer);
  }
  const wallMs = performance.now() - t0;
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  return {
    wallMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    baselineRssMb,
    peakHeapMb: toMb(peakHeap),
    detail,
  };
}

// ---- the section (parent side) ----

export type ImportSampleRow = BenchRow<'f'>;

const here = fileURLToPath(import.meta.url);

function phaseChild(
  track: (c: ChildProcess) => ChildProcess,
  phase: string,
  args: string[],
): Promise<PhaseResult> {
  const child = track(fork(here, [phase, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise<PhaseResult>((ok, fail) => {
    let settled = false;
    child.once('message', (m: PhaseMessage) => {
      settled = true;
      if (m.type === 'result') ok(m.result);
      else fail(new Error(`bench f, ${phase}:\n${m.message}`));
    });
    child.once('exit', (code, signal) => {
      if (!settled)
        fail(new Error(`bench f, ${phase}: exited (code ${code}, signal ${signal}) without reporting`));
    });
  });
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const count = (n: number) =>
  n >= 1_000_000 && n % 1_000_000 === 0
    ? `${n / 1_000_000}M`
    : n >= 1000 && n % 1000 === 0
      ? `${n / 1000}K`
      : String(n);

/** Section (f): both sizes, a row each, then the 1M-against-100K memory row. */
export async function importSampleRows(o: {
  tmpDir: string;
  quick: boolean;
  log: (s: string) => void;
  track: (c: ChildProcess) => ChildProcess;
}): Promise<ImportSampleRow[]> {
  const sizes = o.quick ? [10_000, 100_000] : [100_000, 1_000_000];
  const rows: ImportSampleRow[] = [];
  const peaks: number[] = [];
  for (const n of sizes) {
    const logs = join(o.tmpDir, `f-chat-log-${n}.jsonl`);
    const records = join(o.tmpDir, `f-records-${n}.jsonl`);
    const sample = join(o.tmpDir, `f-sample-${n}.jsonl`);
    const gen = await phaseChild(o.track, 'generate', [logs, String(n)]);
    o.log(
      `f: generated ${count(n)} chat-log lines (${fmt(toMb(Number(gen.detail.bytes)), 0)} MB) in ${fmt(gen.wallMs / 1000, 1)} s`,
    );
    const imp = await phaseChild(o.track, 'import', [logs, records]);
    o.log(`f: import ${count(n)}: ${fmt(imp.wallMs / 1000)} s, peak rss ${fmt(imp.maxRssMb, 0)} MB`);
    const smp = await phaseChild(o.track, 'sample', [records, sample]);
    o.log(`f: sample ${count(n)}: ${fmt(smp.wallMs / 1000)} s, peak rss ${fmt(smp.maxRssMb, 0)} MB`);
    const peak = Math.max(imp.maxRssMb, smp.maxRssMb);
    peaks.push(peak);
    const ok = imp.detail.records === n && smp.detail.sampled === SAMPLE_SIZE;
    rows.push({
      section: 'f',
      label: `import+sample ${count(n)} lines`,
      text:
        `import ${fmt(imp.wallMs / 1000)} s, ${fmt(imp.maxRssMb, 0)} MB; ` +
        `sample ${SAMPLE_SIZE} by task ${fmt(smp.wallMs / 1000)} s, ${fmt(smp.maxRssMb, 0)} MB peak RSS`,
      detail:
        `import ${fmt(n / (imp.wallMs / 1000), 0)} lines/s, ${imp.detail.records} records; sample read ` +
        `${smp.detail.read}, ${smp.detail.duplicates} duplicate prompts dropped, drew ${smp.detail.composition}; ` +
        `peak heap ${fmt(imp.peakHeapMb, 0)} / ${fmt(smp.peakHeapMb, 0)} MB; ` +
        `input ${fmt(toMb(Number(gen.detail.bytes)), 0)} MB generated in ${fmt(gen.wallMs / 1000, 1)} s`,
      target: `peak RSS < ${RSS_TARGET_MB} MB`,
      met: ok && peak < RSS_TARGET_MB,
      figures: {
        lines: n,
        sampleSize: SAMPLE_SIZE,
        inputBytes: gen.detail.bytes,
        import: imp,
        sample: smp,
      },
    });
  }
  const [small, large] = peaks as [number, number];
  const ratio = large / small;
  rows.push({
    section: 'f',
    label: `import+sample memory`,
    text: `${count(sizes[0]!)} peak ${fmt(small, 0)} MB  ${count(sizes[1]!)} peak ${fmt(large, 0)} MB  ratio ${fmt(ratio)}`,
    target: `${count(sizes[1]!)} ≤ 1.3 × ${count(sizes[0]!)}`,
    met: ratio <= 1.3,
    figures: { lines: sizes, peakRssMb: peaks, ratio },
  });
  return rows;
}

// ---- as a forked child: run one phase ----

if (process.argv[1] === here && process.send) {
  const [phase, ...args] = process.argv.slice(2);
  runPhase(phase ?? '', args).then(
    (result) => {
      process.send!({ type: 'result', result } satisfies PhaseMessage, () => process.exit(0));
    },
    (err: unknown) => {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.send!({ type: 'error', message } satisfies PhaseMessage, () => process.exit(1));
    },
  );
}
