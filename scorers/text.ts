import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { fail, pass, quote } from './util.js';

const LISTS = ['all_of', 'any_of', 'none_of'] as const;
type ListName = (typeof LISTS)[number];
type Lists<T> = { [K in ListName]?: T[] };

const needles = z.array(z.string().min(1)).min(1).optional();
const atLeastOneList = {
  path: ['all_of'],
  message: 'give at least one of `all_of`, `any_of`, `none_of`',
};
const hasList = (o: Lists<string>) => LISTS.some((k) => o[k] !== undefined);

export const ContainsArgs = z
  .strictObject({
    /** Every one of these substrings must occur in the output. */
    all_of: needles,
    /** At least one of these substrings must occur. */
    any_of: needles,
    /** None of these substrings may occur. */
    none_of: needles,
    /** Compare case-sensitively; by default both sides are lowercased first. */
    case_sensitive: z.boolean().default(false),
  })
  .refine(hasList, atLeastOneList);
export type ContainsArgs = z.infer<typeof ContainsArgs>;

export const RegexArgs = z
  .strictObject({
    /** Every one of these patterns (JavaScript regex source) must match somewhere in the output. */
    all_of: needles,
    /** At least one of these patterns must match. */
    any_of: needles,
    /** None of these patterns may match. */
    none_of: needles,
    /**
     * Flags for every pattern, e.g. `i`, `m`, `s`, `u`. `g` and `y` are refused: they make a
     * RegExp stateful (`lastIndex`), so one record's result would depend on the previous one.
     */
    flags: z
      .string()
      .regex(/^[dimsuv]*$/, 'flags may only use d, i, m, s, u, v (g and y make matching stateful)')
      .default(''),
  })
  .refine(hasList, atLeastOneList);
export type RegexArgs = z.infer<typeof RegexArgs>;

/**
 * The shared verdict: 1 when every given list holds (all of `all_of` found, at least one of
 * `any_of` found, none of `none_of` found), else 0 with a detail naming each failed condition.
 * Never unscored: no reference is needed.
 */
function listScorer<T>(
  name: string,
  lists: Lists<T>,
  how: {
    prepare?: (text: string) => string;
    found: (item: T, text: string) => boolean;
    show: (item: T) => string;
  },
): Scorer {
  const { all_of, any_of, none_of } = lists;
  const { prepare, found, show } = how;
  return {
    name,
    score({ output }: ScoreInput): Score {
      const text = prepare ? prepare(output.text) : output.text;
      const failed: string[] = [];
      if (all_of) {
        const missing = all_of.filter((n) => !found(n, text));
        if (missing.length > 0) failed.push(`missing all_of: ${missing.map(show).join(', ')}`);
      }
      if (any_of && !any_of.some((n) => found(n, text))) {
        failed.push(`none of any_of: ${any_of.map(show).join(', ')}`);
      }
      if (none_of) {
        const present = none_of.filter((n) => found(n, text));
        if (present.length > 0) failed.push(`found none_of: ${present.map(show).join(', ')}`);
      }
      return failed.length === 0 ? pass() : fail(failed.join('; '));
    },
  };
}

/**
 * `contains`: substring checks on the raw output (no trimming or Unicode folding). Unless
 * `case_sensitive`, output and substrings are both lowercased (`toLowerCase`) before comparing.
 */
export const contains: ScorerFactory<ContainsArgs> = {
  kind: 'contains',
  description:
    'Output contains all of / any of / none of the given substrings (case-insensitive by default).',
  args: ContainsArgs,
  create(name, args) {
    const fold = args.case_sensitive ? (s: string) => s : (s: string) => s.toLowerCase();
    const lists: Lists<string> = {};
    for (const k of LISTS) {
      const list = args[k];
      if (list) lists[k] = list.map(fold);
    }
    // `show` quotes the folded needle: what was actually searched for.
    return listScorer(name, lists, {
      prepare: fold,
      found: (n, text) => text.includes(n),
      show: (n) => quote(n, 40),
    });
  },
};

/**
 * `regex`: each pattern is compiled once with `flags` and tested (`RegExp.test`, unanchored: add
 * `^`/`$` yourself) against the raw output. A pattern that does not compile is a config error
 * naming it.
 */
export const regex: ScorerFactory<RegexArgs> = {
  kind: 'regex',
  description: 'Output matches all of / any of / none of the given regular expressions.',
  args: RegexArgs,
  create(name, args) {
    const lists: Lists<RegExp> = {};
    for (const k of LISTS) {
      const list = args[k];
      if (!list) continue;
      lists[k] = list.map((source, i) => {
        try {
          return new RegExp(source, args.flags);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          throw new Error(`scorer "${name}": ${k}[${i}]: invalid regex ${JSON.stringify(source)}: ${why}`, {
            cause: e,
          });
        }
      });
    }
    return listScorer(name, lists, { found: (re, text) => re.test(text), show: (re) => `/${re.source}/` });
  },
};
