import type { HoldoutRecord } from '../../datasets/record.js';
import { LEASE_STALE_MS, type LeaseRow, type RunLease, takeLease } from '../../results/store/lease.js';
import { runNotFound } from '../../results/store/missing.js';
import type { RunRow, Store } from '../../results/store/store.js';
import { type BoundScorer, buildScorers, type ScorerSpec, tagFilter } from '../../scorers/index.js';
import type { JudgeService } from '../../scorers/judge/service.js';
import type { Clock } from '../clock.js';
import {
  loadScorerConfig,
  type ResolvedCandidate,
  type ResolvedConfig,
  type ResolvedScorerConfig,
} from '../config.js';
import { HarnessError } from '../errors.js';
import { connectEndpoint, type MakeClient, startSimulatorIfNeeded } from '../providers/connect.js';
import type { SimServer } from '../sim/index.js';
import { judgeCallEstimate, tokenizersFor } from './estimate.js';
import { judgeBody, judgeService } from './judge-service.js';
import { type ScorePassSummary, scoreStoredCalls, storedOutputs } from './score-pass.js';

export interface RescoreOptions {
  runId: number;
  /** Recompute these scorers from scratch (their scores and judge calls are discarded first). */
  scorers?: string[];
  /**
   * Take scorer and judge definitions from this config (a scorer-only file, or a full run config):
   * new ones are added, changed ones recomputed.
   */
  configPath?: string;
  concurrency?: number;
}

export interface RescoreIo {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock: Clock;
  signal?: AbortSignal;
  makeClient?: MakeClient;
}

export interface RescoreOutcome extends ScorePassSummary {
  /** Scorers whose results were discarded and computed afresh. */
  recomputed: string[];
  /** Scorers applied (missing scores filled). */
  applied: string[];
  judgeCostUsd: number;
}

const nameOf = (s: ScorerSpec) => s.name ?? s.kind;

/** What a rescore will do: the run, its scorers after the config's changes, and which are redone. */
interface RescorePlan {
  run: RunRow;
  stored: ResolvedConfig;
  specs: (ScorerSpec & { name: string })[];
  judges: ResolvedCandidate[];
  baseDir: string;
  simulator: ResolvedConfig['simulator'];
  /** Scorers discarded and computed from scratch: named by --scorer, or changed by the config. */
  recomputed: string[];
  /** Scorers that fill the scores they lack. */
  applied: string[];
  /** The scorers the pass runs: applied or recomputed. */
  selected: (ScorerSpec & { name: string })[];
  /** The judges those scorers call. */
  needJudges: ResolvedCandidate[];
}

/** The run, or RUN_NOT_FOUND listing the runs there are. */
function runOf(store: Store, runId: number): RunRow {
  const run = store.getRun(runId);
  if (!run) throw runNotFound(store.db, runId);
  return run;
}

/** The config file's scorers and judges; its scorers may also name the judges the run declares. */
function readConfig(run: RunRow, configPath: string | undefined): ResolvedScorerConfig | undefined {
  if (!configPath) return undefined;
  const stored = JSON.parse(run.config_json) as ResolvedConfig;
  return loadScorerConfig(configPath, { judges: (stored.judges ?? []).map((j) => j.id) });
}

