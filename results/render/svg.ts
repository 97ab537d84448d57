/**
 * Scales, ticks and small helpers for the inline SVG charts of the HTML report. Pure functions; the
 * charts themselves are in html.ts.
 */

export interface Scale {
  (x: number): number;
  readonly log: boolean;
  readonly domain: readonly [number, number];
  ticks(): number[];
}

/** Coordinates with at most two decimals: shorter markup, no visible difference. */
export function px(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** Tick values at 1, 2 or 5 × 10^k covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let i = first; i * step <= hi + step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Rounds [lo, hi] out to tick steps, so the axis ends on labelled values. */
export function niceDomain(lo: number, hi: number, count = 5): [number, number] {
  if (!(hi > lo)) return lo === 0 ? [0, 1] : [Math.min(0, lo * 2), Math.max(0, hi * 2)];
  const ticks = niceTicks(lo, hi, count);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : hi - lo;
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((x: number) => r0 + (x - d0) * k) as Scale;
  return Object.assign(f, { log: false, domain, ticks: () => niceTicks(d0, d1) });
}

/**
 * Log-10 scale over the domain padded by 4% of its width on each side; ticks at 1, 2 and 5 × 10^k
 * inside it while it spans at most three decades, at powers of 10 beyond.
 */
export function logScale(domain: [number, number], range: [number, number]): Scale {
  const pad = Math.max(0.04 * (Math.log10(domain[1]) - Math.log10(domain[0])), 0.02);
  const l0 = Math.log10(domain[0]) - pad;
  const l1 = Math.log10(domain[1]) + pad;
  const [r0, r1] = range;
  const f = ((x: number) => r0 + ((Math.log10(x) - l0) / (l1 - l0)) * (r1 - r0)) as Scale;
  const ticks = () => {
    const mults = l1 - l0 <= 3 ? [1, 2, 5] : [1];
    const out: number[] = [];
    for (let e = Math.floor(l0); e <= Math.ceil(l1); e++) {
      for (const m of mults) {
        const v = Number((m * 10 ** e).toPrecision(12));
        const lv = Math.log10(v);
        if (lv >= l0 && lv <= l1) out.push(v);
      }
    }
    return out;
  };
  return Object.assign(f, { log: true, domain: [10 ** l0, 10 ** l1] as const, ticks });
}

/**
 * A scale for positive-skewed values: log-10 when every value is positive and they span more than
 * 10×, linear from 0 otherwise.
 */
export function autoScale(values: number[], range: [number, number]): Scale {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (values.length > 0 && lo > 0 && hi / lo > 10) return logScale([lo, hi], range);
  return linearScale(niceDomain(Math.min(0, lo), hi > 0 ? hi : 1), range);
}

/** A compact tick label: 0.001, 0.25, 12, 1.5K, 2M. */
export function tickLabel(x: number): string {
  const abs = Math.abs(x);
  if (abs >= 1e6) return `${Number((x / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((x / 1e3).toPrecision(3))}K`;
  return String(Number(x.toPrecision(3)));
}

/** A rough width of `text` in px at `fontSize`: enough to keep labels apart and inside the chart. */
export function textWidth(text: string, fontSize: number): number {
  return Array.from(text).length * fontSize * 0.58;
}

/**
 * `text` cut (with '…') to fit `maxPx` at `fontSize`, by a width estimate on the wide side (0.62 em
 * a character, enough for most proportional fonts), so a label stays inside its margin.
 */
export function fitText(text: string, maxPx: number, fontSize: number): string {
  const max = Math.max(2, Math.floor(maxPx / (fontSize * 0.62)));
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/**
 * `fitText` for a list of labels that must stay told apart: where cutting would make two labels read
 * the same (`customer-billing-…` twice), those keep their end instead (`customer-…-eu`, `customer-…-us`),
 * and labels that are the same in full, or cannot be told apart in the room, get ` #2`, ` #3`….
 * `maxPx` is per label (or one width for all).
 */
export function fitDistinct(
  texts: readonly string[],
  maxPx: number | readonly number[],
  fontSize: number,
): string[] {
  const room = (i: number) =>
    Math.max(2, Math.floor((typeof maxPx === 'number' ? maxPx : maxPx[i]!) / (fontSize * 0.62)));
  const chars = texts.map((t) => Array.from(t));
  const out = texts.map((t, i) => fitText(t, room(i) * fontSize * 0.62, fontSize));
  const clashes = () => {
    const seen = new Map<string, number[]>();
    out.forEach((s, i) => {
      seen.set(s, [...(seen.get(s) ?? []), i]);
    });
    return [...seen.values()].filter((g) => g.length > 1);
  };
  for (const group of clashes()) {
    const taken = new Set(out.filter((_, i) => !group.includes(i)));
    const maxTail = Math.max(...group.map((i) => room(i) - 2));
    let solved = false;
    // The end kept: `tail` characters, grown back to the start of their word when there is room.
    const ends = (i: number, tail: number) => {
      const c = chars[i]!;
      const max = room(i);
      let from = c.length - Math.min(tail, max - 2);
      while (from > 0 && !/[\s\-_./:]/.test(c[from - 1]!) && c.length - from < max - 2) from--;
      if (from > 0 && /[\s\-_./:]/.test(c[from - 1]!) === false) from = c.length - Math.min(tail, max - 2);
      return c.slice(from);
    };
    for (let tail = 1; tail <= maxTail && !solved; tail++) {
      const tried = group.map((i) => {
        const c = chars[i]!;
        const max = room(i);
        if (c.length <= max) return c.join('');
        const end = ends(i, tail);
        return `${c.slice(0, Math.max(1, max - 1 - end.length)).join('')}…${end.join('')}`;
      });
      if (new Set(tried).size === tried.length && !tried.some((t) => taken.has(t))) {
        group.forEach((i, k) => {
          out[i] = tried[k]!;
        });
        solved = true;
      }
    }
    if (!solved) {
      group.forEach((i, k) => {
        if (k === 0) return;
        const mark = ` #${k + 1}`;
        out[i] = `${fitText(texts[i]!, (room(i) - mark.length) * fontSize * 0.62, fontSize)}${mark}`;
      });
    }
  }
  return out;
}

/** Colour-blind-safe palette (Okabe and Ito, 2008), without the yellow that vanishes on white. */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#E69F00',
  '#000000',
  '#7F7F7F',
];

export function colour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/**
 * Indices of the non-dominated points: no other point is at most as costly and at least as good,
 * and strictly better in one of the two. Equal points are both kept. Sorted by cost, then quality.
 */
export function frontier(points: readonly { x: number; y: number }[]): number[] {
  const keep: number[] = [];
  points.forEach((p, i) => {
    const dominated = points.some((q, j) => j !== i && q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y));
    if (!dominated) keep.push(i);
  });
  return keep.sort((i, j) => points[i]!.x - points[j]!.x || points[i]!.y - points[j]!.y);
}

/**
 * Vertical positions for labels that keep them `gap` px apart where their horizontal spans overlap:
 * labels are placed top to bottom, each pushed below any earlier one it would collide with.
 */
export function spreadLabels(
  labels: readonly { x0: number; x1: number; y: number }[],
  gap: number,
): number[] {
  const order = labels.map((_, i) => i).sort((i, j) => labels[i]!.y - labels[j]!.y);
  const placed: { x0: number; x1: number; y: number }[] = [];
  const out = new Array<number>(labels.length);
  for (const i of order) {
    const l = labels[i]!;
    let y = l.y;
    let moved = true;
    while (moved) {
      moved = false;
      for (const p of placed) {
        if (l.x0 < p.x1 && p.x0 < l.x1 && Math.abs(y - p.y) < gap) {
          y = p.y + gap;
          moved = true;
        }
      }
    }
    placed.push({ ...l, y });
    out[i] = y;
  }
  return out;
}
