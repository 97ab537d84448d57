import type { FaultKind } from './faults.js';

export interface SimCallLog {
  requestId: string;
  /** The model string as requested (a profile name or a snapshot of one). */
  model: string;
  /** The snapshot reported in the response; '' when the request never reached a profile. */
  servedModel: string;
  endpoint: 'chat' | 'responses';
  stream: boolean;
  /** HTTP status sent; 0 when no status line went out (reset, hang, client gone first). */
  status: number;
  fault?: FaultKind;
  /** Receipt of the request to the last byte written (or to the socket closing). */
  serviceMs: number;
  /** The sampled latency the simulator aimed for; 0 for calls that got no simulated answer. */
  latencyMs: number;
  inputTokens: number;
  cachedTokens: number;
  /** Includes reasoning tokens, as the API's completion/output tokens do. */
  outputTokens: number;
  reasoningTokens: number;
  /** The text generated; for a truncated stream, only the part that was sent. */
  output: string;
  /** Whether the output is the answer-key answer; absent when the prompt has no key entry. */
  correct?: boolean;
}

export interface SimStats {
  requests: number;
  byModel: Record<string, number>;
  inFlight: number;
  maxInFlight: number;
  maxInFlightByModel: Record<string, number>;
  /** Oldest first; at most `logLimit` entries. */
  log: SimCallLog[];
}

/**
 * Counters and a ring buffer of finished calls. Model counters are keyed by the requested model
 * string, so a harness can check its per-candidate concurrency limits against `maxInFlightByModel`.
 */
export class StatsRecorder {
  private requests = 0;
  private byModel = new Map<string, number>();
  private inFlight = 0;
  private maxInFlight = 0;
  private inFlightByModel = new Map<string, number>();
  private maxInFlightByModel = new Map<string, number>();
  private ring: Array<SimCallLog | undefined>;
  private next = 0;
  private readonly byId = new Map<string, SimCallLog>();

  constructor(private readonly logLimit: number) {
    this.ring = new Array(logLimit);
  }

  begin(): void {
    this.requests++;
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
  }

  beginModel(model: string): void {
    this.byModel.set(model, (this.byModel.get(model) ?? 0) + 1);
    const n = (this.inFlightByModel.get(model) ?? 0) + 1;
    this.inFlightByModel.set(model, n);
    if (n > (this.maxInFlightByModel.get(model) ?? 0)) this.maxInFlightByModel.set(model, n);
  }

  /** Call once per begin(); `modelCounted` says whether beginModel() ran for it. */
  end(entry: SimCallLog, modelCounted: boolean): void {
    this.inFlight--;
    if (modelCounted) this.inFlightByModel.set(entry.model, (this.inFlightByModel.get(entry.model) ?? 1) - 1);
    if (this.logLimit === 0) return;
    const evicted = this.ring[this.next];
    if (evicted) this.byId.delete(evicted.requestId);
    this.ring[this.next] = entry;
    this.byId.set(entry.requestId, entry);
    this.next = (this.next + 1) % this.logLimit;
  }

  find(requestId: string): SimCallLog | undefined {
    const e = this.byId.get(requestId);
    return e && { ...e };
  }

  snapshot(withLog = true): SimStats {
    const log: SimCallLog[] = [];
    if (withLog) {
      for (let i = 0; i < this.logLimit; i++) {
        const e = this.ring[(this.next + i) % this.logLimit];
        if (e) log.push({ ...e });
      }
    }
    return {
      requests: this.requests,
      byModel: Object.fromEntries(this.byModel),
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      maxInFlightByModel: Object.fromEntries(this.maxInFlightByModel),
      log,
    };
  }

  /** Clears counters and the log; calls still in flight stay counted so the gauge never goes negative. */
  reset(): void {
    this.requests = 0;
    this.byModel.clear();
    this.maxInFlight = this.inFlight;
    this.maxInFlightByModel = new Map([...this.inFlightByModel].filter(([, n]) => n > 0));
    this.ring = new Array(this.logLimit);
    this.next = 0;
    this.byId.clear();
  }
}
