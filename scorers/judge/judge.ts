import { z } from 'zod';
import { contentText, type HoldoutRecord, requestTurns } from '../../datasets/record.js';
import type { JudgedCall, JudgeService } from './service.js';
import type { Score, ScoreInput, Scorer, ScorerContext, ScorerFactory } from '../types.js';
import { UNSCORED } from '../types.js';
import { clip } from '../util.js';

export type { JudgeCallKey, JudgedCall, JudgeRequest, JudgeService } from './service.js';

/**
 * Model-graded scorers. A judge is an endpoint declared under `judges:` in the run config; the
 * scorer builds the judge's prompt, asks for structured output, and parses it. The calls go through
 * the run's machinery (`JudgeService`): retries, the store (role `judge`), resume, cost kept apart.
 */

const judgeFields = {
  /** The `id` of an entry under `judges:`. */
  judge: z.string().min(1),
};

export const RUBRIC_PROMPT = [
  'You are a strict, fair grader. Grade the ANSWER to the TASK against the RUBRIC.',
  'When a REFERENCE answer is given, use it as the standard of correctness.',
  'Reply with JSON only: {"score": a number from 0 (fails the rubric) to 1 (fully meets it), "rationale": at most two sentences}.',
].join('\n');

export const LABEL_PROMPT = [
  'You are a strict, fair grader. Read the TASK and the ANSWER and pick the one LABEL that describes the answer best,',
  'following the INSTRUCTIONS. When a REFERENCE answer is given, use it as the standard of correctness.',
  'Reply with JSON only: {"label": one of the labels, "rationale": at most two sentences}.',
].join('\n');

export const PAIRWISE_PROMPT = [
  'You are a strict, fair grader. Two answers, A and B, respond to the same TASK. Judge which is better',
  'by the CRITERIA; when a REFERENCE answer is given, correctness against it comes first. Ignore the',
  'order in which the answers appear and their length unless the criteria ask for brevity.',
  'Reply with JSON only: {"winner": "A", "B" or "tie", "rationale": at most two sentences}.',
].join('\n');

export const JudgeRubricArgs = z.strictObject({
  ...judgeFields,
  /** What a good answer does: the judge scores the output against it. */
  rubric: z.string().trim().min(1),
  /** The judge's instructions; stored with the run so a score can be reproduced. */
  prompt: z.string().min(1).default(RUBRIC_PROMPT),
  /** Show the judge `reference.output` (or `reference.json`) when the record has one. */
  use_reference: z.boolean().default(true),
});
export type JudgeRubricArgs = z.infer<typeof JudgeRubricArgs>;

export const JudgeLabelArgs = z
  .strictObject({
    ...judgeFields,
    labels: z.array(z.string().trim().min(1)).min(2),
    /** The labels that pass (value 1); the others score 0. */
    pass: z.array(z.string().trim().min(1)).min(1),
    /** What the labels mean; shown to the judge. */
    instructions: z.string().trim().min(1),
    prompt: z.string().min(1).default(LABEL_PROMPT),
    use_reference: z.boolean().default(true),
  })
  .refine((o) => o.pass.every((p) => o.labels.includes(p)), {
    path: ['pass'],
    message: 'every passing label must be one of `labels`',
  });
export type JudgeLabelArgs = z.infer<typeof JudgeLabelArgs>;

export const JudgePairwiseArgs = z.strictObject({
  ...judgeFields,
  /** The candidate every other candidate is compared with, on the same record and repeat. */
  baseline: z.string().min(1),
  criteria: z
    .string()
    .trim()
    .min(1)
    .default('Which answer serves the user better: correct, complete, clear.'),
  prompt: z.string().min(1).default(PAIRWISE_PROMPT),
  use_reference: z.boolean().default(true),
});
export type JudgePairwiseArgs = z.infer<typeof JudgePairwiseArgs>;

function needService(ctx: ScorerContext | undefined, judge: string): JudgeService {
  const service = ctx?.judges;
  if (!service) throw new Error('model-graded scorers need a run with `judges:` (none is available here)');
  if (!service.has(judge)) throw new Error(`judge "${judge}" is not declared under \`judges:\``);
  return service;
}

