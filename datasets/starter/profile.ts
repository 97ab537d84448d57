/**
 * The profile of a dataset a starter config is proposed from: API styles, logged models, tags, and
 * per value of the `task` tag what the references look like (labels, JSON, text, tool calls). Built
 * one record at a time in bounded memory: counters, capped value sets and JSON shapes, never the
 * records themselves.
 */
import type { StarterRecord } from './detect.js';
import { addValue, emptyShape, type Shape } from './json-shape.js';

/** Distinct values kept per counter; beyond it the counter says it overflowed. */
export const MAX_DISTINCT = 100;
/** Output lengths kept per task for the median (the first ones). */
const MAX_LENGTHS = 2000;

export interface Counts {
  values: Map<string, number>;
  /** More than MAX_DISTINCT distinct values were seen: `values` holds the first ones. */
  overflow: boolean;
}

const counts = (): Counts => ({ values: new Map(), overflow: false });

function bump(c: Counts, value: string): void {
  const n = c.values.get(value);
  if (n !== undefined) c.values.set(value, n + 1);
  else if (c.values.size < MAX_DISTINCT) c.values.set(value, 1);
  else c.overflow = true;
}

/** What the records of one task (one value of the `task` tag) carry as references. */
export interface TaskProfile {
  /** The `task` tag's value; null: records without one. */
  task: string | null;
  records: number;
  withLabel: number;
  labels: Counts;
  /** `reference.json` present, and its shape. */
  withJson: number;
  jsonShape: Shape;
  /** `reference.schema` present (the json scorer uses it unless given its own). */
  withSchema: number;
  withOutput: number;
  outputs: Counts;
  /** Reference outputs that are a JSON object or array, and their shape. */
  outputJson: number;
  outputShape: Shape;
  outputLengths: number[];
  withToolCalls: number;
  /** Requests asking for JSON (`response_format` json_object/json_schema, or Responses `text.format`). */
  jsonRequests: number;
}

export interface DatasetProfile {
  records: number;
  apis: Counts;
  models: Counts;
  /** Tag name → its values. */
  tags: Map<string, Counts>;
  tasks: Map<string | null, TaskProfile>;
}

export function emptyProfile(): DatasetProfile {
  return { records: 0, apis: counts(), models: counts(), tags: new Map(), tasks: new Map() };
}

function taskProfile(task: string | null): TaskProfile {
  return {
    task,
    records: 0,
    withLabel: 0,
    labels: counts(),
    withJson: 0,
    jsonShape: emptyShape(),
    withSchema: 0,
    withOutput: 0,
    outputs: counts(),
    outputJson: 0,
    outputShape: emptyShape(),
    outputLengths: [],
    withToolCalls: 0,
    jsonRequests: 0,
  };
}

/** The tag whose values group scorers (`match: { task: … }`), as in the bundled sample and docs. */
export const TASK_TAG = 'task';

/** Adds one record to the profile. */
export function addRecord(p: DatasetProfile, r: StarterRecord): void {
  p.records++;
  bump(p.apis, r.api);
  const model = r.request.model;
  bump(p.models, typeof model === 'string' && model !== '' ? model : '(none)');
  const tags = r.tags ?? {};
  for (const [k, v] of Object.entries(tags)) {
    let c = p.tags.get(k);
    if (!c) {
      c = counts();
      p.tags.set(k, c);
    }
    bump(c, v);
  }
  const task = tags[TASK_TAG] ?? null;
  let t = p.tasks.get(task);
  if (!t) {
    t = taskProfile(task);
    p.tasks.set(task, t);
  }
  t.records++;
  if (asksForJson(r.request)) t.jsonRequests++;
  const ref = r.reference;
  if (!ref) return;
  if (typeof ref.label === 'string') {
    t.withLabel++;
    bump(t.labels, ref.label);
  }
  if (ref.json !== undefined) {
    t.withJson++;
    addValue(t.jsonShape, ref.json);
  }
  if (ref.schema !== undefined) t.withSchema++;
  if (Array.isArray(ref.tool_calls)) t.withToolCalls++;
  if (typeof ref.output === 'string') {
    t.withOutput++;
    bump(t.outputs, ref.output);
    if (t.outputLengths.length < MAX_LENGTHS) t.outputLengths.push([...ref.output].length);
    const parsed = jsonContainer(ref.output);
    if (parsed !== undefined) {
      t.outputJson++;
      addValue(t.outputShape, parsed);
    }
  }
}

/** The text as a JSON object or array, or undefined. */
function jsonContainer(text: string): unknown {
  const s = text.trim();
  if (!(s.startsWith('{') || s.startsWith('['))) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

function asksForJson(request: Record<string, unknown>): boolean {
  const isJson = (f: unknown) =>
    typeof f === 'object' &&
    f !== null &&
    ['json_object', 'json_schema'].includes((f as { type?: unknown }).type as string);
  const text = request.text as { format?: unknown } | undefined;
  return isJson(request.response_format) || isJson(text?.format);
}

/** Values by count, most frequent first, ties by value. */
export function byCount(c: Counts): [string, number][] {
  return [...c.values].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