/** Merges the config's scorers and judges into the run's and checks the --scorer names. */
function planRescore(
  store: Store,
  run: RunRow,
  cfg: ResolvedScorerConfig | undefined,
  opts: RescoreOptions,
): RescorePlan {
  const stored = JSON.parse(run.config_json) as ResolvedConfig;
  const storedSpecs = JSON.parse(run.scorers_json) as ScorerSpec[];
  let specs = storedSpecs.map((s) => ({ ...s, name: nameOf(s) }));
  let judges: ResolvedCandidate[] = stored.judges ?? [];
  let baseDir = stored.baseDir;
  let simulator = stored.simulator;
  const changed = new Set<string>();
  if (cfg) {
    baseDir = cfg.baseDir;
    simulator = cfg.simulator ?? simulator;
    const byName = new Map(specs.map((s) => [s.name, s]));
    for (const s of cfg.scorers) {
      const named = { ...s, name: nameOf(s) };
      const old = byName.get(named.name);
      if (!old || JSON.stringify(old) !== JSON.stringify(named)) changed.add(named.name);
      byName.set(named.name, named);
    }
    specs = [...byName.values()];
    const judgeById = new Map(judges.map((j) => [j.id, j]));
    for (const j of cfg.judges) {
      const old = judgeById.get(j.id);
      // A judge that now means another model or prompt parameters invalidates the scores it gave.
      if (old && JSON.stringify({ ...old, concurrency: 0 }) !== JSON.stringify({ ...j, concurrency: 0 })) {
        for (const s of specs) if ('judge' in s && s.judge === j.id) changed.add(s.name);
      }
      judgeById.set(j.id, j);
    }
    judges = [...judgeById.values()];
    const runCandidates = store.candidates(run.id).map((c) => c.candidate);
    for (const s of specs) {
      if ('baseline' in s && !runCandidates.includes(s.baseline)) {
        throw new HarnessError(
          'CONFIG_INVALID',
          `scorer "${s.name}": baseline "${s.baseline}" is not a candidate of run ${run.id} (${runCandidates.join(', ')})`,
        );
      }
    }
  }
  const known = specs.map((s) => s.name);
  for (const name of opts.scorers ?? []) {
    if (!known.includes(name)) {
      throw new HarnessError('USAGE', `run ${run.id} has no scorer "${name}"`, {
        hint: `its scorers: ${known.join(', ') || 'none'}; add new ones with --config`,
      });
    }
  }
  const recomputed = [...new Set([...(opts.scorers ?? []), ...changed])];
  const applied = opts.scorers ?? known;
  const selected = specs.filter((s) => applied.includes(s.name) || recomputed.includes(s.name));
  const needJudges = judges.filter((j) => selected.some((s) => 'judge' in s && s.judge === j.id));
  return { run, stored, specs, judges, baseDir, simulator, recomputed, applied, selected, needJudges };
}

/**
 * Takes the run's lease (results/store/lease.ts) for a command other than `holdout run` that writes
 * to the run (`rescore`, `route`'s router calls): at most one process works on a run at a time, so a
 * rescore cannot race a run or another rescore. Refused with RUN_BUSY (exit 2) naming the holder.
 */
export function takeCommandLease(
  store: Store,
  runId: number,
  command: string,
  onLost?: (by: LeaseRow | undefined) => void,
): RunLease {
  try {
    return takeLease(store, runId, { onLost });
  } catch (err) {
    if (!(err instanceof HarnessError) || err.code !== 'RUN_BUSY') throw err;
    throw new HarnessError('RUN_BUSY', `${command}: ${err.message}`, {
      cause: err,
      hint:
        `wait for that process to finish, then run \`holdout ${command}\` again (the lease of a process that ` +
        `died is taken over at once on the same host, and after ${LEASE_STALE_MS / 1000} s without a heartbeat ` +
        'from another host)',
    });
  }
}

/** The command stopped because another process took the run's lease over while this one was stalled. */
export function leaseLostError(runId: number, command: string): HarnessError {
  return new HarnessError(
    'RUN_LEASE_LOST',
    `${command}: run ${runId} was taken over by another holdout process while this one was stalled; this one stopped (everything it finished is stored)`,
    { exitCode: 1, hint: 'let the other process finish; do not work on one run from two processes' },
  );
}

/**
 * `holdout rescore`: applies new or changed scorers to a run's stored outputs without calling the
 * candidates again. Judge calls are made (and stored, and resumable) like any call: an interrupted
 * rescore picks up where it stopped when run again. The run's lease is held throughout, so a rescore
 * never races a `holdout run` or another rescore of the same run.
 */
