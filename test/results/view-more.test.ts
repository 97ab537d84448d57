/**
 * `holdout view` additions, through HTTP: the record page's word diff (against the reference or
 * another candidate, bounded), the runs page's per-suite trend lines, and the compare page's prompt
 * and reference excerpts in each flip row; untrusted text escaped throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordDiff } from '../../results/view/record-page.js';
import { startViewServer, type ViewServer } from '../../results/view/server.js';
import { Store } from '../../results/store/store.js';
import { fakeClock } from '../support/fakes.js';
import { PAYLOADS } from './report-helpers.js';
import { http, rid, viewRun } from './view-fixture.js';

let store: Store;
let server: ViewServer;
let runId: number;
let base: string;

/** Replaces a stored record's reference. */
function setReference(s: Store, run: number, recordId: string, reference: unknown): void {
  const json = s.db
    .prepare('SELECT body_json FROM records WHERE run_id = ? AND record_id = ?')
    .pluck()
    .get(run, recordId) as string;
  const body = { ...(JSON.parse(json) as Record<string, unknown>), reference };
  s.db
    .prepare('UPDATE records SET body_json = ? WHERE run_id = ? AND record_id = ?')
    .run(JSON.stringify(body), run, recordId);
}

beforeAll(async () => {
  store = new Store(':memory:');
  runId = viewRun(store, { records: 12 }).runId;
  viewRun(store, { records: 3 }); // a second run of the suite
  setReference(store, runId, rid(0), { output: 'mini said answer 0' });
  setReference(store, runId, rid(1), { json: { label: 'billing', n: 1 } });
  setReference(store, runId, rid(9), { output: 'word '.repeat(1500) });
  server = await startViewServer(store, { clock: fakeClock() });
  base = server.url.replace(/\/$/, '');
});

afterAll(async () => {
  await server.close();
  store.close();
});

const get = (path: string) => http(`${base}${path}`);
const column = (html: string, cand: string) => {
  const at = html.indexOf(`<div class="column" data-candidate="${cand}">`);
  expect(at).toBeGreaterThan(0);
  const end = html.indexOf('<div class="column"', at + 1);
  return html.slice(at, end < 0 ? undefined : end);
};

describe('word diff', () => {
  it('marks deleted and inserted words by an LCS over tokens, and gives up past the bound', () => {
    expect(wordDiff('the cat sat', 'the dog sat')).toEqual([
      { op: 'same', text: 'the ' },
      { op: 'del', text: 'cat' },
      { op: 'ins', text: 'dog' },
      { op: 'same', text: ' sat' },
    ]);
    expect(wordDiff('a b', 'a b')).toEqual([{ op: 'same', text: 'a b' }]);
    expect(wordDiff('', 'x')).toEqual([{ op: 'ins', text: 'x' }]);
    expect(wordDiff('x '.repeat(1001), 'x')).toBeNull(); // 2,002 tokens
    expect(wordDiff('x '.repeat(1000), 'x')).not.toBeNull();
  });
});

