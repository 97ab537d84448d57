/**
 * The classifier router: a (cheap) model is asked, with the policy's prompt, to label each record
 * (a label, or a difficulty score in [0, 1]). Its calls are part of the run: stored as rows with
 * role 'router' (candidate = the router's name, repeat 0, aux = a hash of the router's config), so a
 * second `route` reuses every ok row and calls only for what is missing or errored.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import pLimit from 'p-limit';
import { lastUserText, promptKey } from '../../datasets/record.js';
import type { CallRow, Store } from '../../results/store/store.js';
import { callRowFrom, callWithRetries } from '../run/attempt.js';
import type { Clock } from '../clock.js';
import { SIMULATOR } from '../config.js';
import { type ConnectContext, connectEndpoint, type MakeClient } from '../providers/connect.js';
import { HarnessError } from '../errors.js';
import { costUsd, type PriceRule, resolvePrice } from '../providers/pricing.js';
import { encodingFor, loadTokenizer } from '../providers/tokens.js';
import { type Hold, SpendLedger, worstCaseCost } from '../run/estimate.js';
import { leaseLostError, takeCommandLease } from '../run/rescore.js';
import { type AnswerKey, loadAnswerKey, type SimServer, startSimulator } from '../sim/index.js';
import { conversationText, type RouteRecord } from './conditions.js';
import type { Router } from './policy.js';

type Body = Record<string, unknown>;

/** The router's stored answer for one record. */
export interface RouterRow {
  status: 'ok' | 'error';
  output: string | null;
  costUsd: number | null;
  latencyMs: number | null;
}

const PLACEHOLDER = /\{\{\s*(prompt|conversation)\s*\}\}/g;

/** The router's user message for a record: {{prompt}} is its last user turn, {{conversation}} every turn. */
export function renderRouterPrompt(template: string, record: RouteRecord): string {
  return template.replace(PLACEHOLDER, (_m, what: string) =>
    what === 'prompt' ? lastUserText(record.request) : conversationText(record.request),
  );
}

/** The request sent to the router for a record (not streamed: only the answer and its usage matter). */
export function routerRequest(router: Router, record: RouteRecord): Body {
  const user = renderRouterPrompt(router.prompt, record);
  const c = router.candidate;
  const body: Body =
    c.api === 'chat'
      ? {
          model: c.model,
          messages: [
            ...(router.system ? [{ role: 'system', content: router.system }] : []),
            { role: 'user', content: user },
          ],
        }
      : { model: c.model, input: user, ...(router.system ? { instructions: router.system } : {}) };
  for (const [k, v] of Object.entries(c.params)) {
    if (v === null) delete body[k];
    else body[k] = v;
  }
  return body;
}

/**
 * Tells apart the rows of routers that share a name but would answer differently: a hash of the
 * model, API, parameters and prompts. Changing any of them makes new rows instead of reusing old.
 */
export function routerAux(router: Router): string {
  const c = router.candidate;
  const material = JSON.stringify({
    model: c.model,
    api: c.api,
    params: c.params,
    system: router.system ?? null,
    prompt: router.prompt,
  });
  return `router:${createHash('sha256').update(material).digest('hex').slice(0, 16)}`;
}

/**
 * The label a router answered: the whole answer when it is a label (case, surrounding space and
 * punctuation ignored), else the label that appears first as a whole word; null when none does.
 */
