import { describe, expect, it } from 'vitest';
import type { HoldoutRecord } from '../../datasets/record.js';
import { createRedactor, luhnValid } from '../../datasets/redact.js';
import { HarnessError } from '../../harness/errors.js';

const record = (text: string, extra: Partial<HoldoutRecord> = {}): HoldoutRecord => ({
  id: 'r1',
  tags: {},
  api: 'chat',
  request: { model: 'gpt-5.4-mini', messages: [{ role: 'user', content: text }] },
  ...extra,
});

const redactor = createRedactor();
/** The user message after redaction, and the counts. */
function redact(text: string) {
  const { record: r, counts } = redactor.redactRecord(record(text));
  return { text: (r.request.messages as { content: string }[])[0]!.content, counts };
}

describe('redaction: true positives', () => {
  it.each([
    ['write to john.doe@example.com today', 'write to <EMAIL_1> today'],
    ['mailto:a.b+tag@mail.example.co.uk', 'mailto:<EMAIL_1>'],
    // Inside URLs, plain and percent-encoded.
    ['https://crm.example.com/u/bob@corp.io/edit', 'https://crm.example.com/u/<EMAIL_1>/edit'],
    ['https://x.com/p?email=alice%40corp.io&x=1', 'https://x.com/p?email=<EMAIL_1>&x=1'],
  ])('email: %s', (input, expected) => {
    expect(redact(input)).toEqual({ text: expected, counts: { EMAIL: 1 } });
  });

  it.each([
    '+44 (0)20 7946 0958',
    '+1-555-123-4567',
    '+4915123456789',
    '+33 1 23 45 67 89',
    '(555) 123-4567',
    '555-123-4567',
    '555.123.4567',
    '020 7946 0958',
    '07700 900123',
    '01 23 45 67 89',
    '1-800-555-0199',
  ])('phone: %s', (phone) => {
    expect(redact(`call ${phone} now`)).toEqual({ text: 'call <PHONE_1> now', counts: { PHONE: 1 } });
  });

  it.each([
    // Published test numbers; all pass Luhn.
    ['4111 1111 1111 1111', 'Visa, spaces'],
    ['4111-1111-1111-1111', 'Visa, dashes'],
    ['5500000000000004', 'Mastercard'],
    ['378282246310005', 'Amex (15 digits)'],
    ['6011 0009 9013 9424', 'Discover'],
  ])('card: %s (%s)', (card) => {
    expect(redact(`paid with ${card}.`)).toEqual({ text: 'paid with <CARD_1>.', counts: { CARD: 1 } });
  });

  it.each([
    ['from 192.168.1.10 today', 'from <IP_1> today'],
    ['GET 10.0.0.1:8080/health', 'GET <IP_1>:8080/health'],
    ['v6 2001:db8:85a3::8a2e:370:7334.', 'v6 <IP_1>.'],
    ['full 2001:0db8:85a3:0000:0000:8a2e:0370:7334 end', 'full <IP_1> end'],
    ['mapped ::ffff:192.0.2.1 end', 'mapped <IP_1> end'],
  ])('ip: %s', (input, expected) => {
    expect(redact(input)).toEqual({ text: expected, counts: { IP: 1 } });
  });

  it.each([
    ['key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD ok', 'key <SECRET_1> ok'],
    ['key sk-proj-Ab3dEf6hIj9kLmNoPqRsTuVwXyZ_0123-456 ok', 'key <SECRET_1> ok'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123', 'Authorization: Bearer <SECRET_1>'],
    [
      'curl "https://api.x.com/v1?api_key=abcd1234efgh5678&q=1"',
      'curl "https://api.x.com/v1?api_key=<SECRET_1>&q=1"',
    ],
    ['{"token": "zzzzyyyy1111xxxx"}', '{"token": "<SECRET_1>"}'],
    ['export OPENAI_API_KEY=not-a-real-key-123', 'export OPENAI_API_KEY=<SECRET_1>'],
    ['aws AKIAIOSFODNN7EXAMPLE here', 'aws <SECRET_1> here'],
    ['gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 here', 'gh <SECRET_1> here'],
  ])('secret: %s', (input, expected) => {
    expect(redact(input)).toEqual({ text: expected, counts: { SECRET: 1 } });
  });
});

describe('redaction: true negatives', () => {
  it.each([
    ['a 16-digit order number that fails Luhn', 'order 4111 1111 1111 1112 shipped'],
    ['a bare 16-digit order id that fails Luhn', 'order 1234567812345678 shipped'],
    // 4111…1111 passes Luhn but 0000…0000 starts outside the issuer range (2–6).
    ['an all-zero filler', 'ref 0000 0000 0000 0000'],
    ['an ISO date', 'due 2024-01-15, paid 15.01.2024'],
    ['a date and a time', 'at 2024-01-15 10:30 UTC and 2024-01-15T10:30:00Z'],
    ['versions', 'upgrade from 1.2.3 to v10.4.12 (build 2.10.1234)'],
    ['a prefixed order number', 'ticket ORD-2024-000123 and INV-555-123-4567'],
    ['an unseparated id', 'customer 5551234567 and order #12345678'],
    ['an ISBN', 'ISBN 978-3-16-148410-0'],
    ['amounts with thousands separators', 'EUR 1.234.567.890 or 1 000 000 000 or 1,234,567,890'],
    ['arithmetic', 'compute +10 20 30 40'],
    ['a social-security-shaped number is not a phone', 'ref 555-12-3456'],
    ['a time', 'at 12:30:45'],
    ['a MAC address', 'mac 00:1A:2B:3C:4D:5E'],
    ['loopback and scopes, not addresses of anyone', 'bind ::1 or fe80::1; std::vector and a::b'],
    ['token counts are not tokens', 'max_tokens: 100000000, prompt_token_count: 12345678'],
    ['a bearer in prose', 'bearer instruments and bearer bonds'],
    ['sk- in a word', 'task-abcdefghijklmnopqrstuvwxyz0123'],
    ['no @', 'user at example dot com'],
  ])('%s', (_why, input) => {
    expect(redact(input)).toEqual({ text: input, counts: {} });
  });

  it('leaves data: URLs whole (base64 can spell anything)', () => {
    const img = `data:image/png;base64,${'iVBORw0KGgo+555-123-4567/'.repeat(4)}`;
    const r = record('see image', {
      request: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: img } }] }] },
    });
    expect(redactor.redactRecord(r).record).toEqual(r);
  });

  it('luhnValid agrees with a worked example', () => {
    // 79927398713: the Luhn article's example, digits doubled from the right: sum 70.
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});

