/**
 * The routing section of the HTML report, and a whole self-contained page around it: no script, no
 * external resource (the report's Content-Security-Policy), inline SVG for the cost–quality chart.
 * Every name and tag value is untrusted: element text goes through escapeHtml, and attributes are
 * only written by `attrs`, which escapes every value.
 */
import { escapeHtml as esc, formatPercent, formatUsd, truncate } from './format.js';
import { attrs, el, htmlPage, list, paragraph, svgText, table } from './markup.js';
import type { RouteResult } from '../route/route.js';
import { projectionHtml } from './projection-render.js';
import {
  armsTable,
  hullLine,
  methodLine,
  oracleLine,
  policyLines,
  recommendationNote,
  recommendationTable,
  scopeLine,
  sliceTable,
  sweepTable,
  title,
} from './route-tables.js';
import {
  autoScale,
  colour,
  linearScale,
  niceTicks,
  px,
  type Scale,
  spreadLabels,
  textWidth,
  tickLabel,
} from './svg.js';

const p = paragraph;

/** The routing section: warnings, the chart, the tables. Drop it into any page that allows inline SVG. */
export function renderRouteHtml(r: RouteResult): string {
  const parts: string[] = ['<section id="routing" class="routing">', el('h2', {}, esc(title(r)))];
  for (const w of r.warnings) {
    const cls = w.startsWith('SIMULATED') ? 'simulated' : 'warning';
    parts.push(el('div', { class: cls, role: 'alert' }, esc(w)));
  }
  parts.push(p(scopeLine(r), 'meta'), p(methodLine(r), 'method'));
  parts.push(costQualityChart(r));
  parts.push(el('h3', {}, 'Policies beside every single candidate and the oracle'), table(armsTable(r)));
  parts.push(list([oracleLine(r), hullLine(r)]));
  for (const x of r.policies) {
    parts.push(el('h3', {}, esc(`Policy ${x.name} (${x.file})`)));
    if (x.description) parts.push(p(x.description, 'meta'));
    parts.push(list(policyLines(x)));
    if (x.sweep) parts.push(table(sweepTable(x.sweep)));
  }
  if (r.slices.length > 0) parts.push(el('h3', {}, esc(`By ${r.settings.by}`)), table(sliceTable(r)));
  parts.push(
    el('h3', {}, 'The cheapest model that is smart enough'),
    table(recommendationTable(r)),
    p(recommendationNote(r), 'note'),
  );
  if (r.notes.length > 0) parts.push(el('h3', {}, 'Notes'), list(r.notes));
  parts.push('</section>');
  if (r.projection) {
    parts.push(projectionHtml(r.projection, 'routing-projection', 'Routing projected to production volume'));
  }
  return parts.join('\n');
}

const STYLE = `
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1b1b1b;
    background: #fff; margin: 0 auto; padding: 24px; max-width: 1180px; }
  h2 { font-size: 20px; margin: 0 0 8px; } h3 { font-size: 15px; margin: 22px 0 6px; }
  .meta, .method, .note { color: #555; margin: 4px 0; }
  .simulated { background: #b00020; color: #fff; font-weight: 600; padding: 10px 14px; margin: 0 0 12px; border-radius: 4px; }
  .warning { background: #fff4e5; border-left: 4px solid #e69f00; padding: 8px 12px; margin: 8px 0; }
  table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13px; }
  th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; white-space: nowrap; }
  th { background: #f6f6f6; font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .scroll { overflow-x: auto; }
  svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
  ul { margin: 4px 0; padding-left: 20px; }
`;

/** A whole HTML page holding the routing section. */
export function renderRoutePage(r: RouteResult): string {
  const t = `${r.simulated ? '[SIMULATED] ' : ''}${title(r)}`;
  return htmlPage(t, STYLE, [renderRouteHtml(r)]);
}

interface Pt {
  x: number;
  y: number;
  name: string;
  kind: 'single' | 'oracle' | 'policy';
  col: string;
}

