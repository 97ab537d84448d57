import { afterEach, describe, expect, it } from 'vitest';
import { HoldoutRecord } from '../../datasets/record.js';
import { cohenKappa } from '../../results/stats/agreement.js';
import { renderReport } from '../../results/render/report-text.js';
import { buildReport } from '../../results/report/report.js';
import { wilson } from '../../results/stats/stats.js';
import { Store } from '../../results/store/store.js';
import { LabelArgs, label } from '../../scorers/label.js';
import { addRecordBodies, addRecords, call, newRun, PAYLOADS, score } from './report-helpers.js';

// Every figure is worked by hand in the comments; the metric functions themselves are checked against
// independent computations in classes.test.ts and agreement.test.ts.

let store: Store;
afterEach(() => store?.close());

const INTENT = {
  kind: 'label',
  name: 'intent',
  labels: ['billing', 'bug', 'refund', 'spam'],
  aliases: { billing: ['invoice'] },
};

/** Scores an output with the real label scorer, as a run would store it. */
function labelScore(spec: typeof INTENT, reference: string | undefined, output: string) {
  const { kind: _k, name, ...args } = spec;
  const scorer = label.create(name, LabelArgs.parse(args));
  const record = HoldoutRecord.parse({
    id: 'x',
    request: { messages: [] },
    reference: reference === undefined ? {} : { label: reference },
  });
  const s = scorer.score({ record, output: { text: output, toolCalls: [] } });
  if (s instanceof Promise) throw new Error('label scores synchronously');
  return { scorer: name, value: s.value, passed: s.passed, detail: s.detail };
}

/*
 * Records (expected label; r4's reference is the alias "Invoice"; r10 has none, so it is unscored):
 *   r1 billing  r2 billing  r3 billing  r4 Invoice→billing  r5 bug  r6 bug  r7 bug  r8 refund  r9 refund
 * alpha: r1 "billing" ✓, r2 "Billing." ✓, r3 "bug" ✗, r4 "invoice" ✓, r5 "bug" ✓, r6 "billing" ✗,
 *        r7 "I am not sure" (no label), r8 "refund" ✓, r9 "Label: bug" ✗, r10 "billing" (unscored)
 * beta:  all right but r2 (an error: no score) and r8 "Refund please" (no label).
 *
 * Classes: billing, bug, refund, spam (declared; spam never expected nor predicted).
 * alpha (rows expected, columns billing bug refund spam | none):
 *   billing 3 1 0 0 | 0     support 4
 *   bug     1 1 0 0 | 1     support 3
 *   refund  0 1 1 0 | 0     support 2
 *   spam    0 0 0 0 | 0
 *   predicted: billing 4, bug 3, refund 1, spam 0; n 9, correct 5, no class 1.
 *   billing P 3/4 R 3/4 F1 6/8 = 0.75; bug P 1/3 R 1/3 F1 2/6; refund P 1 R 1/2 F1 2/3; spam all undefined.
 *   macro P (0.75 + 1/3 + 1)/3 = 0.694444; macro R (0.75 + 1/3 + 0.5)/3 = 0.527778;
 *   macro F1 (0.75 + 1/3 + 2/3)/3 = 0.583333; micro P 5/8, R 5/9, F1 10/17 = 0.588235.
 * beta:
 *   billing 3 0 0 0 | 0;  bug 0 3 0 0 | 0;  refund 0 0 1 0 | 1
 *   n 8, correct 7; refund P 1 R 1/2 F1 2/3; macro F1 (1 + 1 + 2/3)/3 = 0.888889; micro F1 14/15.
 */
