import type { HoldoutRecord, Reference } from '../../datasets/record.js';
import type { ScoreInput } from '../../scorers/index.js';

/** A minimal valid record; scorers only look at `reference` and `tags`. */
export function record(reference?: Reference, tags: Record<string, string> = {}): HoldoutRecord {
  return { id: 'r1', tags, api: 'chat', request: { messages: [] }, ...(reference && { reference }) };
}

export function input(text: string, reference?: Reference, tags?: Record<string, string>): ScoreInput {
  return { record: record(reference, tags), output: { text, toolCalls: [] } };
}