export function parseLabel(output: string, labels: readonly string[]): string | null {
  const clean = output
    .trim()
    .toLowerCase()
    .replace(/^[\s"'`*.:;,!?()[\]{}-]+|[\s"'`*.:;,!?()[\]{}-]+$/g, '');
  const exact = labels.find((l) => l.toLowerCase() === clean);
  if (exact !== undefined) return exact;
  let best: { label: string; at: number } | null = null;
  for (const l of labels) {
    const re = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegex(l.toLowerCase())}($|[^\\p{L}\\p{N}_])`, 'u');
    const m = re.exec(output.toLowerCase());
    if (m && (best === null || m.index < best.at)) best = { label: l, at: m.index };
  }
  return best?.label ?? null;
}

/** The first number in the answer, when it lies in [0, 1]; null otherwise. */
export function parseScore(output: string): number | null {
  const m = /-?\d+(?:\.\d+)?|-?\.\d+/.exec(output);
  if (!m) return null;
  const x = Number(m[0]);
  return Number.isFinite(x) && x >= 0 && x <= 1 ? x : null;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const ROUTER_ROWS_SQL = `
  SELECT record_id, status, output, cost_usd, latency_ms FROM calls
  WHERE run_id = @run AND role = 'router' AND candidate = @name AND repeat = 0 AND aux = @aux`;

/** The router rows already stored for this router configuration, by record id. */
export function storedRouterRows(store: Store, runId: number, router: Router): Map<string, RouterRow> {
  const rows = store.db
    .prepare(ROUTER_ROWS_SQL)
    .all({ run: runId, name: router.name, aux: routerAux(router) }) as {
    record_id: string;
    status: 'ok' | 'error';
    output: string | null;
    cost_usd: number | null;
    latency_ms: number | null;
  }[];
  return new Map(
    rows.map((r) => [
      r.record_id,
      { status: r.status, output: r.output, costUsd: r.cost_usd, latencyMs: r.latency_ms },
    ]),
  );
}

export interface RouterIo {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
  makeClient?: MakeClient;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  /** Seconds between progress lines on stderr (default 2). */
  progressEverySec?: number;
  /**
   * Spend cap of the run in USD, every role together (default: the run's own `budget_usd`, if its
   * config has one). Each router call's worst case is held before it is sent.
   */
  budgetUsd?: number;
}

/** The budget router calls are held against: the given cap, else the run's configured one. */
function routerLedger(store: Store, runId: number, budgetUsd: number | undefined): SpendLedger | undefined {
  let cap = budgetUsd;
  if (cap === undefined) {
    const json = store.getRun(runId)?.config_json;
    const configured = json ? (JSON.parse(json) as { budget_usd?: unknown }).budget_usd : undefined;
    if (typeof configured === 'number') cap = configured;
  }
  if (cap === undefined) return undefined;
  const spent = store.db
    .prepare('SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE run_id = ?')
    .pluck()
    .get(runId) as number;
  return new SpendLedger(cap, spent);
}

export interface RouterPass {
  rows: Map<string, RouterRow>;
  /** Rows found stored and reused. */
  reused: number;
  /** Calls made now (ok or error). */
  made: number;
  /** Made now and failed after retries. */
  errors: number;
  /** The run's signal stopped the pass; missing rows stay missing. */
  interrupted: boolean;
}

/**
 * Makes the router calls that `records` still need (no stored ok row; an errored row is retried and
 * replaced), with bounded concurrency, and returns every row. Progress goes to stderr.
 */
export async function runRouter(
  store: Store,
  runId: number,
  router: Router,
  records: readonly RouteRecord[],
  baseDir: string,
  io: RouterIo,
): Promise<RouterPass> {
  const missing = (rows: Map<string, RouterRow>) => records.filter((r) => rows.get(r.id)?.status !== 'ok');
  const before = storedRouterRows(store, runId, router);
  if (missing(before).length === 0) {
    return { rows: before, reused: records.length, made: 0, errors: 0, interrupted: false };
  }
  const price = routerPrice(router);
  // Calls to make: the run's lease is held while they are made and stored, as `holdout run` holds it,
  // so no other process (a run, a rescore, another route) works on the run meanwhile.
  const stop = new AbortController();
  const lease = takeCommandLease(store, runId, 'route', (by) => {
    io.stderr.write(
      `\nrun ${runId}: another process took its lease over${by ? ` (pid ${by.pid} on host ${by.host})` : ''}; stopping the router calls\n`,
    );
    stop.abort(new Error('lease lost'));
  });
  const onAbort = () => stop.abort(io.signal?.reason);
  if (io.signal?.aborted) stop.abort(io.signal.reason);
  else io.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = stop.signal;
  // Read again under the lease: another process may have stored some of them meanwhile.
  const rows = storedRouterRows(store, runId, router);
  const todo = missing(rows);
  const reused = records.length - todo.length;
  const pass: RouterPass = { rows, reused, made: 0, errors: 0, interrupted: false };
  const aux = routerAux(router);
  let sim: SimServer | undefined;
  try {
    if (router.candidate.base_url === SIMULATOR) {
      sim = await startSimulator({ answerKey: simulatedAnswers(router, records, baseDir) });
    }
    const ctx: ConnectContext = {
      env: io.env,
      clock: io.clock,
      timeoutMs: router.timeout_ms,
      simUrl: sim?.url,
      makeClient: io.makeClient,
    };
    const provider = connectEndpoint({ id: `router ${router.name}`, ...router.candidate }, ctx);
    const limit = pLimit(router.concurrency);
    // Every call in flight listens on the run's signal; without this Node warns of a leak past 10.
    setMaxListeners(router.concurrency + 16, signal);
    const every = (io.progressEverySec ?? 2) * 1000;
    let lastLine = io.clock.now();
    let spent = 0;
    const line = () =>
      `router ${router.name}: ${pass.made}/${todo.length} calls · ${pass.errors} errors · $${spent.toFixed(4)} spent\n`;
    io.stderr.write(
      `router ${router.name} (${router.candidate.model}): ${todo.length} calls to make, ${reused} reused from run ${runId}\n`,
    );
    let fatal: string | undefined;
    const ledger = routerLedger(store, runId, io.budgetUsd);
    const tokenizer = ledger ? await loadTokenizer(encodingFor(router.candidate.model)) : undefined;
    let unaffordable = 0;
    await Promise.all(
      todo.map((record) => {
        const queuedAt = io.clock.now();
        return limit(async () => {
          if (signal.aborted || fatal !== undefined) return;
          const body = routerRequest(router, record);
          let hold: Hold | undefined;
          if (ledger && tokenizer) {
            hold = await ledger.reserve('router', worstCaseCost(tokenizer, body, price).usd);
            if (!hold) {
              unaffordable++;
              return;
            }
            if (signal.aborted || fatal !== undefined) {
              ledger.release(hold);
              return;
            }
          }
          // Waiting for a concurrency slot, kept apart from latency as for candidates.
          const queueMs = io.clock.now() - queuedAt;
          const outcome = await callWithRetries(provider, body, {
            maxRetries: router.max_retries,
            timeoutMs: router.timeout_ms,
            clock: io.clock,
            random: io.random,
            signal,
          });
          if (hold) {
            const x = outcome.completion;
            if (x) ledger!.settle(hold, costUsd(x.usage, price, x.serviceTier));
            else ledger!.release(hold);
          }
          if (outcome.interrupted) return;
          if (outcome.fatal) {
            fatal ??= `${outcome.failure!.kind}: ${outcome.failure!.message}`;
            return;
          }
          const row: CallRow = callRowFrom(
            { runId, recordId: record.id, candidate: router.name, repeat: 0, role: 'router', aux },
            price,
            outcome,
            queueMs,
            io.clock.isoNow(),
          );
          store.recordCall(row, [], rows.has(record.id));
          rows.set(record.id, {
            status: row.status,
            output: row.output,
            costUsd: row.costUsd,
            latencyMs: row.latencyMs,
          });
          pass.made++;
          if (row.status === 'error') pass.errors++;
          spent += row.costUsd ?? 0;
          if (io.clock.now() - lastLine >= every) {
            lastLine = io.clock.now();
            io.stderr.write(line());
          }
        });
      }),
    );
    io.stderr.write(line());
    if (fatal !== undefined) {
      throw new HarnessError('PROVIDER_AUTH', `router ${router.name} stopped: ${fatal}`, {
        hint: 'fix the router endpoint (key, model, quota) and rerun: stored router rows are reused',
      });
    }
    if (lease.lost) throw leaseLostError(runId, 'route');
    pass.interrupted = signal.aborted;
    if (unaffordable > 0 && !pass.interrupted) {
      throw new HarnessError(
        'BUDGET_REACHED',
        `router ${router.name} stopped at run ${runId}'s budget ($${ledger!.capUsd}): $${ledger!.spent.toFixed(4)} spent by the run; ${unaffordable} router call${unaffordable === 1 ? '' : 's'} not made`,
        {
          exitCode: 1,
          hint: "raise the run's budget_usd and rerun: the router rows made so far are stored and reused",
        },
      );
    }
    return pass;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    lease.release();
    await sim?.close();
  }
}

