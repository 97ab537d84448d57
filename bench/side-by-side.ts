/**
 * Bench section (g): holdout beside a bare SDK loop, each a whole process (start-up, imports,
 * storing the records, the calls, scoring, exit) on the same simulator: `holdout run` of
 * 2 candidates × N records at 64 in flight, against a plain loop of the same 2N requests with Node's
 * default fetch and with holdout's transport (bench/bare.ts), at 0, 50 and 200 ms a call. The
 * parent times each child from spawn to exit.
 *
 * run.ts calls `sideBySideRows`; run as a child (`node side-by-side.js <side> …`) it runs one side and exits.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type BareTransport, bareClient, bareLoop } from './bare.js';
import { type BenchModel, type BenchRow, syntheticRecord } from './common.js';

const KEY_ENV = 'HOLDOUT_BENCH_KEY';
const CASES: [number, BenchModel][] = [
  [0, 'bench-zero'],
  [50, 'bench-fixed-50'],
  [200, 'bench-fixed-200'],
];

// ---- the sides (child side) ----

/** `holdout run <config> --db <db>`, as bin/holdout.js runs it; its output to nowhere. */
async function holdoutSide(config: string, db: string): Promise<number> {
  let tail = '';
  const stderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
      done();
    },
  });
  const stdout = new Writable({ write: (_c, _e, done) => done() });
  // Imported here, not at the top: the bare side must not load holdout.
  const { main } = await import('../harness/cli/main.js');
  const code = await main(['run', config, '--db', db], { stdout, stderr, env: process.env });
  if (code !== 0) process.stderr.write(`bench (g): holdout run exited ${code}:\n${tail}\n`);
  return code;
}

async function bareSide(url: string, model: string, records: number, concurrency: number, transport: string) {
  const opts = { baseURL: url, transport: transport as BareTransport, concurrency, stream: true };
  // Record i>>1 to candidate i&1, as holdout's lanes take turns: the same 2N requests.
  const errors = await bareLoop(bareClient(opts), opts, [model, model], 2 * records, 'g', (i) => i >> 1);
  if (errors > 0) process.stderr.write(`bench (g): ${errors} bare calls failed\n`);
  return errors > 0 ? 1 : 0;
}

// ---- the section (parent side) ----

export type SideBySideRow = BenchRow<'g'>;

const here = fileURLToPath(import.meta.url);

/** Starts this file as one side (`node side-by-side.js …`); resolves with its wall time from spawn to exit. */
function side(track: (c: ChildProcess) => ChildProcess, args: string[], env?: NodeJS.ProcessEnv) {
  const t0 = performance.now();
  const child = track(
    spawn(process.execPath, [here, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      ...(env ? { env } : {}),
    }),
  );
  return new Promise<{ wallMs: number; code: number }>((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) fail(new Error(`(g) ${args[0]} side exited (code ${code}, signal ${signal})`));
      else ok({ wallMs, code });
    });
  });
}

export async function sideBySideRows(o: {
  simUrl: string;
  tmpDir: string;
  records: number;
  concurrency: number;
  log: (s: string) => void;
  track: (c: ChildProcess) => ChildProcess;
}): Promise<SideBySideRow[]> {
  const dataset = join(o.tmpDir, 'g-records.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < o.records; i++) lines.push(syntheticRecord('g', i).json);
  writeFileSync(dataset, `${lines.join('\n')}\n`);
  const calls = 2 * o.records;
  const rows: SideBySideRow[] = [];
  for (const [ms, model] of CASES) {
    const config = join(o.tmpDir, `g-${ms}.yaml`);
    const db = join(o.tmpDir, `g-${ms}.db`);
    const candidate = (id: string) =>
      `  - { id: ${id}, model: ${model}, base_url: "${o.simUrl}", api_key_env: ${KEY_ENV},` +
      ' price: { input: 0.4, cached_input: 0.1, output: 1.6 } }';
    writeFileSync(
      config,
      [
        `suite: bench-g-${ms}`,
        `dataset: ${dataset}`,
        `concurrency: ${o.concurrency}`,
        'stream: true',
        'candidates:',
        candidate('a'),
        candidate('b'),
        'scorers:',
        '  - { kind: normalized }',
        '',
      ].join('\n'),
    );
    o.log(`g: ${ms} ms: holdout run, ${calls} calls …`);
    const env = { ...process.env, [KEY_ENV]: 'bench-key-not-a-secret' };
    const h = await side(o.track, ['holdout', config, db], env);
    const { default: Database } = await import('better-sqlite3');
    const stored = new Database(db, { readonly: true })
      .prepare(`SELECT count(*) AS n, coalesce(sum(status = 'error'), 0) AS errors FROM calls`)
      .get() as { n: number; errors: number };
    o.log(`g: ${ms} ms: bare loops …`);
    const bare = await side(o.track, [
      'bare',
      o.simUrl,
      model,
      String(o.records),
      String(o.concurrency),
      'default',
    ]);
    const same = await side(o.track, [
      'bare',
      o.simUrl,
      model,
      String(o.records),
      String(o.concurrency),
      'holdout',
    ]);
    const ratio = bare.wallMs / h.wallMs;
    const sameRatio = same.wallMs / h.wallMs;
    const s = (x: number) => (x / 1000).toFixed(2);
    o.log(`g: ${ms} ms: holdout ${s(h.wallMs)} s, bare ${s(bare.wallMs)} s / ${s(same.wallMs)} s`);
    rows.push({
      section: 'g',
      label: `side by side 2×${o.records} c=${o.concurrency} ${ms}ms`,
      text:
        `holdout ${s(h.wallMs)} s  bare ${s(bare.wallMs)} s (Node fetch)  ${s(same.wallMs)} s (same transport)` +
        `  ratio ${ratio.toFixed(3)} / ${sameRatio.toFixed(3)}`,
      detail:
        `whole processes, spawn to exit; holdout stored ${stored.n} rows (${stored.errors} errors);` +
        ` calls/s ${(calls / (h.wallMs / 1000)).toFixed(0)} vs ${(calls / (bare.wallMs / 1000)).toFixed(0)}` +
        ` / ${(calls / (same.wallMs / 1000)).toFixed(0)}; ideal ${s(Math.ceil(calls / o.concurrency) * ms)} s`,
      met: stored.n === calls && stored.errors === 0,
      figures: {
        latencyMs: ms,
        calls,
        holdoutWallMs: h.wallMs,
        bareWallMs: bare.wallMs,
        bareSameTransportWallMs: same.wallMs,
        ratio,
        sameTransportRatio: sameRatio,
        storedRows: stored.n,
        storedErrors: stored.errors,
      },
    });
  }
  return rows;
}

// ---- as a child process ----

if (process.argv[1] === here) {
  const [sideName, ...args] = process.argv.slice(2);
  const run =
    sideName === 'holdout'
      ? holdoutSide(args[0]!, args[1]!)
      : bareSide(args[0]!, args[1]!, Number(args[2]), Number(args[3]), args[4]!);
  run.then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench (g): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
