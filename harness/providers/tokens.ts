/**
 * Input token counts of a request with the tokenizer of the model family (gpt-tokenizer's BPE
 * tables), for routing rules such as "inputs over 272K tokens go to the frontier model".
 *
 * The count approximates what the API bills as input tokens, following OpenAI's cookbook recipe for
 * chat models: every message costs its content and role tokens plus 3 tokens of framing (a `name`
 * adds its tokens and 1 more), and the reply is primed with 3 more. Approximations, on purpose:
 * - tools offered are counted as the tokens of their JSON definitions (the API renders them in its
 *   own format, which differs by a few tokens per function);
 * - image, audio and file parts are not counted (only text parts are);
 * - a Responses request counts `instructions` as a system message, a string `input` as one user
 *   message, function calls as their name and arguments, function call outputs as their output.
 * Special-token strings in user text (e.g. "<|endoftext|>") are counted as ordinary text, as the API
 * treats them.
 */

export type Encoding = 'o200k_base' | 'cl100k_base';

/** Framing tokens per message, per `name` field, and for priming the reply (cookbook, gpt-4o/gpt-4). */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
export const REPLY_PRIMING_TOKENS = 3;

/**
 * The encoding of a model family: o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5.x, the o-series and
 * anything unknown (holdout's simulated `sim-*` models included); cl100k_base for gpt-4 and
 * gpt-3.5 (and text-embedding-3).
 */
export function encodingFor(model: string | undefined): Encoding {
  const m = (model ?? '').toLowerCase();
  if (/^gpt-4o|^chatgpt-4o|^gpt-4\.\d|^gpt-5|^o\d|^gpt-oss/.test(m)) return 'o200k_base';
  if (/^gpt-4(-|$)|^gpt-3\.5|^text-embedding-3|^text-embedding-ada/.test(m)) return 'cl100k_base';
  return 'o200k_base';
}

export interface Tokenizer {
  readonly encoding: Encoding;
  /** Tokens of plain text. */
  count(text: string): number;
}

const loaded = new Map<Encoding, Promise<Tokenizer>>();

/** Loads an encoding's BPE table once (about 0.1 s for o200k_base); later calls share it. */
export function loadTokenizer(encoding: Encoding): Promise<Tokenizer> {
  let t = loaded.get(encoding);
  if (!t) {
    t = (
      encoding === 'o200k_base'
        ? import('gpt-tokenizer/encoding/o200k_base')
        : import('gpt-tokenizer/encoding/cl100k_base')
    ).then((m) => {
      const options = { disallowedSpecial: new Set<string>() };
      return { encoding, count: (text: string) => (text === '' ? 0 : m.countTokens(text, options)) };
    });
    loaded.set(encoding, t);
  }
  return t;
}

type Body = Record<string, unknown>;
type Item = Record<string, unknown>;

/** Text of a content value: a string, or the text of its typed parts (other parts are not counted). */
function partsText(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const p of content as Item[]) {
    if (p && typeof p === 'object' && typeof p.text === 'string') out.push(p.text);
    else if (p && typeof p === 'object' && typeof p.refusal === 'string') out.push(p.refusal);
  }
  return out;
}

function messageTokens(t: Tokenizer, m: Item): number {
  let n = TOKENS_PER_MESSAGE;
  if (typeof m.role === 'string') n += t.count(m.role);
  for (const s of partsText(m.content)) n += t.count(s);
  if (typeof m.name === 'string') n += t.count(m.name) + TOKENS_PER_NAME;
  if (Array.isArray(m.tool_calls)) {
    for (const tc of m.tool_calls as Item[]) {
      const fn = (tc?.function ?? {}) as Item;
      if (typeof fn.name === 'string') n += t.count(fn.name);
      if (typeof fn.arguments === 'string') n += t.count(fn.arguments);
    }
  }
  return n;
}

/** A Responses input item: a message, a function call or its output. */
function itemTokens(t: Tokenizer, item: Item): number {
  if (item.type === 'function_call') {
    return (
      TOKENS_PER_MESSAGE +
      (typeof item.name === 'string' ? t.count(item.name) : 0) +
      (typeof item.arguments === 'string' ? t.count(item.arguments) : 0)
    );
  }
  if (item.type === 'function_call_output') {
    const out = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '');
    return TOKENS_PER_MESSAGE + t.count(out);
  }
  return messageTokens(t, item);
}

/**
 * Approximate billed input tokens of a Chat Completions (`messages`) or Responses (`input`,
 * `instructions`) request body; see the module comment for what is and is not counted.
 */
export function requestInputTokens(t: Tokenizer, body: Body): number {
  let n = 0;
  if (Array.isArray(body.messages)) {
    for (const m of body.messages as Item[]) if (m && typeof m === 'object') n += messageTokens(t, m);
  } else {
    if (typeof body.instructions === 'string')
      n += messageTokens(t, { role: 'system', content: body.instructions });
    if (typeof body.input === 'string') n += messageTokens(t, { role: 'user', content: body.input });
    else if (Array.isArray(body.input)) {
      for (const item of body.input as Item[]) if (item && typeof item === 'object') n += itemTokens(t, item);
    }
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) n += t.count(JSON.stringify(body.tools));
  return n + REPLY_PRIMING_TOKENS;
}
