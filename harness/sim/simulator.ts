import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { promptKey } from '../../datasets/record.js';
import { type AnswerKey, simulateAnswer } from './answer.js';
import type { SimCall, StreamPlan } from './call.js';
import { chatCompletion, chatStreamPlan } from './chat.js';
import { FaultInjector, type FaultKind, type FaultRule } from './faults.js';
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
} from './http.js';
import { PrefixCache } from './prefix-cache.js';
import { type ResolvedModel, resolveModel, type SimProfile, sampleLatency } from './profiles.js';
import { responsesBody, responsesStreamPlan } from './responses.js';
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

  handleCall(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, start: number): void {
    const ctx = this.open(endpoint, start);
    res.on('close', () => this.finish(ctx));
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !/^Bearer \S/.test(auth)) {
      req.resume();
      const msg =
        "You didn't provide an API key. Send an `Authorization: Bearer <key>` header (any key works).";
      this.sendError(ctx, res, 401, apiError(msg, 'invalid_request_error', 'invalid_api_key'));
      return;
    }
    readBody(req, (text) => {
      if (ctx.done) return;
      if (text === undefined) {
        this.sendError(ctx, res, 413, apiError('The request body is too large.'));
        return;
      }
      try {
        this.process(ctx, res, text);
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

  private process(ctx: Ctx, res: ServerResponse, text: string): void {
    const body = parseObject(text);
    if (!body) {
      const msg = 'We could not parse the JSON body of your request: it must be a JSON object.';
      this.sendError(ctx, res, 400, apiError(msg));
      return;
    }
    const model = body.model;
    if (typeof model !== 'string' || model === '') {
      this.sendError(
        ctx,
        res,
        400,
        apiError('Missing required parameter: `model`.', undefined, null, 'model'),
      );
      return;
    }
    ctx.model = model;
    this.stats.beginModel(model);
    ctx.modelCounted = true;
    ctx.stream = body.stream === true;
    const promptParam = ctx.endpoint === 'chat' ? 'messages' : 'input';
    const prompt = body[promptParam];
    const promptOk = ctx.endpoint === 'chat' ? Array.isArray(prompt) && prompt.length > 0 : !!prompt;
    if (!promptOk || !(typeof prompt === 'string' || Array.isArray(prompt))) {
      const msg = `Missing required parameter: \`${promptParam}\`.`;
      this.sendError(ctx, res, 400, apiError(msg, undefined, 'missing_required_parameter', promptParam));
      return;
    }
    const resolved = resolveModel(model, this.profiles);
    if (!resolved) {
      const known = Object.keys(this.profiles).join(', ');
      const msg = `The model \`${model}\` does not exist in this simulator (models: ${known}).`;
      this.sendError(ctx, res, 404, apiError(msg, 'invalid_request_error', 'model_not_found', 'model'));
      return;
    }
    ctx.servedModel = resolved.servedModel;
    const rule = this.faults.pick(model, resolved.name);
    if (rule) {
      ctx.fault = rule.kind;
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
    { name, profile }: ResolvedModel,
    truncate: boolean,
  ): void {
    const prompt = ctx.endpoint === 'chat' ? serializeChatPrompt(body) : serializeResponsesPrompt(body);
    ctx.inputTokens = countTokens(prompt);
    ctx.cachedTokens = this.cache.lookupAndStore(name, prompt, ctx.inputTokens);
    const key = promptKey(body);
    const graded = gradeAsJudge(body, {
      seed: this.seed,
      model: name,
      positionBias: profile.positionBias ?? 0,
    });
    const answer =
      graded !== undefined
        ? { output: graded }
        : simulateAnswer({
            seed: this.seed,
            model: name,
            key,
            entry: Object.hasOwn(this.answerKey, key) ? this.answerKey[key] : undefined,
            accuracy: profile.accuracy,
            maxTokens: maxTokensOf(body),
          });
    // A truncated stream sends (and logs) only the first half of the text, then stops.
    ctx.output = truncate && ctx.stream ? firstHalf(answer.output) : answer.output;
    ctx.correct = answer.correct;
    ctx.reasoningTokens = profile.reasoningTokens ?? 0;
    ctx.outputTokens = countTokens(ctx.output) + ctx.reasoningTokens;
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
    };
    if (ctx.stream) {
      const includeUsage =
        (body.stream_options as { include_usage?: unknown } | null)?.include_usage === true;
      const plan =
        ctx.endpoint === 'chat' ? chatStreamPlan(call, includeUsage) : responsesStreamPlan(call, body);
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
    const note = '(simulated by the holdout simulator)';
    switch (rule.kind) {
      case 'rate_limit': {
        const msg = `Rate limit reached for ${ctx.model} on requests per min ${note}.`;
        this.sendError(ctx, res, 429, apiError(msg, 'requests', 'rate_limit_exceeded'), retry);
        return;
      }
      case 'insufficient_quota': {
        const msg = `You exceeded your current quota, please check your plan and billing details ${note}.`;
        this.sendError(ctx, res, 429, apiError(msg, 'insufficient_quota', 'insufficient_quota'), retry);
        return;
      }
      case 'server_error':
        this.sendError(ctx, res, 500, apiError(`The server had an error ${note}.`, 'server_error'), retry);
        return;
      case 'unavailable': {
        const msg = `The server is overloaded or not ready yet ${note}.`;
        this.sendError(ctx, res, 503, apiError(msg, 'server_error'), retry);
        return;
      }
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
