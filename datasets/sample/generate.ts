/**
 * Generator of the bundled sample bake-off data:
 *   - datasets/sample/records.jsonl    synthetic production traffic (HoldoutRecord, one per line)
 *   - datasets/sample/answer-key.json  the simulator's answer key, keyed by `promptKey(request)`
 *
 * Deterministic: a seeded PRNG (mulberry32) per task, no Math.random, no clock. The committed files
 * must be byte-identical to `serializeSample(generateSample())`; test/datasets/sample.test.ts fails
 * when they drift. After editing this generator, regenerate the files with:
 *
 *   WRITE_SAMPLE=1 npx vitest run test/datasets/sample.test.ts
 *
 * All people, companies, emails (example.com / .net / .org) and phone numbers (555-01xx) are fictional.
 *
 * Three tasks, all Chat Completions requests to `gpt-5.4-mini`:
 *   - classify: support-ticket intent label; one long shared system prompt (a label guide of more than
 *     1,024 simulated tokens), so the simulator's prompt-prefix cache reports cached tokens;
 *   - extract: order fields to JSON under a strict `json_schema` response format;
 *   - reformat: small text transformations with a single exact expected output.
 * About a quarter of each task is tagged `difficulty: hard` (longer, messier inputs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HoldoutRecord, promptKey, type Reference } from '../record.js';
import { mulberry32 } from '../../harness/random.js';

export interface AnswerKeyEntry {
  answer: string;
  wrong: string[];
}
export type AnswerKey = Record<string, AnswerKeyEntry>;

export interface Sample {
  records: HoldoutRecord[];
  answerKey: AnswerKey;
}

export type SampleTask = 'classify' | 'extract' | 'reformat';

export const SAMPLE_MODEL = 'gpt-5.4-mini';
export const RECORDS_FILE = 'records.jsonl';
export const ANSWER_KEY_FILE = 'answer-key.json';
export const TASK_COUNTS: Record<SampleTask, number> = { classify: 130, extract: 100, reformat: 102 };
export const HARD_SHARE = 0.25;

export const LABELS = ['billing', 'bug', 'feature_request', 'account', 'shipping', 'other'] as const;
export type Label = (typeof LABELS)[number];

/** The sample traffic covers Monday 2026-11-09 00:00Z to Sunday 2026-11-15 23:59Z. */
export const WEEK_START_MS = Date.UTC(2026, 10, 9);
export const WEEK_MS = 7 * 24 * 3600 * 1000;

const SEEDS: Record<SampleTask, number> = { classify: 0x5eed0001, extract: 0x5eed0002, reformat: 0x5eed0003 };

// ---------------------------------------------------------------------------------------------------
// Seeded randomness

class Rng {
  private readonly draw: () => number;

  constructor(seed: number) {
    this.draw = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.draw();
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /** k distinct items, in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle(items).slice(0, k);
  }

  digits(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += String(this.int(0, 9));
    return out;
  }

  hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += this.int(0, 15).toString(16);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------
// Fictional world: tenants, people, money, dates

type Currency = 'USD' | 'EUR' | 'GBP';
const CURRENCIES: readonly Currency[] = ['USD', 'EUR', 'GBP'];
const SYMBOL: Record<Currency, string> = { USD: '$', EUR: '€', GBP: '£' };

interface Tenant {
  slug: string;
  brand: string;
  /** Sells physical goods (shipping tickets only make sense then). */
  physical: boolean;
  currency: Currency | null;
  products: readonly string[];
  features: readonly string[];
  plan: string;
  app: string;
  orderPrefix: string;
  orderDigits: number;
  centsRange: readonly [number, number];
  weight: number;
}

const TENANTS: readonly Tenant[] = [
  {
    slug: 'acme-outfitters',
    brand: 'Acme Outfitters',
    physical: true,
    currency: 'USD',
    products: [
      'Ridgeline trail boots',
      'Summit 40L backpack',
      'Stormshell rain jacket',
      'Basecamp 2-person tent',
      'Trailhead trekking poles',
      'Alpine down sleeping bag',
      'Canyon hydration pack',
    ],
    features: ['wishlist', 'order history page', 'size guide', 'store locator', 'checkout page'],
    plan: 'Trail Club membership',
    app: 'Acme Outfitters app',
    orderPrefix: 'AO-',
    orderDigits: 6,
    centsRange: [2_500, 48_000],
    weight: 3,
  },
  {
    slug: 'bluefin-grocers',
    brand: 'Bluefin Grocers',
    physical: true,
    currency: 'GBP',
    products: [
      'weekly produce box',
      'family meal kit',
      'organic dairy bundle',
      'pantry staples box',
      'fresh seafood box',
      'breakfast bundle',
    ],
    features: ['delivery slot picker', 'substitutions screen', 'shopping list', 'recipe tab', 'basket'],
    plan: 'Bluefin Plus delivery pass',
    app: 'Bluefin app',
    orderPrefix: 'BG-',
    orderDigits: 7,
    centsRange: [1_800, 16_000],
    weight: 2.5,
  },
  {
    slug: 'pinecrest-fitness',
    brand: 'Pinecrest Fitness',
    physical: true,
    currency: 'EUR',
    products: [
      'Pulse 3 fitness band',
      'Stride smart scale',
      'Core rowing machine',
      'Flex heart-rate strap',
      'Tempo foam roller set',
    ],
    features: ['workout log', 'sleep tracking screen', 'heart-rate chart', 'Bluetooth pairing screen'],
    plan: 'Pinecrest Premium subscription',
    app: 'Pinecrest app',
    orderPrefix: 'PF-',
    orderDigits: 6,
    centsRange: [2_900, 129_900],
    weight: 2,
  },
  {
    slug: 'quillstack',
    brand: 'Quillstack',
    physical: false,
    currency: null,
    products: ['Starter plan', 'Team plan', 'Business plan'],
    features: ['Kanban board', 'Gantt view', 'time tracking', 'reports dashboard', 'file attachments'],
    plan: 'Quillstack Business plan',
    app: 'Quillstack desktop app',
    orderPrefix: 'QS-',
    orderDigits: 6,
    centsRange: [4_900, 240_000],
    weight: 2.5,
  },
];

function pickTenant(rng: Rng, physicalOnly = false): Tenant {
  const pool = physicalOnly ? TENANTS.filter((t) => t.physical) : TENANTS;
  const total = pool.reduce((s, t) => s + t.weight, 0);
  let x = rng.next() * total;
  for (const t of pool) {
    x -= t.weight;
    if (x < 0) return t;
  }
  return pool[pool.length - 1]!;
}

// biome-ignore format: compact word list
const FIRST_NAMES = [
  'Amara', 'Ben', 'Carmen', 'Dmitri', 'Elena', 'Farid', 'Grace', 'Hiro', 'Isla', 'Jonas', 'Kavya', 'Liam',
  'Maya', 'Nikhil', 'Olivia', 'Pavel', 'Quinn', 'Rosa', 'Samir', 'Tessa', 'Umar', 'Vera', 'Wes', 'Ximena',
  'Yusuf', 'Zoe', 'Adele', 'Bruno', 'Chloe', 'Diego', 'Esme', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jasper',
  'Keiko', 'Leon', 'Mira', 'Noah', 'Oren', 'Priya', 'Rafael', 'Sofia', 'Tomas', 'Uma', 'Viktor', 'Willa',
] as const;

/** No internal capitals (McX, O'X): reformat's capitalization rule must give one right answer. */
// biome-ignore format: compact word list
const LAST_NAMES = [
  'Abernathy', 'Brandt', 'Castellanos', 'Dubois', 'Eriksen', 'Fairweather', 'Galloway', 'Hartmann', 'Ibarra',
  'Jablonski', 'Kowalczyk', 'Lindqvist', 'Marchetti', 'Nakamura', 'Okafor', 'Pemberton', 'Quintero',
  'Rasmussen', 'Sandoval', 'Thornbury', 'Underhill', 'Valdivia', 'Whitcombe', 'Yamada', 'Zielinski',
  'Ashworth', 'Bellamy', 'Crowther', 'Delacroix', 'Esposito', 'Fennimore', 'Grimaldi', 'Holloway', 'Ivanova',
  'Jankowski', 'Kettering', 'Larkspur', 'Montague', 'Northcott', 'Ortiz-Reyes', 'Pellegrini', 'Radcliffe',
  'Sorensen', 'Tremblay', 'Vasquez', 'Winslow', 'Achterberg', 'Brightwater',
] as const;

interface Person {
  first: string;
  last: string;
  name: string;
  email: string;
}

function person(rng: Rng): Person {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const f = first.toLowerCase();
  const l = last.toLowerCase();
  const local = rng.pick([
    `${f}.${l}`,
    `${f}.${l}`,
    `${f[0]}${l}`,
    `${f}${rng.int(1, 99)}`,
    `${f}_${l}`,
    `${l}.${f}`,
  ]);
  const domain = rng.pick(['example.com', 'example.com', 'example.net', 'example.org']);
  return { first, last, name: `${first} ${last}`, email: `${local}@${domain}` };
}

// biome-ignore format: compact word list
const AREA_CODES = [
  '201', '206', '212', '303', '312', '404', '415', '503', '512', '602', '617', '702', '720',
];

/** Fictional North American number: (area) 555-01xx. */
function phone(rng: Rng): string {
  return `(${rng.pick(AREA_CODES)}) 555-01${rng.digits(2)}`;
}

const COMPANIES = [
  'Harbor & Finch LLP',
  'Bramblewood Studio',
  'Northgate Logistics',
  'Cobalt Ridge Dental',
  'Tidewater Analytics',
  'Juniper Lane Bakery',
  'Copperleaf Architects',
  'Saltmarsh Outdoor School',
];
const JOB_TITLES = [
  'Office Manager',
  'Operations Lead',
  'Owner',
  'Procurement Specialist',
  'Head of Finance',
];
const CITIES = [
  'Portland',
  'Leeds',
  'Rotterdam',
  'Austin',
  'Galway',
  'Boulder',
  'Lyon',
  'Halifax',
  'Bristol',
];
const STREETS = ['Maple', 'Cedar', 'Harbor', 'Willow', 'Juniper', 'Larch', 'Orchard', 'Millbrook'];
const STREET_KINDS = ['Street', 'Avenue', 'Road', 'Lane'];

function address(rng: Rng): string {
  return `${rng.int(10, 980)} ${rng.pick(STREETS)} ${rng.pick(STREET_KINDS)}, ${rng.pick(CITIES)}`;
}

function group(n: number, sep: string): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

type MoneyStyle = 'symbol' | 'code' | 'code-first' | 'eu';

/** `$1,234.50`, `1,234.50 USD`, `USD 1,234.50` or European `1.234,50 €`. */
function fmtMoney(cents: number, currency: Currency, style: MoneyStyle = 'symbol'): string {
  const whole = Math.floor(cents / 100);
  const frac = String(cents % 100).padStart(2, '0');
  if (style === 'eu') return `${group(whole, '.')},${frac} ${currency === 'EUR' ? '€' : currency}`;
  const num = `${group(whole, ',')}.${frac}`;
  if (style === 'code') return `${num} ${currency}`;
  if (style === 'code-first') return `${currency} ${num}`;
  return `${SYMBOL[currency]}${num}`;
}

// biome-ignore format: compact word list
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
  'November', 'December',
] as const;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

