/**
 * `holdout sample`: a seeded, stratified, deduplicated holdout drawn in one streaming pass.
 *
 * Per record, in file order: the time window (records without a timestamp are left out and
 * counted), dedup by normalized prompt (the first occurrence wins), the split side, then one
 * reservoir per stratum (Algorithm R, mulberry32 seeded from the seed and the stratum name).
 * After the pass the stratum sizes are known, the size is allocated across strata, and each
 * stratum gives the first n_h records of its (shuffled) reservoir. Output is in source order.
 *
 * Dedup runs before the split on purpose: a prompt logged twice under two ids (hashed to different
 * sides) is kept once, on its first occurrence's side, so it never lands in both a tune and a
 * holdout sample of the same file.
 *
 * Memory: each stratum's reservoir holds up to `size` records, so any allocation is possible after
 * the pass: O(size × strata) records, bounded by --max-strata. Dedup keeps a 64-bit fingerprint per
 * distinct prompt (8 bytes in a flat table, ~16 MB per million prompts at its load factor): the one
 * part that grows with the file, and only with --dedup (the default).
 */
import { createHash } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Clock } from '../harness/clock.js';
import { HarnessError } from '../harness/errors.js';
import { mulberry32 } from '../harness/random.js';
import { readLines, parseRecordLine } from './jsonl.js';
import { PRIVATE_FILE_MODE } from './import/writer.js';
import { manifestPathOf, type SampleManifest } from './manifest.js';
import { printable } from './printable.js';
import { contentText, type HoldoutRecord } from './record.js';
import { SPLIT_SALT, type SplitOptions, type SplitSide, splitSide } from './split.js';

export { readSampleManifest, type SampleManifest } from './manifest.js';

export const ALLOCATIONS = ['proportional', 'equal'] as const;
export type Allocation = (typeof ALLOCATIONS)[number];

/** The stratum of records that lack the stratify tag. */
export const NO_STRATUM = '(none)';
/** The single stratum of an unstratified sample. */
export const ALL_STRATUM = '(all)';

export interface SampleOptions {
  size: number;
  seed: number;
  stratify?: string;
  allocation?: Allocation;
  minPerStratum?: number;
  /** ISO 8601; since inclusive, until exclusive. A time without a zone is read as UTC. */
  since?: string;
  until?: string;
  split?: SplitOptions & { side: SplitSide };
  /** Default true. */
  dedup?: boolean;
  /** Default 1000: more strata than this is almost always the wrong tag (a user or request id). */
  maxStrata?: number;
}

export interface DrawnSample {
  /** The sampled records as normalized JSON lines, in source order. */
  lines: string[];
  /** Everything of the manifest but what writing the file adds. */
  manifest: Omit<SampleManifest, 'output_sha256' | 'created_at'>;
}

// ---- checks ----

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Milliseconds since the epoch, or NaN. Date.parse reads a zone-less date-time as *local* time,
 * which would make the window depend on the machine: such times are read as UTC here.
 */
export function parseInstant(text: string): number {
  const m = ISO_8601.exec(text.trim());
  if (!m) return Number.NaN;
  const t = text.trim().replace(' ', 'T');
  return Date.parse(t.length > 10 && m[1] === undefined ? `${t}Z` : t);
}

