import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { customId, parseCustomId } from '../../harness/batch/custom-id.js';
import { InputFile, inputLine } from '../../harness/batch/input.js';
import { readOutputLine, textLines } from '../../harness/batch/output.js';
import { isBatchCandidate } from '../../harness/batch/plan.js';
import { resolveConfig } from '../../harness/config.js';
import { HarnessError } from '../../harness/errors.js';
import { tempDir } from '../support/cli.js';

const AT = { startedAt: '2026-11-25T00:00:00.000Z', simulated: true };

describe('custom_id', () => {
  it('round-trips any record id, "#" and Unicode included', () => {
    for (const id of ['rec-1', '', 'a#b', 'a#1', '#', '##0', 'ticket 42 #7 ✓', '\u001f\n"quoted"', '0']) {
      for (const repeat of [0, 1, 12]) {
        expect(parseCustomId(customId(id, repeat))).toEqual({ recordId: id, repeat });
      }
    }
    expect(customId('a#1', 3)).toBe('a#1#3');
  });

  it('rejects ids not of its making', () => {
    for (const bad of ['no-hash', 'a#', 'a#x', 'a#01', 'a#-1', `a#${'9'.repeat(30)}`]) {
      expect(parseCustomId(bad), bad).toBeUndefined();
    }
    expect(() => customId('a', -1)).toThrow(/repeat/);
    expect(() => customId('a', 1.5)).toThrow(/repeat/);
  });
});

describe('batch input files', () => {
  it('writes the Batch API line shape', () => {
    const line = inputLine('r#0', 'responses', { model: 'm', input: 'hi' });
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      custom_id: 'r#0',
      method: 'POST',
      url: '/v1/responses',
      body: { model: 'm', input: 'hi' },
    });
    expect(JSON.parse(inputLine('r#0', 'chat', {})).url).toBe('/v1/chat/completions');
  });

  it('fits a line only within both limits, and always into an empty file', () => {
    const f = new InputFile(tempDir(), 'in.jsonl');
    const limits = { maxRequests: 2, maxBytes: 25 };
    expect(f.fits(1000, limits)).toBe(true); // a file of one oversized request is the provider's to refuse
    f.add('a#0', `${'x'.repeat(9)}\n`, 10);
    expect(f.fits(15, limits)).toBe(true); // 10 + 15 = 25
    expect(f.fits(16, limits)).toBe(false); // 26 bytes
    f.add('b#0', `${'y'.repeat(14)}\n`, 15);
    expect(f.fits(0, limits)).toBe(false); // 2 requests already
    f.close();
    f.close(); // idempotent
    expect(readFileSync(f.path, 'utf8')).toBe(`${'x'.repeat(9)}\n${'y'.repeat(14)}\n`);
    expect(f.customIds).toEqual(['a#0', 'b#0']);
    expect(f.bytes).toBe(25);
  });
});