function monthName(m: number): string {
  return MONTHS[m - 1]!;
}

function weekday(y: number, m: number, d: number): string {
  return WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]!;
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function ordinal(d: number): string {
  const tens = d % 100;
  if (tens >= 11 && tens <= 13) return `${d}th`;
  return `${d}${d % 10 === 1 ? 'st' : d % 10 === 2 ? 'nd' : d % 10 === 3 ? 'rd' : 'th'}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

// ---------------------------------------------------------------------------------------------------
// Drafts and records

interface Draft {
  task: SampleTask;
  tenant: string;
  hard: boolean;
  system: string;
  user: string;
  maxTokens: number;
  responseFormat?: Record<string, unknown>;
  reference: Reference;
  /** Extra metadata for the record (after `source` and `request_id`). */
  meta?: Record<string, unknown>;
  answer: string;
  wrong: string[];
}

type DraftFn = (rng: Rng, hard: boolean, index: number) => Draft;

/** Draws `count` drafts whose last user turns are unique across the whole sample. */
function drawDrafts(task: SampleTask, seen: Set<string>, make: DraftFn): Draft[] {
  const rng = new Rng(SEEDS[task]);
  const count = TASK_COUNTS[task];
  const hardSet = new Set(rng.shuffle([...Array(count).keys()]).slice(0, Math.round(count * HARD_SHARE)));
  const drafts: Draft[] = [];
  for (let i = 0; i < count; i++) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 200) throw new Error(`cannot draw a unique ${task} prompt #${i}`);
      const draft = make(rng, hardSet.has(i), i);
      if (seen.has(draft.user)) continue;
      const wrong = unique(draft.wrong.filter((w) => w !== draft.answer));
      if (wrong.length === 0) throw new Error(`${task} prompt #${i} has no wrong answers`);
      seen.add(draft.user);
      drafts.push({ ...draft, wrong });
      break;
    }
  }
  return drafts;
}

/** `count` timestamps within the sample week, ascending; busier in European and American daytime. */
function timestamps(rng: Rng, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const day = rng.int(0, 6);
    const hour = rng.chance(0.85) ? rng.int(7, 22) : rng.int(0, 23);
    const ms = ((hour * 60 + rng.int(0, 59)) * 60 + rng.int(0, 59)) * 1000 + rng.int(0, 999);
    out.push(day * 24 * 3600 * 1000 + ms);
  }
  return out.sort((a, b) => a - b);
}

function toRecords(task: SampleTask, drafts: Draft[]): { ts: number; record: HoldoutRecord; draft: Draft }[] {
  const rng = new Rng(SEEDS[task] ^ 0x7157a4e5);
  const times = timestamps(rng, drafts.length);
  return drafts.map((d, i) => {
    const ts = WEEK_START_MS + times[i]!;
    const request: Record<string, unknown> = {
      model: SAMPLE_MODEL,
      messages: [
        { role: 'system', content: d.system },
        { role: 'user', content: d.user },
      ],
      temperature: 0,
      max_completion_tokens: d.maxTokens,
    };
    if (d.responseFormat) request.response_format = d.responseFormat;
    const record: HoldoutRecord = {
      id: `sample-${task}-${String(i + 1).padStart(4, '0')}`,
      timestamp: new Date(ts).toISOString(),
      api: 'chat',
      tags: { task, tenant: d.tenant, difficulty: d.hard ? 'hard' : 'easy' },
      request,
      reference: d.reference,
      metadata: { source: 'synthetic', request_id: `req_${rng.hex(24)}`, ...d.meta },
    };
    return { ts, record, draft: d };
  });
}

/** The whole sample: records in timestamp order (as a production log would be), and the answer key. */
export function generateSample(): Sample {
  const seen = new Set<string>();
  const all = [
    ...toRecords('classify', drawDrafts('classify', seen, classifyDraft)),
    ...toRecords('extract', drawDrafts('extract', seen, extractDraft)),
    ...toRecords('reformat', drawDrafts('reformat', seen, reformatDraft)),
  ].sort((a, b) => a.ts - b.ts || (a.record.id < b.record.id ? -1 : 1));
  const answerKey: AnswerKey = {};
  for (const { record, draft } of all) {
    answerKey[promptKey(record.request)] = { answer: draft.answer, wrong: draft.wrong };
  }
  return { records: all.map((x) => x.record), answerKey };
}

export function serializeSample(sample: Sample): { recordsJsonl: string; answerKeyJson: string } {
  return {
    recordsJsonl: `${sample.records.map((r) => JSON.stringify(r)).join('\n')}\n`,
    answerKeyJson: `${JSON.stringify(sample.answerKey, null, 2)}\n`,
  };
}

/** Writes records.jsonl and answer-key.json into `dir` (default: this folder). */
export function writeSample(dir: string): void {
  const { recordsJsonl, answerKeyJson } = serializeSample(generateSample());
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, RECORDS_FILE), recordsJsonl);
  writeFileSync(join(dir, ANSWER_KEY_FILE), answerKeyJson);
}

// ---------------------------------------------------------------------------------------------------
// Task 1: classify

