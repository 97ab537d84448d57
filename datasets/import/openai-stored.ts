/**
 * `openai-stored`: chat completions stored with `store: true`, listed through the API
 * (`chat.completions.list` with model and metadata filters, ascending), each completed with its
 * request messages (`chat.completions.messages.list`). Resumable: every item carries the cursor
 * `{after: <completion id>}`; the pipeline saves it once the item is written, and a rerun lists
 * from there.
 */
import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { HarnessError } from '../../harness/errors.js';
import { printable } from '../printable.js';
import { responseText } from './bodies.js';
import { FieldError, isObject, type Obj, toIsoTimestamp, typeName } from './fields.js';
import { type DraftRecord, type Importer, invalid } from './types.js';

export interface StoredOptions {
  model?: string;
  metadata?: Record<string, string>;
  baseURL?: string;
  /** Completions per list page (the API allows 1–100). */
  pageSize: number;
  /** Stop after this many completions (all when absent). */
  maxRecords?: number;
  reference: 'none' | 'production';
  makeClient?: (opts: { apiKey: string; baseURL?: string }) => OpenAI;
}

export interface StoredCheckpoint {
  /** Id of the last completion handled: the list's `after` cursor on resume. */
  after: string;
  /** Completions handled so far, across resumes: `maxRecords` counts them all. */
  handled: number;
}

/**
 * Request parameters the stored object carries back, copied into the replayed request when set.
 * Not `seed` (the API reports one even when none was sent) nor `input_user` (an end-user id).
 */
const PARAMS = [
  'temperature',
  'top_p',
  'presence_penalty',
  'frequency_penalty',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'max_tokens',
  'max_completion_tokens',
  'reasoning_effort',
  'stop',
] as const;

/** A stored message back to a request message: drop the store's id and null fields. */
function requestMessage(m: Obj, i: number): Obj {
  if (typeof m.role !== 'string') {
    throw new FieldError('wrong_type', `message ${i}: \`role\` must be a string, got ${typeName(m.role)}`);
  }
  const out: Obj = { role: m.role };
  // content_parts holds the original parts (text and images) when the request sent an array.
  const content = Array.isArray(m.content_parts) ? m.content_parts : m.content;
  out.content = content ?? null;
  for (const k of ['name', 'tool_calls', 'tool_call_id', 'function_call']) {
    if (m[k] !== undefined && m[k] !== null) out[k] = m[k];
  }
  return out;
}

export function storedRecord(
  completion: Obj,
  messages: Obj[],
  reference: StoredOptions['reference'],
): DraftRecord {
  if (messages.length === 0)
    throw new FieldError('missing_request', 'the store returned no request messages');
  if (!Array.isArray(completion.choices)) {
    throw new FieldError('wrong_type', `\`choices\` must be an array, got ${typeName(completion.choices)}`);
  }
  const request: Obj = {};
  if (typeof completion.model === 'string') request.model = completion.model;
  request.messages = messages.map(requestMessage);
  for (const k of PARAMS)
    if (completion[k] !== undefined && completion[k] !== null) request[k] = completion[k];
  const record: DraftRecord = {
    id: String(completion.id),
    api: 'chat',
    request,
    production: { body: completion },
  };
  const ts = toIsoTimestamp(completion.created, 'created');
  if (ts !== undefined) record.timestamp = ts;
  if (isObject(completion.metadata)) {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(completion.metadata)) if (typeof v === 'string') tags[k] = v;
    record.tags = tags;
  }
  const meta: Obj = { source: 'openai-stored' };
  if (typeof completion.request_id === 'string') meta.request_id = completion.request_id;
  record.metadata = meta;
  if (reference === 'production') {
    const text = responseText(completion, 'chat');
    if (text !== '') record.reference = { output: text };
  }
  return record;
}

