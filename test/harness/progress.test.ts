import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../harness/clock.js';
import { progressReporter } from '../../harness/run/progress.js';
import type { CallRow } from '../../results/store/store.js';
import { fakeClock } from '../support/fakes.js';

class Sink extends Writable {
  text = '';
  isTTY?: boolean;
  override _write(c: Buffer, _e: string, done: () => void) {
    this.text += c.toString();
    done();
  }
}

const row = {} as CallRow;

describe('progressReporter', () => {
  it('plain mode: a line per interval with done/total, errors, spend, rate and ETA', () => {
    const sink = new Sink();
    const clock = fakeClock();
    const r = progressReporter({ stream: sink, clock, plainEveryMs: 5000 });
    r.start({ total: 100, done: 0, errors: 0, costUsd: 0, doneNow: 0 });
    clock.advance(1000);
    r.callDone(row, { total: 100, done: 10, errors: 1, costUsd: 0.01234, doneNow: 10 });
    clock.advance(1000);
    r.callDone(row, { total: 100, done: 20, errors: 1, costUsd: 0.02, doneNow: 20 }); // within 5 s: no line
    clock.advance(4000);
    r.callDone(row, { total: 100, done: 60, errors: 2, costUsd: 0.06, doneNow: 60 });
    const lines = sink.text.trim().split('\n');
    expect(lines).toEqual([
      '10/100 calls (10.0%) · 1 errors · $0.0123 spent · 10.0/s',
      '60/100 calls (60.0%) · 2 errors · $0.0600 spent · 10.0/s · ETA 4s',
    ]);
  });

  it('TTY mode redraws one line in place and says when it resumes', () => {
    const sink = new Sink();
    sink.isTTY = true;
    const clock = fakeClock();
    const r = progressReporter({ stream: sink, clock });
    r.start({ total: 10, done: 4, errors: 0, costUsd: 0, doneNow: 0 });
    r.callDone(row, { total: 10, done: 5, errors: 0, costUsd: 0, doneNow: 1 });
    r.finish({ total: 10, done: 10, errors: 0, costUsd: 0, doneNow: 6 });
    expect(sink.text).toMatch(/^resuming: 4 of 10 calls already done\n/);
    expect(sink.text).toContain('\r\x1b[2K5/10 calls');
    expect(sink.text.endsWith('\n')).toBe(true);
  });

  it('formats durations', () => {
    expect(formatDuration(4.2)).toBe('5s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3 * 3600 + 60 * 7)).toBe('3h07m');
  });
});