/** Pass rate against cost per 1K records: singles, the zero-router hull, the oracle, policies and sweeps. */
function costQualityChart(r: RouteResult): string {
  const W = 760;
  const H = 440;
  const m = { l: 64, r: 28, t: 52, b: 60 };
  const id = 'chart-routing';
  const k = r.singles.length;
  const pts: Pt[] = [
    ...r.singles.map((f, j) => ({
      x: f.cost.per1kRecords ?? Number.NaN,
      y: f.passRate.p,
      name: f.name,
      kind: 'single' as const,
      col: colour(j),
    })),
    {
      x: r.oracle.cost.per1kRecords ?? Number.NaN,
      y: r.oracle.passRate.p,
      name: 'oracle',
      kind: 'oracle' as const,
      col: '#000',
    },
    ...r.policies.map((x, i) => ({
      x: x.figures.cost.per1kRecords ?? Number.NaN,
      y: x.figures.passRate.p,
      name: x.name,
      kind: 'policy' as const,
      col: colour(k + i),
    })),
  ].filter((q) => Number.isFinite(q.x) && q.x > 0 && Number.isFinite(q.y));
  const sweeps = r.policies
    .map((x, i) => ({ x, col: colour(k + i) }))
    .filter(({ x }) => x.sweep)
    .map(({ x, col }) => ({
      name: x.name,
      col,
      points: x
        .sweep!.points.filter((q) => q.per1kRecords !== null && q.per1kRecords > 0)
        .map((q) => ({ x: q.per1kRecords!, y: q.passRate, chosen: q.chosen }))
        .sort((a, b) => a.x - b.x),
    }));
  const chartTitle = 'Cost vs quality: pass rate against cost per 1K records';
  if (pts.length === 0) {
    return `<svg${attrs({ class: 'chart', viewBox: `0 0 ${W} 80`, role: 'img', 'aria-label': chartTitle })}>${svgText(
      W / 2,
      44,
      'No arm has both a cost and a pass rate to plot.',
      { 'text-anchor': 'middle', fill: '#555' },
    )}</svg>`;
  }
  const allX = [...pts.map((q) => q.x), ...sweeps.flatMap((s) => s.points.map((q) => q.x))];
  const allY = [...pts.map((q) => q.y), ...sweeps.flatMap((s) => s.points.map((q) => q.y))];
  const xs: Scale = autoScale(allX, [m.l, W - m.r]);
  let y0 = Math.max(0, Math.floor((Math.min(...allY) - 0.03) * 10) / 10);
  let y1 = Math.min(1, Math.ceil((Math.max(...allY) + 0.03) * 10) / 10);
  if (y1 - y0 < 0.2) {
    y0 = Math.max(0, y1 - 0.2);
    y1 = Math.min(1, y0 + 0.2);
  }
  const ys = linearScale([y0, y1], [H - m.b, m.t]);
  const desc =
    `x: cost per 1K records in USD${xs.log ? ' (log scale)' : ''}; y: pass rate. Dashed: the zero-router hull ` +
    `(${r.hull.map((h) => h.candidate).join(' → ')}). ` +
    pts.map((q) => `${q.name}: ${formatPercent(q.y)} at ${formatUsd(q.x)}/1K`).join('; ');
  const out: string[] = [
    `<svg${attrs({
      id,
      class: 'chart',
      xmlns: 'http://www.w3.org/2000/svg',
      role: 'img',
      'aria-labelledby': `${id}-title ${id}-desc`,
      viewBox: `0 0 ${W} ${H}`,
      width: W,
      height: H,
    })}>`,
    el('title', { id: `${id}-title` }, esc(chartTitle)),
    el('desc', { id: `${id}-desc` }, esc(desc)),
  ];
  if (r.simulated) {
    out.push(
      svgText(W - 12, H - 10, 'SIMULATED', {
        'text-anchor': 'end',
        'font-size': 30,
        'font-weight': 700,
        fill: '#b00020',
        'fill-opacity': 0.18,
      }),
    );
  }
  // Axes and grid.
  out.push(el('line', { x1: m.l, y1: m.t, x2: m.l, y2: H - m.b, stroke: '#444' }));
  for (const v of niceTicks(y0, y1, 5)) {
    const y = ys(v);
    out.push(
      el('line', { x1: m.l, y1: y, x2: W - m.r, y2: y, stroke: '#e6e6e6' }),
      svgText(m.l - 8, y + 4, `${Math.round(v * 100)}%`, {
        'text-anchor': 'end',
        'font-size': 11,
        fill: '#333',
      }),
    );
  }
  out.push(el('line', { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, stroke: '#444' }));
  for (const v of xs.ticks()) {
    const x = xs(v);
    out.push(
      el('line', { x1: x, y1: m.t, x2: x, y2: H - m.b, stroke: '#e6e6e6' }),
      svgText(x, H - m.b + 18, `$${tickLabel(v)}`, {
        'text-anchor': 'middle',
        'font-size': 11,
        fill: '#333',
      }),
    );
  }
  out.push(
    svgText((m.l + W - m.r) / 2, H - 18, `cost per 1K records (USD${xs.log ? ', log scale' : ''})`, {
      'text-anchor': 'middle',
      'font-size': 12,
    }),
    svgText(16, (m.t + H - m.b) / 2, 'pass rate', {
      'text-anchor': 'middle',
      'font-size': 12,
      transform: `rotate(-90 16 ${px((m.t + H - m.b) / 2)})`,
    }),
  );
  // The zero-router hull: straight segments between vertices (a mix of two models), level after the last.
  const hull = r.hull.filter((h) => h.per1kRecords > 0);
  if (hull.length > 0) {
    let d = `M ${px(xs(hull[0]!.per1kRecords))} ${px(ys(hull[0]!.passRate))}`;
    // On a log axis a straight mix is a curve: draw it through intermediate mixes.
    for (let i = 1; i < hull.length; i++) {
      const a = hull[i - 1]!;
      const b = hull[i]!;
      const steps = xs.log ? 24 : 1;
      for (let s = 1; s <= steps; s++) {
        const w = s / steps;
        d += ` L ${px(xs(a.per1kRecords + w * (b.per1kRecords - a.per1kRecords)))} ${px(ys(a.passRate + w * (b.passRate - a.passRate)))}`;
      }
    }
    d += ` H ${px(W - m.r)}`;
    out.push(
      el('path', {
        class: 'hull',
        d,
        fill: 'none',
        stroke: '#333',
        'stroke-width': 2,
        'stroke-dasharray': '6 4',
      }),
    );
  }
  // Sweep curves.
  for (const s of sweeps) {
    if (s.points.length === 0) continue;
    const col = s.col;
    const d = s.points.map((q, k) => `${k === 0 ? 'M' : 'L'} ${px(xs(q.x))} ${px(ys(q.y))}`).join(' ');
    out.push(`<g${attrs({ class: 'sweep', 'data-policy': s.name })}>`);
    out.push(el('path', { d, fill: 'none', stroke: col, 'stroke-width': 1.5 }));
    for (const q of s.points) {
      out.push(el('circle', { cx: xs(q.x), cy: ys(q.y), r: q.chosen ? 4 : 2.5, fill: col }));
    }
    out.push('</g>');
  }
  // Points with labels.
  const fontSize = 12;
  const labels = pts.map((q) => {
    const name = truncate(q.name, 28);
    const w = textWidth(name, fontSize);
    const x = xs(q.x);
    const right = x + 9 + w <= W - m.r;
    return { name, right, x0: right ? x + 9 : x - 9 - w, x1: right ? x + 9 + w : x - 9, y: ys(q.y) - 8 };
  });
  const labelY = spreadLabels(labels, fontSize + 2);
  pts.forEach((q, i) => {
    const x = xs(q.x);
    const y = ys(q.y);
    const col = q.col;
    const mark =
      q.kind === 'single'
        ? el('circle', { cx: x, cy: y, r: 6, fill: col })
        : q.kind === 'oracle'
          ? el('path', {
              d: `M ${px(x)} ${px(y - 7)} L ${px(x + 7)} ${px(y)} L ${px(x)} ${px(y + 7)} L ${px(x - 7)} ${px(y)} Z`,
              fill: col,
            })
          : el('rect', {
              x: x - 6,
              y: y - 6,
              width: 12,
              height: 12,
              fill: '#fff',
              stroke: col,
              'stroke-width': 2.5,
            });
    const l = labels[i]!;
    out.push(
      `<g${attrs({ class: `point ${q.kind}`, 'data-name': q.name })}>`,
      el(
        'title',
        {},
        esc(`${q.name} (${q.kind}): pass rate ${formatPercent(q.y)}, ${formatUsd(q.x)} per 1K records`),
      ),
      mark,
      svgText(l.right ? l.x0 : l.x1, labelY[i]!, l.name, {
        'font-size': fontSize,
        fill: '#222',
        'text-anchor': l.right ? undefined : 'end',
      }),
      '</g>',
    );
  });
  // Legend.
  const ly = 22;
  let lx = m.l;
  const legend = ['single candidate', 'oracle', 'policy (sweep: its curve)', 'zero-router hull'];
  for (const [i, label] of legend.entries()) {
    const glyph =
      i === 0
        ? el('circle', { cx: lx + 6, cy: ly, r: 5, fill: '#555' })
        : i === 1
          ? el('path', {
              d: `M ${px(lx + 6)} ${ly - 6} L ${px(lx + 12)} ${ly} L ${px(lx + 6)} ${ly + 6} L ${px(lx)} ${ly} Z`,
              fill: '#000',
            })
          : i === 2
            ? el('rect', {
                x: lx + 1,
                y: ly - 5,
                width: 10,
                height: 10,
                fill: '#fff',
                stroke: '#555',
                'stroke-width': 2,
              })
            : el('line', {
                x1: lx - 2,
                y1: ly,
                x2: lx + 14,
                y2: ly,
                stroke: '#333',
                'stroke-width': 2,
                'stroke-dasharray': '6 4',
              });
    out.push(glyph, svgText(lx + 18, ly + 4, label, { 'font-size': 11, fill: '#222' }));
    lx += 18 + textWidth(label, 11) + 16;
  }
  out.push('</svg>');
  return out.join('\n');
}
