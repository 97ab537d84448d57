import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { promptKey } from '../../datasets/record.js';
import { type AnswerKey, simulateAnswer } from './answer.js';
import type { InStreamError, SimCall, StreamPlan } from './wire/call.js';
import { type CallRoute, refusal } from './wire/compat.js';
import { chatCompletion, chatStreamPlan } from './wire/chat.js';
import { FaultInjector, type FaultKind, type FaultRule, STREAM_ERRORS } from './faults.js';
import { gradeAsJudge } from './grader.js';
import { Rng, subSeed } from './hash.js';
import {
  type ApiErrorBody,
  apiError,
  BASE_HEADERS,
  JSON_TYPE,
  parseObject,
  readBody,
  SSE_TYPE,
} from './wire/http.js';
import { PrefixCache } from './prefix-cache.js';
import { type ResolvedModel, resolveModel, type SimProfile, sampleLatency } from './profiles.js';
import { responsesBody, responsesStreamPlan } from './wire/responses.js';
import { StatsRecorder } from './stats.js';
import { countTokens, serializeChatPrompt, serializeResponsesPrompt } from './tokens.js';

export type Endpoint = 'chat' | 'responses';

/** A due write this close to now goes out at once: a sub-ms timer would fire ~1 ms late anyway. */
const EARLY_MS = 0.5;

/** Per-request state, from receipt to the last byte (or the socket closing). */
interface Ctx {
  requestId: string;
  hex: string;
  start: number;
  endpoint: Endpoint;
  stream: boolean;
  model: string;
  servedModel: string;
  status: number;
  fault?: FaultKind;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  output: string;
  correct?: boolean;
  latencyMs: number;
  modelCounted: boolean;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** What `answer()` computes for one request. */
interface SimAnswer {
  output: string;
  /** Whether the output is the answer-key answer; undefined without a key entry (or for a grade). */
  correct: boolean | undefined;
  inputTokens: number;
  cachedTokens: number;
  /** Written to the prompt cache: reported only when the profile has `cacheWrites`. */
  cacheWriteTokens?: number;
  /** Visible plus reasoning tokens. */
  outputTokens: number;
  reasoningTokens: number;
}

/** One answered batch line: what goes into `response` of its output (or error) file line. */
export interface BatchLineResult {
  statusCode: number;
  requestId: string;
  body: unknown;
  /** Present on success. */
  usage?: { inputTokens: number; cachedTokens: number; outputTokens: number; reasoningTokens: number };
}

interface Step {
  at: number;
  data: string;
}

export interface SimulatorState {
  seed: number;
  profiles: Record<string, SimProfile>;
  answerKey: AnswerKey;
  faults: FaultRule[];
  logLimit: number;
}

/**
 * The simulated API behind the HTTP server: answers, usage, timing, faults and bookkeeping.
 * Everything random comes from seeded generators; nothing here reads Math.random.
 */
export class Simulator {
  profiles: Record<string, SimProfile>;
  answerKey: AnswerKey;
  readonly stats: StatsRecorder;
  readonly cache = new PrefixCache();
  private readonly faults: FaultInjector;
  private readonly seed: number;
  private latencyRng: Rng;
  private readonly active = new Set<Ctx>();
  // Random per server so request ids stay unique across runs that share a seed.
  private readonly idPrefix = randomBytes(6).toString('hex');
  private idCounter = 0;

  constructor(state: SimulatorState) {
    this.seed = state.seed;
    this.profiles = state.profiles;
    this.answerKey = state.answerKey;
    this.stats = new StatsRecorder(state.logLimit);
    this.faults = new FaultInjector(subSeed(state.seed, 'faults'));
    this.faults.set(state.faults);
    this.latencyRng = new Rng(subSeed(state.seed, 'latency'));
  }

  setFaults(rules: FaultRule[]): void {
    this.faults.set(rules);
  }

  /** Counters, log, prefix cache, fault counts, and the seeded generators: a reset server replays. */
  reset(): void {
    this.stats.reset();
    this.cache.clear();
    this.faults.reset();
    this.latencyRng = new Rng(subSeed(this.seed, 'latency'));
  }