export function routerPrice(router: Router): PriceRule {
  const price = resolvePrice(router.candidate.model, router.candidate.price);
  if (!price) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `router.candidate.price: no bundled price for model "${router.candidate.model}"`,
      {
        hint: 'give price: {input, cached_input, output} in USD per 1M tokens: a policy pays for its own routing',
      },
    );
  }
  return price;
}

/**
 * What a simulated router answers (only for `base_url: simulator`): the simulator cannot read, so it
 * is told the right answer per rendered router prompt, and gives it as often as the model's profile
 * accuracy (otherwise one of the other answers). From an answer key file, or from a tag through `truth`.
 */
export function simulatedAnswers(
  router: Router,
  records: readonly RouteRecord[],
  baseDir: string,
): AnswerKey {
  const s = router.simulator;
  if (!s) return {};
  if (s.answer_key) return loadAnswerKey(resolve(baseDir, s.answer_key));
  const truth = s.truth!;
  const answers = [...new Set(Object.values(truth))];
  const key: AnswerKey = {};
  for (const r of records) {
    const value = r.tags[s.truth_tag!];
    const answer = value === undefined ? undefined : truth[value];
    if (answer === undefined) continue;
    key[promptKey(routerRequest(router, r))] = { answer, wrong: answers.filter((a) => a !== answer) };
  }
  return key;
}