/** The conversation the candidate answered, as plain text for the judge. */
export function taskText(record: HoldoutRecord): string {
  const body = record.request as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof body.instructions === 'string') parts.push(`[system] ${body.instructions}`);
  const turns = requestTurns(body);
  for (const t of turns) {
    if (!t || typeof t.role !== 'string') continue;
    const text = contentText(t.content);
    if (text) parts.push(`[${t.role}] ${text}`);
  }
  return parts.join('\n');
}

function referenceText(record: HoldoutRecord): string | undefined {
  const ref = record.reference;
  if (!ref) return undefined;
  if (typeof ref.output === 'string') return ref.output;
  if (ref.json !== undefined) return JSON.stringify(ref.json);
  if (typeof ref.label === 'string') return ref.label;
  return undefined;
}

/** Sections the judge reads; tags make the boundaries unambiguous whatever the output contains. */
function section(name: string, text: string): string {
  return `<${name}>\n${text}\n</${name}>`;
}

function parseReply<T>(text: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  try {
    raw = JSON.parse(fenced ? fenced[1]! : text);
  } catch {
    throw new Error(`judge reply is not JSON: ${JSON.stringify(clip(text, 120))}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`judge reply does not match its schema: ${clip(z.prettifyError(parsed.error), 200)}`);
  }
  return parsed.data;
}

function requireCall(input: ScoreInput): JudgedCall {
  if (!input.call) throw new Error('a judge scores stored calls only (no call context given)');
  return input.call;
}

/**
 * One judge question: the tagged sections (TASK, REFERENCE when used, …, then `last`), a reply
 * schema whose fields are `fields` plus a rationale, and the call key. Returns the parsed reply.
 */
async function askJudge<T>(
  service: JudgeService,
  args: { judge: string; prompt: string; use_reference: boolean },
  input: ScoreInput,
  ask: {
    aux: string;
    schema: string;
    fields: Record<string, unknown>;
    reply: z.ZodType<T>;
    /** Sections before the task (rubric, instructions…) and after the reference (the answers). */
    before: [string, string][];
    after: [string, string][];
  },
): Promise<T> {
  const call = requireCall(input);
  const ref = args.use_reference ? referenceText(input.record) : undefined;
  const parts: [string, string][] = [
    ...ask.before,
    ['TASK', taskText(input.record)],
    ...(ref === undefined ? [] : ([['REFERENCE', ref]] as [string, string][])),
    ...ask.after,
  ];
  const text = await service.ask(
    args.judge,
    {
      system: args.prompt,
      user: parts.map(([name, body]) => section(name, body)).join('\n\n'),
      schema: {
        name: ask.schema,
        schema: {
          type: 'object',
          properties: { ...ask.fields, rationale: { type: 'string' } },
          required: [...Object.keys(ask.fields), 'rationale'],
          additionalProperties: false,
        },
      },
    },
    { recordId: input.record.id, candidate: call.candidate, repeat: call.repeat, aux: ask.aux },
  );
  return parseReply(text, ask.reply);
}

const RubricReply = z.object({ score: z.number().min(0).max(1), rationale: z.string().default('') });

export const judge_rubric: ScorerFactory<JudgeRubricArgs> = {
  kind: 'judge_rubric',
  description: 'a judge model grades the output against a rubric (and the reference): a score in [0, 1]',
  args: JudgeRubricArgs,
  create(name, args, ctx): Scorer {
    const service = needService(ctx, args.judge);
    return {
      name,
      deferred: true,
      async score(input): Promise<Score> {
        const r = await askJudge(service, args, input, {
          aux: name,
          schema: 'holdout_rubric',
          fields: { score: { type: 'number', minimum: 0, maximum: 1 } },
          reply: RubricReply,
          before: [['RUBRIC', args.rubric]],
          after: [['ANSWER', answerText(input)]],
        });
        return { value: r.score, passed: null, detail: clip(r.rationale, 300) };
      },
    };
  },
};

export const judge_label: ScorerFactory<JudgeLabelArgs> = {
  kind: 'judge_label',
  description: 'a judge model picks one of the given labels; the `pass` labels score 1',
  args: JudgeLabelArgs,
  create(name, args, ctx): Scorer {
    const service = needService(ctx, args.judge);
    const Reply = z.object({
      label: z.enum(args.labels as [string, ...string[]]),
      rationale: z.string().default(''),
    });
    return {
      name,
      deferred: true,
      async score(input): Promise<Score> {
        const r = await askJudge(service, args, input, {
          aux: name,
          schema: 'holdout_label',
          fields: { label: { type: 'string', enum: args.labels } },
          reply: Reply,
          before: [
            ['INSTRUCTIONS', args.instructions],
            ['LABELS', args.labels.join('\n')],
          ],
          after: [['ANSWER', answerText(input)]],
        });
        const value = args.pass.includes(r.label) ? 1 : 0;
        return { value, passed: null, detail: clip(`label: ${r.label}; ${r.rationale}`, 300) };
      },
    };
  },
};

const PairwiseReply = z.object({ winner: z.enum(['A', 'B', 'tie']), rationale: z.string().default('') });
type Side = 'candidate' | 'baseline' | 'tie';

/**
 * Combines the two orders' verdicts: a win or a loss only when both orders agree, otherwise a tie
 * (position bias shows up as disagreement). Values: win 1, tie 0.5, loss 0.
 */
export function combinePairwise(candidateFirst: Side, baselineFirst: Side): { value: number; verdict: Side } {
  const verdict = candidateFirst === baselineFirst ? candidateFirst : 'tie';
  return { value: verdict === 'candidate' ? 1 : verdict === 'tie' ? 0.5 : 0, verdict };
}

export const judge_pairwise: ScorerFactory<JudgePairwiseArgs> = {
  kind: 'judge_pairwise',
  description:
    'a judge model compares the output with a baseline candidate’s, in both orders: win 1, tie 0.5, loss 0',
  args: JudgePairwiseArgs,
  create(name, args, ctx): Scorer {
    const service = needService(ctx, args.judge);
    if (!service.hasCandidate(args.baseline)) {
      throw new Error(`baseline "${args.baseline}" is not a candidate of this run`);
    }
    return {
      name,
      deferred: true,
      async score(input): Promise<Score> {
        const call = requireCall(input);
        if (call.candidate === args.baseline) return UNSCORED('the baseline is not compared with itself');
        const base = service.outputOf(args.baseline, input.record.id, call.repeat);
        if (base === undefined) return UNSCORED(`no output from baseline ${args.baseline} on this record`);
        const ask = async (first: string, second: string, order: 'cb' | 'bc') =>
          (
            await askJudge(service, args, input, {
              aux: `${name}:${order}`,
              schema: 'holdout_pairwise',
              fields: { winner: { type: 'string', enum: ['A', 'B', 'tie'] } },
              reply: PairwiseReply,
              before: [['CRITERIA', args.criteria]],
              after: [
                ['ANSWER A', first],
                ['ANSWER B', second],
              ],
            })
          ).winner;
        const own = answerText(input);
        const [cb, bc] = await Promise.all([ask(own, base, 'cb'), ask(base, own, 'bc')]);
        const first: Side = cb === 'A' ? 'candidate' : cb === 'B' ? 'baseline' : 'tie';
        const second: Side = bc === 'A' ? 'baseline' : bc === 'B' ? 'candidate' : 'tie';
        const { value, verdict } = combinePairwise(first, second);
        const detail =
          first === second
            ? `${verdict} in both orders`
            : `inconsistent (candidate first: ${first}; baseline first: ${second}): tie`;
        return { value, passed: null, detail };
      },
    };
  },
};

/** The judged output: text, plus tool calls written out when there are any. */
function answerText(input: ScoreInput): string {
  const calls = input.output.toolCalls;
  if (calls.length === 0) return input.output.text;
  const lines = calls.map((c) => `tool call ${c.name}(${c.arguments})`);
  return [input.output.text, ...lines].filter(Boolean).join('\n');
}