function checkOptions(o: SampleOptions): void {
  const usage = (msg: string) =>
    new HarnessError('USAGE', msg, { hint: 'run `holdout sample --help` for usage' });
  if (!(Number.isInteger(o.size) && o.size > 0))
    throw usage(`--size must be a positive integer, got ${o.size}`);
  if (!(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff))
    throw usage(`--seed must be an integer from 0 to 4294967295, got ${o.seed}`);
  if (o.allocation !== undefined && !ALLOCATIONS.includes(o.allocation))
    throw usage(`--allocation must be proportional or equal, got "${o.allocation}"`);
  const min = o.minPerStratum ?? 0;
  if (!(Number.isInteger(min) && min >= 0))
    throw usage(`--min-per-stratum must be a non-negative integer, got ${o.minPerStratum}`);
  if (min > 0 && o.stratify === undefined) throw usage('--min-per-stratum needs --stratify');
  if (o.stratify === '') throw usage('--stratify takes a tag name, e.g. --stratify task');
  const max = o.maxStrata ?? 1000;
  if (!(Number.isInteger(max) && max >= 1))
    throw usage(`--max-strata must be a positive integer, got ${max}`);
  for (const [flag, v] of [
    ['--since', o.since],
    ['--until', o.until],
  ] as const) {
    if (v !== undefined && Number.isNaN(parseInstant(v)))
      throw usage(
        `${flag} must be an ISO 8601 date or date-time (e.g. 2025-06-01 or 2025-06-01T12:00:00Z), got "${v}"`,
      );
  }
  if (o.since !== undefined && o.until !== undefined && parseInstant(o.since) >= parseInstant(o.until))
    throw usage(`--since (${o.since}) must be before --until (${o.until})`);
}

// ---- dedup ----

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

function normalizedContent(content: unknown): string {
  if (typeof content === 'string') return collapse(content);
  if (Array.isArray(content)) {
    return content
      .map((p: { text?: unknown }) =>
        p && typeof p.text === 'string' ? collapse(p.text) : JSON.stringify(p),
      )
      .join('\n');
  }
  return collapse(contentText(content));
}

/**
 * The prompt as dedup sees it: every turn's role and text with whitespace collapsed (case kept).
 * Responses `instructions` and Chat `developer` turns count as `system`, so one prompt logged through
 * either API is one prompt. Non-text parts and items (images, tool calls) take part as JSON.
 */
export function normalizedPrompt(request: Record<string, unknown>): string {
  const turns: string[] = [];
  if (typeof request.instructions === 'string') turns.push(`system\n${collapse(request.instructions)}`);
  const list: unknown[] = Array.isArray(request.messages)
    ? request.messages
    : typeof request.input === 'string'
      ? [{ role: 'user', content: request.input }]
      : Array.isArray(request.input)
        ? request.input
        : [];
  for (const item of list) {
    const t = (item ?? {}) as { role?: unknown; content?: unknown; tool_calls?: unknown };
    if (typeof t.role !== 'string' || !('content' in t)) {
      turns.push(JSON.stringify(item));
      continue;
    }
    const role = t.role === 'developer' ? 'system' : t.role;
    const calls = t.tool_calls === undefined ? '' : `\n${JSON.stringify(t.tool_calls)}`;
    turns.push(`${role}\n${normalizedContent(t.content)}${calls}`);
  }
  return turns.join('\u0000');
}

/**
 * A set of 64-bit fingerprints in one open-addressed Uint32Array (two words a slot, (0, 0) free):
 * 8 bytes a key instead of ~80 for a string in a Set. 64 bits: the chance that two of n distinct
 * prompts collide (one wrongly dropped) is about n²/2⁶⁵, 3·10⁻⁸ at a million.
 */
export class FingerprintSet {
  private slots = new Uint32Array(2 * 1024);
  private count = 0;
  get size(): number {
    return this.count;
  }
  /** Adds the key; false when it was already there. */
  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    if (2 * (this.count + 1) > this.slots.length / 2) this.grow();
    if (!this.insert(this.slots, hi >>> 0, lo >>> 0)) return false;
    this.count++;
    return true;
  }
  private insert(slots: Uint32Array, hi: number, lo: number): boolean {
    const mask = slots.length / 2 - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === 0 && l === 0) {
        slots[2 * i] = hi;
        slots[2 * i + 1] = lo;
        return true;
      }
      if (h === hi && l === lo) return false;
      i = (i + 1) & mask;
    }
  }
  private grow(): void {
    const old = this.slots;
    const next = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.insert(next, old[i]!, old[i + 1]!);
    }
    this.slots = next;
  }
}

// ---- reservoirs ----

interface Item {
  /** Position of the record in the whole input (files in the order given, then lines). */
  pos: number;
  json: string;
}