function labelRun(spec = INTENT, over: { candidate?: string; label?: string } = {}): number {
  const alphaName = over.candidate ?? 'alpha';
  const runId = newRun(
    store,
    1,
    10,
    [
      [alphaName, 'gpt-a'],
      ['beta', 'gpt-b'],
    ],
    { scorers: [spec] },
  );
  const refs: [string, string | undefined][] = [
    ['r1', 'billing'],
    ['r2', 'billing'],
    ['r3', 'billing'],
    ['r4', 'Invoice'],
    ['r5', 'bug'],
    ['r6', 'bug'],
    ['r7', 'bug'],
    ['r8', 'refund'],
    ['r9', 'refund'],
    ['r10', undefined],
  ];
  addRecordBodies(
    store,
    runId,
    refs.map(([id, l]) => ({ id, reference: l === undefined ? {} : { label: l } })),
  );
  const alpha = [
    'billing',
    'Billing.',
    'bug',
    'invoice',
    'bug',
    'billing',
    'I am not sure',
    'refund',
    'Label: bug',
    'billing',
  ];
  const beta = ['billing', null, 'billing', 'billing', 'bug', 'bug', 'bug', 'Refund please', 'refund', 'bug'];
  refs.forEach(([recordId, ref], i) => {
    store.recordCall(call(runId, { recordId, candidate: alphaName, output: alpha[i]! }), [
      labelScore(spec, ref, alpha[i]!),
    ]);
    const b = beta[i]!;
    if (b === null) {
      store.recordCall(call(runId, { recordId, candidate: 'beta', status: 'error', output: null }), []);
    } else {
      store.recordCall(call(runId, { recordId, candidate: 'beta', output: b }), [labelScore(spec, ref, b)]);
    }
  });
  store.setRunStatus(runId, 'finished', '2025-01-01T01:00:00.000Z');
  return runId;
}

