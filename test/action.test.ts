/**
 * The GitHub Action's steps (action/gate.mjs, wired by action.yml), run as the runner would run them:
 * a process per step with a fake GITHUB_* environment, holdout on the in-process simulator, and a
 * `gh` on PATH that records every call and keeps the PR's comments, so "posts once, then updates the
 * same comment" is asserted on what GitHub would have been asked. No GitHub, no network.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../harness/paths.js';
import { answerKeyPath, sampleSlice, tempDir } from './support/cli.js';

const GATE = join(packageRoot(), 'action', 'gate.mjs');

/**
 * A `gh` that answers `gh api` like GitHub's REST API for issue comments, from a JSON file, and logs
 * each call (argv and the --input body) to calls.jsonl. FAIL_GH=POST makes creating a comment fail.
 */
const GH_STUB = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.GH_STUB_DIR;
const state = path.join(dir, 'comments.json');
const args = process.argv.slice(2);
const comments = fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : [];
const i = args.indexOf('--input');
const input = i >= 0 ? JSON.parse(fs.readFileSync(args[i + 1], 'utf8')) : undefined;
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify({ args, input, token: process.env.GH_TOKEN }) + '\\n');
const x = args.indexOf('-X');
const method = x >= 0 ? args[x + 1] : 'GET';
const url = args.find((a) => a.startsWith('repos/'));
if (process.env.FAIL_GH === method) { process.stderr.write('HTTP 403: Resource not accessible by integration\\n'); process.exit(1); }
let m;
if (method === 'GET' && (m = /^repos\\/[^/]+\\/[^/]+\\/issues\\/(\\d+)\\/comments\\?per_page=(\\d+)&page=(\\d+)$/.exec(url))) {
  const [per, page] = [Number(m[2]), Number(m[3])];
  const onPr = comments.filter((c) => c.pr === Number(m[1]));
  process.stdout.write(JSON.stringify(onPr.slice((page - 1) * per, page * per)));
} else if (method === 'POST' && (m = /^repos\\/[^/]+\\/[^/]+\\/issues\\/(\\d+)\\/comments$/.exec(url))) {
  const c = { id: 1000 + comments.length, pr: Number(m[1]), body: input.body, user: { login: 'github-actions[bot]' } };
  comments.push(c);
  fs.writeFileSync(state, JSON.stringify(comments));
  process.stdout.write(JSON.stringify(c));
} else if (method === 'PATCH' && (m = /^repos\\/[^/]+\\/[^/]+\\/issues\\/comments\\/(\\d+)$/.exec(url))) {
  const c = comments.find((c) => c.id === Number(m[1]));
  if (!c) { process.stderr.write('HTTP 404\\n'); process.exit(1); }
  c.body = input.body;
  fs.writeFileSync(state, JSON.stringify(comments));
  process.stdout.write(JSON.stringify(c));
} else { process.stderr.write('stub gh: unexpected ' + JSON.stringify(args) + '\\n'); process.exit(1); }
`;

interface Comment {
  id: number;
  pr: number;
  body: string;
}

/** A workspace with a run config on the simulator, a stub gh, and the runner's files. */
function workspace(o: { candidates?: string[]; event?: string; pr?: number } = {}) {
  const dir = tempDir('holdout-action-');
  const dataset = sampleSlice(dir, 40);
  const models: Record<string, string> = { nano: 'sim-nano', mini: 'sim-mini', frontier: 'sim-frontier' };
  const config = join(dir, 'gate.yaml');
  writeFileSync(
    config,
    [
      'suite: pr gate/main', // a space and a slash: the cache key and the marker must cope
      'dataset: records.jsonl',
      `simulator: { answer_key: ${answerKeyPath()} }`,
      'candidates:',
      ...(o.candidates ?? ['mini']).map(
        (id) =>
          `  - { id: ${id}, model: ${models[id]}, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }`,
      ),
      'scorers:',
      '  - { kind: label, match: { task: classify } }',
      '  - { kind: json, match: { task: extract }, equals_reference: true }',
      '  - { kind: normalized, match: { task: reformat } }',
    ].join('\n'),
  );
  expect(dataset).toBe(join(dir, 'records.jsonl'));
  const bin = join(dir, 'stub-bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'gh'), GH_STUB);
  chmodSync(join(bin, 'gh'), 0o755);
  const event = join(dir, 'event.json');
  writeFileSync(event, JSON.stringify({ pull_request: { number: o.pr ?? 7 } }));
  const runner = join(dir, 'runner-temp');
  mkdirSync(runner);
  return {
    dir,
    config,
    runner,
    calls: () =>
      existsSync(join(dir, 'calls.jsonl'))
        ? readFileSync(join(dir, 'calls.jsonl'), 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as { args: string[]; input?: { body: string }; token?: string })
        : [],
    comments: (): Comment[] =>
      existsSync(join(dir, 'comments.json'))
        ? JSON.parse(readFileSync(join(dir, 'comments.json'), 'utf8'))
        : [],
    env: (): NodeJS.ProcessEnv => ({
      PATH: `${bin}${delimiter}${process.env.PATH}`,
      HOME: process.env.HOME,
      GH_STUB_DIR: dir,
      GH_TOKEN: 'ghs_test_token',
      OPENAI_API_KEY: 'sk-test-not-a-real-key',
      GITHUB_EVENT_NAME: o.event ?? 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_ATTEMPT: '1',
      RUNNER_TEMP: runner,
    }),
  };
}

type Workspace = ReturnType<typeof workspace>;

/** Runs one step of the action; returns its exit code, log and the outputs it set. */
function step(ws: Workspace, name: string, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}) {
  const outFile = join(ws.dir, `output-${name}-${Math.random().toString(36).slice(2)}`);
  const summaryFile = join(ws.dir, 'summary.md');
  writeFileSync(outFile, '');
  const env: NodeJS.ProcessEnv = { ...ws.env(), GITHUB_OUTPUT: outFile, GITHUB_STEP_SUMMARY: summaryFile };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k}`] = v;
  for (const [k, v] of Object.entries(extraEnv)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const r = spawnSync(process.execPath, [GATE, name], { cwd: ws.dir, env, encoding: 'utf8' });
  const outputs: Record<string, string> = {};
  for (const line of readFileSync(outFile, 'utf8').split('\n').filter(Boolean)) {
    const at = line.indexOf('=');
    outputs[line.slice(0, at)] = line.slice(at + 1);
  }
  const summary = existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '';
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, outputs, summary };
}

