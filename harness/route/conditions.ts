/**
 * What a rule can see of a record, and whether a condition holds. Pure once the tokenizers are
 * loaded; features are computed on first use and kept per record (a token count is the costly one).
 */
import {
  contentText,
  type HoldoutRecord,
  lastUserText,
  outputTokenLimit,
  requestTurns,
} from '../../datasets/record.js';
import {
  type Encoding,
  encodingFor,
  loadTokenizer,
  requestInputTokens,
  type Tokenizer,
} from '../providers/tokens.js';
import type { Comparison, Condition, Policy, PromptRegex } from './policy.js';

type Body = Record<string, unknown>;

/** A record as routing sees it. */
export interface RouteRecord {
  id: string;
  tags: Record<string, string>;
  metadata: Record<string, unknown>;
  api: 'chat' | 'responses';
  request: Body;
  reference?: HoldoutRecord['reference'];
}

/** Parses a stored record body (records.body_json) leniently: routing must not fail on an odd row. */
export function routeRecord(id: string, tags: Record<string, string>, bodyJson: string): RouteRecord {
  let body: Record<string, unknown> = {};
  try {
    const v = JSON.parse(bodyJson) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
  } catch {
    // An unreadable body leaves only the id and tags to route on.
  }
  const request = body.request && typeof body.request === 'object' ? (body.request as Body) : {};
  const metadata =
    body.metadata && typeof body.metadata === 'object' ? (body.metadata as Record<string, unknown>) : {};
  return {
    id,
    tags,
    metadata,
    api: body.api === 'responses' ? 'responses' : 'chat',
    request,
    reference: body.reference as RouteRecord['reference'],
  };
}

/** Every message of the request, system and assistant included, as text. */
export function conversationText(request: Body): string {
  const parts: string[] = [];
  if (typeof request.instructions === 'string') parts.push(`system: ${request.instructions}`);
  const turns = requestTurns(request);
  for (const t of turns) {
    if (!t || typeof t !== 'object' || typeof t.role !== 'string') continue;
    const text = contentText(t.content);
    if (text !== '') parts.push(`${t.role}: ${text}`);
  }
  return parts.join('\n');
}

function userTurns(request: Body): number {
  return requestTurns(request).filter((t) => t && typeof t === 'object' && t.role === 'user').length;
}

export function compare(x: number, c: Comparison): boolean {
  return (
    (c.gt === undefined || x > c.gt) &&
    (c.gte === undefined || x >= c.gte) &&
    (c.lt === undefined || x < c.lt) &&
    (c.lte === undefined || x <= c.lte)
  );
}

/** The encoding a policy counts a record's tokens with: its `tokenizer` setting, else the request's model. */
export function encodingOf(policy: Pick<Policy, 'tokenizer'>, record: RouteRecord): Encoding {
  const t = policy.tokenizer;
  if (t === 'o200k_base' || t === 'cl100k_base') return t;
  return encodingFor(t ?? (typeof record.request.model === 'string' ? record.request.model : undefined));
}

function usesTokens(c: Condition): boolean {
  return (
    c.input_tokens !== undefined ||
    c.expected_output_tokens !== undefined ||
    (c.all ?? []).some(usesTokens) ||
    (c.any ?? []).some(usesTokens) ||
    (c.not !== undefined && usesTokens(c.not))
  );
}

/**
 * Evaluates a policy's rules over records. Build with `prepareMatcher`, which loads the tokenizers
 * the rules need (none when no rule counts tokens).
 */
export class Matcher {
  private readonly regexes = new Map<PromptRegex, { re: RegExp; in: 'last_user' | 'all' }>();
  private readonly inputTokens = new Map<string, number>();
  private readonly outputTokens = new Map<string, number | null>();

  constructor(
    private readonly policy: Pick<Policy, 'tokenizer' | 'rules'>,
    private readonly tokenizers: ReadonlyMap<Encoding, Tokenizer>,
  ) {}

