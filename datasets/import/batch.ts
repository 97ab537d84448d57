/**
 * `batch`: Batch API input files (`{custom_id, method, url, body}`), optionally joined with output
 * files (`{id, custom_id, response: {status_code, request_id, body}, error}`) by custom_id.
 *
 * Output lines come in any order, so the output files are read first into a map custom_id → line:
 * memory is O(outputs) for this format (a Batch file holds at most 50,000 requests). Input files are
 * then streamed, and each joined output is dropped from the map as it is used.
 */
import type { ApiStyle } from '../record.js';
import { checkRequest, checkResponse, responseCreated, responseText } from './bodies.js';
import {
  FieldError,
  isObject,
  type Obj,
  objectField,
  stringField,
  toIsoTimestamp,
  typeName,
} from './fields.js';
import { jsonlItems } from './jsonl-source.js';
import type { DraftRecord, Importer } from './types.js';

export interface BatchOptions {
  paths: string[];
  /** Batch output (and error) files to join by custom_id. */
  outputs: string[];
  reference: 'none' | 'production';
}

const ENDPOINTS: Record<string, ApiStyle> = {
  '/v1/chat/completions': 'chat',
  '/v1/responses': 'responses',
};

interface OutputLine {
  /** The validated line, as JSON text: more compact in memory than the parsed object. */
  json: string;
  where: string;
}

function requireCustomId(line: Obj): string {
  const id = stringField(line, 'custom_id', 'custom_id');
  if (id === undefined || id === '') throw new FieldError('missing_field', 'missing `custom_id`');
  return id;
}

function parseOutputLine(line: Obj): Obj {
  const response = objectField(line, 'response', 'response');
  if (response) {
    const status = response.status_code;
    if (typeof status !== 'number' || !Number.isInteger(status)) {
      throw new FieldError(
        'wrong_type',
        `\`response.status_code\` must be an integer, got ${typeName(status)}`,
      );
    }
    const body = objectField(response, 'body', 'response.body');
    stringField(response, 'request_id', 'response.request_id');
    if (body && status >= 200 && status < 300) {
      // Which API the body belongs to is known only from the input line: check both shapes' common fields.
      checkResponse(body, 'choices' in body ? 'chat' : 'responses', 'response.body');
    }
  } else if (line.error === undefined || line.error === null) {
    throw new FieldError('missing_field', 'an output line needs `response` or `error`');
  }
  if (line.error !== undefined && line.error !== null && !isObject(line.error)) {
    throw new FieldError('wrong_type', `\`error\` must be an object, got ${typeName(line.error)}`);
  }
  return { id: line.id, response: response ?? null, error: line.error ?? null };
}

export const batchImporter: Importer<BatchOptions> = {
  format: 'batch',
  describe: 'Batch API input files, joined with --output files by custom_id (the production response)',
  async *read(ctx) {
    const { paths, outputs, reference } = ctx.options;
    const answers = new Map<string, OutputLine>();
    for (const path of outputs) {
      yield* jsonlItems(
        ctx,
        path,
        (line, where) => {
          const customId = requireCustomId(line);
          const first = answers.get(customId);
          if (first) {
            throw new FieldError(
              'duplicate_output',
              `custom_id "${customId}" already answered at ${first.where}`,
            );
          }
          answers.set(customId, { json: JSON.stringify(parseOutputLine(line)), where });
          return undefined;
        },
        'output',
      );
    }
    let unanswered = 0;
    for (const path of paths) {
      yield* jsonlItems(
        ctx,
        path,
        (line, where) => {
          const customId = requireCustomId(line);
          const method = stringField(line, 'method', 'method');
          if (method !== undefined && method.toUpperCase() !== 'POST') {
            throw new FieldError('unsupported_endpoint', `method ${method}: Batch requests are POST`);
          }
          const url = stringField(line, 'url', 'url');
          if (url === undefined) throw new FieldError('missing_field', 'missing `url`');
          const api = ENDPOINTS[url];
          if (!api) {
            throw new FieldError(
              'unsupported_endpoint',
              `url ${url} is not /v1/chat/completions or /v1/responses: nothing to replay`,
            );
          }
          const body = line.body;
          if (body === undefined || body === null) throw new FieldError('missing_request', 'missing `body`');
          if (!isObject(body))
            throw new FieldError('wrong_type', `\`body\` must be an object, got ${typeName(body)}`);
          checkRequest(body, api, 'body');
          const record: DraftRecord = { id: customId, api, request: body };
          if (outputs.length > 0) {
            const answer = answers.get(customId);
            if (answer) {
              answers.delete(customId);
              join(record, JSON.parse(answer.json) as Obj, api, reference, answer.where);
            } else unanswered++;
          }
          return { kind: 'record', where, record };
        },
        'input',
      );
    }
    if (outputs.length > 0) {
      if (unanswered > 0)
        ctx.note(`${unanswered} batch request(s) have no output line: imported without a response`);
      if (answers.size > 0) {
        ctx.note(`${answers.size} output line(s) match no input custom_id: not imported`);
      }
    }
  },
};

function join(
  record: DraftRecord,
  out: Obj,
  api: ApiStyle,
  reference: BatchOptions['reference'],
  where: string,
) {
  const response = isObject(out.response) ? out.response : undefined;
  const body = response && isObject(response.body) ? response.body : undefined;
  const status = response?.status_code as number | undefined;
  const batch: Obj = { output: where };
  if (typeof out.id === 'string') batch.output_id = out.id;
  if (typeof response?.request_id === 'string') batch.request_id = response.request_id;
  if (body && status !== undefined && status >= 200 && status < 300) {
    checkResponse(body, api, 'response.body');
    record.production = { body };
    const ts = toIsoTimestamp(responseCreated(body, api), 'response.body.created');
    if (ts !== undefined) record.timestamp = ts;
    if (reference === 'production') {
      const text = responseText(body, api);
      if (text !== '') record.reference = { output: text };
    }
  } else {
    // A failed or expired request is still real traffic: keep the request, say why it has no answer.
    batch.status_code = status ?? null;
    batch.error = out.error ?? (body && isObject(body.error) ? body.error : null);
  }
  record.metadata = { batch };
}
