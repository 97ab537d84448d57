/** What the wire builders (chat.ts, responses.ts) need to know about one simulated call. */
export interface SimCall {
  /** Hex suffix shared by the request id and the object ids of this call. */
  hex: string;
  /** Unix seconds. */
  created: number;
  servedModel: string;
  output: string;
  inputTokens: number;
  cachedTokens: number;
  /** Visible plus reasoning tokens. */
  outputTokens: number;
  reasoningTokens: number;
  /** Input tokens written to the prompt cache; reported only by profiles with `cacheWrites`. */
  cacheWriteTokens?: number;
}

/** An error sent inside a stream after the headers (status 200) went out. */
export interface InStreamError {
  code: string;
  type: string;
  message: string;
  /** Content deltas sent before it. */
  afterDeltas: number;
}

/**
 * A streamed response: `head` goes out with the headers, each delta at its own time between the
 * time to first token and the end, and `tail` (final events) at the end. A truncated stream drops
 * the later deltas and the tail.
 */
export interface StreamPlan {
  head: string;
  deltas: string[];
  tail: string;
}

/** At most this many content deltas, so a streamed call costs at most ~8 timers. */
export const MAX_DELTAS = 7;

/** Splits text into at most MAX_DELTAS pieces at word boundaries; the pieces join back to the text. */
export function splitDeltas(text: string): string[] {
  if (text === '') return [];
  const words = text.match(/\S+\s*|\s+/g) ?? [text];
  const n = Math.min(MAX_DELTAS, words.length);
  const pieces: string[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * words.length) / n);
    const to = Math.floor(((i + 1) * words.length) / n);
    pieces.push(words.slice(from, to).join(''));
  }
  return pieces;
}

export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export function sseEvent(type: string, payload: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
}
