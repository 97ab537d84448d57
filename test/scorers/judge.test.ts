import { describe, expect, it } from 'vitest';
import { bindScorer, ScorerSpec } from '../../scorers/index.js';
import {
  combinePairwise,
  type JudgeCallKey,
  type JudgeRequest,
  type JudgeService,
  judge_label,
  judge_pairwise,
  judge_rubric,
  taskText,
} from '../../scorers/judge/judge.js';
import { input } from './fixtures.js';

/** A judge that answers from a script and remembers what it was asked. */
function scripted(replies: (req: JudgeRequest, key: JudgeCallKey) => string) {
  const asked: { req: JudgeRequest; key: JudgeCallKey }[] = [];
  const service: JudgeService = {
    has: (j) => j === 'g',
    hasCandidate: (c) => c === 'base' || c === 'cand',
    outputOf: (c) => (c === 'base' ? 'baseline answer' : undefined),
    async ask(_j, req, key) {
      asked.push({ req, key });
      return replies(req, key);
    },
  };
  return { service, asked };
}

const judged = (text: string, candidate = 'cand') => ({
  ...input(text, { output: 'the reference' }),
  call: { candidate, repeat: 0 },
});

describe('judge scorers', () => {
  it('pairwise: a verdict counts only when both orders agree; any disagreement is a tie', () => {
    expect(combinePairwise('candidate', 'candidate')).toEqual({ value: 1, verdict: 'candidate' });
    expect(combinePairwise('baseline', 'baseline')).toEqual({ value: 0, verdict: 'baseline' });
    expect(combinePairwise('tie', 'tie')).toEqual({ value: 0.5, verdict: 'tie' });
    expect(combinePairwise('candidate', 'baseline')).toEqual({ value: 0.5, verdict: 'tie' });
    expect(combinePairwise('candidate', 'tie')).toEqual({ value: 0.5, verdict: 'tie' });
  });

  it('pairwise asks in both orders, maps A/B back to candidate/baseline, and keys each call', async () => {
    // The candidate wins in both orders: "A" when it comes first, "B" when the baseline does.
    const { service, asked } = scripted((req) =>
      JSON.stringify({
        winner: req.user.indexOf('cand answer') < req.user.indexOf('baseline answer') ? 'A' : 'B',
      }),
    );
    const spec = ScorerSpec.parse({ kind: 'judge_pairwise', judge: 'g', baseline: 'base' });
    const s = bindScorer(judge_pairwise.create('pw', spec as never, { judges: service }), {
      ...spec,
      name: 'pw',
    });
    expect(await s.score(judged('cand answer'))).toMatchObject({ value: 1, passed: true });
    expect(asked.map((a) => a.key.aux).sort()).toEqual(['pw:bc', 'pw:cb']);
    expect(asked[0]!.req.schema.name).toBe('holdout_pairwise');
    // The baseline is not compared with itself.
    expect(await s.score(judged('baseline answer', 'base'))).toMatchObject({ value: null });
  });

  it('rubric: the score is the judge’s; a reply that is not the schema is a recorded scorer error', async () => {
    let reply = '{"score": 0.75, "rationale": "mostly"}';
    const { service, asked } = scripted(() => reply);
    const spec = ScorerSpec.parse({ kind: 'judge_rubric', judge: 'g', rubric: 'Be right.', threshold: 0.7 });
    const s = bindScorer(judge_rubric.create('rub', spec as never, { judges: service }), {
      ...spec,
      name: 'rub',
    });
    expect(await s.score(judged('x'))).toEqual({ value: 0.75, passed: true, detail: 'mostly' });
    expect(asked[0]!.req.user).toContain('<REFERENCE>\nthe reference\n</REFERENCE>');
    expect(asked[0]!.req.user).toContain('<RUBRIC>\nBe right.\n</RUBRIC>');
    reply = '{"score": 3}';
    expect((await s.score(judged('x'))).detail).toMatch(
      /^scorer error: judge reply does not match its schema/,
    );
    reply = 'I think it is good';
    expect((await s.score(judged('x'))).detail).toMatch(/^scorer error: judge reply is not JSON/);
  });

  it('label: passing labels score 1, others 0; the label must be one of the declared ones', async () => {
    let label = 'acceptable';
    const { service } = scripted(() => JSON.stringify({ label, rationale: 'r' }));
    const spec = ScorerSpec.parse({
      kind: 'judge_label',
      judge: 'g',
      labels: ['excellent', 'acceptable', 'wrong'],
      pass: ['excellent', 'acceptable'],
      instructions: 'grade it',
    });
    const s = bindScorer(judge_label.create('lab', spec as never, { judges: service }), {
      ...spec,
      name: 'lab',
    });
    expect(await s.score(judged('x'))).toMatchObject({
      value: 1,
      passed: true,
      detail: 'label: acceptable; r',
    });
    label = 'wrong';
    expect(await s.score(judged('x'))).toMatchObject({ value: 0, passed: false });
    label = 'meh';
    expect((await s.score(judged('x'))).detail).toMatch(/scorer error/);
    expect(() =>
      ScorerSpec.parse({
        kind: 'judge_label',
        judge: 'g',
        labels: ['a', 'b'],
        pass: ['c'],
        instructions: 'i',
      }),
    ).toThrow(/every passing label must be one of `labels`/);
  });

  it('renders the task from Chat messages and from Responses input', () => {
    const chat = input('').record;
    chat.request = {
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      ],
    };
    expect(taskText(chat)).toBe('[system] sys\n[user] hi');
    const resp = input('').record;
    resp.request = { instructions: 'be brief', input: 'question?' };
    expect(taskText(resp)).toBe('[system] be brief\n[user] question?');
  });
});
