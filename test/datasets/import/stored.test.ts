import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportInterrupted } from '../../../datasets/import/index.js';
import { partialPathOf, statePathOf } from '../../../datasets/import/writer.js';
import { type SimServer, startSimulator } from '../../../harness/sim/index.js';
import type { StoredCompletionSeed } from '../../../harness/sim/stored.js';
import { tempDir } from '../../support/cli.js';
import { failImport, listDir, readJsonl, runImport } from './helpers.js';

const T0 = 1794700800; // 2026-11-15T00:00:00Z

/** Stored completion i: model gpt-5.4 for i = 2, 5, 8; task classify for even i; an email in each prompt. */
function seed(i: number): StoredCompletionSeed {
  return {
    id: `chatcmpl-stored-${String(i).padStart(2, '0')}`,
    object: 'chat.completion',
    created: T0 + 60 * i,
    model: i % 3 === 2 ? 'gpt-5.4' : 'gpt-5.4-mini',
    request_id: `req_${i}`,
    temperature: 0.2,
    top_p: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    seed: 4944116822809,
    tools: null,
    tool_choice: null,
    input_user: 'user-123',
    response_format: null,
    service_tier: 'default',
    metadata: { task: i % 2 === 0 ? 'classify' : 'extract', tenant: 'acme' },
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: `answer ${i}`, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 20 + i, completion_tokens: 3, total_tokens: 23 + i },
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: `question ${i} from ann${i}@example.com` },
    ],
  };
}

const SEEDS = Array.from({ length: 10 }, (_, i) => seed(i));
// Completions of gpt-5.4-mini: every i except 2, 5, 8.
const MINI = SEEDS.filter((s) => s.model === 'gpt-5.4-mini').map((s) => s.id as string);

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimulator({ storedCompletions: SEEDS });
});
afterAll(async () => {
  await sim.close();
});

const get = async (path: string, auth = true) => {
  const res = await fetch(`${sim.url}${path}`, { headers: auth ? { authorization: 'Bearer test' } : {} });
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies checked field by field.
  return { status: res.status, body: (await res.json()) as any };
};

