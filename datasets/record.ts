import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The normalized holdout record (DESIGN.md "Record"). Loose objects: production logs grow new
 * upstream fields, and a record must survive them untouched so that replay sends what was sent.
 */
export const ApiStyle = z.enum(['chat', 'responses']);
export type ApiStyle = z.infer<typeof ApiStyle>;

export const Reference = z.looseObject({
  /** Expected output text (exact / normalized match). */
  output: z.string().optional(),
  /** Expected class label (label scorer). */
  label: z.string().optional(),
  /** Expected JSON value (JSON scorer with `equals_reference`). */
  json: z.unknown().optional(),
  /** JSON Schema the output must satisfy (JSON scorer), when the scorer config gives none. */
  schema: z.record(z.string(), z.unknown()).optional(),
  /** A human grade: a score in [0, 1], pass/fail, or a label; the report's judge agreement uses it. */
  grade: z.union([z.number().min(0).max(1), z.boolean(), z.string()]).optional(),
  /** Expected tool calls (tool_call scorer); `arguments` an object or its JSON text, omitted = `{}`. */
  tool_calls: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
      }),
    )
    .optional(),
});
export type Reference = z.infer<typeof Reference>;

export const ProductionResponse = z.looseObject({
  /** The response body as the API returned it (ChatCompletion or Response). */
  body: z.record(z.string(), z.unknown()).optional(),
  latency_ms: z.number().nonnegative().optional(),
});

/** Whether a string is well-formed UTF-16: no lone surrogate (Node 20's `String.prototype.isWellFormed`). */
export function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with each lone surrogate written as its `\udxxx` escape: printed raw it would become U+FFFD. */
export function escapeLoneSurrogates(s: string): string {
  return s.replace(LONE_SURROGATE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/**
 * A record id: SQLite stores text as UTF-8, where a lone surrogate (`"\ud800x"`, valid in JSON) has no
 * encoding and becomes U+FFFD, so an id that is not well-formed UTF-16 would read back as another
 * string and its calls would never pair with its record. Refused where records are read.
 */
const RecordId = z
  .string()
  .min(1)
  .refine(isWellFormed, {
    error: (issue) =>
      `"${escapeLoneSurrogates(String(issue.input))}" is not well-formed UTF-16 (a lone surrogate): the database would store it altered; give the record another id`,
  });

export const HoldoutRecord = z.looseObject({
  id: RecordId,
  timestamp: z.string().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  /** Which API the request body belongs to. */
  api: ApiStyle.default('chat'),
  /** The request body exactly as sent: Chat `messages` or Responses `input`/`instructions`, tools, params. */
  request: z.looseObject({}).refine((b) => 'messages' in b || 'input' in b, {
    message: 'request needs `messages` (Chat Completions) or `input` (Responses)',
  }),
  reference: Reference.optional(),
  production: ProductionResponse.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type HoldoutRecord = z.infer<typeof HoldoutRecord>;

type Part = { type?: string; text?: unknown };

/** Text of a message `content`, which is a string or an array of typed parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p: Part) => (p && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return '';
}

/** A turn of a request: a Chat message or a Responses input item (role absent on tool items). */
export interface Turn {
  role?: unknown;
  content?: unknown;
  [key: string]: unknown;
}

/** The turns of a Chat (`messages`) or Responses (`input`: a string is one user turn) request body. */
export function requestTurns(body: Record<string, unknown>): Turn[] {
  if (Array.isArray(body.messages)) return body.messages as Turn[];
  if (typeof body.input === 'string') return [{ role: 'user', content: body.input }];
  if (Array.isArray(body.input)) return body.input as Turn[];
  return [];
}

/** The request's own output limit (`max_completion_tokens`, `max_tokens` or `max_output_tokens`). */
export function outputTokenLimit(body: Record<string, unknown>): number | undefined {
  for (const k of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = body[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** The last user turn of a Chat or Responses request body: what the simulator's answer key is keyed on. */
export function lastUserText(body: Record<string, unknown>): string {
  const turns = requestTurns(body);
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i] as { role?: string; content?: unknown } | undefined;
    if (t && t.role === 'user') return contentText(t.content);
  }
  return '';
}

/**
 * Key of a prompt in the simulator's answer key: sha256 of the last user turn. Keyed on the last
 * turn alone so that a Chat record replayed through the Responses API (system → instructions)
 * still finds its answer.
 */
export function promptKey(body: Record<string, unknown>): string {
  return createHash('sha256').update(lastUserText(body)).digest('hex');
}
