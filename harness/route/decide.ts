/**
 * A policy's decision for every record of a run: the first matching rule, else the router (a label,
 * or a score for the threshold to decide), else the default. A router that errored or answered
 * something unreadable sends the record to its fallback (default: the policy default) and is still
 * paid for. Pure: the router's rows are read beforehand.
 */
import {
  BY_THRESHOLD,
  type PolicyRouting,
  VIA_DEFAULT,
  VIA_FALLBACK,
  VIA_ROUTER,
} from '../../results/route/route.js';
import type { Matcher, RouteRecord } from './conditions.js';
import type { Policy } from './policy.js';
import { routedCandidates, sweepThresholds } from './policy.js';
import { parseLabel, parseScore, type RouterRow } from './router.js';

export interface RouterOutcome {
  rows: ReadonlyMap<string, RouterRow>;
  calls: { reused: number; made: number; errors: number };
}

export interface Decisions extends PolicyRouting {
  /** Records that reached the router (no rule matched): the ones it must be called for. */
  routerRecords: number[];
  /** Router rows that were errors, or answers that were not a label / a score in [0, 1]. */
  routerFailures: { errored: number; unreadable: number };
}

/** Which records need the router (no rule matched them), without deciding anything else. */
export function recordsForRouter(
  policy: Policy,
  records: readonly RouteRecord[],
  matcher: Matcher,
): number[] {
  if (!policy.router) return [];
  const out: number[] = [];
  records.forEach((r, i) => {
    if (matcher.firstMatch(r) < 0) out.push(i);
  });
  return out;
}

export function decide(
  policy: Policy,
  file: string,
  records: readonly RouteRecord[],
  candidates: readonly string[],
  matcher: Matcher,
  router: RouterOutcome | null,
): Decisions {
  const n = records.length;
  const index = (name: string) => {
    const j = candidates.indexOf(name);
    if (j < 0) throw new Error(`candidate ${name} was not checked against the run`);
    return j;
  };
  const fixed = new Int32Array(n);
  const via = new Int32Array(n);
  const r = policy.router;
  const cost = new Float64Array(n);
  const latency = new Float64Array(n);
  const scores = new Float64Array(n).fill(Number.NaN);
  const routerRecords: number[] = [];
  const failures = { errored: 0, unreadable: 0 };
  const fallback = index(r?.fallback ?? policy.default);
  const labels = r?.labels ? Object.keys(r.labels) : [];
  records.forEach((rec, i) => {
    const rule = matcher.firstMatch(rec);
    if (rule >= 0) {
      fixed[i] = index(policy.rules[rule]!.route);
      via[i] = rule;
      return;
    }
    if (!r) {
      fixed[i] = index(policy.default);
      via[i] = VIA_DEFAULT;
      return;
    }
    routerRecords.push(i);
    const row = router?.rows.get(rec.id);
    // A router call not made (interrupted) costs nothing and decides nothing.
    cost[i] = row ? (row.costUsd ?? (row.status === 'ok' ? Number.NaN : 0)) : 0;
    latency[i] = row?.latencyMs ?? 0;
    let decided: number | null = null;
    if (row?.status === 'ok' && row.output !== null) {
      if (r.labels) {
        const label = parseLabel(row.output, labels);
        if (label !== null) decided = index(r.labels[label]!);
      } else {
        const s = parseScore(row.output);
        if (s !== null) {
          scores[i] = s;
          decided = BY_THRESHOLD;
        }
      }
      if (decided === null) failures.unreadable++;
    } else if (row) failures.errored++;
    if (decided === null) {
      fixed[i] = fallback;
      via[i] = VIA_FALLBACK;
    } else {
      fixed[i] = decided;
      via[i] = VIA_ROUTER;
    }
  });
  return {
    name: policy.name,
    file,
    description: policy.description,
    fixed,
    via,
    rules: policy.rules.map((x) => ({ route: x.route, when: x.when })),
    router: r
      ? {
          name: r.name,
          model: r.candidate.model,
          kind: r.labels ? 'labels' : 'score',
          cost,
          latency,
          calls: router?.calls ?? { reused: 0, made: 0, errors: 0 },
          score: r.score
            ? {
                values: scores,
                below: index(r.score.below),
                above: index(r.score.above),
                thresholds: sweepThresholds(r.score),
                threshold: r.score.threshold ?? null,
                fit: r.score.fit ?? {},
              }
            : null,
        }
      : null,
    reachable: [...new Set(routedCandidates(policy).map((x) => index(x.candidate)))].sort((a, b) => a - b),
    routerRecords,
    routerFailures: failures,
  };
}
