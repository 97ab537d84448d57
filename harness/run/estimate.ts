import { type HoldoutRecord, outputTokenLimit } from '../../datasets/record.js';
import { type ScorerSpec, tagFilter } from '../../scorers/index.js';
import type { ResolvedCandidate } from '../config.js';
import { costUsd, type PriceRule } from '../providers/pricing.js';
import { buildRequest } from '../providers/request.js';
import {
  encodingFor,
  loadTokenizer,
  REPLY_PRIMING_TOKENS,
  requestInputTokens,
  type Tokenizer,
} from '../providers/tokens.js';

/**
 * The dry-run cost estimate of a run: what `holdout run --dry-run` prints and what a budget is checked
 * against before the first call. Input tokens are counted with the model family's tokenizer on the
 * request each candidate would be sent. Output tokens cannot be known before the call; per record
 * the estimate takes, in this order:
 * - `logged`: the output tokens of the record's logged production response (its usage);
 * - `reference`: the tokens of `reference.output` (or of `reference.json` as JSON);
 * - `cap`: the request's own output limit (`max_completion_tokens`, `max_tokens`, `max_output_tokens`),
 *   an upper bound;
 * - `assumed`: ASSUMED_OUTPUT_TOKENS.
 * No prompt caching is assumed (an upper bound on input cost), and hidden reasoning tokens are not
 * estimated: a reasoning model bills them as output, so its real cost can be higher.
 */
export const ASSUMED_OUTPUT_TOKENS = 256;
/** A judge's reply: a score or a label and a two-sentence rationale. */
export const JUDGE_OUTPUT_TOKENS = 80;

export type OutputBasis = 'logged' | 'reference' | 'cap' | 'assumed';

export interface EndpointEstimate {
  id: string;
  model: string;
  role: 'candidate' | 'judge';
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** How many calls' output tokens came from each basis. */
  basis: Record<OutputBasis, number>;
  /** A replay candidate makes no call: its cost is the logged one, not new spend. */
  replay: boolean;
  /** Sent through the Batch API: priced at the batch rate. */
  batch: boolean;
}

export interface RunEstimate {
  records: number;
  repeats: number;
  endpoints: EndpointEstimate[];
  /** New spend: every candidate and judge call, replay candidates excluded. */
  totalUsd: number;
}

export interface EstimateInput {
  candidates: readonly ResolvedCandidate[];
  judges: readonly ResolvedCandidate[];
  scorers: readonly ScorerSpec[];
  repeats: number;
  stream: boolean;
  /** Candidates sent through the Batch API (priced at the batch rate). */
  batched?: ReadonlySet<string>;
}

