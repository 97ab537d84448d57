/**
 * `holdout route --project`: every single candidate and every policy at the production mix and
 * volume, and each policy against the strongest single candidate as per-record differences (a
 * policy's outcome on a record is the chosen candidate's row plus its router's cost). The frame and
 * the estimators are results/report/projection.ts; this file only lays the routing arms out.
 */
import {
  type ArmValues,
  assembleFrame,
  type Projection,
  type ProjectionSources,
  projectArms,
  type UnitRecord,
} from '../report/projection.js';
import { completeRecords, type RouteRun } from './data.js';
import { armValues, singleArm, subsetArm } from './metrics.js';
import { outcomesOf, type PolicyRouting, policyArm, type RouteResult, type RouteSettings } from './route.js';

export type { Projection, ProjectionSources } from '../report/projection.js';

/** The logged production input tokens of a stored record (its body is the whole record), or NaN. */
function loggedTokens(bodyJson: string): number {
  try {
    const usage = (JSON.parse(bodyJson) as { production?: { body?: { usage?: Record<string, unknown> } } })
      .production?.body?.usage;
    const v = usage?.prompt_tokens ?? usage?.input_tokens;
    return typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export function projectRouting(
  r: RouteRun,
  policies: readonly PolicyRouting[],
  result: RouteResult,
  settings: RouteSettings,
  sources: ProjectionSources,
): Projection {
  // The records the evaluation used: every candidate scored, on the evaluated side of the split.
  const complete = completeRecords(r);
  const idx = r.records
    .map((_, i) => i)
    .filter(
      (i) => complete[i] && (settings.evaluateOn === 'all' || settings.sides?.[i] === settings.evaluateOn),
    );
  const units: UnitRecord[] = idx.map((i) => ({
    tags: r.records[i]!.tags,
    x: loggedTokens(r.records[i]!.bodyJson),
  }));
  const frame = assembleFrame(sources, units);
  const o = outcomesOf(r, idx);
  const arms: ArmValues[] = r.candidates.map((c, j) => ({
    name: c.name,
    kind: 'candidate',
    ...armValues(o, singleArm(o, j)),
  }));
  policies.forEach((p, k) => {
    const threshold = result.policies[k]?.threshold?.value ?? null;
    arms.push({ name: p.name, kind: 'policy', ...armValues(o, subsetArm(policyArm(p, threshold), idx)) });
  });
  const strongest = r.candidates.findIndex((c) => c.name === result.strongest);
  const pairs = policies.map((_, k) => [strongest, r.candidates.length + k] as [number, number]);
  return projectArms(frame, units, arms, pairs);
}
