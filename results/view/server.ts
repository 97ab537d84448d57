/**
 * The viewer's HTTP server (node:http), bound to 127.0.0.1 only. Every page is rendered on the
 * server from the database; the pages carry no script. Reads only, but for one write: a reviewer's
 * grade, a POST that must come from the viewer's own pages (Host and Origin are the server's
 * loopback address) and carry the server's random token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '../../harness/clock.js';
import { HarnessError } from '../../harness/errors.js';
import { escapeHtml as esc } from '../render/format.js';
import { el } from '../render/markup.js';
import { runNotFound } from '../store/missing.js';
import type { RunRow, Store } from '../store/store.js';
import { PageCache } from './cache.js';
import { RecordIndex, useRecordIndex } from './queries.js';
import { comparePage } from './compare-page.js';
import { filterParams, parseFilter, queryString, type RecordFilter } from './filter.js';
import { insertGrade, parseGrade } from './grades.js';
import { labelsPage, parseLabelsQuery } from './labels-page.js';
import { HEADER_CSP, pageParam, paths, viewPage } from './page.js';
import { resolveConfusion } from './confusion.js';
import { recordRow, tagNames } from './queries.js';
import { recordPage } from './record-page.js';
import { recordsPage } from './records-page.js';
import { routingPage, type ViewRouting } from './routing-page.js';
import {
  type ProjectionChoice,
  projectionParams,
  projectionView,
  parseProjection,
  runPage,
  type ViewProjection,
} from './run-page.js';
import { runsPage } from './runs-page.js';

export const VIEW_HOST = '127.0.0.1';
/** A grade form is a few kilobytes; anything much bigger is refused unread. */
const MAX_FORM_BYTES = 64 * 1024;

export interface ViewOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  clock?: Clock;
  /** Where unexpected errors are logged (a line each, with the stack). */
  log?: (line: string) => void;
  /** `holdout view --route`: the routing evaluations the command made at start (the routing page). */
  routing?: ViewRouting;
  /**
   * `?project=1` on the run and compare pages: what `holdout report --project` reads for a run (the
   * command reads the files: the sample manifest, `--volume-from`). Without it the pages offer no projection.
   */
  projection?: ViewProjection;
  /** How many run and compare pages are kept built (cache.ts); 0 keeps none. Default 8. */
  cachedPages?: number;
}