  /** Stops every pending timer and books the calls still open (hanging ones included). */
  abortAll(): void {
    for (const ctx of [...this.active]) this.finish(ctx);
  }

  newIds(): { requestId: string; hex: string } {
    const hex = this.idPrefix + (this.idCounter++).toString(16).padStart(12, '0');
    return { requestId: `req_${hex}`, hex };
  }

  /** Headers for any response; `openai-processing-ms` is server time up to this point. */
  headers(requestId: string, start: number, contentType: string, extra?: OutgoingHttpHeaders) {
    const h: OutgoingHttpHeaders = {
      ...BASE_HEADERS,
      'x-request-id': requestId,
      'openai-processing-ms': String(Math.round(performance.now() - start)),
      'content-type': contentType,
    };
    return extra ? Object.assign(h, extra) : h;
  }

  /**
   * One model call. `route` is where it came in (sim/wire/compat.ts): an Azure path also takes the
   * key as `api-key`, a dated one wants `?api-version=` (`search`), a deployment path answers as the
   * deployment's model.
   */
  handleCall(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: Endpoint,
    start: number,
    route?: CallRoute,
    search = '',
  ): void {
    const ctx = this.open(endpoint, start);
    res.on('close', () => this.finish(ctx));
    const refused = refusal(req.headers, route, search);
    if (refused) {
      req.resume();
      this.sendError(ctx, res, refused.status, refused.body);
      return;
    }
    readBody(req, (text) => {
      if (ctx.done) return;
      if (text === undefined) {
        this.sendError(ctx, res, 413, apiError('The request body is too large.'));
        return;
      }
      try {
        this.process(ctx, res, text, route?.deployment);
      } catch (err) {
        // A bug in the simulator must not look like a simulated fault: say so in the message.
        const msg = `holdout simulator bug: ${err instanceof Error ? err.message : String(err)}`;
        if (!res.headersSent) this.sendError(ctx, res, 500, apiError(msg, 'server_error', 'simulator_bug'));
        else res.destroy();
      }
    });
  }

  private open(endpoint: Endpoint, start: number): Ctx {
    const { requestId, hex } = this.newIds();
    const ctx: Ctx = {
      requestId,
      hex,
      start,
      endpoint,
      stream: false,
      model: '',
      servedModel: '',
      status: 0,
      inputTokens: 0,
      cachedTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      output: '',
      latencyMs: 0,
      modelCounted: false,
      done: false,
      timer: undefined,
    };
    this.stats.begin();
    this.active.add(ctx);
    return ctx;
  }

  private finish(ctx: Ctx): void {
    if (ctx.done) return;
    ctx.done = true;
    if (ctx.timer) clearTimeout(ctx.timer);
    ctx.timer = undefined;
    this.active.delete(ctx);
    const serviceMs = Math.round((performance.now() - ctx.start) * 1000) / 1000;
    this.stats.end(
      {
        requestId: ctx.requestId,
        model: ctx.model,
        servedModel: ctx.servedModel,
        endpoint: ctx.endpoint,
        stream: ctx.stream,
        status: ctx.status,
        ...(ctx.fault ? { fault: ctx.fault } : {}),
        serviceMs,
        latencyMs: ctx.latencyMs,
        inputTokens: ctx.inputTokens,
        cachedTokens: ctx.cachedTokens,
        outputTokens: ctx.outputTokens,
        reasoningTokens: ctx.reasoningTokens,
        output: ctx.output,
        ...(ctx.correct !== undefined ? { correct: ctx.correct } : {}),
      },
      ctx.modelCounted,
    );
  }

