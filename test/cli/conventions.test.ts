/**
 * What users expect of a command line (issue 13): $HOLDOUT_DB, --quiet, --json, colour only on a
 * terminal (NO_COLOR, FORCE_COLOR), and shell completion that still knows every command although
 * main loads only the one being run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, commandName, heldStderr, main } from '../../harness/cli/main.js';
import { DB_ENV, explicitDb, packageRoot } from '../../harness/paths.js';
import { colorEnabled, paint } from '../../results/render/text-style.js';
import { answerKeyPath, queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

const ESC = '\x1b[';

/** A run config on the simulator over `n` sample records, with its own `db:` line when given. */
function simConfig(dir: string, n: number, db?: string): string {
  const cfg = join(dir, 'run.yaml');
  writeFileSync(
    cfg,
    [
      `dataset: ${sampleSlice(dir, n)}`,
      `simulator: { answer_key: ${answerKeyPath()} }`,
      ...(db === undefined ? [] : [`db: ${db}`]),
      'candidates:',
      '  - { id: m, model: sim-mini, base_url: simulator, price: { input: 0.75, cached_input: 0.075, output: 4.5 } }',
      '  - { id: n, model: sim-nano, base_url: simulator, price: { input: 0.2, cached_input: 0.02, output: 1.25 } }',
      'scorers: [{ kind: label, match: { task: classify } }]',
    ].join('\n'),
  );
  return cfg;
}

const runCount = (db: string) => queryDb<{ n: number }>(db, 'SELECT count(*) AS n FROM runs')[0]!.n;