/** Estimates the cost of running every record through every candidate (and judge). */
export async function estimateRun(
  cfg: EstimateInput,
  records: AsyncIterable<HoldoutRecord> | Iterable<HoldoutRecord>,
): Promise<RunEstimate> {
  const tokenizers = new Map<string, Tokenizer>();
  for (const e of [...cfg.candidates, ...cfg.judges]) {
    const enc = encodingFor(e.model);
    if (!tokenizers.has(enc)) tokenizers.set(enc, await loadTokenizer(enc));
  }
  const tok = (model: string) => tokenizers.get(encodingFor(model))!;
  const blank = (e: ResolvedCandidate, role: EndpointEstimate['role']): EndpointEstimate => ({
    id: e.id,
    model: e.model,
    role,
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    basis: { logged: 0, reference: 0, cap: 0, assumed: 0 },
    replay: role === 'candidate' && e.replay === true,
    batch: role === 'candidate' && (cfg.batched?.has(e.id) ?? false),
  });
  const cands = cfg.candidates.map((c) => blank(c, 'candidate'));
  const judges = new Map(cfg.judges.map((j) => [j.id, blank(j, 'judge')]));
  const judgeScorers = cfg.scorers
    .filter((s): s is Extract<ScorerSpec, { judge: string }> => 'judge' in s && judges.has(s.judge))
    .map((spec) => ({ spec, applies: tagFilter(spec.match) }));
  let n = 0;
  for await (const record of records) {
    n++;
    const answers: number[] = [];
    cfg.candidates.forEach((c, i) => {
      const e = cands[i]!;
      const { body } = buildRequest(record, {
        model: c.model,
        api: c.api,
        params: c.params,
        stream: cfg.stream,
      });
      const input = requestInputTokens(tok(c.model), body);
      const { tokens: output, basis } = outputTokens(record, body, tok(c.model));
      answers.push(output);
      const cost = costUsd(
        { inputTokens: input, cachedTokens: 0, outputTokens: output, reasoningTokens: 0 },
        c.price,
        e.batch ? 'batch' : undefined,
      );
      e.calls += cfg.repeats;
      e.inputTokens += input * cfg.repeats;
      e.outputTokens += output * cfg.repeats;
      e.costUsd += cost * cfg.repeats;
      e.basis[basis] += cfg.repeats;
    });
    for (const { spec: s, applies } of judgeScorers) {
      if (!applies(record)) continue;
      const judge = cfg.judges.find((j) => j.id === s.judge)!;
      const e = judges.get(s.judge)!;
      const t = tok(judge.model);
      // The judge reads the task, the reference, its instructions and the answer(s) it grades.
      const task = requestInputTokens(t, record.request as Record<string, unknown>) - REPLY_PRIMING_TOKENS;
      const ref = referenceTokens(record, t) ?? 0;
      const fixed = task + ref + t.count(s.prompt) + t.count(judgeText(s)) + 2 * 3 + REPLY_PRIMING_TOKENS;
      cfg.candidates.forEach((c, i) => {
        const pairwise = s.kind === 'judge_pairwise';
        if (pairwise && c.id === s.baseline) return;
        const base = pairwise ? (answers[cfg.candidates.findIndex((x) => x.id === s.baseline)] ?? 0) : 0;
        const calls = (pairwise ? 2 : 1) * cfg.repeats;
        const input = fixed + answers[i]! + base;
        const cost = costUsd(
          { inputTokens: input, cachedTokens: 0, outputTokens: JUDGE_OUTPUT_TOKENS, reasoningTokens: 0 },
          judge.price,
        );
        e.calls += calls;
        e.inputTokens += input * calls;
        e.outputTokens += JUDGE_OUTPUT_TOKENS * calls;
        e.costUsd += cost * calls;
        e.basis.assumed += calls;
      });
    }
  }
  const endpoints = [...cands, ...judges.values()];
  const totalUsd = endpoints.filter((e) => !e.replay).reduce((s, e) => s + e.costUsd, 0);
  return { records: n, repeats: cfg.repeats, endpoints, totalUsd };
}

/**
 * One judge call as the dry runs price it: the request's input tokens counted with the judge model's
 * tokenizer (no prompt caching), the reply taken as JUDGE_OUTPUT_TOKENS. `holdout rescore --dry-run`
 * prices each judge call it would make with it, on the request built over the stored output.
 */
export function judgeCallEstimate(
  t: Tokenizer,
  body: Record<string, unknown>,
  price: PriceRule,
): { inputTokens: number; outputTokens: number; usd: number } {
  const inputTokens = requestInputTokens(t, body);
  const usage = { inputTokens, cachedTokens: 0, outputTokens: JUDGE_OUTPUT_TOKENS, reasoningTokens: 0 };
  return { inputTokens, outputTokens: JUDGE_OUTPUT_TOKENS, usd: costUsd(usage, price) };
}

function outputTokens(
  record: HoldoutRecord,
  body: Record<string, unknown>,
  t: Tokenizer,
): { tokens: number; basis: OutputBasis } {
  const usage = record.production?.body?.usage as
    | { completion_tokens?: unknown; output_tokens?: unknown }
    | undefined;
  const logged = usage?.completion_tokens ?? usage?.output_tokens;
  if (typeof logged === 'number' && logged >= 0) return { tokens: logged, basis: 'logged' };
  const ref = referenceTokens(record, t);
  if (ref !== undefined) return { tokens: ref, basis: 'reference' };
  const cap = outputTokenLimit(body);
  if (cap !== undefined && cap > 0) return { tokens: cap, basis: 'cap' };
  return { tokens: ASSUMED_OUTPUT_TOKENS, basis: 'assumed' };
}

function referenceTokens(record: HoldoutRecord, t: Tokenizer): number | undefined {
  const ref = record.reference;
  if (typeof ref?.output === 'string') return t.count(ref.output);
  if (ref?.json !== undefined) return t.count(JSON.stringify(ref.json));
  if (typeof ref?.label === 'string') return t.count(ref.label);
  return undefined;
}

/** The scorer's own words the judge reads: rubric, instructions and labels, or criteria. */
function judgeText(s: Extract<ScorerSpec, { judge: string }>): string {
  if (s.kind === 'judge_rubric') return s.rubric;
  if (s.kind === 'judge_label') return `${s.instructions}\n${s.labels.join('\n')}`;
  return s.criteria;
}

