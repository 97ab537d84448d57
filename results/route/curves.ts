/**
 * The quality–cost curves of a score router's threshold sweep (RouteLLM, RouterBench): performance gap
 * recovered (PGR) and its average over the cost axis (APGR), the cost at which a share of the gap is
 * recovered (CPT), and the zero-router hull, the best one can do by randomly mixing the single models
 * (pure; no I/O).
 */
export function pgr(q: number, qWeak: number, qStrong: number): number {
  return qStrong > qWeak ? (q - qWeak) / (qStrong - qWeak) : Number.NaN;
}

export interface CurvePoint {
  /** Escalation share c. */
  c: number;
  pgr: number;
}

/** The PGR curve APGR and CPT are read from: sorted by c, anchors added, one point per c. */
export function pgrCurve(points: readonly CurvePoint[]): CurvePoint[] {
  const usable = points.filter((p) => Number.isFinite(p.c) && Number.isFinite(p.pgr));
  const byC = new Map<number, number>();
  // Thresholds that escalate the same share escalate the same records, so their PGR agrees; keep one.
  for (const p of usable) if (!byC.has(p.c)) byC.set(p.c, p.pgr);
  if (!byC.has(0)) byC.set(0, 0);
  if (!byC.has(1)) byC.set(1, 1);
  return [...byC].map(([c, g]) => ({ c, pgr: g })).sort((a, b) => a.c - b.c);
}

/** Area under PGR(c) over [0, 1] by the trapezoid rule (see the module comment); NaN if PGR is undefined. */
export function apgr(points: readonly CurvePoint[]): number {
  if (points.length > 0 && points.every((p) => !Number.isFinite(p.pgr))) return Number.NaN;
  const curve = pgrCurve(points);
  let area = 0;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    area += ((b.c - a.c) * (a.pgr + b.pgr)) / 2;
  }
  return area;
}

/** CPT(target): the escalation share at which PGR first reaches `target` (see the module comment). */
export function cpt(points: readonly CurvePoint[], target: number): number {
  if (points.length > 0 && points.every((p) => !Number.isFinite(p.pgr))) return Number.NaN;
  const curve = pgrCurve(points);
  for (let i = 0; i < curve.length; i++) {
    const b = curve[i]!;
    if (b.pgr >= target) {
      if (i === 0) return b.c;
      const a = curve[i - 1]!;
      return a.c + ((target - a.pgr) * (b.c - a.c)) / (b.pgr - a.pgr);
    }
  }
  return Number.NaN;
}

// --- the zero-router hull -----------------------------------------------------------------------------

export interface HullPoint {
  x: number;
  y: number;
  name: string;
}

/** `a` is on or under the chord o→b, with a relative tolerance: a point on it up to rounding is dropped. */
function onOrUnderChord(o: HullPoint, a: HullPoint, b: HullPoint): boolean {
  const l = (a.x - o.x) * (b.y - o.y);
  const r = (a.y - o.y) * (b.x - o.x);
  return l - r >= -1e-9 * (Math.abs(l) + Math.abs(r));
}

/**
 * Vertices of the upper-left non-decreasing convex hull, cheapest first: sort by cost (best quality
 * first among equal costs), keep only points better than every cheaper one, then the upper hull
 * (monotone chain: drop a middle point on or below the chord of its neighbours).
 */
export function zeroRouterHull(points: readonly HullPoint[]): HullPoint[] {
  const sorted = points
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => a.x - b.x || b.y - a.y);
  const rising: HullPoint[] = [];
  for (const p of sorted) if (rising.length === 0 || p.y > rising.at(-1)!.y) rising.push(p);
  const hull: HullPoint[] = [];
  for (const p of rising) {
    while (hull.length >= 2 && onOrUnderChord(hull.at(-2)!, hull.at(-1)!, p)) hull.pop();
    hull.push(p);
  }
  return hull;
}

/** The hull's quality at cost x (flat beyond both ends). */
export function hullValue(hull: readonly HullPoint[], x: number): number {
  if (hull.length === 0) return Number.NaN;
  if (x <= hull[0]!.x) return hull[0]!.y;
  for (let i = 1; i < hull.length; i++) {
    const a = hull[i - 1]!;
    const b = hull[i]!;
    if (x <= b.x) return a.y + ((x - a.x) * (b.y - a.y)) / (b.x - a.x);
  }
  return hull.at(-1)!.y;
}

/** Above the hull by more than rounding; null when the point has no cost. */
export function aboveHull(hull: readonly HullPoint[], x: number | null, y: number): boolean | null {
  if (x === null || !Number.isFinite(x) || hull.length === 0) return null;
  return y > hullValue(hull, x) + 1e-12;
}
