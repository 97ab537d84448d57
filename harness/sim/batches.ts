/**
 * The Files and Batches endpoints that batch mode uses, kept in memory:
 *   POST /v1/files                 multipart upload (`file`, `purpose`)
 *   GET  /v1/files/{id}            the File object
 *   GET  /v1/files/{id}/content    its bytes (input, output and error files alike)
 *   POST /v1/batches               create from an uploaded `purpose: batch` file
 *   GET  /v1/batches               list, newest first, cursor paging (`after`, `limit`)
 *   GET  /v1/batches/{id}          retrieve
 *   POST /v1/batches/{id}/cancel   cancel: cancelling, then cancelled with the partial results
 *
 * A batch moves validating → in_progress → finalizing → completed over `delayMs` (validating for the
 * first 10%, lines answered through in_progress up to 90%, finalizing until the end). The state is
 * advanced whenever the batch is read, so there are no timers to clean up. Each line is answered by
 * `Simulator.batchLine`: the answer, usage and faults of a live call of the same body, at once.
 * `expireAfter` makes batches expire once that many lines are answered: the rest go to the error
 * file with `batch_expired`, as the real API does when the 24 h window passes.
 */
import type { IncomingMessage } from 'node:http';
import type { Batch, BatchError, BatchUsage } from 'openai/resources/batches';
import type { FileObject } from 'openai/resources/files';
import { apiError, parseObject, readBody } from './wire/http.js';
import type { Endpoint, Simulator } from './simulator.js';

export interface BatchSimOptions {
  /** From creation to `completed`; default 50 ms. */
  delayMs: number;
  /** Lines answered before the batch expires; absent = never. */
  expireAfter?: number;
}

export interface BatchSimStats {
  filesUploaded: number;
  batchesCreated: number;
  /** Batch lines answered (ok or not), expired lines not counted. */
  linesAnswered: number;
}

export type BatchReply =
  | { status: number; body: unknown }
  | { status: number; raw: Buffer; contentType: string };

const ENDPOINTS: Readonly<Record<string, Endpoint>> = {
  '/v1/chat/completions': 'chat',
  '/v1/responses': 'responses',
};
const PURPOSES = new Set(['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals']);
/** The Batch API's limits on one input file. */
const MAX_REQUESTS = 50_000;
const MAX_INPUT_BYTES = 200 * 1024 * 1024;
/** Uploads are read whole; past this the simulator answers 413. */
const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;
const DAY = 86_400;

/** The Batch object as the API sends it: unset timestamps and files are null, not absent. */
type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: T[P] | null };
type WireBatch = Nullable<
  Batch,
  | 'cancelled_at'
  | 'cancelling_at'
  | 'completed_at'
  | 'error_file_id'
  | 'errors'
  | 'expired_at'
  | 'finalizing_at'
  | 'failed_at'
  | 'in_progress_at'
  | 'metadata'
  | 'model'
  | 'output_file_id'
> & { request_counts: { total: number; completed: number; failed: number }; usage: BatchUsage };

interface StoredFile {
  object: FileObject;
  content: Buffer;
}

interface SimBatch {
  wire: WireBatch;
  createdMs: number;
  api: Endpoint;
  input: Buffer;
  lines: { customId: string; body: unknown }[];
  answered: number;
  out: string[];
  err: string[];
}

/** Validates batch options; `expireAfter: null` (or undefined) means never, and clears an earlier value. */
export function parseBatchOptions(input: unknown): Partial<BatchSimOptions> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError('batch options must be an object: {delayMs?, expireAfter?}');
  }
  const out: Partial<BatchSimOptions> = {};
  for (const [k, v] of Object.entries(input)) {
    if (k !== 'delayMs' && k !== 'expireAfter') throw new TypeError(`unknown batch option \`${k}\``);
    if (v === undefined || v === null) {
      if (k === 'expireAfter') out.expireAfter = undefined;
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new RangeError(`Expected \`${k}\` to be a non-negative integer, got ${String(v)}`);
    }
    out[k] = v;
  }
  return out;
}