function apiFailure(err: unknown, what: string): never {
  if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError) {
    throw new HarnessError('PROVIDER_AUTH', `${what}: the API refused the key (${err.status})`, {
      cause: err,
      hint: 'set OPENAI_API_KEY to a key of the project that stored the completions',
    });
  }
  if (err instanceof OpenAI.APIUserAbortError) throw err;
  // The server's message is not ours to trust with the terminal.
  const detail = printable(
    err instanceof OpenAI.APIError ? `${err.status ?? 'connection error'}: ${err.message}` : String(err),
  );
  throw new HarnessError('DATASET_INVALID', `${what} failed (${detail})`, {
    cause: err,
    hint: 'progress is saved: rerun the same command to resume',
    exitCode: 1,
  });
}

export const storedImporter: Importer<StoredOptions> = {
  format: 'openai-stored',
  describe: 'stored chat completions listed through the API (--model, --metadata k=v); resumable',
  resumable: true,
  async *read(ctx) {
    const o = ctx.options;
    const apiKey = ctx.env.OPENAI_API_KEY;
    if (!apiKey) {
      throw new HarnessError('PROVIDER_AUTH', 'openai-stored needs an API key: OPENAI_API_KEY is not set', {
        hint: 'export OPENAI_API_KEY=… (read from the environment only, never stored)',
      });
    }
    const baseURL = o.baseURL ?? ctx.env.OPENAI_BASE_URL ?? undefined;
    const client = o.makeClient
      ? o.makeClient({ apiKey, baseURL })
      : // The SDK's own logging is off (it would print raw response text, and reads OPENAI_LOG from
        // the process environment itself): every failure is reported by this importer.
        new OpenAI({ apiKey, baseURL, maxRetries: 3, timeout: 60_000, logLevel: 'off' });
    const filters = [
      o.model !== undefined ? `model=${o.model}` : '',
      ...Object.entries(o.metadata ?? {}).map(([k, v]) => `metadata[${k}]=${v}`),
    ].filter(Boolean);
    ctx.apiSource(
      `GET ${client.baseURL.replace(/\/$/, '')}/chat/completions${filters.length > 0 ? `?${filters.join('&')}` : ''}`,
    );
    const resume = ctx.resumeFrom as StoredCheckpoint | undefined;
    let after = resume?.after;
    let handled = resume?.handled ?? 0;
    const signal = ctx.signal;
    for (;;) {
      let page: Awaited<ReturnType<typeof client.chat.completions.list>>;
      try {
        page = await client.chat.completions.list(
          {
            limit: o.pageSize,
            order: 'asc',
            ...(after !== undefined ? { after } : {}),
            ...(o.model !== undefined ? { model: o.model } : {}),
            ...(o.metadata && Object.keys(o.metadata).length > 0 ? { metadata: o.metadata } : {}),
          },
          { signal },
        );
      } catch (err) {
        apiFailure(err, 'listing stored completions');
      }
      for (const completion of page.data as (ChatCompletion & Obj)[]) {
        if (o.maxRecords !== undefined && handled >= o.maxRecords) return;
        handled++;
        const where = `stored completion ${completion.id}`;
        const checkpoint: StoredCheckpoint = { after: completion.id, handled };
        const messages: Obj[] = [];
        try {
          for await (const m of client.chat.completions.messages.list(
            completion.id,
            { limit: 100 },
            { signal },
          )) {
            messages.push(m as unknown as Obj);
          }
        } catch (err) {
          if (err instanceof OpenAI.NotFoundError) {
            // Deleted between the listing and this call: nothing to import, and nothing lost by us.
            yield {
              ...invalid(where, 'api_error', 'its messages are gone (404): deleted since listing?'),
              checkpoint,
            };
            after = completion.id;
            continue;
          }
          apiFailure(err, `${where}: listing its messages`);
        }
        try {
          yield {
            kind: 'record',
            where,
            record: storedRecord(completion, messages, o.reference),
            checkpoint,
          };
        } catch (err) {
          if (!(err instanceof FieldError)) throw err;
          yield { ...invalid(where, err.reason, err.message), checkpoint };
        }
        after = completion.id;
      }
      if (!page.has_more || page.data.length === 0) return;
    }
  },
};