/**
 * Worst-case cost of one request, what a budget reserves before sending it (live calls, judge and
 * router calls, and each batch before it is submitted):
 * - input: the request's tokens counted with the model family's tokenizer, plus INPUT_MARGIN for what
 *   the count approximates (message framing, tool definitions in the API's own rendering; the
 *   simulator bills ⌈characters / 4⌉), and no cached-input discount; image, audio and file parts are
 *   not counted;
 * - output: the request's own output limit (`max_completion_tokens`, `max_tokens`,
 *   `max_output_tokens`, from the record or the endpoint's params), which bounds reasoning tokens
 *   too; a request without one is reserved UNLIMITED_OUTPUT_TOKENS, which a long answer can exceed;
 * - at the rate it will be billed: the batch rate in batch mode, else the `service_tier` the request
 *   asks for, and the long-context rates above 272K input tokens; input as cache writes when a model
 *   bills those dearer.
 */
export const INPUT_MARGIN = 0.2;
/** Output tokens reserved for a request that sets no output limit. */
export const UNLIMITED_OUTPUT_TOKENS = 4096;

export interface WorstCase {
  usd: number;
  inputTokens: number;
  outputTokens: number;
  /** Whether the output tokens are the request's own limit (else UNLIMITED_OUTPUT_TOKENS). */
  limited: boolean;
}

export function worstCaseCost(
  t: Tokenizer,
  body: Record<string, unknown>,
  price: PriceRule,
  tier?: 'batch',
): WorstCase {
  const inputTokens = Math.ceil(requestInputTokens(t, body) * (1 + INPUT_MARGIN));
  const limit = outputTokenLimit(body);
  const limited = limit !== undefined && limit > 0;
  const outputTokens = limited ? Math.ceil(limit) : UNLIMITED_OUTPUT_TOKENS;
  const asked = typeof body.service_tier === 'string' ? body.service_tier : undefined;
  const usage = { inputTokens, cachedTokens: 0, outputTokens, reasoningTokens: 0 };
  // Whichever is dearer: every input token billed as input, or as a cache write (some models bill more).
  const usd = Math.max(
    costUsd(usage, price, tier ?? asked),
    costUsd({ ...usage, cacheWriteTokens: inputTokens }, price, tier ?? asked),
  );
  return { usd, inputTokens, outputTokens, limited };
}

/** Loads the tokenizer of each model's family once; `of(model)` is synchronous afterwards. */
export async function tokenizersFor(models: Iterable<string>): Promise<(model: string) => Tokenizer> {
  const loaded = new Map<string, Tokenizer>();
  for (const m of models) {
    const enc = encodingFor(m);
    if (!loaded.has(enc)) loaded.set(enc, await loadTokenizer(enc));
  }
  return (model) => {
    const t = loaded.get(encodingFor(model));
    if (!t) throw new Error(`no tokenizer loaded for ${model}`);
    return t;
  };
}

/** Budget held for a request in flight (or a batch not yet collected). */
export interface Hold {
  readonly endpoint: string;
  /** Held now: the worst case times the endpoint's learned factor. */
  readonly usd: number;
  /** The worst case as estimated, before the factor. */
  readonly base: number;
  /** A batch: held until it is collected, so nothing live waits for it. */
  readonly pinned: boolean;
}

/**
 * A run's spend against its budget, shared by every caller that spends (candidate calls, batches,
 * judges, routers). Before a request is sent its worst case is held; when it ends the hold is
 * replaced by the real cost. The cap is never passed as long as no request costs more than its worst
 * case; when one does (a provider that bills tokens the estimate leaves out), later holds for the
 * same endpoint are scaled by the largest ratio seen, so it can happen only to calls already in flight.
 *
 * A request that does not fit waits, first come first served, while other live requests hold budget
 * (their real cost is usually well below their hold). Once nothing live is held and it still does not
 * fit, it is refused, and so is every later request of the same endpoint: that candidate (or judge,
 * or router) stops for the session, while cheaper endpoints go on as long as their calls fit.
 */
export class SpendLedger {
  private committed: number;
  private held = 0;
  private liveHolds = 0;
  private halted = false;
  private readonly refused = new Set<string>();
  private readonly factors = new Map<string, number>();
  private readonly pins = new Map<string, Hold>();
  private queue: { usd: number; base: number; endpoint: string; grant(h: Hold | undefined): void }[] = [];

  /** `spentUsd`: what the run has already spent (every role, earlier sessions included). */
  constructor(
    readonly capUsd: number | undefined,
    spentUsd: number,
  ) {
    this.committed = spentUsd;
  }

