/**
 * From a dataset profile to a proposal: one scorer per value of the `task` tag, chosen from what
 * the references hold, and the candidates: the logged models, and a cheaper and a newer sibling of
 * the main one from the price table (passed in: datasets/ does not know prices). Pure: the same
 * profile and prices give the same proposal.
 */
import { shapeSchema } from './json-shape.js';
import { byCount, type DatasetProfile, median, TASK_TAG, type TaskProfile } from './profile.js';

/** A model's list price, USD per 1M tokens (Standard tier). */
export interface PriceEntry {
  model: string;
  input: number;
  output: number;
}

export interface PriceBook {
  /** Every model of the price table. */
  list: readonly PriceEntry[];
  /** A model's entry, dated snapshots priced as their family; undefined when the table has none. */
  lookup(model: string): PriceEntry | undefined;
  /** The table's date, for the comments ("price table 2026-08"). */
  date: string;
}

export interface ProposedScorer {
  /** The `scorers:` entry as it is written (kind first). */
  spec: Record<string, unknown>;
  /** Comment lines written above it: why this scorer, from what evidence. */
  why: string[];
}

export interface ProposedCandidate {
  id: string;
  model: string;
  api: 'chat' | 'responses';
  origin: 'logged' | 'cheaper' | 'newer' | 'default';
  why: string;
  /** The price table knows the model: without it the run needs a `price:`. */
  priced: boolean;
}

export interface StarterProposal {
  candidates: ProposedCandidate[];
  scorers: ProposedScorer[];
  /** Comment lines about the scorers as a whole (records no scorer covers, no references). */
  scorerNotes: string[];
}

/** More labels than this and the label set is left out (any label the reference names counts). */
export const MAX_LABELS = 50;
/** Reference outputs shorter than this (median, in characters) are matched; longer ones compared. */
export const SHORT_OUTPUT_CHARS = 300;
/** Logged models written as candidates (the most frequent ones). */
export const MAX_LOGGED = 3;
/** The model proposed when the data names none. */
export const DEFAULT_MODEL = 'gpt-5.4-mini';

const majority = (k: number, n: number) => n > 0 && k * 2 > n;
const quoteList = (xs: readonly string[], max = 6) =>
  xs
    .slice(0, max)
    .map((x) => JSON.stringify(x))
    .join(', ') + (xs.length > max ? `, … (${xs.length} in all)` : '');