  private process(ctx: Ctx, res: ServerResponse, text: string, deployment?: string): void {
    const body = parseObject(text);
    if (!body) {
      const msg = 'We could not parse the JSON body of your request: it must be a JSON object.';
      this.sendError(ctx, res, 400, apiError(msg));
      return;
    }
    const model = deployment ?? body.model;
    if (typeof model !== 'string' || model === '') {
      this.sendError(ctx, res, 400, missingModel());
      return;
    }
    ctx.model = model;
    this.stats.beginModel(model);
    ctx.modelCounted = true;
    ctx.stream = body.stream === true;
    const promptParam = ctx.endpoint === 'chat' ? 'messages' : 'input';
    const prompt = body[promptParam];
    if (!promptPresent(ctx.endpoint, prompt)) {
      this.sendError(ctx, res, 400, missingPrompt(promptParam));
      return;
    }
    const resolved = resolveModel(model, this.profiles);
    if (!resolved) {
      const e = unknownModel(ctx.endpoint, model, this.profiles);
      this.sendError(ctx, res, e.status, e.body);
      return;
    }
    ctx.servedModel = resolved.servedModel;
    const rule = this.faults.pick(model, resolved.name);
    if (rule) {
      ctx.fault = rule.kind;
      if (rule.kind === 'stream_error' && ctx.stream) {
        const code = rule.code ?? 'server_error';
        const error = { code, ...STREAM_ERRORS[code], afterDeltas: rule.afterDeltas ?? 1 };
        this.simulate(ctx, res, body, resolved, false, error);
        return;
      }
      if (rule.kind !== 'truncate') {
        this.injectFault(ctx, res, rule);
        return;
      }
    }
    this.simulate(ctx, res, body, resolved, rule?.kind === 'truncate');
  }

  private simulate(
    ctx: Ctx,
    res: ServerResponse,
    body: Record<string, unknown>,
    resolved: ResolvedModel,
    truncate: boolean,
    error?: InStreamError,
  ): void {
    const { profile } = resolved;
    // A truncated stream sends (and logs) only the first half of the text, then stops.
    const answer = this.answer(ctx.endpoint, body, resolved, truncate && ctx.stream);
    ctx.inputTokens = answer.inputTokens;
    ctx.cachedTokens = answer.cachedTokens;
    ctx.output = answer.output;
    ctx.correct = answer.correct;
    ctx.reasoningTokens = answer.reasoningTokens;
    ctx.outputTokens = answer.outputTokens;
    const latency = sampleLatency(profile, this.latencyRng);
    ctx.latencyMs = latency;
    const call: SimCall = {
      hex: ctx.hex,
      created: Math.floor(Date.now() / 1000),
      servedModel: ctx.servedModel,
      output: ctx.output,
      inputTokens: ctx.inputTokens,
      cachedTokens: ctx.cachedTokens,
      outputTokens: ctx.outputTokens,
      reasoningTokens: ctx.reasoningTokens,
      ...(answer.cacheWriteTokens !== undefined ? { cacheWriteTokens: answer.cacheWriteTokens } : {}),
    };
    if (ctx.stream) {
      const includeUsage =
        (body.stream_options as { include_usage?: unknown } | null)?.include_usage === true;
      const plan =
        ctx.endpoint === 'chat'
          ? chatStreamPlan(call, includeUsage, error)
          : responsesStreamPlan(call, body, error);
      this.stream(ctx, res, plan, Math.min(profile.ttftMs, latency), latency, truncate);
      return;
    }
    this.at(ctx, latency, () => {
      const payload = JSON.stringify(
        ctx.endpoint === 'chat' ? chatCompletion(call) : responsesBody(call, body),
      );
      if (truncate) this.sendTruncated(ctx, res, payload);
      else this.send(ctx, res, 200, payload);
    });
  }

