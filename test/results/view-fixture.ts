/**
 * A run with known outcomes for the viewer's tests: candidates `mini` and `frontier`, records r000…
 * with tags, prompts, references, and the outcomes of OUTCOMES (the rest pass on both).
 */
import { request } from 'node:http';
import type { HoldoutRecord } from '../../datasets/record.js';
import type { Store } from '../../results/store/store.js';
import { LabelArgs, label as labelFactory } from '../../scorers/label.js';
import { call, newRun, score } from './report-helpers.js';

type Outcome = 'pass' | 'fail' | 'unscored' | `error:${string}`;

/** [mini, frontier] per record index. */
export const OUTCOMES: Record<number, [Outcome, Outcome]> = {
  0: ['pass', 'pass'],
  1: ['fail', 'pass'],
  2: ['pass', 'fail'],
  3: ['error:rate_limit', 'pass'],
  4: ['unscored', 'fail'],
  5: ['fail', 'fail'],
  6: ['pass', 'pass'],
  7: ['fail', 'pass'],
  8: ['pass', 'error:timeout'],
};

export const rid = (i: number) => `r${String(i).padStart(3, '0')}`;

export interface FixtureOptions {
  records?: number;
  /** Names to use instead of mini and frontier. */
  names?: [string, string];
  /** Extra text in every prompt, tag value and output; a record id prefix. */
  payload?: string;
}

