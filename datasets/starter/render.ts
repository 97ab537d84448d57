/**
 * The starter config as commented YAML, in the shape of examples/openai-bakeoff.yaml. Values are
 * written as JSON (valid YAML flow scalars and collections), so no value from the data can break
 * the document; comments quote data through `commentText`, so no value can end a comment either.
 */
import { stringify } from 'yaml';
import type { StarterSource } from './detect.js';
import { byCount, type Counts, type DatasetProfile } from './profile.js';
import type { StarterProposal } from './propose.js';

export interface StarterDocument {
  /** When it was written (ISO 8601). */
  createdAt: string;
  /** The file it was inferred from, as the user named it; absent for the generic template. */
  from?: {
    path: string;
    source: StarterSource;
    /** Records looked at, lines that were not records, and whether reading stopped early. */
    records: number;
    invalid: number;
    truncated: boolean;
  };
  suite: string;
  /** Relative to the config's folder. */
  dataset: string;
  /** A log: the `import:` block that builds `dataset` from it on the first run. */
  import?: { format: Exclude<StarterSource, 'records'>; paths: string[] };
  profile?: DatasetProfile;
  proposal: StarterProposal;
  /** Line 2 of the header: the price table the suggestions come from. */
  priceTable?: string;
}

// Line breaks of any kind (YAML's and Unicode's) and other controls would end a comment early.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Text that is safe inside a `#` comment: control characters and line separators escaped. */
export function commentText(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as YAML: JSON for scalars and flow collections (always valid YAML 1.2). */
const v = (x: unknown) => JSON.stringify(x);
const plainKey = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// Words some YAML readers take for booleans or null: always quoted.
const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n)$/i;
const plain = (s: string) => plainKey.test(s) && !RESERVED.test(s);
const key = (k: string) => (plain(k) ? k : v(k));

/** A scalar or a collection of scalars on one line: `{ task: classify }`, `[billing, bug]`. */
function flow(x: unknown): string {
  if (typeof x === 'string') return plain(x) ? x : v(x);
  if (Array.isArray(x)) return `[${x.map(flow).join(', ')}]`;
  if (x !== null && typeof x === 'object') {
    const parts = Object.entries(x).map(([k, y]) => `${key(k)}: ${flow(y)}`);
    return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
  }
  return v(x);
}

/** Flat enough and short enough for one line; deeper or longer values go in block style. */
function flowFits(x: unknown): boolean {
  const flat = (y: unknown) => y === null || typeof y !== 'object';
  const shallow = Array.isArray(x) ? x.every(flat) : Object.values(x as object).every(flat);
  return shallow && flow(x).length <= 100;
}

function block(x: unknown, indent: string): string[] {
  // The yaml library's block style, every string double-quoted: nothing in it is read as a tag,
  // an anchor or a number by mistake.
  return stringify(x, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `${indent}${l}`);
}

function entryLines(spec: Record<string, unknown>, indent: string): string[] {
  const lines: string[] = [];
  let first = true;
  for (const [k, x] of Object.entries(spec)) {
    const lead = first ? `${indent}- ` : `${indent}  `;
    first = false;
    if (x !== null && typeof x === 'object' && !flowFits(x)) {
      lines.push(`${lead}${key(k)}:`, ...block(x, `${indent}    `));
    } else {
      lines.push(`${lead}${key(k)}: ${flow(x)}`);
    }
  }
  return lines;
}

function summary(c: Counts, max = 6): string {
  const top = byCount(c)
    .slice(0, max)
    .map(([value, n]) => `${value} ${n}`);
  const more = c.values.size - max;
  return top.join(', ') + (more > 0 ? `, … ${more} more` : '') + (c.overflow ? ' (and more)' : '');
}

const SOURCE_NAME: Record<StarterSource, string> = {
  records: 'holdout records',
  'chat-log': 'Chat Completions log',
  'responses-log': 'Responses API log',
  batch: 'Batch API input file',
  messages: 'messages JSONL',
};