export const CLASSIFY_SYSTEM_PROMPT = [
  'You are the ticket triage assistant for a shared customer-support desk. The desk answers customers of',
  'several merchant brands: Acme Outfitters (outdoor gear), Bluefin Grocers (grocery delivery), Pinecrest',
  'Fitness (fitness devices and a subscription app) and Quillstack (project-management software sold as',
  'monthly and annual plans). Every incoming ticket must be routed to exactly one queue. Read the whole',
  'ticket, decide which queue has to act on it, and reply with exactly one label from: billing, bug,',
  'feature_request, account, shipping, other.',
  '',
  'OUTPUT FORMAT',
  '- Reply with the label only: lowercase, no punctuation, no quotes, no explanation, no greeting.',
  '- Never invent a new label, never combine two labels, and never write a reply to the customer.',
  '- If the ticket is empty or unreadable, reply other.',
  '',
  'LABEL GUIDE',
  '',
  'billing: money the customer has paid, will pay, or expects back.',
  '  Includes duplicate or unexpected charges, refunds (also the refund for a return that we have already',
  '  received), invoices and receipts, VAT or tax documents, payment methods and expiring cards, declined',
  '  or failed payments, promo codes and discounts that were not applied, price changes on a subscription,',
  '  cancelling a paid subscription, and upgrading or downgrading a plan.',
  '  Excludes: when a parcel will arrive (shipping); being locked out of the account (account).',
  '',
  'bug: the software (website, mobile app, desktop app, API or device firmware) does not work as designed.',
  '  Includes crashes, error codes, blank or frozen screens, data that fails to sync or save, exports that',
  '  come out empty or corrupted, notifications that arrive late or never, search that misses items that',
  '  exist, baskets or carts that lose items, and wrong numbers displayed by the software.',
  '  Excludes: a feature that works as designed but that the customer wants to behave differently',
  '  (feature_request); a customer who forgot a password (account).',
  '',
  'feature_request: the customer asks for something the product does not do today.',
  '  Includes new integrations, new export formats, dark mode, new settings or options, new delivery',
  '  options, sharing with family or colleagues, apps for new platforms, keyboard shortcuts, accessibility',
  '  improvements and product suggestions of any kind.',
  '  Excludes: something that is supposed to work today but is broken (bug).',
  '',
  'account: access to and administration of the customer account.',
  '  Includes login problems, password resets (even when the reset email is slow to arrive), locked',
  '  accounts, two-factor authentication and lost second-factor devices, changing the email address, name',
  '  or username on the profile, adding or removing team members, admin roles and permissions, and',
  '  privacy requests: closing the account, deleting or exporting personal data.',
  '  Excludes: cancelling a paid subscription while keeping the account (billing).',
  '',
  'shipping: physical delivery of goods.',
  '  Includes tracking that has not updated, late or missing parcels, parcels marked as delivered but not',
  '  received, split shipments, changing the delivery address before dispatch, delivery slots and windows',
  '  for an existing order, carriers and delivery areas, parcels damaged in transit (replacement requests',
  '  included), return labels and how to send an item back.',
  '  Excludes: the refund for a returned item (billing). Quillstack sells no physical goods.',
  '',
  'other: anything that fits none of the queues above.',
  '  Includes product questions before purchase (sizes, colours, compatibility, stock, materials), store',
  '  opening hours, compliments and general feedback, job applications, partnership, sponsorship and press',
  '  enquiries, warranty questions about a product fault that was not caused by delivery, and spam.',
  '',
  'DECISION RULES',
  '1. Route by the action the customer wants us to take, not by the words they happen to use. A ticket that',
  '   says "invoice" only to identify an order is not automatically billing.',
  '2. When a ticket mentions several issues, choose the one the customer explicitly asks us to resolve.',
  '   Anything they call minor, unrelated, not urgent, or "not why I am writing" does not decide the label.',
  '3. Quoted earlier messages, auto-replies, signatures, legal disclaimers and forwarded headers below the',
  "   customer's own text are context only. Classify the newest message written by the customer.",
  '4. If the app or website crashes or shows an error while the customer logs in, choose bug: the software',
  '   is failing, not the credentials. If the customer cannot log in because of a forgotten password, a',
  '   lockout or a lost two-factor device, choose account.',
  '5. Whenever the customer asks for money back or disputes an amount, choose billing, even when the reason',
  '   is a bug or a delivery problem.',
  '6. A request for a replacement of an item damaged in transit is shipping; a fault that appears after',
  '   normal use is other (warranty).',
  '7. Tickets with typos, missing punctuation, ALL CAPS or mixed languages are classified by their meaning.',
  '8. Do not let the tone decide. Angry tickets are not more likely to be billing, and polite suggestions',
  '   that describe a broken feature are still bugs.',
  '',
  'EXAMPLES',
  'Ticket: "I was charged twice for order AO-100245, please refund one of the charges." -> billing',
  'Ticket: "Where can I download last month\'s receipt for the Team plan?" -> billing',
  'Ticket: "The app freezes on the checkout screen since yesterday\'s update." -> bug',
  'Ticket: "Export to PDF produces a file with no pages." -> bug',
  'Ticket: "Could you add Apple Health sync to the Pinecrest app?" -> feature_request',
  'Ticket: "Please let me save two delivery addresses." -> feature_request',
  'Ticket: "I locked myself out after too many attempts, please unlock it." -> account',
  'Ticket: "Please remove Jordan from our workspace, they left the company." -> account',
  'Ticket: "Tracking for my parcel has not moved in five days." -> shipping',
  'Ticket: "The jar in my grocery box arrived smashed, can you send another one?" -> shipping',
  'Ticket: "Do the trail boots come in half sizes?" -> other',
  'Ticket: "Your driver Sam was so kind to my dad yesterday, thank you!" -> other',
  '',
  'Remember: one label, lowercase, nothing else.',
].join('\n');

const CONFUSIONS: Record<Label, readonly Label[]> = {
  billing: ['account', 'shipping', 'other'],
  bug: ['feature_request', 'account', 'other'],
  feature_request: ['bug', 'other'],
  account: ['bug', 'billing', 'other'],
  shipping: ['billing', 'other', 'bug'],
  other: ['feature_request', 'shipping', 'billing'],
};

/** The production label mix: skewed, as real support traffic is. Sums to TASK_COUNTS.classify. */
const LABEL_COUNTS: Record<Label, number> = {
  billing: 30,
  bug: 26,
  shipping: 24,
  account: 22,
  feature_request: 14,
  other: 14,
};

