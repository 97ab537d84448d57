import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { routeRecord } from '../../harness/route/conditions.js';
import { Router } from '../../harness/route/policy.js';
import { runRouter } from '../../harness/route/router.js';
import { HarnessError } from '../../harness/errors.js';
import type { PriceRule } from '../../harness/providers/pricing.js';
import { loadTokenizer, requestInputTokens } from '../../harness/providers/tokens.js';
import {
  INPUT_MARGIN,
  SpendLedger,
  UNLIMITED_OUTPUT_TOKENS,
  worstCaseCost,
} from '../../harness/run/estimate.js';
import { runEval } from '../../harness/run/runner.js';
import { completion, fakeClock, memoryStoreWithRun, scriptedProvider } from '../support/fakes.js';

const PRICE: PriceRule = { standard: { input: 1, cached_input: 0.1, output: 10 }, source: 'config' };
const sink = () => new Writable({ write: (_c, _e, done) => done() });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('worstCaseCost', () => {
  it('counted input tokens plus a margin, the output limit, at the rate it is billed', async () => {
    const t = await loadTokenizer('o200k_base');
    const body = { model: 'm', messages: [{ role: 'user', content: 'How many tokens is this?' }] };
    const counted = requestInputTokens(t, body);
    const input = Math.ceil(counted * (1 + INPUT_MARGIN));
    const limited = worstCaseCost(t, { ...body, max_completion_tokens: 50 }, PRICE);
    expect(limited).toMatchObject({ inputTokens: input, outputTokens: 50, limited: true });
    expect(limited.usd).toBeCloseTo((input * 1 + 50 * 10) / 1e6, 15);
    // Responses' limit, and the batch rate: half.
    expect(worstCaseCost(t, { ...body, max_output_tokens: 50 }, PRICE, 'batch').usd).toBeCloseTo(
      limited.usd / 2,
      15,
    );
    // No limit: UNLIMITED_OUTPUT_TOKENS.
    const open = worstCaseCost(t, body, PRICE);
    expect(open).toMatchObject({ outputTokens: UNLIMITED_OUTPUT_TOKENS, limited: false });
    // Cache writes dearer than input (a configured cache_write rate): input reserved at that rate.
    const writes = worstCaseCost(
      t,
      { ...body, max_completion_tokens: 50 },
      {
        standard: { input: 1, cached_input: 0.1, output: 10, cache_write: 3 },
        source: 'config',
      },
    );
    expect(writes.usd).toBeCloseTo((input * 3 + 50 * 10) / 1e6, 15);
  });
});

describe('SpendLedger', () => {
  it('holds worst cases up to the cap, makes a request wait while others are in flight, settles real costs', async () => {
    const ledger = new SpendLedger(1, 0.2);
    const a = (await ledger.reserve('x', 0.5))!;
    expect(a.usd).toBe(0.5);
    expect(ledger.reserved).toBe(0.5);
    let b: unknown = 'waiting';
    void ledger.reserve('x', 0.5).then((h) => {
      b = h;
    });
    await tick();
    expect(b).toBe('waiting'); // 0.2 + 0.5 + 0.5 > 1
    ledger.settle(a, 0.1); // the call cost far less than its worst case
    await tick();
    expect(b).toMatchObject({ usd: 0.5 });
    expect(ledger.spent).toBeCloseTo(0.3, 12);
    expect(ledger.reached).toBe(false);
  });

  it('refuses an endpoint whose request cannot fit once nothing is in flight; cheaper ones go on', async () => {
    const ledger = new SpendLedger(1, 0.6);
    const small = (await ledger.reserve('cheap', 0.1))!;
    const big = ledger.reserve('dear', 0.5);
    const after = ledger.reserve('cheap', 0.1); // queued behind the dear one: first come, first served
    ledger.settle(small, 0.1);
    expect(await big).toBeUndefined();
    expect(await after).toMatchObject({ usd: 0.1 });
    expect(ledger.refuses('dear')).toBe(true);
    expect(ledger.refuses('cheap')).toBe(false);
    expect(ledger.reached).toBe(true);
    expect(await ledger.reserve('dear', 0.01)).toBeUndefined();
  });

  it('pinned batch holds never free budget during the session; a request that needs them is refused', async () => {
    const ledger = new SpendLedger(1, 0);
    expect(ledger.pin('batch:1', 'b', 0.7)).toBe(true);
    expect(ledger.pin('batch:2', 'b', 0.7)).toBe(false); // does not fit: nothing held
    expect(ledger.reserved).toBeCloseTo(0.7, 12);
    expect(await ledger.reserve('live', 0.5)).toBeUndefined();
    ledger.unpin('batch:1', 0.2);
    expect(ledger.spent).toBeCloseTo(0.2, 12);
    expect(ledger.reserved).toBe(0);
    expect(ledger.pin('batch:3', 'b', 0.7)).toBe(true);
  });

  it('learns when an endpoint costs more than its worst case and scales its later holds', async () => {
    const ledger = new SpendLedger(10, 0);
    const h = (await ledger.reserve('x', 0.1))!;
    ledger.settle(h, 0.3);
    expect(ledger.scaled('x', 0.1)).toBeCloseTo(0.3, 12);
    expect((await ledger.reserve('x', 0.1))!.usd).toBeCloseTo(0.3, 12);
    expect(ledger.scaled('y', 0.1)).toBe(0.1);
  });

  it('without a cap, every request is held at once', async () => {
    const ledger = new SpendLedger(undefined, 123);
    expect(await ledger.reserve('x', 1e9)).toBeDefined();
    expect(ledger.fits(1e12)).toBe(true);
  });
});

