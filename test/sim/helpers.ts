import OpenAI from 'openai';
import type { SimProfile, SimServer } from '../../harness/sim/index.js';

/** A profile with no latency, so wire tests run at loopback speed. */
export const INSTANT: SimProfile = { latencyMs: { median: 0 }, ttftMs: 0, accuracy: 1 };

export function client(sim: SimServer, opts: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  // logLevel off: the SDK logs unparseable SSE data to the console before throwing.
  return new OpenAI({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, logLevel: 'off', ...opts });
}

export function userTurn(content: string): Array<{ role: 'user'; content: string }> {
  return [{ role: 'user', content }];
}

/** Maps with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Polls until `check` passes or `ms` elapse; for counters that settle when a socket closes. */
export async function eventually(check: () => boolean, ms = 1000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return check();
}