const DEVICES = ['iPhone 15', 'Pixel 8', 'Galaxy S23', 'iPad Air', 'Windows 11 laptop', 'MacBook Air'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'];
const INTEGRATIONS = ['Slack', 'Zapier', 'QuickBooks', 'Strava', 'Apple Health', 'Google Sheets', 'Notion'];
const PROMO_WORDS = ['WELCOME', 'AUTUMN', 'TRAIL', 'FRESH', 'SAVE', 'HELLO', 'FRIENDS'];
const AGENTS = ['Sam', 'Priyanka', 'Theo', 'Marisol', 'Kwame', 'Lotte'];

/** Slots for one ticket: a tenant and a customer, plus helpers for varied details. */
class TicketCtx {
  readonly who: Person;
  readonly currency: Currency;

  constructor(
    readonly rng: Rng,
    readonly t: Tenant,
  ) {
    this.who = person(rng);
    this.currency = t.currency ?? rng.pick(CURRENCIES);
  }

  pick<T>(items: readonly T[]): T {
    return this.rng.pick(items);
  }
  n(min: number, max: number): number {
    return this.rng.int(min, max);
  }
  order(): string {
    return orderId(this.rng, this.t);
  }
  cents(): number {
    return this.rng.int(this.t.centsRange[0], this.t.centsRange[1]);
  }
  price(cents = this.cents()): string {
    return fmtMoney(cents, this.currency);
  }
  product(): string {
    return this.pick(this.t.products);
  }
  feature(): string {
    return this.pick(this.t.features);
  }
  device(): string {
    return this.pick(DEVICES);
  }
  last4(): string {
    return this.rng.digits(4);
  }
  version(): string {
    return `${this.n(3, 9)}.${this.n(0, 14)}.${this.n(0, 9)}`;
  }
  /** A date before the sample week (2026-11-09 to 11-15). */
  day(): string {
    const d = this.n(1, 8);
    return this.pick([
      `November ${d}`,
      `Nov ${d}`,
      `${d} November`,
      `the ${ordinal(d)}`,
      `${d}/11`,
      `October ${this.n(26, 31)}`,
      'Monday',
      'Tuesday',
      'Friday',
    ]);
  }
  /** A date after the sample week. */
  laterDay(): string {
    const d = this.n(17, 30);
    return this.pick([
      `November ${d}`,
      `Nov ${d}`,
      `the ${ordinal(d)}`,
      'next Friday',
      'the end of the month',
    ]);
  }
}

function orderId(rng: Rng, t: Tenant): string {
  return `${t.orderPrefix}${rng.int(1, 9)}${rng.digits(t.orderDigits - 1)}`;
}

type Ticket = readonly [subject: string, body: string];
interface TicketTemplate {
  /** Needs a tenant that ships physical goods. */
  physical?: boolean;
  make: (c: TicketCtx) => Ticket;
}

const TICKETS: Record<Label, readonly TicketTemplate[]> = {
  billing: [
    {
      make: (c) => [
        `Charged twice for ${c.t.plan}`,
        `I was charged ${c.price()} twice for my ${c.t.plan} on ${c.day()}. ` +
          'Please refund the duplicate charge.',
      ],
    },
    {
      make: (c) => [
        'Charged after cancelling',
        `My card ending in ${c.last4()} was billed ${c.price()} even though I cancelled my ${c.t.plan} on ` +
          `${c.day()}. Can you reverse this?`,
      ],
    },
    {
      make: (c) => {
        const o = c.order();
        return [
          `Invoice for ${o}`,
          `Could you send me a proper invoice for order ${o}? Our accounts team needs one with our VAT ` +
            'number on it.',
        ];
      },
    },
    {
      make: (c) => {
        const a = c.cents();
        const b = a + c.n(2, 40) * 100;
        return [
          'Price went up?',
          `Why did my ${c.t.plan} go up from ${c.price(a)} to ${c.price(b)} this month? I didn't see any ` +
            'notice about a price change.',
        ];
      },
    },
    {
      make: (c) => [
        'Promo code not applied',
        `The code ${c.pick(PROMO_WORDS)}${c.n(10, 30)} didn't apply at checkout for order ${c.order()} ` +
          `and I paid the full ${c.price()}. Please credit the difference.`,
      ],
    },
    {
      make: (c) => [
        'Update card on file',
        `The card ending in ${c.last4()} that you have on file expires at the end of the month. How do I ` +
          'switch billing to a new card before the next payment?',
      ],
    },
    {
      make: (c) => [
        'Refund not received',
        `You confirmed the refund of ${c.price()} for ${c.order()} on ${c.day()}, but it still isn't on my ` +
          'statement. When will it arrive?',
      ],
    },
    {
      make: (c) => [
        'Downgrade our plan',
        `Please move us from the ${c.t.plan} to something cheaper from the next billing cycle; only ` +
          `${c.n(2, 9)} of us still use it.`,
      ],
    },
    {
      make: (c) => [
        'Payment declined',
        `My payment of ${c.price()} for ${c.order()} was declined, but my bank says nothing was blocked on ` +
          'their side. Can you try the charge again?',
      ],
    },
  ],
  bug: [
    {
      make: (c) => [
        `${capitalize(c.feature())} crashes`,
        `The ${c.feature()} crashes every time I tap Save on my ${c.device()}.`,
      ],
    },
    {
      make: (c) => [
        'Sync stuck',
        `Since updating the ${c.t.app} to version ${c.version()}, sync stops at ${c.n(12, 97)}% and never ` +
          'finishes.',
      ],
    },
    {
      make: (c) => {
        const [b1, b2] = c.rng.sample(BROWSERS, 2);
        return [
          'Empty CSV export',
          `Export to CSV from the ${c.feature()} downloads an empty file. I tried both ${b1} and ${b2}.`,
        ];
      },
    },
    {
      make: (c) => [
        `Error ${c.n(400, 599)}`,
        `I get "Error ${c.n(1000, 9999)}: something went wrong" whenever I open the ${c.feature()}. ` +
          'Screenshot attached.',
      ],
    },
    {
      make: (c) => [
        'Late notifications',
        `Notifications from the ${c.t.app} arrive ${c.n(2, 11)} hours late on my ${c.device()}.`,
      ],
    },
    {
      make: (c) => [
        'Search is broken',
        `Search returns nothing for "${c.product()}", even though it is right there on your homepage.`,
      ],
    },
    {
      make: (c) => [
        'Blank screen',
        `The ${c.feature()} shows a blank white screen since the latest update (${c.version()}) on my ` +
          `${c.device()}.`,
      ],
    },
    {
      make: (c) => [
        'App closes on login',
        `The ${c.t.app} closes itself as soon as I tap "Log in" on my ${c.device()}. My password is fine, ` +
          'the website accepts it.',
      ],
    },
    {
      make: (c) => [
        'Basket keeps emptying',
        'Items I add to my basket disappear when I switch from the app to the website. ' +
          `I lost ${c.n(3, 14)} items twice on ${c.day()}.`,
      ],
    },
  ],
  feature_request: [
    {
      make: (c) => [
        'Suggestion',
        `It would be great if the ${c.feature()} could ${c.pick([
          'be exported to PDF',
          'show weekly averages',
          'be shared with a family member',
          'work offline',
          'sync with Google Calendar',
        ])}.`,
      ],
    },
    {
      make: (c) => [
        'Dark mode?',
        `Any plans for a dark mode in the ${c.t.app}? The white background is harsh at night on my ` +
          `${c.device()}.`,
      ],
    },
    {
      make: (c) => {
        const tool = c.pick(INTEGRATIONS);
        return [
          `${tool} integration`,
          `Please add an integration with ${tool} so we don't have to copy everything across by hand.`,
        ];
      },
    },
    {
      physical: true,
      make: (c) => [
        'Delivery window idea',
        `Suggestion: let us pick a ${c.n(1, 3)}-hour delivery window at checkout instead of "any time ` +
          'between 8am and 8pm".',
      ],
    },
    {
      make: (c) => [
        'Feature idea',
        `Could you add a way to ${c.pick([
          'save more than one delivery address',
          'mark products as favourites',
          'schedule reports by email',
          'set a monthly spending limit',
          'duplicate a whole project',
        ])}? I'd use it every week.`,
      ],
    },
    {
      make: (c) => ['Apple Watch app', `Would love an Apple Watch app for ${c.t.brand}. Happy to beta test!`],
    },
    {
      make: (c) => [
        'Keyboard shortcuts',
        `Could the ${c.feature()} support keyboard shortcuts? ` +
          `It would save our team of ${c.n(3, 40)} a lot of clicking.`,
      ],
    },
  ],
  account: [
    {
      make: (c) => [
        'Password reset email missing',
        `I forgot my password and the reset email never arrives at ${c.who.email}. I've checked spam.`,
      ],
    },
    {
      make: (c) => [
        'Change my email',
        `Please change the email on my account from ${c.who.email} to ${person(c.rng).email}.`,
      ],
    },
    {
      make: (c) => [
        '2FA',
        `How do I turn on two-factor authentication for my ${c.t.brand} account? Registered as ` +
          `${c.who.email}.`,
      ],
    },
    {
      make: (c) => [
        'Delete my account',
        `I'd like my account and all my personal data deleted, please. Email on file: ${c.who.email}.`,
      ],
    },
    {
      make: (c) => [
        'Account locked',
        `My account is locked after too many login attempts. Username: ${c.who.first.toLowerCase()}` +
          `${c.n(10, 99)}.`,
      ],
    },
    {
      make: (c) => {
        const col = person(c.rng);
        return [
          'New admin',
          `Please add ${col.name} (${col.email}) as an admin on our ${c.t.brand} workspace.`,
        ];
      },
    },
    {
      make: (c) => [
        'Name change',
        `I got married and need to update the name on my profile to ${c.who.first} ${c.pick(LAST_NAMES)}.`,
      ],
    },
    {
      make: (c) => [
        'Lost phone, no 2FA codes',
        `I lost my ${c.device()} and can't get the two-factor codes anymore. How can I get back into my ` +
          `account (${c.who.email})?`,
      ],
    },
  ],
  shipping: [
    {
      physical: true,
      make: (c) => [
        `Where is ${c.order()}?`,
        `My order was due on ${c.day()} but tracking hasn't updated in ${c.n(3, 9)} days.`,
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Marked delivered, not here',
        `Tracking says ${c.order()} was delivered ${c.day()} but there's nothing here, and the neighbours ` +
          "don't have it either.",
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Change delivery address',
        `Can you change the delivery address for ${c.order()} to ${address(c.rng)}? It hasn't shipped yet.`,
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Delivery area',
        `Do you deliver to ${c.pick(CITIES)}, and which carrier do you use there? ` +
          `I need it by ${c.laterDay()}.`,
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Damaged parcel',
        `The box for ${c.order()} arrived crushed and the ${c.product()} inside is damaged. Can you send a ` +
          'replacement?',
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Return label',
        `How do I get a return label for the ${c.product()} from order ${c.order()}?`,
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Only half my order arrived',
        `Order ${c.order()} was split into two parcels and only one has arrived. The ${c.product()} is ` +
          'still missing.',
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Morning delivery',
        `Can I move the delivery of ${c.order()} to a morning slot? Nobody is home after ` +
          `${c.pick(['11am', 'noon', '1pm', '2pm'])}.`,
      ],
    },
  ],
  other: [
    {
      physical: true,
      make: (c) => [
        'Sizes',
        `Does the ${c.product()} come in ` +
          `${c.pick(['a larger size', 'navy blue', 'a half size', 'a kids version'])}?`,
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Opening hours',
        `What are your opening hours at the ${c.pick(CITIES)} store on public holidays?`,
      ],
    },
    {
      make: (c) => [
        'Thank you!',
        `Just wanted to say thank you: ${c.pick(AGENTS)} on your support team was brilliant on ${c.day()}.`,
      ],
    },
    {
      make: (c) => [
        'Jobs',
        `Is ${c.t.brand} hiring in ${c.pick(CITIES)}? I have ${c.n(2, 15)} years of ${c.pick([
          'warehouse',
          'customer service',
          'frontend development',
          'bookkeeping',
        ])} experience.`,
      ],
    },
    {
      make: (c) => [
        'Sponsorship',
        `We run a ${c.pick(['running club', 'youth football team', 'community garden', 'coding meetup'])} ` +
          `in ${c.pick(CITIES)} and would love to talk about a sponsorship for our spring event.`,
      ],
    },
    {
      physical: true,
      make: (c) => [
        'Warranty question',
        `Is the ${c.product()} covered by warranty? ` +
          `Something broke after ${c.n(3, 14)} months of normal use.`,
      ],
    },
    {
      make: (c) => [
        'Press enquiry',
        `I'm writing a piece for ${c.pick(['Trail Notes', 'Small Business Brief', 'Home Cook'])} ` +
          `and would like to interview someone at ${c.t.brand}. Who should I contact?`,
      ],
    },
  ],
};

/** Side remarks for hard tickets: they mention another queue's topic but ask for nothing. */
const ASIDES: Record<Label, readonly string[]> = {
  billing: ['the price went up a little this month', 'my last invoice showed an old VAT number'],
  bug: ['the app has been a bit slow to load lately', 'search sometimes shows the same item twice'],
  feature_request: ['a dark mode would be lovely someday', 'a home-screen widget would be nice to have'],
  account: ['I still need to set up two-factor at some point', 'my colleague may need a login next year'],
  shipping: ['my previous parcel came a day late', 'the courier left a card even though I was home'],
  other: ['your staff at the local store were lovely', 'I love the new packaging design'],
};

const PREAMBLES = [
  (c: TicketCtx) =>
    `I've been a ${c.t.brand} customer for ${c.n(2, 9)} years and this is the first time ` +
    "I've had to write in.",
  () => "Sorry for the long message, I already went through the help centre and couldn't find an answer.",
  () => 'Writing on behalf of my father, who is not great with computers.',
  () => 'Second time asking about this.',
  () => 'I tried the chat but it kept timing out.',
];

const PLEAS = [
  'Please sort this out as soon as you can.',
  'Can someone get back to me before Friday?',
  'This is really frustrating.',
  "I'd appreciate a quick reply.",
  'Thanks in advance.',
];

function signature(c: TicketCtx): string {
  const lines = ['--', c.who.name];
  if (c.rng.chance(0.6)) lines.push(`${c.pick(JOB_TITLES)}, ${c.pick(COMPANIES)}`);
  if (c.rng.chance(0.5)) lines.push(`Tel: ${phone(c.rng)}`);
  if (c.rng.chance(0.4)) lines.push('Sent from my phone, please excuse typos.');
  if (c.rng.chance(0.25)) {
    lines.push(
      'CONFIDENTIALITY NOTICE: This e-mail and any attachments are intended only for the named recipient. ' +
        'If you received it in error, please delete it and notify the sender.',
    );
  }
  return lines.join('\n');
}

function quotedAutoReply(c: TicketCtx): string {
  return [
    `> On Nov ${c.n(2, 8)}, 2026, ${c.t.brand} Support <support@${c.t.slug}.example.com> wrote:`,
    `> Thanks for contacting ${c.t.brand}! Your request #${c.n(100000, 999999)} has been received.`,
    '> One of our team will reply within 2 business days. Many questions are answered in our help centre.',
  ].join('\n');
}

function classifyDraft(rng: Rng, hard: boolean, index: number): Draft {
  const label = labelSchedule(index);
  const t = pickTenant(rng, label === 'shipping');
  const c = new TicketCtx(rng, t);
  const template = c.pick(TICKETS[label].filter((tt) => t.physical || !tt.physical));
  let [subject, body] = template.make(c);
  let aside: Label | undefined;

  if (!hard) {
    const greet = c.rng.chance(0.6)
      ? `${c.pick(['Hi,', 'Hello,', 'Hi there,', 'Hey team,', 'Good morning,'])}\n\n`
      : '';
    const close = c.rng.chance(0.7)
      ? `\n\n${c.pick([`Thanks,\n${c.who.first}`, `Best,\n${c.who.name}`, `Cheers, ${c.who.first}`])}`
      : '';
    body = `${greet}${body}${close}`;
  } else {
    aside = c.pick(
      LABELS.filter(
        (l) =>
          l !== label && (t.physical || l !== 'shipping') && (label !== 'bug' || l !== 'feature_request'),
      ),
    );
    const asideText = c.pick(ASIDES[aside]);
    const asideLine = c.pick([
      `(Unrelated and not urgent: ${asideText}.)`,
      `PS: ${asideText}, but that's not why I'm writing.`,
      `Side note, ${asideText}; no need to do anything about that.`,
    ]);
    const main = c.rng.chance(0.3) ? body.toLowerCase() : body;
    const parts = [
      c.pick(['Hi there,', 'Hello,', 'To whom it may concern,', 'hey', 'Good morning,']),
      `${c.pick(PREAMBLES)(c)} ${main}`,
    ];
    if (c.rng.chance(0.5)) parts.push(`${asideLine} ${c.pick(PLEAS)}`);
    else parts.push(c.pick(PLEAS), asideLine);
    parts.push(signature(c));
    if (c.rng.chance(0.5)) parts.push(quotedAutoReply(c));
    body = parts.join('\n\n');
    subject = c.pick([
      `RE: ${subject}`,
      `Fwd: ${subject}`,
      `URGENT - ${subject}`,
      subject.toLowerCase(),
      subject,
    ]);
  }

  const others = rng.shuffle(CONFUSIONS[label]);
  const wrong: string[] = unique([...(aside ? [aside] : []), ...others]).slice(0, rng.int(2, 3));
  if (rng.chance(0.35)) {
    const w = rng.pick(wrong);
    wrong.push(
      rng.pick([
        `The category is ${w}.`,
        `Category: ${w}`,
        `This ticket should be routed to ${w}.`,
        `Label: ${w}`,
      ]),
    );
  }
  return {
    task: 'classify',
    tenant: t.slug,
    hard,
    system: CLASSIFY_SYSTEM_PROMPT,
    user: `Subject: ${subject}\n\n${body}`,
    maxTokens: 16,
    reference: { label },
    answer: label,
    wrong,
  };
}

/** Labels in a fixed shuffled order, so the mix matches LABEL_COUNTS exactly. */
const LABEL_ORDER: readonly Label[] = new Rng(0x1abe1).shuffle(
  LABELS.flatMap((l) => Array<Label>(LABEL_COUNTS[l]).fill(l)),
);

function labelSchedule(index: number): Label {
  const label = LABEL_ORDER[index];
  if (!label) throw new Error(`no label for classify #${index}`);
  return label;
}

// ---------------------------------------------------------------------------------------------------
// Task 2: extract

export const EXTRACT_SYSTEM_PROMPT = [
  'You extract order details from customer-service snippets (order emails, invoices, chat transcripts and',
  'web-form submissions) for the finance back office. Return one JSON object with exactly these fields:',
  '- name: the full name of the customer (the buyer or bill-to person) with normal capitalization, without',
  '  titles such as Mr., Ms. or Dr.',
  "- email: the customer's email address in lowercase. Rewrite obfuscated forms such as",
  '  "jo.doe (at) example (dot) com" as a normal address.',
  '- order_id: the order number exactly as written (for example AO-482913), without a leading "#".',
  '- amount: the final total charged or due, including tax and shipping, as a JSON number without currency',
  '  symbol or thousands separators. European notation "1.234,50" means 1234.50.',
  '- currency: the ISO 4217 code, one of USD, EUR, GBP. "$" means USD, "€" EUR and "£" GBP.',
  'When the snippet mentions other people (colleagues in Cc, support agents, a previous contact), use the',
  'customer. When several amounts appear (subtotals, tax, quotes, earlier prices), use the final total.',
  'Output the JSON object only: no markdown, no comments, no extra fields.',
].join('\n');

export function orderSchema(): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      name: { type: 'string' },
      email: { type: 'string' },
      order_id: { type: 'string' },
      amount: { type: 'number' },
      currency: { type: 'string', enum: ['USD', 'EUR', 'GBP'] },
    },
    required: ['name', 'email', 'order_id', 'amount', 'currency'],
    additionalProperties: false,
  };
}

