#!/usr/bin/env node
/**
 * The logic of the holdout GitHub Action (../action.yml), one subcommand per step:
 *
 *   node gate.mjs check-key   is an API key there? (fork PRs get no secrets: skip with a notice)
 *   node gate.mjs prepare     the suite, the database path and the cache keys
 *   node gate.mjs gate        run, report, compare, post or update the PR comment, write the summary
 *   node gate.mjs verdict     turn the gate's outcome into the step's exit code
 *
 * It reads the action's inputs from INPUT_* variables (action.yml maps them: composite actions do
 * not export inputs) and the GITHUB_* variables the runner sets, writes step outputs to
 * $GITHUB_OUTPUT, and talks to GitHub only through the `gh` CLI, so that a test can run every step
 * with a fake environment and a `gh` on PATH that records what it is asked.
 * Only node's own modules are used: check-key runs before holdout's dependencies are installed.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const HOLDOUT = join(HERE, '..', 'bin', 'holdout.js');

/** GitHub refuses a comment body over 65,536 characters. */
const COMMENT_LIMIT = 60_000;
/** Exit code of `holdout compare --against previous` when the suite has no previous run. */
const NO_PREVIOUS = 4;

const env = process.env;
const input = (name, fallback = '') => (env[`INPUT_${name}`] ?? '').trim() || fallback;

// --- workflow commands and outputs ---------------------------------------------------------------

/** Workflow command data is %-encoded: a line break would end the command. */
const encode = (s) => String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const annotate = (kind, message) => console.log(`::${kind} title=holdout::${encode(message)}`);

function setOutput(name, value) {
  const line = `${name}=${String(value).replace(/[\r\n]+/g, ' ')}\n`;
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, line);
  else process.stdout.write(`output ${line}`);
}

function summary(markdown) {
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${markdown}\n`);
}

/** A suite name as it may stand in a cache key, an artifact name and the comment marker. */
function slug(suite) {
  const s = suite.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return s === '' ? 'default' : s.slice(0, 80);
}

// --- check-key -----------------------------------------------------------------------------------

function checkKey() {
  const names = input('API_KEY_ENV', 'OPENAI_API_KEY')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) {
    const why =
      env.GITHUB_EVENT_NAME === 'pull_request'
        ? ' (GitHub passes no secrets to workflows of pull requests from forks)'
        : '';
    const text = `skipped: no API key in ${missing.join(', ')}${why}; nothing was run, compared or commented`;
    annotate('notice', text);
    summary(`### holdout\n\n${text}.`);
    setOutput('skipped', 'true');
    return 0;
  }
  setOutput('skipped', 'false');
  return 0;
}

// --- prepare -------------------------------------------------------------------------------------

/**
 * The suite a config names (`suite:`, default "default", as harness/config.ts defaults it);
 * undefined when the file is no YAML and the `suite` input is there to say it.
 */
async function suiteOf(configPath) {
  const { parse } = await import('yaml');
  let doc;
  try {
    doc = parse(readFileSync(configPath, 'utf8'));
  } catch {
    return input('SUITE') ? undefined : 'default'; // holdout run will name what is wrong with it
  }
  const suite = doc && typeof doc === 'object' ? doc.suite : undefined;
  return typeof suite === 'string' && suite.trim() !== '' ? suite.trim() : 'default';
}

