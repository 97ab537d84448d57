import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type ImportIo, type ImportSpecInput, importToFile } from '../../../datasets/import/index.js';
import { packageRoot } from '../../../harness/paths.js';
import { fakeClock } from '../../support/fakes.js';

export const FIXTURES = join(packageRoot(), 'test/fixtures/import');
export const fixture = (name: string) => join(FIXTURES, name);

export function capture() {
  const chunks: string[] = [];
  return {
    stream: {
      write(s: string) {
        chunks.push(s);
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    get text() {
      return chunks.join('');
    },
  };
}

/** Runs an import with a captured stderr and a fake clock; returns the summary and what was printed. */
export async function runImport(spec: ImportSpecInput, io: Partial<ImportIo> = {}) {
  const err = capture();
  const summary = await importToFile(spec, { env: {}, clock: fakeClock(), stderr: err.stream, ...io });
  return { summary, stderr: err.text };
}

/** Same, but expects a failure and returns it with what was printed. */
export async function failImport(spec: ImportSpecInput, io: Partial<ImportIo> = {}) {
  const err = capture();
  const error = await importToFile(spec, { env: {}, clock: fakeClock(), stderr: err.stream, ...io }).then(
    () => {
      throw new Error('expected the import to fail');
    },
    (e: unknown) => e as Error & { code?: string; exitCode?: number; hint?: string },
  );
  return { error, stderr: err.text };
}

// biome-ignore lint/suspicious/noExplicitAny: records are checked field by field in the tests.
export function readJsonl(path: string): any[] {
  const buf = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** The expected fallback id, computed from a canonical JSON string written out by hand in the test. */
export function hashId(canonicalRequestJson: string): string {
  return `h_${createHash('sha256').update(canonicalRequestJson).digest('hex').slice(0, 16)}`;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export const listDir = (dir: string) => readdirSync(dir).sort();
