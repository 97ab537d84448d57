/** Builders for report tests: a run, its records and hand-written call rows in a real store. */
import type { CallRow, CandidateRow, ScoreRow, Store } from '../../results/store/store.js';

export function newRun(
  store: Store,
  repeats: number,
  recordCount: number,
  candidates: [string, string][],
  over: { suite?: string; createdAt?: string; scorers?: unknown[] } = {},
): number {
  const rows: CandidateRow[] = candidates.map(([candidate, model]) => ({
    candidate,
    model,
    api: 'chat',
    paramsJson: '{}',
    priceJson: '{}',
  }));
  return store.createRun(
    {
      suite: over.suite ?? 'nightly',
      configPath: 'holdout.yaml',
      configJson: '{}',
      configHash: 'h',
      datasetPath: 'data/prod.jsonl',
      datasetHash: 'd',
      recordCount,
      repeats,
      scorersJson: JSON.stringify(over.scorers ?? []),
      createdAt: over.createdAt ?? '2025-01-01T00:00:00.000Z',
    },
    rows,
  );
}

/** Stores records in this order (seq 0, 1, …) with their tags. */
export function addRecords(store: Store, runId: number, records: [string, Record<string, string>][]): void {
  store.insertRecords(
    runId,
    records.map(([id, tags]) => ({ id, api: 'chat', tags, json: '{}' })),
    0,
  );
}

/** Stores records in this order with their whole body as a run stores it: tags and a reference. */
export function addRecordBodies(
  store: Store,
  runId: number,
  records: { id: string; tags?: Record<string, string>; reference?: Record<string, unknown> }[],
): void {
  store.insertRecords(
    runId,
    records.map(({ id, tags = {}, reference }) => ({
      id,
      api: 'chat',
      tags,
      json: JSON.stringify({ id, tags, api: 'chat', request: { messages: [] }, reference }),
    })),
    0,
  );
}

export function call(runId: number, over: Partial<CallRow>): CallRow {
  return {
    runId,
    recordId: 'r1',
    candidate: 'alpha',
    repeat: 0,
    role: 'candidate',
    status: 'ok',
    output: 'x',
    toolCallsJson: null,
    finishReason: 'stop',
    inputTokens: null,
    cachedTokens: null,
    outputTokens: null,
    reasoningTokens: null,
    costUsd: null,
    latencyMs: null,
    ttftMs: null,
    queueMs: 0,
    backoffMs: 0,
    attempts: 1,
    errorKind: null,
    errorMessage: null,
    httpStatus: null,
    servedModel: null,
    requestId: null,
    serverMs: null,
    serviceTier: null,
    simulated: false,
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z',
    ...over,
  };
}

export const score = (scorer: string, value: number | null, passed: boolean | null): ScoreRow => ({
  scorer,
  value,
  passed,
});

/** Splits RFC 4180 CSV text into records of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

export const PAYLOADS = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=2">',
  '"><svg onload=window.__pwned=3>',
] as const;

interface BakeoffCandidate {
  id: string;
  model: string;
  /** Mean cost of a call, USD. */
  cost: number;
  /** Share of prompts passed. */
  quality: number;
  /** Median latency, ms. */
  latency: number;
}

export const BAKEOFF: BakeoffCandidate[] = [
  { id: 'nano', model: 'gpt-nano-2025-08', cost: 0.00011, quality: 0.62, latency: 380 },
  { id: 'mini', model: 'gpt-mini-2025-08', cost: 0.0009, quality: 0.79, latency: 650 },
  { id: 'mini-old', model: 'gpt-mini-2024-07', cost: 0.0012, quality: 0.74, latency: 900 },
  { id: 'frontier', model: 'gpt-frontier-2025-09', cost: 0.0065, quality: 0.88, latency: 1500 },
];

/** A seeded generator (mulberry32) for fixtures. */
function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded bake-off: `records` prompts tagged by task, every candidate answering each once, with a
 * shared per-prompt difficulty (so outcomes are paired), log-normal latencies, rare errors, and one
 * judge call per prompt. With `payload`, one candidate id, one tag value and the outputs carry
 * script-injection payloads.
 */
export function bakeoff(
  store: Store,
  opts: { records?: number; payload?: boolean; simulated?: boolean; seed?: number } = {},
): { runId: number; candidates: string[] } {
  const n = opts.records ?? 400;
  const rand = rng(opts.seed ?? 7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const candidates = BAKEOFF.map((c) =>
    opts.payload && c.id === 'mini-old'
      ? { ...c, id: `mini-old${PAYLOADS[2]}`, model: `m${PAYLOADS[0]}` }
      : c,
  );
  const runId = newRun(
    store,
    1,
    n,
    candidates.map((c) => [c.id, c.model]),
  );
  const tasks = ['extract', 'classify', 'chat', 'plan', ...(opts.payload ? [`x${PAYLOADS[1]}`] : [])];
  const taskShift: Record<string, number> = { extract: 0.05, classify: 0.1, chat: 0, plan: -0.15 };
  const records: [string, Record<string, string>][] = [];
  for (let i = 0; i < n; i++)
    records.push([`rec-${String(i).padStart(4, '0')}`, { task: tasks[i % tasks.length]! }]);
  addRecords(store, runId, records);
  for (const [recordId, tags] of records) {
    const difficulty = rand();
    const shift = taskShift[tags.task!] ?? 0;
    for (const c of candidates) {
      const error = rand() < 0.01;
      const latency = c.latency * Math.exp(0.45 * normal());
      const passed = difficulty + 0.2 * (rand() - 0.5) < c.quality + shift;
      const output = opts.payload
        ? `answer ${recordId} ${PAYLOADS.join(' ')}`
        : `answer to ${recordId} from ${c.id}: ${passed ? 'correct' : 'wrong'}`;
      store.recordCall(
        call(runId, {
          recordId,
          candidate: c.id,
          status: error ? 'error' : 'ok',
          output: error ? null : output,
          errorKind: error ? (rand() < 0.5 ? 'timeout' : 'rate_limit') : null,
          errorMessage: error ? `failed ${PAYLOADS[0]}` : null,
          inputTokens: 400,
          outputTokens: 120,
          costUsd: error ? null : c.cost * (0.7 + 0.6 * rand()),
          latencyMs: error ? null : latency,
          ttftMs: error ? null : latency * 0.25,
          servedModel: error ? null : c.model,
          simulated: opts.simulated ?? false,
        }),
        error ? [] : [score('exact', passed ? 1 : 0, passed)],
      );
    }
    store.recordCall(
      call(runId, {
        recordId,
        candidate: 'judge-model',
        role: 'judge',
        costUsd: 0.0004,
        inputTokens: 900,
        outputTokens: 20,
        simulated: opts.simulated ?? false,
      }),
      [],
    );
  }
  store.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return { runId, candidates: candidates.map((c) => c.id) };
}
