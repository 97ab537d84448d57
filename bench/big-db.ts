/**
 * Writes a run of `calls` call rows straight into a SQLite database (no simulator, no SDK): two
 * candidates answering the same records, one score per call, tags for slicing, a realistic share of
 * flips between the two. What `report` and `compare` are benchmarked over.
 */
import { Store } from '../results/store/store.js';
import { mulberry32 } from '../results/stats/paired.js';

const TASKS = ['classify', 'extract', 'reformat'];
const TENANTS = ['acme', 'quill', 'bluefin', 'pine'];

export function writeBigRun(path: string, calls: number, seed = 7): { runId: number; records: number } {
  const store = new Store(path);
  const db = store.db;
  const records = Math.floor(calls / 2);
  const runId = store.createRun(
    {
      suite: 'bench-big',
      configJson: '{}',
      configHash: `bench-${calls}`,
      datasetPath: 'generated',
      datasetHash: 'generated',
      recordCount: records,
      repeats: 1,
      scorersJson: '[{"kind":"label","name":"label"}]',
      createdAt: new Date().toISOString(),
    },
    ['a', 'b'].map((c) => ({
      candidate: c,
      model: `bench-${c}`,
      api: 'chat',
      paramsJson: '{}',
      priceJson: '{"input":0.75,"cached_input":0.075,"output":4.5}',
    })),
  );
  const rand = mulberry32(seed);
  const insRecord = db.prepare(
    'INSERT INTO records (run_id, record_id, seq, api, tags_json, body_json) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insCall = db.prepare(`INSERT INTO calls (run_id, record_id, candidate, repeat, role, status, output,
      input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, queue_ms,
      backoff_ms, attempts, error_kind, served_model, request_id, simulated, started_at, finished_at)
    VALUES (?, ?, ?, 0, 'candidate', ?, ?, ?, 0, ?, 0, ?, ?, ?, 0, 0, 1, ?, ?, ?, 0, '', '')`);
  const insScore = db.prepare('INSERT INTO scores (call_id, scorer, value, passed) VALUES (?, ?, ?, ?)');
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `r${i}`;
      const tags = `{"task":"${TASKS[i % 3]}","tenant":"${TENANTS[i % 4]}"}`;
      insRecord.run(
        runId,
        id,
        i,
        'chat',
        tags,
        `{"id":"${id}","api":"chat","tags":${tags},"request":{"messages":[]}}`,
      );
      const passA = rand() < 0.86;
      // B copies A's verdict 85% of the time and is otherwise an independent draw at the same rate:
      // no true difference, a realistic discordant share.
      const passB = rand() < 0.85 ? passA : rand() < 0.86;
      for (const [cand, pass] of [
        ['a', passA],
        ['b', passB],
      ] as const) {
        const err = rand() < 0.005;
        const input = 200 + Math.floor(rand() * 800);
        const output = 5 + Math.floor(rand() * 60);
        const latency = 150 * Math.exp(0.4 * (rand() + rand() + rand() - 1.5));
        const info = insCall.run(
          runId,
          id,
          cand,
          err ? 'error' : 'ok',
          err ? null : pass ? 'billing' : 'bug',
          err ? null : input,
          err ? null : output,
          err ? null : (input * 0.75 + output * 4.5) / 1e6,
          err ? null : latency,
          err ? null : latency * 0.3,
          err ? 'server_error' : null,
          err ? null : `bench-${cand}-2026-03-17`,
          err ? null : `req_${cand}${i}`,
        );
        if (!err) insScore.run(info.lastInsertRowid, 'label', pass ? 1 : 0, pass ? 1 : 0);
      }
    }
  });
  for (let i = 0; i < records; i += 10_000) batch(i, Math.min(records, i + 10_000));
  store.setRunStatus(runId, 'finished', new Date().toISOString());
  store.close();
  return { runId, records };
}
