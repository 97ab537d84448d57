import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectionSources, readPool } from '../../datasets/pool.js';
import { drawSample, writeSample } from '../../datasets/sample.js';
import {
  assembleFrame,
  type ProjectionSources,
  projectArms,
  type UnitRecord,
} from '../../results/report/projection.js';
import { buildReport } from '../../results/report/report.js';
import { renderReport } from '../../results/render/report-text.js';
import { projectionHtml } from '../../results/render/projection-render.js';
import { normalQuantile, studentTQuantile } from '../../results/stats/stats.js';
import { Store } from '../../results/store/store.js';
import { runImport, fixture, readJsonl } from '../datasets/import/helpers.js';
import { call, newRun, score } from './report-helpers.js';

// The expected figures are recomputed in each test by a direct transcription of SEQUENTIAL.md §2
// (loops over the strata written out here, not the estimators under test), or worked by hand in the
// comments.

const none: ProjectionSources = {
  manifest: null,
  pool: null,
  importSpan: null,
  volume: null,
  postStratify: null,
};

function manifest(stratify: string | null, composition: [string, number, number][], over = {}) {
  return {
    stratify,
    composition: composition.map(([stratum, source_n, sample_n]) => ({ stratum, source_n, sample_n })),
    window: null,
    dedup: { enabled: true, removed: 0 },
    ...over,
  };
}

const rec = (task: string | undefined, x = Number.NaN): UnitRecord => ({ tags: task ? { task } : {}, x });

describe('the frame', () => {
  it('takes N_h from the sample manifest, with its FPC, and the volume from its span', () => {
    const f = assembleFrame(
      {
        ...none,
        manifest: manifest(
          'task',
          [
            ['a', 600, 3],
            ['b', 400, 2],
          ],
          { span: { first: '2026-01-01T00:00:00Z', last: '2026-01-08T00:00:00Z', records: 1000 } },
        ),
      },
      [rec('a'), rec('a'), rec('a'), rec('b'), rec('b')],
    );
    expect(f.source).toBe('sample manifest');
    expect(f.fpc).toBe(true);
    expect(f.strata).toEqual([
      { key: 'a', N: 600, share: 0.6, sampled: 3 },
      { key: 'b', N: 400, share: 0.4, sampled: 2 },
    ]);
    // 1000 requests over 7 days → 1000 × 30.4375/7 = 4348.214… per month.
    expect(f.volume!.perMonth).toBeCloseTo((1000 * 30.4375) / 7, 9);
  });

  it('uses the window bounds for the span when the sample had one', () => {
    const f = assembleFrame(
      {
        ...none,
        manifest: manifest('task', [['a', 10, 1]], {
          window: { since: '2026-01-01T00:00:00Z', until: '2026-01-11T00:00:00Z' },
          span: { first: '2026-01-02T00:00:00Z', last: '2026-01-03T00:00:00Z', records: 100 },
        }),
      },
      [rec('a')],
    );
    // 100 requests over the 10-day window: 304.375 per month.
    expect(f.volume!.perMonth).toBeCloseTo(304.375, 9);
  });

  it('post-stratifies a simple random sample on pool counts, and refuses what it cannot weigh', () => {
    const pool = {
      path: 'pool.jsonl',
      records: 30,
      timestamped: 30,
      first: Date.parse('2026-01-01T00:00:00Z'),
      last: Date.parse('2026-01-03T00:00:00Z'),
      tag: 'task',
      counts: { a: 20, b: 10 },
      inputTokens: { records: 30, total: 3000 },
    };
    const records = [rec('a'), rec('b'), rec('c')];
    const f = assembleFrame({ ...none, pool, postStratify: 'task' }, records);
    expect(f.source).toBe('post-stratification');
    expect(f.fpc).toBe(false);
    expect(f.strata.map((s) => [s.key, s.N])).toEqual([
      ['a', 20],
      ['b', 10],
    ]);
    expect(f.outsideFrame).toEqual({ records: 1, values: ['c'] });
    // 30 requests over 2 days: 30 × 30.4375/2 = 456.5625 per month; tokens known for all: 100/request.
    expect(f.volume!.perMonth).toBeCloseTo(456.5625, 9);
    expect(f.auxiliary!.perRequest).toBe(100);

    expect(() => assembleFrame({ ...none, pool, postStratify: 'tenant' }, records)).toThrow(
      /no record of the run has a tag 'tenant'/,
    );
    expect(() => assembleFrame({ ...none, postStratify: 'task' }, records)).toThrow(/give --volume-from/);
    expect(() =>
      assembleFrame(
        { ...none, pool, postStratify: 'task', manifest: manifest('tenant', [['x', 5, 1]]) },
        records,
      ),
    ).toThrow(/stratified by 'tenant'/);
    expect(() =>
      assembleFrame({ ...none, pool: { ...pool, timestamped: 0, first: null, last: null } }, records),
    ).toThrow(/no record has a timestamp/);
    expect(() => assembleFrame({ ...none, volume: 0 }, records)).toThrow(
      /--volume must be a positive number/,
    );
    // --volume wins over the pool's span.
    expect(assembleFrame({ ...none, pool, volume: 1e6 }, records).volume!.perMonth).toBe(1e6);
  });

  it('without a manifest or pool, is one stratum of the run itself, per 1K requests', () => {
    const f = assembleFrame(none, [rec('a'), rec(undefined)]);
    expect(f.strata).toEqual([{ key: '(all)', N: 2, share: 1, sampled: 2 }]);
    expect(f.volume).toBeNull();
  });
});

