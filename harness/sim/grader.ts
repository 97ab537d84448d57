import { lastUserText } from '../../datasets/record.js';
import { hashUnit } from './hash.js';

/**
 * The simulator as a judge. holdout's model-graded scorers ask for structured output with a schema
 * named `holdout_rubric`, `holdout_label` or `holdout_pairwise` and tag the parts of their prompt
 * (<ANSWER>, <REFERENCE>…); the simulator grades deterministically from those parts, so tests can
 * predict every verdict:
 * - rubric: 1 when the answer equals the reference (case and whitespace folded), otherwise the
 *   token-overlap F1 with it, rounded to 2 decimals; 0.5 without a reference;
 * - label: the first label when the answer matches the reference, otherwise the last;
 * - pairwise: the answer that matches the reference wins, a tie when both or neither do. A profile's
 *   `positionBias` p makes the judge answer "A" regardless on a (seeded) fraction p of calls.
 */
export function gradeAsJudge(
  body: Record<string, unknown>,
  opts: { seed: number; model: string; positionBias: number },
): string | undefined {
  const name = schemaName(body);
  if (name === undefined || !name.startsWith('holdout_')) return undefined;
  const prompt = lastUserText(body);
  const reference = part(prompt, 'REFERENCE');
  if (name === 'holdout_rubric') {
    const answer = part(prompt, 'ANSWER') ?? '';
    const score =
      reference === undefined ? 0.5 : matches(answer, reference) ? 1 : round2(overlapF1(answer, reference));
    return JSON.stringify({ score, rationale: `simulated grade: overlap with the reference ${score}` });
  }
  if (name === 'holdout_label') {
    const labels = (part(prompt, 'LABELS') ?? '').split('\n').filter(Boolean);
    const answer = part(prompt, 'ANSWER') ?? '';
    const good = reference !== undefined && matches(answer, reference);
    const label = good ? labels[0] : labels.at(-1);
    return JSON.stringify({
      label,
      rationale: `simulated grade: ${good ? 'matches' : 'differs from'} the reference`,
    });
  }
  if (name === 'holdout_pairwise') {
    const a = part(prompt, 'ANSWER A') ?? '';
    const b = part(prompt, 'ANSWER B') ?? '';
    if (opts.positionBias > 0 && hashUnit(opts.seed, opts.model, prompt, 'position') < opts.positionBias) {
      return JSON.stringify({ winner: 'A', rationale: 'simulated grade: the first answer (position bias)' });
    }
    const aGood = reference !== undefined && matches(a, reference);
    const bGood = reference !== undefined && matches(b, reference);
    const winner = aGood === bGood ? 'tie' : aGood ? 'A' : 'B';
    return JSON.stringify({ winner, rationale: `simulated grade: ${winner}` });
  }
  return undefined;
}

function schemaName(body: Record<string, unknown>): string | undefined {
  const chat = body.response_format as { json_schema?: { name?: unknown } } | undefined;
  if (typeof chat?.json_schema?.name === 'string') return chat.json_schema.name;
  const text = body.text as { format?: { name?: unknown } } | undefined;
  if (typeof text?.format?.name === 'string') return text.format.name;
  return undefined;
}

/** The text between <NAME> and </NAME> on their own lines, as the judge scorers write it. */
function part(prompt: string, name: string): string | undefined {
  const open = `<${name}>\n`;
  const start = prompt.indexOf(open);
  if (start < 0) return undefined;
  const end = prompt.indexOf(`\n</${name}>`, start + open.length);
  return end < 0 ? undefined : prompt.slice(start + open.length, end);
}

const fold = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
const matches = (a: string, b: string) => fold(a) === fold(b);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** Token-overlap F1 (bag of lower-cased words): SQuAD's answer-overlap measure. */
export function overlapF1(answer: string, reference: string): number {
  const a = fold(answer).split(' ').filter(Boolean);
  const r = fold(reference).split(' ').filter(Boolean);
  if (a.length === 0 || r.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const w of r) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of a) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      common++;
      counts.set(w, n - 1);
    }
  }
  if (common === 0) return 0;
  const p = common / a.length;
  const rec = common / r.length;
  return (2 * p * rec) / (p + rec);
}
