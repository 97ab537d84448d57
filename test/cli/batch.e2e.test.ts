import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { answerKeyPath, runCli, sampleSlice, tempDir, queryDb } from '../support/cli.js';

const ENV = { HOLDOUT_TEST_KEY: 'test-key-not-secret' };
/** USD per 1M tokens, Standard tier. */
const PRICE = { input: 0.75, cached_input: 0.075, output: 4.5 };
let sim: SimServer;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: {
      ...DEFAULT_PROFILES,
      'sim-fast': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 0.9 },
      'sim-fast-b': { latencyMs: { median: 5 }, ttftMs: 2, accuracy: 0.8, reasoningTokens: 16 },
    },
    batchDelayMs: 0,
  });
});
afterAll(() => sim.close());
afterEach(() => {
  sim.setFaults([]);
  sim.setBatchOptions({ delayMs: 0, expireAfter: undefined });
});

interface Cand {
  id: string;
  model: string;
  api?: 'chat' | 'responses';
  batch?: boolean;
  /** Default: the test's simulator over loopback. */
  baseUrl?: string;
}

function writeConfig(
  dir: string,
  o: {
    dataset: string;
    candidates: Cand[];
    mode?: 'batch';
    repeats?: number;
    extra?: string[];
    /** Replaces the default scorers. */
    scorers?: string[];
  },
): string {
  const lines = [
    'suite: batch-e2e',
    `dataset: ${o.dataset}`,
    `repeats: ${o.repeats ?? 1}`,
    'concurrency: 4',
    'max_retries: 1',
    'timeout_ms: 10000',
    'batch_poll_ms: 10',
    ...(o.mode ? [`mode: ${o.mode}`] : []),
    ...(o.extra ?? []),
    'candidates:',
    ...o.candidates.map(
      (c) =>
        `  - { id: ${c.id}, model: ${c.model}, api: ${c.api ?? 'chat'}, base_url: "${c.baseUrl ?? sim.url}", ` +
        `api_key_env: HOLDOUT_TEST_KEY, price: { input: ${PRICE.input}, cached_input: ${PRICE.cached_input}, output: ${PRICE.output} }` +
        `${c.batch ? ', batch: true' : ''} }`,
    ),
    'scorers:',
    ...(o.scorers ?? [
      '  - { kind: label, match: { task: classify } }',
      '  - { kind: json, match: { task: extract }, equals_reference: true }',
      '  - { kind: normalized, match: { task: reformat } }',
    ]),
  ];
  const path = join(dir, 'run.yaml');
  writeFileSync(path, lines.join('\n'));
  return path;
}

type Row = Record<string, unknown>;
const query = (db: string, sql: string): Row[] => queryDb(db, sql);
const calls = (db: string) => query(db, 'SELECT * FROM calls ORDER BY id');
const batches = (db: string) => query(db, 'SELECT * FROM batches ORDER BY id');
const scoreCount = (db: string, callId: unknown) =>
  query(db, `SELECT count(*) AS n FROM scores WHERE call_id = ${Number(callId)}`)[0]!.n as number;

/** The Standard-tier cost of a row's tokens, worked from the price by hand. */
function standardCost(r: Row): number {
  const input = r.input_tokens as number;
  const cached = r.cached_tokens as number;
  return (
    ((input - cached) * PRICE.input +
      cached * PRICE.cached_input +
      (r.output_tokens as number) * PRICE.output) /
    1e6
  );
}