export interface ViewServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A response other than a page: a status with a message and a hint, rendered as a small page. */
class Reply extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': HEADER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export async function startViewServer(store: Store, opts: ViewOptions = {}): Promise<ViewServer> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? (() => {});
  const token = randomBytes(32).toString('base64url');
  let port = 0;
  const pages = new PageCache(store.db, opts.cachedPages ?? 8);
  // The records pages read each run through its records index, kept current by the same checks.
  useRecordIndex(store.db, new RecordIndex(store.db, pages));
  const server = createServer((req, res) => {
    const started = performance.now();
    const send = (status: number, html: string, extra: Record<string, string> = {}) => {
      const ms = (performance.now() - started).toFixed(1);
      res.writeHead(status, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Server-Timing': `app;dur=${ms}`,
        ...extra,
      });
      res.end(html);
    };
    handle(req, { store, clock, token, port, routing: opts.routing, projection: opts.projection, pages })
      .then((out) =>
        out.redirect !== undefined ? send(303, '', { Location: out.redirect }) : send(200, out.html ?? ''),
      )
      .catch((err: unknown) => {
        const r = asReply(err);
        if (r.status >= 500)
          log(`holdout view: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}\n`);
        send(r.status, problemPage(r), r.status === 405 ? { Allow: r.hint ?? 'GET' } : {});
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, VIEW_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${VIEW_HOST}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Ctx {
  store: Store;
  clock: Clock;
  token: string;
  port: number;
  routing: ViewRouting | undefined;
  projection: ViewProjection | undefined;
  pages: PageCache;
}

type Out = { html?: string; redirect?: string };

function asReply(err: unknown): Reply {
  if (err instanceof Reply) return err;
  if (err instanceof HarnessError) {
    const status = err.code === 'RUN_NOT_FOUND' ? 404 : err.exitCode === 2 ? 400 : 500;
    return new Reply(status, err.message, err.hint);
  }
  return new Reply(500, 'unexpected error (a bug; the server log has the details)');
}

function problemPage(r: Reply): string {
  const hint = r.hint && r.status !== 405 ? el('p', { class: 'note' }, esc(`hint: ${r.hint}`)) : '';
  return viewPage(
    `${r.status}`,
    [
      ['runs', paths.runs()],
      [String(r.status), null],
    ],
    [el('div', { class: 'problem', role: 'alert' }, esc(r.message)), hint],
  );
}

/** Host must name this server's loopback address: a page of another site cannot read the viewer. */
function checkHost(req: IncomingMessage, port: number): string {
  const host = req.headers.host ?? '';
  if (host !== `${VIEW_HOST}:${port}` && host !== `localhost:${port}`) {
    throw new Reply(421, `this server answers only to http://${VIEW_HOST}:${port}/`);
  }
  return host;
}

async function handle(req: IncomingMessage, ctx: Ctx): Promise<Out> {
  const host = checkHost(req, ctx.port);
  const url = new URL(req.url ?? '/', `http://${host}`);
  let seg: string[];
  try {
    seg = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new Reply(400, 'malformed path');
  }
  const method = req.method ?? 'GET';
  const isPost = seg.length === 5 && seg[0] === 'runs' && seg[2] === 'records' && seg[4] === 'grades';
  if (isPost ? method !== 'POST' : method !== 'GET' && method !== 'HEAD') {
    throw new Reply(405, `${method} is not allowed here`, isPost ? 'POST' : 'GET, HEAD');
  }
  const db = ctx.store.db;
  const q = url.searchParams;
  if (seg.length === 0) return { html: runsPage(ctx.store, pageParam(q), ctx.pages) };
  if (seg[0] !== 'runs' || seg.length < 2) throw new Reply(404, `no page at ${url.pathname}`);
  const run = getRun(ctx.store, seg[1]!);
  const candidates = ctx.store.candidates(run.id).map((c) => c.candidate);
  if (seg.length === 2) {
    const by = q.get('by') || undefined;
    const choice = projectionChoice(q, db, run.id);
    const keep: [string, string][] = [
      ...(by === undefined ? [] : [['by', by] as [string, string]]),
      ...projectionParams(choice),
    ];
    if (hasEmptyProjectionField(q, choice))
      return { redirect: `${paths.run(run.id)}${queryString(keep)}#projection` };
    const pv = choice ? await projectionView(ctx.projection, run, choice) : ctx.projection && 'available';
    return {
      html: ctx.pages.get(run.id, `run\u0000${queryString(keep)}`, () => runPage(ctx.store, run, by, pv)),
    };
  }
  if (seg.length === 3 && seg[2] === 'compare') {
    const [a, b] = [q.get('a') || undefined, q.get('b') || undefined];
    for (const c of [a, b]) {
      if (c !== undefined && !candidates.includes(c)) {
        throw new Reply(
          400,
          `'${c}' is not a candidate of run ${run.id}`,
          `the candidates are ${candidates.join(', ')}`,
        );
      }
    }
    if (a !== undefined && a === b) throw new Reply(400, 'compare two different candidates');
    const choice = projectionChoice(q, db, run.id);
    const picked: [string, string][] =
      a === undefined || b === undefined
        ? []
        : [
            ['a', a],
            ['b', b],
          ];
    const keep = [...picked, ...projectionParams(choice)];
    if (hasEmptyProjectionField(q, choice))
      return { redirect: `${paths.compare(run.id)}${queryString(keep)}#projection` };
    const pv =
      choice && picked.length > 0
        ? await projectionView(ctx.projection, run, choice)
        : ctx.projection && 'available';
    const build = () => comparePage(ctx.store, run, candidates, a, b, pv);
    if (a === undefined || b === undefined) return { html: build() };
    return { html: ctx.pages.get(run.id, `compare\u0000${queryString(keep)}`, build) };
  }
  if (seg.length === 3 && seg[2] === 'labels') {
    return { html: labelsPage(db, run, candidates, parseLabelsQuery(q, candidates)) };
  }
  if (seg.length === 3 && seg[2] === 'routing') {
    if (q.get('volume') || q.get('post_stratify')) {
      throw new Reply(
        400,
        'the routing page shows the projection made with the evaluation, when the viewer started: volume= and post_stratify= are not taken here',
        'give the volume with holdout view --volume-from pool.jsonl, or use project=1 on the run and compare pages',
      );
    }
    return { html: routingPage(run, ctx.routing, parseProjection(q, []) !== null) };
  }
  if (seg[2] !== 'records') throw new Reply(404, `no page at ${url.pathname}`);
  const filter = resolveConfusion(db, run, candidates, parseFilter(q, candidates));
  if (seg.length === 3) {
    const page = pageParam(q);
    const canonical: [string, string][] = [
      ...filterParams(filter),
      ...(page > 1 ? [['page', String(page)] as [string, string]] : []),
    ];
    // A submitted GET form sends its empty fields too: answer with the link without them.
    if ([...q.values()].includes('')) return { redirect: paths.records(run.id, canonical) };
    return { html: recordsPage(db, run, candidates, filter, page) };
  }
  const record = recordRow(db, run.id, seg[3]!);
  if (!record) throw new Reply(404, `run ${run.id} has no record ${JSON.stringify(seg[3])}`);
  if (seg.length === 4) {
    const i = Number(q.get('i'));
    const index = q.has('i') && Number.isInteger(i) && i >= 0 ? i : undefined;
    const diff = q.get('diff') || undefined;
    if (diff !== undefined && !candidates.includes(diff)) {
      throw new Reply(
        400,
        `diff: '${diff}' is not a candidate of run ${run.id}`,
        `the candidates are ${candidates.join(', ')}`,
      );
    }
    return { html: recordPage({ db, run, candidates, record, filter, index, token: ctx.token, diff }) };
  }
  if (isPost) return postGrade(req, ctx, host, run, candidates, record.record_id);
  throw new Reply(404, `no page at ${url.pathname}`);
}

/** The page's projection choice; the run's tags are read only when a tag is asked for. */
function projectionChoice(q: URLSearchParams, db: Store['db'], runId: number): ProjectionChoice | null {
  return parseProjection(q, q.get('post_stratify') ? tagNames(db, runId) : []);
}

/** A submitted projection form sends its empty fields too: answered with the link without them. */
function hasEmptyProjectionField(q: URLSearchParams, choice: ProjectionChoice | null): boolean {
  return choice !== null && (q.get('volume') === '' || q.get('post_stratify') === '');
}

function getRun(store: Store, idText: string): RunRow {
  const id = /^\d{1,15}$/.test(idText) ? Number(idText) : Number.NaN;
  const run = Number.isNaN(id) ? undefined : store.getRun(id);
  if (!run) {
    if (Number.isNaN(id)) throw new Reply(404, `no run ${JSON.stringify(idText)}`);
    throw runNotFound(store.db, id);
  }
  return run;
}

/** A grade: same origin, the server's token, a form; stored, then back to the record (303). */
async function postGrade(
  req: IncomingMessage,
  ctx: Ctx,
  host: string,
  run: RunRow,
  candidates: string[],
  recordId: string,
): Promise<Out> {
  if (req.headers.origin !== `http://${host}`) {
    throw new Reply(
      403,
      'a grade must be sent from the viewer’s own page (the Origin header does not match)',
    );
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new Reply(415, 'a grade is sent as a form');
  const form = new URLSearchParams(await readBody(req));
  const given = Buffer.from(form.get('token') ?? '');
  const expected = Buffer.from(ctx.token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new Reply(403, 'this form is from another viewer session: reload the record and grade again');
  }
  insertGrade(ctx.store, parseGrade(ctx.store, run.id, recordId, form), ctx.clock);
  return { redirect: backTo(run.id, recordId, candidates, form.get('back') ?? '') };
}

/** The record page the form came from, rebuilt from checked parts only (never a URL taken as given). */
function backTo(runId: number, recordId: string, candidates: string[], back: string): string {
  const [query = '', anchor = ''] = back.split('#', 2);
  const q = new URLSearchParams(query);
  let filter: RecordFilter | null = null;
  try {
    filter = parseFilter(q, candidates);
  } catch {
    filter = null;
  }
  const params = filter ? filterParams(filter) : [];
  const i = q.get('i');
  if (filter && i !== null && /^\d{1,9}$/.test(i)) params.push(['i', i]);
  return `${paths.record(runId, recordId, params)}${/^output-\d+-\d+$/.test(anchor) ? `#${anchor}` : ''}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_FORM_BYTES) {
      reject(new Reply(413, 'the form is too large'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES) {
        reject(new Reply(413, 'the form is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