describe('redaction of a whole record', () => {
  it('numbers placeholders per kind, consistently across request, reference, production and metadata', () => {
    const input: HoldoutRecord = {
      id: 'r-42',
      timestamp: '2025-06-01T10:00:00Z',
      tags: { task: 'support', user: 'carol@example.com' },
      api: 'chat',
      request: {
        model: 'gpt-5.4-mini',
        messages: [
          { role: 'system', content: 'Escalate to ops@example.com.' },
          { role: 'user', content: 'I am Carol@Example.com, call +1 555 123 4567. Copy ops@example.com.' },
        ],
      },
      reference: { output: 'Reply sent to carol@example.com' },
      production: {
        body: { choices: [{ message: { content: 'Dear carol@example.com, we call +1-555-123-4567.' } }] },
      },
      metadata: { 'carol@example.com': 'key kept', note: 'from 10.1.2.3 via dave@example.org' },
    };
    const before = structuredClone(input);
    const { record: out, counts } = redactor.redactRecord(input);
    expect(input).toEqual(before); // a copy, not in place
    // Walk order: request first, so ops@ (system turn) is EMAIL_1 and Carol (any case) EMAIL_2.
    expect(out.request.messages).toEqual([
      { role: 'system', content: 'Escalate to <EMAIL_1>.' },
      { role: 'user', content: 'I am <EMAIL_2>, call <PHONE_1>. Copy <EMAIL_1>.' },
    ]);
    expect(out.reference).toEqual({ output: 'Reply sent to <EMAIL_2>' });
    expect(out.production).toEqual({
      body: { choices: [{ message: { content: 'Dear <EMAIL_2>, we call <PHONE_1>.' } }] },
    });
    // Keys are not redacted; values are.
    expect(out.metadata).toEqual({ 'carol@example.com': 'key kept', note: 'from <IP_1> via <EMAIL_3>' });
    // id, timestamp and tags identify and split records: left as they are.
    expect(out.id).toBe('r-42');
    expect(out.tags).toEqual(input.tags);
    expect(out.timestamp).toBe(input.timestamp);
    // Occurrences, counted by hand: emails in system (ops), user (carol, ops), reference (carol),
    // production (carol), metadata (dave) = 6; phones in user and production = 2.
    expect(counts).toEqual({ EMAIL: 6, PHONE: 2, IP: 1 });
    expect(JSON.stringify(counts)).not.toMatch(/example|555/);
  });

  it('numbering starts again for each record', () => {
    const a = redactor.redactRecord(record('x@example.com and y@example.com'));
    const b = redactor.redactRecord(record('y@example.com'));
    expect((a.record.request.messages as { content: string }[])[0]!.content).toBe('<EMAIL_1> and <EMAIL_2>');
    expect((b.record.request.messages as { content: string }[])[0]!.content).toBe('<EMAIL_1>');
  });

  it('applies user patterns first, with an optional value group', () => {
    const r = createRedactor({
      patterns: [
        { name: 'employee_id', regex: 'EMP-\\d{6}' },
        { name: 'badge', regex: 'badge=(?<value>\\d{4,})' },
      ],
    });
    const { record: out, counts } = r.redactRecord(
      record('EMP-123456 (badge=98765) mailed EMP-123456 and EMP-000001 at 555-123-4567'),
    );
    expect((out.request.messages as { content: string }[])[0]!.content).toBe(
      '<EMPLOYEE_ID_1> (badge=<BADGE_1>) mailed <EMPLOYEE_ID_1> and <EMPLOYEE_ID_2> at <PHONE_1>',
    );
    expect(counts).toEqual({ EMPLOYEE_ID: 3, BADGE: 1, PHONE: 1 });
  });

  it('a bad user pattern is a config error naming it', () => {
    const err = (patterns: { name: string; regex: string }[]) => {
      try {
        createRedactor({ patterns });
      } catch (e) {
        return e as HarnessError;
      }
      throw new Error('expected an error');
    };
    const bad = err([
      { name: 'ok', regex: 'x' },
      { name: 'ticket', regex: 'T-(\\d+' },
    ]);
    expect(bad).toBeInstanceOf(HarnessError);
    expect(bad.code).toBe('CONFIG_INVALID');
    expect(bad.message).toMatch(/redaction pattern 2 "ticket": invalid regex/);
    expect(err([{ name: 'e', regex: '\\d*' }]).message).toMatch(/"e": the regex matches the empty string/);
    expect(err([{ name: '9lives', regex: 'x' }]).message).toMatch(/pattern 1 "9lives": name must be/);
    expect(
      err([
        { name: 'a', regex: 'x' },
        { name: 'A', regex: 'y' },
      ]).message,
    ).toMatch(/name used twice/);
  });
});