async function prepare() {
  const config = input('CONFIG');
  if (!config) throw new Error('the `config` input is required: the path of a holdout run config');
  if (!existsSync(config)) throw new Error(`the run config ${config} does not exist (cwd ${process.cwd()})`);
  const named = await suiteOf(config);
  // The input only names the suite where the config cannot be read here; it never renames it, or
  // compare and report (which look the suite up in the database) would find no run of it.
  if (input('SUITE') && named !== undefined && input('SUITE') !== named)
    throw new Error(`the suite input "${input('SUITE')}" is not the suite of ${config} ("${named}")`);
  const suite = named ?? input('SUITE');
  const s = slug(suite);
  const temp = env.RUNNER_TEMP || join(process.cwd(), '.holdout-action');
  const dbDir = resolve(input('DB_DIR', join(temp, `holdout-db-${s}`)));
  const outDir = resolve(input('OUTPUT_DIR', join(temp, `holdout-out-${s}`)));
  mkdirSync(dbDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const prefix = `holdout-db-${s}-`;
  setOutput('suite', suite);
  setOutput('slug', s);
  setOutput('db', join(dbDir, 'holdout.db'));
  setOutput('db-dir', dbDir);
  setOutput('output-dir', outDir);
  // Caches are immutable: one key per workflow run; the prefix restores the newest of the suite.
  setOutput('cache-key', `${prefix}${env.GITHUB_RUN_ID || 'local'}-${env.GITHUB_RUN_ATTEMPT || '1'}`);
  setOutput('cache-prefix', prefix);
  setOutput('save-cache', saveCache() ? 'true' : 'false');
  return 0;
}

/**
 * `auto`: save, except a pull request's run in `previous` mode. That run's database must not become
 * the next push's baseline: a regression pushed twice would compare with itself and pass. Runs on the
 * default branch (push, schedule) keep the baseline; pull requests always compare with it.
 */
function saveCache() {
  const v = input('SAVE_CACHE', 'auto');
  if (v === 'true' || v === 'false') return v === 'true';
  const pr = env.GITHUB_EVENT_NAME === 'pull_request' || env.GITHUB_EVENT_NAME === 'pull_request_target';
  return !(pr && input('AGAINST') === 'previous');
}

// --- gate ----------------------------------------------------------------------------------------

/** Runs holdout; stdout to `out` (a file) when given, stderr to the job log (and returned). */
function holdout(args, out) {
  console.log(`$ holdout ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [HOLDOUT, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (out !== undefined) writeFileSync(out, r.stdout);
  else if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  return { code: r.status ?? 1, stderr: r.stderr ?? '' };
}

const lastLine = (text) => text.trim().split('\n').filter(Boolean).at(-1) ?? '';

function compareArgs(db, suite) {
  const against = input('AGAINST');
  const baseline = input('BASELINE');
  const candidate = input('CANDIDATE');
  const args = ['compare', '--db', db, '--suite', suite];
  if (against === 'previous') args.push('--against', 'previous');
  else if (against !== '')
    throw new Error(`against: "${against}" is not known: leave it empty or say previous`);
  else if (!baseline || !candidate)
    throw new Error(
      'give both `baseline` and `candidate` (candidate ids of the run), or `against: previous`',
    );
  if (baseline) args.push('--baseline', baseline);
  if (candidate) args.push('--candidate', candidate);
  args.push('--margin', input('MARGIN', '0.03'), '--alpha', input('ALPHA', '0.025'));
  if (input('BY')) args.push('--by', input('BY'));
  if (input('FAIL_ON_INCONCLUSIVE', 'false') === 'true') args.push('--fail-on-inconclusive');
  return args;
}

function gate() {
  const config = input('CONFIG');
  const suite = input('SUITE_RESOLVED');
  const db = input('DB');
  const out = input('OUTPUT_DIR_RESOLVED');
  const format = input('FORMAT', 'md');
  if (format !== 'md' && format !== 'table') throw new Error(`format: "${format}" must be md or table`);
  const file = (name) => join(out, name);
  mkdirSync(out, { recursive: true });
  setOutput('db-exists', 'false');

  const extra = input('RUN_ARGS').split(/\s+/).filter(Boolean);
  const ran = holdout(['run', config, '--db', db, '--format', 'md', ...extra], file('run-report.md'));
  if (existsSync(db)) setOutput('db-exists', 'true');
  if (ran.code !== 0) {
    const text = `the run of suite "${suite}" did not finish (holdout run exit ${ran.code}): ${lastLine(ran.stderr)}`;
    return finish({ verdict: 'RUN_FAILED', code: ran.code, text, annotation: 'error', suite, out });
  }

  const by = input('BY') ? ['--by', input('BY')] : [];
  holdout(['report', '--db', db, '--suite', suite, ...by, '--format', 'html', '--out', file('report.html')]);
  holdout(['report', '--db', db, '--suite', suite, '--trend', '--format', 'md', '--out', file('trend.md')]);
  holdout(['report', '--db', db, '--suite', suite, '--trend', '--format', 'csv', '--out', file('trend.csv')]);

  const args = compareArgs(db, suite);
  const json = holdout([...args, '--format', 'json', '--out', file('compare.json')]);
  if (json.code === NO_PREVIOUS) {
    const text =
      `first run of suite "${suite}" with this config and dataset: nothing to compare with yet; ` +
      'the next run will be compared with this one';
    return finish({ verdict: 'FIRST_RUN', code: 0, text, annotation: 'notice', suite, out });
  }
  // 1 is FAIL, but also what an unexpected crash exits with: only a written comparison is a verdict.
  if (![0, 1, 3].includes(json.code) || !existsSync(file('compare.json'))) {
    const text = `holdout compare could not run (exit ${json.code}): ${lastLine(json.stderr)}`;
    return finish({ verdict: 'ERROR', code: json.code, text, annotation: 'error', suite, out });
  }
  const result = JSON.parse(readFileSync(file('compare.json'), 'utf8'));
  holdout([...args, '--format', 'junit', '--out', file('compare.xml')]);
  holdout([...args, '--format', format, '--out', file(`compare.${format === 'md' ? 'md' : 'txt'}`)]);
  const shown = readFileSync(file(`compare.${format === 'md' ? 'md' : 'txt'}`), 'utf8');
  setOutput('baseline-run', result.baseline.runId);
  setOutput('candidate-run', result.candidate.runId);
  return finish({
    verdict: result.verdict,
    code: json.code,
    text: result.summary,
    annotation: json.code === 0 ? (result.verdict === 'PASS' ? undefined : 'warning') : 'error',
    body: format === 'md' ? shown : `\`\`\`\n${shown}\n\`\`\``,
    suite,
    out,
  });
}

