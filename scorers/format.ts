import { z } from 'zod';
import type { Score, ScoreInput, Scorer, ScorerFactory } from './types.js';
import { fail, pass, quote } from './util.js';

export const FormatArgs = z
  .strictObject({
    /** At most this many whitespace-separated words. */
    max_words: z.number().int().nonnegative().optional(),
    /** At most this many characters, counted as Unicode code points. */
    max_chars: z.number().int().nonnegative().optional(),
    /** No line break (\n or \r) inside the output; `false` means no constraint. */
    single_line: z.boolean().optional(),
    /** The output begins with this text (case-sensitive). */
    starts_with: z.string().min(1).optional(),
    /** The output ends with this text (case-sensitive). */
    ends_with: z.string().min(1).optional(),
  })
  .refine(
    (o) =>
      o.max_words !== undefined ||
      o.max_chars !== undefined ||
      o.single_line === true ||
      o.starts_with !== undefined ||
      o.ends_with !== undefined,
    {
      path: ['max_words'],
      message:
        'give at least one of `max_words`, `max_chars`, `single_line: true`, `starts_with`, `ends_with`',
    },
  );
export type FormatArgs = z.infer<typeof FormatArgs>;

/**
 * `format`: 1 when every given constraint holds, else 0 with a detail listing each failed one.
 * All constraints look at the output with surrounding whitespace trimmed (so a trailing newline
 * neither breaks `single_line` nor `ends_with`, nor counts toward `max_chars`). Never needs a
 * reference, so never unscored.
 */
export const format: ScorerFactory<FormatArgs> = {
  kind: 'format',
  description:
    'Output obeys length and shape constraints: max_words, max_chars, single_line, starts/ends_with.',
  args: FormatArgs,
  create(name, args): Scorer {
    return {
      name,
      score({ output }: ScoreInput): Score {
        const text = output.text.trim();
        const failed: string[] = [];
        if (args.max_words !== undefined) {
          const words = text === '' ? 0 : text.split(/\s+/).length;
          if (words > args.max_words) failed.push(`max_words ${args.max_words}: got ${words}`);
        }
        if (args.max_chars !== undefined) {
          const chars = Array.from(text).length;
          if (chars > args.max_chars) failed.push(`max_chars ${args.max_chars}: got ${chars}`);
        }
        if (args.single_line === true) {
          const lines = text.split(/\r\n|\r|\n/).length;
          if (lines > 1) failed.push(`single_line: got ${lines} lines`);
        }
        if (args.starts_with !== undefined && !text.startsWith(args.starts_with)) {
          failed.push(`starts_with ${quote(args.starts_with, 40)}: got ${quote(text.slice(0, 40), 40)}`);
        }
        if (args.ends_with !== undefined && !text.endsWith(args.ends_with)) {
          failed.push(`ends_with ${quote(args.ends_with, 40)}: got ${quote(text.slice(-40), 40)}`);
        }
        return failed.length === 0 ? pass() : fail(failed.join('; '));
      },
    };
  },
};
