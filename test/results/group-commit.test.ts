import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePrice } from '../../harness/providers/pricing.js';
import type { Provider } from '../../harness/providers/provider.js';
import { type CandidatePlan, runEval } from '../../harness/run/runner.js';
import { GroupCommit } from '../../results/store/group-commit.js';
import type { CallRow, FinishedCall } from '../../results/store/store.js';
import { Store } from '../../results/store/store.js';
import { tempDir } from '../support/cli.js';
import { completion, fakeClock } from '../support/fakes.js';

const open: Store[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

/** A file store with one run of `n` records r0…r(n−1), whose prompts name them. */
function fileStore(n: number, path = join(tempDir(), 'h.db')): { store: Store; runId: number; path: string } {
  const store = new Store(path);
  open.push(store);
  const runId = store.createRun(
    {
      suite: 't',
      configJson: '{}',
      configHash: 'h',
      datasetPath: 'mem',
      datasetHash: 'd',
      recordCount: n,
      repeats: 1,
      scorersJson: '[]',
      createdAt: '2026-12-03T00:00:00Z',
    },
    [],
  );
  const records = Array.from({ length: n }, (_, i) => {
    const id = `r${i}`;
    const rec = {
      id,
      tags: {},
      api: 'chat',
      request: { model: 'x', messages: [{ role: 'user', content: id }] },
    };
    return { id, api: 'chat', tags: {}, json: JSON.stringify(rec) };
  });
  store.insertRecords(runId, records, 0);
  return { store, runId, path };
}

function finished(runId: number, recordId: string): FinishedCall {
  const row: CallRow = {
    runId,
    recordId,
    candidate: 'c',
    repeat: 0,
    role: 'candidate',
    aux: '',
    status: 'ok',
    output: `answer ${recordId}`,
    toolCallsJson: null,
    finishReason: 'stop',
    inputTokens: 10,
    cachedTokens: 0,
    outputTokens: 2,
    reasoningTokens: 0,
    costUsd: 0.001,
    latencyMs: 5,
    ttftMs: 1,
    queueMs: 0,
    backoffMs: 0,
    attempts: 1,
    errorKind: null,
    errorMessage: null,
    httpStatus: 200,
    servedModel: 'm',
    requestId: null,
    serverMs: null,
    serviceTier: null,
    simulated: true,
    startedAt: '2026-12-03T00:00:00Z',
    finishedAt: '2026-12-03T00:00:01Z',
  };
  return { row, scores: [{ scorer: 'exact', value: 1, passed: true }], replace: false };
}

const stored = (store: Store) =>
  (store.db.prepare('SELECT record_id FROM calls ORDER BY record_id').pluck().all() as string[]).sort();
const scoreCount = (store: Store) => store.db.prepare('SELECT count(*) FROM scores').pluck().get() as number;
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('commits the calls that finish in one turn in one transaction, at the end of that turn', async () => {
    const { store, runId } = fileStore(5);
    const groups: string[][] = [];
    const writer = {
      recordCalls(calls: readonly FinishedCall[]) {
        groups.push(calls.map((c) => c.row.recordId));
        store.recordCalls(calls);
      },
    };
    const seen: string[] = [];
    const g = new GroupCommit(writer, (f) => seen.push(f.row.recordId));
    // Three calls finish in the same turn: nothing is written before the turn ends.
    const done = ['r0', 'r1', 'r2'].map((id) => g.add(finished(runId, id)));
    expect(stored(store)).toEqual([]);
    expect(g.waiting).toBe(3);
    await Promise.all(done);
    expect(groups).toEqual([['r0', 'r1', 'r2']]);
    expect(stored(store)).toEqual(['r0', 'r1', 'r2']);
    expect(scoreCount(store)).toBe(3);
    expect(seen).toEqual(['r0', 'r1', 'r2']);
    // A call finishing in a later turn starts a new group: the window is one turn, not open-ended.
    const a = g.add(finished(runId, 'r3'));
    await nextTurn();
    const b = g.add(finished(runId, 'r4'));
    await Promise.all([a, b]);
    expect(groups).toEqual([['r0', 'r1', 'r2'], ['r3'], ['r4']]);
    expect(g.waiting).toBe(0);
  });

  it('a crash between finish and commit loses only the calls not yet committed', async () => {
    const { store, runId, path } = fileStore(4);
    const g = new GroupCommit(store, () => {});
    await Promise.all([g.add(finished(runId, 'r0')), g.add(finished(runId, 'r1'))]);
    // The next group is never committed (the process dies before the end of its turn).
    const held = new GroupCommit(
      store,
      () => {},
      () => {},
    );
    void held.add(finished(runId, 'r2'));
    expect(held.waiting).toBe(1);
    store.close();
    const reopened = new Store(path);
    open.push(reopened);
    expect(stored(reopened)).toEqual(['r0', 'r1']);
    expect(reopened.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('a group is all or nothing: one failing row rolls back the others, and the callers hear of it', async () => {
    const { store, runId } = fileStore(3);
    store.recordCall(finished(runId, 'r0').row, []);
    const seen: string[] = [];
    const g = new GroupCommit(store, (f) => seen.push(f.row.recordId));
    // r0 again (not a replacement) breaks the unique work-item key: r1 must not be written either.
    const one = g.add(finished(runId, 'r1'));
    const two = g.add(finished(runId, 'r0'));
    await expect(one).rejects.toThrow(/UNIQUE|constraint/i);
    await expect(two).rejects.toThrow(/UNIQUE|constraint/i);
    expect(stored(store)).toEqual(['r0']);
    expect(seen).toEqual([]);
  });
});

/** Answers in the next turn (as a socket would) and counts the requests per record (the prompt names it). */
function countingProvider(): Provider & { asked: Map<string, number> } {
  const asked = new Map<string, number>();
  return {
    asked,
    async complete(body) {
      const id = (body.messages as { content: string }[])[0]!.content;
      asked.set(id, (asked.get(id) ?? 0) + 1);
      await new Promise((r) => setImmediate(r));
      return completion(`answer ${id}`);
    },
    classify: () => ({ retry: false, kind: 'internal', message: 'unexpected' }),
  };
}

function plan(runId: number, provider: Provider) {
  const candidate: CandidatePlan = {
    id: 'c',
    model: 'c-model',
    api: 'chat',
    params: {},
    concurrency: 4,
    price: resolvePrice('gpt-5.4-mini')!,
    provider,
  };
  return {
    runId,
    candidates: [candidate],
    repeats: 1,
    concurrency: 4,
    maxRetries: 0,
    timeoutMs: 5_000,
    stream: false,
    retryErrors: false,
  };
}

describe('runEval with group commit', () => {
  it('a run that dies at a commit resumes asking only for what has no row, never for a committed call', async () => {
    const { store, runId } = fileStore(10);
    const first = countingProvider();
    const groups: string[][] = [];
    const realWrite = store.recordCalls.bind(store);
    // From the second group on no commit happens: as if the process died between finish and commit.
    store.recordCalls = (calls) => {
      groups.push(calls.map((c) => c.row.recordId));
      if (groups.length >= 2) throw new Error('killed before the commit');
      realWrite(calls);
    };
    let reported = 0;
    await expect(
      runEval(plan(runId, first), {
        store,
        scorers: [],
        clock: fakeClock(),
        reporter: { callDone: () => reported++ },
      }),
    ).rejects.toThrow(/killed before the commit/);
    // The four calls in flight answer in the same turn: one group of four, then the run stops.
    expect(groups[0]).toHaveLength(4);
    expect(groups.length).toBeGreaterThanOrEqual(2);
    const committed = stored(store);
    expect(committed).toEqual([...groups[0]!].sort());
    // Progress counts committed calls only.
    expect(reported).toBe(4);

    store.recordCalls = realWrite;
    const resume = countingProvider();
    const s = await runEval(plan(runId, resume), { store, scorers: [], clock: fakeClock() });
    expect(s).toMatchObject({ total: 10, done: 10, complete: true });
    const asked = [...resume.asked.keys()].sort();
    // Exactly the calls without a row: the lost group (finished, never committed) and those never sent.
    const all = Array.from({ length: 10 }, (_, i) => `r${i}`).sort();
    expect(asked).toEqual(all.filter((id) => !committed.includes(id)));
    expect([...resume.asked.values()].every((n) => n === 1)).toBe(true);
    for (const id of groups[1]!) expect(asked).toContain(id);
    // One row per work item.
    expect(stored(store)).toEqual(all);
  });
});

describe('GroupCommit bounds', () => {
  it('commits at once when a group reaches MAX_GROUP calls, so calls that finish without I/O are not all held', async () => {
    const { MAX_GROUP } = await import('../../results/store/group-commit.js');
    const { store, runId } = fileStore(MAX_GROUP + 1);
    const sizes: number[] = [];
    const g = new GroupCommit(
      {
        recordCalls: (calls) => {
          sizes.push(calls.length);
          store.recordCalls(calls);
        },
      },
      () => {},
    );
    const all = Array.from({ length: MAX_GROUP + 1 }, (_, i) => g.add(finished(runId, `r${i}`)));
    // The first MAX_GROUP were committed synchronously, in the same turn; the last one waits for it to end.
    expect(sizes).toEqual([MAX_GROUP]);
    expect(stored(store)).toHaveLength(MAX_GROUP);
    await Promise.all(all);
    expect(sizes).toEqual([MAX_GROUP, 1]);
  });
});