describe('batch output lines', () => {
  const chatBody = {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: 'gpt-x-2026-01-01',
    service_tier: 'default',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage: {
      prompt_tokens: 100,
      completion_tokens: 20,
      prompt_tokens_details: { cached_tokens: 40 },
      completion_tokens_details: { reasoning_tokens: 8 },
    },
  };

  it('reads a Chat Completion body as a live call would, billed at the batch tier, untimed', () => {
    const r = readOutputLine(
      {
        id: 'batch_req_1',
        custom_id: 'a#0',
        response: { status_code: 200, request_id: 'req_9', body: chatBody },
        error: null,
      },
      'chat',
      AT,
    );
    expect(r.customId).toBe('a#0');
    expect(r.outcome).toMatchObject({ attempts: 1, waitedMs: 0, startedAt: AT.startedAt });
    expect(r.outcome!.completion).toEqual({
      text: '',
      toolCalls: [{ name: 'f', arguments: '{"a":1}' }],
      usage: {
        inputTokens: 100,
        cachedTokens: 40,
        cacheWriteTokens: 0,
        outputTokens: 20,
        reasoningTokens: 8,
      },
      finishReason: 'tool_calls',
      servedModel: 'gpt-x-2026-01-01',
      serviceTier: 'batch',
      requestId: 'req_9',
      serverMs: null,
      latencyMs: null,
      ttftMs: null,
      simulated: true,
    });
  });

  it('reads a Response body, and a failed Response as an error', () => {
    const body = {
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      model: 'm',
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Paris' }] }],
      usage: { input_tokens: 5, output_tokens: 2, input_tokens_details: { cached_tokens: 0 } },
    };
    const ok = readOutputLine({ custom_id: 'r#1', response: { status_code: 200, body } }, 'responses', AT);
    expect(ok.outcome!.completion).toMatchObject({
      text: 'Paris',
      requestId: 'resp_1',
      serviceTier: 'batch',
    });
    const failed = readOutputLine(
      {
        custom_id: 'r#1',
        response: { status_code: 200, body: { ...body, status: 'failed', error: { message: 'boom' } } },
      },
      'responses',
      AT,
    );
    expect(failed.outcome!.failure).toMatchObject({ kind: 'response_failed', message: 'boom', status: 200 });
  });

  it('classifies an error status like the same HTTP error of a live call', () => {
    const line = (status: number, error: Record<string, unknown>) =>
      readOutputLine(
        {
          custom_id: 'e#0',
          response: { status_code: status, request_id: 'req_e', body: { error } },
          error: null,
        },
        'chat',
        AT,
      ).outcome!.failure;
    expect(line(500, { message: 'The server had an error', type: 'server_error' })).toMatchObject({
      kind: 'server_error',
      status: 500,
      retry: true,
    });
    expect(line(404, { message: 'no such model', code: 'model_not_found' })).toMatchObject({
      kind: 'not_found',
      status: 404,
      message: '404 no such model',
    });
    expect(line(429, { message: 'quota', code: 'insufficient_quota' })).toMatchObject({
      kind: 'insufficient_quota',
    });
    expect(line(400, { message: 'bad' })).toMatchObject({ kind: 'bad_request', retry: false });
  });

  it('gives no result for requests that never ran; other line errors are error rows', () => {
    for (const code of ['batch_expired', 'batch_cancelled']) {
      const r = readOutputLine(
        { custom_id: 'x#0', response: null, error: { code, message: 'late' } },
        'chat',
        AT,
      );
      expect(r).toEqual({ customId: 'x#0', noResult: code });
    }
    const other = readOutputLine(
      { custom_id: 'x#0', response: null, error: { code: 'invalid_request', message: 'nope' } },
      'chat',
      AT,
    );
    expect(other.outcome!.failure).toMatchObject({ kind: 'bad_request', message: 'invalid_request: nope' });
  });

  it('turns a 200 without usage into an error (its cost is unknown) and rejects malformed lines', () => {
    const { usage: _u, ...noUsage } = chatBody;
    const r = readOutputLine({ custom_id: 'a#0', response: { status_code: 200, body: noUsage } }, 'chat', AT);
    expect(r.outcome!.failure).toMatchObject({ kind: 'malformed_response' });
    expect(() => readOutputLine([], 'chat', AT)).toThrow(/object/);
    expect(() => readOutputLine({ response: null }, 'chat', AT)).toThrow(/custom_id/);
    expect(() => readOutputLine({ custom_id: 'a', response: null, error: null }, 'chat', AT)).toThrow(
      /neither/,
    );
    expect(() => readOutputLine({ custom_id: 'a', response: { status_code: '200' } }, 'chat', AT)).toThrow(
      /status_code/,
    );
  });

  it('splits a streamed body into lines across chunk boundaries, multi-byte characters included', async () => {
    const text = '{"a":"é"}\r\n\n{"b":"✓"}\n{"c":1}';
    const bytes = Buffer.from(text);
    // Cut inside the two-byte é and the three-byte ✓.
    const cuts = [7, 20, 21, bytes.length];
    async function* chunks() {
      let from = 0;
      for (const to of cuts) {
        yield new Uint8Array(bytes.subarray(from, to));
        from = to;
      }
    }
    const lines: string[] = [];
    for await (const l of textLines(chunks())) lines.push(l);
    expect(lines).toEqual(['{"a":"é"}', '{"b":"✓"}', '{"c":1}']);
    for await (const _ of textLines(null)) throw new Error('no lines expected');
  });
});

describe('batch config', () => {
  const base = { dataset: 'd.jsonl', candidates: [{ id: 'a', model: 'gpt-5.4-mini' }] };

  it('defaults to live; mode: batch batches every candidate but replays', () => {
    const live = resolveConfig(base, 'c.yaml');
    expect(live.mode).toBe('live');
    expect(live.batch_poll_ms).toBe(30_000);
    expect(live.candidates[0]!.batch).toBe(false);
    expect(isBatchCandidate(live.candidates[0]!, live)).toBe(false);
    const all = resolveConfig(
      {
        ...base,
        mode: 'batch',
        candidates: [...base.candidates, { id: 'prod', model: 'gpt-5.4-mini', replay: true }],
      },
      'c.yaml',
    );
    expect(all.candidates.map((c) => isBatchCandidate(c, all))).toEqual([true, false]);
    const one = resolveConfig(
      { ...base, candidates: [{ id: 'a', model: 'gpt-5.4-mini', batch: true }] },
      'c.yaml',
    );
    expect(isBatchCandidate(one.candidates[0]!, one)).toBe(true);
    // A config stored by a run made before batch mode existed has neither field: live.
    expect(isBatchCandidate({ replay: false }, {})).toBe(false);
  });

  it('rejects a batched replay, a batched judge and an unknown mode, naming the field', () => {
    const bad = (raw: unknown) => {
      try {
        resolveConfig(raw, 'c.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(HarnessError);
        return (e as Error).message;
      }
      throw new Error('expected CONFIG_INVALID');
    };
    expect(
      bad({ ...base, candidates: [{ id: 'p', model: 'gpt-5.4-mini', replay: true, batch: true }] }),
    ).toMatch(/candidates\[0\]\.batch: a replay candidate makes no calls/);
    expect(bad({ ...base, judges: [{ id: 'j', model: 'gpt-5.4-mini', batch: true }] })).toMatch(
      /judges\[0\]\.batch: judges are called live/,
    );
    expect(bad({ ...base, mode: 'offline' })).toMatch(/mode/);
    expect(bad({ ...base, batch_poll_ms: 0 })).toMatch(/batch_poll_ms/);
  });
});