interface Order {
  name: string;
  email: string;
  order_id: string;
  amount: number;
  currency: Currency;
}

/** A snippet and its truth, plus a field error a model plausibly makes on this very snippet. */
interface Snippet {
  text: string;
  order: Order;
  trap?: Partial<Order> | undefined;
}

const TITLES = ['Dr.', 'Mr.', 'Ms.', 'Mrs.', 'Mx.'];

function typo(email: string, rng: Rng): string {
  const at = email.indexOf('@');
  const local = email.slice(0, at);
  const i = rng.int(0, local.length - 2);
  const swapped = local.slice(0, i) + local[i + 1] + local[i] + local.slice(i + 2);
  const out = swapped === local ? `${local.slice(0, -1)}${email.slice(at)}` : `${swapped}${email.slice(at)}`;
  return out === email ? `${local}x${email.slice(at)}` : out;
}

function extractSnippet(rng: Rng, hard: boolean): { tenant: Tenant; snip: Snippet } {
  const hardKind = hard ? rng.int(0, 3) : -1;
  // The European-notation snippet comes from the euro tenant.
  const t = hardKind === 2 ? TENANTS.find((x) => x.currency === 'EUR')! : pickTenant(rng);
  const who = person(rng);
  const currency = t.currency ?? rng.pick(CURRENCIES);
  const orderNo = orderId(rng, t);
  const cents = rng.int(t.centsRange[0], t.centsRange[1]);
  const base = { name: who.name, email: who.email, order_id: orderNo, currency };
  const money = (c: number): string =>
    fmtMoney(c, currency, rng.pick<MoneyStyle>(['symbol', 'symbol', 'code', 'code-first']));
  const product = rng.pick(t.products);

  if (!hard) {
    const order: Order = { ...base, amount: cents / 100 };
    const snippets: (() => string)[] = [
      () =>
        [
          `Order confirmation - ${t.brand}`,
          `Order number: ${orderNo}`,
          `Customer: ${who.name}`,
          `Email: ${who.email}`,
          `Items: ${rng.int(1, 3)} x ${product}`,
          `Total charged: ${money(cents)}`,
        ].join('\n'),
      () =>
        [
          'New contact form submission',
          `Name: ${who.name}`,
          `Email: ${who.email}`,
          `Message: Hi, I placed order ${orderNo} on November ${rng.int(1, 8)} and paid ` +
            `${money(cents)}. Could you confirm the payment went through?`,
        ].join('\n'),
      () =>
        [
          `INVOICE INV-${rng.digits(5)}`,
          `Bill to: ${who.name} <${who.email}>`,
          `Order reference: ${orderNo}`,
          `Amount due: ${money(cents)}`,
          `Due date: December ${rng.int(1, 28)}, 2026`,
        ].join('\n'),
      () =>
        [
          `[09:${pad2(rng.int(0, 50))}] System: ${who.name} (${who.email}) started a chat.`,
          `[09:${pad2(rng.int(51, 59))}] ${who.first}: hi, just checking on order ${orderNo}`,
          `[10:0${rng.int(0, 9)}] Agent ${rng.pick(AGENTS)}: Happy to help! I can see a payment of ` +
            `${money(cents)} on that order, it's being packed now.`,
        ].join('\n'),
      () => `Refund request from ${who.name} (${who.email}) for order ${orderNo}, amount ${money(cents)}.`,
    ];
    const text = rng.pick(snippets)();
    const trap: Partial<Order> = rng.chance(0.5)
      ? { email: typo(who.email, rng) }
      : { amount: Math.floor(cents / 100) === cents / 100 ? cents / 100 + 1 : Math.floor(cents / 100) };
    return { tenant: t, snip: { text, order, trap } };
  }

  if (hardKind === 0) {
    // Itemized invoice: subtotal, shipping and tax; the total is the answer, the subtotal the trap.
    const p2 = rng.pick(t.products.filter((p) => p !== product));
    const q1 = rng.int(1, 3);
    const c1 = Math.round(cents / 3);
    const c2 = rng.int(t.centsRange[0], Math.max(t.centsRange[0] + 100, Math.round(t.centsRange[1] / 4)));
    const sub = q1 * c1 + c2;
    const ship = !t.physical || rng.chance(0.3) ? 0 : rng.int(399, 1299);
    const rate = currency === 'USD' ? rng.pick([6, 7.25, 8.5]) : 20;
    const tax = Math.round(((sub + ship) * rate) / 100);
    const total = sub + ship + tax;
    const style = rng.pick<MoneyStyle>(['symbol', 'code-first']);
    const m = (c: number): string => fmtMoney(c, currency, style);
    const text = [
      `${t.brand} - Tax invoice INV-${rng.digits(6)}`,
      `Issued: ${rng.int(1, 8)} ${monthName(11)} 2026`,
      'Bill to:',
      `  ${rng.pick(TITLES)} ${who.name}`,
      `  ${address(rng)}`,
      `  ${who.email}`,
      `Order ref: #${orderNo}`,
      '',
      `${q1} x ${product}`.padEnd(40) + m(q1 * c1),
      `1 x ${p2}`.padEnd(40) + m(c2),
      'Subtotal'.padEnd(40) + m(sub),
      ...(t.physical ? ['Shipping'.padEnd(40) + (ship === 0 ? 'FREE' : m(ship))] : []),
      `${currency === 'USD' ? 'Sales tax' : 'VAT'} (${rate}%)`.padEnd(40) + m(tax),
      'TOTAL'.padEnd(40) + m(total),
      '',
      `Payment received with thanks. Questions? billing@${t.slug}.example.com`,
    ].join('\n');
    return {
      tenant: t,
      snip: { text, order: { ...base, amount: total / 100 }, trap: { amount: sub / 100 } },
    };
  }
  if (hardKind === 1) {
    // Email thread with a colleague in Cc and an expired earlier quote.
    const col = person(rng);
    const quote = cents + rng.int(5, 60) * 100;
    const text = [
      `From: ${who.name} <${who.email}>`,
      `To: orders@${t.slug}.example.com`,
      `Cc: ${col.name} <${col.email}>`,
      `Subject: Re: ${orderNo} payment confirmation`,
      '',
      'Hi team,',
      `forwarding this for our records. ${col.first} handled the original quote but I'm the buyer on`,
      'this one, so please send anything about the order to me.',
      '',
      `Best, ${who.first}`,
      `${phone(rng)}`,
      '',
      `> On ${rng.int(1, 8)} Nov 2026, ${t.brand} <orders@${t.slug}.example.com> wrote:`,
      `> Thank you for your payment of ${money(cents)} for order ${orderNo}.`,
      `> Please note the previous quote (${money(quote)}) has expired and been replaced.`,
    ].join('\n');
    return {
      tenant: t,
      snip: { text, order: { ...base, amount: cents / 100 }, trap: { name: col.name, email: col.email } },
    };
  }
  if (hardKind === 2) {
    // Bilingual German/English confirmation in European number notation: 1.234,50 EUR.
    const eur: Currency = 'EUR';
    const shipC = rng.int(290, 990);
    const big = cents + rng.int(5, 12) * 10_000;
    const total = big + shipC;
    const text = [
      'Bestellbestaetigung / Order confirmation',
      `Kunde / Customer: ${who.name}`,
      `E-Mail: ${who.email}`,
      `Bestellnummer / Order no.: ${orderNo}`,
      `Zwischensumme / Subtotal: ${fmtMoney(big, eur, 'eu')}`,
      `Versand / Shipping: ${fmtMoney(shipC, eur, 'eu')}`,
      `Gesamtbetrag inkl. MwSt. / Total incl. VAT: ${fmtMoney(total, eur, 'eu')}`,
      `Vielen Dank fuer Ihren Einkauf bei ${t.brand}!`,
    ].join('\n');
    // The classic slip: reading the European total with US conventions ("1.234,50" -> 1.2345).
    const misread = Number(fmtMoney(total, eur, 'eu').replace(' €', '').replace(/,/g, ''));
    return {
      tenant: t,
      snip: { text, order: { ...base, currency: eur, amount: total / 100 }, trap: { amount: misread } },
    };
  }
  // Chatty message with an obfuscated email and a mid-conversation price correction.
  const [local, domain] = who.email.split('@') as [string, string];
  const obfuscated = `${local} (at) ${domain.replace('.', ' (dot) ')}`;
  const wrongFirst = cents + rng.int(3, 25) * 100;
  const text = [
    `hello!! this is ${who.first.toLowerCase()} ${who.last.toLowerCase()}... i bought the ${product}`,
    `last week, order no is ${orderNo}. your site first showed ${money(wrongFirst)} but after the discount`,
    `i was actually charged ${money(cents)} which is fine. can you email the receipt to ${obfuscated} ?? thx`,
  ].join('\n');
  return {
    tenant: t,
    snip: {
      text,
      order: { ...base, amount: cents / 100 },
      trap: rng.chance(0.5) ? { email: obfuscated } : { amount: wrongFirst / 100 },
    },
  };
}

