/**
 * `chat-log` and `responses-log`: JSONL of request/response pairs as an application logged them,
 * one per line: `{request, response?, latency_ms?, timestamp?, metadata?, tags?, id?}`.
 */
import type { ApiStyle } from '../record.js';
import { checkRequest, checkResponse, responseCreated, responseText } from './bodies.js';
import {
  FieldError,
  idField,
  isObject,
  latencyField,
  type Obj,
  objectField,
  rest,
  tagsField,
  toIsoTimestamp,
  typeName,
} from './fields.js';
import { jsonlItems } from './jsonl-source.js';
import type { DraftRecord, Importer } from './types.js';

export interface LogOptions {
  paths: string[];
  /** `production`: the logged answer becomes `reference.output`. */
  reference: 'none' | 'production';
}

const KNOWN = new Set([
  'id',
  'request',
  'response',
  'latency_ms',
  'timestamp',
  'created',
  'metadata',
  'tags',
]);

/** One log line to a record; throws FieldError naming the field on a bad line. */
export function logRecord(line: Obj, api: ApiStyle, reference: LogOptions['reference']): DraftRecord {
  const request = line.request;
  if (request === undefined || request === null) {
    throw new FieldError('missing_request', 'missing `request` (the request body as sent)');
  }
  if (!isObject(request))
    throw new FieldError('wrong_type', `\`request\` must be an object, got ${typeName(request)}`);
  checkRequest(request, api, 'request');
  let response = objectField(line, 'response', 'response');
  let failure: unknown;
  // A logged API error (`{error: {...}}`, no answer) is not a production answer to replay.
  if (
    response &&
    isObject(response.error) &&
    response.choices === undefined &&
    response.output === undefined
  ) {
    failure = response.error;
    response = undefined;
  }
  if (response) checkResponse(response, api, 'response');
  const latency = latencyField(line, 'latency_ms');
  const timestamp =
    toIsoTimestamp(line.timestamp, 'timestamp') ??
    toIsoTimestamp(line.created, 'created') ??
    (response
      ? toIsoTimestamp(
          responseCreated(response, api),
          api === 'chat' ? 'response.created' : 'response.created_at',
        )
      : undefined);
  const tags = tagsField(line, 'tags');
  const meta = objectField(line, 'metadata', 'metadata');
  const extra = rest(line, KNOWN);
  const id = idField(line, 'id', 'id') ?? (response ? idField(response, 'id', 'response.id') : undefined);
  const record: DraftRecord = { api, request };
  if (id !== undefined) record.id = id;
  if (timestamp !== undefined) record.timestamp = timestamp;
  if (tags) record.tags = tags;
  if (response || latency !== undefined) {
    record.production = {};
    if (response) record.production.body = response;
    if (latency !== undefined) record.production.latency_ms = latency;
  }
  if (reference === 'production' && response) {
    const text = responseText(response, api);
    if (text !== '') record.reference = { output: text };
  }
  if (meta || extra || failure)
    record.metadata = { ...extra, ...meta, ...(failure ? { production_error: failure } : {}) };
  return record;
}

export function logImporter(api: ApiStyle): Importer<LogOptions> {
  return {
    format: api === 'chat' ? 'chat-log' : 'responses-log',
    describe:
      api === 'chat'
        ? 'JSONL of {request, response, latency_ms?, timestamp?, metadata?, tags?, id?} (Chat Completions)'
        : 'JSONL of {request, response, latency_ms?, timestamp?, metadata?, tags?, id?} (Responses API)',
    async *read(ctx) {
      for (const path of ctx.options.paths) {
        yield* jsonlItems(ctx, path, (line, where) => ({
          kind: 'record',
          where,
          record: logRecord(line, api, ctx.options.reference),
        }));
      }
    },
  };
}
