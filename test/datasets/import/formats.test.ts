import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseColumnMap } from '../../../datasets/import/index.js';
import { checkDataset } from '../../../datasets/jsonl.js';
import { tempDir } from '../../support/cli.js';
import { failImport, fixture, hashId, listDir, readJsonl, runImport } from './helpers.js';

describe('chat-log', () => {
  it('keeps the request unchanged and maps response, latency, timestamp, tags and metadata', async () => {
    const out = join(tempDir(), 'chat.jsonl');
    const { summary } = await runImport({ format: 'chat-log', paths: [fixture('chat-log.jsonl')], out });
    expect(summary.records).toBe(3);
    const [a, b, c] = readJsonl(out);
    const source = readJsonl(fixture('chat-log.jsonl'));

    expect(a.id).toBe('chatcmpl-C1a2b3c4d5e6f7g8h9'); // the response id: the line has none
    expect(a.api).toBe('chat');
    expect(a.request).toEqual(source[0].request);
    expect(a.production).toEqual({ body: source[0].response, latency_ms: 812 });
    expect(a.timestamp).toBe('2026-11-15T00:00:05.000Z');
    expect(a.tags).toEqual({ task: 'classify', route: 'small' });
    // `metadata` plus the line's unknown field `env`.
    expect(a.metadata).toEqual({ user_tier: 'pro', env: 'prod' });
    expect(a.reference).toBeUndefined(); // no reference unless asked

    // No timestamp on the line: response.created 1763168400 s = 20407 days + 1 h after the epoch.
    expect(b.timestamp).toBe('2025-11-15T01:00:00.000Z');
    expect(b.production.latency_ms).toBe(1530.5);

    // No id, no response: the hash of the request, and the lenient top-level `created`.
    expect(c.id).toBe(hashId('{"messages":[{"content":"Hello","role":"user"}],"model":"gpt-5.4-mini"}'));
    expect(c.timestamp).toBe('2025-11-15T02:00:00.000Z');
    expect(c.production).toBeUndefined();
    expect(c.tags).toEqual({});
    // The output is a valid dataset for `holdout run`.
    expect((await checkDataset(out)).count).toBe(3);
  });

  it('--reference production takes the answer text (string or parts)', async () => {
    const out = join(tempDir(), 'chat.jsonl');
    await runImport({ format: 'chat-log', paths: [fixture('chat-log.jsonl')], out, reference: 'production' });
    expect(readJsonl(out).map((r) => r.reference)).toEqual([
      { output: 'billing' },
      { output: 'The meeting is now on Friday.' },
      undefined,
    ]);
  });

  it('a logged API error is kept as metadata, not as a production answer', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    const error = { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' };
    writeFileSync(
      p,
      `${JSON.stringify({ request: { messages: [{ role: 'user', content: 'q' }] }, response: { error } })}\n`,
    );
    const out = join(dir, 'o.jsonl');
    await runImport({ format: 'chat-log', paths: [p], out });
    const [r] = readJsonl(out);
    expect(r.production).toBeUndefined();
    expect(r.metadata).toEqual({ production_error: error });
  });

  it('says a Responses request is in the wrong importer', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(p, `${JSON.stringify({ request: { input: 'hi' } })}\n`);
    const { error } = await failImport({ format: 'chat-log', paths: [p], out: join(dir, 'o.jsonl') });
    expect(error.message).toBe(
      `${p}:1: missing \`request.messages\` (it has \`input\`: a Responses API request? use the responses-log format)`,
    );
  });
});

describe('responses-log', () => {
  it('maps a Responses API log: input/instructions kept, output text as reference, created_at', async () => {
    const out = join(tempDir(), 'resp.jsonl');
    await runImport({
      format: 'responses-log',
      paths: [fixture('responses-log.jsonl')],
      out,
      reference: 'production',
    });
    const [a, b] = readJsonl(out);
    const source = readJsonl(fixture('responses-log.jsonl'));
    expect(a.api).toBe('responses');
    expect(a.id).toBe('resp_67ccd2bed1ec8190b14f964abc054267');
    expect(a.request).toEqual(source[0].request);
    expect(a.request.instructions).toBe('Answer with a number only.');
    expect(a.production).toEqual({ body: source[0].response, latency_ms: 950 });
    expect(a.production.body.usage.output_tokens_details.reasoning_tokens).toBe(64);
    expect(a.reference).toEqual({ output: '51' }); // the message item's output_text, not the reasoning item
    expect(a.timestamp).toBe('2025-11-15T00:00:00.000Z'); // created_at 1763164800
    expect(b.id).toBe('app-log-0002'); // the line's own id wins over the response id
    expect(b.timestamp).toBe('2026-11-15T01:00:00.000Z');
    expect(b.production.body.usage.input_tokens_details.cached_tokens).toBe(1536);
    expect(b.reference).toEqual({ output: 'Paris' });
  });

  it('checks usage types in the logged response', async () => {
    const dir = tempDir();
    const p = join(dir, 'log.jsonl');
    writeFileSync(
      p,
      `${JSON.stringify({ request: { input: 'x' }, response: { output: [], usage: { input_tokens: '12' } } })}\n`,
    );
    const { error } = await failImport({ format: 'responses-log', paths: [p], out: join(dir, 'o.jsonl') });
    expect(error.message).toBe(
      `${p}:1: \`response.usage.input_tokens\` must be a non-negative number, got a string`,
    );
  });
});