/** prepare then gate, as action.yml chains them (prepare's outputs become the gate's inputs). */
function prepareAndGate(ws: Workspace, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}) {
  const prep = step(ws, 'prepare', { CONFIG: 'gate.yaml', ...inputs }, extraEnv);
  expect(prep.code, prep.stdout + prep.stderr).toBe(0);
  const gate = step(
    ws,
    'gate',
    {
      CONFIG: 'gate.yaml',
      SUITE_RESOLVED: prep.outputs.suite!,
      DB: prep.outputs.db!,
      OUTPUT_DIR_RESOLVED: prep.outputs['output-dir']!,
      ...inputs,
    },
    extraEnv,
  );
  expect(gate.code, gate.stdout + gate.stderr).toBe(0);
  return { prep, gate };
}

describe('action.yml', () => {
  it('maps every input it declares into a step, and each output to a step that sets it', () => {
    const action = parse(readFileSync(join(packageRoot(), 'action.yml'), 'utf8')) as {
      inputs: Record<string, { description: string }>;
      outputs: Record<string, { value: string }>;
      runs: {
        using: string;
        steps: { id?: string; env?: Record<string, string>; with?: Record<string, string> }[];
      };
    };
    expect(action.runs.using).toBe('composite');
    const used = JSON.stringify(action.runs.steps);
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect(spec.description, name).toBeTruthy();
      expect(used, `input ${name} is never used`).toContain(`inputs.${name} }}`);
    }
    const ids = new Set(action.runs.steps.map((s) => s.id).filter(Boolean));
    for (const [name, spec] of Object.entries(action.outputs)) {
      const m = /steps\.([\w-]+)\.outputs\./.exec(spec.value);
      expect(m && ids.has(m[1]!), `output ${name}`).toBe(true);
    }
    // Inputs reach scripts through env only: an expression inside `run:` would be script injection.
    for (const s of action.runs.steps as { run?: string }[]) {
      if (s.run) expect(s.run).not.toContain('${{');
    }
  });
});

