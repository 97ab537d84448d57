import { CHARS_PER_TOKEN, countTokens } from './tokens.js';
import { chainHash, hash53 } from './hash.js';

export const CACHE_BLOCK_TOKENS = 128;
export const CACHE_MIN_TOKENS = 1024;
const BLOCK_CHARS = CACHE_BLOCK_TOKENS * CHARS_PER_TOKEN;

/**
 * OpenAI-style automatic prompt-prefix cache. A prompt of n tokens has floor(n / 128) blocks; block
 * k is keyed by a hash chained over blocks 0..k (h_k = hash(h_{k-1}, block_k), h_{-1} = hash of
 * the profile name), so one Set holds every model's prefixes and a long prompt costs O(length).
 *
 * cached tokens = 128 x (number of leading blocks already seen), or 0 when that is under 1024.
 * Prompts under 1024 tokens are neither looked up nor stored, as the API only caches from 1024.
 * The first request of a prompt gets 0; an identical repeat gets floor(n / 128) x 128.
 */
export class PrefixCache {
  private readonly seen = new Set<number>();

  constructor(private readonly maxEntries = 200_000) {}

  /** Looks the prompt up, then stores its blocks; returns the cached token count. */
  lookupAndStore(model: string, prompt: string, promptTokens = countTokens(prompt)): number {
    return this.lookupAndStoreBlocks(model, prompt, promptTokens).cached;
  }

  /**
   * As lookupAndStore, and also the tokens written: 128 × the blocks stored by this prompt (those
   * after the first miss), what a model that bills cache writes reports as `cache_write_tokens`.
   */
  lookupAndStoreBlocks(
    model: string,
    prompt: string,
    promptTokens = countTokens(prompt),
  ): { cached: number; written: number } {
    if (promptTokens < CACHE_MIN_TOKENS) return { cached: 0, written: 0 };
    const blocks = Math.floor(promptTokens / CACHE_BLOCK_TOKENS);
    let h = hash53(model);
    let hits = 0;
    let missed = false;
    for (let k = 0; k < blocks; k++) {
      // The last block may end inside the final (partial) token: slice clamps, which is what we want.
      h = chainHash(h, prompt.slice(k * BLOCK_CHARS, (k + 1) * BLOCK_CHARS));
      if (!missed && this.seen.has(h)) hits++;
      else {
        missed = true;
        this.add(h);
      }
    }
    const cached = hits * CACHE_BLOCK_TOKENS;
    return {
      cached: cached >= CACHE_MIN_TOKENS ? cached : 0,
      written: (blocks - hits) * CACHE_BLOCK_TOKENS,
    };
  }

  clear(): void {
    this.seen.clear();
  }

  get size(): number {
    return this.seen.size;
  }

  private add(h: number): void {
    this.seen.add(h);
    // FIFO eviction: a Set iterates in insertion order, so the first value is the oldest.
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.values().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }
}