  /**
   * The answer and usage of one request, computed the same way for a live call and a batch line:
   * prompt tokens, prefix-cache hits, the judge's grade or the answer-key answer, output tokens.
   * `cut` keeps only the first half of the text (a truncated stream sends no more).
   */
  private answer(
    endpoint: Endpoint,
    body: Record<string, unknown>,
    { name, profile }: ResolvedModel,
    cut: boolean,
  ): SimAnswer {
    const prompt = endpoint === 'chat' ? serializeChatPrompt(body) : serializeResponsesPrompt(body);
    const inputTokens = countTokens(prompt);
    const { cached: cachedTokens, written } = this.cache.lookupAndStoreBlocks(name, prompt, inputTokens);
    const key = promptKey(body);
    const graded = gradeAsJudge(body, {
      seed: this.seed,
      model: name,
      positionBias: profile.positionBias ?? 0,
    });
    const answer =
      graded !== undefined
        ? { output: graded, correct: undefined }
        : simulateAnswer({
            seed: this.seed,
            model: name,
            key,
            entry: Object.hasOwn(this.answerKey, key) ? this.answerKey[key] : undefined,
            accuracy: profile.accuracy,
            maxTokens: maxTokensOf(body),
          });
    const output = cut ? firstHalf(answer.output) : answer.output;
    const reasoningTokens = profile.reasoningTokens ?? 0;
    return {
      output,
      correct: answer.correct,
      inputTokens,
      cachedTokens,
      ...(profile.cacheWrites ? { cacheWriteTokens: written } : {}),
      reasoningTokens,
      outputTokens: countTokens(output) + reasoningTokens,
    };
  }

  /**
   * One line of a batch (harness/sim/batches.ts): checked and answered like a live call of the
   * same body — same answer, usage and faults — but at once: no latency, no streaming, no call log.
   */
  batchLine(endpoint: Endpoint, body: unknown): BatchLineResult {
    const { requestId, hex } = this.newIds();
    const fail = (statusCode: number, error: ApiErrorBody): BatchLineResult => ({
      statusCode,
      requestId,
      body: error,
    });
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return fail(
        400,
        apiError('The `body` of a batch request must be a JSON object.', undefined, null, 'body'),
      );
    }
    const request = body as Record<string, unknown>;
    const model = request.model;
    if (typeof model !== 'string' || model === '') return fail(400, missingModel());
    if (request.stream === true) {
      return fail(400, apiError('Streaming is not supported in batch requests.', undefined, null, 'stream'));
    }
    const param = endpoint === 'chat' ? 'messages' : 'input';
    if (!promptPresent(endpoint, request[param])) return fail(400, missingPrompt(param));
    const resolved = resolveModel(model, this.profiles);
    if (!resolved) {
      const e = unknownModel(endpoint, model, this.profiles);
      return fail(e.status, e.body);
    }
    const rule = this.faults.pick(model, resolved.name);
    if (rule) {
      // Faults of the transport (reset, hang, truncate, malformed) have no meaning inside a batch:
      // there, they come back as the server error they stand for.
      const e = faultError(rule, model) ?? {
        status: 500,
        body: apiError(`The server had an error ${SIMULATED}.`, 'server_error'),
      };
      return fail(e.status, e.body);
    }
    const answer = this.answer(endpoint, request, resolved, false);
    const call: SimCall = {
      hex,
      created: Math.floor(Date.now() / 1000),
      servedModel: resolved.servedModel,
      output: answer.output,
      inputTokens: answer.inputTokens,
      cachedTokens: answer.cachedTokens,
      outputTokens: answer.outputTokens,
      reasoningTokens: answer.reasoningTokens,
      ...(answer.cacheWriteTokens !== undefined ? { cacheWriteTokens: answer.cacheWriteTokens } : {}),
    };
    return {
      statusCode: 200,
      requestId,
      body: endpoint === 'chat' ? chatCompletion(call) : responsesBody(call, request),
      usage: answer,
    };
  }

