import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readSampleManifest } from '../../datasets/manifest.js';
import {
  allocate,
  type DrawnSample,
  drawSample,
  FingerprintSet,
  normalizedPrompt,
  parseInstant,
  type SampleOptions,
  writeSample,
} from '../../datasets/sample.js';
import { splitUnit } from '../../datasets/split.js';
import { mulberry32 } from '../../harness/random.js';
import { runCli, tempDir } from '../support/cli.js';

const clock = { isoNow: () => '2025-06-01T00:00:00.000Z' };

interface Spec {
  id: string;
  prompt?: string;
  tags?: Record<string, string>;
  timestamp?: string;
}

const line = (s: Spec) =>
  JSON.stringify({
    id: s.id,
    ...(s.timestamp ? { timestamp: s.timestamp } : {}),
    tags: s.tags ?? {},
    request: { messages: [{ role: 'user', content: s.prompt ?? `question ${s.id}` }] },
  });

function writeRecords(dir: string, specs: Spec[], name = 'records.jsonl'): string {
  const path = join(dir, name);
  writeFileSync(path, `${specs.map(line).join('\n')}\n`);
  return path;
}

/** Stratum sizes given as { task: count }, records interleaved so no stratum sits in one block. */
function stratified(sizes: Record<string, number>): Spec[] {
  const queues = Object.entries(sizes).map(([task, n]) => ({ task, n, i: 0 }));
  const out: Spec[] = [];
  while (queues.some((q) => q.i < q.n)) {
    for (const q of queues) if (q.i < q.n) out.push({ id: `${q.task}-${q.i++}`, tags: { task: q.task } });
  }
  return out;
}

const ids = (d: DrawnSample) => d.lines.map((l) => (JSON.parse(l) as { id: string }).id);
const byTask = (d: DrawnSample) =>
  Object.fromEntries(d.manifest.composition.map((c) => [c.stratum, c.sample_n]));

