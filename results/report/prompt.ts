/**
 * A stored record read for people: its prompt turn by turn, its last user turn, its reference as one
 * line. Pure functions over the stored body (`records.body_json`), plus the one query that reads the
 * bodies of a few records; `holdout show` and the report's flips use them.
 */
import type Database from 'better-sqlite3';
import { contentText, requestTurns } from '../../datasets/record.js';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** One turn of the prompt as text: its role and its text parts; anything else of it as compact JSON. */
export interface PromptTurn {
  role: string;
  text: string;
  /** Tool calls, images, function outputs…: what is not text, as JSON; null when there is nothing. */
  other: string | null;
}

/** The turns of a stored request: `instructions` (Responses) first, then the messages or input items. */
export function promptTurns(request: unknown): PromptTurn[] {
  if (!isObj(request)) return [];
  const out: PromptTurn[] = [];
  if (typeof request.instructions === 'string') {
    out.push({ role: 'instructions', text: request.instructions, other: null });
  }
  for (const t of requestTurns(request)) {
    if (!isObj(t)) {
      out.push({ role: 'item', text: String(t), other: null });
      continue;
    }
    const role = typeof t.role === 'string' ? t.role : typeof t.type === 'string' ? t.type : 'item';
    const text = contentText(t.content);
    const rest: Obj = Object.fromEntries(
      Object.entries(t).filter(
        ([k, v]) => k !== 'role' && k !== 'content' && !(k === 'type' && (v === 'message' || role === v)),
      ),
    );
    if (Array.isArray(t.content)) {
      const parts = t.content.filter((p) => !(isObj(p) && typeof p.text === 'string'));
      if (parts.length > 0) rest.content = parts;
    } else if (t.content !== undefined && t.content !== null && typeof t.content !== 'string') {
      rest.content = t.content;
    }
    out.push({ role, text, other: Object.keys(rest).length > 0 ? JSON.stringify(rest) : null });
  }
  return out;
}

/** The last user turn's text ('' without one): what a reader recognises a prompt by. */
export function lastUserTurn(request: unknown): string {
  if (!isObj(request)) return '';
  const turns = requestTurns(request);
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i];
    if (isObj(t) && t.role === 'user') return contentText(t.content);
  }
  return '';
}

/**
 * The reference as one line of text: its output, else its label, else its expected JSON or tool calls
 * (as JSON), else the whole reference as JSON.
 */
export function referenceText(reference: unknown): string | null {
  if (!isObj(reference) || Object.keys(reference).length === 0) return null;
  if (typeof reference.output === 'string') return reference.output;
  if (typeof reference.label === 'string') return `label: ${reference.label}`;
  if (reference.json !== undefined) return JSON.stringify(reference.json);
  if (reference.tool_calls !== undefined) return `tool calls: ${JSON.stringify(reference.tool_calls)}`;
  return JSON.stringify(reference);
}

/** The stored body; null when it is not a JSON object. */
export function parseRecordBody(json: string): Obj | null {
  try {
    const v = JSON.parse(json) as unknown;
    return isObj(v) ? v : null;
  } catch {
    return null;
  }
}

/** The stored bodies of these records of a run (one query), by record id; bodies that do not parse are left out. */
export function recordBodies(
  db: Database.Database,
  runId: number,
  recordIds: readonly string[],
): Map<string, Obj> {
  const out = new Map<string, Obj>();
  if (recordIds.length === 0) return out;
  const rows = db
    .prepare(
      `SELECT r.record_id, r.body_json FROM json_each(?) j CROSS JOIN records r
       ON r.run_id = ? AND r.record_id = j.value`,
    )
    .raw()
    .all(JSON.stringify([...new Set(recordIds)]), runId) as [string, string][];
  for (const [id, json] of rows) {
    const body = parseRecordBody(json);
    if (body) out.set(id, body);
  }
  return out;
}
