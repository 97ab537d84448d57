/**
 * `/runs/:id/compare?a=X&b=Y`: `holdout compare` of two candidates of the run (buildComparison, the
 * same defaults): its warnings, verdict line, metric table and details, and the flips, each linking
 * to its record with the flips filter carried, so previous / next walks the flips; each with short
 * excerpts of its prompt's last user turn and its reference (the listed records' bodies: one query).
 * `project=1` adds `holdout compare --project`'s paired projection (B instead of A at the production
 * mix and volume), with the run page's form.
 */
import { buildComparison, type Comparison, excerpt, type Flip, sequentialLines } from '../compare/compare.js';
import { compareDetailLines, compareMetricTable } from '../render/compare-text.js';
import { escapeHtml as esc, formatPercent } from '../render/format.js';
import { el, list, table } from '../render/markup.js';
import { lastUserTurn, type Obj, recordBodies, referenceText } from '../report/prompt.js';
import { projectPair } from '../report/report.js';
import type { RunRow, Store } from '../store/store.js';
import { queryString } from './filter.js';
import { link, paths, rawTable, section, viewPage } from './page.js';
import { tagNames } from './queries.js';
import { projectionBlock, projectionParams, type ProjectionView, VOLUME_LABEL } from './run-page.js';

/** Flips listed per direction; the records page has all of them. */
export const FLIPS_LISTED = 200;
/** Characters of the prompt and reference excerpts in a flip row. */
export const FLIP_CONTEXT_CHARS = 200;

/** `projection`: as for the run page (run-page.ts): the page's own, 'available', or undefined. */
export function comparePage(
  store: Store,
  run: RunRow,
  candidates: string[],
  a?: string,
  b?: string,
  projection?: ProjectionView | 'available',
): string {
  const pv = typeof projection === 'object' ? projection : undefined;
  const crumbs: [string, string | null][] = [
    ['runs', paths.runs()],
    [`run ${run.id}`, paths.run(run.id)],
    ['compare', null],
  ];
  const body = [
    `<h1>${esc(`run ${run.id} · compare`)}</h1>`,
    pickForm(run.id, candidates, a, b, projectionParams(pv?.choice ?? null)),
  ];
  if (a === undefined || b === undefined) return viewPage(`run ${run.id} · compare`, crumbs, body);
  const r = buildComparison(
    store,
    { runId: run.id, candidate: a },
    { runId: run.id, candidate: b },
    {},
    FLIPS_LISTED,
  );
  if (pv) {
    // As `holdout compare --project` on one run labels its sides: the candidates' names.
    r.projection = projectPair(
      store,
      { runId: run.id, candidate: a, label: a },
      { runId: run.id, candidate: b, label: b },
      { ...pv.sources, volumeLabel: VOLUME_LABEL },
    );
  }
  // As the terminal table reads: SIMULATED and SNAPSHOT DRIFT before the verdict, the other caveats after it.
  const isTop = (w: string) => w.startsWith('SIMULATED') || w.startsWith('SNAPSHOT DRIFT');
  const bodies = recordBodies(
    store.db,
    run.id,
    [...r.flips.regressions, ...r.flips.fixes].map((f) => f.recordId),
  );
  const warning = (w: string) =>
    el('div', { class: isTop(w) ? 'simulated' : 'warning', role: 'note' }, esc(w));
  body.push(
    ...r.warnings.filter(isTop).map(warning),
    el('p', { class: `verdict ${r.verdict}`, 'data-verdict': r.verdict }, esc(r.summary)),
    ...r.warnings.filter((w) => !isTop(w)).map(warning),
    ...(r.sequential
      ? [
          section(
            'sequential',
            'Sequential verdict (anytime-valid)',
            list(
              sequentialLines(r.sequential)
                .slice(1)
                .map((l) => l.trim()),
            ),
          ),
        ]
      : []),
    section('metrics', 'Metrics', table(compareMetricTable(r)) + list(compareDetailLines(r))),
    pv && r.projection
      ? projectionBlock(
          paths.compare(run.id),
          [
            ['a', a],
            ['b', b],
          ],
          pv,
          r.projection,
          tagNames(store.db, run.id),
        )
      : projection === 'available'
        ? el(
            'p',
            { class: 'links' },
            link(
              `${paths.compare(run.id)}${queryString([
                ['a', a],
                ['b', b],
                ['project', '1'],
              ])}#projection`,
              `Projection to production volume (${b} instead of ${a})`,
            ),
          )
        : '',
    flipsSection(run.id, r, 'regressions', bodies),
    flipsSection(run.id, r, 'fixes', bodies),
  );
  if (r.notes.length > 0) body.push(section('notes', 'Notes', list(r.notes)));
  return viewPage(`${r.simulated ? '[SIMULATED] ' : ''}run ${run.id} · ${a} vs ${b}`, crumbs, body);
}

