import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { extractLabel, type LabelOptions, label } from '../../scorers/label.js';
import type { Score } from '../../scorers/types.js';
import { input } from './fixtures.js';

const SENTIMENT: LabelOptions = {
  labels: ['positive', 'negative', 'neutral'],
  aliases: { positive: ['pos', '+'], negative: ['neg'] },
};

const score = (text: string, expected: string | undefined, opts: LabelOptions = SENTIMENT) =>
  label
    .create('label', label.args.parse(opts))
    .score(input(text, expected === undefined ? {} : { label: expected })) as Score;

describe('extractLabel', () => {
  it.each([
    ['positive', 'positive'],
    ['  Positive  ', 'positive'],
    ['"negative".', 'negative'],
    ['`neutral`', 'neutral'],
    ["'NEUTRAL'!", 'neutral'],
    ['**Positive**', 'positive'],
    ['POS', 'positive'],
    ['+', 'positive'],
    ['Label: neg', 'negative'],
    ['label:"negative"', 'negative'],
    ['**Label:** Positive', 'positive'],
    ['negative\n\nThe reviewer complains about the battery.', 'negative'],
    ['Label: positive\nReason: praises the screen.', 'positive'],
    ['\n\nneutral\nbecause', 'neutral'],
  ])('%j → %s', (text, expected) => {
    expect(extractLabel(text, SENTIMENT)).toEqual({ label: expected, known: true });
  });

  it('reports an output that names no allowed label as unknown, keeping its spelling', () => {
    expect(extractLabel('Mixed feelings.', SENTIMENT)).toEqual({ label: 'Mixed feelings', known: false });
    expect(extractLabel('', SENTIMENT)).toEqual({ label: '', known: false });
    expect(extractLabel('I think it is positive', SENTIMENT).known).toBe(false);
  });

  it('prefers the whole output when it is a multi-word label', () => {
    const opts = { labels: ['not spam', 'spam'] };
    expect(extractLabel('Not spam.', opts).label).toBe('not spam');
    expect(extractLabel('"spam"', opts).label).toBe('spam');
  });

  it('keeps punctuation that belongs to a label', () => {
    const opts = { labels: ['C#', 'C++', 'C'] };
    expect(extractLabel('C#', opts).label).toBe('C#');
    expect(extractLabel('`C++`.', opts).label).toBe('C++');
  });

  it('without an allowed set, accepts any first line, case-folded', () => {
    expect(extractLabel('Label: Billing\nbecause…')).toEqual({ label: 'billing', known: true });
    expect(extractLabel('Refund.', { case_sensitive: true })).toEqual({ label: 'Refund', known: true });
  });

  it('cleans declared labels and aliases as it cleans outputs, and returns the declared spelling', () => {
    // Banking77 declares `reverted_card_payment?`: the output's `?` is stripped, so must the label's be.
    const opts = {
      labels: ['reverted_card_payment?', 'card_arrival', '?'],
      aliases: { 'reverted_card_payment?': ['payment reverted!'] },
    };
    const named = { label: 'reverted_card_payment?', known: true };
    expect(extractLabel('reverted_card_payment?', opts)).toEqual(named);
    expect(extractLabel('Label: "Reverted_card_payment"', opts)).toEqual(named);
    expect(extractLabel('payment reverted', opts)).toEqual(named);
    expect(extractLabel('Payment reverted!\nThe card payment came back.', opts)).toEqual(named);
    // A label that is nothing but punctuation is compared as written.
    expect(extractLabel(' ? ', opts)).toEqual({ label: '?', known: true });
  });

  it('returns declared spellings when case-insensitive', () => {
    expect(extractLabel('billing_issue', { labels: ['Billing_Issue'] }).label).toBe('Billing_Issue');
  });
});

