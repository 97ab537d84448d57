import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { main } from '../../harness/cli/main.js';
import { packageRoot } from '../../harness/paths.js';

export function tempDir(prefix = 'holdout-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Runs the CLI in-process, as the bin does, and captures what it prints. */
export async function runCli(argv: string[], opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(argv, {
    stdout,
    stderr,
    env: opts.env ?? {},
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The first `n` lines of the bundled sample (mixed tasks), written to a temp JSONL file. */
export function sampleSlice(
  dir: string,
  n: number,
  filter?: (rec: { tags: Record<string, string> }) => boolean,
): string {
  const lines = readFileSync(join(packageRoot(), 'datasets/sample/records.jsonl'), 'utf8').trim().split('\n');
  const picked = lines.filter((l) => !filter || filter(JSON.parse(l))).slice(0, n);
  const path = join(dir, 'records.jsonl');
  writeFileSync(path, `${picked.join('\n')}\n`);
  return path;
}

export function answerKeyPath(): string {
  return join(packageRoot(), 'datasets/sample/answer-key.json');
}

/** The rows a query returns from a database file, opened read-only and closed again. */
export function queryDb<T = Record<string, unknown>>(path: string, sql: string, ...params: unknown[]): T[] {
  const d = new Database(path, { readonly: true });
  try {
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}
