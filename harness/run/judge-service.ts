import pLimit from 'p-limit';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { Store } from '../../results/store/store.js';
import type { JudgeCallKey, JudgeRequest, JudgeService } from '../../scorers/judge/judge.js';
import { type AttemptPolicy, callRowFrom, callWithRetries } from './attempt.js';
import { costUsd, type PriceRule } from '../providers/pricing.js';
import type { Provider } from '../providers/provider.js';
import { buildRequest } from '../providers/request.js';
import { encodingFor, loadTokenizer } from '../providers/tokens.js';
import { type Hold, type SpendLedger, worstCaseCost } from './estimate.js';

/** A judge as the run calls it: a candidate-like endpoint that grades instead of answering. */
export interface JudgePlan {
  id: string;
  model: string;
  api: 'chat' | 'responses';
  params: Record<string, unknown>;
  price: PriceRule;
  provider: Provider;
  /** Calls in flight to this judge at most (its `concurrency:`); the scoring pass bounds the total. */
  concurrency?: number;
}

export interface JudgeServiceOptions {
  store: Store;
  runId: number;
  judges: readonly JudgePlan[];
  /** The run's candidate ids (pairwise baselines are checked against them). */
  candidates: readonly string[];
  policy: AttemptPolicy;
  /**
   * The run's budget: each judge call's worst case is held before it is sent. When the budget cannot
   * cover one, the service halts with 'budget' and makes no further call.
   */
  ledger?: SpendLedger;
}

/**
 * Judge calls through the run's machinery: the same retries and timeouts as candidate calls, one
 * stored row per call (role 'judge', candidate = the judged candidate, aux = scorer[:order]) so
 * that judge cost stays apart from the candidates', and a rerun reuses every stored answer.
 */
export function judgeService(
  opts: JudgeServiceOptions,
): JudgeService & { halted?: string /** USD of the judge calls this service made. */; spent(): number } {
  const { store, runId, policy } = opts;
  const byId = new Map(opts.judges.map((j) => [j.id, j]));
  const limits = new Map(opts.judges.map((j) => [j.id, pLimit(j.concurrency ?? Number.POSITIVE_INFINITY)]));
  const candidates = new Set(opts.candidates);
  let spent = 0;
  const service: JudgeService & { halted?: string; spent(): number } = {
    spent: () => spent,
    has: (judge) => byId.has(judge),
    hasCandidate: (c) => candidates.has(c),
    outputOf(candidate, recordId, repeat) {
      const row = store.storedCall(runId, recordId, candidate, repeat, 'candidate');
      return row?.status === 'ok' ? (row.output ?? '') : undefined;
    },
    async ask(judgeId: string, req: JudgeRequest, key: JudgeCallKey): Promise<string> {
      const judge = byId.get(judgeId);
      if (!judge) throw new Error(`judge "${judgeId}" is not declared under \`judges:\``);
      const stored = store.storedCall(runId, key.recordId, key.candidate, key.repeat, 'judge', key.aux);
      if (stored?.status === 'ok') return stored.output ?? '';
      if (service.halted) throw new Error(service.halted);
      const body = judgeBody(judge, req);
      const outcome = await limits.get(judge.id)!(async () => {
        // Queued behind the judge's concurrency limit while Ctrl-C came: send nothing.
        if (policy.signal?.aborted) return undefined;
        let hold: Hold | undefined;
        const ledger = opts.ledger;
        if (ledger?.capUsd !== undefined) {
          const t = await loadTokenizer(encodingFor(judge.model));
          hold = await ledger.reserve(`judge ${judge.id}`, worstCaseCost(t, body, judge.price).usd);
          if (!hold) {
            service.halted ??= 'budget';
            return undefined;
          }
          if (policy.signal?.aborted || service.halted) {
            ledger.release(hold);
            return undefined;
          }
        }
        const o = await callWithRetries(judge.provider, body, policy);
        if (hold) {
          if (o.completion)
            ledger!.settle(hold, costUsd(o.completion.usage, judge.price, o.completion.serviceTier));
          else ledger!.release(hold);
        }
        return o;
      });
      if (!outcome) throw new Error(service.halted ?? 'interrupted');
      // Neither becomes a stored result: the scoring pass sees the signal or `halted` and stores nothing.
      if (outcome.interrupted) throw new Error('interrupted');
      if (outcome.fatal) {
        const f = outcome.failure!;
        service.halted = `judge ${judge.id}: ${f.kind}: ${f.message}`;
        throw new Error(service.halted);
      }
      const row = callRowFrom(
        {
          runId,
          recordId: key.recordId,
          candidate: key.candidate,
          repeat: key.repeat,
          role: 'judge',
          aux: key.aux,
        },
        judge.price,
        outcome,
        0,
        policy.clock.isoNow(),
      );
      store.recordCall(row, [], stored?.status === 'error');
      spent += row.costUsd ?? 0;
      if (!outcome.completion) {
        const f = outcome.failure!;
        throw new Error(`judge call failed after ${outcome.attempts} attempts: ${f.kind}: ${f.message}`);
      }
      return outcome.completion.text;
    },
  };
  return service;
}

/** The judge's request in its own API style, with structured output, never streamed. */
export function judgeBody(judge: Pick<JudgePlan, 'model' | 'api' | 'params'>, req: JudgeRequest) {
  const record = {
    id: 'judge',
    tags: {},
    api: 'chat',
    request: {
      messages: [
        { role: 'system', content: req.system },
        { role: 'user', content: req.user },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: req.schema.name, schema: req.schema.schema, strict: true },
      },
    },
  } as HoldoutRecord;
  const { body } = buildRequest(record, {
    model: judge.model,
    api: judge.api,
    params: judge.params,
    stream: false,
  });
  // The Responses API stores responses by default; a grader's calls have no business being kept.
  if (judge.api === 'responses' && !('store' in judge.params)) body.store = false;
  return body;
}