describe('report: label scorers', () => {
  it('per-class precision, recall, F1, support and the confusion matrix per candidate', () => {
    store = new Store(':memory:');
    const r = buildReport(store, labelRun());
    expect(r.labels).toHaveLength(1);
    const l = r.labels![0]!;
    expect(l.scorer).toBe('intent');
    expect(l.classes).toEqual(['billing', 'bug', 'refund', 'spam']);
    expect(l.mismatched).toBe(0);
    const [alpha, beta] = l.candidates;
    expect(alpha!.candidate).toBe('alpha');
    expect(alpha!.matrix).toEqual([
      [3, 1, 0, 0, 0],
      [1, 1, 0, 0, 1],
      [0, 1, 1, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    expect(alpha).toMatchObject({ n: 9, correct: 5, unclassified: 1 });
    expect(alpha!.accuracy).toEqual(wilson(5, 9));
    const [billing, bug, refund, spam] = alpha!.perClass;
    expect(billing).toMatchObject({
      label: 'billing',
      support: 4,
      predicted: 4,
      precision: 0.75,
      recall: 0.75,
    });
    expect(billing!.f1).toBeCloseTo(0.75, 12);
    expect(bug).toMatchObject({ support: 3, predicted: 3 });
    expect(bug!.precision).toBeCloseTo(1 / 3, 12);
    expect(bug!.f1).toBeCloseTo(1 / 3, 12);
    expect(refund).toMatchObject({ support: 2, predicted: 1, precision: 1, recall: 0.5 });
    expect(refund!.f1).toBeCloseTo(2 / 3, 12);
    expect(spam!.support).toBe(0);
    expect(spam!.precision).toBeNaN();
    expect(spam!.f1).toBeNaN();
    expect(alpha!.macro.precision).toBeCloseTo(0.694444444, 8);
    expect(alpha!.macro.recall).toBeCloseTo(0.527777778, 8);
    expect(alpha!.macro.f1).toBeCloseTo(0.583333333, 8);
    expect(alpha!.micro.precision).toBeCloseTo(5 / 8, 12);
    expect(alpha!.micro.recall).toBeCloseTo(5 / 9, 12);
    expect(alpha!.micro.f1).toBeCloseTo(10 / 17, 12);

    expect(beta!.matrix).toEqual([
      [3, 0, 0, 0, 0],
      [0, 3, 0, 0, 0],
      [0, 0, 1, 0, 1],
      [0, 0, 0, 0, 0],
    ]);
    expect(beta).toMatchObject({ n: 8, correct: 7, unclassified: 1 });
    expect(beta!.macro.f1).toBeCloseTo(0.888888889, 8);
    expect(beta!.micro.f1).toBeCloseTo(14 / 15, 12);

    // The matrix agrees with the scorer's stored verdicts: correct = the scorer table's passes.
    const passes = r.candidates.map((c) => c.scorers.find((s) => s.scorer === 'intent')!.passes);
    expect(passes).toEqual([5, 7]);
  });

  it('JSON carries the sections; undefined figures become null', () => {
    store = new Store(':memory:');
    const json = JSON.parse(renderReport(buildReport(store, labelRun()), 'json'));
    expect(json.version).toBe(2);
    const spam = json.labels[0].candidates[0].perClass[3];
    expect(spam).toEqual({
      label: 'spam',
      support: 0,
      predicted: 0,
      truePositives: 0,
      precision: null,
      recall: null,
      f1: null,
    });
    expect(json.agreement).toBeUndefined();
  });

  it('adds expected labels outside the declared ones as classes, and puts other predictions in no class', () => {
    store = new Store(':memory:');
    // Free-form (no labels, no aliases): the classes are the expected labels seen, folded to lower
    // case, sorted. r4's "Invoice" is no alias now but a class of its own, "invoice".
    const r = buildReport(store, labelRun({ kind: 'label', name: 'intent' } as typeof INTENT));
    const l = r.labels![0]!;
    expect(l.classes).toEqual(['billing', 'bug', 'invoice', 'refund']);
    // alpha (rows billing bug invoice refund; columns the same | none):
    //   billing: r1, r2 right, r3 "bug"                          → 2 1 0 0 | 0
    //   bug:     r6 "billing", r5 right, r7 "i am not sure"      → 1 1 0 0 | 1 (a free-form label, no class)
    //   invoice: r4 "invoice" right                              → 0 0 1 0 | 0
    //   refund:  r9 "bug", r8 right                              → 0 1 0 1 | 0
    const alpha = l.candidates[0]!;
    expect(alpha.matrix).toEqual([
      [2, 1, 0, 0, 0],
      [1, 1, 0, 0, 1],
      [0, 0, 1, 0, 0],
      [0, 1, 0, 1, 0],
    ]);
    // beta on r4 says "billing", expected "invoice": off the diagonal.
    expect(l.candidates[1]!.matrix[2]).toEqual([1, 0, 0, 0, 0]);
  });

  it('counts a failed call that now reads as its expected label under no class, with a note', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 2, [['alpha', 'gpt-a']], { scorers: [INTENT] });
    addRecordBodies(store, runId, [
      { id: 'r1', reference: { label: 'bug' } },
      { id: 'r2', reference: { label: 'bug' } },
    ]);
    store.recordCall(call(runId, { recordId: 'r1', output: 'bug' }), [score('intent', 1, true)]);
    // Stored as a failure though "bug" is the expected label (as if the extraction had changed).
    store.recordCall(call(runId, { recordId: 'r2', output: 'bug' }), [score('intent', 0, false)]);
    const r = buildReport(store, runId);
    const l = r.labels![0]!;
    expect(l.mismatched).toBe(1);
    expect(l.candidates[0]!.matrix[1]).toEqual([0, 1, 0, 0, 1]);
    expect(r.notes.some((n) => n.startsWith('intent: 1 failed call reads as the expected label'))).toBe(true);
  });

  it('with repeats, counts every repeat and says the intervals are too narrow', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 2, 1, [['alpha', 'gpt-a']], { scorers: [INTENT] });
    addRecordBodies(store, runId, [{ id: 'r1', reference: { label: 'bug' } }]);
    // Repeat 0 right, repeat 1 says billing: one call on the diagonal, one off it.
    store.recordCall(call(runId, { recordId: 'r1', repeat: 0, output: 'bug' }), [
      labelScore(INTENT, 'bug', 'bug'),
    ]);
    store.recordCall(call(runId, { recordId: 'r1', repeat: 1, output: 'billing' }), [
      labelScore(INTENT, 'bug', 'billing'),
    ]);
    const r = buildReport(store, runId);
    expect(r.labels![0]!.candidates[0]!.matrix[1]).toEqual([1, 1, 0, 0, 0]);
    expect(r.notes).toContain(
      'Label metrics and judge agreement count every repeat as a call: their intervals treat repeats as ' +
        'independent and are too narrow.',
    );
  });

  it('shows nothing new for a run without a label scorer, or without reference labels', () => {
    store = new Store(':memory:');
    const plain = newRun(store, 1, 1, [['alpha', 'gpt-a']]);
    addRecords(store, plain, [['r1', {}]]);
    store.recordCall(call(plain, { recordId: 'r1' }), [score('exact', 1, true)]);
    const r = buildReport(store, plain);
    expect('labels' in r).toBe(false);
    expect('agreement' in r).toBe(false);
    const text = renderReport(r, 'table');
    expect(text).not.toContain('Label scorer');
    expect(text).not.toContain('agreement');
    expect(renderReport(r, 'html')).not.toContain('id="labels"');

    // A label scorer whose records carry no reference.label (the benchmark's database is like this).
    const unlabelled = newRun(store, 1, 1, [['alpha', 'gpt-a']], { scorers: [INTENT] });
    addRecordBodies(store, unlabelled, [{ id: 'r1' }]);
    store.recordCall(call(unlabelled, { recordId: 'r1', output: 'bug' }), [score('intent', 1, true)]);
    expect('labels' in buildReport(store, unlabelled)).toBe(false);
  });

  it('renders the tables in the terminal and Markdown, "—" where undefined', () => {
    store = new Store(':memory:');
    const r = buildReport(store, labelRun());
    const text = renderReport(r, 'table');
    expect(text).toContain('Label scorer intent: 4 classes');
    expect(text).toMatch(/alpha\s+9\s+55\.6% \[26\.7, 81\.1\]\s+0\.583\s+0\.588\s+0\.694\s+0\.528\s+1/);
    expect(text).toMatch(/alpha\s+spam\s+0\s+0\s+—\s+—\s+—/);
    expect(text).toContain('intent · alpha: confusion matrix (rows expected, columns predicted)');
    expect(text).toMatch(/expected \\ predicted\s+billing\s+bug\s+refund\s+spam\s+\(no class\)/);
    expect(text).toMatch(/\nbug\s+1\s+1\s+0\s+0\s+1\n/);
    expect(text).toContain("scikit-learn's zero_division=nan");
    const md = renderReport(r, 'md');
    expect(md).toContain('### Label scorer intent: 4 classes');
    expect(md).toContain('| alpha | refund | 2 | 1 | 1.000 | 0.500 | 0.667 |');
    expect(md).toContain('| expected \\\\ predicted | billing | bug | refund | spam | (no class) |');
  });

  it('html: a confusion matrix shaded by share of the row, every name escaped', () => {
    store = new Store(':memory:');
    const evil = `x${PAYLOADS[1]}`;
    const spec = { ...INTENT, labels: ['billing', 'bug', 'refund', PAYLOADS[0]] };
    const html = renderReport(buildReport(store, labelRun(spec, { candidate: evil })), 'html');
    expect(html).toContain('<section id="labels">');
    expect(html).toMatch(/<table class="confusion" data-scorer="intent" data-candidate="x&lt;img/);
    for (const p of PAYLOADS.slice(0, 2)) expect(html).not.toContain(p);
    expect(html).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    // alpha's billing row: 3 of 4 on the diagonal → step round(0.75·10) = 8; 1 of 4 off it → step 3 (2.5 rounds up).
    expect(html).toContain(
      '<td class="num d8" title="expected billing, predicted billing: 3 of 4 (75.0%)">3</td>',
    );
    expect(html).toContain(
      '<td class="num o3" title="expected billing, predicted bug: 1 of 4 (25.0%)">1</td>',
    );
    // The shading is CSS classes in the one <style>: no style attribute anywhere.
    expect(html).toContain('table.confusion td.d10 { background: rgba(0, 114, 178, 0.850); color: #fff; }');
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/<script/i);
  });
});