/** A 32-bit seed per (seed, stratum): a stratum's draw does not depend on how others interleave. */
function stratumSeed(seed: number, stratum: string): number {
  return createHash('sha256').update(`${seed}:${stratum}`).digest().readUInt32BE(0);
}

class Reservoir {
  seen = 0;
  readonly items: Item[] = [];
  readonly rng: () => number;
  constructor(
    private readonly capacity: number,
    seed: number,
  ) {
    this.rng = mulberry32(seed);
  }
  /** Algorithm R: after n offers, each offered item is held with probability capacity / n. */
  offer(item: Item): void {
    this.seen++;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    const j = Math.floor(this.rng() * this.seen);
    if (j < this.capacity) this.items[j] = item;
  }
  /**
   * The held items in a uniformly random order. Without this shuffle, "the first n_h" of a stratum
   * that never filled its reservoir would be its first n_h records in file order: the oldest logs.
   */
  shuffled(): Item[] {
    const a = this.items;
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

// ---- allocation ----

export interface StratumSize {
  stratum: string;
  n: number;
}

/**
 * Splits `size` records across strata: n_h = clamp(λ·w_h, min(K, N_h), N_h) with the λ that makes
 * them sum to min(size, ΣN_h), where w_h = N_h (proportional) or 1 (equal); then largest-remainder
 * rounding (ties: the bigger stratum, then the name). Strata pinned at their minimum or their size
 * are thereby left out and the rest is shared in proportion among the others.
 */
export function allocate(strata: StratumSize[], size: number, allocation: Allocation, minPer = 0): number[] {
  const total = strata.reduce((s, x) => s + x.n, 0);
  const target = Math.min(size, total);
  const lower = strata.map((s) => Math.min(minPer, s.n));
  const upper = strata.map((s) => s.n);
  const w = strata.map((s) => (allocation === 'equal' ? 1 : s.n));
  const lowerSum = lower.reduce((a, b) => a + b, 0);
  if (lowerSum > target) {
    throw new HarnessError(
      'USAGE',
      `--min-per-stratum ${minPer} needs ${lowerSum} records over ${strata.length} strata, more than the ${target} to sample`,
      { hint: 'raise --size or lower --min-per-stratum' },
    );
  }
  const clamp = (lam: number, h: number) => Math.min(upper[h]!, Math.max(lower[h]!, lam * w[h]!));
  const sumAt = (lam: number) => strata.reduce((s, _, h) => s + clamp(lam, h), 0);
  // S(λ) is piecewise linear and non-decreasing; its kinks are at lower/w and upper/w.
  const kinks = [...new Set([0, ...strata.flatMap((_, h) => [lower[h]! / w[h]!, upper[h]! / w[h]!])])].sort(
    (a, b) => a - b,
  );
  let lo = 0;
  for (const k of kinks) {
    if (sumAt(k) <= target) lo = k;
    else break;
  }
  // Just above lo: which strata are free, which pinned at a bound.
  let pinned = 0;
  let freeW = 0;
  const free = strata.map((_, h) => {
    if (upper[h]! / w[h]! <= lo) pinned += upper[h]!;
    else if (lower[h]! / w[h]! > lo) pinned += lower[h]!;
    else {
      freeW += w[h]!;
      return true;
    }
    return false;
  });
  const quota = strata.map((_, h) =>
    !free[h] ? clamp(lo, h) : freeW > 0 ? ((target - pinned) * w[h]!) / freeW : clamp(lo, h),
  );
  const out = quota.map((q) => Math.floor(q + 1e-9));
  let left = target - out.reduce((a, b) => a + b, 0);
  const order = strata
    .map((s, h) => ({ h, frac: quota[h]! - out[h]!, n: s.n, name: s.stratum }))
    .sort((a, b) => b.frac - a.frac || b.n - a.n || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { h } of order) {
    if (left <= 0) break;
    if (out[h]! < upper[h]!) {
      out[h]!++;
      left--;
    }
  }
  return out;
}

// ---- the pass ----

/** The record's split side; a record the split cannot place is an error naming its file and line. */
function sideAt(path: string, line: number, record: HoldoutRecord, split: SplitOptions): SplitSide {
  try {
    return splitSide(record, split);
  } catch (err) {
    if (!(err instanceof HarnessError)) throw err;
    throw new HarnessError(err.code, `${path}:${line}: ${err.message}`, { cause: err, hint: err.hint });
  }
}

interface Counters {
  read: number;
  noTimestamp: number;
  outsideWindow: number;
  duplicate: number;
  otherSide: number;
}

export async function drawSample(paths: string[], opts: SampleOptions): Promise<DrawnSample> {
  checkOptions(opts);
  if (paths.length === 0) throw new HarnessError('USAGE', 'give at least one records file');
  const allocation = opts.allocation ?? 'proportional';
  const minPer = opts.minPerStratum ?? 0;
  const dedup = opts.dedup ?? true;
  const maxStrata = opts.maxStrata ?? 1000;
  const since = opts.since === undefined ? undefined : parseInstant(opts.since);
  const until = opts.until === undefined ? undefined : parseInstant(opts.until);
  const windowed = since !== undefined || until !== undefined;

  const c: Counters = { read: 0, noTimestamp: 0, outsideWindow: 0, duplicate: 0, otherSide: 0 };
  const seen = new FingerprintSet();
  const span = new TimeSpan();
  const reservoirs = new Map<string, Reservoir>();
  const sources: SampleManifest['sources'] = [];
  let pos = 0;

  for (const path of paths) {
    const hash = createHash('sha256');
    let records = 0;
    for await (const l of readLines(path, (b) => hash.update(b))) {
      const { record, json } = parseRecordLine(path, l);
      records++;
      c.read++;
      const at = pos++;
      if (windowed) {
        if (record.timestamp === undefined) {
          c.noTimestamp++;
          continue;
        }
        const t = parseInstant(record.timestamp);
        if (Number.isNaN(t)) {
          throw new HarnessError(
            'DATASET_INVALID',
            `${path}:${l.line}: timestamp "${printable(record.timestamp)}" is not ISO 8601 (e.g. 2025-06-01T12:00:00Z)`,
          );
        }
        if ((since !== undefined && t < since) || (until !== undefined && t >= until)) {
          c.outsideWindow++;
          continue;
        }
        span.add(t);
      } else if (record.timestamp !== undefined) {
        // Outside a window a bad timestamp is no error: it is only left out of the span.
        const t = parseInstant(record.timestamp);
        if (!Number.isNaN(t)) span.add(t);
      }
      if (dedup) {
        const d = createHash('sha256').update(normalizedPrompt(record.request)).digest();
        if (!seen.add(d.readUInt32BE(0), d.readUInt32BE(4))) {
          c.duplicate++;
          continue;
        }
      }
      if (opts.split && sideAt(path, l.line, record, opts.split) !== opts.split.side) {
        c.otherSide++;
        continue;
      }
      const stratum = opts.stratify === undefined ? ALL_STRATUM : (record.tags[opts.stratify] ?? NO_STRATUM);
      let r = reservoirs.get(stratum);
      if (!r) {
        if (reservoirs.size >= maxStrata) {
          throw new HarnessError(
            'USAGE',
            `--stratify ${opts.stratify}: more than ${maxStrata} distinct values (${path}:${l.line})`,
            {
              hint: 'stratify by a coarser tag, or raise --max-strata (each stratum holds up to --size records)',
            },
          );
        }
        r = new Reservoir(opts.size, stratumSeed(opts.seed, stratum));
        reservoirs.set(stratum, r);
      }
      r.offer({ pos: at, json });
    }
    sources.push({ path, sha256: hash.digest('hex'), records });
  }

  const eligible = [...reservoirs.values()].reduce((s, r) => s + r.seen, 0);
  if (eligible === 0) {
    const why = [
      c.noTimestamp && `${c.noTimestamp} without a timestamp`,
      c.outsideWindow && `${c.outsideWindow} outside the window`,
      c.duplicate && `${c.duplicate} duplicates`,
      c.otherSide && `${c.otherSide} on the ${opts.split?.side === 'tune' ? 'holdout' : 'tune'} side`,
    ].filter(Boolean);
    throw new HarnessError(
      'DATASET_EMPTY',
      c.read === 0
        ? `no records in ${paths.join(', ')}`
        : `no record survives the filters: ${c.read} read, ${why.join(', ')}`,
    );
  }

  // Largest strata first; the name breaks ties so the manifest is stable.
  const strata = [...reservoirs.entries()]
    .map(([stratum, r]) => ({ stratum, n: r.seen, r }))
    .sort((a, b) => b.n - a.n || (a.stratum < b.stratum ? -1 : 1));
  const counts = allocate(strata, opts.size, allocation, minPer);
  const picked: Item[] = [];
  strata.forEach((s, h) => {
    picked.push(...s.r.shuffled().slice(0, counts[h]));
  });
  picked.sort((a, b) => a.pos - b.pos);
  const sampled = picked.length;

  return {
    lines: picked.map((p) => p.json),
    manifest: {
      version: 1,
      seed: opts.seed,
      size: opts.size,
      sampled,
      stratify: opts.stratify ?? null,
      allocation,
      min_per_stratum: minPer,
      window: windowed ? { since: opts.since ?? null, until: opts.until ?? null } : null,
      split: opts.split
        ? {
            fraction: opts.split.fraction,
            key: opts.split.key,
            side: opts.split.side,
            salt: SPLIT_SALT,
            missing: opts.split.missing ?? 'error',
          }
        : null,
      dedup: { enabled: dedup, removed: c.duplicate },
      ...(span.records > 0 ? { span: span.toJSON() } : {}),
      read: c.read,
      excluded: {
        no_timestamp: c.noTimestamp,
        outside_window: c.outsideWindow,
        duplicate: c.duplicate,
        other_side: c.otherSide,
      },
      sources,
      composition: strata.map((s, h) => ({
        stratum: s.stratum,
        source_n: s.n,
        source_share: s.n / eligible,
        sample_n: counts[h]!,
        sample_share: sampled === 0 ? 0 : counts[h]! / sampled,
      })),
    },
  };
}

/**
 * First and last timestamp of the records read inside the window, before dedup and the split drop
 * any: the production traffic behind the sample, from which `--project` derives a monthly volume.
 */
class TimeSpan {
  records = 0;
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  add(t: number): void {
    this.records++;
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
  }
  toJSON(): { first: string; last: string; records: number } {
    return {
      first: new Date(this.first).toISOString(),
      last: new Date(this.last).toISOString(),
      records: this.records,
    };
  }
}

// ---- output ----

/**
 * Writes the sample (gzip when `out` ends in .gz) and its manifest, each to a temp file renamed into
 * place, so an interrupted write never leaves half a file under the final name.
 */
export function writeSample(out: string, drawn: DrawnSample, clock: Pick<Clock, 'isoNow'>): SampleManifest {
  const text = drawn.lines.length === 0 ? '' : `${drawn.lines.join('\n')}\n`;
  const bytes = out.endsWith('.gz') ? gzipSync(text) : Buffer.from(text);
  const manifest: SampleManifest = {
    ...drawn.manifest,
    output_sha256: createHash('sha256').update(bytes).digest('hex'),
    created_at: clock.isoNow(),
  };
  const mPath = manifestPathOf(out);
  const tmpData = `${out}.tmp-${process.pid}`;
  const tmpManifest = `${mPath}.tmp-${process.pid}`;
  try {
    writeFileSync(tmpData, bytes, { mode: PRIVATE_FILE_MODE });
    writeFileSync(tmpManifest, `${JSON.stringify(manifest, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
    renameSync(tmpData, out);
    renameSync(tmpManifest, mPath);
  } catch (err) {
    rmSync(tmpData, { force: true });
    rmSync(tmpManifest, { force: true });
    throw new HarnessError('USAGE', `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
  return manifest;
}