  /**
   * Streams a plan: head with the headers, deltas spread evenly from ttft towards the end, and the
   * tail at `latency`; a cut stream ends after its last delta, without the tail. One timer at a
   * time; writes due together go out as one write.
   */
  private stream(
    ctx: Ctx,
    res: ServerResponse,
    plan: StreamPlan,
    ttft: number,
    latency: number,
    cut: boolean,
  ) {
    const n = plan.deltas.length;
    const steps: Step[] = [{ at: 0, data: plan.head }];
    for (let i = 0; i < n; i++) steps.push({ at: ttft + ((latency - ttft) * i) / n, data: plan.deltas[i]! });
    if (!cut) steps.push({ at: latency, data: plan.tail });
    res.writeHead(200, this.headers(ctx.requestId, ctx.start, SSE_TYPE, { 'cache-control': 'no-cache' }));
    ctx.status = 200;
    let i = 0;
    const tick = () => {
      ctx.timer = undefined;
      if (ctx.done) return;
      const now = performance.now() - ctx.start;
      let chunk = '';
      while (i < steps.length && steps[i]!.at <= now + EARLY_MS) chunk += steps[i++]!.data;
      if (i === steps.length) {
        // A cut stream also ends cleanly at the HTTP level: the client sees EOF with no final events.
        res.end(chunk);
        this.finish(ctx);
        return;
      }
      if (chunk !== '') res.write(chunk);
      ctx.timer = setTimeout(tick, steps[i]!.at - now);
    };
    tick();
  }

  /**
   * Runs `fn` at `ms` after receipt, synchronously when that time has (nearly) come. Timers can
   * fire early (libuv dates them from a loop time that is stale under load), so a timer that
   * fires before the target re-arms for the rest instead of answering ~1 ms too soon.
   */
  private at(ctx: Ctx, ms: number, fn: () => void): void {
    ctx.timer = undefined;
    if (ctx.done) return;
    const delay = ms - (performance.now() - ctx.start);
    if (delay <= EARLY_MS) fn();
    else ctx.timer = setTimeout(() => this.at(ctx, ms, fn), delay);
  }

  private injectFault(ctx: Ctx, res: ServerResponse, rule: FaultRule): void {
    const retry: OutgoingHttpHeaders = {};
    if (rule.retryAfterMs !== undefined) retry['retry-after-ms'] = String(rule.retryAfterMs);
    if (rule.retryAfterSec !== undefined) retry['retry-after'] = String(rule.retryAfterSec);
    const error = faultError(rule, ctx.model);
    if (error) {
      this.sendError(ctx, res, error.status, error.body, retry);
      return;
    }
    switch (rule.kind) {
      case 'reset':
        res.destroy();
        this.finish(ctx);
        return;
      case 'hang':
        // Nothing to do: the call stays open until the client gives up or the server closes.
        return;
      case 'malformed': {
        const prefix = ctx.endpoint === 'chat' ? 'chatcmpl-' : 'resp_';
        const garbage = `{"id": "${prefix}${ctx.hex}", "object": <<holdout-sim malformed body>>`;
        if (ctx.stream) {
          res.writeHead(200, this.headers(ctx.requestId, ctx.start, SSE_TYPE));
          ctx.status = 200;
          res.end(`data: ${garbage}\n\n`);
          this.finish(ctx);
        } else this.send(ctx, res, 200, garbage);
        return;
      }
      case 'truncate':
        return; // handled by simulate()
    }
  }

  private sendError(
    ctx: Ctx,
    res: ServerResponse,
    status: number,
    body: ApiErrorBody,
    extra?: OutgoingHttpHeaders,
  ): void {
    this.send(ctx, res, status, JSON.stringify(body), extra);
  }

  private send(ctx: Ctx, res: ServerResponse, status: number, payload: string, extra?: OutgoingHttpHeaders) {
    const headers = this.headers(ctx.requestId, ctx.start, JSON_TYPE, extra);
    headers['content-length'] = Buffer.byteLength(payload);
    res.writeHead(status, headers);
    ctx.status = status;
    res.end(payload);
    this.finish(ctx);
  }

  /** Declares the full length, sends half, then drops the connection: a body cut in transit. */
  private sendTruncated(ctx: Ctx, res: ServerResponse, payload: string): void {
    const buf = Buffer.from(payload);
    const headers = this.headers(ctx.requestId, ctx.start, JSON_TYPE);
    headers['content-length'] = buf.length;
    res.writeHead(200, headers);
    ctx.status = 200;
    res.write(buf.subarray(0, buf.length >> 1), () => res.destroy());
    this.finish(ctx);
  }
}

