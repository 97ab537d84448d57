/**
 * Fast non-cryptographic hashing and a seeded PRNG. The simulator hashes on every request, so no
 * node:crypto here: sha256 over a long prompt per request would dominate the benchmark profile.
 */

import { mulberry32 } from '../random.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * 53-bit string hash (cyrb53 with a two-word seed). 53 bits keep false prefix-cache hits at about
 * 1 in 4e10 per lookup even with 200k stored blocks; a 32-bit hash would collide in a long run.
 */
export function hash53(text: string, seedLo = 0, seedHi = 0): number {
  let h1 = 0xdeadbeef ^ seedLo;
  let h2 = 0x41c6ce57 ^ seedHi;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return TWO_POW_32 * (0x1fffff & h2) + (h1 >>> 0);
}

/** Continues a hash chain: h_k = hash(h_{k-1}, block_k), the previous hash feeding the seed. */
export function chainHash(prev: number, block: string): number {
  return hash53(block, prev >>> 0, Math.floor(prev / TWO_POW_32));
}

/** A uniform number in [0, 1) that depends only on the parts (order matters). */
export function hashUnit(...parts: Array<string | number>): number {
  return hash53(parts.join('\u0000')) / TWO_POW_53;
}

/** The project's mulberry32 with the methods the simulator needs: latency jitter and fault dice. */
export class Rng {
  private readonly draw: () => number;

  constructor(seed: number) {
    this.draw = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.draw();
  }

  /** Standard normal (Box-Muller; the second variate is dropped to keep the sequence simple). */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1]: log(0) would be -Infinity
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/** Derives independent per-purpose seeds so that, e.g., adding a fault rule does not shift latencies. */
export function subSeed(seed: number, purpose: string): number {
  return hash53(purpose, seed >>> 0, 0x5eed) >>> 0;
}