describe('batch', () => {
  it('joins outputs in any order by custom_id; failures and missing outputs keep the request', async () => {
    const out = join(tempDir(), 'batch.jsonl');
    const { summary } = await runImport({
      format: 'batch',
      paths: [fixture('batch-input.jsonl')],
      outputs: [fixture('batch-output.jsonl'), fixture('batch-errors.jsonl')],
      out,
      reference: 'production',
    });
    const records = readJsonl(out);
    const outputs = readJsonl(fixture('batch-output.jsonl'));
    expect(records.map((r) => [r.id, r.api])).toEqual([
      ['req-1', 'chat'],
      ['req-2', 'chat'],
      ['req-3', 'responses'],
      ['req-4', 'chat'],
    ]);
    const [r1, r2, r3, r4] = records;
    // req-1 is the 2nd output line, req-3 the 1st: order in the output file does not matter.
    expect(r1.production).toEqual({ body: outputs[1].response.body });
    expect(r1.reference).toEqual({ output: 'bonjour' });
    expect(r1.metadata.batch).toMatchObject({ output_id: 'batch_req_1', request_id: 'req_c1' });
    expect(r1.timestamp).toBe('2025-11-15T09:46:41.000Z'); // created 1763200001 = 1763164800 + 35201 s
    expect(r3.production).toEqual({ body: outputs[0].response.body });
    expect(r3.reference).toEqual({ output: 'merci' });
    expect(r2.production).toBeUndefined();
    expect(r2.metadata.batch.error).toEqual({
      code: 'batch_expired',
      message: 'This request could not be executed before the completion window expired.',
    });
    expect(r4.production).toBeUndefined();
    expect(r4.metadata).toBeUndefined();
    expect(summary.notes).toEqual([
      '1 batch request(s) have no output line: imported without a response',
      '1 output line(s) match no input custom_id: not imported',
    ]);
    expect(summary.sources.map((s) => [s.path, s.role])).toEqual([
      [fixture('batch-output.jsonl'), 'output'],
      [fixture('batch-errors.jsonl'), 'output'],
      [fixture('batch-input.jsonl'), 'input'],
    ]);
  });

  it('input files alone; other endpoints and repeated output custom_ids are invalid lines', async () => {
    const dir = tempDir();
    const input = join(dir, 'in.jsonl');
    writeFileSync(
      input,
      [
        {
          custom_id: 'a',
          method: 'POST',
          url: '/v1/chat/completions',
          body: { messages: [{ role: 'user', content: 'q' }] },
        },
        {
          custom_id: 'e',
          method: 'POST',
          url: '/v1/embeddings',
          body: { input: 'x', model: 'text-embedding-3-small' },
        },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    const { summary } = await runImport({
      format: 'batch',
      paths: [input],
      out: join(dir, 'a.jsonl'),
      skipInvalid: true,
    });
    expect(summary.records).toBe(1);
    expect(summary.examples).toEqual([
      {
        where: `${input}:2`,
        reason: 'unsupported_endpoint',
        message: 'url /v1/embeddings is not /v1/chat/completions or /v1/responses: nothing to replay',
      },
    ]);
    const output = join(dir, 'out.jsonl');
    const line = {
      id: 'b1',
      custom_id: 'a',
      response: { status_code: 200, request_id: 'r', body: { choices: [] } },
    };
    writeFileSync(output, `${JSON.stringify(line)}\n${JSON.stringify(line)}\n`);
    const { error } = await failImport({
      format: 'batch',
      paths: [input],
      outputs: [output],
      out: join(dir, 'b.jsonl'),
    });
    expect(error.message).toBe(`${output}:2: custom_id "a" already answered at ${output}:1`);
  });
});

describe('messages', () => {
  it('the final assistant message becomes the reference and leaves the request', async () => {
    const out = join(tempDir(), 'm.jsonl');
    await runImport({ format: 'messages', paths: [fixture('messages.jsonl')], out });
    const [a, b, c] = readJsonl(out);
    expect(a.request).toEqual({
      messages: [
        { role: 'system', content: 'You are a terse assistant.' },
        { role: 'user', content: 'Capital of Japan?' },
      ],
    });
    expect(a.reference).toEqual({ output: 'Tokyo' });
    expect(a.tags).toEqual({ task: 'qa' });
    expect(a.id).toBe(
      hashId(
        '{"messages":[{"content":"You are a terse assistant.","role":"system"},{"content":"Capital of Japan?","role":"user"}]}',
      ),
    );
    // Tool-call answer: the expected call in the tool_call scorer's shape; `weight` dropped; tools kept.
    expect(b.id).toBe('ft-2');
    expect(b.reference).toEqual({ tool_calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    expect(b.request.messages).toEqual([
      { role: 'user', content: "What's the weather in Paris?" },
      { role: 'assistant', content: 'Let me check.' },
      { role: 'user', content: 'Go ahead.' },
    ]);
    expect(b.request.tools[0].function.name).toBe('get_weather');
    // Ends with a user turn: nothing to take as the reference; unknown keys go to metadata.
    expect(c.reference).toBeUndefined();
    expect(c.request.messages).toHaveLength(1);
    expect(c.metadata).toEqual({ source: 'support-inbox' });
  });
});

describe('csv', () => {
  it('parses quoted commas, newlines and doubled quotes through the column map (BOM, CRLF)', async () => {
    const out = join(tempDir(), 'c.jsonl');
    const map = parseColumnMap(['prompt=question,system=sys,expected=answer,tag:task=category,id=row_id']);
    const { summary } = await runImport({ format: 'csv', paths: [fixture('questions.csv')], out, map });
    expect(summary.records).toBe(4);
    const rows = readJsonl(out);
    expect(rows.map((r) => r.id)).toEqual(['q1', 'q2', 'q3', 'q4']);
    expect(rows[0].request).toEqual({
      messages: [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'What is 2+2, exactly?' },
      ],
    });
    expect(rows[0].reference).toEqual({ output: '4' });
    expect(rows[0].tags).toEqual({ task: 'math' });
    expect(rows[1].request.messages).toEqual([{ role: 'user', content: 'Quote this: "hello"' }]); // empty system: none
    expect(rows[1].reference).toEqual({ output: '"hello"' });
    expect(rows[1].metadata).toEqual({ columns: { notes: 'first pass' } });
    // The quoted CRLF inside the field reads as one newline.
    expect(rows[2].request.messages[1].content).toBe('Line one\nline two');
    expect(rows[3].reference).toBeUndefined();
  });

  it('names missing columns, an empty prompt and a broken row by file:line', async () => {
    const dir = tempDir();
    const p = join(dir, 'q.csv');
    writeFileSync(p, 'question,answer\n"What?",yes\n,no\n"a","b","c"\nlast,ok\n');
    const { error } = await failImport({
      format: 'csv',
      paths: [p],
      out: join(dir, 'o.jsonl'),
      map: parseColumnMap(['prompt=prompt_text']),
    });
    expect(error.message).toBe(`${p}:1: the header has no column "prompt_text"`);
    expect(error.hint).toBe('its columns: "question", "answer"');
    const { summary } = await runImport({
      format: 'csv',
      paths: [p],
      out: join(dir, 'o.jsonl'),
      map: parseColumnMap(['prompt=question', 'expected=answer']),
      skipInvalid: true,
    });
    expect(summary.records).toBe(2);
    expect(summary.skipped).toEqual({ missing_field: 1, csv_error: 1 });
    expect(summary.examples.map((e) => e.where).sort()).toEqual([`${p}:3`, `${p}:4`]);
  });

  it('reads gzip CSV; an undecodable line stops the file even with --skip-invalid', async () => {
    const dir = tempDir();
    const gz = join(dir, 'q.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture('questions.csv'))));
    const { summary } = await runImport({
      format: 'csv',
      paths: [gz],
      out: join(dir, 'a.jsonl'),
      map: parseColumnMap(['prompt=question']),
    });
    expect(summary.records).toBe(4);
    const latin1 = join(dir, 'latin1.csv');
    writeFileSync(
      latin1,
      Buffer.concat([Buffer.from('question\nok\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]),
    );
    const { error } = await failImport({
      format: 'csv',
      paths: [latin1],
      out: join(dir, 'b.jsonl'),
      map: parseColumnMap(['prompt=question']),
      skipInvalid: true,
    });
    expect(error.message).toBe(`${latin1}:3: invalid UTF-8 at byte 4`); // "caf" then the lone 0xE9
    expect(error.hint).toContain('iconv -f latin1 -t utf-8');
    expect(listDir(dir)).toEqual(['a.jsonl', 'a.jsonl.import.json', 'latin1.csv', 'q.csv.gz']);
  });

  it('parses a column map; rejects unknown keys and a map without prompt', () => {
    expect(parseColumnMap(['prompt=Question, long form', 'tag:lang=language', 'label=gold'])).toEqual({
      prompt: 'Question, long form',
      label: 'gold',
      tags: { lang: 'language' },
    });
    expect(() => parseColumnMap(['question=q'])).toThrow('--map: unknown key "question"');
    expect(() => parseColumnMap(['expected=answer'])).toThrow('--map needs prompt=<column>');
    expect(() => parseColumnMap(['prompt'])).toThrow('--map: "prompt" is not key=column');
  });
});