describe('simulator: stored completions', () => {
  it('pages with limit/after, has_more, first_id and last_id, as the API does', async () => {
    const p1 = await get('/chat/completions?limit=4');
    expect(p1.status).toBe(200);
    expect(p1.body.object).toBe('list');
    expect(p1.body.data.map((c: { id: string }) => c.id)).toEqual(SEEDS.slice(0, 4).map((s) => s.id));
    expect(p1.body.first_id).toBe(SEEDS[0]!.id);
    expect(p1.body.last_id).toBe(SEEDS[3]!.id);
    expect(p1.body.has_more).toBe(true);
    expect(p1.body.data[0].messages).toBeUndefined(); // the seeding field is not served
    expect(p1.body.data[0].metadata).toEqual({ task: 'classify', tenant: 'acme' });
    const p3 = await get(`/chat/completions?limit=4&after=${SEEDS[7]!.id}`);
    expect(p3.body.data.map((c: { id: string }) => c.id)).toEqual([SEEDS[8]!.id, SEEDS[9]!.id]);
    expect(p3.body.has_more).toBe(false);
    const desc = await get('/chat/completions?limit=2&order=desc');
    expect(desc.body.data.map((c: { id: string }) => c.id)).toEqual([SEEDS[9]!.id, SEEDS[8]!.id]);
  });

  it('filters by model and by every metadata pair', async () => {
    const mini = await get('/chat/completions?limit=100&model=gpt-5.4-mini');
    expect(mini.body.data.map((c: { id: string }) => c.id)).toEqual(MINI);
    const both = await get(
      '/chat/completions?limit=100&model=gpt-5.4-mini&metadata[task]=classify&metadata[tenant]=acme',
    );
    // mini and even: 0, 4, 6
    expect(both.body.data.map((c: { id: string }) => c.id)).toEqual([0, 4, 6].map((i) => SEEDS[i]!.id));
    const none = await get('/chat/completions?metadata[tenant]=globex');
    expect(none.body).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it('serves one completion and its messages; 404, 401 and 400 like the API', async () => {
    const one = await get(`/chat/completions/${SEEDS[1]!.id}`);
    expect(one.body.id).toBe(SEEDS[1]!.id);
    const msgs = await get(`/chat/completions/${SEEDS[1]!.id}/messages?limit=1`);
    expect(msgs.body.data).toEqual([
      { id: `${SEEDS[1]!.id}-0`, role: 'system', content: 'Be brief.', name: null, content_parts: null },
    ]);
    expect(msgs.body.has_more).toBe(true);
    const rest = await get(`/chat/completions/${SEEDS[1]!.id}/messages?after=${SEEDS[1]!.id}-0`);
    expect(rest.body.data.map((m: { role: string }) => m.role)).toEqual(['user']);
    expect((await get('/chat/completions/chatcmpl-nope')).status).toBe(404);
    expect((await get('/chat/completions', false)).status).toBe(401);
    expect((await get('/chat/completions?limit=101')).status).toBe(400);
    expect((await get('/chat/completions?after=chatcmpl-nope')).status).toBe(400);
  });

  it('the SDK auto-paginates it; POST /__sim/stored replaces the store', async () => {
    const client = new OpenAI({ apiKey: 'test', baseURL: sim.url });
    const ids: string[] = [];
    for await (const c of client.chat.completions.list({ limit: 3, model: 'gpt-5.4-mini' })) ids.push(c.id);
    expect(ids).toEqual(MINI);
    const other = await startSimulator();
    try {
      const root = other.url.replace(/\/v1$/, '');
      const res = await fetch(`${root}/__sim/stored`, { method: 'POST', body: JSON.stringify([seed(42)]) });
      expect(res.status).toBe(200);
      const c2 = new OpenAI({ apiKey: 'test', baseURL: other.url });
      expect((await c2.chat.completions.list()).data.map((c) => c.id)).toEqual(['chatcmpl-stored-42']);
      const bad = await fetch(`${root}/__sim/stored`, {
        method: 'POST',
        body: JSON.stringify([{ id: 'x' }]),
      });
      expect(bad.status).toBe(400);
    } finally {
      await other.close();
    }
  });
});

/** An SDK client whose requests are recorded: which pages were asked for. */
function recordingClient(urls: string[]) {
  return ({ apiKey, baseURL }: { apiKey: string; baseURL?: string }) =>
    new OpenAI({
      apiKey,
      baseURL,
      maxRetries: 0,
      fetch: (input, init) => {
        urls.push(decodeURIComponent(String(input)).replace(sim.url, ''));
        return fetch(input, init);
      },
    });
}

const listCalls = (urls: string[]) => urls.filter((u) => u.startsWith('/chat/completions?'));

describe('openai-stored import', () => {
  it('lists page by page with the filters, rebuilds each request, redacts by default', async () => {
    const out = join(tempDir(), 'stored.jsonl');
    const urls: string[] = [];
    const { summary } = await runImport(
      { format: 'openai-stored', out, model: 'gpt-5.4-mini', metadata: { tenant: 'acme' }, pageSize: 3 },
      { env: { OPENAI_API_KEY: 'test', OPENAI_BASE_URL: sim.url }, makeClient: recordingClient(urls) },
    );
    // 7 mini completions in pages of 3: the cursor is the last id of each page.
    expect(listCalls(urls)).toEqual([
      '/chat/completions?limit=3&order=asc&model=gpt-5.4-mini&metadata[tenant]=acme',
      `/chat/completions?limit=3&order=asc&after=${MINI[2]}&model=gpt-5.4-mini&metadata[tenant]=acme`,
      `/chat/completions?limit=3&order=asc&after=${MINI[5]}&model=gpt-5.4-mini&metadata[tenant]=acme`,
    ]);
    expect(urls.filter((u) => u.includes('/messages'))).toHaveLength(7);
    const records = readJsonl(out);
    expect(records.map((r) => r.id)).toEqual(MINI);
    const r0 = records[0];
    expect(r0.api).toBe('chat');
    // Parameters as stored; not the reported seed, not the end-user id; messages without the store's ids.
    expect(r0.request).toEqual({
      model: 'gpt-5.4-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'question 0 from <EMAIL_1>' },
      ],
      temperature: 0.2,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
    });
    expect(r0.tags).toEqual({ task: 'classify', tenant: 'acme' });
    expect(r0.timestamp).toBe('2026-11-15T00:00:00.000Z');
    expect(r0.production.body.choices[0].message.content).toBe('answer 0');
    expect(r0.production.body.usage).toEqual({ prompt_tokens: 20, completion_tokens: 3, total_tokens: 23 });
    expect(r0.metadata).toEqual({ source: 'openai-stored', request_id: 'req_0' });
    expect(records[1].timestamp).toBe('2026-11-15T00:01:00.000Z'); // i = 1: T0 + 60 s
    expect(summary.redaction).toEqual({ enabled: true, counts: { EMAIL: 7 } });
    expect(readFileSync(out, 'utf8')).not.toContain('@example.com');
    expect(summary.sources[0]!.path).toBe(
      `GET ${sim.url}/chat/completions?model=gpt-5.4-mini&metadata[tenant]=acme`,
    );
    expect(existsSync(statePathOf(out))).toBe(false);
  });

  it('--no-redact keeps the text; --reference production and --limit', async () => {
    const out = join(tempDir(), 'stored.jsonl');
    await runImport(
      { format: 'openai-stored', out, redact: false, reference: 'production', maxRecords: 2, pageSize: 100 },
      { env: { OPENAI_API_KEY: 'test', OPENAI_BASE_URL: sim.url } },
    );
    const records = readJsonl(out);
    expect(records.map((r) => r.id)).toEqual([SEEDS[0]!.id, SEEDS[1]!.id]);
    expect(records[1].request.messages[1].content).toBe('question 1 from ann1@example.com');
    expect(records[1].reference).toEqual({ output: 'answer 1' });
  });

  it('resumes from the state file after an interruption, without duplicates or lost records', async () => {
    const dir = tempDir();
    const out = join(dir, 'stored.jsonl');
    const spec = { format: 'openai-stored' as const, out, model: 'gpt-5.4-mini', pageSize: 3 };
    const env = { OPENAI_API_KEY: 'test', OPENAI_BASE_URL: sim.url };
    const ctl = new AbortController();
    const first: string[] = [];
    const { error } = await failImport(spec, {
      env,
      signal: ctl.signal,
      makeClient: recordingClient(first),
      onItem: (p) => {
        if (p.records === 3) ctl.abort(); // after the whole first page
      },
    });
    expect(error).toBeInstanceOf(ImportInterrupted);
    expect(error.message).toBe(
      `import interrupted after 3 record(s); progress is saved in ${statePathOf(out)}: rerun the same command to resume`,
    );
    expect(existsSync(out)).toBe(false);
    expect(listDir(dir)).toEqual(['stored.jsonl.import-state.json', 'stored.jsonl.partial']);
    const state = JSON.parse(readFileSync(statePathOf(out), 'utf8'));
    expect(state.checkpoint).toEqual({ after: MINI[2], handled: 3 });
    expect(state.counters.records).toBe(3);
    expect(readJsonl(partialPathOf(out)).map((r) => r.id)).toEqual(MINI.slice(0, 3));
    // A record half-written after the last checkpoint (a crash) is cut on resume.
    appendFileSync(partialPathOf(out), '{"id":"chatcmpl-stored-04","api":"ch');

    // Other options would mix two imports in one file: refused.
    const { error: mismatch } = await failImport({ ...spec, model: 'gpt-5.4' }, { env });
    expect(mismatch.message).toBe(
      `an interrupted import into ${out} used other options (format, filters, tags or redaction)`,
    );

    const second: string[] = [];
    const { summary, stderr } = await runImport(spec, { env, makeClient: recordingClient(second) });
    expect(stderr).toContain(`resuming the import into ${out}: 3 record(s) already written`);
    expect(listCalls(second)[0]).toBe(
      `/chat/completions?limit=3&order=asc&after=${MINI[2]}&model=gpt-5.4-mini`,
    );
    expect(second.filter((u) => u.includes('/messages'))).toHaveLength(4); // only the 4 not yet done
    expect(readJsonl(out).map((r) => r.id)).toEqual(MINI);
    expect(summary.records).toBe(7);
    expect(summary.resumed).toBe(3);
    expect(summary.redaction.counts).toEqual({ EMAIL: 7 }); // counts carried over from the first run
    expect(listDir(dir)).toEqual(['stored.jsonl', 'stored.jsonl.import.json']);
  });

  it('needs OPENAI_API_KEY and leaves nothing behind without it', async () => {
    const dir = tempDir();
    const { error } = await failImport({ format: 'openai-stored', out: join(dir, 'o.jsonl') }, { env: {} });
    expect(error.message).toBe('openai-stored needs an API key: OPENAI_API_KEY is not set');
    expect(error.exitCode).toBe(2);
    expect(listDir(dir)).toEqual([]);
  });
});