/** A scorer name from a task value: letters, digits, `_ . -` only. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'task';
}

/** The scorer for one task's records, or the reason there is none. */
export function scorerFor(
  t: TaskProfile,
): { kind: string; args: Record<string, unknown>; why: string[] } | { none: string } {
  const n = t.records;
  const of = (k: number, what: string) => `${k} of ${n} records have ${what}`;
  if (majority(t.withToolCalls, n)) {
    return { kind: 'tool_call', args: {}, why: [of(t.withToolCalls, 'reference.tool_calls')] };
  }
  if (majority(t.withLabel, n)) {
    const labels = byCount(t.labels).map(([l]) => l);
    const why = [of(t.withLabel, 'reference.label')];
    if (t.labels.overflow || labels.length > MAX_LABELS) {
      why.push(`more than ${MAX_LABELS} distinct labels: no label set (any label a reference names counts)`);
      return { kind: 'label', args: {}, why };
    }
    why.push(`labels seen: ${labels.length}; add any the sample missed (an output outside the set scores 0)`);
    return { kind: 'label', args: { labels: [...labels].sort() }, why };
  }
  if (majority(t.withJson, n)) {
    const why = [
      of(t.withJson, 'reference.json'),
      'passes when the output is JSON equal to reference.json (key order ignored)',
    ];
    if (t.withSchema === t.withJson) {
      why.push('every one carries reference.schema: the scorer checks against it');
      return { kind: 'json', args: { equals_reference: true }, why };
    }
    why.push('schema inferred from the reference JSON (types and the keys every example has): review it');
    return { kind: 'json', args: { equals_reference: true, schema: shapeSchema(t.jsonShape) }, why };
  }
  if (majority(t.withOutput, n)) {
    const why = [of(t.withOutput, 'reference.output')];
    if (t.outputJson * 5 >= t.withOutput * 4) {
      why.push(
        `${t.outputJson} of them are JSON: the output must be JSON of the same shape (schema inferred from them: review it)`,
        'for field-level credit, put the expected value in reference.json and use kind: json_diff',
      );
      return { kind: 'json', args: { schema: shapeSchema(t.outputShape) }, why };
    }
    const distinct = byCount(t.outputs).map(([o]) => o);
    const labelLike =
      !t.outputs.overflow &&
      distinct.length <= 20 &&
      t.withOutput >= 3 * distinct.length &&
      distinct.every((o) => o.length <= 40 && !/\n/.test(o));
    if (labelLike) {
      why.push(
        `only ${distinct.length} distinct answers (${quoteList(distinct)}): classification-like`,
        'matched after normalization; with the answers in reference.label, kind: label would also restrict them to the set',
      );
      return { kind: 'normalized', args: {}, why };
    }
    const med = median(t.outputLengths);
    if (med <= SHORT_OUTPUT_CHARS) {
      why.push(
        `short answers (median ${Math.round(med)} characters): equal up to stray whitespace and Unicode forms;`,
        'case and punctuation count, as in a formatting task (case: true, punctuation: true to forgive them)',
      );
      return { kind: 'normalized', args: { case: false, punctuation: false }, why };
    }
    why.push(
      `long answers (median ${Math.round(med)} characters): word overlap with the reference (ROUGE-L)`,
      'for open-ended answers a model-graded judge_rubric scorer is usually better: see docs/scorers.md',
    );
    return { kind: 'rouge_l', args: {}, why };
  }
  if (majority(t.jsonRequests, n)) {
    return {
      kind: 'json',
      args: {},
      why: [
        `${t.jsonRequests} of ${n} requests ask for JSON and there are no references: the output must parse as JSON`,
      ],
    };
  }
  return {
    none: `no references to score against (${t.withOutput + t.withLabel + t.withJson} of ${n} records have one)`,
  };
}

export function proposeScorers(p: DatasetProfile): Pick<StarterProposal, 'scorers' | 'scorerNotes'> {
  const scorers: ProposedScorer[] = [];
  const scorerNotes: string[] = [];
  const tagged = [...p.tasks.keys()].some((k) => k !== null);
  const tasks = [...p.tasks.values()].sort((a, b) => b.records - a.records);
  const names = new Set<string>();
  for (const t of tasks) {
    const label = t.task === null ? 'records without a task tag' : `task=${t.task}`;
    if (t.task === null && tagged) {
      scorerNotes.push(
        `${t.records} records have no ${TASK_TAG} tag: no scorer below applies to them (tag them, e.g. holdout import --tag ${TASK_TAG}=…)`,
      );
      continue;
    }
    const s = scorerFor(t);
    if ('none' in s) {
      scorerNotes.push(
        `${label}: ${s.none}; import logs with --reference production to compare with the logged answers, or add a judge (kind: judge_rubric, docs/scorers.md)`,
      );
      continue;
    }
    let name = t.task === null ? s.kind : `${slug(t.task)}_${s.kind}`;
    for (let i = 2; names.has(name); i++) name = `${name}_${i}`;
    names.add(name);
    const spec: Record<string, unknown> = { kind: s.kind, name };
    if (t.task !== null) spec.match = { [TASK_TAG]: t.task };
    Object.assign(spec, s.args);
    scorers.push({ spec, why: [`${label}: ${s.why[0]}`, ...s.why.slice(1)] });
  }
  return { scorers, scorerNotes };
}

/** `gpt-5.4-mini` → version 5.4, tier mini (rank 1); none for names outside the gpt-N[.M][-tier] pattern. */
function lineage(model: string): { version: number; tier: number } | undefined {
  const m = /^gpt-(\d+(?:\.\d+)?)(?:-(mini|nano))?$/.exec(model);
  if (!m) return undefined;
  return { version: Number(m[1]), tier: m[2] === 'nano' ? 0 : m[2] === 'mini' ? 1 : 2 };
}