describe('the action, step by step, against the simulator', () => {
  it('no API key: check-key says skipped with a notice, for the other steps to skip', () => {
    const ws = workspace();
    const r = step(ws, 'check-key', {}, { OPENAI_API_KEY: undefined });
    expect(r.code).toBe(0);
    expect(r.outputs.skipped).toBe('true');
    expect(r.stdout).toContain('::notice title=holdout::skipped: no API key in OPENAI_API_KEY');
    expect(r.stdout).toContain('pull requests from forks');
    expect(r.summary).toContain('nothing was run, compared or commented');
    expect(ws.calls()).toEqual([]);
    // An empty secret is the same as none; a key present is not skipped.
    expect(step(ws, 'check-key', {}, { OPENAI_API_KEY: '' }).outputs.skipped).toBe('true');
    expect(step(ws, 'check-key', {}).outputs.skipped).toBe('false');
    const two = step(ws, 'check-key', { API_KEY_ENV: 'OPENAI_API_KEY, JUDGE_KEY' });
    expect(two.outputs.skipped).toBe('true');
    expect(two.stdout).toContain('no API key in JUDGE_KEY');
  });

  it('prepare: the suite from the config, a safe cache key per workflow run, a prefix to restore', () => {
    const ws = workspace();
    const r = step(ws, 'prepare', { CONFIG: 'gate.yaml', AGAINST: 'previous' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({
      suite: 'pr gate/main',
      slug: 'pr-gate-main',
      'cache-key': 'holdout-db-pr-gate-main-4242-1',
      'cache-prefix': 'holdout-db-pr-gate-main-',
      db: join(ws.runner, 'holdout-db-pr-gate-main', 'holdout.db'),
      'db-dir': join(ws.runner, 'holdout-db-pr-gate-main'),
      // A pull request in `previous` mode must not save: its run would become its own next baseline.
      'save-cache': 'false',
    });
    expect(
      step(ws, 'prepare', { CONFIG: 'gate.yaml', AGAINST: 'previous' }, { GITHUB_EVENT_NAME: 'schedule' })
        .outputs['save-cache'],
    ).toBe('true');
    expect(step(ws, 'prepare', { CONFIG: 'gate.yaml' }).outputs['save-cache']).toBe('true');
    expect(step(ws, 'prepare', { CONFIG: 'gate.yaml', SUITE: 'pr gate/main' }).outputs.suite).toBe(
      'pr gate/main',
    );
    const renamed = step(ws, 'prepare', { CONFIG: 'gate.yaml', SUITE: 'x' });
    expect(renamed.code).toBe(2);
    expect(renamed.stdout).toContain('the suite input "x" is not the suite of gate.yaml ("pr gate/main")');
    const missing = step(ws, 'prepare', { CONFIG: 'nope.yaml' });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('::error title=holdout::the run config nope.yaml does not exist');
  });

  it('against previous: the first run is a notice and posts the comment; the next updates the same comment', () => {
    const ws = workspace();
    // Someone else's comment on the PR that mentions holdout: never edited.
    writeFileSync(
      join(ws.dir, 'comments.json'),
      JSON.stringify([
        { id: 1, pr: 7, body: 'looks fine; see the holdout gate below', user: { login: 'dev' } },
      ]),
    );
    const inputs = { AGAINST: 'previous', CANDIDATE: 'mini' };

    const first = prepareAndGate(ws, inputs).gate;
    expect(first.outputs).toMatchObject({ verdict: 'FIRST_RUN', 'exit-code': '0', 'db-exists': 'true' });
    expect(first.stdout).toContain('::notice title=holdout::first run of suite "pr gate/main"');
    expect(first.stdout).not.toContain('::error');
    const posted = first.outputs['comment-id'];
    expect(posted).toBe('1001');

    const again = prepareAndGate(ws, inputs);
    const second = again.gate;
    // The simulator answers alike: 0 discordant pairs of 40 cannot show non-inferiority at 3 points.
    expect(second.outputs).toMatchObject({ verdict: 'INCONCLUSIVE', 'exit-code': '0' });
    expect(second.outputs['baseline-run']).toBe('1');
    expect(second.outputs['candidate-run']).toBe('2');
    expect(second.outputs['comment-id']).toBe(posted);

    const writes = ws.calls().filter((c) => c.args.includes('-X'));
    expect(writes.map((c) => [c.args[2], c.args[3]])).toEqual([
      ['POST', 'repos/acme/app/issues/7/comments'],
      ['PATCH', `repos/acme/app/issues/comments/${posted}`],
    ]);
    expect(ws.calls().every((c) => c.token === 'ghs_test_token')).toBe(true);
    const comments = ws.comments();
    expect(comments.map((c) => c.id)).toEqual([1, 1001]);
    expect(comments[0]!.body).toBe('looks fine; see the holdout gate below');
    const body = comments[1]!.body;
    expect(body.startsWith('<!-- holdout-gate suite=pr-gate-main -->\n')).toBe(true);
    expect(body).toContain('INCONCLUSIVE');
    expect(body).not.toContain('first run');
    expect(body).toContain('https://github.example/acme/app/actions/runs/4242');
    expect(second.summary).toContain('INCONCLUSIVE');

    const out = again.prep.outputs['output-dir']!;
    for (const f of [
      'compare.md',
      'compare.json',
      'compare.xml',
      'report.html',
      'trend.md',
      'trend.csv',
      'run-report.md',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'compare.xml'), 'utf8')).toContain('<testsuite');
    // The trend holds both runs of the suite.
    expect(readFileSync(join(out, 'trend.csv'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(3);
    // The verdict step: INCONCLUSIVE does not block.
    expect(step(ws, 'verdict', { VERDICT: 'INCONCLUSIVE', EXIT_CODE: '0' }).code).toBe(0);
  });

  it('a pinned baseline: two candidates of one run; a regression fails the check, with the JUnit XML', () => {
    const ws = workspace({ candidates: ['frontier', 'nano'] });
    const { gate } = prepareAndGate(ws, { BASELINE: 'frontier', CANDIDATE: 'nano', BY: 'task' });
    const out = join(ws.runner, 'holdout-out-pr-gate-main');
    const result = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as {
      verdict: string;
      baseline: { runId: number; candidate: string };
    };
    // The simulated nano misses far more of the sample than frontier (its answer-key error rate).
    expect(result.verdict).toBe('FAIL');
    expect(gate.outputs.verdict).toBe('FAIL');
    expect(result.baseline).toMatchObject({ runId: 1, candidate: 'frontier' });
    expect(gate.outputs['exit-code']).toBe('1');
    expect(gate.stdout).toContain('::error title=holdout::FAIL');
    const v = step(ws, 'verdict', { VERDICT: gate.outputs.verdict!, EXIT_CODE: gate.outputs['exit-code']! });
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('FAIL: a supported regression (exit 1)');
    expect(ws.calls().filter((c) => c.args.includes('POST'))).toHaveLength(1);
  });

  it('not a pull request (a schedule): no gh call, the verdict goes to the job summary', () => {
    const ws = workspace({ event: 'schedule' });
    const { gate } = prepareAndGate(ws, { AGAINST: 'previous' });
    expect(gate.outputs.verdict).toBe('FIRST_RUN');
    expect(gate.outputs['comment-id']).toBeUndefined();
    expect(ws.calls()).toEqual([]);
    expect(gate.summary).toContain('<!-- holdout-gate suite=pr-gate-main -->');
    expect(gate.summary).toContain('nothing to compare with yet');
  });

  it('a comment GitHub refuses (a fork token) is a warning; the gate still reports its verdict', () => {
    const ws = workspace();
    const { gate } = prepareAndGate(ws, { AGAINST: 'previous' }, { FAIL_GH: 'POST' });
    expect(gate.outputs).toMatchObject({ verdict: 'FIRST_RUN', 'exit-code': '0' });
    expect(gate.stdout).toContain('::warning title=holdout::could not comment on #7');
    expect(gate.stdout).toContain('Resource not accessible by integration');
  });

  it('a run that cannot start is RUN_FAILED with its exit code; bad inputs are errors', () => {
    const ws = workspace();
    writeFileSync(join(ws.dir, 'records.jsonl'), '{not json\n');
    const { gate } = prepareAndGate(ws, { AGAINST: 'previous' });
    expect(gate.outputs.verdict).toBe('RUN_FAILED');
    expect(gate.outputs['exit-code']).toBe('2');
    expect(gate.stdout).toContain(
      '::error title=holdout::the run of suite "pr gate/main" did not finish (holdout run exit 2)',
    );
    expect(step(ws, 'verdict', { VERDICT: 'RUN_FAILED', EXIT_CODE: '2' }).code).toBe(2);

    const ok = workspace();
    const prep = step(ok, 'prepare', { CONFIG: 'gate.yaml' });
    const noIds = step(ok, 'gate', {
      CONFIG: 'gate.yaml',
      SUITE_RESOLVED: prep.outputs.suite!,
      DB: prep.outputs.db!,
      OUTPUT_DIR_RESOLVED: prep.outputs['output-dir']!,
    });
    expect(noIds.code).toBe(2);
    expect(noIds.stdout).toContain('give both `baseline` and `candidate`');
    // A verdict step without a gate outcome (the gate step crashed) fails rather than passes.
    expect(step(ok, 'verdict', {}).code).toBe(1);
  });
});