  /** Index of the first rule whose condition holds, or -1. */
  firstMatch(record: RouteRecord): number {
    return this.policy.rules.findIndex((r) => this.holds(r.when, record));
  }

  holds(c: Condition, r: RouteRecord): boolean {
    if (c.input_tokens && !compare(this.inputTokensOf(r), c.input_tokens)) return false;
    if (c.tags) {
      for (const [k, want] of Object.entries(c.tags)) {
        const have = r.tags[k];
        if (have === undefined || !(Array.isArray(want) ? want.includes(have) : want === have)) return false;
      }
    }
    if (c.metadata) {
      for (const [k, want] of Object.entries(c.metadata)) {
        const have = r.metadata[k];
        const ok = (Array.isArray(want) ? want : [want]).some((w) => w === have);
        if (!ok) return false;
      }
    }
    if (c.prompt_regex !== undefined) {
      const { re, in: scope } = this.regexOf(c.prompt_regex);
      const text = scope === 'all' ? conversationText(r.request) : lastUserText(r.request);
      if (!re.test(text)) return false;
    }
    if (c.turns && !compare(userTurns(r.request), c.turns)) return false;
    if (c.tools !== undefined) {
      const offered = Array.isArray(r.request.tools) && r.request.tools.length > 0;
      if (offered !== c.tools) return false;
    }
    if (c.expected_output_tokens) {
      const n = this.expectedOutputTokensOf(r);
      // Unknown expected length: the condition cannot be shown to hold.
      if (n === null || !compare(n, c.expected_output_tokens)) return false;
    }
    if (c.all && !c.all.every((x) => this.holds(x, r))) return false;
    if (c.any && !c.any.some((x) => this.holds(x, r))) return false;
    if (c.not && this.holds(c.not, r)) return false;
    return true;
  }

  inputTokensOf(r: RouteRecord): number {
    let n = this.inputTokens.get(r.id);
    if (n === undefined) {
      n = requestInputTokens(this.tokenizer(r), r.request);
      this.inputTokens.set(r.id, n);
    }
    return n;
  }

  /**
   * The reference output's tokens (its text, or its JSON serialized), else the request's output cap
   * (max_completion_tokens, max_tokens or max_output_tokens: an upper bound), else null.
   */
  expectedOutputTokensOf(r: RouteRecord): number | null {
    const cached = this.outputTokens.get(r.id);
    if (cached !== undefined) return cached;
    let n: number | null = null;
    const ref = r.reference;
    if (ref && typeof ref.output === 'string') n = this.tokenizer(r).count(ref.output);
    else if (ref && ref.json !== undefined) n = this.tokenizer(r).count(JSON.stringify(ref.json));
    else n = outputTokenLimit(r.request) ?? null;
    this.outputTokens.set(r.id, n);
    return n;
  }

  private tokenizer(r: RouteRecord): Tokenizer {
    const enc = encodingOf(this.policy, r);
    const t = this.tokenizers.get(enc);
    if (!t) throw new Error(`tokenizer ${enc} was not loaded (prepareMatcher loads what the rules need)`);
    return t;
  }

  private regexOf(p: PromptRegex): { re: RegExp; in: 'last_user' | 'all' } {
    let x = this.regexes.get(p);
    if (!x) {
      x =
        typeof p === 'string'
          ? { re: new RegExp(p), in: 'last_user' }
          : { re: new RegExp(p.pattern, p.flags), in: p.in };
      this.regexes.set(p, x);
    }
    return x;
  }
}

/** A matcher with the tokenizers loaded that these records need under this policy. */
export async function prepareMatcher(
  policy: Pick<Policy, 'tokenizer' | 'rules'>,
  records: readonly RouteRecord[],
): Promise<Matcher> {
  const tokenizers = new Map<Encoding, Tokenizer>();
  if (policy.rules.some((r) => usesTokens(r.when))) {
    const encodings = new Set(records.map((r) => encodingOf(policy, r)));
    for (const e of encodings) tokenizers.set(e, await loadTokenizer(e));
  }
  return new Matcher(policy, tokenizers);
}