/** v, Satterthwaite df and the t interval of Σ W_h ȳ_h, written out for the tests. */
function byHand(strata: { N: number; y: number[] }[], fpc: boolean, scale = 1) {
  const N = strata.reduce((t, s) => t + s.N, 0);
  let mean = 0;
  let v = 0;
  let den = 0;
  for (const s of strata) {
    const n = s.y.length;
    const m = s.y.reduce((a, b) => a + b, 0) / n;
    const s2 = s.y.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
    const W = s.N / N;
    const g = (W * W * (fpc ? 1 - n / s.N : 1) * s2) / n;
    mean += W * m;
    v += g;
    den += (g * g) / (n - 1);
  }
  const df = (v * v) / den;
  const half = studentTQuantile(0.975, df) * Math.sqrt(v);
  return {
    mean: mean * scale,
    v: v * scale * scale,
    df,
    lo: (mean - half) * scale,
    hi: (mean + half) * scale,
  };
}

describe('projectArms', () => {
  // Two strata: a (N 600) with prompts 0–3, b (N 400) with prompts 4–7. Manifest frame (FPC on),
  // 10,000 requests a month.
  const frame = assembleFrame(
    {
      ...none,
      volume: 10_000,
      manifest: manifest('task', [
        ['a', 600, 4],
        ['b', 400, 4],
      ]),
    },
    ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'].map((t) => rec(t)),
  );
  const records = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'].map((t) => rec(t));
  const A = {
    name: 'big',
    kind: 'candidate' as const,
    cost: [0.02, 0.03, 0.025, 0.02, 0.05, 0.06, 0.055, 0.05],
    pass: [1, 1, 1, 0, 1, 1, 0, 1],
    score: [1, 0.9, 1, 0.2, 1, 1, 0.1, 0.8],
  };
  const B = {
    name: 'small',
    kind: 'candidate' as const,
    cost: [0.002, 0.003, 0.0025, 0.002, 0.005, 0.006, Number.NaN, 0.004],
    pass: [1, 0, 1, 0, 1, 0, 0, 1],
    score: [1, 0.3, 1, 0.2, 1, 0.4, 0.1, 0.8],
  };
  const p = projectArms(frame, records, [A, B], [[0, 1]]);

  it('projects the monthly cost as V·ȳ_st with V²·v and no FPC', () => {
    const want = byHand(
      [
        { N: 600, y: A.cost.slice(0, 4) },
        { N: 400, y: A.cost.slice(4) },
      ],
      false,
      10_000,
    );
    const c = p.arms[0]!.cost!;
    expect(p.per).toBe('month');
    expect(c.estimate).toBeCloseTo(want.mean, 9);
    expect(c.v).toBeCloseTo(want.v, 9);
    expect(c.lo).toBeCloseTo(want.lo, 8);
    expect(c.hi).toBeCloseTo(want.hi, 8);
  });

  it('projects the pass rate with Wilson at n_eff (FPC of the frame)', () => {
    // p = .6·(3/4) + .4·(3/4) = 0.75; s² = 0.25 in each stratum;
    // v = .36·(1 − 4/600)·.25/4 + .16·(1 − 4/400)·.25/4; n_eff = p(1 − p)/v.
    const v = (0.36 * (1 - 4 / 600) * 0.25) / 4 + (0.16 * (1 - 4 / 400) * 0.25) / 4;
    const nEff = (0.75 * 0.25) / v;
    const z = normalQuantile(0.975);
    const centre = (0.75 + (z * z) / (2 * nEff)) / (1 + (z * z) / nEff);
    const half = (z / (1 + (z * z) / nEff)) * Math.sqrt((0.75 * 0.25) / nEff + (z * z) / (4 * nEff * nEff));
    const r = p.arms[0]!.passRate;
    expect(r.estimate).toBeCloseTo(0.75, 12);
    expect(r.nEff).toBeCloseTo(nEff, 9);
    expect(r.lo).toBeCloseTo(centre - half, 10);
    expect(r.hi).toBeCloseTo(centre + half, 10);
  });

  it('projects paired differences on per-prompt D, leaving out prompts one side lacks', () => {
    // Cost: prompt 6 has no cost for `small`, so stratum b has 3 paired prompts.
    const D = (x: number[], y: number[]) => y.map((v, i) => v - x[i]!);
    const dc = D(A.cost, B.cost);
    const want = byHand(
      [
        { N: 600, y: dc.slice(0, 4) },
        { N: 400, y: [dc[4]!, dc[5]!, dc[7]!] },
      ],
      false,
      10_000,
    );
    const d = p.differences[0]!;
    expect([d.baseline, d.candidate]).toEqual(['big', 'small']);
    expect(d.cost!.estimate).toBeCloseTo(want.mean, 9);
    expect(d.cost!.lo).toBeCloseTo(want.lo, 8);
    expect(d.cost!.hi).toBeCloseTo(want.hi, 8);
    const dp = D(A.pass, B.pass);
    const pass = byHand(
      [
        { N: 600, y: dp.slice(0, 4) },
        { N: 400, y: dp.slice(4) },
      ],
      true,
    );
    expect(d.passRate.estimate).toBeCloseTo(pass.mean, 12);
    expect(d.passRate.lo).toBeCloseTo(pass.lo, 10);
    expect(d.passRate.hi).toBeCloseTo(pass.hi, 10);
  });

  it('reports an uncovered stratum with its share and renders the section', () => {
    const f = assembleFrame(
      {
        ...none,
        manifest: manifest('task', [
          ['a', 600, 4],
          ['b', 300, 4],
          ['c', 100, 1],
        ]),
      },
      records,
    );
    const q = projectArms(f, records, [A], []);
    expect(q.arms[0]!.passRate.uncovered).toEqual([{ key: 'c', share: 0.1 }]);
    expect(q.notes.join('\n')).toMatch(/Uncovered strata.*c \(10\.0%\)/);
    expect(q.per).toBe('1k requests');
    expect(f.dedupRemoved).toBeUndefined();
    expect(q.notes.join('\n')).not.toMatch(/duplicate prompts/);
    const html = projectionHtml({ ...q, arms: [{ ...q.arms[0]!, name: '<b>x</b>' }] });
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('<section id="projection">');
  });
});