export async function rescoreCommand(
  store: Store,
  opts: RescoreOptions,
  io: RescoreIo,
): Promise<RescoreOutcome> {
  const found = runOf(store, opts.runId);
  // The file is checked before the lease: a bad config is reported whoever works on the run.
  const cfg = readConfig(found, opts.configPath);
  const stop = new AbortController();
  const lease = takeCommandLease(store, found.id, 'rescore', (by) => {
    io.stderr.write(
      `\nrun ${found.id}: another process took its lease over${by ? ` (pid ${by.pid} on host ${by.host})` : ''}; stopping\n`,
    );
    stop.abort(new Error('lease lost'));
  });
  const onAbort = () => stop.abort(io.signal?.reason);
  if (io.signal?.aborted) stop.abort(io.signal.reason);
  else io.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = stop.signal;
  let sim: SimServer | undefined;
  try {
    // Planned under the lease: the run's scorers as they are now, not as before another rescore.
    const plan = planRescore(store, runOf(store, found.id), cfg, opts);
    const { run, stored, recomputed, applied, needJudges } = plan;
    sim = await startSimulatorIfNeeded(needJudges, plan.simulator);
    const timeoutMs = stored.timeout_ms ?? 120_000;
    const ctx = { env: io.env, clock: io.clock, timeoutMs, simUrl: sim?.url, makeClient: io.makeClient };
    const service =
      needJudges.length > 0
        ? judgeService({
            store,
            runId: run.id,
            judges: needJudges.map((j) => ({ ...j, provider: connectEndpoint(j, ctx) })),
            candidates: store.candidates(run.id).map((c) => c.candidate),
            policy: { maxRetries: stored.max_retries ?? 4, timeoutMs, clock: io.clock, signal },
          })
        : undefined;
    // Built before anything is discarded: a scorer that cannot be built leaves the run as it was.
    const scorers = await buildScorers(plan.selected, { baseDir: plan.baseDir, judges: service });
    for (const name of recomputed) {
      const gone = store.forgetScorer(run.id, name);
      io.stderr.write(
        gone.scores + gone.judgeCalls > 0
          ? `${name}: discarded ${gone.scores} scores and ${gone.judgeCalls} judge calls, to recompute from scratch\n`
          : `${name}: new scorer\n`,
      );
    }
    store.setRunScorers(run.id, JSON.stringify(plan.specs));
    if (opts.configPath) {
      store.db
        .prepare('UPDATE runs SET config_json = ? WHERE id = ?')
        .run(JSON.stringify({ ...stored, judges: plan.judges, scorers: plan.specs }), run.id);
    }
    const pass = await scoreStoredCalls({
      store,
      runId: run.id,
      scorers,
      concurrency: opts.concurrency ?? stored.concurrency ?? 16,
      clock: io.clock,
      stderr: io.stderr,
      signal,
      spent: () => service?.spent() ?? 0,
      halted: () => service?.halted,
    });
    if (lease.lost) throw leaseLostError(run.id, 'rescore');
    return { ...pass, recomputed, applied, judgeCostUsd: service?.spent() ?? 0 };
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    lease.release();
    await sim?.close();
  }
}