describe('label scorer', () => {
  it('scores a correct label 1, applying aliases to output and reference alike', () => {
    expect(score('Positive.', 'positive')).toEqual({ value: 1, passed: true });
    expect(score('Positive', 'pos').value).toBe(1);
    expect(score('neg', 'Negative').value).toBe(1);
  });

  it('scores a wrong label 0 with predicted and expected', () => {
    expect(score('Label: negative', 'positive')).toEqual({
      value: 0,
      passed: false,
      detail: 'predicted="negative" expected="positive"',
    });
  });

  it('scores an unknown label 0 and says so, clipping long outputs', () => {
    const s = score('maybe', 'neutral');
    expect(s.value).toBe(0);
    expect(s.detail).toBe('not a known label: "maybe" expected="neutral"');
    const long = score(`I would say ${'very '.repeat(100)}positive`, 'positive');
    expect(long.value).toBe(0);
    expect(long.detail?.length).toBeLessThan(140);
    expect(long.detail).toContain('…');
  });

  it('is unscored without reference.label', () => {
    expect(score('positive', undefined)).toEqual({ value: null, passed: null, detail: 'no reference.label' });
  });

  it('honours case_sensitive', () => {
    const opts = { labels: ['Yes', 'No'], case_sensitive: true };
    expect(score('Yes', 'Yes', opts).value).toBe(1);
    expect(score('yes', 'Yes', opts).detail).toBe('not a known label: "yes" expected="Yes"');
    expect(score('yes', 'Yes', { labels: ['Yes', 'No'] }).value).toBe(1);
  });

  it('matches labels that end in punctuation, reporting them as configured', () => {
    const opts = { labels: ['reverted_card_payment?', 'card_arrival'] };
    expect(score('reverted_card_payment?', 'reverted_card_payment?', opts).value).toBe(1);
    expect(score('**reverted_card_payment**', 'reverted_card_payment?', opts).value).toBe(1);
    expect(score('card_arrival', 'reverted_card_payment?', opts).detail).toBe(
      'predicted="card_arrival" expected="reverted_card_payment?"',
    );
    expect(score('reverted_card_payment?', 'card_arrival', opts).detail).toBe(
      'predicted="reverted_card_payment?" expected="card_arrival"',
    );
    // Free-form: the reference is cleaned like the output.
    expect(score('Refund?', 'refund?', {}).value).toBe(1);
  });

  it('compares free-form labels when no allowed set is given', () => {
    expect(score('Billing', 'billing', {}).value).toBe(1);
    expect(score('Shipping', 'billing', {}).detail).toBe('predicted="shipping" expected="billing"');
  });
});

describe('label options', () => {
  const issues = (opts: unknown) => {
    const r = label.args.safeParse(opts);
    return r.success ? '' : z.prettifyError(r.error);
  };

  it('rejects aliases for labels that are not allowed', () => {
    expect(issues({ labels: ['yes', 'no'], aliases: { maybe: ['perhaps'] } })).toContain(
      '→ at aliases.maybe',
    );
  });

  it('rejects duplicate labels and spellings that mean two labels', () => {
    expect(issues({ labels: ['yes', 'Yes'] })).toContain('→ at labels[1]');
    expect(issues({ labels: ['yes', 'Yes'], case_sensitive: true })).toBe('');
    // Compared cleaned, as the scorer compares them.
    expect(issues({ labels: ['yes', 'yes.'] })).toContain('duplicate label "yes."');
    expect(issues({ labels: ['refund?'], aliases: { refund: ['money back'] } })).toBe('');
    const twice = issues({ labels: ['yes', 'no'], aliases: { yes: ['y'], no: ['n', 'y'] } });
    expect(twice).toContain('"y" already means "yes"');
    expect(twice).toContain('→ at aliases.no[1]');
  });

  it('rejects unknown keys and empty label lists', () => {
    const pretty = issues({ labels: [], case_insensitive: true });
    expect(pretty).toContain('Unrecognized key: "case_insensitive"');
    expect(pretty).toContain('→ at labels');
  });
});