// --- judge agreement -----------------------------------------------------------------------------

/*
 * A rubric judge (threshold 0.7, so a number grade passes at >= 0.7) on graded records:
 *   g1 0.9 P, g2 0.8 P, g3 0.75 P, g4 0.3 F, g5 0.6 F, g6 true P, g7 false F, g8 "pass" P,
 *   g9 "billing" (a label: not comparable, skipped), g10 no grade.
 * alpha's judge: g1 P, g2 P, g3 F, g4 F, g5 P, g6 P, g7 F, g8 P (g9, g10 P).
 *   judge × human:  P/P g1 g2 g6 g8 = 4, P/F g5 = 1, F/P g3 = 1, F/F g4 g7 = 2   → [[4, 1], [1, 2]]
 *   po = 6/8 = 0.75; margins 5/8, 3/8 both ways; pe = (25 + 9)/64 = 0.53125; κ = 0.21875/0.46875 = 0.466667
 * beta's judge agrees everywhere: [[5, 0], [0, 3]], κ = 1.
 * pooled: [[9, 1], [1, 5]]: po = 14/16 = 0.875, pe = (100 + 36)/256 = 0.53125, κ = 0.34375/0.46875 = 0.733333
 */
function judgeRun(): number {
  const spec = { kind: 'judge_rubric', name: 'rubric', threshold: 0.7, rubric: 'helpful?' };
  const runId = newRun(
    store,
    1,
    10,
    [
      ['alpha', 'gpt-a'],
      ['beta', 'gpt-b'],
    ],
    { scorers: [spec, INTENT] },
  );
  const grades: [string, unknown][] = [
    ['g1', 0.9],
    ['g2', 0.8],
    ['g3', 0.75],
    ['g4', 0.3],
    ['g5', 0.6],
    ['g6', true],
    ['g7', false],
    ['g8', 'pass'],
    ['g9', 'billing'],
    ['g10', undefined],
  ];
  addRecordBodies(
    store,
    runId,
    grades.map(([id, g]) => ({ id, reference: g === undefined ? {} : { grade: g } })),
  );
  const alpha = [1, 1, 0, 0, 1, 1, 0, 1, 1, 1];
  const beta = [1, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  grades.forEach(([recordId], i) => {
    for (const [candidate, verdicts] of [
      ['alpha', alpha],
      ['beta', beta],
    ] as const) {
      const pass = verdicts[i] === 1;
      store.recordCall(call(runId, { recordId, candidate }), [score('rubric', pass ? 0.9 : 0.2, pass)]);
    }
    // The judge's own calls are stored apart (role judge) and must not count as candidates' rows.
    store.recordCall(call(runId, { recordId, candidate: 'judge-model', role: 'judge' }), []);
  });
  return runId;
}

describe('report: judge agreement with human grades', () => {
  it('pass/fail agreement and kappa per candidate and pooled', () => {
    store = new Store(':memory:');
    const r = buildReport(store, judgeRun());
    // The label scorer scored nothing in this run: no label section.
    expect(r.labels).toBeUndefined();
    expect(r.agreement).toHaveLength(1);
    const a = r.agreement![0]!;
    expect(a).toMatchObject({
      scorer: 'rubric',
      kind: 'judge_rubric',
      mode: 'pass-fail',
      gradeThreshold: 0.7,
      categories: ['pass', 'fail'],
      skipped: 2,
    });
    const [alpha, beta] = a.candidates;
    expect(alpha!.table).toEqual([
      [4, 1],
      [1, 2],
    ]);
    expect(alpha!.n).toBe(8);
    expect(alpha!.agree).toBe(6);
    expect(alpha!.accuracy).toEqual(wilson(6, 8));
    expect(alpha!.kappa.kappa).toBeCloseTo(0.21875 / 0.46875, 12);
    expect(alpha!.kappa.se).toBeCloseTo(cohenKappa(alpha!.table).se, 12);
    expect(beta!.table).toEqual([
      [5, 0],
      [0, 3],
    ]);
    expect(beta!.kappa.kappa).toBe(1);
    expect(a.pooled.table).toEqual([
      [9, 1],
      [1, 5],
    ]);
    expect(a.pooled.kappa.kappa).toBeCloseTo(0.34375 / 0.46875, 12);
    expect(r.notes).toContain(
      'rubric (pass-fail): 2 graded calls left out of the agreement: their grade is a label, not pass/fail.',
    );
    expect(r.notes.some((n) => n.includes("only 16 graded calls; kappa's large-sample interval"))).toBe(true);
  });

  it('renders the agreement table', () => {
    store = new Store(':memory:');
    const r = buildReport(store, judgeRun());
    const text = renderReport(r, 'table');
    expect(text).toContain('Judge agreement with human grades');
    expect(text).toMatch(
      /rubric\s+pass\/fail \(grade ≥ 0\.7\)\s+alpha\s+8\s+75\.0% \[40\.9, 92\.9\]\s+0\.467 \[/,
    );
    expect(text).toMatch(/rubric\s+pass\/fail \(grade ≥ 0\.7\)\s+all candidates\s+16\s+87\.5%/);
    expect(text).toContain('Fleiss, Cohen and Everitt (1969)');
    const html = renderReport(r, 'html');
    expect(html).toContain('<section id="agreement">');
  });

  /*
   * A label judge (scorers/judge.ts writes `label: <label>; <rationale>`) with string grades that are
   * its labels (compared as labels, case-insensitive), one number grade and one pass/fail word
   * (compared as pass/fail, at the default 0.5):
   *   t1 grade friendly, judge friendly;  t2 friendly, judge neutral;  t3 Neutral, judge neutral;
   *   t4 rude, judge rude;  t5 0.9, judge friendly (passes);  t6 rude, a detail naming no label
   *   (skipped);  t7 "fail", judge friendly (passes).
   * Label table (judge rows × human columns, friendly neutral rude): [[1,0,0],[1,1,0],[0,0,1]]
   *   po = 3/4; judge margins 1/4, 2/4, 1/4; human 2/4, 1/4, 1/4; pe = (2 + 2 + 1)/16 = 0.3125;
   *   κ = 0.4375/0.6875 = 0.636364.
   * Pass/fail table (judge × human): t5 pass/pass, t7 pass/fail → [[1, 1], [0, 0]]: the judge said pass
   *   both times, so pe = po = 1/2 and κ = 0.
   */
  it('judge_label: labels against string grades, pass/fail against number grades', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 7, [['alpha', 'gpt-a']], {
      scorers: [
        {
          kind: 'judge_label',
          name: 'tone',
          judge: 'grader',
          labels: ['friendly', 'neutral', 'rude'],
          pass: ['friendly'],
        },
      ],
    });
    const rows: [string, unknown, string, boolean][] = [
      ['t1', 'friendly', 'label: friendly; warm greeting', true],
      ['t2', 'friendly', 'label: neutral; ', false],
      ['t3', 'Neutral', 'label: neutral; plain', false],
      ['t4', 'rude', 'label: rude; ', false],
      ['t5', 0.9, 'label: friendly; ', true],
      ['t6', 'rude', 'scorer error: judge reply is not JSON', false],
      ['t7', 'fail', 'label: friendly; ', true],
    ];
    addRecordBodies(
      store,
      runId,
      rows.map(([id, grade]) => ({ id, reference: { grade } })),
    );
    for (const [recordId, , detail, passed] of rows) {
      store.recordCall(call(runId, { recordId }), [
        { scorer: 'tone', value: passed ? 1 : 0, passed, detail },
      ]);
    }
    const r = buildReport(store, runId);
    const [pf, lab] = r.agreement!;
    expect(lab).toMatchObject({ mode: 'label', gradeThreshold: null, skipped: 1 });
    expect(lab!.categories).toEqual(['friendly', 'neutral', 'rude']);
    expect(lab!.pooled.table).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    expect(lab!.pooled.kappa.kappa).toBeCloseTo(0.4375 / 0.6875, 12);
    expect(pf).toMatchObject({ mode: 'pass-fail', gradeThreshold: 0.5, skipped: 0 });
    expect(pf!.pooled.table).toEqual([
      [1, 1],
      [0, 0],
    ]);
    expect(pf!.pooled.kappa.kappa).toBe(0);
    const text = renderReport(r, 'table');
    expect(text).toMatch(
      /tone\s+pass\/fail \(grade ≥ 0\.5\)\s+alpha\s+2\s+50\.0% \[9\.5, 90\.5\]\s+0\.000 \[/,
    );
    expect(text).toMatch(/tone\s+label\s+alpha\s+4\s+75\.0% \[30\.1, 95\.4\]\s+0\.636 \[/);
    expect(r.notes).toContain(
      'tone (label): 1 graded call left out of the agreement: the score detail names none of the ' +
        'judge labels (expected `label: <label>; …`).',
    );

    // Both raters always saying pass leaves kappa undefined: shown "—".
    const one = newRun(store, 1, 1, [['alpha', 'gpt-a']], { scorers: [{ kind: 'judge_rubric', name: 'g' }] });
    addRecordBodies(store, one, [{ id: 'a', reference: { grade: 1 } }]);
    store.recordCall(call(one, { recordId: 'a' }), [score('g', 1, true)]);
    const single = buildReport(store, one);
    expect(single.agreement![0]!.pooled.kappa.kappa).toBeNaN();
    expect(renderReport(single, 'table')).toMatch(
      /g\s+pass\/fail \(grade ≥ 0\.5\)\s+alpha\s+1\s+100\.0% \[20\.7, 100\.0\]\s+—\s+—/,
    );
  });

  it('reads grades stored as booleans apart from numbers (true is not 1 at threshold 1)', () => {
    store = new Store(':memory:');
    const runId = newRun(store, 1, 2, [['alpha', 'gpt-a']], {
      scorers: [{ kind: 'judge_rubric', name: 'rubric', threshold: 1 }],
    });
    addRecordBodies(store, runId, [
      { id: 'a', reference: { grade: true } },
      { id: 'b', reference: { grade: 0.99 } },
    ]);
    store.recordCall(call(runId, { recordId: 'a' }), [score('rubric', 1, true)]);
    store.recordCall(call(runId, { recordId: 'b' }), [score('rubric', 1, true)]);
    // a: human pass (true), judge pass; b: 0.99 < 1 fails, judge pass.
    expect(buildReport(store, runId).agreement![0]!.pooled.table).toEqual([
      [1, 1],
      [0, 0],
    ]);
  });
});