describe('sampling', () => {
  it('reproduces byte for byte for the same seed, differs for another, and keeps source order', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 300, b: 200 }));
    const opts: SampleOptions = { size: 40, seed: 11, stratify: 'task' };
    const bytes = async (seed: number, out: string) => {
      writeSample(join(dir, out), await drawSample([src], { ...opts, seed }), clock);
      return [readFileSync(join(dir, out)), readFileSync(join(dir, `${out}.sample.json`), 'utf8')] as const;
    };
    const [a1, m1] = await bytes(11, 'a1.jsonl');
    const [a2, m2] = await bytes(11, 'a2.jsonl');
    const [b1] = await bytes(12, 'b1.jsonl');
    expect(a1.equals(a2)).toBe(true);
    expect(m1).toBe(m2);
    expect(a1.equals(b1)).toBe(false);
    // Source order: positions in the file ascend.
    const order = new Map(
      readFileSync(src, 'utf8')
        .trim()
        .split('\n')
        .map((l, i) => [JSON.parse(l).id, i]),
    );
    const pos = a1
      .toString()
      .trim()
      .split('\n')
      .map((l) => order.get(JSON.parse(l).id)!);
    expect(pos).toEqual([...pos].sort((x, y) => x - y));
  });

  it('proportional allocation holds stratum shares within rounding (worked by hand)', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 600, b: 300, c: 100 }));
    // 100 of 1000: 600/1000·100 = 60, 30, 10 exactly.
    const d = await drawSample([src], { size: 100, seed: 1, stratify: 'task' });
    expect(byTask(d)).toEqual({ a: 60, b: 30, c: 10 });
    expect(d.manifest.composition[0]).toEqual({
      stratum: 'a',
      source_n: 600,
      source_share: 0.6,
      sample_n: 60,
      sample_share: 0.6,
    });
    // 7 of 1000: quotas 4.2, 2.1, 0.7 → floors 4, 2, 0 (6); the one left goes to the largest
    // remainder, c (0.7) → 4, 2, 1.
    expect(byTask(await drawSample([src], { size: 7, seed: 1, stratify: 'task' }))).toEqual({
      a: 4,
      b: 2,
      c: 1,
    });
    // --min-per-stratum 15: c is pinned at 15; 85 shared by a and b in 600:300 → 56.67, 28.33;
    // floors 56 + 28 = 84, the one left to a (.67) → 57, 28, 15.
    const m = await drawSample([src], { size: 100, seed: 1, stratify: 'task', minPerStratum: 15 });
    expect(byTask(m)).toEqual({ a: 57, b: 28, c: 15 });
    const got = ids(m);
    expect(got).toHaveLength(100);
    expect(new Set(got).size).toBe(100);
    expect(got.filter((id) => id.startsWith('c-'))).toHaveLength(15);
  });

  it('equal allocation caps a small stratum and shares what it leaves', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 600, b: 300, c: 20 }));
    // 100 / 3 = 33.3 each, but c has 20: 80 left for a and b → 40 each.
    expect(
      byTask(await drawSample([src], { size: 100, seed: 3, stratify: 'task', allocation: 'equal' })),
    ).toEqual({
      a: 40,
      b: 40,
      c: 20,
    });
    // 99: c 20, then 79 / 2 = 39.5 each; the one left goes to the tie's bigger stratum, a.
    expect(
      byTask(await drawSample([src], { size: 99, seed: 3, stratify: 'task', allocation: 'equal' })),
    ).toEqual({
      a: 40,
      b: 39,
      c: 20,
    });
  });

  it('allocate: bounds, sizes larger than the source, and a minimum that cannot be met', () => {
    const s = (n: number[]) => n.map((x, i) => ({ stratum: `s${i}`, n: x }));
    expect(allocate(s([5, 3]), 100, 'proportional')).toEqual([5, 3]); // everything, not more
    expect(allocate(s([5, 3]), 100, 'equal')).toEqual([5, 3]);
    // A stratum smaller than the minimum gives all it has: [1000, 2] with K=10, size 20 → 18, 2.
    expect(allocate(s([1000, 2]), 20, 'proportional', 10)).toEqual([18, 2]);
    expect(() => allocate(s([100, 100, 100]), 20, 'proportional', 10)).toThrow(
      /--min-per-stratum 10 needs 30 records over 3 strata, more than the 20 to sample/,
    );
    // Sums to the size, for many shapes (an independent invariant).
    const rnd = mulberry32(5);
    for (let t = 0; t < 200; t++) {
      const sizes = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => 1 + Math.floor(rnd() * 50));
      // At least the minimums (2 each, or the stratum's size), so that the allocation exists.
      const size = sizes.reduce((x, n) => x + Math.min(2, n), 0) + Math.floor(rnd() * 120);
      for (const how of ['proportional', 'equal'] as const) {
        const a = allocate(s(sizes), size, how, 2);
        const total = sizes.reduce((x, y) => x + y, 0);
        expect(a.reduce((x, y) => x + y, 0)).toBe(Math.min(size, total));
        a.forEach((n, h) => {
          expect(n).toBeLessThanOrEqual(sizes[h]!);
          expect(n).toBeGreaterThanOrEqual(Math.min(2, sizes[h]!));
        });
      }
    }
  });

  it('records without the tag form the (none) stratum', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, [
      ...stratified({ a: 30 }),
      ...Array.from({ length: 10 }, (_, i) => ({ id: `x${i}` })),
    ]);
    const d = await drawSample([src], { size: 8, seed: 1, stratify: 'task' });
    expect(byTask(d)).toEqual({ a: 6, '(none)': 2 });
  });

  it('the split is stable across seeds and file order, and a conversation never straddles', async () => {
    const dir = tempDir();
    const specs: Spec[] = [];
    for (let c = 0; c < 60; c++)
      for (let t = 0; t < 4; t++) specs.push({ id: `c${c}-t${t}`, tags: { conversation: `conv-${c}` } });
    const shuffled = [...specs];
    const rnd = mulberry32(99);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const a = writeRecords(dir, specs, 'a.jsonl');
    const b = writeRecords(dir, shuffled, 'b.jsonl');
    const split = { fraction: 0.3, key: 'tag:conversation' as const };
    const side = async (path: string, seed: number, s: 'tune' | 'holdout') =>
      new Set(ids(await drawSample([path], { size: 1000, seed, split: { ...split, side: s } })));
    // Expected independently of the sampler: conversations whose salted hash is below 0.3.
    const expectedTune = new Set(
      specs.filter((x) => splitUnit(x.tags!.conversation!) < 0.3).map((x) => x.id),
    );
    expect(expectedTune.size).toBeGreaterThan(0);
    expect(expectedTune.size).toBeLessThan(specs.length);
    expect(await side(a, 1, 'tune')).toEqual(expectedTune);
    expect(await side(b, 2, 'tune')).toEqual(expectedTune);
    const holdout = await side(b, 3, 'holdout');
    expect(holdout.size + expectedTune.size).toBe(specs.length);
    for (const id of holdout) expect(expectedTune.has(id)).toBe(false);
    // With a smaller size, the holdout sample is still drawn only from the holdout side.
    const small = await drawSample([a], { size: 10, seed: 4, split: { ...split, side: 'holdout' } });
    for (const id of ids(small)) expect(holdout.has(id)).toBe(true);
    expect(small.manifest.excluded.other_side).toBe(expectedTune.size);
    expect(small.manifest.split).toEqual({
      fraction: 0.3,
      key: 'tag:conversation',
      side: 'holdout',
      salt: 'holdout-split:',
      missing: 'error',
    });
  });

  it('a record without the split tag stops the sample, naming it', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, [{ id: 'ok', tags: { conversation: 'c' } }, { id: 'lost' }]);
    await expect(
      drawSample([src], {
        size: 5,
        seed: 1,
        split: { fraction: 0.5, key: 'tag:conversation', side: 'holdout' },
      }),
    ).rejects.toThrow(/record "lost" has no tag "conversation"/);
  });

  it('dedups by normalized prompt (whitespace collapsed, case kept), first occurrence wins', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, [
      { id: 'p1', prompt: 'Hello  world' },
      { id: 'p2', prompt: ' Hello\n\tworld ' }, // same after collapsing
      { id: 'p3', prompt: 'hello world' }, // case differs: kept
      { id: 'p4', prompt: 'Hello world' }, // same as p1
      { id: 'p5', prompt: 'Something else' },
    ]);
    const d = await drawSample([src], { size: 10, seed: 1 });
    expect(ids(d)).toEqual(['p1', 'p3', 'p5']);
    expect(d.manifest.dedup).toEqual({ enabled: true, removed: 2 });
    const all = await drawSample([src], { size: 10, seed: 1, dedup: false });
    expect(ids(all)).toHaveLength(5);
    expect(all.manifest.dedup).toEqual({ enabled: false, removed: 0 });
    // The Responses form of a Chat prompt is the same prompt.
    expect(
      normalizedPrompt({
        messages: [
          { role: 'developer', content: 'Be  brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Hi\nthere' }] },
        ],
      }),
    ).toBe(normalizedPrompt({ instructions: 'Be brief.', input: [{ role: 'user', content: 'Hi there' }] }));
  });

  it('FingerprintSet keeps every distinct key through growth', () => {
    const set = new FingerprintSet();
    const rnd = mulberry32(3);
    const keys = Array.from(
      { length: 5000 },
      () => [(rnd() * 2 ** 32) >>> 0, (rnd() * 2 ** 32) >>> 0] as const,
    );
    for (const [h, l] of keys) expect(set.add(h, l)).toBe(true);
    for (const [h, l] of keys) expect(set.add(h, l)).toBe(false);
    expect(set.size).toBe(5000);
    expect(set.add(0, 0)).toBe(true);
    expect(set.add(0, 0)).toBe(false);
  });

  it('filters on a time window and counts records without a timestamp', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, [
      { id: 'before', timestamp: '2025-05-31T23:59:59Z' },
      { id: 'start', timestamp: '2025-06-01T00:00:00Z' }, // since is inclusive
      { id: 'zoned', timestamp: '2025-06-01T01:30:00+02:00' }, // 2025-05-31T23:30Z: before
      { id: 'local', timestamp: '2025-06-01T08:00:00' }, // no zone: read as UTC
      { id: 'none' },
      { id: 'end', timestamp: '2025-06-02T00:00:00Z' }, // until is exclusive
    ]);
    const d = await drawSample([src], { size: 10, seed: 1, since: '2025-06-01', until: '2025-06-02' });
    expect(ids(d)).toEqual(['start', 'local']);
    expect(d.manifest.excluded).toEqual({ no_timestamp: 1, outside_window: 3, duplicate: 0, other_side: 0 });
    expect(d.manifest.window).toEqual({ since: '2025-06-01', until: '2025-06-02' });
    expect(parseInstant('2025-06-01T08:00:00')).toBe(Date.UTC(2025, 5, 1, 8));
    expect(parseInstant('June 1st')).toBeNaN();

    const bad = writeRecords(dir, [{ id: 'x', timestamp: 'yesterday' }], 'bad.jsonl');
    await expect(drawSample([bad], { size: 1, seed: 1, since: '2025-01-01' })).rejects.toThrow(
      /bad\.jsonl:1: timestamp "yesterday" is not ISO 8601/,
    );
    await expect(drawSample([src], { size: 10, seed: 1, since: '2030-01-01' })).rejects.toThrow(
      /no record survives the filters: 6 read, 1 without a timestamp, 5 outside the window/,
    );
  });

  it('reservoir: each record is included with probability size/n (1,000 seeds)', async () => {
    const dir = tempDir();
    const src = writeRecords(
      dir,
      Array.from({ length: 10 }, (_, i) => ({ id: `r${i}` })),
    );
    const hits = new Map<string, number>();
    for (let seed = 0; seed < 1000; seed++) {
      for (const id of ids(await drawSample([src], { size: 3, seed }))) hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    // Expected 300 each; binomial sd = sqrt(1000·0.3·0.7) = 14.5: ±75 is over 5 sd. The seeds are fixed,
    // so this cannot flake; it fails only if inclusion is biased (e.g. towards early records).
    for (let i = 0; i < 10; i++) expect(Math.abs((hits.get(`r${i}`) ?? 0) - 300)).toBeLessThan(75);
  });

  it('a stratum smaller than its reservoir still gives a random subset, not its first records', async () => {
    const dir = tempDir();
    // c has 10 records and gets 1 of 10 (100·10/1000... here 20·10/110 = 1.8 → 2); unshuffled it would
    // always be c-0 and c-1, the oldest.
    const src = writeRecords(dir, stratified({ a: 100, c: 10 }));
    const hits = new Map<string, number>();
    for (let seed = 0; seed < 500; seed++) {
      const d = await drawSample([src], { size: 20, seed, stratify: 'task' });
      expect(byTask(d)).toEqual({ a: 18, c: 2 });
      for (const id of ids(d)) if (id.startsWith('c-')) hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    // Expected 500·2/10 = 100 each; sd = sqrt(500·0.2·0.8) = 8.9: ±45 is over 5 sd.
    for (let i = 0; i < 10; i++) expect(Math.abs((hits.get(`c-${i}`) ?? 0) - 100)).toBeLessThan(45);
  });

  it('refuses a stratify tag with too many values', async () => {
    const dir = tempDir();
    const src = writeRecords(
      dir,
      Array.from({ length: 5 }, (_, i) => ({ id: `u${i}`, tags: { user: `u${i}` } })),
    );
    await expect(drawSample([src], { size: 2, seed: 1, stratify: 'user', maxStrata: 3 })).rejects.toThrow(
      /--stratify user: more than 3 distinct values \(.*records\.jsonl:4\)/,
    );
  });

  it('writes gzip, hashes sources and output, and the manifest reads back', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 5, b: 5 }));
    const out = join(dir, 'sample.jsonl.gz');
    const m = writeSample(out, await drawSample([src, src], { size: 4, seed: 9, stratify: 'task' }), clock);
    const text = gunzipSync(readFileSync(out)).toString();
    expect(text.trim().split('\n')).toHaveLength(4);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(m.sources).toEqual([
      { path: src, sha256: sha(readFileSync(src)), records: 10 },
      { path: src, sha256: sha(readFileSync(src)), records: 10 },
    ]);
    // The same file twice: the second copy is all duplicates.
    expect(m.dedup.removed).toBe(10);
    expect(m.output_sha256).toBe(sha(readFileSync(out)));
    expect(readSampleManifest(out)).toEqual(m);
    expect(readSampleManifest(join(dir, 'nothing.jsonl'))).toBeUndefined();
    // No temp file is left behind.
    expect(readdirSync(dir).sort()).toEqual([
      'records.jsonl',
      'sample.jsonl.gz',
      'sample.jsonl.gz.sample.json',
    ]);
    writeFileSync(`${out}.sample.json`, JSON.stringify({ ...m, seed: 'nine' }));
    expect(() => readSampleManifest(out)).toThrow(/sample\.jsonl\.gz\.sample\.json: not a sample manifest/);
  });

  it('a write that fails leaves nothing behind', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 5 }));
    const drawn = await drawSample([src], { size: 2, seed: 1 });
    expect(() => writeSample(join(dir, 'no-such-dir', 'out.jsonl'), drawn, clock)).toThrow(/cannot write/);
    expect(readdirSync(dir)).toEqual(['records.jsonl']);
  });

  it('rejects bad options before reading', async () => {
    const src = join(tempDir(), 'absent.jsonl');
    for (const [opts, msg] of [
      [{ size: 0, seed: 1 }, /--size must be a positive integer/],
      [{ size: 2.5, seed: 1 }, /--size must be a positive integer/],
      [{ size: 5, seed: -1 }, /--seed must be an integer/],
      [{ size: 5, seed: 1, allocation: 'neyman' }, /--allocation must be proportional or equal/],
      [{ size: 5, seed: 1, minPerStratum: 2 }, /--min-per-stratum needs --stratify/],
      [{ size: 5, seed: 1, since: '2025-13-45x' }, /--since must be an ISO 8601/],
      [{ size: 5, seed: 1, since: '2025-06-02', until: '2025-06-01' }, /--since .* must be before --until/],
    ] as [SampleOptions, RegExp][]) {
      await expect(drawSample([src], opts)).rejects.toThrow(msg);
    }
    await expect(drawSample([src], { size: 5, seed: 1 })).rejects.toThrow(/cannot read dataset/);
  });
});