function extractDraft(rng: Rng, hard: boolean): Draft {
  const { tenant, snip } = extractSnippet(rng, hard);
  // Canonical field order: the schema's.
  const { name, email, order_id, amount, currency } = snip.order;
  const order: Order = { name, email, order_id, amount, currency };
  const canonical = JSON.stringify(order);
  const wrong: string[] = [];
  wrong.push(JSON.stringify({ ...order, ...snip.trap }));
  const dropped = rng.pick<keyof Order>(['currency', 'order_id', 'email']);
  const missing: Partial<Order> = { ...order };
  delete missing[dropped];
  wrong.push(JSON.stringify(missing));
  wrong.push(canonical.slice(0, Math.floor(canonical.length * rng.pick([0.5, 0.6, 0.7]))));
  if (rng.chance(0.4)) {
    wrong.push(JSON.stringify({ ...order, amount: order.amount.toFixed(2) }));
  }
  return {
    task: 'extract',
    tenant: tenant.slug,
    hard,
    system: EXTRACT_SYSTEM_PROMPT,
    user: snip.text,
    maxTokens: 256,
    responseFormat: {
      type: 'json_schema',
      json_schema: { name: 'order', strict: true, schema: orderSchema() },
    },
    reference: { json: order, schema: orderSchema() },
    answer: canonical,
    wrong,
  };
}

// ---------------------------------------------------------------------------------------------------
// Task 3: reformat

export const REFORMAT_KINDS = [
  'iso_date',
  'last_first',
  'sorted_list',
  'title_case',
  'e164',
  'camel_case',
] as const;
type ReformatKind = (typeof REFORMAT_KINDS)[number];

