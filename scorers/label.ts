import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { UNSCORED } from './types.js';
import { fail, pass, quote } from './util.js';

export const LabelArgs = z
  .strictObject({
    /** The allowed labels: an output that is none of them (nor an alias) scores 0. */
    labels: z.array(z.string().trim().min(1)).min(1).optional(),
    /** Canonical label → other spellings that count as it, in outputs and references alike. */
    aliases: z.record(z.string().trim().min(1), z.array(z.string().trim().min(1))).optional(),
    case_sensitive: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    const fold = (s: string) => (o.case_sensitive ? s : s.toLowerCase());
    const owner = new Map<string, string>();
    o.labels?.forEach((l, i) => {
      if (owner.has(fold(l))) {
        ctx.addIssue({ code: 'custom', path: ['labels', i], message: `duplicate label "${l}"` });
      }
      owner.set(fold(l), l);
    });
    for (const [canonical, spellings] of Object.entries(o.aliases ?? {})) {
      if (o.labels && !o.labels.some((l) => fold(l) === fold(canonical))) {
        ctx.addIssue({
          code: 'custom',
          path: ['aliases', canonical],
          message: `"${canonical}" is not in labels`,
        });
      }
      spellings.forEach((s, i) => {
        const prior = owner.get(fold(s));
        if (prior !== undefined && fold(prior) !== fold(canonical)) {
          const message = `"${s}" already means "${prior}"`;
          ctx.addIssue({ code: 'custom', path: ['aliases', canonical, i], message });
        }
        owner.set(fold(s), canonical);
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
  /** fold(label or alias) → canonical spelling. */
  canonical: Map<string, string>;
  restricted: boolean;
}

// Keyed by the options object, which a scorer (or a report) keeps for the whole run.
const tables = new WeakMap<LabelOptions, LabelTable>();

function tableFor(opts: LabelOptions): LabelTable {
  let t = tables.get(opts);
  if (t) return t;
  const fold = opts.case_sensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  const canonical = new Map<string, string>();
  for (const l of opts.labels ?? []) canonical.set(fold(l.trim()), l.trim());
  for (const [c, spellings] of Object.entries(opts.aliases ?? {})) {
    const target = canonical.get(fold(c.trim())) ?? c.trim();
    canonical.set(fold(c.trim()), target);
    for (const s of spellings) canonical.set(fold(s.trim()), target);
  }
  t = { fold, canonical, restricted: opts.labels !== undefined };
  tables.set(opts, t);
  return t;
}

// Leading wrappers (quotes, backticks, markdown emphasis); trailing wrappers and sentence punctuation.
// Only this punctuation: a label such as "C#" must survive.
const WRAPPING = /^[\s"'`“”‘’«»*]+|[\s"'`“”‘’«»*.,;:!?]+$/gu;
const LABEL_PREFIX = /^label\s*:\s*/i;

const NO_OPTIONS: LabelOptions = {};

const clean = (s: string) => s.replace(WRAPPING, '');

function firstLine(text: string): string {
  for (const line of text.split('\n')) if (line.trim() !== '') return line;
  return '';
}

/**
 * The label an output names: the whole output if it is a known label (after trimming quotes,
 * backticks and trailing punctuation), else its first line, with a leading `Label:` dropped.
 */
export function extractLabel(text: string, opts: LabelOptions = NO_OPTIONS): ExtractedLabel {
  const t = tableFor(opts);
  const whole = t.canonical.get(t.fold(clean(text)));
  if (whole !== undefined) return { label: whole, known: true };
  const candidate = clean(clean(firstLine(text)).replace(LABEL_PREFIX, ''));
  const hit = t.canonical.get(t.fold(candidate));
  if (hit !== undefined) return { label: hit, known: true };
  return t.restricted ? { label: candidate, known: false } : { label: t.fold(candidate), known: true };
}

/**
 * The label a reference names, as the scorer compares outputs with it: trimmed, alias resolved to its
 * canonical spelling; otherwise the trimmed text as written. (Reports use it to rebuild the classes.)
 */
export function canonicalLabel(reference: string, opts: LabelOptions = NO_OPTIONS): string {
  const t = tableFor(opts);
  return t.canonical.get(t.fold(reference.trim())) ?? reference.trim();
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
      if (t.fold(predicted.label) === t.fold(expected)) return pass();
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
