import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';
import { fail, pass, quote } from './util.js';

// Leading wrappers (quotes, backticks, markdown emphasis); trailing wrappers and sentence punctuation.
// Only this punctuation: a label such as "C#" must survive.
const WRAPPING = /^[\s"'`“”‘’«»*]+|[\s"'`“”‘’«»*.,;:!?]+$/gu;

const clean = (s: string) => s.replace(WRAPPING, '');

/**
 * What two spellings are compared by: cleaned the way outputs are (so a declared `refund?` and an
 * output `Refund?` meet, the output having lost its `?`), then case-folded unless case-sensitive. A
 * label made only of such punctuation (`?`) keeps its trimmed self, or it would match nothing at all.
 */
function labelKey(s: string, caseSensitive = false): string {
  const k = clean(s) || s.trim();
  return caseSensitive ? k : k.toLowerCase();
}

export const LabelArgs = z
  .strictObject({
    /** The allowed labels: an output that is none of them (nor an alias) scores 0. */
    labels: z.array(z.string().trim().min(1)).min(1).optional(),
    /** Canonical label → other spellings that count as it, in outputs and references alike. */
    aliases: z.record(z.string().trim().min(1), z.array(z.string().trim().min(1))).optional(),
    case_sensitive: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    // Compared as the scorer compares them: "yes" and "Yes." would be one label.
    const key = (s: string) => labelKey(s, o.case_sensitive);
    const owner = new Map<string, string>();
    o.labels?.forEach((l, i) => {
      if (owner.has(key(l))) {
        ctx.addIssue({ code: 'custom', path: ['labels', i], message: `duplicate label "${l}"` });
      }
      owner.set(key(l), l);
    });
    for (const [canonical, spellings] of Object.entries(o.aliases ?? {})) {
      if (o.labels && !o.labels.some((l) => key(l) === key(canonical))) {
        ctx.addIssue({
          code: 'custom',
          path: ['aliases', canonical],
          message: `"${canonical}" is not in labels`,
        });
      }
      spellings.forEach((s, i) => {
        const prior = owner.get(key(s));
        if (prior !== undefined && key(prior) !== key(canonical)) {
          const message = `"${s}" already means "${prior}"`;
          ctx.addIssue({ code: 'custom', path: ['aliases', canonical, i], message });
        }
        owner.set(key(s), canonical);
      });
    }
  });
export type LabelArgs = z.infer<typeof LabelArgs>;
/** `extractLabel`'s options: the scorer's, with defaults optional. */
export type LabelOptions = z.input<typeof LabelArgs>;

export interface ExtractedLabel {
  /**
   * The canonical label (alias resolved, declared spelling) when the output names one; otherwise
   * the cleaned output, lower-cased unless case-sensitive.
   */
  label: string;
  /** False only when `labels` is given and the output is none of them. */
  known: boolean;
}

interface LabelTable {
  fold(s: string): string;
  /** `labelKey` under these options: what the scorer compares. */
  key(s: string): string;
  /** key(label or alias) → canonical spelling, as declared. */
  canonical: Map<string, string>;
  restricted: boolean;
}

// Keyed by the options object, which a scorer (or a report) keeps for the whole run.
const tables = new WeakMap<LabelOptions, LabelTable>();

function tableFor(opts: LabelOptions): LabelTable {
  let t = tables.get(opts);
  if (t) return t;
  const fold = opts.case_sensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  const key = (s: string) => labelKey(s, opts.case_sensitive);
  const canonical = new Map<string, string>();
  for (const l of opts.labels ?? []) canonical.set(key(l), l.trim());
  for (const [c, spellings] of Object.entries(opts.aliases ?? {})) {
    const target = canonical.get(key(c)) ?? c.trim();
    canonical.set(key(c), target);
    for (const s of spellings) canonical.set(key(s), target);
  }
  t = { fold, key, canonical, restricted: opts.labels !== undefined };
  tables.set(opts, t);
  return t;
}

const LABEL_PREFIX = /^label\s*:\s*/i;

const NO_OPTIONS: LabelOptions = {};

function firstLine(text: string): string {
  for (const line of text.split('\n')) if (line.trim() !== '') return line;
  return '';
}

/**
 * The label an output names: the whole output if it is a known label (after trimming quotes,
 * backticks and trailing punctuation, on the output and the declared labels alike), else its first
 * line, with a leading `Label:` dropped.
 */
export function extractLabel(text: string, opts: LabelOptions = NO_OPTIONS): ExtractedLabel {
  const t = tableFor(opts);
  const whole = t.canonical.get(t.key(text));
  if (whole !== undefined) return { label: whole, known: true };
  const line = clean(firstLine(text)).replace(LABEL_PREFIX, '');
  const candidate = clean(line) || line.trim();
  const hit = t.canonical.get(t.key(candidate));
  if (hit !== undefined) return { label: hit, known: true };
  return t.restricted ? { label: candidate, known: false } : { label: t.fold(candidate), known: true };
}

/**
 * The label a reference names, as the scorer compares outputs with it: alias resolved to its
 * canonical spelling, as declared; otherwise the reference cleaned as an output is (`refund?` →
 * `refund`), so that a free-form class and the outputs naming it agree. (Reports use it to rebuild
 * the classes.)
 */
export function canonicalLabel(reference: string, opts: LabelOptions = NO_OPTIONS): string {
  const t = tableFor(opts);
  return t.canonical.get(t.key(reference)) ?? (clean(reference) || reference.trim());
}

function labelScorer(name: string, opts: LabelArgs): Scorer {
  const t = tableFor(opts);
  return {
    name,
    score({ record, output }: ScoreInput): Score {
      const reference = record.reference?.label;
      if (reference === undefined) return UNSCORED('no reference.label');
      const expected = canonicalLabel(reference, opts);
      const predicted = extractLabel(output.text, opts);
      if (!predicted.known) {
        return fail(`not a known label: ${quote(output.text.trim())} expected=${quote(expected)}`);
      }
      if (t.key(predicted.label) === t.key(expected)) return pass();
      return fail(`predicted=${quote(predicted.label)} expected=${quote(expected)}`);
    },
  };
}

export const label: ScorerFactory<LabelArgs> = {
  kind: 'label',
  description:
    'Classification: the label named by the output equals reference.label (aliases, case folding).',
  args: LabelArgs,
  create: labelScorer,
};
