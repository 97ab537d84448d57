import type { ApiStyle, HoldoutRecord } from '../../datasets/record.js';

type Body = Record<string, unknown>;
type Item = Record<string, unknown>;

export interface BuiltRequest {
  body: Body;
  /** Request keys that the target API has no equivalent for and that were left out. */
  dropped: string[];
}

export interface RequestTarget {
  model: string;
  api: ApiStyle;
  /** Declared overrides; a null value removes the key from the request. */
  params: Record<string, unknown>;
  stream: boolean;
}

/**
 * The request a candidate is sent: the record's original body with only the model, the declared
 * overrides and the streaming switches changed. A record logged against the other API is translated
 * field by field; fields with no equivalent are dropped and named in `dropped`, never guessed.
 */
export function buildRequest(record: HoldoutRecord, target: RequestTarget): BuiltRequest {
  const original = record.request as Body;
  const translated =
    record.api === target.api
      ? { body: { ...original }, dropped: [] }
      : target.api === 'responses'
        ? chatToResponses(original)
        : responsesToChat(original);
  const body = translated.body;
  body.model = target.model;
  for (const [key, value] of Object.entries(target.params)) {
    if (value === null) delete body[key];
    else body[key] = value;
  }
  delete body.stream;
  if (target.api === 'chat') delete body.stream_options;
  if (target.stream) {
    body.stream = true;
    // Without include_usage a Chat stream carries no usage at all, and cost would be unknowable.
    if (target.api === 'chat') body.stream_options = { include_usage: true };
  }
  return { body, dropped: translated.dropped };
}

const CHAT_ONLY = [
  'n',
  'stop',
  'seed',
  'logprobs',
  'top_logprobs',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'modalities',
  'audio',
  'prediction',
  'web_search_options',
  'function_call',
  'functions',
];

export function chatToResponses(chat: Body): BuiltRequest {
  const out: Body = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(chat)) {
    switch (key) {
      case 'messages':
        out.input = (value as Item[]).flatMap(chatMessageToItems);
        break;
      case 'max_tokens':
      case 'max_completion_tokens':
        out.max_output_tokens = value;
        break;
      case 'reasoning_effort':
        out.reasoning = { ...((out.reasoning as Body) ?? {}), effort: value };
        break;
      case 'response_format':
        out.text = { ...((out.text as Body) ?? {}), format: chatFormatToText(value as Item) };
        break;
      case 'verbosity':
        out.text = { ...((out.text as Body) ?? {}), verbosity: value };
        break;
      case 'tools':
        out.tools = (value as Item[]).map(chatToolToResponses);
        break;
      case 'tool_choice':
        out.tool_choice = chatToolChoiceToResponses(value);
        break;
      case 'stream_options':
        break;
      default:
        if (CHAT_ONLY.includes(key)) dropped.push(key);
        else out[key] = value;
    }
  }
  return { body: out, dropped };
}

function chatMessageToItems(m: Item): Item[] {
  const role = m.role as string;
  if (role === 'tool') {
    return [{ type: 'function_call_output', call_id: m.tool_call_id, output: textOf(m.content) }];
  }
  const items: Item[] = [];
  if (m.content !== null && m.content !== undefined && m.content !== '') {
    items.push({ role, content: chatContentToResponses(m.content, role) });
  }
  if (role === 'assistant' && Array.isArray(m.tool_calls)) {
    for (const tc of m.tool_calls as Item[]) {
      const fn = tc.function as Item;
      items.push({ type: 'function_call', call_id: tc.id, name: fn.name, arguments: fn.arguments });
    }
  }
  return items;
}

function chatContentToResponses(content: unknown, role: string): unknown {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content;
  return (content as Item[]).map((part) => {
    if (part.type === 'text')
      return { type: role === 'assistant' ? 'output_text' : 'input_text', text: part.text };
    if (part.type === 'image_url') {
      const img = part.image_url as Item;
      return { type: 'input_image', image_url: img.url, detail: img.detail ?? 'auto' };
    }
    return part;
  });
}

