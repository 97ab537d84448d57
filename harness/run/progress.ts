import { printable } from '../../datasets/printable.js';
import type { CallRow } from '../../results/store/store.js';
import { type Clock, formatDuration } from '../clock.js';
import { safeErrorText } from '../secrets.js';

export interface RunProgress {
  total: number;
  done: number;
  errors: number;
  costUsd: number;
  /** Items finished by this process (not counting those found already done). */
  doneNow: number;
}

export interface RunReporter {
  start(p: RunProgress): void;
  callDone(row: CallRow, p: RunProgress): void;
  warn(message: string): void;
}

export interface ProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  clock: Clock;
  /** Minimum ms between redraws on a TTY, and between plain lines otherwise. */
  ttyEveryMs?: number;
  plainEveryMs?: number;
  /** What is counted: 'calls' for a run, 'scores' for a scoring pass. */
  unit?: string;
}

/**
 * The live progress line on stderr: done/total, errors, spend so far and an ETA from this process's
 * own rate. On a TTY one line is redrawn in place; elsewhere (CI logs) a plain line every few seconds.
 */
export function progressReporter(opts: ProgressOptions): RunReporter & { finish(p: RunProgress): void } {
  const { stream, clock } = opts;
  const tty = stream.isTTY === true;
  const every = tty ? (opts.ttyEveryMs ?? 100) : (opts.plainEveryMs ?? 5000);
  let startedAt = clock.now();
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const unit = opts.unit ?? 'calls';
  // Error rows of this session by kind: a failing candidate shows why at a glance (connection, auth…).
  const kinds = new Map<string, number>();

  const line = (p: RunProgress): string => {
    const pct = p.total > 0 ? ((100 * p.done) / p.total).toFixed(1) : '100.0';
    const elapsed = (clock.now() - startedAt) / 1000;
    const rate = p.doneNow / Math.max(elapsed, 1e-9);
    const left = p.total - p.done;
    // The first seconds' rate is mostly connection set-up: an ETA from it would mislead.
    const eta = elapsed >= 2 && p.doneNow > 0 && left > 0 ? ` · ETA ${formatDuration(left / rate)}` : '';
    return `${p.done}/${p.total} ${unit} (${pct}%) · ${p.errors} errors${errorKinds(kinds, p.errors)} · $${p.costUsd.toFixed(4)} spent · ${rate.toFixed(1)}/s${eta}`;
  };
  const draw = (p: RunProgress, force = false) => {
    const now = clock.now();
    if (!force && now - last < every) return;
    last = now;
    if (tty) {
      stream.write(`\r\x1b[2K${line(p)}`);
      drawn = true;
    } else {
      stream.write(`${line(p)}\n`);
    }
  };

  return {
    start(p) {
      startedAt = clock.now();
      if (p.done > 0) stream.write(`resuming: ${p.done} of ${p.total} ${unit} already done\n`);
    },
    callDone(row, p) {
      // The scoring pass reports no row.
      if (row?.status === 'error') {
        const kind = row.errorKind ?? 'unknown';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      draw(p);
    },
    warn(message) {
      if (drawn) stream.write('\r\x1b[2K');
      // A warning quotes data (ids, endpoint errors): one line, no key, no control character.
      stream.write(`warning: ${safeErrorText(message)}\n`);
    },
    finish(p) {
      draw(p, true);
      if (tty) stream.write('\n');
    },
  };
}

/** How many error kinds the progress line names; the rest are counted together. */
const KINDS_SHOWN = 2;

/**
 * " (connection 12)", " (rate_limit 5, server_error 2, 3 other)": the commonest kinds of this
 * session's errors, the rest (other kinds, and errors stored by earlier sessions) as one number;
 * empty when no error row was seen.
 */
export function errorKinds(kinds: ReadonlyMap<string, number>, errors: number): string {
  if (kinds.size === 0 || errors <= 0) return '';
  const top = [...kinds].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, KINDS_SHOWN);
  const other = errors - top.reduce((s, [, n]) => s + n, 0);
  const parts = top.map(([k, n]) => `${printable(k)} ${n}`);
  if (other > 0) parts.push(`${other} other`);
  return ` (${parts.join(', ')})`;
}
