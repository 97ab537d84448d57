import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import type { HarnessError } from '../../harness/errors.js';
import { Matcher, prepareMatcher, type RouteRecord } from '../../harness/route/conditions.js';
import { checkCandidates, parsePolicy, sweepThresholds } from '../../harness/route/policy.js';
import {
  parseLabel,
  parseScore,
  renderRouterPrompt,
  routerAux,
  routerRequest,
} from '../../harness/route/router.js';
import { encodingFor, loadTokenizer, requestInputTokens } from '../../harness/providers/tokens.js';

/** The tokenizer itself, called directly: the reference the counts are checked against. */
const direct = (s: string) => o200k(s, { disallowedSpecial: new Set() });

function rec(over: Partial<RouteRecord> & { request: Record<string, unknown> }): RouteRecord {
  return { id: 'r', tags: {}, metadata: {}, api: 'chat', ...over };
}

describe('token counts', () => {
  it('the encoding follows the model family', () => {
    for (const m of [
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4.1-nano',
      'gpt-5.4-mini-2026-03-17',
      'o3',
      'sim-mini',
      undefined,
    ])
      expect(encodingFor(m)).toBe('o200k_base');
    for (const m of ['gpt-4', 'gpt-4-0613', 'gpt-3.5-turbo']) expect(encodingFor(m)).toBe('cl100k_base');
  });

  it('a chat request: each message is its role and content plus 3 tokens, and the reply is primed with 3', async () => {
    const t = await loadTokenizer('o200k_base');
    const system = 'You are a careful assistant. Réponds en français si on te parle français.';
    const user = 'Plan the migration of our billing service step by step, with rollback points. 🚀';
    const body = {
      model: 'gpt-5.4',
      messages: [
        { role: 'system', content: system },
        {
          role: 'user',
          content: [
            { type: 'text', text: user },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
        { role: 'assistant', content: 'Sure.', name: 'helper' },
      ],
    };
    const expected =
      3 +
      direct('system') +
      direct(system) +
      3 +
      direct('user') +
      direct(user) +
      3 +
      direct('assistant') +
      direct('Sure.') +
      direct('helper') +
      1 +
      3;
    expect(requestInputTokens(t, body)).toBe(expected);
    // The image part is not counted; tools are counted as their JSON.
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    expect(requestInputTokens(t, { ...body, tools })).toBe(expected + direct(JSON.stringify(tools)));
  });

  it('a Responses request: instructions as a system message, string input as a user message', async () => {
    const t = await loadTokenizer('o200k_base');
    const body = { model: 'gpt-5.4', instructions: 'Be brief.', input: 'What is 2 + 2?' };
    expect(requestInputTokens(t, body)).toBe(
      3 + direct('system') + direct('Be brief.') + 3 + direct('user') + direct('What is 2 + 2?') + 3,
    );
  });

  it('cl100k counts differ from o200k where the vocabularies do, and special-token text is plain text', async () => {
    const t = await loadTokenizer('cl100k_base');
    const text = 'नमस्ते दुनिया, こんにちは世界 <|endoftext|>';
    expect(t.count(text)).toBe(cl100k(text, { disallowedSpecial: new Set() }));
    expect(t.count(text)).not.toBe(direct(text));
  });

  it('the 272K-token rule fires above 272,000 tokens and not at it, by the tokenizer’s own count', async () => {
    // " hello" repeated: the tokenizer says how many tokens each length makes; the overhead of one user
    // message is 3 + tokens("user") + 3.
    const overhead = 3 + direct('user') + 3;
    const words = (n: number) => ' hello'.repeat(n);
    const k = 272_000 - overhead;
    expect(direct(words(k))).toBe(k); // " hello" is one token each: the check below is exact
    const policy = parsePolicy(
      {
        name: 'long',
        default: 'mini',
        rules: [{ when: { input_tokens: { gt: 272_000 } }, route: 'frontier' }],
      },
      'p.yaml',
    );
    const at = rec({
      id: 'at',
      request: { model: 'gpt-5.4', messages: [{ role: 'user', content: words(k) }] },
    });
    const above = rec({
      id: 'above',
      request: { model: 'gpt-5.4', messages: [{ role: 'user', content: words(k + 1) }] },
    });
    const m = await prepareMatcher(policy, [at, above]);
    expect(m.inputTokensOf(at)).toBe(272_000);
    expect(m.firstMatch(at)).toBe(-1);
    expect(m.inputTokensOf(above)).toBe(272_001);
    expect(m.firstMatch(above)).toBe(0);
  });
});

describe('conditions', () => {
  const base = {
    model: 'gpt-5.4-mini',
    max_completion_tokens: 300,
    messages: [
      { role: 'system', content: 'You write plans.' },
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'An answer' },
      { role: 'user', content: 'Now break it down step-by-step' },
    ],
  };
  const r = rec({
    tags: { task: 'plan', tenant: 'acme' },
    metadata: { stakes: 'high', priority: 2, beta: true },
    request: base,
    reference: { output: 'one two three' },
  });

  async function holds(when: unknown, record = r): Promise<boolean> {
    const p = parsePolicy({ name: 'x', default: 'a', rules: [{ when, route: 'b' }] }, 'x.yaml');
    const m = await prepareMatcher(p, [record]);
    return m.firstMatch(record) === 0;
  }

  it('tags (a value or a list), metadata (scalars, lists), turns, tools', async () => {
    expect(await holds({ tags: { task: 'plan' } })).toBe(true);
    expect(await holds({ tags: { task: ['extract', 'plan'], tenant: 'acme' } })).toBe(true);
    expect(await holds({ tags: { task: 'plan', tenant: 'other' } })).toBe(false);
    expect(await holds({ tags: { missing: 'x' } })).toBe(false);
    expect(await holds({ metadata: { stakes: 'high', priority: 2, beta: true } })).toBe(true);
    expect(await holds({ metadata: { priority: '2' } })).toBe(false); // types are compared as given
    expect(await holds({ metadata: { priority: [1, 2] } })).toBe(true);
    expect(await holds({ turns: { gte: 2 } })).toBe(true); // two user turns
    expect(await holds({ turns: { gt: 2 } })).toBe(false);
    expect(await holds({ tools: false })).toBe(true);
    expect(await holds({ tools: true }, rec({ request: { ...base, tools: [{ type: 'function' }] } }))).toBe(
      true,
    );
  });

  it('prompt_regex over the last user turn by default, or every message', async () => {
    expect(await holds({ prompt_regex: 'step-by-step' })).toBe(true);
    expect(await holds({ prompt_regex: 'STEP' })).toBe(false);
    expect(await holds({ prompt_regex: { pattern: 'STEP', flags: 'i' } })).toBe(true);
    expect(await holds({ prompt_regex: 'write plans' })).toBe(false); // in the system message
    expect(await holds({ prompt_regex: { pattern: 'write plans', in: 'all' } })).toBe(true);
  });

  it('expected output tokens: the reference output, else the request’s cap, else unknown (no match)', async () => {
    // "one two three": the tokenizer's count, directly.
    const n = direct('one two three');
    expect(await holds({ expected_output_tokens: { lte: n, gte: n } })).toBe(true);
    const noRef = rec({ request: base });
    expect(await holds({ expected_output_tokens: { gte: 300, lte: 300 } }, noRef)).toBe(true);
    const unknown = rec({ request: { messages: base.messages } });
    expect(await holds({ expected_output_tokens: { gte: 0 } }, unknown)).toBe(false);
    expect(await holds({ not: { expected_output_tokens: { gte: 0 } } }, unknown)).toBe(true);
  });

  it('all, any, not; keys of one condition must all hold', async () => {
    expect(await holds({ all: [{ tags: { task: 'plan' } }, { metadata: { stakes: 'high' } }] })).toBe(true);
    expect(await holds({ any: [{ tags: { task: 'x' } }, { metadata: { stakes: 'high' } }] })).toBe(true);
    expect(await holds({ not: { tags: { task: 'plan' } } })).toBe(false);
    expect(await holds({ tags: { task: 'plan' }, tools: true })).toBe(false);
  });

  it('first match wins; no match goes to the default', async () => {
    const p = parsePolicy(
      {
        name: 'x',
        default: 'a',
        rules: [
          { when: { tags: { task: 'plan' } }, route: 'b' },
          { when: { tags: { tenant: 'acme' } }, route: 'c' },
        ],
      },
      'x.yaml',
    );
    const m = new Matcher(p, new Map());
    expect(m.firstMatch(r)).toBe(0);
    expect(m.firstMatch(rec({ tags: { tenant: 'acme' }, request: base }))).toBe(1);
    expect(m.firstMatch(rec({ request: base }))).toBe(-1);
  });
});

describe('policy validation', () => {
  const error = (raw: unknown): HarnessError => {
    try {
      parsePolicy(raw, 'policy.yaml');
    } catch (e) {
      return e as HarnessError;
    }
    throw new Error('expected an error');
  };

  it('names each bad field', () => {
    const e = error({
      name: 'x',
      default: 'mini',
      rules: [
        { when: { input_tokens: { gt: -1 } }, route: 'frontier' },
        { when: { tag: { a: 'b' } }, route: 'frontier' },
        { when: {}, route: 'frontier' },
        { when: { turns: {} }, route: 'frontier' },
      ],
    });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/rules\[0\]\.when\.input_tokens\.gt/);
    expect(e.message).toMatch(/Unrecognized key: "tag"[\s\S]*rules\[1\]\.when/);
    expect(e.message).toMatch(/a condition needs at least one test[\s\S]*rules\[2\]\.when/);
    expect(e.message).toMatch(/give at least one of gt, gte, lt, lte[\s\S]*rules\[3\]\.when\.turns/);
  });

  it('an invalid regular expression is named with its rule', () => {
    const e = error({
      name: 'x',
      default: 'a',
      rules: [{ when: { any: [{ prompt_regex: 'plan(' }] }, route: 'b' }],
    });
    expect(e.message).toMatch(/rules\[0\]\.when\.any\[0\]\.prompt_regex: not a valid regular expression/);
  });

  it('a router needs labels or a score, a prompt with {{prompt}}, and `simulator` only on the simulator', () => {
    const router = { candidate: { model: 'gpt-5.4-nano' }, prompt: 'classify {{prompt}}' };
    expect(error({ name: 'x', default: 'a', router }).message).toMatch(
      /give labels \(label → candidate\) or score/,
    );
    expect(
      error({ name: 'x', default: 'a', router: { ...router, prompt: 'no placeholder', labels: { e: 'a' } } })
        .message,
    ).toMatch(/router\.prompt/);
    expect(
      error({
        name: 'x',
        default: 'a',
        router: { ...router, labels: { e: 'a' }, simulator: { truth_tag: 'd', truth: { x: 'e' } } },
      }).message,
    ).toMatch(/`simulator` applies only to a router with base_url: simulator[\s\S]*router\.simulator/);
    expect(
      error({ name: 'x', default: 'a', router: { ...router, score: { below: 'a', above: 'b' } } }).message,
    ).toMatch(/give a threshold, a list of thresholds or a sweep/);
    expect(
      error({
        name: 'x',
        default: 'a',
        router: { ...router, score: { below: 'a', above: 'b', threshold: 0.5, fit: { min_pgr: 0.8 } } },
      }).message,
    ).toMatch(/`fit` chooses a threshold/);
  });

  it('candidates are checked against the run, listing its candidates', () => {
    const p = parsePolicy(
      {
        name: 'x',
        default: 'mini',
        rules: [{ when: { tags: { a: 'b' } }, route: 'gpt-frontier' }],
        router: {
          candidate: { model: 'gpt-5.4-nano' },
          prompt: '{{prompt}}',
          labels: { easy: 'mini', hard: 'big' },
        },
      },
      'p.yaml',
    );
    let e: HarnessError | undefined;
    try {
      checkCandidates(p, 'p.yaml', 7, ['nano', 'mini', 'frontier']);
    } catch (x) {
      e = x as HarnessError;
    }
    expect(e?.message).toBe(
      'p.yaml routes to unknown candidates:\n' +
        '  ✖ rules[0].route: "gpt-frontier" is not a candidate of run 7\n' +
        '  ✖ router.labels.hard: "big" is not a candidate of run 7',
    );
    expect(e?.hint).toBe('the candidates of run 7 are: nano, mini, frontier');
  });

  it('sweeps: from/to/step, a list, and the operating point, sorted and unique', () => {
    expect(sweepThresholds({ sweep: { from: 0.1, to: 0.5, step: 0.1 }, below: 'a', above: 'b' })).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5,
    ]);
    expect(sweepThresholds({ thresholds: [0.7, 0.3], threshold: 0.3, below: 'a', above: 'b' })).toEqual([
      0.3, 0.7,
    ]);
  });
});