function pickForm(
  runId: number,
  candidates: string[],
  a: string | undefined,
  b: string | undefined,
  keep: [string, string][],
): string {
  const select = (name: string, chosen: string | undefined) =>
    el(
      'select',
      { name },
      candidates
        .map((c) => el('option', c === chosen ? { value: c, selected: 'selected' } : { value: c }, esc(c)))
        .join(''),
    );
  return el(
    'form',
    { class: 'filter', method: 'get', action: paths.compare(runId) },
    `${keep.map(([name, value]) => el('input', { type: 'hidden', name, value })).join('')}
${el('label', {}, `baseline A ${select('a', a ?? candidates[0])}`)}
${el('label', {}, `candidate B ${select('b', b ?? candidates[1])}`)}
${el('button', { type: 'submit' }, 'Compare')}`,
  );
}

function flipsSection(
  runId: number,
  r: Comparison,
  which: 'regressions' | 'fixes',
  bodies: Map<string, Obj>,
): string {
  const A = r.baseline.candidate;
  const B = r.candidate.candidate;
  const count = r.flips.counts[which];
  const shown = r.flips[which];
  const [passed, failed] = which === 'regressions' ? [A, B] : [B, A];
  const heading = `${which === 'regressions' ? 'Regressions' : 'Fixes'}: ${passed} passed, ${failed} failed (${count})`;
  const filter: [string, string][] =
    r.pairing.unit === 'call'
      ? [
          ['pass', passed],
          ['fail', failed],
        ]
      : [['flips', `${A},${B}`]];
  const all = link(paths.records(runId, filter), `all ${count} in the records table`);
  const note = el(
    'p',
    { class: 'note' },
    `${esc(shown.length < count ? `First ${shown.length} listed; ` : '')}${all}`,
  );
  if (count === 0) return section(which, heading, el('p', { class: 'note' }, 'None.'));
  const head = [
    'record',
    'tags',
    'prompt (last user turn)',
    'reference',
    ...(r.pairing.unit === 'prompt' ? ['pass share'] : []),
    `${A} output`,
    `${B} output`,
  ].map((h) => el('th', {}, esc(h)));
  // No position in the links: flips are listed in the order A's calls were stored, the records in dataset order.
  const rows = shown.map((f: Flip) => {
    const body = bodies.get(f.recordId);
    const prompt = body ? lastUserTurn(body.request) : '';
    const ref = body ? referenceText(body.reference) : null;
    return [
      el('td', {}, link(paths.record(runId, f.recordId, filter), f.recordId, { class: 'record' })),
      el(
        'td',
        {},
        esc(
          Object.entries(f.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
        ),
      ),
      el('td', { class: 'excerpt', 'data-col': 'prompt' }, esc(excerpt(prompt, FLIP_CONTEXT_CHARS))),
      el(
        'td',
        { class: 'excerpt', 'data-col': 'reference' },
        esc(ref === null ? '(no reference)' : excerpt(ref, FLIP_CONTEXT_CHARS)),
      ),
      ...(r.pairing.unit === 'prompt'
        ? [el('td', { class: 'num' }, esc(`${formatPercent(f.passA)} → ${formatPercent(f.passB)}`))]
        : []),
      el('td', { class: 'excerpt' }, esc(f.outputA)),
      el('td', { class: 'excerpt' }, esc(f.outputB)),
    ];
  });
  return section(which, heading, note + rawTable(head, rows, { class: 'flips', 'data-kind': which }));
}
