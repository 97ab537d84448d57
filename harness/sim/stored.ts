/**
 * Stored chat completions for the simulator: what `store: true` keeps on the real API, seeded by
 * tests (`startSimulator({ storedCompletions })` or POST /__sim/stored), served read-only as
 *   GET /v1/chat/completions                 list: model and metadata[k]=v filters, cursor paging
 *   GET /v1/chat/completions/{id}            one completion
 *   GET /v1/chat/completions/{id}/messages   its request messages, cursor paging
 * Pages are `{object: 'list', data, first_id, last_id, has_more}`; `after` is the id of the last
 * item of the previous page; `order` is by creation time, `asc` by default, ties in seeding order.
 */
import { z } from 'zod';
import { HarnessError } from '../errors.js';
import { apiError } from './wire/http.js';

const Message = z.looseObject({ role: z.string().min(1) });

/** A stored completion as the list returns it, plus the request `messages` it answered. */
export const StoredCompletionSeed = z.looseObject({
  id: z.string().min(1),
  object: z.literal('chat.completion').default('chat.completion'),
  created: z.number().int().nonnegative(),
  model: z.string().min(1),
  choices: z.array(z.unknown()),
  metadata: z.record(z.string(), z.string()).nullable().default({}),
  messages: z.array(Message).min(1),
});
export type StoredCompletionSeed = z.input<typeof StoredCompletionSeed>;
type Stored = z.infer<typeof StoredCompletionSeed>;

export function parseStoredCompletions(input: unknown): Stored[] {
  const parsed = z.array(StoredCompletionSeed).safeParse(input ?? []);
  if (!parsed.success) {
    throw new HarnessError('CONFIG_INVALID', `Invalid stored completions:\n${z.prettifyError(parsed.error)}`);
  }
  const seen = new Set<string>();
  for (const c of parsed.data) {
    if (seen.has(c.id))
      throw new HarnessError('CONFIG_INVALID', `Invalid stored completions: id ${c.id} twice`);
    seen.add(c.id);
  }
  return parsed.data;
}

interface Reply {
  status: number;
  body: unknown;
}

const notFound = (what: string): Reply => ({
  status: 404,
  body: apiError(what, 'invalid_request_error', 'not_found'),
});
const badParam = (message: string, param: string): Reply => ({
  status: 400,
  body: apiError(message, 'invalid_request_error', null, param),
});

/** A page of `items` after the cursor, as the API pages lists. */
function page<T extends { id: string }>(items: T[], query: URLSearchParams, maxLimit: number): Reply {
  const limitText = query.get('limit');
  const limit = limitText === null ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    return badParam(`Invalid 'limit': expected an integer from 1 to ${maxLimit}.`, 'limit');
  }
  const order = query.get('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc')
    return badParam("Invalid 'order': expected 'asc' or 'desc'.", 'order');
  const ordered = order === 'asc' ? items : [...items].reverse();
  let start = 0;
  const after = query.get('after');
  if (after !== null) {
    const at = ordered.findIndex((x) => x.id === after);
    if (at < 0) return badParam(`Invalid 'after': no item with id '${after}'.`, 'after');
    start = at + 1;
  }
  const data = ordered.slice(start, start + limit);
  return {
    status: 200,
    body: {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data[data.length - 1]?.id ?? null,
      has_more: start + limit < ordered.length,
    },
  };
}

export class StoredCompletions {
  private items: Stored[] = [];

  constructor(seeds: unknown = []) {
    this.set(parseStoredCompletions(seeds));
  }

  /** Replaces the store's content. */
  set(items: Stored[]): void {
    // Stable sort: equal `created` keeps seeding order, as ids from one second keep theirs.
    this.items = [...items].sort((a, b) => a.created - b.created);
  }

  get size(): number {
    return this.items.length;
  }

  /** Answers a GET under /v1/chat/completions, or undefined when the path is not one of these. */
  route(path: string, query: URLSearchParams, authorization: string | undefined): Reply | undefined {
    const m = /^\/v1\/chat\/completions(?:\/([^/]+)(\/messages)?)?$/.exec(path);
    if (!m) return undefined;
    if (!/^Bearer \S/.test(authorization ?? '')) {
      return {
        status: 401,
        body: apiError("You didn't provide an API key.", 'invalid_request_error', 'invalid_api_key'),
      };
    }
    const [, rawId, messages] = m;
    if (rawId === undefined) return this.list(query);
    const id = decodeURIComponent(rawId);
    const item = this.items.find((c) => c.id === id);
    if (!item) return notFound(`No chat completion found with id '${id}'.`);
    if (!messages) return { status: 200, body: publicView(item) };
    const msgs = item.messages.map((msg, i) => ({
      id: `${item.id}-${i}`,
      ...msg,
      content: msg.content ?? null,
      name: msg.name ?? null,
      content_parts: msg.content_parts ?? null,
    }));
    return page(msgs, query, 100);
  }

  private list(query: URLSearchParams): Reply {
    const model = query.get('model');
    const metadata: [string, string][] = [];
    for (const [k, v] of query) {
      const mk = /^metadata\[(.+)\]$/.exec(k);
      if (mk) metadata.push([mk[1]!, v]);
    }
    const matching = this.items.filter(
      (c) =>
        (model === null || c.model === model) &&
        metadata.every(([k, v]) => c.metadata !== null && c.metadata[k] === v),
    );
    return page(matching.map(publicView), query, 100);
  }
}

/** The completion without the seeding-only `messages` field. */
function publicView(c: Stored): Record<string, unknown> & { id: string } {
  const { messages: _messages, ...rest } = c;
  return { ...rest, metadata: rest.metadata ?? {} };
}