export function viewRun(store: Store, o: FixtureOptions = {}): { runId: number; names: [string, string] } {
  const n = o.records ?? 12;
  const names = o.names ?? ['mini', 'frontier'];
  const extra = o.payload ?? '';
  const runId = newRun(
    store,
    1,
    n,
    names.map((c, i) => [c, i === 0 ? 'gpt-mini' : 'gpt-frontier']),
    { suite: 'view-suite', scorers: [{ kind: 'label' }, { kind: 'json' }] },
  );
  const records = Array.from({ length: n }, (_, i) => {
    const id = `${extra}${rid(i)}`;
    const tags = { task: i % 2 === 0 ? 'classify' : 'extract', tenant: `acme${extra}` };
    const user =
      i === 2
        ? 'I want a REFUND for order 12'
        : i === 5
          ? 'he said "hi" and left'
          : `ticket number ${i}${extra}`;
    const body: Record<string, unknown> = {
      id,
      api: 'chat',
      tags,
      request: {
        model: 'gpt-x',
        messages: [
          { role: 'system', content: `You triage tickets.${extra}` },
          { role: 'user', content: user },
        ],
        ...(i === 1
          ? {
              tools: [
                { type: 'function', function: { name: 'lookup_order', parameters: { type: 'object' } } },
              ],
              response_format: { type: 'json_schema', json_schema: { name: 'triage' } },
            }
          : {}),
      },
      reference: { label: `billing${extra}` },
      ...(i === 1
        ? {
            production: {
              body: {
                model: 'gpt-prod',
                choices: [{ message: { role: 'assistant', content: `prod says billing${extra}` } }],
              },
              latency_ms: 321,
            },
          }
        : {}),
    };
    return { id, api: 'chat', tags, json: JSON.stringify(body) };
  });
  store.insertRecords(runId, records, 0);
  records.forEach((r, i) => {
    const outcomes = OUTCOMES[i] ?? ['pass', 'pass'];
    outcomes.forEach((outcome, k) => {
      const candidate = names[k]!;
      const scorer = i % 2 === 0 ? 'label' : 'json';
      const base = {
        recordId: r.id,
        candidate,
        inputTokens: 100 + i,
        cachedTokens: 10,
        outputTokens: 5,
        reasoningTokens: k === 1 ? 7 : 0,
        costUsd: (k + 1) * 0.001 + i * 1e-6,
        latencyMs: (k + 1) * 100 + i,
        ttftMs: 20 + i,
        servedModel: `${candidate}-2026-01-01`,
        requestId: `req_${candidate}_${i}`,
        output: `${candidate} answer ${i}${i === 6 && k === 1 ? ' zebra' : ''}${extra}`,
      };
      if (outcome.startsWith('error:')) {
        store.recordCall(
          call(runId, {
            ...base,
            status: 'error',
            output: null,
            costUsd: null,
            latencyMs: null,
            ttftMs: null,
            errorKind: outcome.slice(6),
            errorMessage: `it failed${extra}`,
            httpStatus: 429,
          }),
          [],
        );
        return;
      }
      const s =
        outcome === 'unscored'
          ? score(scorer, null, null)
          : {
              ...score(scorer, outcome === 'pass' ? 1 : 0, outcome === 'pass'),
              detail: `expected billing${extra}`,
            };
      store.recordCall(call(runId, base), [s]);
    });
  });
  store.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return { runId, names };
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to the viewer with exactly these headers (Host and Origin included). */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        headers: { Host: u.host, ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Record ids in the records table of a records page, in order. */
export function listedIds(html: string): string[] {
  return [...html.matchAll(/<a href="[^"]*" class="record">([^<]*)<\/a>/g)].map((m) => m[1]!);
}

/** One candidate's call in a label run: the class its record expected and the class it predicted. */
export interface LabelCall {
  recordId: string;
  candidate: string;
  expected: string;
  /** The class the output names; null: an output naming no class. */
  predicted: string | null;
}

export interface LabelRunOptions {
  classes?: number;
  /** Put into a few class names (and so into outputs, references and the heatmap's axes). */
  payload?: string;
  names?: [string, string];
}

/**
 * A run of a label scorer (`intent`) over many classes with long names that share their first 30
 * characters, so that the heatmap's axes must shorten them: three records per class, scored by the
 * label scorer itself (its details as a run stores them). mini answers its first record of each class
 * right, confuses the second with the next class (written differently: `Label: …` in upper case),
 * and names no class on the third of every fifth class; frontier confuses the classes 0, 7, 14, …
 * with the class two on. Returns every call with what it expected and predicted.
 */
export function labelRun(
  store: Store,
  o: LabelRunOptions = {},
): { runId: number; classes: string[]; calls: LabelCall[]; names: [string, string] } {
  const k = o.classes ?? 77;
  const names = o.names ?? ['mini', 'frontier'];
  const classes = Array.from({ length: k }, (_, i) =>
    o.payload && i % 25 === 3
      ? `${i}_${o.payload}`
      : `customer_support_intent_category_${['billing', 'refund', 'shipping'][i % 3]}_${String(i).padStart(2, '0')}`,
  );
  const spec = { kind: 'label', name: 'intent', labels: classes };
  const scorer = labelFactory.create('intent', LabelArgs.parse({ labels: classes }));
  const perClass = 3;
  const runId = newRun(
    store,
    1,
    k * perClass,
    names.map((c, i) => [c, i === 0 ? 'gpt-mini' : 'gpt-frontier']),
    { suite: 'labels-suite', scorers: [spec] },
  );
  const records: { id: string; api: string; tags: Record<string, string>; json: string; expected: number }[] =
    [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < perClass; j++) {
      const id = `c${String(i).padStart(2, '0')}-${j}`;
      const tags = { task: 'classify' };
      const body = {
        id,
        api: 'chat',
        tags,
        request: { model: 'gpt-x', messages: [{ role: 'user', content: `ticket ${id}` }] },
        reference: { label: classes[i] },
      };
      records.push({ id, api: 'chat', tags, json: JSON.stringify(body), expected: i });
    }
  }
  store.insertRecords(runId, records, 0);
  const calls: LabelCall[] = [];
  records.forEach((r, n) => {
    const i = r.expected;
    const j = n % perClass;
    names.forEach((candidate, c) => {
      let predicted: number | null = i;
      if (c === 0 && j === 1) predicted = (i + 1) % k;
      if (c === 0 && j === 2 && i % 5 === 0) predicted = null;
      if (c === 1 && i % 7 === 0 && j > 0) predicted = (i + 2) % k;
      const output =
        predicted === null
          ? 'I cannot tell.'
          : predicted === i
            ? classes[i]!
            : `Label: ${classes[predicted]!.toUpperCase()}`;
      const record = JSON.parse(r.json) as HoldoutRecord;
      const s = scorer.score({ record, output: { text: output, toolCalls: [] } }) as {
        value: number | null;
        passed: boolean | null;
        detail?: string;
      };
      store.recordCall(
        call(runId, { recordId: r.id, candidate, output, costUsd: 0.001, latencyMs: 100 + n }),
        [{ scorer: 'intent', value: s.value, passed: s.passed, ...(s.detail ? { detail: s.detail } : {}) }],
      );
      calls.push({
        recordId: r.id,
        candidate,
        expected: classes[i]!,
        predicted: predicted === null ? null : classes[predicted]!,
      });
    });
  });
  store.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return { runId, classes, calls, names };
}
