import { type HoldoutRecord, outputTokenLimit } from '../../datasets/record.js';
import { type ScorerSpec, tagFilter } from '../../scorers/index.js';
import type { ResolvedCandidate } from '../config.js';
import { costUsd } from '../providers/pricing.js';
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