const REFORMAT_PROMPTS: Record<ReformatKind, string> = {
  iso_date: [
    'Convert the date in the user message to ISO 8601 (YYYY-MM-DD). Output only the date.',
    'Dates written with dots are day.month.year; dates written with slashes and the year last are US',
    'month/day/year unless the text says otherwise. Ignore times, weekdays and time zones.',
  ].join('\n'),
  last_first: [
    'Rewrite the person\'s name as "Last, First". Keep middle initials after the first name.',
    'Drop titles (Mr., Mrs., Ms., Mx., Dr., Prof.) and credentials after the name (PhD, MD, CPA).',
    'Collapse extra spaces. If the name is written in all capitals or all lowercase, capitalize each part',
    '(each part of a hyphenated surname too). Output only the rewritten name.',
  ].join('\n'),
  sorted_list: [
    'The user message is a comma-separated list. Output the items sorted alphabetically (case-insensitive),',
    'one per line, with no bullets or numbering. Trim spaces around items, drop empty items, and remove',
    'duplicates (case-insensitive), keeping the spelling of the first occurrence. Output only the list.',
  ].join('\n'),
  title_case: [
    'Rewrite the heading in title case: capitalize the first letter of every word and lowercase the rest,',
    'except these minor words, which stay lowercase unless they are the first or last word: a, an, the, and,',
    'but, or, nor, for, at, by, in, of, on, to, via, with, from. Acronyms written in 2 to 4 capital letters',
    '(API, FAQ, USB) stay as they are. Collapse extra spaces and drop a final period.',
    'Output only the heading.',
  ].join('\n'),
  e164: [
    'Convert the North American phone number in the user message to E.164: a plus sign, the country code 1,',
    'then the 10-digit number, with no spaces or punctuation (example: +12125550147). Drop extensions.',
    'Output only the number.',
  ].join('\n'),
  camel_case: [
    'Convert the snake_case identifier to camelCase: split on underscores, ignore empty parts, lowercase',
    'every part, then capitalize the first letter of every part except the first. Digits stay as they are.',
    'Output only the identifier.',
  ].join('\n'),
};

const REFORMAT_MAX_TOKENS: Record<ReformatKind, number> = {
  iso_date: 32,
  last_first: 32,
  sorted_list: 160,
  title_case: 64,
  e164: 32,
  camel_case: 32,
};

interface Reformat {
  input: string;
  output: string;
  wrong: string[];
}

/** Forgivable near misses: a normalizing matcher (trim, collapse spaces, drop final period) accepts them. */
function nearMisses(rng: Rng, output: string): string[] {
  return [
    rng.pick([`${output}.`, ` ${output}`, `${output}\n`, `${output} `]),
    ...(rng.chance(0.4) ? [`${output}.`] : []),
  ];
}

function isoDate(rng: Rng, hard: boolean): Reformat {
  const y = rng.int(2019, 2027);
  const m = rng.int(1, 12);
  const d = rng.int(1, daysIn(y, m));
  const mon = monthName(m);
  const wk = weekday(y, m, d);
  const input = hard
    ? rng.pick([
        `${wk}, the ${ordinal(d)} of ${mon}, ${y}`,
        `Delivery scheduled for ${wk} ${ordinal(d)} ${mon} ${y}, ` +
          `between ${rng.int(1, 5)}pm and ${rng.int(6, 9)}pm (local time)`,
        `${wk.slice(0, 3)}, ${d} ${mon.slice(0, 3)} ${y} ` +
          `${pad2(rng.int(0, 23))}:${pad2(rng.int(0, 59))}:${pad2(rng.int(0, 59))} +0000`,
        `  ${mon.toUpperCase()}   ${ordinal(d)} ,  ${y} `,
        `signed on ${pad2(d)}/${pad2(m)}/${y} (DD/MM/YYYY)`,
        `Invoice date: ${d}.${m}.${y}`,
      ])
    : rng.pick([
        `${mon} ${d}, ${y}`,
        `${d} ${mon} ${y}`,
        `${mon.slice(0, 3)} ${d} ${y}`,
        `${y}/${pad2(m)}/${pad2(d)}`,
        `${m}/${d}/${y}`,
        `${d}.${m}.${y}`,
      ]);
  const output = `${y}-${pad2(m)}-${pad2(d)}`;
  const swapped =
    d <= 12 && d !== m ? `${y}-${pad2(d)}-${pad2(m)}` : `${y}-${pad2(m)}-${pad2(d === 1 ? 2 : d - 1)}`;
  return {
    input,
    output,
    wrong: [swapped, `${pad2(m)}/${pad2(d)}/${y}`, ...nearMisses(rng, output)],
  };
}

function lastFirst(rng: Rng, hard: boolean): Reformat {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  if (!hard) {
    const output = `${last}, ${first}`;
    return {
      input: `${first} ${last}`,
      output,
      wrong: [`${first} ${last}`, `${last} ${first}`, output.toUpperCase(), ...nearMisses(rng, output)],
    };
  }
  const initial = `${String.fromCharCode(65 + rng.int(0, 25))}.`;
  const title = rng.pick(['Dr.', 'Prof.', 'Ms.', 'Mr.', 'Mx.']);
  const cred = rng.pick(['PhD', 'MD', 'CPA', '']);
  const variant = rng.int(0, 2);
  let input: string;
  let output: string;
  if (variant === 0) {
    input = `  ${title}  ${first}   ${initial}  ${last}${cred ? `, ${cred}` : ''} `;
    output = `${last}, ${first} ${initial}`;
  } else if (variant === 1) {
    input = `${first.toUpperCase()} ${last.toUpperCase()}`;
    output = `${last}, ${first}`;
  } else {
    input = `${title} ${first.toLowerCase()} ${last.toLowerCase()}`;
    output = `${last}, ${first}`;
  }
  return {
    input,
    output,
    wrong: [
      variant === 0 ? `${last}, ${title} ${first} ${initial}` : `${last}, ${first[0]}.`,
      variant === 1 ? `${last.toUpperCase()}, ${first.toUpperCase()}` : output.toLowerCase(),
      `${first} ${last}`,
      ...nearMisses(rng, output),
    ],
  };
}

// biome-ignore format: compact word lists
const LIST_POOLS: readonly (readonly string[])[] = [
  [
    'Lisbon', 'Denver', 'Osaka', 'Nairobi', 'Tallinn', 'Austin', 'Bergen', 'Cusco', 'Dublin', 'Hanoi',
    'Perth', 'Quebec City', 'Reno', 'Seville', 'Tucson', 'Utrecht', 'Valencia', 'Windhoek', 'Zagreb', 'Malmo',
  ],
  [
    'apples', 'bananas', 'cherries', 'dates', 'endive', 'figs', 'grapes', 'kale', 'leeks', 'mangoes',
    'nectarines', 'okra', 'parsnips', 'quinces', 'radishes', 'spinach', 'turnips', 'yams', 'zucchini',
    'basil',
  ],
  [
    'waterproof', 'lightweight', 'packable', 'insulated', 'breathable', 'reflective', 'recycled', 'vegan',
    'windproof', 'quick-dry', 'stretch', 'merino', 'ultralight', 'heavy-duty',
  ],
  [
    'Design', 'Finance', 'Legal', 'Marketing', 'Operations', 'Platform', 'Research', 'Sales', 'Security',
    'Support', 'Facilities', 'Data', 'Mobile', 'Payments',
  ],
];

function sortedList(rng: Rng, hard: boolean): Reformat {
  const pool = rng.pick(LIST_POOLS);
  const items = rng.sample(pool, hard ? rng.int(7, 10) : rng.int(4, 6));
  const sorted = [...items].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  const output = sorted.join('\n');
  if (!hard) {
    const wrong = [items.join('\n'), sorted.join(', '), sorted.map((s) => `- ${s}`).join('\n')];
    if (output.toLowerCase() !== output) wrong.push(output.toLowerCase());
    else wrong.push(output.toUpperCase());
    return { input: items.join(', '), output, wrong: [...wrong, ...nearMisses(rng, output)] };
  }
  // Messy: duplicates in another case, uneven spacing, empty items, a trailing comma.
  const withDupes = [...items];
  const dupes: string[] = [];
  for (let k = rng.int(1, 2); k > 0; k--) {
    const src = rng.pick(items);
    const dup = src === src.toLowerCase() ? capitalize(src) : src.toLowerCase();
    dupes.push(dup);
    withDupes.splice(rng.int(withDupes.indexOf(src) + 1, withDupes.length), 0, dup);
  }
  let input = '';
  withDupes.forEach((item, i) => {
    input += i === 0 ? item : `${rng.pick([',', ', ', ' ,', ',  ', ', , '])}${item}`;
  });
  if (rng.chance(0.6)) input += ',';
  const withDupesSorted = [...withDupes].sort((a, b) => {
    const la = a.toLowerCase();
    const lb = b.toLowerCase();
    return la < lb ? -1 : la > lb ? 1 : a < b ? -1 : 1;
  });
  return {
    input,
    output,
    wrong: [
      withDupesSorted.join('\n'),
      items.join('\n'),
      sorted.join(', '),
      output.toLowerCase() !== output ? output.toLowerCase() : output.toUpperCase(),
      ...nearMisses(rng, output),
    ],
  };
}

