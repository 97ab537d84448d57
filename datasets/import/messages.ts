/**
 * `messages`: fine-tuning style JSONL, `{messages: [...], tools?, ...}`. A final assistant message is
 * the reference and leaves the request, so that replaying the request asks for that answer.
 */
import { contentText } from '../record.js';
import { checkRequest } from './bodies.js';
import {
  FieldError,
  idField,
  isObject,
  type Obj,
  objectField,
  rest,
  tagsField,
  toIsoTimestamp,
  typeName,
} from './fields.js';
import { jsonlItems } from './jsonl-source.js';
import type { DraftRecord, Importer } from './types.js';

export interface MessagesOptions {
  paths: string[];
}

/** Line keys that belong in the request body (fine-tuning lines carry tools alongside messages). */
const REQUEST_KEYS = new Set([
  'messages',
  'model',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'response_format',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'reasoning_effort',
  'seed',
  'stop',
]);
const RECORD_KEYS = new Set(['id', 'tags', 'metadata', 'timestamp']);

export function messagesRecord(line: Obj): DraftRecord {
  checkRequest(line, 'chat', 'line');
  const request: Obj = {};
  for (const k of REQUEST_KEYS) if (line[k] !== undefined) request[k] = line[k];
  // Fine-tuning's per-message `weight` is not a Chat Completions field: a replay would get a 400.
  const messages = (line.messages as Obj[]).map((m) => {
    if (!('weight' in m)) return m;
    const { weight: _weight, ...kept } = m;
    return kept;
  });
  const record: DraftRecord = { api: 'chat', request };
  const last = messages[messages.length - 1];
  if (last?.role === 'assistant') {
    messages.pop();
    const text = contentText(last.content);
    const reference: NonNullable<DraftRecord['reference']> = {};
    if (text !== '') reference.output = text;
    const calls = expectedToolCalls(last.tool_calls);
    if (calls.length > 0) reference.tool_calls = calls;
    if (Object.keys(reference).length > 0) record.reference = reference;
  }
  if (messages.length === 0) {
    throw new FieldError('missing_request', '`messages` has nothing before the final assistant message');
  }
  request.messages = messages;
  const id = idField(line, 'id', 'id');
  if (id !== undefined) record.id = id;
  const timestamp = toIsoTimestamp(line.timestamp, 'timestamp');
  if (timestamp !== undefined) record.timestamp = timestamp;
  const tags = tagsField(line, 'tags');
  if (tags) record.tags = tags;
  const meta = objectField(line, 'metadata', 'metadata');
  const extra = rest(line, new Set([...REQUEST_KEYS, ...RECORD_KEYS]));
  if (meta || extra) record.metadata = { ...extra, ...meta };
  return record;
}

/** Chat `tool_calls` ({function: {name, arguments}}) in the shape the tool_call scorer expects. */
function expectedToolCalls(raw: unknown): { name: string; arguments?: string | Record<string, unknown> }[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw))
    throw new FieldError('wrong_type', `\`tool_calls\` must be an array, got ${typeName(raw)}`);
  return raw.map((call, i) => {
    const fn = isObject(call) && isObject(call.function) ? call.function : undefined;
    if (!fn || typeof fn.name !== 'string' || fn.name === '') {
      throw new FieldError(
        'wrong_type',
        `final assistant \`tool_calls[${i}].function.name\` must be a string`,
      );
    }
    const args = fn.arguments;
    if (args !== undefined && typeof args !== 'string' && !isObject(args)) {
      throw new FieldError(
        'wrong_type',
        `final assistant \`tool_calls[${i}].function.arguments\` must be a string, got ${typeName(args)}`,
      );
    }
    return args === undefined ? { name: fn.name } : { name: fn.name, arguments: args };
  });
}

export const messagesImporter: Importer<MessagesOptions> = {
  format: 'messages',
  describe: 'fine-tuning style JSONL of {messages, tools?}: the last assistant message is the reference',
  async *read(ctx) {
    for (const path of ctx.options.paths) {
      yield* jsonlItems(ctx, path, (line, where) => ({
        kind: 'record',
        where,
        record: messagesRecord(line),
      }));
    }
  },
};
