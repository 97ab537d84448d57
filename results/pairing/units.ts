/**
 * The units of analysis (STATS.md: the prompt is the unit): the paired items themselves when every
 * prompt has one paired call, else each prompt's repeats averaged first; with each unit's cluster
 * when the t tests are clustered.
 */
import type { PairRows } from './pairing.js';

export interface Units {
  a: number[];
  b: number[];
  /** Cluster of each unit (clustered analyses only). */
  cluster: string[] | null;
  /** Paired calls behind the units. */
  calls: number;
}

export interface Grouping {
  /** Prompt index of each item; null: one call per prompt (the item is the unit). */
  promptOf: Int32Array | null;
  prompts: number;
  clusterOfItem: (string | null)[] | null;
}

/**
 * The units of analysis for items `idx` of two value columns: the items themselves (one call per
 * prompt), or per-prompt means of them. Items where either value is NaN are left out.
 */
export function unitsOf(
  idx: Iterable<number>,
  xa: (i: number) => number,
  xb: (i: number) => number,
  g: Grouping,
): Units {
  const a: number[] = [];
  const b: number[] = [];
  const cluster: string[] | null = g.clusterOfItem ? [] : null;
  let calls = 0;
  if (!g.promptOf) {
    for (const i of idx) {
      const va = xa(i);
      const vb = xb(i);
      if (Number.isNaN(va) || Number.isNaN(vb)) continue;
      a.push(va);
      b.push(vb);
      cluster?.push(g.clusterOfItem![i] ?? '(none)');
      calls++;
    }
    return { a, b, cluster, calls };
  }
  const sums = new Map<number, { a: number; b: number; n: number; cluster: string }>();
  for (const i of idx) {
    const va = xa(i);
    const vb = xb(i);
    if (Number.isNaN(va) || Number.isNaN(vb)) continue;
    const p = g.promptOf[i]!;
    const s = sums.get(p);
    if (s) {
      s.a += va;
      s.b += vb;
      s.n++;
    } else sums.set(p, { a: va, b: vb, n: 1, cluster: g.clusterOfItem?.[i] ?? '(none)' });
    calls++;
  }
  for (const s of sums.values()) {
    a.push(s.a / s.n);
    b.push(s.b / s.n);
    cluster?.push(s.cluster);
  }
  return { a, b, cluster, calls };
}

/**
 * Groups the paired items into prompts: repeats of one record collapse into one unit when any
 * prompt has more than one paired repeat.
 */
export function groupItems(
  p: PairRows,
  cluster: string | undefined,
): { g: Grouping; unit: 'call' | 'prompt'; prompts: number; maxRepeats: number } {
  const nItems = p.callA.length;
  const promptOfAll = new Int32Array(nItems);
  const repeatsPerPrompt: number[] = [];
  if (p.recordId) {
    const promptIdx = new Map<string, number>();
    for (let i = 0; i < nItems; i++) {
      const id = p.recordId[i]!;
      let k = promptIdx.get(id);
      if (k === undefined) {
        k = promptIdx.size;
        promptIdx.set(id, k);
        repeatsPerPrompt.push(0);
      }
      promptOfAll[i] = k;
      repeatsPerPrompt[k]!++;
    }
  }
  const prompts = p.recordId ? repeatsPerPrompt.length : nItems;
  const maxRepeats = p.recordId ? repeatsPerPrompt.reduce((m, v) => Math.max(m, v), 0) : nItems > 0 ? 1 : 0;
  const unit: 'call' | 'prompt' = maxRepeats > 1 ? 'prompt' : 'call';
  const g: Grouping = {
    promptOf: unit === 'prompt' ? promptOfAll : null,
    prompts,
    clusterOfItem: cluster !== undefined ? p.cluster : null,
  };
  return { g, unit, prompts, maxRepeats };
}

export function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}
