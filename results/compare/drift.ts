/**
 * SNAPSHOT DRIFT: the snapshot the API reported serving (calls.served_model) moved where
 * the configuration did not — between the two sides, within one run, or since the previous run of
 * the suite with the same candidate and model.
 */
import type { CompareRows, ServedModel } from '../pairing/pairing.js';
import type { DriftNote } from './types.js';

function servedList(s: ServedModel[]): string {
  return s.length === 0 ? '(none reported)' : s.map((m) => `${m.model} (${m.calls} calls)`).join(', ');
}

function sameSet(x: ServedModel[], y: ServedModel[]): boolean {
  const a = new Set(x.map((m) => m.model));
  const b = new Set(y.map((m) => m.model));
  return a.size === b.size && [...a].every((m) => b.has(m));
}

/** SNAPSHOT DRIFT: the snapshot the API reported serving moved where the config did not. */
export function driftNotes(rows: CompareRows, labels: { a: string; b: string }): DriftNote[] {
  const A = rows.baseline;
  const B = rows.candidate;
  const out: DriftNote[] = [];
  const sidesDiffer =
    A.model === B.model &&
    A.servedModels.length > 0 &&
    B.servedModels.length > 0 &&
    !sameSet(A.servedModels, B.servedModels);
  if (sidesDiffer) {
    out.push({
      kind: 'sides-differ',
      side: 'both',
      message:
        `SNAPSHOT DRIFT: ${labels.a} and ${labels.b} are both configured as ${A.model}, but the API ` +
        `served ${servedList(A.servedModels)} to ${labels.a} and ${servedList(B.servedModels)} to ${labels.b}`,
    });
  }
  const sides = [
    { x: A, label: labels.a, which: 'baseline' as const, other: B },
    { x: B, label: labels.b, which: 'candidate' as const, other: A },
  ];
  for (const { x, label, which } of sides) {
    if (x.servedModels.length > 1) {
      out.push({
        kind: 'mixed-snapshots',
        side: which,
        message:
          `SNAPSHOT DRIFT: ${label} (configured ${x.model}) was served more than one snapshot ` +
          `within run ${x.runId}: ${servedList(x.servedModels)}`,
      });
    }
  }
  for (const { x, label, which, other } of sides) {
    const prev = x.previous;
    if (!prev || x.servedModels.length === 0 || sameSet(prev.servedModels, x.servedModels)) continue;
    // The previous run is the other side itself: 'sides-differ' already said it.
    if (sidesDiffer && prev.runId === other.runId && other.candidate === x.candidate) continue;
    out.push({
      kind: 'alias-moved',
      side: which,
      message:
        `SNAPSHOT DRIFT: ${label} (configured ${x.model}) was served ${servedList(x.servedModels)} in ` +
        `run ${x.runId}, but ${servedList(prev.servedModels)} in run ${prev.runId}, the previous run ` +
        `of suite ${x.suite}: the alias moved`,
    });
  }
  return out;
}
