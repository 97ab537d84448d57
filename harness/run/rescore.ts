import { runNotFound } from '../../results/store/missing.js';
import type { Store } from '../../results/store/store.js';
import { buildScorers, type ScorerSpec } from '../../scorers/index.js';
import type { Clock } from '../clock.js';
import { loadConfig, type ResolvedCandidate, type ResolvedConfig } from '../config.js';
import { connectEndpoint, type MakeClient, startSimulatorIfNeeded } from '../providers/connect.js';
import { HarnessError } from '../errors.js';
import { judgeService } from './judge-service.js';
import { type ScorePassSummary, scoreStoredCalls } from './score-pass.js';
import type { SimServer } from '../sim/index.js';

export interface RescoreOptions {
  runId: number;
  /** Recompute these scorers from scratch (their scores and judge calls are discarded first). */
  scorers?: string[];
  /** Take scorer and judge definitions from this config: new ones are added, changed ones recomputed. */
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

/**
 * `holdout rescore`: applies new or changed scorers to a run's stored outputs without calling the
 * candidates again. Judge calls are made (and stored, and resumable) like any call: an interrupted
 * rescore picks up where it stopped when run again.
 */
export async function rescoreCommand(
  store: Store,
  opts: RescoreOptions,
  io: RescoreIo,
): Promise<RescoreOutcome> {
  const run = store.getRun(opts.runId);
  if (!run) throw runNotFound(store.db, opts.runId);
  const stored = JSON.parse(run.config_json) as ResolvedConfig;
  const storedSpecs = JSON.parse(run.scorers_json) as ScorerSpec[];
  let specs = storedSpecs.map((s) => ({ ...s, name: nameOf(s) }));
  let judges: ResolvedCandidate[] = stored.judges ?? [];
  let baseDir = stored.baseDir;
  let simulator = stored.simulator;
  const changed = new Set<string>();
  if (opts.configPath) {
    const cfg = loadConfig(opts.configPath);
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

  let sim: SimServer | undefined;
  try {
    const selected = specs.filter((s) => applied.includes(s.name) || recomputed.includes(s.name));
    const needJudges = judges.filter((j) => selected.some((s) => 'judge' in s && s.judge === j.id));
    sim = await startSimulatorIfNeeded(needJudges, simulator);
    const timeoutMs = stored.timeout_ms ?? 120_000;
    const ctx = { env: io.env, clock: io.clock, timeoutMs, simUrl: sim?.url, makeClient: io.makeClient };
    const service =
      needJudges.length > 0
        ? judgeService({
            store,
            runId: run.id,
            judges: needJudges.map((j) => ({ ...j, provider: connectEndpoint(j, ctx) })),
            candidates: store.candidates(run.id).map((c) => c.candidate),
            policy: { maxRetries: stored.max_retries ?? 4, timeoutMs, clock: io.clock, signal: io.signal },
          })
        : undefined;
    // Built before anything is discarded: a scorer that cannot be built leaves the run as it was.
    const scorers = await buildScorers(selected, { baseDir, judges: service });
    for (const name of recomputed) {
      const gone = store.forgetScorer(run.id, name);
      io.stderr.write(
        gone.scores + gone.judgeCalls > 0
          ? `${name}: discarded ${gone.scores} scores and ${gone.judgeCalls} judge calls, to recompute from scratch\n`
          : `${name}: new scorer\n`,
      );
    }
    store.setRunScorers(run.id, JSON.stringify(specs));
    if (opts.configPath) {
      store.db
        .prepare('UPDATE runs SET config_json = ? WHERE id = ?')
        .run(JSON.stringify({ ...stored, judges, scorers: specs }), run.id);
    }
    const pass = await scoreStoredCalls({
      store,
      runId: run.id,
      scorers,
      concurrency: opts.concurrency ?? stored.concurrency ?? 16,
      clock: io.clock,
      stderr: io.stderr,
      signal: io.signal,
      spent: () => service?.spent() ?? 0,
      halted: () => service?.halted,
    });
    return { ...pass, recomputed, applied, judgeCostUsd: service?.spent() ?? 0 };
  } finally {
    await sim?.close();
  }
}
