/**
 * Start-up stays cheap by construction: main declares the commands without importing them, and a
 * command's module does not import what its common path never uses. Guarded twice, without timing
 * anything (speed is measured in the benchmark): on the source, by following the static imports; and
 * on the built CLI, by recording every module a child process actually loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { buildCli, COMMANDS, commandName, invokedCommand, topHelp } from '../../harness/cli/main.js';
import { packageRoot } from '../../harness/paths.js';

const root = packageRoot();

/** Packages no command may load before it needs them, and what `--help` must not load at all. */
const SDK_AND_SCORERS = ['openai', 'gpt-tokenizer', 'ajv', 'ajv-formats', 'ajv-draft-04', 'jiti', 'yaml'];
const NOT_FOR_HELP = [...SDK_AND_SCORERS, 'better-sqlite3', 'zod', 'csv-parse', 'p-limit'];

/**
 * The static value imports of a source file: `import … from`, `export … from` and bare `import '…'`;
 * `import type` is left out (erased), `import { type A }` kept (verbatimModuleSyntax keeps the import).
 * Dynamic `import()` is what makes a dependency lazy, so it is not followed.
 */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm)) {
    if (m[2] === undefined) out.push(m[3]!);
  }
  return out;
}

const packageOf = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;

/** Every package a source file reaches through static imports, with one chain that leads to it. */
function reachedPackages(entry: string): Map<string, string[]> {
  const chainTo = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  const packages = new Map<string, string[]>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const spec of staticImports(file)) {
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
        if (!chainTo.has(target)) {
          chainTo.set(target, [...chainTo.get(file)!, target]);
          queue.push(target);
        }
      } else if (!packages.has(packageOf(spec))) {
        packages.set(
          packageOf(spec),
          chainTo.get(file)!.map((f) => f.slice(root.length + 1)),
        );
      }
    }
  }
  return packages;
}

function expectNotReached(entry: string, banned: readonly string[]): void {
  const reached = reachedPackages(join(root, entry));
  const found = banned.filter((p) => reached.has(p)).map((p) => `${p} via ${reached.get(p)!.join(' → ')}`);
  expect(found).toEqual([]);
}

describe('start-up: the static import graph', () => {
  it('the import parser sees value imports and skips type imports (checked on a known file)', () => {
    // main.ts imports yargs for its types only, and errors.ts as a value.
    const imports = staticImports(join(root, 'harness/cli/main.ts'));
    expect(imports).toContain('../errors.js');
    expect(imports).not.toContain('yargs');
    // run-command.ts does reach the SDK: the walk finds a package through several files.
    expect(reachedPackages(join(root, 'harness/cli/run-command.ts')).has('openai')).toBe(true);
  });

  it('main.ts imports no command module and no heavy package', () => {
    const imports = staticImports(join(root, 'harness/cli/main.ts'));
    expect(imports.filter((s) => /-command\.js$/.test(s))).toEqual([]);
    expectNotReached('harness/cli/main.ts', [...NOT_FOR_HELP, 'yargs']);
  });

  it('the reading commands do not load the SDK, the tokenizer, the schema validator, jiti, YAML or the simulator', () => {
    for (const command of ['report', 'runs', 'show', 'compare', 'view']) {
      expectNotReached(`harness/cli/${command}-command.ts`, SDK_AND_SCORERS);
      const reached = reachedPackages(join(root, `harness/cli/${command}-command.ts`));
      expect(reached.has('better-sqlite3')).toBe(true); // they do read the database
    }
  });

  it('every command of the table loads, with its flags and its handler', async () => {
    for (const entry of COMMANDS) {
      const loaded = await entry.load();
      expect(typeof loaded.options, commandName(entry)).toBe('function');
      expect(typeof loaded.run, commandName(entry)).toBe('function');
    }
  });
});

describe('start-up: `holdout --help` without yargs', () => {
  // topHelp lays the help out itself; it must say exactly what yargs would, at yargs' width.
  const hooks = { run: async () => {}, missed: () => {} };
  it('is the text yargs prints at 80 columns (narrower terminals get yargs itself)', async () => {
    const yargsText = await buildCli(yargs([]).wrap(80), undefined, hooks).getHelp();
    expect(topHelp(80)).toBe(yargsText);
  });
});

describe('start-up: finding the command in argv', () => {
  it('is the first word that names a command, after flags, and nothing after --', () => {
    const name = (argv: string[]) => {
      const entry = invokedCommand(argv);
      return entry && commandName(entry);
    };
    expect(name(['report', '--db', 'x.db'])).toBe('report');
    expect(name(['--quiet', 'runs'])).toBe('runs');
    expect(name(['--db', 'x.db', 'show', '1', 'r'])).toBe('show');
    expect(name(['--help'])).toBeUndefined();
    expect(name(['frobnicate'])).toBeUndefined();
    expect(name(['--', 'report'])).toBeUndefined();
    expect(name(['compare', '--suite', 'run'])).toBe('compare');
  });
});

/**
 * Runs the built bin with a module loader hook that appends every URL it loads to a file, and
 * returns the packages among them. The hook is public Node API (module.register), so what it sees
 * is exactly what was loaded, lazy imports included.
 */
function loadedPackages(args: string[]): { packages: Set<string>; status: number | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'holdout-startup-'));
  const out = join(dir, 'loaded.txt');
  writeFileSync(out, '');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      'let out;',
      'export function initialize(data) { out = data.out; }',
      "export async function load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); }",
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    [
      "import { register } from 'node:module';",
      `register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { out: ${JSON.stringify(out)} } });`,
    ].join('\n'),
  );
  const res = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(root, 'bin/holdout.js'), ...args],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  const urls = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  expect(urls.some((u) => u.endsWith('/bin/holdout.js'))).toBe(true); // the hook did see the run
  const packages = new Set(
    urls.flatMap((u) => {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
      return m ? [m[1]!] : [];
    }),
  );
  return { packages, status: res.status, stdout: res.stdout };
}

describe('start-up: what the built CLI loads', () => {
  it('`holdout --help` lists every command and loads no package at all (not even the parser)', () => {
    const { packages, status, stdout } = loadedPackages(['--help']);
    expect(status).toBe(0);
    for (const entry of COMMANDS) expect(stdout).toContain(`holdout ${entry.command}`);
    expect([...packages]).toEqual([]);
  });

  it("`holdout --help --quiet` goes through yargs, and loads none of the commands' dependencies", () => {
    const { packages, status } = loadedPackages(['--help', '--quiet']);
    expect(status).toBe(0);
    expect(packages.has('yargs')).toBe(true);
    expect(NOT_FOR_HELP.filter((p) => packages.has(p))).toEqual([]);
  });

  it('`holdout --version` loads no package at all', () => {
    const { packages, status, stdout } = loadedPackages(['--version']);
    expect(status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(stdout).toBe(`${pkg.version}\n`);
    expect([...packages]).toEqual([]);
  });

  it('`holdout report` loads the database driver but not the SDK, the tokenizer, ajv, jiti or YAML', () => {
    // A missing database: exit 2, after the report command's modules are loaded.
    const { packages, status } = loadedPackages(['report', '--db', 'missing.db']);
    expect(status).toBe(2);
    expect(packages.has('better-sqlite3')).toBe(true);
    expect(SDK_AND_SCORERS.filter((p) => packages.has(p))).toEqual([]);
  });

  it('`holdout run --help` does load the run machinery (the guard can see a heavy package)', () => {
    const { packages, status } = loadedPackages(['run', '--help']);
    expect(status).toBe(0);
    expect(packages.has('openai')).toBe(true);
  });
});
