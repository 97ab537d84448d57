import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { ImportInterrupted, importToFile } from '../../datasets/import/index.js';
import { checkDataset, readRecords } from '../../datasets/jsonl.js';
import { printable } from '../../datasets/printable.js';
import { readSampleManifest } from '../../datasets/manifest.js';
import { claimLease, holdLease, type LeaseClaim, type RunLease } from '../../results/store/lease.js';
import { runNotFound } from '../../results/store/missing.js';
import type { NewRecord, RunRow, Store } from '../../results/store/store.js';
import { buildScorers } from '../../scorers/index.js';
import {
  type AwaitSummary,
  awaitBatches,
  type BatchPlan,
  isBatchCandidate,
  type SubmitSummary,
  submitBatches,
} from '../batch/index.js';
import type { Clock } from '../clock.js';
import {
  loadConfig,
  type ResolvedCandidate,
  type ResolvedConfig,
  SIMULATOR,
  storableConfig,
  storableUrl,
} from '../config.js';
import {
  connectEndpoint,
  endpointClient,
  type MakeClient,
  startSimulatorIfNeeded,
} from '../providers/connect.js';
import { judgeService } from './judge-service.js';
import type { Provider } from '../providers/provider.js';
import { preflight } from './preflight.js';
import { scoreStoredCalls } from './score-pass.js';
import { HarnessError } from '../errors.js';
import { SpendLedger } from './estimate.js';
import { defaultDbPath } from '../paths.js';
import { progressReporter } from './progress.js';
import {
  type CandidatePlan,
  type RunProgress,
  type RunReporter,
  type RunSummary,
  runEval,
} from './runner.js';
import type { SimServer } from '../sim/index.js';
import {
  checkResumedStop,
  createSequential,
  describeDecision,
  type GateDecision,
  type StopFlags,
  sequentialGate,
  withStopFlags,
} from './sequential-stop.js';

export interface RunCommandOptions {
  configPath?: string;
  resume?: number;
  /** Start a new run even when an unfinished run of the same config exists. */
  fresh?: boolean;
  retryErrors?: boolean;
  /** Overrides the config's total concurrency. */
  concurrency?: number;
  /** Overrides the config's `budget_usd`. */
  budgetUsd?: number;
  /** `--until-decided` and its settings (merged into the config's `stop:`). */
  stop?: StopFlags;
}

export interface RunIo {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock: Clock;
  signal?: AbortSignal;
  /** Injected for tests: builds the SDK client (default: the real one over HTTP). */
  makeClient?: MakeClient;
}

export interface RunOutcome {
  runId: number;
  summary: RunSummary;
  config: ResolvedConfig;
  /** The early-stopping decision of a run that stops early (`stop:`), once made. */
  decision?: GateDecision;
}

/**
 * The hash a rerun is matched on: what changes results (data, candidates, scorers, repeats,
 * streaming), not what only changes speed (concurrency, timeouts, retries).
 */