describe('holdout run in batch mode', () => {
  it('mode: batch on the in-process simulator: a row per item, half price, no latency, scores stored', async () => {
    const dir = tempDir();
    const dataset = sampleSlice(dir, 8);
    const cfg = writeConfig(dir, {
      dataset,
      mode: 'batch',
      repeats: 2,
      extra: [`simulator: { answer_key: "${answerKeyPath()}" }`],
      candidates: [
        { id: 'mini', model: 'sim-mini', baseUrl: 'simulator' },
        { id: 'front', model: 'sim-frontier', api: 'responses', baseUrl: 'simulator' },
      ],
    });
    const db = join(dir, 'h.db');
    const res = await runCli(['run', cfg, '--db', db], { env: {} });
    expect(res.stderr).not.toMatch(/unexpected error/);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/SIMULATED/);
    expect(res.stderr).toMatch(/mini: batch batch_\w+ submitted: 16 requests/);
    expect(res.stderr).toMatch(/batch batch_\w+ \(front\): completed · 16\/16 done, 0 failed/);

    const rows = calls(db);
    // 8 records × 2 repeats × 2 candidates, each exactly once.
    expect(rows).toHaveLength(32);
    expect(new Set(rows.map((r) => `${r.record_id}/${r.candidate}/${r.repeat}`)).size).toBe(32);
    for (const r of rows) {
      expect(r).toMatchObject({
        status: 'ok',
        role: 'candidate',
        service_tier: 'batch',
        simulated: 1,
        attempts: 1,
      });
      expect(r.latency_ms).toBeNull();
      expect(r.ttft_ms).toBeNull();
      expect(r.request_id).toMatch(/^req_/);
      expect(r.served_model).toBe(r.candidate === 'mini' ? 'sim-mini-2026-03-17' : 'sim-frontier-2026-03-17');
      // Exactly half the Standard price of the same usage.
      expect(r.cost_usd as number).toBeCloseTo(standardCost(r) / 2, 15);
      expect(r.cost_usd as number).toBeGreaterThan(0);
      // Every sampled task (classify, extract, reformat) has one scorer: one score per row.
      expect(scoreCount(db, r.id)).toBe(1);
    }
    expect(rows.filter((r) => r.candidate === 'front').every((r) => r.reasoning_tokens === 64)).toBe(true);

    const b = batches(db);
    expect(b).toHaveLength(2);
    for (const x of b) {
      expect(x).toMatchObject({
        status: 'completed',
        request_count: 16,
        completed_count: 16,
        failed_count: 0,
      });
      expect(x.batch_id).toMatch(/^batch_/);
      expect(x.output_file_id).toMatch(/^file-/);
      expect(x.error_file_id).toBeNull();
      expect(x.collected_at).not.toBeNull();
      expect(x.finished_at).not.toBeNull();
      const ids = JSON.parse(x.custom_ids_json as string) as string[];
      const mine = rows.filter((r) => r.candidate === x.candidate).map((r) => `${r.record_id}#${r.repeat}`);
      expect(ids.sort()).toEqual(mine.sort());
    }
  });

  it('resumes by batch id: Ctrl-C while polling keeps the batch, the rerun polls it and creates none', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 6),
      candidates: [{ id: 'a', model: 'sim-fast', batch: true }],
    });
    const db = join(dir, 'h.db');
    sim.setBatchOptions({ delayMs: 600_000 }); // stays in progress until the test says otherwise
    const created = sim.batchStats().batchesCreated;
    const ac = new AbortController();
    // Abort once the batch exists and has been polled at least once (its progress line is printed).
    const watch = setInterval(() => {
      if (sim.batchStats().batchesCreated > created) setTimeout(() => ac.abort(), 30);
    }, 2);
    const first = await runCli(['run', cfg, '--db', db], { env: ENV, signal: ac.signal });
    clearInterval(watch);
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/still (validating|in_progress) at the provider; its id is stored/);
    expect(first.stderr).toMatch(/resume with: holdout run --resume 1/);
    expect(sim.batchStats().batchesCreated).toBe(created + 1);
    expect(calls(db)).toHaveLength(0);
    const [stored] = batches(db);
    expect(stored).toMatchObject({ candidate: 'a', request_count: 6, collected_at: null });
    expect(stored!.batch_id).toMatch(/^batch_/);
    expect(['validating', 'in_progress']).toContain(stored!.status);

    sim.setBatchOptions({ delayMs: 0 });
    const second = await runCli(['run', '--resume', '1', '--db', db], { env: ENV });
    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/submitted/);
    expect(second.stderr).toMatch(new RegExp(`batch ${stored!.batch_id} \\(a\\): completed`));
    expect(sim.batchStats().batchesCreated).toBe(created + 1);
    const rows = calls(db);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.status === 'ok')).toBe(true);
    expect(batches(db)).toEqual([
      expect.objectContaining({ batch_id: stored!.batch_id, status: 'completed' }),
    ]);
    expect(batches(db)[0]!.collected_at).not.toBeNull();

    // Resuming the finished run has nothing left to do: no new batch.
    const third = await runCli(['run', '--resume', '1', '--db', db], { env: ENV });
    expect(third.code).toBe(0);
    expect(sim.batchStats().batchesCreated).toBe(created + 1);
  });

  it('a failed line becomes an error row; --retry-errors sends it again in a new batch and replaces it', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 4),
      candidates: [{ id: 'a', model: 'sim-fast', batch: true }],
    });
    const db = join(dir, 'h.db');
    sim.setFaults([{ kind: 'server_error', model: 'sim-fast', count: 1 }]);
    const first = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(first.code).toBe(0);
    const rows = calls(db);
    expect(rows).toHaveLength(4);
    const bad = rows.filter((r) => r.status === 'error');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({
      error_kind: 'server_error',
      http_status: 500,
      cost_usd: null,
      output: null,
      latency_ms: null,
    });
    expect(bad[0]!.error_message).toMatch(/simulated by the holdout simulator/);
    expect(scoreCount(db, bad[0]!.id)).toBe(0);
    expect(batches(db)[0]).toMatchObject({ completed_count: 3, failed_count: 1 });
    expect(batches(db)[0]!.error_file_id).toMatch(/^file-/);

    const before = sim.batchStats().batchesCreated;
    const retry = await runCli(['run', '--resume', '1', '--db', db, '--retry-errors'], { env: ENV });
    expect(retry.code).toBe(0);
    expect(sim.batchStats().batchesCreated).toBe(before + 1);
    const after = calls(db);
    expect(after).toHaveLength(4);
    expect(after.every((r) => r.status === 'ok')).toBe(true);
    const last = batches(db).at(-1)!;
    expect(last).toMatchObject({ run_id: 1, request_count: 1 });
    expect(JSON.parse(last.custom_ids_json as string)).toEqual([`${bad[0]!.record_id}#0`]);
  });

  it('an expired batch: rows for what ran, none for the rest, which the rerun submits again', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 5),
      candidates: [{ id: 'a', model: 'sim-fast', batch: true }],
    });
    const db = join(dir, 'h.db');
    sim.setBatchOptions({ expireAfter: 2 });
    const first = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /batch_\w+ expired: 3 of 5 requests have no result; the next run submits them again/,
    );
    expect(first.stderr).toMatch(/run 1 is incomplete \(2\/5\)/);
    expect(calls(db)).toHaveLength(2);
    expect(batches(db)[0]).toMatchObject({
      status: 'expired',
      note: '3 requests without a result (expired)',
    });

    sim.setBatchOptions({ expireAfter: undefined });
    const second = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/batch_\w+ submitted: 3 requests/);
    const rows = calls(db);
    expect(rows).toHaveLength(5);
    expect(new Set(rows.map((r) => r.record_id)).size).toBe(5);
  });

  it('a mixed run: one candidate live (streamed, timed), one batched (half price, untimed), same answers', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 6),
      candidates: [
        { id: 'live', model: 'sim-fast' },
        { id: 'bulk', model: 'sim-fast', batch: true },
      ],
    });
    const db = join(dir, 'h.db');
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(res.code).toBe(0);
    // The live progress line counts the live candidate's 6 calls alone.
    expect(res.stderr).toMatch(/^6\/6 calls \(100\.0%\)/m);
    const rows = calls(db);
    expect(rows).toHaveLength(12);
    const live = rows.filter((r) => r.candidate === 'live');
    const bulk = rows.filter((r) => r.candidate === 'bulk');
    expect(live).toHaveLength(6);
    expect(bulk).toHaveLength(6);
    for (const r of live) {
      expect(r.latency_ms).toEqual(expect.any(Number));
      expect(r.ttft_ms).toEqual(expect.any(Number));
      expect(r.service_tier).toBe('default');
      expect(r.cost_usd as number).toBeCloseTo(standardCost(r), 15);
    }
    for (const r of bulk) {
      expect(r.latency_ms).toBeNull();
      expect(r.ttft_ms).toBeNull();
      expect(r.service_tier).toBe('batch');
      expect(r.cost_usd as number).toBeCloseTo(standardCost(r) / 2, 15);
      // The simulator answers a model and prompt the same way live and in a batch.
      const twin = live.find((l) => l.record_id === r.record_id)!;
      expect(r.output).toBe(twin.output);
      expect(r.input_tokens).toBe(twin.input_tokens);
      expect(r.output_tokens).toBe(twin.output_tokens);
    }
  });

  it('judges grade the batch rows in the scoring pass that follows the batches', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 5, (r) => r.tags.task === 'reformat'),
      mode: 'batch',
      candidates: [{ id: 'a', model: 'sim-fast' }],
      extra: [
        'judges:',
        `  - { id: grader, model: sim-judge, base_url: "${sim.url}", api_key_env: HOLDOUT_TEST_KEY, price: { input: 1, cached_input: 0.1, output: 2 } }`,
      ],
      scorers: [
        '  - { kind: normalized }',
        '  - { kind: judge_rubric, name: rubric, judge: grader, rubric: "Keeps the requested format" }',
      ],
    });
    const db = join(dir, 'h.db');
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(res.code).toBe(0);
    const cand = calls(db).filter((r) => r.role === 'candidate');
    const judged = calls(db).filter((r) => r.role === 'judge');
    expect(cand).toHaveLength(5);
    expect(cand.every((r) => r.service_tier === 'batch')).toBe(true);
    // One live judge call per batch row, timed like any live call; a score of each scorer per row.
    expect(judged).toHaveLength(5);
    expect(judged.every((r) => r.aux === 'rubric' && typeof r.latency_ms === 'number')).toBe(true);
    for (const r of cand) expect(scoreCount(db, r.id)).toBe(2);
  });

  it("a budget holds each batch's worst case before submitting it: splits, holds back the rest, exit 1", async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 40),
      mode: 'batch',
      candidates: [
        { id: 'a', model: 'sim-fast' },
        { id: 'b', model: 'sim-fast-b', api: 'responses' },
      ],
    });
    const db = join(dir, 'h.db');
    const budget = 0.01;
    const created = sim.batchStats().batchesCreated;
    const first = await runCli(['run', cfg, '--db', db, '--budget', String(budget)], { env: ENV });
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(
      /warning: budget \$0\.0100: \d+ batch requests held back, since their worst case at the batch rate does not fit/,
    );
    expect(first.stderr).toMatch(/run 1 stopped at its budget/);
    const spent = query(db, 'SELECT count(*) AS n, coalesce(sum(cost_usd), 0) AS usd FROM calls')[0]!;
    expect(spent.n as number).toBeGreaterThan(0);
    expect(spent.n as number).toBeLessThan(80);
    expect(spent.usd as number).toBeLessThanOrEqual(budget);
    // Every batch stored the worst case it held, and together they fit in the budget.
    const held = batches(db);
    expect(held.length).toBeGreaterThan(0);
    const worst = held.reduce((t, b) => t + (b.worst_case_usd as number), 0);
    expect(worst).toBeGreaterThan(spent.usd as number);
    expect(worst).toBeLessThanOrEqual(budget);

    // Raised, the rest is submitted; nothing is sent twice.
    const second = await runCli(['run', cfg, '--db', db, '--budget', '5'], { env: ENV });
    expect(second.code, second.stderr).toBe(0);
    const rows = calls(db);
    expect(rows).toHaveLength(80);
    expect(new Set(rows.map((r) => `${r.record_id}/${r.candidate}`)).size).toBe(80);
    const covered = batches(db).flatMap((b) => JSON.parse(b.custom_ids_json as string) as string[]);
    expect(covered).toHaveLength(80);
    expect(sim.batchStats().batchesCreated - created).toBe(batches(db).length);
  });

  it('--dry-run estimates a batch candidate at half the price of the same live one', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      dataset: sampleSlice(dir, 5),
      candidates: [
        { id: 'live', model: 'sim-fast' },
        { id: 'bulk', model: 'sim-fast', batch: true },
      ],
    });
    const before = sim.batchStats().batchesCreated;
    const res = await runCli(['run', cfg, '--dry-run'], { env: ENV });
    expect(res.code).toBe(0);
    expect(sim.batchStats().batchesCreated).toBe(before);
    const cost = (id: string) => {
      const line = res.stdout.split('\n').find((l) => l.startsWith(`${id} `))!;
      return Number(/\$([\d.e-]+)/.exec(line)![1]);
    };
    expect(res.stdout).toMatch(/^bulk \(batch\) /m);
    // Same model, prompts and price: the same tokens at half the rate, within the 3 significant
    // digits the table shows.
    expect(Math.abs(cost('bulk (batch)') / (cost('live') / 2) - 1)).toBeLessThan(0.01);
  });
});
