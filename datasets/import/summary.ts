import { type Clock, formatDuration } from '../../harness/clock.js';
import type { SkipReason, SourceInfo } from './types.js';

export interface SkipExample {
  where: string;
  reason: SkipReason | 'duplicate_id';
  message: string;
}

export interface ImportSummary {
  format: string;
  out: string;
  manifest: string;
  records: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** The first few skipped lines, so a user can look at them: places and reasons, never values. */
  examples: SkipExample[];
  duplicates: number;
  redaction: { enabled: boolean; counts: Record<string, number> };
  sources: SourceInfo[];
  notes: string[];
  /** Records that an interrupted run had already written (resumable formats). */
  resumed: number;
}

export const EXAMPLES_KEPT = 5;

const n = (x: number) => x.toLocaleString('en-US');

export function totalSkipped(s: ImportSummary): number {
  return Object.values(s.skipped).reduce((a, b) => a + (b ?? 0), 0);
}

/** The end-of-import report on stderr: counts, reasons and places, never values. */
export function formatSummary(s: ImportSummary): string {
  const lines: string[] = [];
  const resumed = s.resumed > 0 ? ` (${n(s.resumed)} of them before the interruption)` : '';
  lines.push(`imported ${n(s.records)} record(s) from ${s.format} into ${s.out}${resumed}`);
  const skipped = totalSkipped(s);
  if (skipped > 0) {
    const by = Object.entries(s.skipped)
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
      .map(([reason, count]) => `${reason} ${n(count ?? 0)}`)
      .join(', ');
    lines.push(`skipped ${n(skipped)} invalid: ${by}`);
  }
  if (s.duplicates > 0) lines.push(`dropped ${n(s.duplicates)} duplicate id(s) (kept the first of each)`);
  for (const e of s.examples) lines.push(`  ${e.where}: ${e.reason}: ${e.message}`);
  if (s.redaction.enabled) {
    const kinds = Object.entries(s.redaction.counts).filter(([, c]) => c > 0);
    lines.push(
      kinds.length > 0
        ? `redacted ${kinds.map(([k, c]) => `${k} ${n(c)}`).join(', ')}`
        : 'redaction on: nothing found to redact',
    );
  }
  for (const note of s.notes) lines.push(`note: ${note}`);
  if (s.records === 0) lines.push('warning: the output holds no records');
  lines.push(`manifest: ${s.manifest}`);
  return `${lines.join('\n')}\n`;
}

export interface ImportProgress {
  records: number;
  skipped: number;
  bytesRead: number;
  bytesTotal: number;
}

/**
 * A progress line on stderr for long imports: redrawn in place on a TTY, a plain line every few
 * seconds otherwise (CI logs). Quiet for imports that finish before the first tick.
 */
export function importProgress(
  stream: (NodeJS.WritableStream & { isTTY?: boolean }) | undefined,
  clock: Clock,
  everyMs?: number,
) {
  const tty = stream?.isTTY === true;
  const every = everyMs ?? (tty ? 250 : 5000);
  const start = clock.now();
  let last = start;
  let drawn = false;
  const line = (p: ImportProgress) => {
    const secs = (clock.now() - start) / 1000;
    const pct = p.bytesTotal > 0 ? ` (${((100 * p.bytesRead) / p.bytesTotal).toFixed(1)}% of input)` : '';
    const rate = secs > 0 ? ` · ${n(Math.round(p.records / secs))}/s` : '';
    return `import: ${n(p.records)} records · ${n(p.skipped)} skipped${pct}${rate} · ${formatDuration(secs)}`;
  };
  return {
    tick(p: ImportProgress): void {
      if (!stream) return;
      const now = clock.now();
      if (now - last < every) return;
      last = now;
      if (tty) {
        stream.write(`\r\x1b[2K${line(p)}`);
        drawn = true;
      } else stream.write(`${line(p)}\n`);
    },
    /** Clears a TTY line before the summary is printed. */
    done(): void {
      if (stream && drawn) stream.write('\r\x1b[2K');
    },
  };
}