const usd = (x: number) => `$${x.toFixed(2)}`;

/**
 * A cheaper and a newer sibling of `base` from the price table. Cheaper: no rate higher and one
 * lower, the newest such model (then the largest tier). Newer: the same tier in the newest
 * version above `base`'s. One model that is both is proposed once.
 */
export function siblings(
  base: PriceEntry,
  prices: PriceBook,
): { entry: PriceEntry; origin: 'cheaper' | 'newer'; why: string }[] {
  const b = lineage(base.model);
  if (!b) return [];
  const ranked = prices.list
    .map((e) => ({ e, l: lineage(e.model) }))
    .filter(
      (x): x is { e: PriceEntry; l: { version: number; tier: number } } =>
        x.l !== undefined && x.e.model !== base.model,
    )
    .sort((x, y) => y.l.version - x.l.version || y.l.tier - x.l.tier || x.e.output - y.e.output);
  const cheaper = ranked.find(
    ({ e }) =>
      e.input <= base.input && e.output <= base.output && (e.input < base.input || e.output < base.output),
  );
  const newer = ranked.find(({ l }) => l.tier === b.tier && l.version > b.version);
  const rates = (e: PriceEntry) => `${usd(e.input)} in / ${usd(e.output)} out`;
  const versus = `against ${rates(base)} for ${base.model} (price table ${prices.date}, per 1M tokens)`;
  const out: { entry: PriceEntry; origin: 'cheaper' | 'newer'; why: string }[] = [];
  if (cheaper) {
    const alsoNewer = newer?.e.model === cheaper.e.model || cheaper.l.version > b.version;
    out.push({
      entry: cheaper.e,
      origin: 'cheaper',
      why: `${alsoNewer ? 'a newer, cheaper' : 'a cheaper'} sibling: ${rates(cheaper.e)} ${versus}`,
    });
  }
  if (newer && newer.e.model !== cheaper?.e.model) {
    out.push({ entry: newer.e, origin: 'newer', why: `a newer sibling: ${rates(newer.e)} ${versus}` });
  }
  return out;
}

/** A candidate id from a model name: the config allows letters, digits and `. _ : -`. */
function candidateId(model: string, taken: Set<string>): string {
  let id = model.replace(/[^A-Za-z0-9._:-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  const base = id;
  for (let i = 2; taken.has(id); i++) id = `${base}-${i}`;
  taken.add(id);
  return id;
}

export function proposeCandidates(p: DatasetProfile, prices: PriceBook): ProposedCandidate[] {
  const api = (byCount(p.apis)[0]?.[0] ?? 'chat') as 'chat' | 'responses';
  const logged = byCount(p.models)
    .filter(([m]) => m !== '(none)')
    .slice(0, MAX_LOGGED);
  const taken = new Set<string>();
  const out: ProposedCandidate[] = [];
  const add = (model: string, origin: ProposedCandidate['origin'], why: string) =>
    out.push({
      id: candidateId(model, taken),
      model,
      api,
      origin,
      why,
      priced: prices.lookup(model) !== undefined,
    });
  for (const [model, n] of logged) {
    const share = p.records > 0 ? Math.round((100 * n) / p.records) : 0;
    add(
      model,
      'logged',
      `logged model: ${n} of ${p.records} requests (${share}%)${out.length === 0 ? '; the baseline' : ''}`,
    );
  }
  if (out.length === 0) {
    add(DEFAULT_MODEL, 'default', 'SUGGESTION: the requests name no model; a starting point');
  }
  // Siblings of the family: a dated snapshot (gpt-5.4-mini-2026-03-17) is priced as its family.
  const base = prices.lookup(out[0]!.model);
  if (base) {
    for (const s of siblings(base, prices)) {
      if (out.some((c) => c.model === s.entry.model)) continue;
      add(s.entry.model, s.origin, `SUGGESTION: ${s.why}`);
    }
  }
  return out;
}

export function propose(p: DatasetProfile, prices: PriceBook): StarterProposal {
  return { candidates: proposeCandidates(p, prices), ...proposeScorers(p) };
}
