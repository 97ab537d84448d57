/**
 * The npm package as a user gets it: what `npm pack` puts in the tarball (package.json `files`), that
 * every module the shipped CLI imports is shipped, that the unpacked package runs (`--version`, the
 * demo with its bundled sample), that installing it builds nothing, and that `holdout --version` is
 * package.json's version wherever it runs. .ci/run does the full install into an empty folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../harness/paths.js';
import { tempDir } from './support/cli.js';

const root = packageRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

/** The files `npm pack` would put in the tarball, from the dist/ built now (no scripts run). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('the npm package', () => {
  it('is named in the project scope, MIT, with a LICENSE, a CHANGELOG entry and the bin', () => {
    expect(pkg.name).toBe('@holdout-eval/holdout');
    expect(pkg.bin).toEqual({ holdout: 'bin/holdout.js' });
    expect(pkg.license).toBe('MIT');
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the holdout authors\n/);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).toContain(`## ${pkg.version} `);
  });

  it('packs the compiled CLI, the sample and the docs, and no sources, tests or source maps', () => {
    const files = packedFiles();
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'bin/holdout.js',
      'dist/harness/cli/main.js',
      'datasets/sample/records.jsonl',
      'datasets/sample/answer-key.json',
      'datasets/sample/bakeoff.yaml',
      'examples/github-actions-gate.yml',
    ])
      expect(files, f).toContain(f);
    const stray = files.filter(
      (f) => /\.ts$|\.map$/.test(f) || /^(test|bench|dist\/bench|dist\/test|node_modules|action)\//.test(f),
    );
    expect(stray).toEqual([]);
  });

  it('ships every module the shipped code imports (relative imports of bin/ and dist/)', () => {
    const files = packedFiles();
    const shipped = new Set(files);
    const missing: string[] = [];
    for (const f of files.filter((p) => p.endsWith('.js'))) {
      const text = readFileSync(join(root, f), 'utf8');
      for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
        const target = normalize(join(dirname(f), m[1]!));
        if (!shipped.has(target)) missing.push(`${f} -> ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('builds nothing on install: prepare is a no-op outside a source checkout; prepack builds', () => {
    expect(pkg.scripts.prepack).toMatch(/npm run clean && npm run build/);
    const dir = tempDir('holdout-prepare-');
    const scripts = { prepare: pkg.scripts.prepare, build: 'echo BUILD-RAN > built.txt' };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', scripts }));
    // Without tsconfig.build.json (the tarball has none) it exits 0 at once and builds nothing.
    const r = spawnSync('npm', ['run', 'prepare'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'built.txt'))).toBe(false);
    // In a source checkout (npm ci, a git dependency) it builds.
    writeFileSync(join(dir, 'tsconfig.build.json'), '{}');
    const s = spawnSync('npm', ['run', 'prepare'], { cwd: dir, encoding: 'utf8' });
    expect(s.status, s.stderr).toBe(0);
    expect(readFileSync(join(dir, 'built.txt'), 'utf8')).toContain('BUILD-RAN');
  });

  it('runs unpacked: --version and the demo, from the files in the tarball only', {
    timeout: 180_000,
  }, () => {
    const dir = tempDir('holdout-packed-');
    const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1)!;
    execFileSync('tar', ['xzf', join(dir, tgz), '-C', dir]);
    const unpacked = join(dir, 'package');
    // The dependencies an install would bring, without a second native build of better-sqlite3.
    symlinkSync(join(root, 'node_modules'), join(unpacked, 'node_modules'), 'dir');
    const work = join(dir, 'work');
    mkdirSync(work);
    const bin = join(unpacked, 'bin', 'holdout.js');
    expect(execFileSync(process.execPath, [bin, '--version'], { cwd: work, encoding: 'utf8' }).trim()).toBe(
      pkg.version,
    );
    const demo = spawnSync(process.execPath, [bin, 'demo', '--db', 'demo.db', '--format', 'md'], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('SIMULATED');
    // The sample it ran is the tarball's, not the checkout's.
    expect(demo.stdout).toContain(join(unpacked, 'datasets', 'sample', 'records.jsonl'));
  });
});

describe('holdout --version', () => {
  it("prints package.json's version, even inside another project (yargs would read the cwd's)", () => {
    const dir = tempDir('holdout-version-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'someone-else', version: '9.9.9' }));
    const out = execFileSync(process.execPath, [join(root, 'bin', 'holdout.js'), '--version'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(pkg.version);
  });
});