function chatFormatToText(format: Item): Item {
  if (format.type === 'json_schema') {
    const js = format.json_schema as Item;
    return {
      type: 'json_schema',
      name: js.name,
      schema: js.schema,
      strict: js.strict,
      description: js.description,
    };
  }
  return { type: format.type };
}

function chatToolToResponses(tool: Item): Item {
  if (tool.type !== 'function') return tool;
  const fn = tool.function as Item;
  return {
    type: 'function',
    name: fn.name,
    description: fn.description,
    parameters: fn.parameters,
    strict: fn.strict ?? false,
  };
}

function chatToolChoiceToResponses(choice: unknown): unknown {
  if (choice && typeof choice === 'object' && (choice as Item).type === 'function') {
    return { type: 'function', name: ((choice as Item).function as Item).name };
  }
  return choice;
}

const RESPONSES_ONLY = [
  'previous_response_id',
  'include',
  'truncation',
  'background',
  'conversation',
  'prompt',
  'max_tool_calls',
  'context_management',
];

export function responsesToChat(resp: Body): BuiltRequest {
  const out: Body = {};
  const dropped: string[] = [];
  const messages: Item[] = [];
  if (typeof resp.instructions === 'string') messages.push({ role: 'system', content: resp.instructions });
  for (const [key, value] of Object.entries(resp)) {
    switch (key) {
      case 'instructions':
        break;
      case 'input':
        if (typeof value === 'string') messages.push({ role: 'user', content: value });
        else for (const item of value as Item[]) appendResponsesItem(messages, item);
        break;
      case 'max_output_tokens':
        out.max_completion_tokens = value;
        break;
      case 'reasoning': {
        const effort = (value as Item | null)?.effort;
        if (effort !== undefined) out.reasoning_effort = effort;
        break;
      }
      case 'text': {
        const t = value as Item;
        if (t.format) out.response_format = textFormatToChat(t.format as Item);
        if (t.verbosity) out.verbosity = t.verbosity;
        break;
      }
      case 'tools':
        out.tools = (value as Item[]).map(responsesToolToChat);
        break;
      case 'tool_choice':
        out.tool_choice =
          value && typeof value === 'object' && (value as Item).type === 'function'
            ? { type: 'function', function: { name: (value as Item).name } }
            : value;
        break;
      default:
        if (RESPONSES_ONLY.includes(key)) dropped.push(key);
        else out[key] = value;
    }
  }
  out.messages = messages;
  return { body: out, dropped };
}

function appendResponsesItem(messages: Item[], item: Item): void {
  if (item.type === 'function_call') {
    const call = {
      id: item.call_id,
      type: 'function',
      function: { name: item.name, arguments: item.arguments },
    };
    const last = messages.at(-1);
    if (last && last.role === 'assistant' && Array.isArray(last.tool_calls))
      (last.tool_calls as Item[]).push(call);
    else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    return;
  }
  if (item.type === 'function_call_output') {
    messages.push({ role: 'tool', tool_call_id: item.call_id, content: textOf(item.output) });
    return;
  }
  const role = item.role as string;
  const content = Array.isArray(item.content)
    ? (item.content as Item[]).map((part) =>
        part.type === 'input_text' || part.type === 'output_text'
          ? { type: 'text', text: part.text }
          : part.type === 'input_image'
            ? { type: 'image_url', image_url: { url: part.image_url, detail: part.detail } }
            : part,
      )
    : item.content;
  messages.push({ role, content });
}

function textFormatToChat(format: Item): Item {
  if (format.type === 'json_schema') {
    return {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        strict: format.strict,
        description: format.description,
      },
    };
  }
  return { type: format.type };
}

function responsesToolToChat(tool: Item): Item {
  if (tool.type !== 'function') return tool;
  return {
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
      strict: tool.strict,
    },
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return (content as Item[]).map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
  return JSON.stringify(content ?? '');
}