export class BatchService {
  private readonly files = new Map<string, StoredFile>();
  private readonly batches = new Map<string, SimBatch>();
  private options: BatchSimOptions;
  private counters: BatchSimStats = { filesUploaded: 0, batchesCreated: 0, linesAnswered: 0 };

  constructor(
    private readonly sim: Simulator,
    options: Partial<BatchSimOptions> = {},
  ) {
    this.options = { delayMs: 50 };
    this.setOptions(options);
  }

  /** Changes the timing of every batch, those already created included (they are timed from creation). */
  setOptions(options: Partial<BatchSimOptions>): void {
    const next = { ...this.options, ...options };
    if (next.expireAfter === undefined) delete next.expireAfter;
    this.options = next;
  }

  stats(): BatchSimStats {
    return { ...this.counters };
  }

  /** Answers a request under /v1/files or /v1/batches; undefined when the path is neither. */
  route(
    method: string,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
  ): Promise<BatchReply> | undefined {
    const m = /^\/v1\/(files|batches)(?:\/([^/]+)(?:\/(content|cancel))?)?$/.exec(path);
    if (!m) return undefined;
    const [, kind, rawId, action] = m;
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    if (!/^Bearer \S/.test(req.headers.authorization ?? '')) {
      req.resume();
      return Promise.resolve({
        status: 401,
        body: apiError("You didn't provide an API key.", 'invalid_request_error', 'invalid_api_key'),
      });
    }
    const invalid = (): Promise<BatchReply> => {
      req.resume();
      return Promise.resolve({ status: 404, body: apiError(`Invalid URL (${method} ${path})`) });
    };
    if (kind === 'files') {
      if (method === 'POST' && id === undefined) return this.upload(req);
      if (method !== 'GET' || id === undefined || action === 'cancel') return invalid();
      req.resume();
      return Promise.resolve(action === 'content' ? this.content(id) : this.fileObject(id));
    }
    if (method === 'POST' && id === undefined) return this.create(req);
    if (method === 'GET' && id === undefined) {
      req.resume();
      return Promise.resolve(this.list(query));
    }
    if (id === undefined || action === 'content') return invalid();
    if (method === 'GET' && action === undefined) {
      req.resume();
      return Promise.resolve(this.retrieve(id));
    }
    if (method === 'POST' && action === 'cancel') {
      req.resume();
      return Promise.resolve(this.cancel(id));
    }
    return invalid();
  }

