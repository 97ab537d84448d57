/**
 * A stored record drawn for reading: the prompt turn by turn (Chat `messages` or Responses `input`,
 * `instructions`), the tools and the response format, the other request parameters, the reference,
 * and the logged production response. The record is untrusted: every value is escaped text.
 */
import { contentText, requestTurns } from '../../datasets/record.js';
import { escapeHtml as esc } from '../render/format.js';
import { el } from '../render/markup.js';
import { facts, jsonBlock, section, textBlock } from './page.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The record's body as stored; a body that does not parse shows as its raw text. */
export function parseBody(json: string): Obj | string {
  try {
    const v = JSON.parse(json) as unknown;
    return isObj(v) ? v : json;
  } catch {
    return json;
  }
}

function turnHtml(t: Obj): string {
  const role = typeof t.role === 'string' ? t.role : typeof t.type === 'string' ? t.type : 'item';
  const parts: string[] = [];
  const text = contentText(t.content);
  if (text !== '') parts.push(textBlock(text));
  // Non-text content parts (images, files, audio) and everything else of the turn, as JSON.
  if (Array.isArray(t.content)) {
    const other = t.content.filter((p) => !(isObj(p) && typeof p.text === 'string'));
    if (other.length > 0) parts.push(jsonBlock(other));
  } else if (t.content !== undefined && typeof t.content !== 'string') parts.push(jsonBlock(t.content));
  const rest = Object.fromEntries(Object.entries(t).filter(([k]) => k !== 'role' && k !== 'content'));
  if (Object.keys(rest).length > 0 && !(Object.keys(rest).length === 1 && 'type' in rest)) {
    parts.push(jsonBlock(rest));
  }
  if (parts.length === 0) parts.push(el('p', { class: 'note' }, '(empty)'));
  return el(
    'div',
    { class: 'turn', 'data-role': role },
    `${el('div', { class: 'role' }, esc(role))}${parts.join('')}`,
  );
}

/** The prompt section: instructions, turns, tools, response format, the other parameters. */
export function promptSection(body: Obj | string, api: string): string {
  if (typeof body === 'string') return section('prompt', 'Prompt', textBlock(body));
  const request = isObj(body.request) ? body.request : {};
  const out: string[] = [
    el('p', { class: 'meta' }, esc(`API: ${api === 'responses' ? 'Responses' : 'Chat Completions'}`)),
  ];
  if (typeof request.instructions === 'string') {
    out.push(turnHtml({ role: 'instructions', content: request.instructions }));
  }
  const turns = requestTurns(request);
  out.push(...turns.map((t) => turnHtml(isObj(t) ? t : { role: 'item', content: String(t) })));
  if (request.tools !== undefined) out.push(el('h3', {}, 'Tools'), jsonBlock(request.tools));
  if (request.tool_choice !== undefined)
    out.push(el('h3', {}, 'Tool choice'), jsonBlock(request.tool_choice));
  const format = request.response_format ?? (isObj(request.text) ? request.text.format : undefined);
  if (format !== undefined) out.push(el('h3', {}, 'Response format'), jsonBlock(format));
  const shown = new Set(['messages', 'input', 'instructions', 'tools', 'tool_choice', 'response_format']);
  const params = Object.fromEntries(
    Object.entries(request).filter(([k]) => !shown.has(k) && !(k === 'text' && format !== undefined)),
  );
  if (Object.keys(params).length > 0) out.push(el('h3', {}, 'Other request parameters'), jsonBlock(params));
  return section('prompt', 'Prompt', out.join('\n'));
}

/** The reference: expected text and label as text, the rest (JSON, schema, tool calls, grade) as JSON. */
export function referenceSection(body: Obj | string): string {
  const ref = typeof body === 'string' ? undefined : body.reference;
  if (!isObj(ref))
    return section('reference', 'Reference', el('p', { class: 'note' }, 'This record has no reference.'));
  const out: string[] = [];
  for (const [k, v] of Object.entries(ref)) {
    out.push(el('h3', {}, esc(k)), typeof v === 'string' ? textBlock(v) : jsonBlock(v));
  }
  return section('reference', 'Reference', out.join('\n'));
}

/** The text of a logged response body: Chat `choices[0].message`, or Responses `output_text` / output items. */
function productionText(resp: Obj): string | null {
  if (Array.isArray(resp.choices)) {
    const m = isObj(resp.choices[0]) && isObj(resp.choices[0].message) ? resp.choices[0].message : null;
    if (m) return contentText(m.content);
  }
  if (typeof resp.output_text === 'string') return resp.output_text;
  if (Array.isArray(resp.output)) {
    return resp.output
      .flatMap((item) => (isObj(item) && Array.isArray(item.content) ? item.content : []))
      .map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return null;
}

/** The production response logged with the record, when there is one ('' otherwise). */
export function productionSection(body: Obj | string): string {
  const prod = typeof body === 'string' ? undefined : body.production;
  if (!isObj(prod)) return '';
  const resp = isObj(prod.body) ? prod.body : {};
  const text = productionText(resp);
  const latency = typeof prod.latency_ms === 'number' ? `${prod.latency_ms} ms` : null;
  const model = typeof resp.model === 'string' ? resp.model : null;
  const out = [
    facts([
      ['model', model],
      ['latency', latency],
    ]),
    text === null ? el('p', { class: 'note' }, 'No text in the logged response.') : textBlock(text),
    `<details><summary>the logged response body</summary>${jsonBlock(resp)}</details>`,
  ];
  return section('production', 'Production response', out.join('\n'));
}

/** Metadata of the record (timestamp, metadata), as facts and JSON. */
export function metadataBlock(body: Obj | string): string {
  if (typeof body === 'string') return '';
  const out = [facts([['timestamp', typeof body.timestamp === 'string' ? body.timestamp : null]])];
  if (body.metadata !== undefined)
    out.push(`<details><summary>metadata</summary>${jsonBlock(body.metadata)}</details>`);
  return out.join('\n');
}