  /** Recorded spend: earlier sessions plus every settled request. */
  get spent(): number {
    return this.committed;
  }

  /** Budget held by requests in flight and batches not yet collected. */
  get reserved(): number {
    return this.held;
  }

  /** Whether some request was refused for want of budget (or everything was stopped). */
  get reached(): boolean {
    return this.halted || this.refused.size > 0;
  }

  /** Whether requests of this endpoint are refused from now on. */
  refuses(endpoint: string): boolean {
    return this.halted || this.refused.has(endpoint);
  }

  /** Whether `usd` more could be held now (always, without a cap). */
  fits(usd: number): boolean {
    return this.capUsd === undefined || this.committed + this.held + usd <= this.capUsd + 1e-12;
  }

  /** The endpoint's worst case scaled by what it has been seen to cost beyond its estimates. */
  scaled(endpoint: string, usd: number): number {
    return usd * (this.factors.get(endpoint) ?? 1);
  }

  /**
   * Holds the worst case of a live request, waiting while other live requests hold budget; undefined
   * when it cannot be afforded (see the class comment). Without a cap it never waits.
   */
  reserve(endpoint: string, worstUsd: number): Promise<Hold | undefined> {
    if (this.refuses(endpoint)) return Promise.resolve(undefined);
    const usd = this.scaled(endpoint, worstUsd);
    if (this.queue.length === 0 && this.fits(usd))
      return Promise.resolve(this.grant(endpoint, usd, worstUsd));
    return new Promise((resolve) => {
      this.queue.push({ usd, base: worstUsd, endpoint, grant: resolve });
      this.pump();
    });
  }

  /**
   * Holds a batch's worst case under `key` until it is collected (`unpin`), if it fits now (or with
   * `force`: a batch already submitted); false, with nothing held, if not. Pinned holds never free
   * budget for live requests during the session, so none of those waits for them.
   */
  pin(key: string, endpoint: string, worstUsd: number, force = false): boolean {
    if (this.pins.has(key)) return true;
    const usd = this.scaled(endpoint, worstUsd);
    if (!force && !this.fits(usd)) return false;
    this.held += usd;
    this.pins.set(key, { endpoint, usd, base: worstUsd, pinned: true });
    return true;
  }

  /** Ends a pinned hold: with the real cost once its results are rows, or without (the batch is gone). */
  unpin(key: string, realUsd?: number): void {
    const hold = this.pins.get(key);
    if (!hold) return;
    this.pins.delete(key);
    if (realUsd === undefined) this.release(hold);
    else this.settle(hold, realUsd);
  }

  /** Whether a pinned hold exists under `key`. */
  pinned(key: string): boolean {
    return this.pins.has(key);
  }

  /** Replaces a hold with the real cost (0 for an error row); learns when the real cost was higher. */
  settle(hold: Hold, realUsd: number): void {
    this.drop(hold);
    this.committed += realUsd;
    if (hold.base > 0 && realUsd > hold.base) {
      const f = realUsd / hold.base;
      if (f > (this.factors.get(hold.endpoint) ?? 1)) this.factors.set(hold.endpoint, f);
    }
    this.pump();
  }

  /** Drops a hold that led to no stored result (interrupted, or an error that stops the endpoint). */
  release(hold: Hold): void {
    this.drop(hold);
    this.pump();
  }

  /** Spend without a hold (a replay candidate's logged cost). */
  charge(usd: number): void {
    this.committed += usd;
  }

  /** Refuses every waiting and later request: the run stops (it failed). */
  stop(): void {
    this.halted = true;
    for (const w of this.queue.splice(0)) w.grant(undefined);
  }

  private grant(endpoint: string, usd: number, base: number): Hold {
    this.held += usd;
    this.liveHolds++;
    return { endpoint, usd, base, pinned: false };
  }

  private drop(hold: Hold): void {
    this.held = Math.max(0, this.held - hold.usd);
    if (!hold.pinned) this.liveHolds--;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (this.fits(head.usd)) {
        this.queue.shift();
        head.grant(this.grant(head.endpoint, head.usd, head.base));
      } else if (this.liveHolds === 0) {
        // Nothing in flight will free budget: this endpoint's calls cannot be afforded any more.
        this.refused.add(head.endpoint);
        const out = this.queue.filter((w) => w.endpoint === head.endpoint);
        this.queue = this.queue.filter((w) => w.endpoint !== head.endpoint);
        for (const w of out) w.grant(undefined);
      } else return;
    }
  }
}