export function configHash(cfg: ResolvedConfig, datasetHash: string): string {
  // The fields of the first release, in its order; `replay`, `batch` and `mode: batch` only when set,
  // so that a config written before they existed keeps its hash (and an unfinished run resumes).
  // Concurrency and the batch poll interval only change speed.
  const endpoint = (c: ResolvedCandidate) => ({
    id: c.id,
    model: c.model,
    api: c.api,
    ...(c.base_url !== undefined ? { base_url: c.base_url } : {}),
    api_key_env: c.api_key_env,
    params: c.params,
    price: c.price,
    ...(c.replay ? { replay: true } : {}),
    ...(c.batch ? { batch: true } : {}),
    ...(c.include_commentary ? { include_commentary: true } : {}),
    ...(c.data_residency !== undefined ? { data_residency: c.data_residency } : {}),
    // Where calls go and what they carry (a gateway's routing header can change the answer); not
    // the timeout, which only changes speed. Headers and query hold ${env:…} references, not values.
    ...(c.azure !== undefined ? { azure: c.azure } : {}),
    ...(c.organization !== undefined ? { organization: c.organization } : {}),
    ...(c.project !== undefined ? { project: c.project } : {}),
    ...(c.headers !== undefined ? { headers: c.headers } : {}),
    ...(c.query !== undefined ? { query: c.query } : {}),
  });
  const material = {
    suite: cfg.suite,
    datasetHash,
    candidates: cfg.candidates.map(endpoint),
    scorers: cfg.scorers,
    // Only when declared, so that runs made before judges existed keep their hash (and resume).
    ...(cfg.judges?.length ? { judges: cfg.judges.map(endpoint) } : {}),
    repeats: cfg.repeats,
    stream: cfg.stream,
    ...(cfg.mode === 'batch' ? { mode: cfg.mode } : {}),
    // A run that stops early is another experiment: it never resumes a run that does not, or vice versa.
    ...(cfg.stop ? { stop: cfg.stop } : {}),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

/** The config as the database keeps it: credentials in URLs removed (and said so), the sample's manifest added. */
type StoredConfig = ResolvedConfig & { credentials_removed?: boolean; sample?: unknown };

function storedConfig(config: ResolvedConfig, sample: unknown): StoredConfig {
  const storable = storableConfig(config);
  const removed = JSON.stringify(storable) !== JSON.stringify(config);
  return { ...storable, ...(removed ? { credentials_removed: true } : {}), ...(sample ? { sample } : {}) };
}

/** A replay candidate's provider: the runner reads the logged response instead, so this is never called. */
const NO_CALLS: Provider = {
  complete: () => Promise.reject(new Error('a replay candidate makes no calls')),
  classify: (err) => ({ retry: false, kind: 'internal', message: String(err) }),
};

/** Finds or creates the run, then executes whatever work it is missing. */
export async function runCommand(store: Store, opts: RunCommandOptions, io: RunIo): Promise<RunOutcome> {
  const { run, config, lease } = await openRun(store, opts, io);
  // The run's own signal: Ctrl-C, or another process taking the lease over (this one was stalled past
  // the lease timeout): either way no new call starts.
  const stop = new AbortController();
  const onAbort = () => stop.abort(io.signal?.reason);
  if (io.signal?.aborted) stop.abort(io.signal.reason);
  else io.signal?.addEventListener('abort', onAbort, { once: true });
  lease.onLost = (by) => {
    io.stderr.write(
      `\nrun ${run.id}: another process took its lease over${by ? ` (pid ${by.pid} on host ${by.host})` : ''}; stopping\n`,
    );
    stop.abort(new Error('lease lost'));
  };
  const signal = stop.signal;
  let sim: SimServer | undefined;
  try {
    const judgeEndpoints = config.judges ?? [];
    sim = await startSimulatorIfNeeded([...config.candidates, ...judgeEndpoints], config.simulator);
    const ctx = {
      env: io.env,
      clock: io.clock,
      timeoutMs: config.timeout_ms,
      simUrl: sim?.url,
      makeClient: io.makeClient,
    };
    const budget = opts.budgetUsd ?? config.budget_usd;
    // One budget for the run: every call's worst case is held before it is sent (candidates, batches,
    // judges), against what the run has spent in every session, every role included.
    const ledger = new SpendLedger(budget, runSpend(store, run.id));
    // Batch candidates go through the Batch API (harness/batch/); the others are called live.
    const batched = config.candidates.filter((c) => isBatchCandidate(c, config));
    const candidates = config.candidates
      .filter((c) => !isBatchCandidate(c, config))
      .map(
        (c): CandidatePlan => ({
          id: c.id,
          model: c.model,
          api: c.api,
          params: c.params,
          concurrency: c.concurrency ?? config.concurrency,
          price: c.price,
          provider: c.replay ? NO_CALLS : connectEndpoint(c, ctx),
          replay: c.replay,
        }),
      );
    const judges =
      judgeEndpoints.length > 0
        ? judgeService({
            store,
            runId: run.id,
            judges: judgeEndpoints.map((j) => ({ ...j, provider: connectEndpoint(j, ctx) })),
            candidates: config.candidates.map((c) => c.id),
            policy: {
              maxRetries: config.max_retries,
              timeoutMs: config.timeout_ms,
              clock: io.clock,
              signal,
            },
            ledger,
          })
        : undefined;
    const scorers = await buildScorers(config.scorers, { baseDir: config.baseDir, judges });
    const retryErrors = opts.retryErrors ?? false;
    const gate = sequentialGate({
      store,
      runId: run.id,
      repeats: config.repeats,
      deferred: scorers.filter((s) => s.deferred),
      concurrency: opts.concurrency ?? config.concurrency,
      clock: io.clock,
      signal,
      halted: () => judges?.halted,
      onDecided: (d) => io.stderr.write(`\nrun ${run.id}: ${describeDecision(d)}; calls in flight finish\n`),
    });
    checkResumedStop(gate?.row, opts.stop, run.id);
    if (gate && retryErrors) {
      throw new HarnessError('USAGE', `run ${run.id} stops early: its errors are already counted as fails`, {
        hint: 'redoing them would change pairs the e-processes were fed; resume without --retry-errors',
      });
    }
    if (gate?.result()?.earlier) {
      io.stderr.write(`run ${run.id} was ${describeDecision(gate.result()!)}; nothing more to send\n`);
    }
    const batchPlan: BatchPlan | undefined =
      batched.length > 0
        ? {
            runId: run.id,
            candidates: batched.map((c) => ({
              id: c.id,
              model: c.model,
              api: c.api,
              params: c.params,
              price: c.price,
              client: endpointClient(c, ctx),
              ephemeral: c.base_url === SIMULATOR,
            })),
            repeats: config.repeats,
            retryErrors,
            pollMs: config.batch_poll_ms ?? 30_000,
            maxRetries: config.max_retries,
            // A file of up to 200 MB needs longer than one model call may take.
            transferTimeoutMs: Math.max(config.timeout_ms, 600_000),
            ledger,
          }
        : undefined;
    const batchDeps = {
      store,
      scorers,
      clock: io.clock,
      stderr: io.stderr,
      signal,
      spent: () => runSpend(store, run.id),
    };
    // Batches go first, so that the provider works on them while the live candidates are called.
    const submitted: SubmitSummary | undefined = batchPlan && (await submitBatches(batchPlan, batchDeps));
    let live: RunSummary | undefined;
    if (candidates.length > 0 && !submitted?.aborted) {
      // The runner counts every candidate row of the run as its own: leave the batch candidates' out
      // of what its progress line shows.
      const progress = progressReporter({ stream: io.stderr, clock: io.clock });
      const shown = batchPlan
        ? withoutRows(
            progress,
            candidateTotals(
              store,
              run.id,
              batchPlan.candidates.map((c) => c.id),
            ),
            retryErrors,
          )
        : { ...progress, shift: (p: RunProgress) => p };
      live = await runEval(
        {
          runId: run.id,
          candidates,
          repeats: config.repeats,
          concurrency: opts.concurrency ?? config.concurrency,
          maxRetries: config.max_retries,
          timeoutMs: config.timeout_ms,
          stream: config.stream,
          retryErrors,
        },
        { store, scorers, clock: io.clock, reporter: shown, signal, ledger, gate },
      );
      progress.finish(shown.shift(live));
    }
    const awaited: AwaitSummary | undefined =
      batchPlan && !submitted?.aborted && !live?.aborted
        ? await awaitBatches(batchPlan, batchDeps)
        : undefined;
    const summary = live && !batchPlan ? live : runSummary(store, run.id, config, live, submitted, awaited);
    const deferred = scorers.filter((s) => s.deferred);
    if (deferred.length > 0 && !summary.aborted) {
      const pass = await scoreStoredCalls({
        store,
        runId: run.id,
        scorers: deferred,
        concurrency: opts.concurrency ?? config.concurrency,
        clock: io.clock,
        stderr: io.stderr,
        signal,
        spent: () => judges?.spent() ?? 0,
        halted: () => judges?.halted,
        // Each judge call holds its worst case (judge-service.ts): the service halts with 'budget'.
        stopBefore: () => (judges?.halted === 'budget' ? 'budget' : undefined),
      });
      summary.scoring = pass;
      if (pass.halted) {
        summary.complete = false;
        summary.aborted ||= pass.halted === 'interrupted';
        if (pass.halted === 'budget') summary.budgetReached = true;
        else if (pass.halted !== 'interrupted')
          io.stderr.write(`warning: scoring stopped: ${pass.halted}; rerun to resume\n`);
      }
    }
    if (lease.lost) throw leaseLost(run.id);
    // A decided run is finished: it sends nothing more, ever.
    const decision = gate?.result();
    const finished = summary.complete || (decision !== undefined && !summary.aborted);
    store.setRunStatus(run.id, finished ? 'finished' : 'interrupted', finished ? io.clock.isoNow() : null);
    return { runId: run.id, summary, config, ...(decision ? { decision } : {}) };
  } catch (err) {
    if (!lease.lost) {
      try {
        store.setRunStatus(run.id, 'interrupted');
      } catch {
        // A full disk refuses this too; the run resumes all the same (it is not 'finished').
      }
    }
    throw withResumeHint(err, store, run.id);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    lease.release();
    await sim?.close();
  }
}

/** What the run has spent, every session and role: what a budget is checked against. */
function runSpend(store: Store, runId: number): number {
  return store.db
    .prepare('SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE run_id = ?')
    .pluck()
    .get(runId) as number;
}

function leaseLost(runId: number): HarnessError {
  return new HarnessError(
    'RUN_LEASE_LOST',
    `run ${runId} was taken over by another holdout process while this one was stalled; this one stopped (every call it finished is stored)`,
    { exitCode: 1, hint: 'let the other process finish the run; do not run two on one run' },
  );
}

/** A store that could not be written (full disk): the same error, with how to resume the run. */
function withResumeHint(err: unknown, store: Store, runId: number): unknown {
  if (!(err instanceof HarnessError) || (err.code !== 'STORE_FULL' && err.code !== 'STORE_WRITE')) return err;
  const db = store.path === defaultDbPath() ? '' : ` --db ${store.path}`;
  return new HarnessError(err.code, `run ${runId} stopped: ${err.message}`, {
    cause: err.cause,
    exitCode: err.exitCode,
    hint: `${err.code === 'STORE_FULL' ? 'free some disk space' : 'check the disk'}, then resume with: holdout run --resume ${runId}${db}`,
  });
}

/** Rows, errors and cost of these candidates' calls in the run. */
function candidateTotals(
  store: Store,
  runId: number,
  ids: readonly string[],
): { n: number; errors: number; cost: number } {
  return store.db
    .prepare(
      `SELECT count(*) AS n, coalesce(sum(status = 'error'), 0) AS errors, coalesce(sum(cost_usd), 0) AS cost
       FROM calls WHERE run_id = ? AND role = 'candidate' AND candidate IN (SELECT value FROM json_each(?))`,
    )
    .get(runId, JSON.stringify(ids)) as { n: number; errors: number; cost: number };
}

/** A progress reporter for the live candidates alone: `apart` (the batch candidates' rows) is taken out. */
function withoutRows(
  inner: RunReporter & { finish(p: RunProgress): void },
  apart: { n: number; errors: number; cost: number },
  retryErrors: boolean,
): RunReporter & { shift(p: RunProgress): RunProgress } {
  // With --retry-errors the runner counts no stored error as done, nor as an error.
  const shift = (p: RunProgress): RunProgress => ({
    ...p,
    done: p.done - apart.n + (retryErrors ? apart.errors : 0),
    errors: p.errors - (retryErrors ? 0 : apart.errors),
    costUsd: p.costUsd - apart.cost,
  });
  return {
    shift,
    start: (p) => inner.start(shift(p)),
    callDone: (row, p) => inner.callDone(row, shift(p)),
    warn: (m) => inner.warn(m),
  };
}

/** The run's summary when it has batch candidates: counted from the stored rows, every candidate's. */
function runSummary(
  store: Store,
  runId: number,
  config: ResolvedConfig,
  live: RunSummary | undefined,
  submitted: SubmitSummary | undefined,
  awaited: AwaitSummary | undefined,
): RunSummary {
  const totals = store.runTotals(runId);
  const total = store.recordCount(runId) * config.repeats * config.candidates.length;
  const aborted = (live?.aborted || submitted?.aborted || awaited?.aborted) ?? false;
  const complete = !aborted && totals.n >= total;
  const budgetReached = ((live?.budgetReached ?? false) || (submitted?.budgetReached ?? false)) && !complete;
  return {
    total,
    done: totals.n,
    errors: totals.errors,
    costUsd: totals.cost,
    doneNow: (live?.doneNow ?? 0) + (awaited?.rows ?? 0),
    aborted,
    stopped: { ...live?.stopped, ...submitted?.stopped, ...awaited?.stopped },
    complete,
    ...(budgetReached ? { budgetReached } : {}),
  };
}

async function openRun(
  store: Store,
  opts: RunCommandOptions,
  io: RunIo,
): Promise<{ run: RunRow; config: ResolvedConfig; lease: RunLease }> {
  if (opts.resume !== undefined) {
    const found = store.getRun(opts.resume);
    if (!found) throw runNotFound(store.db, opts.resume);
    // The stored config, or the config file given with --resume when it is the same config: the file
    // has what the database must not (credentials written into a base_url).
    let config = JSON.parse(found.config_json) as StoredConfig;
    if (opts.configPath) {
      const loaded = withStopFlags(loadConfig(opts.configPath), opts.stop);
      const { hash } = await checkDataset(loaded.dataset);
      if (configHash(loaded, hash) !== found.config_hash) {
        throw new HarnessError(
          'RUN_MISMATCH',
          `run ${found.id} was made from a different config or dataset than ${opts.configPath}`,
          {
            hint: `resume it without a config (holdout run --resume ${found.id}) or start a new run`,
          },
        );
      }
      config = loaded;
    } else if (config.credentials_removed) {
      throw new HarnessError(
        'USAGE',
        `run ${found.id}'s config had credentials in a base_url, which were not stored with the run`,
        { hint: `resume it with its config file: holdout run CONFIG --resume ${found.id}` },
      );
    }
    await preflight(config, io.env);
    const claim = store.immediate(() => claimLease(store, found.id));
    const lease = holdLease(store, claim);
    io.stderr.write(`resuming run ${found.id} (suite ${printable(found.suite)})\n`);
    return { run: found, config, lease: await withRecords(store, found, lease, io) };
  }
  if (!opts.configPath) throw new HarnessError('USAGE', 'give a run config, or --resume <run>');
  const config = withStopFlags(loadConfig(opts.configPath), opts.stop);
  if (config.import && !existsSync(config.dataset)) {
    io.stderr.write(
      `importing ${config.import.format} logs into ${config.dataset} (import: in the config)\n`,
    );
    try {
      await importToFile(config.import, {
        stderr: io.stderr,
        env: io.env,
        clock: io.clock,
        signal: io.signal,
      });
    } catch (err) {
      if (!(err instanceof ImportInterrupted)) throw err;
      throw new HarnessError('INTERRUPTED', `import interrupted: ${err.message}`, {
        hint: 'nothing was written; run the same command again to import and run',
        exitCode: 130,
      });
    }
  }
  const dataset = await checkDataset(config.dataset);
  await preflight(config, io.env);
  const hash = configHash(config, dataset.hash);
  if (!opts.fresh) {
    // Choosing the run and claiming it are one IMMEDIATE transaction: of two processes started on the
    // same config, one resumes the run and the other is refused while the first works on it.
    const picked = store.immediate((): { run: RunRow; claim: LeaseClaim } | undefined => {
      const unfinished = store.resumableRun(hash);
      if (!unfinished) return undefined;
      const claim = claimLease(store, unfinished.id);
      store.setRunStatus(unfinished.id, 'running');
      return { run: unfinished, claim };
    });
    if (picked) {
      const lease = holdLease(store, picked.claim);
      io.stderr.write(`resuming unfinished run ${picked.run.id} of the same config (--new starts afresh)\n`);
      // The config just loaded has the same hash as the stored one, and it keeps what the stored one
      // may have lost (credentials in a base_url).
      return { run: picked.run, config, lease: await withRecords(store, picked.run, lease, io) };
    }
  }
  // A sample drawn by `holdout sample` travels with the run: its seed, strata and split.
  const sample = readSampleManifest(config.dataset);
  if (sample && sample.output_sha256 !== dataset.hash) {
    io.stderr.write(
      `warning: ${config.dataset} changed after \`holdout sample\` wrote it (its hash differs from the manifest's); the stored sample details may not describe it\n`,
    );
  }
  // The run and this process's lease on it are created together.
  const created = store.immediate(() => {
    const id = store.createRun(
      {
        suite: config.suite,
        configPath: opts.configPath,
        configJson: JSON.stringify(storedConfig(config, sample)),
        configHash: hash,
        datasetPath: config.dataset,
        datasetHash: dataset.hash,
        recordCount: dataset.count,
        repeats: config.repeats,
        scorersJson: JSON.stringify(config.scorers),
        createdAt: io.clock.isoNow(),
      },
      config.candidates.map((c) => ({
        candidate: c.id,
        model: c.model,
        api: c.api,
        baseUrl: c.base_url === undefined ? undefined : storableUrl(c.base_url),
        paramsJson: JSON.stringify(c.params),
        priceJson: JSON.stringify({ ...c.price.standard, source: c.price.source }),
      })),
    );
    // The order records are issued in is committed with the run, before any call (SEQUENTIAL.md).
    if (config.stop) createSequential(store, id, config.stop, dataset.count);
    return { id, claim: claimLease(store, id) };
  });
  const lease = holdLease(store, created.claim);
  const runId = created.id;
  // Stored 1,000 records a transaction. A process stopped in the middle leaves fewer records than
  // `record_count`: whatever resumes the run stores the rest before any call (withRecords).
  try {
    await storeRecords(store, runId, config.dataset, false);
  } catch (err) {
    lease.release();
    throw withResumeHint(err, store, runId);
  }
  io.stderr.write(
    `run ${runId} (suite ${config.suite}): ${dataset.count} records × ${config.candidates.length} candidates × ${config.repeats} repeats\n`,
  );
  return { run: store.getRun(runId)!, config, lease };
}

/** Stores a dataset's records for a run, in order, 1,000 a transaction; `ifMissing` keeps those stored. */
async function storeRecords(store: Store, runId: number, path: string, ifMissing: boolean): Promise<void> {
  let batch: NewRecord[] = [];
  let seq = 0;
  for await (const { record, json } of readRecords(path)) {
    batch.push({ id: record.id, api: record.api, tags: record.tags, json });
    if (batch.length === 1000) {
      store.insertRecords(runId, batch, seq, ifMissing);
      seq += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) store.insertRecords(runId, batch, seq, ifMissing);
}

/**
 * A run about to be resumed, with all its records: a session stopped while storing them (kill -9,
 * a full disk) left fewer than `record_count`, and counting the work from those would call the rest
 * "finished". The missing ones are stored from the run's dataset, which must be unchanged (by hash).
 * Releases the lease when it cannot.
 */
async function withRecords(store: Store, run: RunRow, lease: RunLease, io: RunIo): Promise<RunLease> {
  try {
    const have = store.recordCount(run.id);
    if (have === run.record_count) return lease;
    const incomplete = `run ${run.id} has ${have} of its ${run.record_count} records stored`;
    if (!existsSync(run.dataset_path)) {
      throw new HarnessError('RUN_RECORDS', `${incomplete}, and its dataset ${run.dataset_path} is gone`, {
        hint: 'put the dataset back where it was to resume the run, or start afresh with --new',
      });
    }
    io.stderr.write(`${incomplete} (its last session stopped while storing them); storing the rest\n`);
    const { hash } = await checkDataset(run.dataset_path);
    if (hash !== run.dataset_hash) {
      throw new HarnessError(
        'RUN_RECORDS',
        `${incomplete}, and its dataset ${run.dataset_path} has changed since (its hash differs)`,
        { hint: 'restore the dataset the run was started from to resume it, or start afresh with --new' },
      );
    }
    await storeRecords(store, run.id, run.dataset_path, true);
    const now = store.recordCount(run.id);
    if (now !== run.record_count) {
      throw new HarnessError(
        'RUN_RECORDS',
        `run ${run.id}: ${now} records stored from ${run.dataset_path}, but the run was started with ${run.record_count}`,
        { hint: 'start afresh with --new' },
      );
    }
    return lease;
  } catch (err) {
    lease.release();
    throw withResumeHint(err, store, run.id);
  }
}