describe('router prompts and answers', () => {
  const policy = parsePolicy(
    {
      name: 'x',
      default: 'mini',
      router: {
        candidate: { model: 'gpt-5.4-nano', params: { max_completion_tokens: 3, temperature: null } },
        system: 'Label it.',
        prompt: 'Q: {{prompt}}\nAll: {{ conversation }}',
        labels: { easy: 'mini', hard: 'frontier' },
      },
    },
    'p.yaml',
  );
  const r = rec({ request: { temperature: 1, messages: [{ role: 'user', content: 'hi there' }] } });

  it('renders the prompt and builds the request (params merged, null removes)', () => {
    expect(renderRouterPrompt(policy.router!.prompt, r)).toBe('Q: hi there\nAll: user: hi there');
    expect(routerRequest(policy.router!, r)).toEqual({
      model: 'gpt-5.4-nano',
      messages: [
        { role: 'system', content: 'Label it.' },
        { role: 'user', content: 'Q: hi there\nAll: user: hi there' },
      ],
      max_completion_tokens: 3,
    });
  });

  it('the aux key changes with anything that changes the answers, not with the name', () => {
    const r0 = policy.router!;
    expect(routerAux({ ...r0, name: 'other' })).toBe(routerAux(r0));
    expect(routerAux({ ...r0, prompt: `${r0.prompt}!` })).not.toBe(routerAux(r0));
    expect(routerAux({ ...r0, candidate: { ...r0.candidate, model: 'gpt-5.4-mini' } })).not.toBe(
      routerAux(r0),
    );
  });

  it('labels: exact (case, quotes, punctuation ignored), else the first label as a whole word', () => {
    expect(parseLabel('Hard.', ['easy', 'hard'])).toBe('hard');
    expect(parseLabel('"easy"', ['easy', 'hard'])).toBe('easy');
    expect(parseLabel('I think this is hard, not easy', ['easy', 'hard'])).toBe('hard');
    expect(parseLabel('uneasy feelings', ['easy', 'hard'])).toBeNull();
    expect(parseLabel('', ['easy', 'hard'])).toBeNull();
  });

  it('scores: the first number, in [0, 1]', () => {
    expect(parseScore('0.73')).toBe(0.73);
    expect(parseScore('difficulty: .5 of 1')).toBe(0.5);
    expect(parseScore('1')).toBe(1);
    expect(parseScore('7 out of 10')).toBeNull();
    expect(parseScore('no idea')).toBeNull();
  });
});
