import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import { promptKey } from '../../datasets/record.js';
import { type AnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { client, eventually, INSTANT, mapLimit, userTurn } from './helpers.js';

const servers: SimServer[] = [];
async function start(opts: Parameters<typeof startSimulator>[0]): Promise<SimServer> {
  const sim = await startSimulator(opts);
  servers.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const ask = (openai: OpenAI, content: string, model = 'sim-x') =>
  openai.chat.completions.create({ model, messages: userTurn(content) });

describe('answers', () => {
  const questions = Array.from({ length: 500 }, (_, i) => `Question number ${i}: what is ${i} + ${i}?`);
  const key: AnswerKey = {};
  questions.forEach((q, i) => {
    key[promptKey({ messages: userTurn(q) })] = { answer: String(2 * i), wrong: [`${2 * i + 1}`] };
  });

  const answers = async (seed: number, n = questions.length) => {
    const sim = await start({ seed, answerKey: key, profiles: { 'sim-x': { ...INSTANT, accuracy: 0.8 } } });
    const openai = client(sim);
    const out = await mapLimit(questions.slice(0, n), 32, async (q) => {
      return (await ask(openai, q)).choices[0]!.message.content;
    });
    return { out, log: sim.stats().log };
  };

  it('is right about as often as its accuracy, identically on every server with the seed', async () => {
    const a = await answers(7);
    const right = a.out.filter((o, i) => o === String(2 * i)).length;
    expect(right / questions.length).toBeGreaterThan(0.74);
    expect(right / questions.length).toBeLessThan(0.86);
    // Wrong answers come from the key's `wrong` list.
    expect(a.out.every((o, i) => o === String(2 * i) || o === String(2 * i + 1))).toBe(true);
    expect(a.log.filter((e) => e.correct).length).toBe(right);

    const b = await answers(7);
    expect(b.out).toEqual(a.out);
    const c = await answers(8, 100);
    expect(c.out).not.toEqual(a.out.slice(0, 100));
  });

  it('corrupts the answer when the key has no wrong ones, and fills in without an entry', async () => {
    const k: AnswerKey = { [promptKey({ messages: userTurn('q') })]: { answer: 'The Quick fox' } };
    const sim = await start({ answerKey: k, profiles: { 'sim-x': { ...INSTANT, accuracy: 0 } } });
    const openai = client(sim);
    const wrong = (await ask(openai, 'q')).choices[0]!.message.content;
    expect(wrong).not.toBe('The Quick fox');
    expect(wrong).toBe('fox Quick The');
    const filler = await openai.chat.completions.create({
      model: 'sim-x',
      messages: userTurn('not in the key'),
      max_completion_tokens: 12,
    });
    expect(filler.choices[0]!.message.content).toMatch(/^Simulated answer from sim-x/);
    expect(filler.usage!.completion_tokens).toBeLessThanOrEqual(12);
    expect(sim.stats().log.map((e) => e.correct)).toEqual([false, undefined]);
  });
});

describe('prompt-prefix cache', () => {
  it('caches 128-token blocks of prompts of 1024+ tokens, per model', async () => {
    const sim = await start({ profiles: { 'sim-x': INSTANT, 'sim-y': INSTANT } });
    const openai = client(sim);
    const long = 'lorem ipsum dolor sit amet '.repeat(740); // ~5000 tokens
    const first = await ask(openai, long);
    const second = await ask(openai, long);
    const tokens = first.usage!.prompt_tokens;
    expect(tokens).toBeGreaterThan(4900);
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBe(Math.floor(tokens / 128) * 128);
    expect((await ask(openai, long, 'sim-y')).usage!.prompt_tokens_details!.cached_tokens).toBe(0);

    // A longer conversation that starts with the same prompt reuses its full blocks.
    const followUp = await openai.chat.completions.create({
      model: 'sim-x',
      messages: [...userTurn(long), { role: 'assistant', content: 'ok' }, { role: 'user', content: 'more' }],
    });
    const sharedChars = `user: ${long}\n`.length;
    expect(followUp.usage!.prompt_tokens_details!.cached_tokens).toBe(Math.floor(sharedChars / 512) * 128);

    const short = 'x'.repeat(2000); // ~500 tokens: below the 1024-token minimum
    await ask(openai, short);
    expect((await ask(openai, short)).usage!.prompt_tokens_details!.cached_tokens).toBe(0);

    // The Responses API reports the same cache through input_tokens_details.
    await openai.responses.create({ model: 'sim-y', input: `${long} again` });
    const r = await openai.responses.create({ model: 'sim-y', input: `${long} again` });
    expect(r.usage!.input_tokens_details.cached_tokens).toBe(Math.floor(r.usage!.input_tokens / 128) * 128);
    const log = sim.stats().log;
    expect(log.at(-1)).toMatchObject({
      endpoint: 'responses',
      cachedTokens: r.usage!.input_tokens_details.cached_tokens,
    });

    sim.reset();
    expect((await ask(openai, long)).usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });
});

describe('faults', () => {
  const profiles = { 'sim-x': INSTANT, 'sim-y': INSTANT };

  it('answers rate limits with 429 and retry-after headers', async () => {
    const sim = await start({
      profiles,
      faults: [{ kind: 'rate_limit', retryAfterMs: 250, retryAfterSec: 1 }],
    });
    const err = await ask(client(sim), 'hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    expect(e.headers.get('retry-after-ms')).toBe('250');
    expect(e.headers.get('retry-after')).toBe('1');
    expect(e.requestID).toMatch(/^req_/);

    sim.setFaults([{ kind: 'insufficient_quota' }]);
    await expect(ask(client(sim), 'hi')).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
  });

  it('answers 500 and 503 as InternalServerError; stops a count-limited rule after N', async () => {
    const sim = await start({
      profiles,
      faults: [
        { kind: 'unavailable', count: 2 },
        { kind: 'server_error', count: 1 },
      ],
    });
    const openai = client(sim);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ask(openai, 'hi').catch((e: unknown) => e));
    expect(results.slice(0, 3).map((e) => e instanceof OpenAI.InternalServerError && e.status)).toEqual([
      503, 503, 500,
    ]);
    expect(results[3]).toMatchObject({ object: 'chat.completion' });
    expect(sim.stats().log.map((l) => l.fault)).toEqual([
      'unavailable',
      'unavailable',
      'server_error',
      undefined,
    ]);
  });

  it('lets the SDK retry a rate limit after retry-after-ms', async () => {
    const sim = await start({ profiles, faults: [{ kind: 'rate_limit', count: 1, retryAfterMs: 10 }] });
    const res = await ask(client(sim, { maxRetries: 1 }), 'hi');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(sim.stats().requests).toBe(2);
  });

  it('scopes rules to a model and fires seeded rates deterministically', async () => {
    const pattern = async () => {
      const sim = await start({
        seed: 3,
        profiles,
        faults: [{ kind: 'server_error', model: 'sim-y', rate: 0.5 }],
      });
      const openai = client(sim);
      expect((await ask(openai, 'hi', 'sim-x')).object).toBe('chat.completion');
      const out: boolean[] = [];
      for (let i = 0; i < 40; i++)
        out.push(
          await ask(openai, 'hi', 'sim-y').then(
            () => true,
            () => false,
          ),
        );
      return out;
    };
    const a = await pattern();
    expect(a.filter(Boolean).length).toBeGreaterThan(8);
    expect(a.filter(Boolean).length).toBeLessThan(32);
    expect(await pattern()).toEqual(a);
  });

  it('resets the connection: APIConnectionError', async () => {
    const sim = await start({ profiles, faults: [{ kind: 'reset' }] });
    const err = await ask(client(sim), 'hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(err).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(sim.stats().log[0]).toMatchObject({ fault: 'reset', status: 0 });
  });

  it('hangs until the client times out, then frees the call', async () => {
    const sim = await start({ profiles, faults: [{ kind: 'hang' }] });
    const t0 = performance.now();
    const err = await ask(client(sim, { timeout: 150 }), 'hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await eventually(() => sim.stats().inFlight === 0)).toBe(true);
    expect(sim.stats().log[0]).toMatchObject({ fault: 'hang', status: 0 });
  });

  it('closes promptly with a hanging call open', async () => {
    const sim = await startSimulator({ profiles, faults: [{ kind: 'hang' }] });
    const pending = ask(client(sim), 'hi').catch((e: unknown) => e);
    await eventually(() => sim.stats().inFlight === 1);
    await sim.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('truncates streams without final events, and non-streamed bodies mid-way', async () => {
    const key = { [promptKey({ messages: userTurn('capital?') })]: { answer: 'Paris' } };
    const sim = await start({ profiles, answerKey: key, faults: [{ kind: 'truncate' }] });
    const openai = client(sim);
    const streamed = async (content: string) => {
      const stream = await openai.chat.completions.create({
        model: 'sim-x',
        messages: userTurn(content),
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: ChatCompletionChunk[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.some((c) => c.choices[0]?.finish_reason || c.usage)).toBe(false);
      return chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    };
    const cutLong = await streamed('a question that gets a long filler answer');
    const cutShort = await streamed('capital?');
    expect(sim.stats().log.map((e) => e.output)).toEqual([cutLong, cutShort]);

    const partial = await openai.responses.stream({ model: 'sim-x', input: 'a long one' }).finalResponse();
    expect(partial.status).not.toBe('completed');

    // A body cut in transit is not an APIError: fetch fails while reading it.
    await expect(ask(openai, 'hi')).rejects.toThrow(/terminated/);

    sim.setFaults([]);
    const full = (await ask(openai, 'a question that gets a long filler answer')).choices[0]!.message
      .content!;
    expect(cutLong.length).toBeGreaterThan(10);
    expect(full.startsWith(cutLong) && full !== cutLong).toBe(true);
    expect(cutShort).toBe('Par');
  });

  it('sends malformed JSON with status 200', async () => {
    const sim = await start({ profiles, faults: [{ kind: 'malformed' }] });
    const openai = client(sim);
    await expect(ask(openai, 'hi')).rejects.toBeInstanceOf(SyntaxError);
    const stream = await openai.chat.completions.create({
      model: 'sim-x',
      messages: userTurn('hi'),
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toBeInstanceOf(SyntaxError);
  });
});

describe('timing and concurrency', () => {
  it('counts concurrent calls and holds each for its latency', async () => {
    const sim = await start({ profiles: { 'sim-x': { ...INSTANT, latencyMs: { median: 50 } } } });
    const openai = client(sim);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 20 }, (_, i) => ask(openai, `q${i}`)));
    const wall = performance.now() - t0;
    const stats = sim.stats();
    expect(stats).toMatchObject({ requests: 20, inFlight: 0, maxInFlight: 20, byModel: { 'sim-x': 20 } });
    expect(stats.maxInFlightByModel['sim-x']).toBe(20);
    expect(wall).toBeGreaterThanOrEqual(49);
    expect(wall).toBeLessThan(400);
    for (const e of stats.log) {
      expect(e.serviceMs).toBeGreaterThanOrEqual(49);
      expect(e.serviceMs).toBeLessThan(150);
    }
  });

  it('streams the first token at the time to first token and ends at the latency', async () => {
    const sim = await start({
      profiles: { 'sim-x': { latencyMs: { median: 120 }, ttftMs: 40, accuracy: 1 } },
    });
    const t0 = performance.now();
    const stream = await client(sim).chat.completions.create({
      model: 'sim-x',
      messages: userTurn('filler please'),
      stream: true,
    });
    let firstToken: number | undefined;
    for await (const c of stream)
      if (firstToken === undefined && c.choices[0]?.delta.content) firstToken = performance.now() - t0;
    const total = performance.now() - t0;
    expect(firstToken).toBeGreaterThanOrEqual(38);
    expect(firstToken).toBeLessThan(100);
    expect(total).toBeGreaterThanOrEqual(118);
    expect(sim.stats().log[0]!.serviceMs).toBeGreaterThanOrEqual(119);
  });

  it('samples lognormal latencies reproducibly from the seed', async () => {
    const profile = { latencyMs: { median: 10, sigma: 0.5 }, ttftMs: 0, accuracy: 1 };
    const run = async () => {
      const sim = await start({ seed: 5, profiles: { 'sim-x': profile } });
      const openai = client(sim);
      for (let i = 0; i < 8; i++) await ask(openai, 'hi');
      return sim.stats().log;
    };
    const a = await run();
    const sampled = a.map((e) => e.latencyMs);
    expect(Math.max(...sampled) - Math.min(...sampled)).toBeGreaterThan(2);
    for (const e of a) expect(e.serviceMs).toBeGreaterThanOrEqual(e.latencyMs - 0.5);
    expect((await run()).map((e) => e.latencyMs)).toEqual(sampled);
  });
});