/** Roughly the first half of a text, cut at a space when there is one, never inside a surrogate pair. */
function firstHalf(text: string): string {
  const mid = Math.ceil(text.length / 2);
  let at = text.lastIndexOf(' ', mid);
  if (at <= 0) at = mid;
  if (at < text.length && /[\uD800-\uDBFF]/.test(text.charAt(at - 1))) at--;
  return text.slice(0, at);
}

function maxTokensOf(body: Record<string, unknown>): number | undefined {
  for (const k of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = body[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  }
  return undefined;
}

const SIMULATED = '(simulated by the holdout simulator)';

/** The error response a fault rule answers with; undefined for faults of the transport itself. */
function faultError(rule: FaultRule, model: string): { status: number; body: ApiErrorBody } | undefined {
  switch (rule.kind) {
    case 'rate_limit': {
      const msg = `Rate limit reached for ${model} on requests per min ${SIMULATED}.`;
      return { status: 429, body: apiError(msg, 'requests', 'rate_limit_exceeded') };
    }
    case 'request_too_large': {
      // As recorded from the API: a 429 of type `tokens` for a request above the whole TPM limit.
      const msg = `Request too large for ${model} in organization org-holdout-sim on tokens per min (TPM): Limit 30000, Requested 30002. The input or output tokens must be reduced in order to run successfully ${SIMULATED}.`;
      return { status: 429, body: apiError(msg, 'tokens', 'rate_limit_exceeded') };
    }
    case 'stream_error': {
      // Outside a stream (a non-streamed request, a batch line) the same error comes as HTTP.
      const code = rule.code ?? 'server_error';
      const e = STREAM_ERRORS[code];
      return { status: e.status, body: apiError(`${e.message} ${SIMULATED}`, e.type, code) };
    }
    case 'insufficient_quota': {
      const msg = `You exceeded your current quota, please check your plan and billing details ${SIMULATED}.`;
      return { status: 429, body: apiError(msg, 'insufficient_quota', 'insufficient_quota') };
    }
    case 'server_error':
      return { status: 500, body: apiError(`The server had an error ${SIMULATED}.`, 'server_error') };
    case 'unavailable':
      return {
        status: 503,
        body: apiError(`The server is overloaded or not ready yet ${SIMULATED}.`, 'server_error'),
      };
    default:
      return undefined;
  }
}

function missingModel(): ApiErrorBody {
  return apiError('Missing required parameter: `model`.', undefined, null, 'model');
}

function missingPrompt(param: string): ApiErrorBody {
  return apiError(
    `Missing required parameter: \`${param}\`.`,
    undefined,
    'missing_required_parameter',
    param,
  );
}

/**
 * An unknown model, as each API answers it: Chat Completions with 404, the Responses API with 400
 * ("The requested model 'x' does not exist."), both with code `model_not_found`.
 */
function unknownModel(
  endpoint: Endpoint,
  model: string,
  profiles: Record<string, SimProfile>,
): { status: number; body: ApiErrorBody } {
  const known = Object.keys(profiles).join(', ');
  if (endpoint === 'responses') {
    const msg = `The requested model '${model}' does not exist. (simulator models: ${known})`;
    return { status: 400, body: apiError(msg, 'invalid_request_error', 'model_not_found', 'model') };
  }
  const msg = `The model \`${model}\` does not exist in this simulator (models: ${known}).`;
  return { status: 404, body: apiError(msg, 'invalid_request_error', 'model_not_found', 'model') };
}

/** Chat needs a non-empty `messages` array; Responses a non-empty `input` string or array. */
function promptPresent(endpoint: Endpoint, prompt: unknown): boolean {
  return endpoint === 'chat'
    ? Array.isArray(prompt) && prompt.length > 0
    : (typeof prompt === 'string' && prompt !== '') || (Array.isArray(prompt) && prompt.length > 0);
}
