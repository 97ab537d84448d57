/**
 * Checks and text extraction for Chat Completions and Responses bodies, shared by the log, batch and
 * stored-completion importers.
 */
import { type ApiStyle, contentText } from '../record.js';
import { checkUsage, FieldError, isObject, type Obj, typeName } from './fields.js';

const CHAT_USAGE = [
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'prompt_tokens_details.cached_tokens',
  'completion_tokens_details.reasoning_tokens',
] as const;
const RESPONSES_USAGE = [
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'input_tokens_details.cached_tokens',
  'output_tokens_details.reasoning_tokens',
] as const;

/** A request body the replay can send: Chat needs `messages`, Responses needs `input`. */
export function checkRequest(body: Obj, api: ApiStyle, path: string): void {
  if (api === 'chat') {
    const messages = body.messages;
    if (messages === undefined || messages === null) {
      const hint =
        'input' in body ? ' (it has `input`: a Responses API request? use the responses-log format)' : '';
      throw new FieldError('missing_request', `missing \`${path}.messages\`${hint}`);
    }
    if (!Array.isArray(messages)) {
      throw new FieldError('wrong_type', `\`${path}.messages\` must be an array, got ${typeName(messages)}`);
    }
    messages.forEach((m, i) => {
      if (!isObject(m)) {
        throw new FieldError(
          'wrong_type',
          `\`${path}.messages[${i}]\` must be an object, got ${typeName(m)}`,
        );
      }
      if (m.role === undefined)
        throw new FieldError('missing_field', `missing \`${path}.messages[${i}].role\``);
      if (typeof m.role !== 'string') {
        throw new FieldError(
          'wrong_type',
          `\`${path}.messages[${i}].role\` must be a string, got ${typeName(m.role)}`,
        );
      }
    });
    return;
  }
  const input = body.input;
  if (input === undefined || input === null) {
    const hint =
      'messages' in body ? ' (it has `messages`: a Chat Completions request? use the chat-log format)' : '';
    throw new FieldError('missing_request', `missing \`${path}.input\`${hint}`);
  }
  if (typeof input !== 'string' && !Array.isArray(input)) {
    throw new FieldError(
      'wrong_type',
      `\`${path}.input\` must be a string or an array, got ${typeName(input)}`,
    );
  }
  if (
    body.instructions !== undefined &&
    body.instructions !== null &&
    typeof body.instructions !== 'string'
  ) {
    throw new FieldError(
      'wrong_type',
      `\`${path}.instructions\` must be a string, got ${typeName(body.instructions)}`,
    );
  }
}

/** Shape checks on the fields a replay reads from a production response (answers, usage). */
export function checkResponse(body: Obj, api: ApiStyle, path: string): void {
  if (api === 'chat') {
    if (body.choices !== undefined && !Array.isArray(body.choices)) {
      throw new FieldError(
        'wrong_type',
        `\`${path}.choices\` must be an array, got ${typeName(body.choices)}`,
      );
    }
    checkUsage(body, CHAT_USAGE, path);
  } else {
    if (body.output !== undefined && !Array.isArray(body.output)) {
      throw new FieldError('wrong_type', `\`${path}.output\` must be an array, got ${typeName(body.output)}`);
    }
    checkUsage(body, RESPONSES_USAGE, path);
  }
}

/** The answer text of a production response ('' when it has none, e.g. only tool calls). */
export function responseText(body: Obj, api: ApiStyle): string {
  if (api === 'chat') {
    const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
    const message = isObject(choice) && isObject(choice.message) ? choice.message : undefined;
    return message ? contentText(message.content) : '';
  }
  if (typeof body.output_text === 'string') return body.output_text;
  const texts: string[] = [];
  for (const item of Array.isArray(body.output) ? body.output : []) {
    if (!isObject(item) || item.type !== 'message' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string')
        texts.push(part.text);
    }
  }
  return texts.join('');
}

/** The response's own creation time (Chat `created`, Responses `created_at`), Unix seconds. */
export function responseCreated(body: Obj, api: ApiStyle): unknown {
  return api === 'chat' ? body.created : body.created_at;
}
