import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this file whether it runs from source (tests) or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'datasets'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('holdout: cannot find the package root');
    dir = up;
  }
}

/** Bundled sample bake-off config. */
export function sampleConfigPath(): string {
  return join(packageRoot(), 'datasets', 'sample', 'bakeoff.yaml');
}

export const DEFAULT_DB = 'results/holdout.db';

export function defaultDbPath(cwd = process.cwd()): string {
  return resolve(cwd, DEFAULT_DB);
}
