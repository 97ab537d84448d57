import { existsSync, readFileSync } from 'node:fs';
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

/** The environment variable naming the database when `--db` is not given. */
export const DB_ENV = 'HOLDOUT_DB';

export function defaultDbPath(cwd = process.cwd()): string {
  return resolve(cwd, DEFAULT_DB);
}

/**
 * The database named explicitly: `--db`, else $HOLDOUT_DB (an empty value counts as unset). When
 * neither names one, what comes next is the run config's `db:` (holdout run), then results/holdout.db
 * (defaultDbPath). main applies this to every command's `--db`, so a command sees one value.
 */
export function explicitDb(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return flag;
  const fromEnv = env[DB_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** The version in the package's package.json: what `holdout --version` prints. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('holdout: package.json has no version');
  return pkg.version;
}
