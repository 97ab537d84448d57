import type { Score } from './types.js';

/** Cuts text for a score's `detail`, which is stored per record and shown in reports. */
export function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Clipped and JSON-quoted, so that whitespace differences and empty outputs stay visible. */
export function quote(text: string, max = 80): string {
  return JSON.stringify(clip(text, max));
}

// Shared because a passing score carries nothing record-specific; frozen so nobody mutates it.
const PASSED: Score = Object.freeze({ value: 1, passed: true });

export function pass(detail?: string): Score {
  return detail === undefined ? PASSED : { value: 1, passed: true, detail };
}

export function fail(detail: string): Score {
  return { value: 0, passed: false, detail };
}