describe('the database: --db, then $HOLDOUT_DB, then the config’s db:, then results/holdout.db', () => {
  it('explicitDb: the flag wins, then the variable; an empty variable counts as unset', () => {
    expect(DB_ENV).toBe('HOLDOUT_DB');
    expect(explicitDb('flag.db', { HOLDOUT_DB: 'env.db' })).toBe('flag.db');
    expect(explicitDb(undefined, { HOLDOUT_DB: 'env.db' })).toBe('env.db');
    expect(explicitDb(undefined, { HOLDOUT_DB: '' })).toBeUndefined();
    expect(explicitDb(undefined, {})).toBeUndefined();
  });

  it('holdout run: --db over HOLDOUT_DB over the config’s db:', async () => {
    const dir = tempDir();
    const cfgDb = join(dir, 'from-config.db');
    const envDb = join(dir, 'from-env.db');
    const flagDb = join(dir, 'from-flag.db');
    const cfg = simConfig(dir, 3, cfgDb);

    expect((await runCli(['run', cfg, '--quiet'])).code).toBe(0);
    expect(runCount(cfgDb)).toBe(1);

    expect((await runCli(['run', cfg, '--quiet'], { env: { HOLDOUT_DB: envDb } })).code).toBe(0);
    expect(runCount(envDb)).toBe(1);
    expect(runCount(cfgDb)).toBe(1); // untouched

    const flag = await runCli(['run', cfg, '--db', flagDb, '--quiet'], { env: { HOLDOUT_DB: envDb } });
    expect(flag.code).toBe(0);
    expect(runCount(flagDb)).toBe(1);
    expect(runCount(envDb)).toBe(1);
  }, 60_000);

  it('the reading commands read $HOLDOUT_DB, and --db still overrides it', async () => {
    const dir = tempDir();
    const db = join(dir, 'h.db');
    expect((await runCli(['run', simConfig(dir, 2), '--db', db, '--quiet'])).code).toBe(0);
    const env = { HOLDOUT_DB: db };
    const runs = await runCli(['runs', '--json'], { env });
    expect(runs.code).toBe(0);
    expect(JSON.parse(runs.stdout)).toHaveLength(1);
    const report = await runCli(['report', '--json'], { env });
    expect(JSON.parse(report.stdout).run.id).toBe(1);
    const missing = await runCli(['runs', '--db', join(dir, 'other.db')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no database at .*other\.db/);
  }, 60_000);
});

describe('--json and --quiet', () => {
  let dir: string;
  let db: string;
  beforeAll(async () => {
    dir = tempDir();
    db = join(dir, 'h.db');
    const res = await runCli(['run', simConfig(dir, 4), '--db', db, '--quiet']);
    expect(res.code).toBe(0);
  }, 60_000);

  it('--json prints what --format json prints, on report, runs and compare', async () => {
    for (const args of [
      ['report', '1'],
      ['runs'],
      ['compare', '--run', '1', '--baseline', 'm', '--candidate', 'n'],
    ]) {
      const viaFormat = await runCli([...args, '--db', db, '--format', 'json']);
      const viaJson = await runCli([...args, '--db', db, '--json']);
      expect(viaJson.code).toBe(viaFormat.code);
      expect(viaJson.stdout).toBe(viaFormat.stdout);
      expect(() => JSON.parse(viaJson.stdout)).not.toThrow();
    }
  });

  it('--json with another --format is a usage error; with --format json it is the same thing', async () => {
    const clash = await runCli(['report', '--db', db, '--json', '--format', 'md']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--json means --format json/);
    const same = await runCli(['report', '--db', db, '--json', '--format=json']);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout).run.id).toBe(1);
  });

  it('show --json: the record and every candidate’s call as JSON', async () => {
    const id = queryDb<{ id: string }>(db, 'SELECT record_id AS id FROM records ORDER BY seq LIMIT 1')[0]!.id;
    const res = await runCli(['show', '1', id, '--db', db, '--json']);
    expect(res.code).toBe(0);
    const evidence = JSON.parse(res.stdout);
    expect(evidence.record.id).toBe(id);
    expect(evidence.calls.map((c: { candidate: string }) => c.candidate).sort()).toEqual(['m', 'n']);
  });

  it('--quiet: a command that succeeds writes nothing on stderr; its data is unchanged', async () => {
    const out = join(dir, 'report.md');
    const loud = await runCli(['report', '--db', db, '--format', 'md', '--out', out]);
    expect(loud.stderr).toMatch(/report written to/);
    const quiet = await runCli(['report', '--db', db, '--format', 'md', '--out', out, '--quiet']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(existsSync(out)).toBe(true);
    const q = await runCli(['report', '--db', db, '-q']);
    expect(q.stdout).toBe((await runCli(['report', '--db', db])).stdout);
    expect(q.stderr).toBe('');
  });

  it('--quiet: errors still print', async () => {
    const res = await runCli(['report', '9', '--db', db, '--quiet']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/run 9 is not in this database/);
  });

  it('--quiet on a run: no progress on stderr', async () => {
    const d = tempDir();
    const res = await runCli(['run', simConfig(d, 2), '--db', join(d, 'q.db'), '-q']);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
  }, 60_000);

  it('heldStderr: held back until released, bounded to the last lines', () => {
    const held = heldStderr();
    held.stream.write('progress 1/3\n');
    held.stream.write(Buffer.from('run 4 is incomplete\n'));
    const to = capture();
    held.release(to);
    expect(to.text).toBe('progress 1/3\nrun 4 is incomplete\n');
    held.release(to); // released once
    expect(to.text).toBe('progress 1/3\nrun 4 is incomplete\n');

    const big = heldStderr();
    const line = `${'x'.repeat(99)}\n`; // 100 characters
    for (let i = 0; i < 1000; i++) big.stream.write(line); // 100,000 characters, over the 65,536 kept
    big.stream.write('the last line\n');
    const to2 = capture();
    big.release(to2);
    const lines = to2.text.split('\n');
    expect(lines[0]).toBe('[earlier lines left out]');
    expect(lines.at(-2)).toBe('the last line');
    // Whole lines only, and no more than the limit: floor((65,536 - 14) / 100) = 655 of them fit.
    expect(lines.slice(1, -2).every((l) => l === 'x'.repeat(99))).toBe(true);
    expect(lines.length - 3).toBe(655);
  });
});

