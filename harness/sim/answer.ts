import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { HarnessError } from '../errors.js';
import { hashUnit } from './hash.js';
import { CHARS_PER_TOKEN } from './tokens.js';

export interface AnswerKeyEntry {
  answer: string;
  wrong?: string[];
}
/** Keyed by `promptKey(body)` from datasets/record.ts (sha256 of the last user turn). */
export type AnswerKey = Record<string, AnswerKeyEntry>;

export const AnswerKeySchema = z.record(
  z.string().min(1),
  z.strictObject({ answer: z.string(), wrong: z.array(z.string()).optional() }),
);

export function parseAnswerKey(input: unknown, source = 'answer key'): AnswerKey {
  const parsed = AnswerKeySchema.safeParse(input);
  if (!parsed.success) {
    throw new HarnessError(
      'CONFIG_INVALID',
      `Invalid simulator ${source}:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** Reads a JSON answer key: `{ "<promptKey>": { "answer": "...", "wrong": ["..."] } }`. */
export function loadAnswerKey(path: string): AnswerKey {
  return parseAnswerKey(readJsonFile(path, 'answer key'), `answer key ${path}`);
}

export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HarnessError('CONFIG_NOT_FOUND', `Cannot read the simulator ${what} ${path}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HarnessError('CONFIG_INVALID', `The simulator ${what} ${path} is not valid JSON`, {
      cause: err,
    });
  }
}

export interface SimAnswer {
  output: string;
  /** Undefined when the prompt has no answer-key entry. */
  correct?: boolean;
}

const FILLER_MAX_TOKENS = 40;
const FILLER_WORDS = [
  'placeholder',
  'text',
  'for',
  'offline',
  'evaluation',
  'with',
  'no',
  'real',
  'model',
  'behind',
  'it',
  'deterministic',
  'per',
  'prompt',
  'and',
  'seed',
  'the',
  'simulator',
  'writes',
  'this',
  'filler',
];

/**
 * The simulated answer. Correctness is a pure function of (seed, profile name, prompt key): the
 * same model answers the same prompt the same way in every run and on every server.
 */
export function simulateAnswer(args: {
  seed: number;
  model: string;
  key: string;
  entry: AnswerKeyEntry | undefined;
  accuracy: number;
  maxTokens: number | undefined;
}): SimAnswer {
  const { seed, model, key, entry } = args;
  if (!entry) return { output: fillerText(seed, model, key, args.maxTokens) };
  if (hashUnit(seed, model, key) < args.accuracy) return { output: entry.answer, correct: true };
  const wrong = entry.wrong?.filter((w) => w !== entry.answer) ?? [];
  if (wrong.length > 0) {
    const pick = Math.floor(hashUnit(seed, model, key, 'wrong') * wrong.length);
    return { output: wrong[pick]!, correct: false };
  }
  return { output: corrupt(entry.answer), correct: false };
}

/** A wrong answer made from the right one; always differs from it. */
export function corrupt(answer: string): string {
  const reversed = answer.split(/\s+/).reverse().join(' ');
  if (reversed !== answer && reversed.trim() !== answer.trim()) return reversed;
  let swapped = '';
  for (const ch of answer) {
    const up = ch.toUpperCase();
    swapped += up === ch ? ch.toLowerCase() : up;
  }
  if (swapped !== answer) return swapped;
  const shifted = answer.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
  if (shifted !== answer) return shifted;
  return answer.trim() === '' ? 'simulated wrong answer' : `not ${answer}`;
}

function fillerText(seed: number, model: string, key: string, maxTokens: number | undefined): string {
  const tokens = Math.max(1, Math.min(maxTokens ?? FILLER_MAX_TOKENS, FILLER_MAX_TOKENS));
  const limit = tokens * CHARS_PER_TOKEN;
  let out = `Simulated answer from ${model}:`;
  let i = Math.floor(hashUnit(seed, model, key, 'filler') * FILLER_WORDS.length);
  while (out.length < limit) out += ` ${FILLER_WORDS[i++ % FILLER_WORDS.length]}`;
  return out.slice(0, limit);
}
