/**
 * The HTML report's charts, drawn at render time as inline SVG (no script): the cost-vs-quality
 * scatter with its non-dominated frontier, the latency distributions, and the per-slice bars. Every
 * label from the database goes through `text`/`el`, which escape it.
 */
import type { RunReport } from '../report/report.js';
import { escapeHtml as esc, formatInterval, formatMs, formatPercent, formatUsd, truncate } from './format.js';
import { type Attrs, attrs, el, paragraph, svgText as text } from './markup.js';
import { sliceLabel } from './report-tables.js';
import {
  autoScale,
  fitDistinct,
  frontier,
  linearScale,
  niceTicks,
  px,
  type Scale,
  spreadLabels,
  textWidth,
  tickLabel,
} from './svg.js';

function line(x1: number, y1: number, x2: number, y2: number, a: Attrs): string {
  return el('line', { x1, y1, x2, y2, ...a });
}

/** A closed path through the points. */
function polygon(points: [number, number][], a: Attrs): string {
  const d = `${points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'} ${px(x)} ${px(y)}`).join(' ')} Z`;
  return el('path', { d, ...a });
}

/** The opening of a chart: accessible name and description, stable id, optional SIMULATED mark. */
function svgOpen(id: string, width: number, height: number, title: string, desc: string, simulated: boolean) {
  const open = `<svg${attrs({
    id,
    class: 'chart',
    xmlns: 'http://www.w3.org/2000/svg',
    role: 'img',
    'aria-labelledby': `${id}-title ${id}-desc`,
    'aria-label': title,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
  })}>`;
  const mark = simulated
    ? text(width - 12, height - 10, 'SIMULATED', {
        class: 'watermark',
        'text-anchor': 'end',
        'font-size': 30,
        'font-weight': 700,
        fill: '#b00020',
        'fill-opacity': 0.18,
      })
    : '';
  return [
    open,
    el('title', { id: `${id}-title` }, esc(title)),
    el('desc', { id: `${id}-desc` }, esc(desc)),
    mark,
  ]
    .filter((s) => s !== '')
    .join('\n');
}

/** A chart with nothing to draw: the message in place of the plot. */
function emptyChart(id: string, title: string, message: string, simulated: boolean): string {
  const body = text(380, 44, message, { 'text-anchor': 'middle', fill: '#555' });
  return `${svgOpen(id, 760, 80, title, message, simulated)}\n${body}\n</svg>`;
}

const small = (size: number, fill = '#222'): Attrs => ({ 'font-size': size, fill });

/** Horizontal axis along y = `y`: ticks, labels, grid lines up to `top`, and a title. */
function xAxis(scale: Scale, y: number, top: number, label: (v: number) => string, title: string): string {
  const [r0, r1] = [scale(scale.domain[0]), scale(scale.domain[1])];
  const out = ['<g class="axis x">', line(r0, y, r1, y, { stroke: '#444' })];
  for (const v of scale.ticks()) {
    const x = scale(v);
    out.push(
      line(x, top, x, y, { stroke: '#e6e6e6' }),
      line(x, y, x, y + 5, { stroke: '#444' }),
      text(x, y + 18, label(v), { 'text-anchor': 'middle', ...small(11, '#333') }),
    );
  }
  out.push(text((r0 + r1) / 2, y + 40, title, { 'text-anchor': 'middle', ...small(12) }), '</g>');
  return out.join('\n');
}

/** A vertical interval with caps, `half` px wide each side. */
function whiskerV(x: number, y0: number, y1: number, half: number, a: Attrs, cls?: string): string {
  return [
    line(x, y0, x, y1, { class: cls, ...a }),
    line(x - half, y0, x + half, y0, a),
    line(x - half, y1, x + half, y1, a),
  ].join('\n');
}

const percentTick = (v: number) => `${Math.round(v * 100)}%`;

/** Lays legend entries out left to right from (x, y); each glyph is drawn in a 12 px box at its x. */
function legend(x: number, y: number, entries: [glyph: (x: number) => string, label: string][]): string {
  const out = ['<g class="legend">'];
  for (const [glyph, label] of entries) {
    out.push(glyph(x), text(x + 18, y + 4, label, small(11)));
    x += 18 + textWidth(label, 11) + 16;
  }
  out.push('</g>');
  return out.join('\n');
}

/** Pass rate against cost per 1K calls, with Wilson (or per-prompt t) intervals and the frontier. */
export function frontierChart(r: RunReport, colours: Map<string, string>): string {
  const W = 760;
  const H = 440;
  const m = { l: 64, r: 28, t: 52, b: 60 };
  const id = 'chart-frontier';
  const plotted = r.candidates.filter(
    (c) => c.costPer1kCalls !== null && Number.isFinite(c.costPer1kCalls) && Number.isFinite(c.passRate.p),
  );
  const left = r.candidates.filter((c) => !plotted.includes(c)).map((c) => c.candidate);
  const notPlotted =
    left.length > 0
      ? `\n${paragraph(`Not plotted (no cost or no scored call): ${left.join(', ')}.`, 'note')}`
      : '';
  const title = 'Cost vs quality: pass rate against cost per 1K calls, one point per candidate';
  if (plotted.length === 0) {
    const message = 'No candidate has both a cost and a pass rate to plot.';
    return emptyChart(id, title, message, r.simulated) + notPlotted;
  }
  const points = plotted.map((c) => ({
    c,
    x: c.costPer1kCalls!,
    y: c.passRate.p,
    lo: Number.isFinite(c.passRate.lo) ? c.passRate.lo : c.passRate.p,
    hi: Number.isFinite(c.passRate.hi) ? c.passRate.hi : c.passRate.p,
  }));
  const xs = autoScale(
    points.map((p) => p.x),
    [m.l, W - m.r],
  );
  let y0 = Math.max(0, Math.floor((Math.min(...points.map((p) => p.lo)) - 0.02) * 10) / 10);
  let y1 = Math.min(1, Math.ceil((Math.max(...points.map((p) => p.hi)) + 0.02) * 10) / 10);
  if (y1 - y0 < 0.2) {
    y0 = Math.max(0, y1 - 0.2);
    y1 = Math.min(1, y0 + 0.2);
  }
  const ys = linearScale([y0, y1], [H - m.b, m.t]);
  const onFrontier = frontier(points);
  const frontierSet = new Set(onFrontier);
  const rateName = r.method.passRate === 'wilson' ? 'Wilson' : 'per-prompt t';
  const log = xs.log ? ' (log scale)' : '';
  const desc =
    `x: cost per 1K calls in USD${log}; y: pass rate with its 95% ${rateName} interval. Frontier (no ` +
    `other candidate is both cheaper and better), cheapest first: ` +
    `${onFrontier.map((i) => points[i]!.c.candidate).join(', ')}.`;

  const out = [svgOpen(id, W, H, title, desc, r.simulated)];
  const midY = (m.t + H - m.b) / 2;
  out.push('<g class="axis y">', line(m.l, m.t, m.l, H - m.b, { stroke: '#444' }));
  for (const v of niceTicks(y0, y1, 5)) {
    const y = ys(v);
    out.push(
      line(m.l, y, W - m.r, y, { stroke: '#e6e6e6' }),
      line(m.l - 5, y, m.l, y, { stroke: '#444' }),
      text(m.l - 8, y + 4, percentTick(v), { 'text-anchor': 'end', ...small(11, '#333') }),
    );
  }
  const yTitle = `pass rate (95% ${rateName} interval)`;
  out.push(
    text(16, midY, yTitle, {
      'text-anchor': 'middle',
      ...small(12),
      transform: `rotate(-90 16 ${px(midY)})`,
    }),
    '</g>',
  );
  out.push(
    xAxis(
      xs,
      H - m.b,
      m.t,
      (v) => `$${tickLabel(v)}`,
      `cost per 1K calls (USD${xs.log ? ', log scale' : ''})`,
    ),
  );

  // The frontier as a staircase: from each frontier point the best pass rate stays level until the
  // next, costlier point improves on it; after the last it stays level to the right edge.
  const fp = onFrontier.map((i) => points[i]!);
  let d = `M ${px(xs(fp[0]!.x))} ${px(ys(fp[0]!.y))}`;
  for (let i = 1; i < fp.length; i++) d += ` H ${px(xs(fp[i]!.x))} V ${px(ys(fp[i]!.y))}`;
  d += ` H ${px(W - m.r)}`;
  const dashed: Attrs = { stroke: '#333', 'stroke-width': 2, 'stroke-dasharray': '6 4' };
  out.push(el('path', { class: 'frontier', d, fill: 'none', ...dashed }));

  // Labels above their point (clear of the frontier line that leaves it level to the right), or
  // to its left when they would leave the plot; spread apart where they collide.
  const fontSize = 12;
  const labels = points.map((p) => {
    const name = truncate(p.c.candidate, 28);
    const w = textWidth(name, fontSize);
    const x = xs(p.x);
    const right = x + 9 + w <= W - m.r;
    return { name, right, x0: right ? x + 9 : x - 9 - w, x1: right ? x + 9 + w : x - 9, y: ys(p.y) - 8 };
  });
  const labelY = spreadLabels(labels, fontSize + 2);
  out.push('<g class="points">');
  points.forEach((p, i) => {
    const col = colours.get(p.c.candidate) ?? '#000';
    const x = xs(p.x);
    const label = labels[i]!;
    const onF = frontierSet.has(i);
    const tip =
      `${p.c.candidate}: pass rate ${formatInterval(p.c.passRate.p, p.c.passRate.lo, p.c.passRate.hi)}, ` +
      `${formatUsd(p.x)} per 1K calls${onF ? ', on the frontier' : ', dominated'}`;
    out.push(
      `<g${attrs({ class: onF ? 'candidate on-frontier' : 'candidate', 'data-candidate': p.c.candidate })}>`,
      el('title', {}, esc(tip)),
      whiskerV(x, ys(p.lo), ys(p.hi), 5, { stroke: col, 'stroke-width': 1.5 }, 'errorbar'),
      el('circle', {
        class: 'point',
        cx: x,
        cy: ys(p.y),
        r: 6,
        fill: onF ? col : '#fff',
        stroke: col,
        'stroke-width': 2,
      }),
      text(label.right ? label.x0 : label.x1, labelY[i]!, label.name, {
        class: 'label',
        ...small(fontSize),
        'text-anchor': label.right ? undefined : 'end',
      }),
      '</g>',
    );
  });
  out.push('</g>');

  const ly = 22;
  const grey = '#555';
  out.push(
    legend(m.l, ly, [
      [
        (x) => el('circle', { cx: x + 6, cy: ly, r: 5, fill: grey, stroke: grey, 'stroke-width': 2 }),
        'on the frontier',
      ],
      [
        (x) => el('circle', { cx: x + 6, cy: ly, r: 5, fill: '#fff', stroke: grey, 'stroke-width': 2 }),
        'dominated',
      ],
      [(x) => line(x - 2, ly, x + 14, ly, dashed), 'frontier (best pass rate for the cost)'],
      [(x) => whiskerV(x + 6, ly - 7, ly + 7, 5, { stroke: grey, 'stroke-width': 1.5 }), '95% interval'],
    ]),
    '</svg>',
  );
  return out.join('\n') + notPlotted;
}

function ms(x: number | null): string {
  return x === null ? '-' : `${formatMs(x)} ms`;
}

/** Per candidate: the latency distribution as percentile dots, a p25–p75 box, and p50/p95/p99 marks. */
export function latencyChart(r: RunReport, colours: Map<string, string>): string {
  const id = 'chart-latency';
  const W = 760;
  const rowH = 44;
  const m = { l: 170, r: 170, t: 48, b: 58 };
  const H = m.t + r.candidates.length * rowH + m.b;
  const withData = r.candidates.filter((c) => c.latencyQuantiles.length > 0);
  const title = 'Latency distribution of ok calls per candidate, with p50, p95 and p99 marked';
  if (withData.length === 0) {
    return emptyChart(id, title, 'No ok calls with a latency to plot.', r.simulated);
  }
  const xs = autoScale(
    withData.flatMap((c) => [c.latencyQuantiles[0]!, c.latencyQuantiles[100]!]),
    [m.l, W - m.r],
  );
  const log = xs.log ? ' (log scale)' : '';
  const marks = (c: RunReport['candidates'][number]) =>
    `p50 ${ms(c.latency.p50.value)}, p95 ${ms(c.latency.p95.value)}, p99 ${ms(c.latency.p99.value)}`;
  const desc =
    `x: latency in ms${log}. Per candidate: dots at the percentiles 1 to 99, a box from p25 to p75, a ` +
    'whisker from the fastest to the slowest call, a thick line at p50, a triangle at p95 and a diamond ' +
    `at p99. ${withData.map((c) => `${c.candidate}: ${marks(c)}`).join('; ')}`;
  const out = [svgOpen(id, W, H, title, desc, r.simulated)];
  out.push(xAxis(xs, H - m.b, m.t - 6, tickLabel, `latency, ms${log}`));
  out.push(text(W - m.r + 14, m.t - 8, 'p50 · p95 · p99, ms', { ...small(11), 'font-weight': 600 }));
  const names = fitDistinct(
    r.candidates.map((c) => c.candidate),
    m.l - 20,
    12,
  );
  r.candidates.forEach((c, i) => {
    const cy = m.t + i * rowH + rowH / 2;
    const col = colours.get(c.candidate) ?? '#000';
    out.push(
      `<g${attrs({ class: 'candidate', 'data-candidate': c.candidate })}>`,
      el('title', {}, esc(`${c.candidate}: ${c.latency.n} ok calls; ${marks(c)}`)),
      text(m.l - 12, cy + 4, names[i]!, { 'text-anchor': 'end', ...small(12) }),
    );
    const q = c.latencyQuantiles;
    if (q.length === 0) {
      out.push(text(m.l + 6, cy + 4, 'no ok calls', small(12, '#777')), '</g>');
      return;
    }
    const at = (k: number) => xs(q[k]!);
    out.push(line(at(0), cy, at(100), cy, { class: 'whisker', stroke: '#999', 'stroke-width': 1 }));
    out.push('<g class="strip">');
    for (let k = 1; k < 100; k++) {
      const jitter = (((k * 7) % 9) - 4) * 1.6;
      out.push(el('circle', { cx: at(k), cy: cy + jitter, r: 2, fill: col, 'fill-opacity': 0.4 }));
    }
    out.push('</g>');
    const box = { x: at(25), y: cy - 8, width: Math.max(1, at(75) - at(25)), height: 16 };
    out.push(
      el('rect', { class: 'box', ...box, fill: col, 'fill-opacity': 0.16, stroke: col, 'stroke-width': 1.2 }),
    );
    const [p50, p95, p99] = [c.latency.p50.value, c.latency.p95.value, c.latency.p99.value];
    if (p50 !== null) {
      out.push(line(xs(p50), cy - 11, xs(p50), cy + 11, { class: 'p50', stroke: col, 'stroke-width': 3 }));
    }
    if (p95 !== null) {
      const x = xs(p95);
      const tri: [number, number][] = [
        [x - 5, cy - 20],
        [x + 5, cy - 20],
        [x, cy - 12],
      ];
      out.push(polygon(tri, { class: 'p95', fill: col }));
    }
    if (p99 !== null) {
      const x = xs(p99);
      const diamond: [number, number][] = [
        [x, cy + 11],
        [x + 5, cy + 16],
        [x, cy + 21],
        [x - 5, cy + 16],
      ];
      out.push(polygon(diamond, { class: 'p99', fill: col }));
    }
    const figures = `${formatMs(p50)} · ${formatMs(p95)} · ${formatMs(p99)}`;
    out.push(text(W - m.r + 14, cy + 4, figures, { class: 'figures', ...small(11, '#333') }), '</g>');
  });
  const ly = 18;
  const grey = '#555';
  out.push(
    legend(m.l, ly, [
      [
        (x) =>
          el('rect', { x, y: ly - 6, width: 12, height: 12, fill: grey, 'fill-opacity': 0.16, stroke: grey }),
        'p25–p75',
      ],
      [(x) => line(x + 6, ly - 7, x + 6, ly + 7, { stroke: grey, 'stroke-width': 3 }), 'p50'],
      [
        (x) =>
          polygon(
            [
              [x + 1, ly - 4],
              [x + 11, ly - 4],
              [x + 6, ly + 4],
            ],
            { fill: grey },
          ),
        'p95',
      ],
      [
        (x) =>
          polygon(
            [
              [x + 6, ly - 5],
              [x + 11, ly],
              [x + 6, ly + 5],
              [x + 1, ly],
            ],
            { fill: grey },
          ),
        'p99',
      ],
      [
        (x) => el('circle', { cx: x + 6, cy: ly, r: 2.5, fill: grey, 'fill-opacity': 0.5 }),
        'percentiles 1–99',
      ],
      [(x) => line(x, ly, x + 12, ly, { stroke: '#999' }), 'min–max'],
    ]),
    '</svg>',
  );
  return out.join('\n');
}

/** The most slices a chart shows (the largest by records); the table below lists them all. */
const MAX_SLICES_CHARTED = 40;

/** The largest difference in pass rate between two candidates on a slice; -1 without two to compare. */
export function passRateSpread(s: RunReport['slices'][number]): number {
  const rates = s.candidates.map((c) => c.passRate.p).filter((p) => Number.isFinite(p));
  return rates.length < 2 ? -1 : Math.max(...rates) - Math.min(...rates);
}

/**
 * The slices a chart shows, in the order it shows them: the largest difference between candidates
 * first (where they disagree most is what to look at), then the most records; by size alone with one
 * candidate. Never alphabetical: an order by name says nothing.
 */
export function chartedSlices(r: RunReport): RunReport['slices'] {
  let slices = r.slices;
  if (slices.length > MAX_SLICES_CHARTED) {
    const keep = new Set([...slices].sort((a, b) => b.records - a.records).slice(0, MAX_SLICES_CHARTED));
    slices = slices.filter((s) => keep.has(s));
  }
  const spread = new Map(slices.map((s) => [s, passRateSpread(s)]));
  return [...slices].sort((a, b) => spread.get(b)! - spread.get(a)! || b.records - a.records);
}

/** Pass rate per slice and candidate, as horizontal bars with interval whiskers. */
export function sliceChart(r: RunReport, colours: Map<string, string>): string {
  const id = 'chart-slices';
  const W = 760;
  const m = { l: 200, r: 70, b: 58 };
  const barH = 12;
  const barGap = 3;
  const groupGap = 14;
  const slices = chartedSlices(r);
  const groupH = Math.max(1, r.candidates.length) * (barH + barGap) - barGap + groupGap;

  // Legend: candidate swatches, wrapped to the chart width.
  const key: string[] = ['<g class="legend">'];
  let lx = 16;
  let ly = 18;
  for (const c of r.candidates) {
    const name = truncate(c.candidate, 24);
    const w = 16 + textWidth(name, 11) + 18;
    if (lx + w > W - 10 && lx > 16) {
      lx = 16;
      ly += 18;
    }
    const fill = colours.get(c.candidate) ?? '#000';
    key.push(
      el('rect', { x: lx, y: ly - 6, width: 12, height: 12, fill }),
      text(lx + 16, ly + 4, name, small(11)),
    );
    lx += w;
  }
  key.push('</g>');
  const top = ly + 22;
  const H = top + slices.length * groupH + m.b;
  const xs = linearScale([0, 1], [m.l, W - m.r]);
  const title = `Pass rate per ${r.by} value and candidate, with 95% intervals`;
  const shown =
    slices.length < r.slices.length
      ? ` Showing the ${slices.length} largest of ${r.slices.length} values.`
      : '';
  const order =
    r.candidates.length > 1 ? 'largest difference between candidates first' : 'most records first';
  const desc =
    `Bars: pass rate per value of the tag ${r.by} (records in brackets), one bar per candidate, ${order}; ` +
    `whiskers: the 95% interval. Values marked * have fewer than 30 records: descriptive only.${shown}`;
  const out = [svgOpen(id, W, H, title, desc, r.simulated), ...key];
  out.push(xAxis(xs, H - m.b, top - 6, percentTick, 'pass rate (95% interval)'));
  const ink: Attrs = { stroke: '#222', 'stroke-width': 1.2 };
  const suffixes = slices.map((s) => ` (${s.records})${s.records < 30 ? ' *' : ''}`);
  const names = fitDistinct(
    slices.map((s) => sliceLabel(s.value)),
    suffixes.map((x) => m.l - 16 - textWidth(x, 12)),
    12,
  );
  slices.forEach((s, g) => {
    const y0 = top + g * groupH;
    const few = s.records < 30;
    const label = `${names[g]}${suffixes[g]}`;
    out.push(
      `<g${attrs({ class: 'slice', 'data-slice': sliceLabel(s.value) })}>`,
      text(m.l - 10, y0 + (groupH - groupGap) / 2 + 4, label, {
        'text-anchor': 'end',
        ...small(12, few ? '#888' : '#222'),
      }),
    );
    s.candidates.forEach((c, i) => {
      const y = y0 + i * (barH + barGap);
      const cy = y + barH / 2;
      const col = colours.get(c.candidate) ?? '#000';
      const p = c.passRate;
      const tip = `${sliceLabel(s.value)} · ${c.candidate}: ${formatInterval(p.p, p.lo, p.hi)} over ${p.n}`;
      out.push(`<g${attrs({ class: 'bar', 'data-candidate': c.candidate })}>`, el('title', {}, esc(tip)));
      if (Number.isFinite(p.p)) {
        const width = Math.max(0.5, xs(p.p) - xs(0));
        out.push(
          el('rect', { x: xs(0), y, width, height: barH, fill: col, 'fill-opacity': few ? 0.45 : 0.85 }),
        );
        if (Number.isFinite(p.lo) && Number.isFinite(p.hi)) {
          out.push(
            line(xs(p.lo), cy, xs(p.hi), cy, { class: 'whisker', ...ink }),
            line(xs(p.lo), cy - 4, xs(p.lo), cy + 4, ink),
            line(xs(p.hi), cy - 4, xs(p.hi), cy + 4, ink),
          );
        }
        out.push(text(W - m.r + 8, y + barH - 2, formatPercent(p.p), small(10, '#333')));
      } else {
        out.push(text(xs(0) + 4, y + barH - 2, 'no scored calls', small(10, '#777')));
      }
      out.push('</g>');
    });
    out.push('</g>');
  });
  out.push('</svg>');
  const note =
    slices.length < r.slices.length
      ? `\n${paragraph(`The chart shows the ${slices.length} largest of ${r.slices.length} values.`, 'note')}`
      : '';
  return out.join('\n') + note;
}

// --- flips -------------------------------------------------------------------------------------