describe('runEval under a budget', () => {
  it('with many calls in flight the spend never passes the cap (it used to pass it by the calls in flight)', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ id: `r${i}` }));
    const { store, runId } = memoryStoreWithRun(records);
    // Each call really costs (4 + 10 · 10) / 1e6 = $0.000104, at most its worst case.
    const provider = scriptedProvider([
      () =>
        completion('ok', {
          usage: { inputTokens: 4, cachedTokens: 0, outputTokens: 10, reasoningTokens: 0 },
        }),
    ]);
    const cap = 0.001;
    const summary = await runEval(
      {
        runId,
        candidates: [
          {
            id: 'c',
            model: 'gpt-5.4-mini',
            api: 'chat',
            params: { max_completion_tokens: 10 },
            concurrency: 16,
            price: PRICE,
            provider,
          },
        ],
        repeats: 1,
        concurrency: 16,
        maxRetries: 0,
        timeoutMs: 1000,
        stream: false,
        retryErrors: false,
        budgetUsd: cap,
      },
      { store, scorers: [], clock: fakeClock() },
    );
    expect(summary.budgetReached).toBe(true);
    expect(summary.complete).toBe(false);
    const spent = store.db.prepare('SELECT coalesce(sum(cost_usd), 0) FROM calls').pluck().get() as number;
    expect(spent).toBeLessThanOrEqual(cap);
    expect(provider.calls.length).toBe(summary.done);
    expect(summary.done).toBeGreaterThan(5);
    store.close();
  });
});

describe('router calls under a budget', () => {
  it('hold their worst case: the run’s budget stops them with BUDGET_REACHED, and what was made is stored', async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({
      id: `r${i}`,
      tags: { difficulty: i % 2 ? 'hard' : 'easy' },
    }));
    const { store, runId } = memoryStoreWithRun(records);
    const router = Router.parse({
      candidate: {
        model: 'sim-nano',
        base_url: 'simulator',
        price: { input: 20, cached_input: 2, output: 100 },
        params: { max_completion_tokens: 4 },
      },
      prompt: 'Easy or hard?\n{{prompt}}',
      labels: { easy: 'a', hard: 'b' },
      concurrency: 8,
      simulator: { truth_tag: 'difficulty', truth: { easy: 'easy', hard: 'hard' } },
    });
    const route = store.recordPage(runId, -1, 100).map((r) => {
      const rec = JSON.parse(r.body_json) as { tags: Record<string, string> };
      return routeRecord(r.record_id, rec.tags, r.body_json);
    });
    const cap = 0.006;
    let err: unknown;
    try {
      await runRouter(store, runId, router, route, '.', {
        env: {},
        clock: fakeClock(),
        stderr: sink(),
        budgetUsd: cap,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('BUDGET_REACHED');
    expect((err as HarnessError).exitCode).toBe(1);
    const made = store.db
      .prepare("SELECT count(*) AS n, coalesce(sum(cost_usd), 0) AS usd FROM calls WHERE role = 'router'")
      .get() as { n: number; usd: number };
    expect(made.n).toBeGreaterThan(0);
    expect(made.n).toBeLessThan(30);
    expect(made.usd).toBeLessThanOrEqual(cap);
    store.close();
  });
});