function capture(isTTY?: boolean) {
  const stream = new Writable({
    write(chunk, _enc, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string; isTTY?: boolean };
  stream.text = '';
  if (isTTY !== undefined) stream.isTTY = isTTY;
  return stream;
}

describe('colour: on a terminal only, NO_COLOR and FORCE_COLOR honoured', () => {
  it('colorEnabled: FORCE_COLOR first, then NO_COLOR, then a terminal that is not dumb', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(colorEnabled({}, {})).toBe(false);
    expect(colorEnabled(tty, { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: an empty value is unset
    expect(colorEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(pipe, { FORCE_COLOR: '' })).toBe(true);
    expect(colorEnabled(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorEnabled(tty, { FORCE_COLOR: 'false' })).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
  });

  it('paint: SGR codes only when on', () => {
    expect(paint('red', 'FAIL', true)).toBe('\x1b[31mFAIL\x1b[39m');
    expect(paint('bold', 'x', true)).toBe('\x1b[1mx\x1b[22m');
    expect(paint('red', 'FAIL', false)).toBe('FAIL');
    expect(paint('red', '', true)).toBe('');
  });

  async function errorText(isTTY: boolean, env: NodeJS.ProcessEnv): Promise<string> {
    const stderr = capture(isTTY);
    const code = await main(['report', '--db', join(tempDir(), 'none.db')], {
      stdout: capture(),
      stderr,
      env,
      signal: new AbortController().signal,
    });
    expect(code).toBe(2);
    return stderr.text;
  }

  it('an error on a terminal has a coloured label; piped, or with NO_COLOR, it is plain text', async () => {
    const coloured = await errorText(true, {});
    expect(coloured).toContain(`${ESC}31m`);
    expect(coloured).toMatch(/no database at/);
    for (const [isTTY, env] of [
      [false, {}],
      [true, { NO_COLOR: '1' }],
      [true, { TERM: 'dumb' }],
    ] as const) {
      expect(await errorText(isTTY, env)).not.toContain(ESC);
    }
    expect(await errorText(false, { FORCE_COLOR: '1' })).toContain(`${ESC}31m`);
  });
});

describe('shell completion', () => {
  const bin = join(packageRoot(), 'bin/holdout.js');
  const holdout = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, SHELL: '/bin/bash' },
    });

  it('holdout completion prints a bash script that calls back holdout', () => {
    const res = holdout('completion');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^###-begin-holdout-completions-###/m);
    expect(res.stdout).toContain('--get-yargs-completions');
    expect(res.stdout).toMatch(/complete .*holdout/);
  });

  it('offers every command name, though only the command being run is loaded', () => {
    const res = holdout('--get-yargs-completions', 'holdout', '');
    expect(res.status).toBe(0);
    const offered = res.stdout.trim().split('\n');
    for (const entry of COMMANDS) expect(offered).toContain(commandName(entry));
  });

  it('offers the flags of the command named', () => {
    const res = holdout('--get-yargs-completions', 'holdout', 'report', '--');
    expect(res.status).toBe(0);
    const offered = res.stdout.trim().split('\n');
    for (const flag of ['--db', '--format', '--json', '--baseline', '--quiet'])
      expect(offered).toContain(flag);
    expect(offered).not.toContain('--candidate'); // compare's, not report's
  });

  it('--help names the global flags and the completion command', () => {
    const res = holdout('--help');
    expect(res.stdout).toMatch(/--quiet/);
    expect(res.stdout).toMatch(/holdout completion/);
    const report = holdout('report', '--help');
    expect(report.stdout).toMatch(/--json\s+print JSON \(the same as --format json\)/);
    expect(report.stdout).toMatch(/HOLDOUT_DB/);
  });
});

// The bundled sample is what these tests draw from: fail loudly if it moved.
it('the sample records exist', () => {
  expect(readFileSync(join(packageRoot(), 'datasets/sample/records.jsonl'), 'utf8').length).toBeGreaterThan(
    0,
  );
});
