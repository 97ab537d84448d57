import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { HoldoutRecord, type Reference } from '../../datasets/record.js';
import { openaiProvider } from '../../harness/providers/openai.js';
import { buildScorers, type CallOutput, ScorerSpec } from '../../scorers/index.js';
import { tool_call } from '../../scorers/tool-call.js';
import type { Score } from '../../scorers/types.js';
import { fakeClock } from '../support/fakes.js';
import { record } from './fixtures.js';

type Calls = CallOutput['toolCalls'];
const call = (name: string, args: unknown): Calls[number] => ({
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
});
const score = (toolCalls: Calls, expected: Reference['tool_calls'], opts: object = {}) => {
  const scorer = tool_call.create('tool_call', tool_call.args.parse(opts));
  const reference: Reference = expected === undefined ? {} : { tool_calls: expected };
  return scorer.score({ record: record(reference), output: { text: '', toolCalls } }) as Score;
};

// Two parallel calls; the second's arguments given as JSON text, as a log would carry them.
const EXPECTED = [
  { name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } },
  { name: 'get_time', arguments: '{"tz": "Europe/Paris"}' },
];

// Literal API payloads, as the two APIs return parallel calls for the same request. The
// Responses one lists them in the other order.
const CHAT_COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      finish_reason: 'tool_calls',
      logprobs: null,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
          },
          {
            id: 'call_2',
            type: 'function',
            function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
          },
        ],
      },
    },
  ],
  usage: { prompt_tokens: 40, completion_tokens: 30, total_tokens: 70 },
};
const RESPONSE = {
  id: 'resp_1',
  object: 'response',
  created_at: 1,
  status: 'completed',
  model: 'gpt-4o-mini-2024-07-18',
  output: [
    {
      type: 'function_call',
      id: 'fc_1',
      call_id: 'call_1',
      name: 'get_time',
      arguments: '{"tz":"Europe/Paris"}',
      status: 'completed',
    },
    {
      type: 'function_call',
      id: 'fc_2',
      call_id: 'call_2',
      name: 'get_weather',
      arguments: '{"unit":"c","city":"Paris"}',
      status: 'completed',
    },
  ],
  usage: { input_tokens: 40, output_tokens: 30, total_tokens: 70 },
};

/** The provider's own parsing through the official SDK, fed a canned HTTP response (no network). */
async function viaProvider(api: 'chat' | 'responses', payload: object): Promise<CallOutput> {
  const client = new OpenAI({
    apiKey: 'test',
    baseURL: 'http://127.0.0.1:9/v1',
    maxRetries: 0,
    fetch: async () =>
      new Response(JSON.stringify(payload), { status: 200, headers: { 'content-type': 'application/json' } }),
  });
  const provider = openaiProvider(client, { api, clock: fakeClock() });
  const body = api === 'chat' ? { model: 'm', messages: [] } : { model: 'm', input: 'hi' };
  const c = await provider.complete(body, new AbortController().signal);
  return { text: c.text, toolCalls: c.toolCalls };
}

