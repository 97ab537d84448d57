/**
 * The viewer's benchmark (not run by the tests): a database of 100,000 records × 3 candidates
 * (prompts of about 1.2 KB, one score per call, 0.5% errors), then the server time (the
 * Server-Timing header: query and rendering, no network) of the records page under each filter,
 * and of the other pages. Median of --reps requests after a first one, whose server time is shown
 * apart: the run and compare pages are built on the first request and then kept (results/view/cache.ts),
 * and so is a run's records index (results/view/queries.ts, RecordIndex: on the first request filtering
 * by outcome, flips or tags, or sorting by a candidate's figure) and its text index (the first text
 * search of at least three characters), which is why a few "first" figures are seconds.
 *
 *   npm run build && node dist/bench/view.js [--records 100000] [--reps 5] [--db file] [--keep]
 *                                            [--without-view-indexes]
 *
 * --without-view-indexes drops the index of schema v6 (calls_errors) first, to measure what it is worth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../results/stats/paired.js';
import { Store } from '../results/store/store.js';
import { startViewServer } from '../results/view/server.js';

const CANDIDATES = ['nano', 'mini', 'frontier'];
const QUALITY = [0.72, 0.86, 0.95];
const TASKS = ['classify', 'extract', 'reformat'];
const TENANTS = ['acme', 'quill', 'bluefin', 'pine', 'north', 'delta', 'echo', 'zulu'];
const LABELS = ['billing', 'bug', 'feature_request', 'account', 'shipping', 'other'];
const SYSTEM =
  'You are the ticket triage assistant for a shared customer-support desk. Read the whole ticket, decide ' +
  'which queue has to act on it, and reply with exactly one label from: billing, bug, feature_request, ' +
  'account, shipping, other. Reply with the label only: lowercase, no punctuation, no explanation. '.repeat(
    4,
  );
const WORDS =
  'order parcel refund invoice login password crash export app card charge delivery plan team'.split(' ');

function writeRun(path: string, records: number): number {
  const store = new Store(path);
  const db = store.db;
  const runId = store.createRun(
    {
      suite: 'bench-view',
      configJson: '{}',
      configHash: `bench-view-${records}`,
      datasetPath: 'generated',
      datasetHash: 'generated',
      recordCount: records,
      repeats: 1,
      scorersJson: JSON.stringify([{ kind: 'label' }, { kind: 'json', name: 'json_fields' }]),
      createdAt: new Date().toISOString(),
    },
    CANDIDATES.map((c) => ({
      candidate: c,
      model: `sim-${c}`,
      api: 'chat',
      paramsJson: '{}',
      priceJson: '{}',
    })),
  );
  const rand = mulberry32(11);
  const insRecord = db.prepare(
    'INSERT INTO records (run_id, record_id, seq, api, tags_json, body_json) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insCall = db.prepare(`INSERT INTO calls (run_id, record_id, candidate, repeat, role, status, output,
      input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, queue_ms,
      backoff_ms, attempts, error_kind, served_model, request_id, simulated, started_at, finished_at)
    VALUES (?, ?, ?, 0, 'candidate', ?, ?, ?, 0, ?, 0, ?, ?, ?, 0, 0, 1, ?, ?, ?, 1, '', '')`);
  const insScore = db.prepare(
    'INSERT INTO scores (call_id, scorer, value, passed, detail) VALUES (?, ?, ?, ?, ?)',
  );
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `tkt-${String(i).padStart(6, '0')}`;
      const task = TASKS[i % 3]!;
      const tags = { task, tenant: TENANTS[i % TENANTS.length]!, difficulty: rand() < 0.3 ? 'hard' : 'easy' };
      const words = Array.from({ length: 40 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
      const rare = i % 997 === 0 ? ' chargeback dispute' : '';
      const label = LABELS[Math.floor(rand() * LABELS.length)]!;
      const body = {
        id,
        api: 'chat',
        tags,
        request: {
          model: 'gpt-5.4-mini',
          messages: [
            { role: 'system', content: SYSTEM },
            { role: 'user', content: `Ticket ${i}: ${words}${rare}` },
          ],
          max_completion_tokens: 20,
        },
        reference: { label },
      };
      insRecord.run(runId, id, i, 'chat', JSON.stringify(tags), JSON.stringify(body));
      const difficulty = rand();
      CANDIDATES.forEach((cand, k) => {
        const err = rand() < 0.005;
        const pass = difficulty < QUALITY[k]!;
        const latency = [120, 220, 450][k]! * Math.exp(0.3 * (rand() + rand() + rand() - 1.5));
        const info = insCall.run(
          runId,
          id,
          cand,
          err ? 'error' : 'ok',
          err ? null : pass ? label : 'other',
          err ? null : 400,
          err ? null : 3,
          err ? null : [0.00008, 0.0003, 0.0035][k]! * (0.8 + 0.4 * rand()),
          err ? null : latency,
          err ? null : latency * 0.3,
          err ? (rand() < 0.5 ? 'rate_limit' : 'server_error') : null,
          err ? null : `sim-${cand}`,
          err ? null : `req_${cand}_${i}`,
        );
        if (!err) {
          const scorer = task === 'extract' ? 'json_fields' : 'label';
          insScore.run(
            info.lastInsertRowid,
            scorer,
            pass ? 1 : 0,
            pass ? 1 : 0,
            pass ? null : `expected ${label}`,
          );
        }
      });
    }
  });
  for (let i = 0; i < records; i += 10_000) batch(i, Math.min(records, i + 10_000));
  store.setRunStatus(runId, 'finished', new Date().toISOString());
  store.close();
  return runId;
}

async function serverMs(url: string): Promise<{ ms: number; status: number }> {
  const res = await fetch(url, { redirect: 'manual' });
  await res.arrayBuffer();
  const m = /dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
  return { ms: m ? Number(m[1]) : Number.NaN, status: res.status };
}

/** The 50th record link of the filtered list (as a click from page 1 opens it, position included). */
async function fromList(base: string): Promise<string> {
  const html = await (await fetch(`${base}/records?pass=frontier&fail=mini`)).text();
  const links = [...html.matchAll(/<a href="([^"]+)" class="record">/g)].map((m) =>
    m[1]!.replaceAll('&amp;', '&'),
  );
  return new URL(links.at(-1)!, base).href;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '100000' },
      reps: { type: 'string', default: '5' },
      db: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'without-view-indexes': { type: 'boolean', default: false },
    },
  });
  const records = Number(values.records);
  const reps = Number(values.reps);
  const dir = values.db ? null : mkdtempSync(join(tmpdir(), 'holdout-bench-view-'));
  const path = values.db ?? join(dir!, 'view.db');
  const t = performance.now();
  const fresh = new Store(path);
  const existing = fresh.latestRun('bench-view');
  fresh.close();
  const runId = existing && existing.record_count === records ? existing.id : writeRun(path, records);
  if (!existing)
    console.log(
      `wrote ${records} records × ${CANDIDATES.length} candidates in ${((performance.now() - t) / 1000).toFixed(1)} s: ${path}`,
    );
  const store = new Store(path);
  if (values['without-view-indexes']) {
    store.db.exec('DROP INDEX IF EXISTS calls_errors');
  } else {
    // As schema v6 creates it (a reused --db may have had it dropped by an earlier run).
    store.db.exec(`CREATE INDEX IF NOT EXISTS calls_errors ON calls (run_id, error_kind, record_id)
      WHERE status = 'error'`);
  }
  store.db.exec('DROP INDEX IF EXISTS scores_outcome'); // an experiment of an earlier version
  store.db.exec('ANALYZE');
  const server = await startViewServer(store);
  const base = `${server.url}runs/${runId}`;
  const cases: [string, string][] = [
    ['records, no filter', '/records'],
    ['records, page 1000 (offset 49,950)', '/records?page=1000'],
    ['tag=task:extract', '/records?tag=task:extract'],
    ['tag=task:extract&tag=tenant:acme', '/records?tag=task:extract&tag=tenant:acme'],
    ['pass=frontier', '/records?pass=frontier'],
    ['pass=frontier&fail=mini', '/records?pass=frontier&fail=mini'],
    ['fail=nano&fail=mini&fail=frontier', '/records?fail=nano&fail=mini&fail=frontier'],
    ['error=rate_limit', '/records?error=rate_limit'],
    ['error=* (any)', '/records?error=*'],
    ['scorer=json_fields', '/records?scorer=json_fields'],
    ['flips=mini,frontier', '/records?flips=mini,frontier'],
    ['q=chargeback (rare)', '/records?q=chargeback'],
    ['q=refund (common)', '/records?q=refund'],
    ['sort=latency:frontier desc', '/records?sort=latency:frontier&dir=desc'],
    ['sort=cost:mini', '/records?sort=cost:mini'],
    [
      'pass=frontier&fail=mini sort=latency:mini',
      '/records?pass=frontier&fail=mini&sort=latency:mini&dir=desc',
    ],
    ['record page, no filter', '/records/tkt-050000?i=50000'],
    ['record page in pass=frontier&fail=mini, i given', 'FIRST_FILTERED'],
    ['record page in pass=frontier&fail=mini, no i', '/records/tkt-050000?pass=frontier&fail=mini'],
    ['run page (buildReport)', ''],
    ['run page ?by=task', '?by=task'],
    ['compare mini vs frontier', '/compare?a=mini&b=frontier'],
    ['runs list /', 'ROOT'],
  ];
  console.log(
    `server time, median of ${reps} (ms), ${records.toLocaleString('en-US')} records × 3 candidates`,
  );
  for (const [label, suffix] of cases) {
    const url =
      suffix === 'ROOT'
        ? server.url
        : suffix === 'FIRST_FILTERED'
          ? await fromList(base)
          : `${base}${suffix}`;
    const first = await serverMs(url);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push((await serverMs(url)).ms);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(
      `${label.padEnd(46)} ${median.toFixed(1).padStart(8)}   (first ${first.ms.toFixed(0)} ms, HTTP ${first.status})`,
    );
  }
  await server.close();
  store.close();
  if (dir && !values.keep) rmSync(dir, { recursive: true, force: true });
}

await main();