describe('a sample that dropped duplicates', () => {
  it('says that the stratum shares are of distinct prompts while the volume counts every request', () => {
    const f = assembleFrame(
      { ...none, manifest: manifest('task', [['a', 90, 3]], { dedup: { enabled: true, removed: 1234 } }) },
      [rec('a'), rec('a'), rec('a')],
    );
    expect(f.dedupRemoved).toBe(1234);
    const q = projectArms(f, [rec('a'), rec('a'), rec('a')], [], []);
    expect(q.notes.join('\n')).toMatch(
      /dropped 1,234 duplicate prompts before drawing: stratum shares are of distinct prompts/,
    );
    // With deduplication off, or a frame not from the manifest, there is nothing to say.
    const off = assembleFrame(
      { ...none, manifest: manifest('task', [['a', 90, 3]], { dedup: { enabled: false, removed: 0 } }) },
      [rec('a')],
    );
    expect(off.dedupRemoved).toBeUndefined();
  });
});

describe('report --project on a stored run', () => {
  let store: Store;
  afterEach(() => store?.close());

  it('adds the projection to the report model and every format', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 4, [
      ['alpha', 'm1'],
      ['beta', 'm2'],
    ]);
    const body = (id: string, task: string, tokens: number) =>
      JSON.stringify({
        id,
        tags: { task },
        request: { messages: [] },
        production: { body: { usage: { prompt_tokens: tokens } } },
      });
    store.insertRecords(
      runId,
      [
        ['r1', 'a', 100],
        ['r2', 'a', 200],
        ['r3', 'b', 300],
        ['r4', 'b', 500],
      ].map(([id, task, t]) => ({
        id: id as string,
        api: 'chat',
        tags: { task: task as string },
        json: body(id as string, task as string, t as number),
      })),
      0,
    );
    const costs: Record<string, number[]> = {
      alpha: [0.01, 0.02, 0.03, 0.05],
      beta: [0.001, 0.002, 0.003, 0.005],
    };
    const passes: Record<string, boolean[]> = {
      alpha: [true, true, true, false],
      beta: [true, false, true, false],
    };
    for (const c of ['alpha', 'beta']) {
      ['r1', 'r2', 'r3', 'r4'].forEach((r, i) => {
        store.recordCall(call(runId, { recordId: r, candidate: c, costUsd: costs[c]![i]! }), [
          score('s', passes[c]![i]! ? 1 : 0, passes[c]![i]!),
        ]);
      });
    }
    const sources: ProjectionSources = {
      ...none,
      manifest: manifest('task', [
        ['a', 700, 2],
        ['b', 300, 2],
      ]),
      volume: 1000,
    };
    const report = buildReport(store, runId, { baseline: 'alpha', projection: sources });
    const proj = report.projection!;
    expect(proj.arms.map((a) => a.name)).toEqual(['alpha', 'beta']);
    // alpha's monthly cost: 1000·(.7·0.015 + .3·0.04) = 22.5.
    expect(proj.arms[0]!.cost!.estimate).toBeCloseTo(22.5, 9);
    expect(proj.arms[0]!.costMethod).toBe('stratified-t');
    expect(proj.differences[0]!.candidate).toBe('beta');
    for (const format of ['table', 'md', 'html'] as const) {
      expect(renderReport(report, format)).toContain('Projection to production volume');
    }
    expect(JSON.parse(renderReport(report, 'json')).projection.arms[1].name).toBe('beta');

    // With every pool request's tokens logged, cost is the ratio estimator: 1000·X̄·ȳ_st/x̄_st.
    const pool = {
      path: 'pool.jsonl',
      records: 10,
      timestamped: 10,
      first: 0,
      last: 86_400_000,
      tag: 'task',
      counts: { a: 7, b: 3 },
      inputTokens: { records: 10, total: 2500 },
    };
    const withTokens = buildReport(store, runId, { projection: { ...sources, pool } }).projection!;
    // x̄_st = .7·150 + .3·400 = 225; ȳ_st = 0.0225; X̄ = 250 → 1000·250·0.0225/225 = 25.
    expect(withTokens.arms[0]!.costMethod).toBe('known-auxiliary-ratio');
    expect(withTokens.arms[0]!.cost!.estimate).toBeCloseTo(25, 9);
  });
});