/** Writes the outputs, the job summary and the PR comment; the verdict step turns `code` into an exit. */
function finish({ verdict, code, text, annotation, body, suite, out }) {
  if (annotation) annotate(annotation, text);
  const marker = `<!-- holdout-gate suite=${slug(suite)} -->`;
  const link =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `[workflow run](${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID})`
      : 'the workflow run';
  let comment = [
    marker,
    `### holdout · suite \`${suite.replace(/`/g, "'")}\` · ${verdict}`,
    '',
    body ?? `${text}.`,
    '',
    `<sub>JUnit XML, HTML report and trend: artifacts of the ${link}.</sub>`,
  ].join('\n');
  if (comment.length > COMMENT_LIMIT) {
    comment = `${comment.slice(0, COMMENT_LIMIT)}\n\n… cut at ${COMMENT_LIMIT} characters: the full comparison is in the artifacts.`;
  }
  writeFileSync(join(out, 'comment.md'), comment);
  summary(comment);
  setOutput('verdict', verdict);
  setOutput('exit-code', code);
  const id = postComment(comment);
  if (id !== undefined) setOutput('comment-id', id);
  return 0;
}

// --- the PR comment, through gh ------------------------------------------------------------------

function pullRequestNumber() {
  if (env.GITHUB_EVENT_NAME !== 'pull_request' && env.GITHUB_EVENT_NAME !== 'pull_request_target') return;
  if (!env.GITHUB_EVENT_PATH || !existsSync(env.GITHUB_EVENT_PATH)) return;
  const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  return event.pull_request?.number;
}

function gh(args) {
  const r = spawnSync('gh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(r.error.code === 'ENOENT' ? 'the gh CLI is not on PATH' : r.error.message);
  if (r.status !== 0) throw new Error(`gh ${args.slice(0, 3).join(' ')} failed: ${lastLine(r.stderr ?? '')}`);
  return r.stdout;
}

/**
 * One comment per suite and pull request: the first comment whose body starts with the marker is
 * edited; without one, a comment is created. A failure (no token, a fork's read-only token) is a
 * warning, never the gate's failure: the verdict is in the job summary and the check either way.
 */
function postComment(body) {
  if (input('COMMENT', 'true') !== 'true') return;
  const pr = pullRequestNumber();
  if (pr === undefined) return;
  const repo = env.GITHUB_REPOSITORY;
  const marker = body.slice(0, body.indexOf('\n'));
  try {
    let found;
    for (let page = 1; page <= 50 && found === undefined; page++) {
      const comments = JSON.parse(
        gh(['api', `repos/${repo}/issues/${pr}/comments?per_page=100&page=${page}`]),
      );
      found = comments.find((c) => typeof c.body === 'string' && c.body.startsWith(marker));
      if (comments.length < 100) break;
    }
    const payload = join(input('OUTPUT_DIR_RESOLVED', '.'), 'comment.json');
    writeFileSync(payload, JSON.stringify({ body }));
    const res = found
      ? gh(['api', '-X', 'PATCH', `repos/${repo}/issues/comments/${found.id}`, '--input', payload])
      : gh(['api', '-X', 'POST', `repos/${repo}/issues/${pr}/comments`, '--input', payload]);
    const id = JSON.parse(res).id;
    console.log(`${found ? 'updated' : 'posted'} PR comment ${id} on #${pr}`);
    return id;
  } catch (err) {
    annotate('warning', `could not comment on #${pr}: ${err.message}`);
    return;
  }
}

// --- verdict -------------------------------------------------------------------------------------

function verdict() {
  const code = Number(input('EXIT_CODE', '1'));
  const v = input('VERDICT', 'unknown');
  const what = {
    PASS: 'PASS: non-inferiority shown',
    INCONCLUSIVE: 'INCONCLUSIVE: the sample cannot tell',
    FAIL: 'FAIL: a supported regression',
    FIRST_RUN: 'first run of the suite: nothing to compare with (not a failure)',
    RUN_FAILED: 'the run did not finish',
    ERROR: 'holdout compare could not run',
  }[v];
  console.log(`holdout gate: ${what ?? v} (exit ${code})`);
  return Number.isInteger(code) ? code : 1;
}

// --- main ----------------------------------------------------------------------------------------

const steps = { 'check-key': checkKey, prepare, gate, verdict };
const step = steps[process.argv[2]];
if (!step) {
  console.error(`usage: gate.mjs ${Object.keys(steps).join('|')}`);
  process.exit(2);
}
try {
  process.exitCode = await step();
} catch (err) {
  annotate('error', err.message);
  process.exitCode = 2;
}