describe('tool_call: both API styles', () => {
  it('gets Chat tool_calls and Responses function_call items in one neutral shape', async () => {
    const chat = await viaProvider('chat', CHAT_COMPLETION);
    const responses = await viaProvider('responses', RESPONSE);
    expect(chat.toolCalls).toEqual([
      { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
      { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
    ]);
    expect(responses.toolCalls).toEqual([
      { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
      { name: 'get_weather', arguments: '{"unit":"c","city":"Paris"}' },
    ]);
    // Through the registry as a run would build it: both match fully in any order.
    const [any, strict] = await buildScorers(
      [
        ScorerSpec.parse({ kind: 'tool_call' }),
        ScorerSpec.parse({ kind: 'tool_call', name: 'in_order', order: 'strict' }),
      ],
      { baseDir: '.' },
    );
    const rec = record({ tool_calls: EXPECTED });
    expect(await any!.score({ record: rec, output: chat })).toEqual({ value: 1, passed: true });
    expect(await any!.score({ record: rec, output: responses })).toEqual({ value: 1, passed: true });
    expect(await strict!.score({ record: rec, output: chat })).toEqual({ value: 1, passed: true });
    // Strict: the longest in-order run of matches is one call of two.
    expect(await strict!.score({ record: rec, output: responses })).toEqual({
      value: 0.5,
      passed: false,
      detail: '1/2 calls matched: get_weather (expected call 1): out of order',
    });
  });
});

describe('tool_call: arguments', () => {
  const time = call('get_time', { tz: 'Europe/Paris' });

  it('exact: same keys and equal values, key order ignored', () => {
    expect(score([call('get_weather', '{"unit":"c","city":"Paris"}'), time], EXPECTED).value).toBe(1);
    // One extra argument: get_weather fails, get_time matches: 1/2.
    expect(score([call('get_weather', { city: 'Paris', unit: 'c', days: 3 }), time], EXPECTED)).toEqual({
      value: 0.5,
      passed: false,
      detail: '1/2 calls matched: get_weather (expected call 1): unexpected days',
    });
  });

  it('subset: expected arguments present and equal, extras allowed', () => {
    const out = [call('get_weather', { city: 'Paris', unit: 'c', days: 3 }), time];
    expect(score(out, EXPECTED, { arguments: 'subset' }).value).toBe(1);
    // A missing expected argument still fails under subset.
    const s = score([call('get_weather', { city: 'Paris' }), time], EXPECTED, { arguments: 'subset' });
    expect(s.detail).toBe('1/2 calls matched: get_weather (expected call 1): unit missing');
    // Nested objects compare whole, not as subsets.
    const nested = [{ name: 'f', arguments: { q: { a: 1 } } }];
    expect(score([call('f', { q: { a: 1, b: 2 } })], nested, { arguments: 'subset' }).value).toBe(0);
  });

  it('names the wrong values', () => {
    expect(score([call('get_weather', { city: 'paris', unit: 'c' }), time], EXPECTED).detail).toBe(
      '1/2 calls matched: get_weather (expected call 1): city: expected "Paris", got "paris"',
    );
  });

  it('compares numbers within tolerance, deep inside lists too', () => {
    const expected = [{ name: 'route', arguments: { from: [48.8566, 2.3522], zoom: 10 } }];
    const out = [call('route', { from: [48.857, 2.3522], zoom: 10.0 })];
    // |48.857 − 48.8566| = 0.0004.
    expect(score(out, expected).value).toBe(0);
    expect(score(out, expected, { abs_tol: 0.0005 }).value).toBe(1);
    expect(score(out, expected, { abs_tol: 0.0003 }).value).toBe(0);
    // rel_tol: 0.0004 / 48.8566 ≈ 8.2e-6.
    expect(score(out, expected, { rel_tol: 1e-5 }).value).toBe(1);
  });

  it('fails a call whose arguments are not valid JSON, and says so', () => {
    const s = score([call('get_weather', '{"city": "Paris"'), time], EXPECTED);
    expect(s.value).toBe(0.5);
    expect(s.detail).toMatch(
      /^1\/2 calls matched: get_weather \(expected call 1\): arguments not valid JSON \(/,
    );
    // Valid JSON that is not an object fails too.
    expect(score([call('get_time', '["Europe/Paris"]')], [EXPECTED[1]!]).detail).toBe(
      '0/1 calls matched: get_time (expected call 1): arguments not a JSON object',
    );
  });

  it('takes blank argument text and omitted expected arguments as {}', () => {
    expect(score([call('now', '')], [{ name: 'now' }]).value).toBe(1);
    expect(score([call('now', '{}')], [{ name: 'now', arguments: '{}' }]).value).toBe(1);
  });
});

describe('tool_call: order and extra calls', () => {
  const paris = call('get_weather', { city: 'Paris', unit: 'c' });
  const london = call('get_weather', { city: 'London', unit: 'c' });
  const twoCities = [
    { name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } },
    { name: 'get_weather', arguments: { city: 'London', unit: 'c' } },
  ];

  it('pairs parallel calls of the same function whatever their order, unless strict', () => {
    expect(score([london, paris], twoCities).value).toBe(1);
    expect(score([london, paris], twoCities, { order: 'strict' })).toEqual({
      value: 0.5,
      passed: false,
      detail: '1/2 calls matched: get_weather (expected call 1): out of order',
    });
  });

  it('strict keeps the longest in-order run: an inserted call does not shift the rest', () => {
    const log = call('log', { msg: 'x' });
    expect(score([paris, log, london], twoCities, { order: 'strict' }).value).toBe(1);
    // Penalized, 2 matched of max(2, 3) = 3 produced.
    const s = score([paris, log, london], twoCities, { order: 'strict', extra_calls: 'penalize' });
    expect(s.value).toBe(2 / 3);
    expect(s.detail).toBe('2/3 calls matched: unexpected call log({"msg":"x"})');
  });

  it('names missing calls; a missing one costs 1/expected', () => {
    // London matches expected call 2, nothing is left to compare call 1 with.
    expect(score([london], twoCities)).toEqual({
      value: 0.5,
      passed: false,
      detail: '1/2 calls matched: get_weather (expected call 1): missing',
    });
    expect(score([], twoCities)).toEqual({
      value: 0,
      passed: false,
      detail:
        '0/2 calls matched: get_weather (expected call 1): missing; get_weather (expected call 2): missing',
    });
  });

  it('penalizes extra calls through the denominator only when asked', () => {
    const out = [paris, london, call('log', { msg: 'x' }), call('log', { msg: 'y' })];
    expect(score(out, twoCities)).toEqual({ value: 1, passed: true });
    // 2 matched / max(2 expected, 4 produced).
    expect(score(out, twoCities, { extra_calls: 'penalize' }).value).toBe(0.5);
  });
});

describe('tool_call: reference', () => {
  it('is unscored without reference.tool_calls, and [] expects no call', () => {
    expect(score([], undefined)).toEqual({ value: null, passed: null, detail: 'no reference.tool_calls' });
    expect(score([], []).value).toBe(1);
    // Nothing expected: 0/0 counts as 1 unless extra calls are penalized (0 / max(0, 1)).
    expect(score([call('f', {})], []).value).toBe(1);
    expect(score([call('f', {})], [], { extra_calls: 'penalize' })).toEqual({
      value: 0,
      passed: false,
      detail: '0/1 calls matched: unexpected call f({})',
    });
  });

  it('is unscored when the expected arguments are not a JSON object', () => {
    const s = score([], [{ name: 'f', arguments: '{oops' }]);
    expect(s.value).toBeNull();
    expect(s.detail).toMatch(/^reference\.tool_calls\[0\]\.arguments: not valid JSON/);
  });

  it('validates reference.tool_calls when a record is read', () => {
    const base = { id: 'r', request: { messages: [] } };
    const ok = HoldoutRecord.parse({ ...base, reference: { tool_calls: EXPECTED } });
    expect(ok.reference?.tool_calls).toEqual(EXPECTED);
    expect(HoldoutRecord.safeParse({ ...base, reference: { tool_calls: [{ arguments: {} }] } }).success).toBe(
      false,
    );
    expect(
      HoldoutRecord.safeParse({ ...base, reference: { tool_calls: [{ name: 'f', arguments: 3 }] } }).success,
    ).toBe(false);
  });
});
