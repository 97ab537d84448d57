/**
 * Output files that never exist half-written. A fresh import writes a temp file in the output's
 * directory (same file system, so rename is atomic) and renames it at the end; a failure removes it.
 * A resumable import keeps `<out>.partial` and `<out>.import-state.json` across interruptions and
 * renames the partial file only once the source is exhausted.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HarnessError } from '../../harness/errors.js';

const FLUSH_BYTES = 1024 * 1024;
/** Records hold production prompts: files holdout creates are readable by their owner only. */
export const PRIVATE_FILE_MODE = 0o600;

/** Writes `text` to `path` through a temp file and a rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, text, { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Appends lines to a file descriptor through a 1 MB buffer; `bytes` counts what is on disk. With
 * `gzip`, each flush is one gzip member: concatenated members are a valid gzip file, and a partial
 * file cut at a member boundary still reads.
 */
class LineSink {
  private buf: string[] = [];
  private bufBytes = 0;
  bytes: number;

  constructor(
    readonly fd: number,
    startBytes: number,
    private readonly gzip: boolean,
  ) {
    this.bytes = startBytes;
  }

  write(line: string): void {
    this.buf.push(line);
    this.bufBytes += line.length;
    if (this.bufBytes >= FLUSH_BYTES) this.flush();
  }

  /** `last`: an empty gzip output still gets one (empty) member, so that it reads as gzip. */
  flush(last = false): void {
    if (this.buf.length === 0 && !(last && this.gzip && this.bytes === 0)) return;
    const text = Buffer.from(this.buf.join(''), 'utf8');
    const data = this.gzip ? gzipSync(text) : text;
    this.buf = [];
    this.bufBytes = 0;
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off, this.bytes + off);
    this.bytes += data.length;
  }
}

export interface OutputWriter {
  write(line: string): void;
  /** Resumable writers persist `state` once everything written so far is on disk. */
  checkpoint(state: Record<string, unknown>): void;
  /** Moves the finished file into place. */
  commit(): void;
  /** Stops after a failure: a fresh writer deletes its temp file, a resumable one keeps its progress. */
  abandon(): void;
}

/** Opens a file for writing; a refusal (permissions, full disk) is the user's to fix, not a bug. */
function openForWrite(path: string, flags: string, out: string): number {
  try {
    return openSync(path, flags, PRIVATE_FILE_MODE);
  } catch (err) {
    throw new HarnessError('USAGE', `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
}

export function freshWriter(out: string): OutputWriter {
  const tmp = tempPathFor(out);
  const sink = new LineSink(openForWrite(tmp, 'wx', out), 0, out.endsWith('.gz'));
  let open = true;
  const close = () => {
    if (open) closeSync(sink.fd);
    open = false;
  };
  return {
    write: (line) => sink.write(line),
    checkpoint: () => {},
    commit() {
      sink.flush(true);
      fsyncSync(sink.fd);
      close();
      renameSync(tmp, out);
    },
    abandon() {
      close();
      rmSync(tmp, { force: true });
    },
  };
}

export interface ResumeState {
  version: 1;
  /** Hash of the options that decide the output: resuming under other options would mix outputs. */
  fingerprint: string;
  /** Bytes of `<out>.partial` covered by this state; anything after them is cut on resume. */
  bytes: number;
  [key: string]: unknown;
}

/** Keeps `.gz` last so that readers decompress the partial file too. */
export const partialPathOf = (out: string) =>
  out.endsWith('.gz') ? `${out.slice(0, -3)}.partial.gz` : `${out}.partial`;
export const statePathOf = (out: string) => `${out}.import-state.json`;

/** The state an interrupted import of `out` left behind, if any. */
export function readResumeState(out: string): ResumeState | undefined {
  const path = statePathOf(out);
  if (!existsSync(path)) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new HarnessError('DATASET_INVALID', `${path} is not a readable import state`, {
      cause: err,
      hint: `delete ${path} and ${partialPathOf(out)} to start the import over`,
    });
  }
  const s = state as Partial<ResumeState>;
  if (s.version !== 1 || typeof s.fingerprint !== 'string' || typeof s.bytes !== 'number') {
    throw new HarnessError('DATASET_INVALID', `${path} is not an import state this version understands`, {
      hint: `delete ${path} and ${partialPathOf(out)} to start the import over`,
    });
  }
  return s as ResumeState;
}

/**
 * A writer over `<out>.partial`. With `resume`, the partial file is cut back to the bytes the state
 * vouches for (a record written after the last checkpoint is written again), else it starts empty.
 */
export function resumableWriter(out: string, fingerprint: string, resume?: ResumeState): OutputWriter {
  const partial = partialPathOf(out);
  const statePath = statePathOf(out);
  let start = 0;
  let fd: number;
  if (resume && existsSync(partial) && statSync(partial).size >= resume.bytes) {
    fd = openForWrite(partial, 'r+', out);
    ftruncateSync(fd, resume.bytes);
    start = resume.bytes;
  } else {
    if (resume) {
      throw new HarnessError('DATASET_INVALID', `${partial} is missing or shorter than ${statePath} says`, {
        hint: `delete ${statePath} to start the import over`,
      });
    }
    fd = openForWrite(partial, 'w', out);
  }
  const sink = new LineSink(fd, start, out.endsWith('.gz'));
  let open = true;
  let saved = resume !== undefined;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write: (line) => sink.write(line),
    checkpoint(state) {
      saved = true;
      sink.flush();
      writeFileAtomic(
        statePath,
        `${JSON.stringify({ ...state, version: 1, fingerprint, bytes: sink.bytes })}\n`,
      );
    },
    commit() {
      sink.flush(true);
      fsyncSync(fd);
      close();
      renameSync(partial, out);
      rmSync(statePath, { force: true });
    },
    abandon() {
      close();
      // Nothing vouched for yet: a partial file without a state would only be cut on the next run.
      if (!saved) rmSync(partial, { force: true });
    },
  };
}