describe('holdout sample (CLI)', () => {
  it('writes the sample and manifest and prints the composition to stderr', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 60, b: 30, c: 10 }));
    const out = join(dir, 'out.jsonl');
    const res = await runCli([
      'sample',
      src,
      '--size',
      '10',
      '--seed',
      '5',
      '-o',
      out,
      '--stratify',
      'task',
      '--split',
      '0.2',
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^stratum \(task\)\s+source\s+share\s+sample\s+share$/m);
    expect(res.stderr).toMatch(/^total\s+\d+\s+100\.0%\s+10\s+100\.0%$/m);
    expect(res.stderr).toMatch(/on the tune side/);
    expect(res.stderr).toMatch(
      /wrote 10 records to .*out\.jsonl \(seed 5; holdout side of a 0\.2 split by id\)/,
    );
    const m = readSampleManifest(out)!;
    expect(m.seed).toBe(5);
    expect(m.split?.side).toBe('holdout');
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(10);
  });

  it('usage errors exit 2 with a message', async () => {
    const dir = tempDir();
    const src = writeRecords(dir, stratified({ a: 3 }));
    const out = join(dir, 'o.jsonl');
    const cases: [string[], RegExp][] = [
      [['sample', src, '--size', '0', '--seed', '1', '-o', out], /--size must be a positive integer/],
      [['sample', src, '--size', '2', '-o', out], /Missing required argument: seed/],
      [['sample', src, '--size', '2', '--seed', '1', '-o', out, '--allocation', 'x'], /Invalid values/],
      [['sample', src, '--size', '2', '--seed', '1', '-o', out, '--side', 'tune'], /need --split FRACTION/],
      [
        ['sample', src, '--size', '2', '--seed', '1', '-o', out, '--split', '1.5'],
        /--split must be a fraction/,
      ],
      [
        ['sample', src, '--size', '2', '--seed', '1', '-o', out, '--split', '0.5', '--split-key', 'user'],
        /--split-key must be/,
      ],
    ];
    for (const [argv, msg] of cases) {
      const res = await runCli(argv);
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.stderr).toMatch(msg);
    }
    expect(readdirSync(dir)).toEqual(['records.jsonl']);
  });
});