describe('the edges: pool, sample span, import span', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdout-projection-'));
  const line = (id: string, task: string | null, ts: string | null, tokens?: number) =>
    JSON.stringify({
      id,
      ...(ts ? { timestamp: ts } : {}),
      tags: task ? { task } : {},
      request: { messages: [{ role: 'user', content: id }] },
      ...(tokens !== undefined ? { production: { body: { usage: { prompt_tokens: tokens } } } } : {}),
    });

  it('counts a pool: records, timestamps, tag values, logged tokens', async () => {
    const path = join(dir, 'pool.jsonl');
    writeFileSync(
      path,
      [
        line('1', 'a', '2026-01-01T00:00:00Z', 10),
        line('2', 'a', '2026-01-03T00:00:00Z', 20),
        line('3', null, null, 30),
      ].join('\n'),
    );
    const p = await readPool(path, 'task');
    expect(p).toMatchObject({ records: 3, timestamped: 2, counts: { a: 2, '(none)': 1 } });
    expect(p.inputTokens).toEqual({ records: 3, total: 60 });
    expect(p.last! - p.first!).toBe(2 * 86_400_000);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, line('1', 'a', 'yesterday'));
    await expect(readPool(bad, null)).rejects.toThrow(/bad\.jsonl:1: timestamp "yesterday" is not ISO 8601/);
  });

  it('`holdout sample` records the span of the traffic it read', async () => {
    const src = join(dir, 'src.jsonl');
    writeFileSync(
      src,
      [
        line('1', 'a', '2026-01-02T00:00:00Z'),
        line('2', 'b', '2026-01-01T00:00:00Z'),
        line('3', 'b', null),
        line('4', 'a', '2026-01-05T12:00:00Z'),
      ].join('\n'),
    );
    const out = join(dir, 'sample.jsonl');
    const drawn = await drawSample([src], { size: 2, seed: 1, stratify: 'task' });
    expect(drawn.manifest.span).toEqual({
      first: '2026-01-01T00:00:00.000Z',
      last: '2026-01-05T12:00:00.000Z',
      records: 3,
    });
    writeSample(out, drawn, { isoNow: () => '2026-02-01T00:00:00.000Z' });
    const s = await projectionSources({ configJson: '{}', datasetPath: out }, {});
    expect(s.manifest?.stratify).toBe('task');
    // 3 requests over 4.5 days.
    expect(assembleFrame(s, [rec('a')]).volume!.perMonth).toBeCloseTo((3 * 30.4375) / 4.5, 9);
  });

  it('`holdout import` records the span of the logs in its manifest', async () => {
    const out = join(dir, 'imported.jsonl');
    await runImport({ format: 'chat-log', paths: [fixture('chat-log.jsonl')], out });
    const m = JSON.parse(readFileSync(`${out}.import.json`, 'utf8'));
    const times = readJsonl(out)
      .map((r: { timestamp?: string }) => r.timestamp)
      .filter((t: string | undefined): t is string => t !== undefined)
      .map((t: string) => Date.parse(t));
    expect(times.length).toBeGreaterThan(0);
    expect(m.span).toEqual({
      first: new Date(Math.min(...times)).toISOString(),
      last: new Date(Math.max(...times)).toISOString(),
      records: times.length,
    });
  });
});