// biome-ignore format: compact word list
const MINOR_WORDS = new Set([
  'a', 'an', 'the', 'and', 'but', 'or', 'nor', 'for', 'at', 'by', 'in', 'of', 'on', 'to', 'via', 'with',
  'from',
]);

export function titleCase(heading: string): string {
  const words = heading.trim().replace(/\.$/, '').split(/\s+/);
  return words
    .map((w, i) => {
      if (/^[A-Z]{2,4}$/.test(w)) return w;
      const lower = w.toLowerCase();
      if (i > 0 && i < words.length - 1 && MINOR_WORDS.has(lower)) return lower;
      return capitalize(w);
    })
    .join(' ');
}

/** Slot words for the title-case headlines. */
const HW = {
  verb: ['clean', 'pack', 'store', 'repair', 'track', 'organize', 'upgrade', 'return', 'pair'],
  gear: ['hiking boots', 'rain jacket', 'grocery order', 'fitness band', 'project board', 'smart scale'],
  count: ['three', 'five', 'seven', 'ten'],
  topic: ['meal kits', 'trail running', 'sleep tracking', 'team workspaces', 'winter camping'],
  audience: ['new customers', 'busy families', 'small teams', 'weekend hikers', 'remote workers'],
  broken: ['fitness band', 'delivery', 'tent', 'project', 'order', 'scale'],
  problem: ['not charging', 'out of sync', 'running late', 'missing items', 'too small', 'stuck'],
  best: ['backpacks', 'rain jackets', 'meal kits', 'recovery tools', 'templates'],
  season: ['winter', 'summer', 'rainy', 'autumn', 'spring'],
  occasion: ['trips', 'weekends', 'mornings'],
  many: ['five', 'six', 'eight', 'twelve'],
  acronymTopic: [
    'API rate limits',
    'USB charging',
    'our FAQ',
    'VAT invoices',
    'SSO login',
    'heart rate zones',
  ],
  policy: ['returns', 'refund', 'privacy', 'delivery', 'cancellation', 'loyalty'],
  when: ['in november', 'for members', 'this year', 'after your feedback'],
  news: ['delivery slots', 'app performance', 'our prices', 'store openings'],
  next: ['what comes next', 'the holiday season', 'your data', 'new features'],
  brand: ['Quillstack', 'Pinecrest', 'Bluefin', 'Acme'],
  platform: ['mobile', 'android', 'the web', 'your watch', 'a tablet'],
} as const;

const HEADLINES: readonly ((rng: Rng) => string)[] = [
  (r) => `how to ${r.pick(HW.verb)} your ${r.pick(HW.gear)} in ${r.pick(HW.count)} easy steps`,
  (r) => `a guide to ${r.pick(HW.topic)} for ${r.pick(HW.audience)}`,
  (r) => `what to do when your ${r.pick(HW.broken)} is ${r.pick(HW.problem)}`,
  (r) => `the best ${r.pick(HW.best)} for ${r.pick(HW.season)} ${r.pick(HW.occasion)}`,
  (r) => `${r.pick(HW.many)} things to know about ${r.pick(HW.acronymTopic)}`,
  (r) => `why we changed our ${r.pick(HW.policy)} policy ${r.pick(HW.when)}`,
  (r) => `an update on ${r.pick(HW.news)} and ${r.pick(HW.next)}`,
  (r) => `getting started with the ${r.pick(HW.brand)} app on ${r.pick(HW.platform)}`,
];

function titleCaseTask(rng: Rng, hard: boolean): Reformat {
  let input = rng.pick(HEADLINES)(rng);
  if (hard) {
    // Messy: random shouting of long words, sentence case, doubled spaces, a final period.
    const words = input.split(' ').map((w) => {
      if (/^[A-Z]{2,4}$/.test(w)) return w;
      if (w.length >= 5 && rng.chance(0.25)) return w.toUpperCase();
      return w;
    });
    words[0] = capitalize(words[0]!);
    input = words.map((w, i) => (i > 0 && rng.chance(0.2) ? ` ${w}` : w)).join(' ');
    if (rng.chance(0.7)) input += '.';
    if (rng.chance(0.4)) input = `  ${input} `;
  }
  const output = titleCase(input);
  const words = output.split(' ');
  const allCapitalized = words.map((w) => (/^[A-Z]{2,4}$/.test(w) ? w : capitalize(w))).join(' ');
  const sentence = words.map((w, i) => (/^[A-Z]{2,4}$/.test(w) || i === 0 ? w : w.toLowerCase())).join(' ');
  return {
    input,
    output,
    wrong: [allCapitalized, sentence, words.slice(0, -1).join(' '), ...nearMisses(rng, output)],
  };
}

function e164(rng: Rng, hard: boolean): Reformat {
  const area = rng.pick(AREA_CODES);
  const line = `01${rng.digits(2)}`;
  const output = `+1${area}555${line}`;
  const input = hard
    ? rng.pick([
        `+1 (${area}) 555-${line} ext. ${rng.int(10, 999)}`,
        `Call me on 1-${area}-555-${line} after ${rng.int(4, 7)}pm`,
        `tel: ${area} 555 ${line.slice(0, 2)} ${line.slice(2)}`,
        `Mobile - ${area}/555/${line} (text preferred)`,
        `Phone:${area}555${line} x${rng.int(2, 99)}`,
      ])
    : rng.pick([
        `(${area}) 555-${line}`,
        `${area}-555-${line}`,
        `${area}.555.${line}`,
        `${area} 555 ${line}`,
      ]);
  return {
    input,
    output,
    wrong: [
      `+1 ${area} 555 ${line}`,
      `${area}555${line}`,
      `+${area}555${line}`,
      `+1${area}555${line.slice(0, 3)}`,
      ...nearMisses(rng, output),
    ],
  };
}

// biome-ignore format: compact word list
const ID_WORDS = [
  'order', 'total', 'amount', 'customer', 'shipping', 'address', 'billing', 'created', 'updated', 'tax',
  'rate', 'discount', 'code', 'item', 'count', 'is', 'active', 'user', 'email', 'verified', 'last', 'login',
  'payment', 'method', 'invoice', 'number', 'due', 'date', 'currency', 'unit', 'price', 'delivery', 'slot',
  'refund',
];
const ID_ACRONYMS = ['HTTP', 'URL', 'API', 'SKU', 'VAT', 'ID'];

export function camelCase(snake: string): string {
  return snake
    .split('_')
    .filter((p) => p !== '')
    .map((p, i) => (i === 0 ? p.toLowerCase() : capitalize(p)))
    .join('');
}

function camelCaseTask(rng: Rng, hard: boolean): Reformat {
  const parts = rng.sample(ID_WORDS, rng.int(2, hard ? 3 : 4));
  let input: string;
  if (!hard) {
    input = parts.join('_');
  } else {
    const v = rng.int(0, 3);
    if (v === 0) input = `${rng.pick(ID_ACRONYMS)}_${parts.join('_')}`;
    else if (v === 1) input = `__${parts.map((p, i) => (i === 1 ? p.toUpperCase() : p)).join('__')}_`;
    else if (v === 2) input = `${parts.join('_')}_${rng.int(2, 9)}`;
    else input = `${capitalize(parts[0]!)}_${parts.slice(1).join('_')}_${rng.pick(ID_ACRONYMS)}`;
  }
  const output = camelCase(input);
  const segs = input.split('_').filter((p) => p !== '');
  return {
    input,
    output,
    wrong: [
      output.charAt(0).toUpperCase() + output.slice(1),
      output.toLowerCase(),
      segs
        .map((p, i) => (i === 0 ? p.toLowerCase() : i === segs.length - 1 ? p.toLowerCase() : capitalize(p)))
        .join('_'),
      segs.map((p) => p.toLowerCase()).join('-'),
      ...nearMisses(rng, output),
    ],
  };
}

const REFORMATTERS: Record<ReformatKind, (rng: Rng, hard: boolean) => Reformat> = {
  iso_date: isoDate,
  last_first: lastFirst,
  sorted_list: sortedList,
  title_case: titleCaseTask,
  e164,
  camel_case: camelCaseTask,
};

function reformatDraft(rng: Rng, hard: boolean, index: number): Draft {
  const kind = REFORMAT_KINDS[index % REFORMAT_KINDS.length]!;
  const r = REFORMATTERS[kind](rng, hard);
  return {
    task: 'reformat',
    tenant: pickTenant(rng).slug,
    hard,
    system: REFORMAT_PROMPTS[kind],
    user: r.input,
    maxTokens: REFORMAT_MAX_TOKENS[kind],
    reference: { output: r.output },
    meta: { format: kind },
    answer: r.output,
    wrong: r.wrong,
  };
}
