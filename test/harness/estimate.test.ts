import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { ResolvedCandidate } from '../../harness/config.js';
import { ASSUMED_OUTPUT_TOKENS, estimateRun, JUDGE_OUTPUT_TOKENS } from '../../harness/run/estimate.js';
import { ScorerSpec } from '../../scorers/index.js';

const price = { standard: { input: 1, cached_input: 0.1, output: 2 }, source: 'config' as const };
const cand = (id: string, over: Partial<ResolvedCandidate> = {}): ResolvedCandidate => ({
  id,
  model: 'gpt-5.4-mini',
  api: 'chat',
  api_key_env: 'K',
  params: {},
  price,
  replay: false,
  ...over,
});
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: 'user', content }],
  ...extra,
});
/** Billed input as the cookbook counts it, from the tokenizer directly: 3 per message + role + content, 3 to prime. */
const inputOf = (content: string) => 3 + countTokens('user') + countTokens(content) + 3;

const records: HoldoutRecord[] = [
  // logged: the production usage says 40 output tokens
  {
    id: 'a',
    tags: {},
    api: 'chat' as const,
    request: ask('Summarize the ticket.'),
    production: { body: { choices: [], usage: { prompt_tokens: 1, completion_tokens: 40 } } },
  },
  // reference: the tokens of the expected output
  {
    id: 'b',
    tags: {},
    api: 'chat' as const,
    request: ask('Capital of France?'),
    reference: { output: 'Paris is the capital.' },
  },
  // cap: the request's own limit
  { id: 'c', tags: {}, api: 'chat' as const, request: ask('Write a haiku.', { max_completion_tokens: 64 }) },
  // assumed
  { id: 'd', tags: {}, api: 'chat' as const, request: ask('Hello?') },
];

describe('estimateRun', () => {
  it('counts input with the tokenizer, takes output from the log, the reference, the cap or the assumption, and prices it', async () => {
    const e = await estimateRun(
      { candidates: [cand('mini')], judges: [], scorers: [], repeats: 2, stream: false },
      records,
    );
    const m = e.endpoints[0]!;
    const input =
      inputOf('Summarize the ticket.') +
      inputOf('Capital of France?') +
      inputOf('Write a haiku.') +
      inputOf('Hello?');
    const output = 40 + countTokens('Paris is the capital.') + 64 + ASSUMED_OUTPUT_TOKENS;
    expect(m.calls).toBe(8);
    expect(m.inputTokens).toBe(2 * input);
    expect(m.outputTokens).toBe(2 * output);
    expect(m.basis).toEqual({ logged: 2, reference: 2, cap: 2, assumed: 2 });
    // $1 per 1M input, $2 per 1M output, no caching assumed.
    expect(m.costUsd).toBeCloseTo((2 * input * 1 + 2 * output * 2) / 1e6, 12);
    expect(e.totalUsd).toBeCloseTo(m.costUsd, 12);
  });

  it('leaves replay candidates out of the new spend and estimates judge calls per applicable scorer', async () => {
    const judge = cand('grader', { model: 'gpt-5.5' });
    const pairwise = ScorerSpec.parse({
      kind: 'judge_pairwise',
      judge: 'grader',
      baseline: 'mini',
      match: { t: 'x' },
    });
    const tagged: HoldoutRecord[] = records.map(
      (r, i): HoldoutRecord => ({ ...r, tags: i < 2 ? { t: 'x' } : {} }),
    );
    const e = await estimateRun(
      {
        candidates: [cand('mini'), cand('prod', { replay: true }), cand('nano', { model: 'gpt-5.4-nano' })],
        judges: [judge],
        scorers: [pairwise],
        repeats: 1,
        stream: false,
      },
      tagged,
    );
    const byId = Object.fromEntries(e.endpoints.map((x) => [x.id, x]));
    expect(byId.prod!.replay).toBe(true);
    // Two tagged records × the two non-baseline candidates × both orders.
    expect(byId.grader!.calls).toBe(2 * 2 * 2);
    expect(byId.grader!.outputTokens).toBe(8 * JUDGE_OUTPUT_TOKENS);
    expect(e.totalUsd).toBeCloseTo(byId.mini!.costUsd + byId.nano!.costUsd + byId.grader!.costUsd, 12);
  });
});
