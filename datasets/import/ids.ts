import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth: equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // Non-finite numbers become null, as in JSON.stringify.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined && typeof o[k] !== 'function')
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** The id of a record whose log has none: `h_` + the first 16 hex of sha256(canonical request). */
export function requestId(request: Record<string, unknown>): string {
  return `h_${createHash('sha256').update(canonicalJson(request)).digest('hex').slice(0, 16)}`;
}

/**
 * The set of ids seen in one import, kept as 64-bit hashes in an open-addressing table at most half
 * full: 16 to 32 bytes per record instead of ~80 for a Set of strings, so a million-line import stays small. Two different
 * ids share a hash with probability ~n²/2⁶⁵ (3·10⁻⁸ at a million ids), which would be reported as a
 * duplicate.
 */
export class IdSet {
  private table = new Uint32Array(2 * 1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `id`; false when it was already there. */
  add(id: string): boolean {
    let [hi, lo] = hash64(id);
    if (hi === 0 && lo === 0) lo = 1; // (0, 0) marks an empty slot
    if (2 * (this.count + 1) > this.table.length / 2) this.grow();
    if (!this.insert(hi, lo)) return false;
    this.count++;
    return true;
  }

  private insert(hi: number, lo: number): boolean {
    const t = this.table;
    const mask = t.length / 2 - 1;
    let i = (lo ^ hi) & mask;
    for (;;) {
      const a = t[2 * i]!;
      const b = t[2 * i + 1]!;
      if (a === 0 && b === 0) {
        t[2 * i] = hi;
        t[2 * i + 1] = lo;
        return true;
      }
      if (a === hi && b === lo) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
    }
  }
}

/** Two independent 32-bit murmur3-style hashes of the UTF-16 code units. */
export function hash64(s: string): [number, number] {
  let h1 = 0x9747b28c;
  let h2 = 0x5bd1e995 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h1 = Math.imul(h1, 0x1b873593) + 0xe6546b64;
    h2 = Math.imul(h2 ^ c, 0x85ebca6b);
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = Math.imul(h2, 0xc2b2ae35) + 0x27d4eb2f;
  }
  return [fmix(h1 ^ s.length) >>> 0, fmix(h2) >>> 0];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
