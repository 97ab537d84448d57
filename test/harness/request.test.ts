import { describe, expect, it } from 'vitest';
import { HoldoutRecord } from '../../datasets/record.js';
import { buildRequest } from '../../harness/providers/request.js';

const chatRecord = HoldoutRecord.parse({
  id: 'r1',
  api: 'chat',
  request: {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'wx', arguments: '{"city":"Oslo"}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: '3°C' },
    ],
    tools: [
      { type: 'function', function: { name: 'wx', description: 'weather', parameters: { type: 'object' } } },
    ],
    tool_choice: { type: 'function', function: { name: 'wx' } },
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'w', schema: { type: 'object' }, strict: true },
    },
    max_completion_tokens: 50,
    temperature: 0.2,
    seed: 7,
    metadata: { tenant: 'acme' },
  },
});

describe('buildRequest', () => {
  it('same API: only model, overrides and streaming change', () => {
    const { body, dropped } = buildRequest(chatRecord, {
      model: 'gpt-5.4-mini',
      api: 'chat',
      params: { temperature: null, reasoning_effort: 'low' },
      stream: true,
    });
    const original = chatRecord.request as Record<string, unknown>;
    expect(dropped).toEqual([]);
    expect(body.model).toBe('gpt-5.4-mini');
    expect(body.temperature).toBeUndefined();
    expect(body.reasoning_effort).toBe('low');
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.messages).toBe(original.messages);
    expect(body.seed).toBe(7);
    expect(original.model).toBe('gpt-4o-mini'); // the record itself is untouched
    expect(original.stream).toBeUndefined();
  });

  it('non-streaming removes stream flags that the log may carry', () => {
    const rec = HoldoutRecord.parse({
      ...chatRecord,
      request: { ...chatRecord.request, stream: true, stream_options: { include_usage: true } },
    });
    const { body } = buildRequest(rec, { model: 'm', api: 'chat', params: {}, stream: false });
    expect(body.stream).toBeUndefined();
    expect(body.stream_options).toBeUndefined();
  });

  it('Chat → Responses: messages, tool history, tools, format and limits translate; chat-only keys are named', () => {
    const { body, dropped } = buildRequest(chatRecord, {
      model: 'gpt-5.5',
      api: 'responses',
      params: {},
      stream: false,
    });
    expect(dropped).toEqual(['seed']);
    expect(body.input).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: [{ type: 'input_text', text: 'Weather in Oslo?' }] },
      { type: 'function_call', call_id: 'c1', name: 'wx', arguments: '{"city":"Oslo"}' },
      { type: 'function_call_output', call_id: 'c1', output: '3°C' },
    ]);
    expect(body.tools).toEqual([
      { type: 'function', name: 'wx', description: 'weather', parameters: { type: 'object' }, strict: false },
    ]);
    expect(body.tool_choice).toEqual({ type: 'function', name: 'wx' });
    expect(body.text).toEqual({
      format: {
        type: 'json_schema',
        name: 'w',
        schema: { type: 'object' },
        strict: true,
        description: undefined,
      },
    });
    expect(body.max_output_tokens).toBe(50);
    expect(body.metadata).toEqual({ tenant: 'acme' });
    expect(body.messages).toBeUndefined();
  });

  it('Responses → Chat: instructions become the system message, items become messages', () => {
    const rec = HoldoutRecord.parse({
      id: 'r2',
      api: 'responses',
      request: {
        model: 'gpt-5.5',
        instructions: 'Be terse.',
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          { type: 'function_call', call_id: 'c1', name: 'wx', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        ],
        max_output_tokens: 10,
        reasoning: { effort: 'high' },
        text: { format: { type: 'json_object' } },
        previous_response_id: 'resp_1',
      },
    });
    const { body, dropped } = buildRequest(rec, {
      model: 'gpt-5.4-mini',
      api: 'chat',
      params: {},
      stream: true,
    });
    expect(dropped).toEqual(['previous_response_id']);
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'wx', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    ]);
    expect(body.max_completion_tokens).toBe(10);
    expect(body.reasoning_effort).toBe('high');
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('a Responses string input becomes one user message', () => {
    const rec = HoldoutRecord.parse({ id: 'r3', api: 'responses', request: { model: 'x', input: 'hello' } });
    expect(buildRequest(rec, { model: 'm', api: 'chat', params: {}, stream: false }).body.messages).toEqual([
      { role: 'user', content: 'hello' },
    ]);
  });
});
