/**
 * Token approximation: ceil(UTF-16 code units / 4) of a text. Not a real tokenizer (the harness
 * has one for cost estimates); it only has to be deterministic, cheap, and easy to predict in tests.
 *
 * The prompt is serialized to one string and counted as a whole, so that a prefix of the string is
 * a prefix of the tokens: token i covers characters [4i, 4i + 4). The prefix cache relies on that.
 * Serialization: `tools: <JSON>\n` when tools are given, then one `<role>: <text>\n` line per turn.
 * Responses `instructions` become a leading `system:` line and a string `input` a `user:` line, so a
 * Chat record replayed through the Responses API serializes the same way.
 */
import { contentText } from '../../datasets/record.js';

export const CHARS_PER_TOKEN = 4;

export function countTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

type Turn = { role?: unknown; content?: unknown; tool_calls?: unknown; type?: unknown };

function turnLine(turn: unknown): string {
  if (!turn || typeof turn !== 'object') return '';
  const t = turn as Turn;
  // Role-less Responses items (function_call, function_call_output, reasoning): their JSON is the text.
  if (typeof t.role !== 'string')
    return `${typeof t.type === 'string' ? t.type : 'item'}: ${JSON.stringify(t)}\n`;
  let text = contentText(t.content);
  if (t.tool_calls !== undefined) text += JSON.stringify(t.tool_calls);
  return `${t.role}: ${text}\n`;
}

function toolsLine(tools: unknown): string {
  return Array.isArray(tools) && tools.length > 0 ? `tools: ${JSON.stringify(tools)}\n` : '';
}

export function serializeChatPrompt(body: Record<string, unknown>): string {
  let out = toolsLine(body.tools);
  for (const m of body.messages as unknown[]) out += turnLine(m);
  return out;
}

export function serializeResponsesPrompt(body: Record<string, unknown>): string {
  let out = toolsLine(body.tools);
  if (typeof body.instructions === 'string' && body.instructions !== '') {
    out += `system: ${body.instructions}\n`;
  }
  if (typeof body.input === 'string') out += `user: ${body.input}\n`;
  else if (Array.isArray(body.input)) for (const item of body.input) out += turnLine(item);
  return out;
}