describe('record page: diff', () => {
  it('diffs each output against the reference output by default, with the select', async () => {
    const res = await get(`/runs/${runId}/records/${rid(0)}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<select name="diff"><option value="" selected="selected">reference</option>');
    expect(res.body).toContain(
      '<option value="mini">mini</option><option value="frontier">frontier</option>',
    );
    const mini = column(res.body, 'mini');
    expect(mini).toContain('diff against the reference');
    expect(mini).toContain('mini <del>said </del>answer 0');
    expect(column(res.body, 'frontier')).toContain('<del>mini said</del><ins>frontier</ins> answer 0');
  });

  it('diffs against the JSON of reference.json; notes a reference with neither', async () => {
    const json = await get(`/runs/${runId}/records/${rid(1)}`);
    expect(column(json.body, 'mini')).toContain(
      '<del>{&quot;label&quot;:&quot;billing&quot;,&quot;n&quot;:</del><ins>mini answer </ins>1<del>}</del>',
    );
    const label = await get(`/runs/${runId}/records/${rid(2)}`);
    expect(label.body).toContain('No diff: the reference has no output or JSON to compare with.');
  });

  it('diffs against another candidate with ?diff=, carrying the filter in the form', async () => {
    const res = await get(`/runs/${runId}/records/${rid(6)}?diff=mini&fail=mini&i=2`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<option value="mini" selected="selected">mini</option>');
    expect(res.body).toContain('<input type="hidden" name="fail" value="mini"/>');
    expect(res.body).toContain('<input type="hidden" name="i" value="2"/>');
    expect(column(res.body, 'frontier')).toContain(
      '<del>mini</del><ins>frontier</ins> answer 6<ins> zebra</ins>',
    );
    expect(column(res.body, 'mini')).toContain('This is the output the others are diffed against.');
    // frontier errored on r008: nothing to diff mini's output against.
    const err = await get(`/runs/${runId}/records/${rid(8)}?diff=frontier`);
    expect(column(err.body, 'mini')).toContain('No diff: frontier has no text output for this record.');
    expect((await get(`/runs/${runId}/records/${rid(6)}?diff=nobody`)).status).toBe(400);
  });

  it('skips the diff when a side is long', async () => {
    const res = await get(`/runs/${runId}/records/${rid(9)}`);
    expect(res.body).toContain('Diff skipped: the texts are long (more than 2,000 tokens on a side).');
    expect(res.body).not.toContain('<pre class="text diff"');
  });
});

describe('runs page: trend lines', () => {
  it('shows each candidate’s pass rate per run, oldest first, under a suite with 2+ runs', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<div class="trend" data-suite="view-suite">');
    expect(res.body).toContain('<li data-candidate="mini">mini 70.0% → 66.7%</li>');
    expect(res.body).toContain('<li data-candidate="frontier">frontier 72.7% → 66.7%</li>');
  });

  it('shows none for a suite with one run', async () => {
    const s = new Store(':memory:');
    viewRun(s, { records: 3 });
    const srv = await startViewServer(s);
    try {
      const res = await http(srv.url);
      expect(res.status).toBe(200);
      expect(res.body).not.toContain('class="trend"');
    } finally {
      await srv.close();
      s.close();
    }
  });
});

describe('compare page: flip context', () => {
  it('shows the last user turn and the reference of each flip', async () => {
    const res = await get(`/runs/${runId}/compare?a=mini&b=frontier`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<th>prompt (last user turn)</th><th>reference</th>');
    expect(res.body).toContain('<td class="excerpt" data-col="prompt">I want a REFUND for order 12</td>');
    expect(res.body).toContain('<td class="excerpt" data-col="reference">label: billing</td>');
    expect(res.body).toContain(
      '<td class="excerpt" data-col="reference">{&quot;label&quot;:&quot;billing&quot;,&quot;n&quot;:1}</td>',
    );
    expect(res.body).toContain('<td class="excerpt" data-col="prompt">ticket number 7</td>');
  });
});

describe('untrusted text', () => {
  it('payloads in names, prompts, references and outputs come out escaped on all three pages', async () => {
    const s = new Store(':memory:');
    const names: [string, string] = [`mini${PAYLOADS[2]}`, `frontier${PAYLOADS[1]}`];
    const evil = viewRun(s, { records: 10, payload: PAYLOADS[0], names });
    viewRun(s, { records: 3, payload: PAYLOADS[0], names });
    const rec = `${PAYLOADS[0]}${rid(1)}`;
    setReference(s, evil.runId, rec, { output: `ref ${PAYLOADS[1]} ${PAYLOADS[2]}` });
    const long = `${'x'.repeat(500)}${PAYLOADS[0]}`;
    setReference(s, evil.runId, `${PAYLOADS[0]}${rid(2)}`, { output: long });
    const srv = await startViewServer(s);
    try {
      const b = srv.url.replace(/\/$/, '');
      const pages = [
        '/',
        `/runs/${evil.runId}/records/${encodeURIComponent(rec)}`,
        `/runs/${evil.runId}/records/${encodeURIComponent(rec)}?diff=${encodeURIComponent(names[1])}`,
        `/runs/${evil.runId}/compare?a=${encodeURIComponent(names[0])}&b=${encodeURIComponent(names[1])}`,
      ];
      for (const p of pages) {
        const res = await http(`${b}${p}`);
        expect(res.status, p).toBe(200);
        expect(res.body, p).not.toContain('<script>window');
        expect(res.body, p).not.toContain('<svg onload');
        expect(res.body, p).not.toContain('<img src=x');
      }
      const cmp = await http(`${b}${pages[3]}`);
      // The long reference is cut to ~200 characters.
      expect(cmp.body).toContain(`<td class="excerpt" data-col="reference">${'x'.repeat(199)}…</td>`);
    } finally {
      await srv.close();
      s.close();
    }
  });
});