function header(d: StarterDocument): string[] {
  const h = [
    '# holdout run config: a STARTER written by `holdout init`. Review every SUGGESTION before a paid run.',
  ];
  if (d.from) {
    const f = d.from;
    const read = `${f.records} record${f.records === 1 ? '' : 's'}${f.truncated ? ' (the first ones; the file has more)' : ''}`;
    h.push(`# Inferred from ${commentText(f.path)} (${SOURCE_NAME[f.source]}) on ${d.createdAt}: ${read}.`);
    if (f.invalid > 0)
      h.push(
        `# ${f.invalid} line(s) were not records: the import stops at the first unless skip_invalid: true.`,
      );
  } else {
    h.push(`# Written on ${d.createdAt} without data: point dataset at your records (docs/records.md).`);
  }
  if (d.profile) {
    const p = d.profile;
    h.push(`# API: ${commentText(summary(p.apis))}. Logged models: ${commentText(summary(p.models, 4))}.`);
    if (p.tags.size > 0) {
      h.push('# Tags (for match:, report --by TAG and sample --stratify TAG):');
      for (const [name, c] of [...p.tags].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        h.push(`#   ${commentText(name)}: ${commentText(summary(c))}`);
      }
    } else {
      h.push(
        '# No tags: add some (holdout import --tag k=v) to give each task its own scorer and slice reports.',
      );
    }
  }
  if (d.priceTable) h.push(`# ${commentText(d.priceTable)}`);
  h.push(
    '# Every field: docs/config.md. Check it and its cost, with no call made: holdout run <this file> --dry-run',
  );
  return h;
}

/** The whole config file. */
export function renderStarterYaml(d: StarterDocument): string {
  const out = [...header(d), ''];
  out.push(`suite: ${flow(d.suite)}`);
  out.push(`dataset: ${flow(d.dataset)}   # relative to this file`);
  if (d.import) {
    out.push(
      '# Built from the log on the first `holdout run` (while the dataset file does not exist); the logged',
      '# answers become the references, so the scores say how often a candidate agrees with production.',
      '# To look before running: holdout import … -o <dataset> (same options), then --dry-run.',
      'import:',
      `  format: ${d.import.format}`,
      `  paths: ${flow(d.import.paths)}`,
      '  reference: production',
      '  # redact: true      # replace emails, phone numbers, cards… with placeholders (docs/import.md)',
    );
  }
  out.push(
    'concurrency: 16        # calls in flight, all candidates together',
    'repeats: 1             # samples per record and candidate',
    'timeout_ms: 120000     # per attempt',
    'max_retries: 4',
    'stream: true           # streamed, so time to first token is measured',
    '# budget_usd: 10       # stop issuing calls once this much is spent',
    'candidates:',
  );
  for (const c of d.proposal.candidates) {
    out.push(`  # ${commentText(c.why)}`);
    if (c.origin === 'logged' && d.import) {
      out.push('  # (live: its agreement with its own logged answers is the ceiling for the others)');
    }
    out.push(`  - id: ${flow(c.id)}`, `    model: ${flow(c.model)}`, `    api: ${c.api}`);
    if (!c.priced) {
      out.push(
        `    # no bundled price for ${commentText(c.model)}: give its list price, USD per 1M tokens`,
        '    # price: { input: 0.0, cached_input: 0.0, output: 0.0 }',
      );
    }
    out.push('    # params: { reasoning_effort: low }   # merged into every request; null removes a key');
  }
  const { scorers, scorerNotes } = d.proposal;
  for (const n of scorerNotes) out.push(`# ${commentText(n)}`);
  if (scorers.length === 0) {
    out.push('scorers: []   # none could be inferred: see docs/scorers.md');
  } else {
    out.push('scorers:');
    for (const s of scorers) {
      for (const w of s.why) out.push(`  # ${commentText(w)}`);
      out.push(...entryLines(s.spec, '  '));
    }
  }
  return `${out.join('\n')}\n`;
}