  private async upload(req: IncomingMessage): Promise<BatchReply> {
    const raw = await readRaw(req, MAX_UPLOAD_BYTES);
    if (!raw) return { status: 413, body: apiError('The uploaded file is too large for the simulator.') };
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data')) {
      return { status: 400, body: apiError('Uploads must be multipart/form-data.', undefined, null, 'file') };
    }
    let form: FormData;
    try {
      form = await new Request('http://simulator/v1/files', {
        method: 'POST',
        headers: { 'content-type': type },
        body: raw,
      }).formData();
    } catch {
      return { status: 400, body: apiError('The request body is not valid multipart/form-data.') };
    }
    const file = form.get('file');
    const purpose = form.get('purpose');
    if (file === null || typeof file === 'string') {
      return { status: 400, body: apiError("Missing required parameter: 'file'.", undefined, null, 'file') };
    }
    if (typeof purpose !== 'string' || !PURPOSES.has(purpose)) {
      const msg = `Invalid 'purpose': expected one of ${[...PURPOSES].join(', ')}.`;
      return { status: 400, body: apiError(msg, undefined, null, 'purpose') };
    }
    const content = Buffer.from(await file.arrayBuffer());
    const object = this.addFile(file.name || 'upload', purpose as FileObject['purpose'], content);
    this.counters.filesUploaded++;
    return { status: 200, body: object };
  }

  private addFile(filename: string, purpose: FileObject['purpose'], content: Buffer): FileObject {
    const created = now();
    const object: FileObject = {
      id: `file-${this.sim.newIds().hex}`,
      object: 'file',
      bytes: content.length,
      created_at: created,
      filename,
      purpose,
      status: 'processed',
      // Batch input files expire after 30 days by default, output files 30 days after completion.
      ...(purpose === 'batch' || purpose === 'batch_output' ? { expires_at: created + 30 * DAY } : {}),
    };
    this.files.set(object.id, { object, content });
    return object;
  }

  private fileObject(id: string): BatchReply {
    const f = this.files.get(id);
    return f ? { status: 200, body: f.object } : noFile(id);
  }

  private content(id: string): BatchReply {
    const f = this.files.get(id);
    return f ? { status: 200, raw: f.content, contentType: 'application/octet-stream' } : noFile(id);
  }

  private create(req: IncomingMessage): Promise<BatchReply> {
    return new Promise((resolve) =>
      readBody(req, (text) => {
        if (text === undefined) {
          resolve({ status: 413, body: apiError('The request body is too large.') });
          return;
        }
        const body = parseObject(text);
        resolve(
          body
            ? this.createFrom(body)
            : { status: 400, body: apiError('We could not parse the JSON body of your request.') },
        );
      }),
    );
  }

  private createFrom(body: Record<string, unknown>): BatchReply {
    const bad = (message: string, param: string): BatchReply => ({
      status: 400,
      body: apiError(message, 'invalid_request_error', null, param),
    });
    const { input_file_id: fileId, endpoint, completion_window: window, metadata } = body;
    if (typeof endpoint !== 'string' || !(endpoint in ENDPOINTS)) {
      return bad(
        `Invalid 'endpoint': the holdout simulator runs ${Object.keys(ENDPOINTS).join(' and ')} batches.`,
        'endpoint',
      );
    }
    if (window !== '24h')
      return bad("Invalid 'completion_window': only '24h' is supported.", 'completion_window');
    if (typeof fileId !== 'string')
      return bad("Missing required parameter: 'input_file_id'.", 'input_file_id');
    const file = this.files.get(fileId);
    if (!file) return noFile(fileId);
    if (file.object.purpose !== 'batch') {
      return bad(`File ${fileId} was not uploaded with purpose 'batch'.`, 'input_file_id');
    }
    if (metadata !== undefined && metadata !== null && !validMetadata(metadata)) {
      return bad(
        "Invalid 'metadata': at most 16 string values, keys up to 64 and values up to 512 characters.",
        'metadata',
      );
    }
    const created = now();
    const wire: WireBatch = {
      id: `batch_${this.sim.newIds().hex}`,
      object: 'batch',
      endpoint,
      model: null,
      errors: null,
      input_file_id: fileId,
      completion_window: '24h',
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: null,
      expires_at: created + DAY,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      usage: {
        input_tokens: 0,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 0,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 0,
      },
      metadata: (metadata as Record<string, string> | null | undefined) ?? null,
    };
    this.batches.set(wire.id, {
      wire,
      createdMs: Date.now(),
      api: ENDPOINTS[endpoint]!,
      input: file.content,
      lines: [],
      answered: 0,
      out: [],
      err: [],
    });
    this.counters.batchesCreated++;
    return { status: 200, body: wire };
  }

  private retrieve(id: string): BatchReply {
    const b = this.batches.get(id);
    if (!b) return noBatch(id);
    this.advance(b);
    return { status: 200, body: b.wire };
  }

  private list(query: URLSearchParams): BatchReply {
    const limitText = query.get('limit');
    const limit = limitText === null ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return {
        status: 400,
        body: apiError("Invalid 'limit': expected an integer from 1 to 100.", undefined, null, 'limit'),
      };
    }
    const all = [...this.batches.values()].reverse();
    let start = 0;
    const after = query.get('after');
    if (after !== null) {
      const at = all.findIndex((b) => b.wire.id === after);
      if (at < 0)
        return {
          status: 400,
          body: apiError(`Invalid 'after': no batch '${after}'.`, undefined, null, 'after'),
        };
      start = at + 1;
    }
    const page = all.slice(start, start + limit);
    for (const b of page) this.advance(b);
    const data = page.map((b) => b.wire);
    return {
      status: 200,
      body: {
        object: 'list',
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: start + limit < all.length,
      },
    };
  }

  private cancel(id: string): BatchReply {
    const b = this.batches.get(id);
    if (!b) return noBatch(id);
    this.advance(b);
    const w = b.wire;
    if (w.status !== 'validating' && w.status !== 'in_progress') {
      return {
        status: 409,
        body: apiError(`Cannot cancel a batch with status ${w.status}.`, 'invalid_request_error', 'conflict'),
      };
    }
    w.status = 'cancelling';
    w.cancelling_at = now();
    return { status: 200, body: w };
  }

  /** Moves a batch as far along as the time since its creation says. */
  private advance(b: SimBatch): void {
    const w = b.wire;
    const d = this.options.delayMs;
    const elapsed = Date.now() - b.createdMs;
    if (w.status === 'cancelling') {
      // Cancelling ends at the next look: the lines answered so far are its partial results.
      this.writeFiles(b);
      w.status = 'cancelled';
      w.cancelled_at = now();
      return;
    }
    if (w.status === 'validating') {
      if (elapsed < 0.1 * d) return;
      this.validate(b);
    }
    if (w.status === 'in_progress') {
      const total = b.lines.length;
      const share = d === 0 ? 1 : Math.min(1, Math.max(0, (elapsed - 0.1 * d) / (0.8 * d)));
      const target = share >= 1 ? total : Math.floor(total * share);
      const limit = this.options.expireAfter ?? Number.POSITIVE_INFINITY;
      while (b.answered < Math.min(target, limit)) this.answer(b);
      if (b.answered >= limit && b.answered < total) {
        this.expire(b);
        return;
      }
      if (b.answered < total || elapsed < 0.9 * d) return;
      this.writeFiles(b);
      w.status = 'finalizing';
      w.finalizing_at = now();
    }
    if (w.status === 'finalizing' && elapsed >= d) {
      w.status = 'completed';
      w.completed_at = now();
    }
  }

  /** Checks every line of the input file; any problem fails the whole batch, as the API does. */
  private validate(b: SimBatch): void {
    const w = b.wire;
    const errors: BatchError[] = [];
    const fail = (code: string, message: string, line: number | null, param: string | null = null) =>
      errors.push({ code, message, line, param });
    const seen = new Set<string>();
    let model: string | undefined;
    const rows = b.input.toString('utf8').split('\n');
    rows.forEach((raw, i) => {
      const text = raw.trim();
      if (text === '') return;
      const n = i + 1;
      const line = parseObject(text);
      if (!line) {
        fail('invalid_json_line', 'This line is not a valid JSON object.', n);
        return;
      }
      const customId = line.custom_id;
      if (typeof customId !== 'string' || customId === '') {
        fail('missing_required_parameter', "Missing required parameter: 'custom_id'.", n, 'custom_id');
        return;
      }
      if (seen.has(customId)) {
        fail(
          'duplicate_custom_id',
          `The custom_id '${customId}' is used by more than one request.`,
          n,
          'custom_id',
        );
        return;
      }
      seen.add(customId);
      if (line.method !== 'POST') fail('invalid_method', 'Batch requests must use method POST.', n, 'method');
      else if (line.url !== w.endpoint) {
        fail(
          'mismatched_endpoint',
          `The url ${String(line.url)} is not the batch's endpoint ${w.endpoint}.`,
          n,
          'url',
        );
      } else if (!line.body || typeof line.body !== 'object' || Array.isArray(line.body)) {
        fail('invalid_request', "The request's 'body' must be a JSON object.", n, 'body');
      } else {
        const m = (line.body as Record<string, unknown>).model;
        if (typeof m === 'string' && model !== undefined && m !== model) {
          fail(
            'mismatched_model',
            `A batch may use only one model (${model} first, then ${m}).`,
            n,
            'body.model',
          );
        }
        if (typeof m === 'string') model ??= m;
        b.lines.push({ customId, body: line.body });
      }
    });
    if (b.lines.length === 0 && errors.length === 0)
      fail('empty_file', 'The input file has no requests.', null);
    if (b.lines.length > MAX_REQUESTS) {
      fail('too_many_requests', `A batch holds at most ${MAX_REQUESTS} requests.`, null);
    }
    if (b.input.length > MAX_INPUT_BYTES)
      fail('file_too_large', 'A batch input file is at most 200 MB.', null);
    if (errors.length > 0) {
      b.lines = [];
      w.status = 'failed';
      w.failed_at = now();
      w.errors = { object: 'list', data: errors.slice(0, 1000) };
      return;
    }
    w.status = 'in_progress';
    w.in_progress_at = now();
    w.model = model ?? null;
    w.request_counts.total = b.lines.length;
  }

  private answer(b: SimBatch): void {
    const { customId, body } = b.lines[b.answered++]!;
    const r = this.sim.batchLine(b.api, body);
    this.counters.linesAnswered++;
    const line = JSON.stringify({
      id: `batch_req_${r.requestId.slice('req_'.length)}`,
      custom_id: customId,
      response: { status_code: r.statusCode, request_id: r.requestId, body: r.body },
      error: null,
    });
    const w = b.wire;
    if (r.statusCode === 200 && r.usage) {
      b.out.push(line);
      w.request_counts.completed++;
      const u = w.usage;
      u.input_tokens += r.usage.inputTokens;
      u.input_tokens_details.cached_tokens += r.usage.cachedTokens;
      u.output_tokens += r.usage.outputTokens;
      u.output_tokens_details.reasoning_tokens += r.usage.reasoningTokens;
      u.total_tokens += r.usage.inputTokens + r.usage.outputTokens;
    } else {
      b.err.push(line);
      w.request_counts.failed++;
    }
  }

  private expire(b: SimBatch): void {
    const w = b.wire;
    for (let i = b.answered; i < b.lines.length; i++) {
      b.err.push(
        JSON.stringify({
          id: `batch_req_${this.sim.newIds().hex}`,
          custom_id: b.lines[i]!.customId,
          response: null,
          error: {
            code: 'batch_expired',
            message: 'This request could not be executed before the completion window expired.',
          },
        }),
      );
      w.request_counts.failed++;
    }
    this.writeFiles(b);
    w.status = 'expired';
    w.expired_at = now();
  }

  private writeFiles(b: SimBatch): void {
    const w = b.wire;
    const file = (lines: string[], which: string) =>
      lines.length === 0
        ? null
        : this.addFile(`${w.id}_${which}.jsonl`, 'batch_output', Buffer.from(`${lines.join('\n')}\n`)).id;
    w.output_file_id = file(b.out, 'output');
    w.error_file_id = file(b.err, 'error');
    b.out = [];
    b.err = [];
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function noFile(id: string): BatchReply {
  return {
    status: 404,
    body: apiError(`No such File object: ${id}`, 'invalid_request_error', 'not_found', 'id'),
  };
}

function noBatch(id: string): BatchReply {
  return {
    status: 404,
    body: apiError(`No batch found with id '${id}'.`, 'invalid_request_error', 'not_found', 'id'),
  };
}

function validMetadata(m: unknown): boolean {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const entries = Object.entries(m);
  return (
    entries.length <= 16 &&
    entries.every(([k, v]) => k.length <= 64 && typeof v === 'string' && v.length <= 512)
  );
}

/** Reads a request body as bytes; undefined past `limit`. */
function readRaw(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