/** A judge scorer's share of a dry run: the calls it would make and what they would cost. */
export interface JudgeCallsEstimate {
  judge: string;
  model: string;
  /** Calls to make (after the stored answers that would be reused). */
  calls: number;
  /** Stored judge answers the pass would reuse instead of calling. */
  reused: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface ScorerEstimate {
  name: string;
  kind: string;
  /** `recompute`: discarded and computed from scratch; `fill`: only the scores it lacks. */
  mode: 'recompute' | 'fill';
  /** Scores the pass would compute. */
  scores: number;
  judge?: JudgeCallsEstimate;
}

export interface RescoreEstimate {
  runId: number;
  scorers: ScorerEstimate[];
  /** New spend: every judge call to make. */
  totalUsd: number;
}

/**
 * `holdout rescore --dry-run`: what a rescore would compute, per scorer, and for judge scorers the
 * judge calls it would make and their estimated cost. Each judge call's request is built as the pass
 * would build it (the same prompt over the stored output) and its input counted with the judge
 * model's tokenizer; the reply is taken as JUDGE_OUTPUT_TOKENS, as `run --dry-run` does. Stored judge
 * answers a fill would reuse are counted apart. No call is made, nothing is stored, no lease taken.
 */
export async function rescoreDryRun(store: Store, opts: RescoreOptions): Promise<RescoreEstimate> {
  const run = runOf(store, opts.runId);
  const plan = planRescore(store, run, readConfig(run, opts.configPath), opts);
  const redo = new Set(plan.recomputed);
  const judgeOf = new Map(plan.needJudges.map((j) => [j.id, j]));
  const tokenizer = await tokenizersFor(plan.needJudges.map((j) => j.model));
  const estimates = new Map<string, ScorerEstimate>(
    plan.selected.map((s) => {
      const judge = 'judge' in s ? judgeOf.get(s.judge) : undefined;
      const e: ScorerEstimate = {
        name: s.name,
        kind: s.kind,
        mode: redo.has(s.name) ? 'recompute' : 'fill',
        scores: 0,
        ...(judge
          ? {
              judge: {
                judge: judge.id,
                model: judge.model,
                calls: 0,
                reused: 0,
                inputTokens: 0,
                outputTokens: 0,
                costUsd: 0,
              },
            }
          : {}),
      };
      return [s.name, e];
    }),
  );
  // The judge scorers are built over a service that counts what they ask instead of asking it.
  let current: ScorerEstimate | undefined;
  const dry: JudgeService = {
    has: (id) => judgeOf.has(id),
    hasCandidate: (c) => store.candidates(run.id).some((x) => x.candidate === c),
    outputOf(candidate, recordId, repeat) {
      const row = store.storedCall(run.id, recordId, candidate, repeat, 'candidate');
      return row?.status === 'ok' ? (row.output ?? '') : undefined;
    },
    async ask(judgeId, req, key) {
      const judge = judgeOf.get(judgeId)!;
      const e = current!.judge!;
      const kept = !redo.has(current!.name)
        ? store.storedCall(run.id, key.recordId, key.candidate, key.repeat, 'judge', key.aux)
        : undefined;
      if (kept?.status === 'ok') {
        e.reused++;
      } else {
        const x = judgeCallEstimate(tokenizer(judge.model), judgeBody(judge, req), judge.price);
        e.calls++;
        e.inputTokens += x.inputTokens;
        e.outputTokens += x.outputTokens;
        e.costUsd += x.usd;
      }
      throw new Error('dry run: no call');
    },
  };
  const judged = plan.selected.filter((s) => 'judge' in s && judgeOf.has(s.judge));
  const built = new Map<string, BoundScorer>(
    (await buildScorers(judged, { baseDir: plan.baseDir, judges: dry })).map((b) => [b.name, b]),
  );
  const applies = plan.selected.map((s) => ({ spec: s, applies: tagFilter(s.match) }));
  // Read whole before scoring: the loop reads record bodies, which an open iterator would block.
  const rows = [...storedOutputs(store, run.id)];
  for (const row of rows) {
    const have = new Set(row.have ? row.have.split('\u001f') : []);
    const tags = { tags: JSON.parse(row.tags_json) as Record<string, string> };
    let record: HoldoutRecord | undefined;
    for (const { spec, applies: match } of applies) {
      // As the pass would: a recomputed scorer has lost its scores; the others fill what they lack.
      if (!match(tags) || (!redo.has(spec.name) && have.has(spec.name))) continue;
      const e = estimates.get(spec.name)!;
      e.scores++;
      const scorer = built.get(spec.name);
      if (!scorer) continue;
      record ??= JSON.parse(store.recordBody(run.id, row.record_id)!) as HoldoutRecord;
      current = e;
      // Each judge call the scorer would make reaches `dry.ask`, which counts it and refuses it.
      await scorer.score({
        record,
        output: {
          text: row.output ?? '',
          toolCalls: row.tool_calls_json
            ? (JSON.parse(row.tool_calls_json) as { name: string; arguments: string }[])
            : [],
        },
        call: { candidate: row.candidate, repeat: row.repeat },
      });
    }
  }
  const scorers = [...estimates.values()];
  return { runId: run.id, scorers, totalUsd: scorers.reduce((s, e) => s + (e.judge?.costUsd ?? 0), 0) };
}
