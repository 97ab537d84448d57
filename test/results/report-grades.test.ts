/**
 * Reviewers' grades (`holdout view`, the grades table) in the report: a human-graded column per
 * candidate, and human labels for judge agreement beside reference.grade, the reviewer winning where
 * both grade one output.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { renderReport } from '../../results/render/report-text.js';
import { buildReport } from '../../results/report/report.js';
import { wilson } from '../../results/stats/stats.js';
import { Store } from '../../results/store/store.js';
import { addRecordBodies, call, newRun, parseCsv } from './report-helpers.js';

let store: Store;
afterEach(() => store?.close());

function grade(runId: number, recordId: string, candidate: string, value: 'pass' | 'fail', reviewer = 'ann') {
  store.db
    .prepare(
      `INSERT INTO grades (run_id, record_id, candidate, repeat, reviewer, value, note, created_at)
       VALUES (?, ?, ?, 0, ?, ?, '', '2025-03-01T00:00:00.000Z')`,
    )
    .run(runId, recordId, candidate, reviewer, value);
}

/*
 * A rubric judge (threshold 0.7) on g1…g4; the human grade of an output is its reviewer's grade, else
 * its record's reference.grade:
 *   g1 reference true;  alpha judge P, beta judge P.
 *   g2 reference false; alpha judge P, reviewer says alpha pass (wins over false); beta judge F.
 *   g3 no reference;    alpha judge F, reviewer alpha pass then fail (the newest, fail, counts);
 *                       beta judge P, reviewer fail.
 *   g4 no grade at all (not compared). A grade of 'ghost' (no such call) counts for nothing.
 * alpha: P/P g1, P/P g2, F/F g3 → [[2, 0], [0, 1]], 3 of 3 agree.
 * beta:  P/P g1, F/F g2, P/F g3 → [[1, 1], [0, 1]], 2 of 3 agree.
 * Reviewed compared calls: alpha g2, alpha g3, beta g3 = 3; of the reviewed outputs, 1 (alpha g2) also
 * has a reference.grade. Human-graded column: alpha 2 graded (g2 pass, g3 fail) → 1 pass; beta 1, 0 passes.
 */
function gradedRun(): number {
  const spec = { kind: 'judge_rubric', name: 'rubric', threshold: 0.7, rubric: 'helpful?' };
  const runId = newRun(
    store,
    1,
    4,
    [
      ['alpha', 'gpt-a'],
      ['beta', 'gpt-b'],
    ],
    { scorers: [spec] },
  );
  addRecordBodies(store, runId, [
    { id: 'g1', reference: { grade: true } },
    { id: 'g2', reference: { grade: false } },
    { id: 'g3' },
    { id: 'g4' },
  ]);
  const judged: [string, boolean, boolean][] = [
    ['g1', true, true],
    ['g2', true, false],
    ['g3', false, true],
    ['g4', true, true],
  ];
  for (const [recordId, a, b] of judged) {
    store.recordCall(call(runId, { recordId, candidate: 'alpha' }), [
      { scorer: 'rubric', value: a ? 0.9 : 0.2, passed: a },
    ]);
    store.recordCall(call(runId, { recordId, candidate: 'beta' }), [
      { scorer: 'rubric', value: b ? 0.9 : 0.2, passed: b },
    ]);
  }
  grade(runId, 'g2', 'alpha', 'pass');
  grade(runId, 'g3', 'alpha', 'pass', 'bob');
  grade(runId, 'g3', 'alpha', 'fail', 'cy');
  grade(runId, 'g3', 'beta', 'fail');
  grade(runId, 'g1', 'ghost', 'fail');
  return runId;
}

describe("report: reviewers' grades", () => {
  it('a human-graded column per candidate: graded outputs and the human pass rate (newest grade wins)', () => {
    store = new Store(':memory:');
    const r = buildReport(store, gradedRun());
    expect(r.candidates.map((c) => [c.candidate, c.humanGrades])).toEqual([
      ['alpha', { graded: 2, passes: 1, passRate: wilson(1, 2) }],
      ['beta', { graded: 1, passes: 0, passRate: wilson(0, 1) }],
    ]);
    const text = renderReport(r, 'table');
    expect(text).toMatch(/tok\/s\s+human-graded: n, pass rate \[95% CI\]\n/);
    expect(text).toMatch(/\nalpha\s+gpt-a\s+.*\s2: 50\.0% \[9\.5, 90\.5\]\n/);
    expect(text).toMatch(/\nbeta\s+gpt-b\s+.*\s1: 0\.0% \[0\.0, 79\.3\]\n/);
    expect(renderReport(r, 'md')).toContain('| human-graded: n, pass rate \\[95% CI\\] |\n');
    expect(renderReport(r, 'html')).toContain('<th class="num">human-graded: n, pass rate [95% CI]</th>');
    const csv = parseCsv(renderReport(r, 'csv'));
    const header = csv[0]!;
    expect(header.slice(-5)).toEqual([
      'human_graded',
      'human_passes',
      'human_pass_rate',
      'human_pass_rate_lo',
      'human_pass_rate_hi',
    ]);
    expect(csv[1]!.slice(-5, -2)).toEqual(['2', '1', '0.5']);
    expect(JSON.parse(renderReport(r, 'json')).candidates[1].humanGrades.graded).toBe(1);
  });

  it("judge agreement counts reviewers' grades as human labels; the reviewer's grade wins over reference.grade", () => {
    store = new Store(':memory:');
    const r = buildReport(store, gradedRun());
    const a = r.agreement![0]!;
    expect(a).toMatchObject({ scorer: 'rubric', mode: 'pass-fail', reviewed: 3, skipped: 0 });
    expect(a.candidates.map((c) => [c.candidate, c.table, c.agree, c.n])).toEqual([
      [
        'alpha',
        [
          [2, 0],
          [0, 1],
        ],
        3,
        3,
      ],
      [
        'beta',
        [
          [1, 1],
          [0, 1],
        ],
        2,
        3,
      ],
    ]);
    expect(a.pooled.table).toEqual([
      [3, 1],
      [0, 2],
    ]);
    expect(r.notes).toContain(
      "Judge agreement counts reviewers' grades from `holdout view` as human grades (the newest grade per " +
        "output; 3 compared calls), like reference.grade; 1 reviewed output also has a reference.grade, and the reviewer's grade is used there.",
    );
    expect(renderReport(r, 'table')).toContain(
      "The judge's verdict against the human grade of the same calls: a reviewer's grade from holdout view",
    );
  });

  it("reviewers' grades alone are enough for agreement; a run without grades shows nothing new", () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 1, [['alpha', 'gpt-a']], {
      scorers: [{ kind: 'judge_rubric', name: 'rubric', rubric: 'ok?' }],
    });
    addRecordBodies(store, runId, [{ id: 'r1' }]);
    store.recordCall(call(runId, { recordId: 'r1' }), [{ scorer: 'rubric', value: 0.9, passed: true }]);
    const before = buildReport(store, runId);
    expect('agreement' in before).toBe(false);
    expect('humanGrades' in before.candidates[0]!).toBe(false);
    expect(parseCsv(renderReport(before, 'csv'))[0]).not.toContain('human_graded');
    expect(renderReport(before, 'table')).not.toContain('human-graded');
    grade(runId, 'r1', 'alpha', 'fail');
    const after = buildReport(store, runId);
    expect(after.agreement![0]!.candidates[0]!.table).toEqual([
      [0, 1],
      [0, 0],
    ]);
    expect(after.agreement![0]!.reviewed).toBe(1);
    expect(after.notes.some((n) => n.includes('1 compared call), like reference.grade.'))).toBe(true);
  });
});
