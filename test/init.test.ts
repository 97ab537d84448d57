/**
 * `holdout init`: the inference (format, tags, scorers, candidates, JSON schema) on hand-made data
 * whose right answer is known, and end to end: the config written from the bundled sample is one
 * that `holdout run --dry-run` accepts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  addRecord,
  addValue,
  classifyLine,
  commentText,
  emptyProfile,
  emptyShape,
  type PriceBook,
  profileFile,
  propose,
  scorerFor,
  shapeSchema,
  siblings,
} from '../datasets/starter/index.js';
import { compileSchema } from '../scorers/json/schema.js';
import { bundledPrices } from '../harness/cli/data/init-command.js';
import { packageRoot } from '../harness/paths.js';
import { runCli, tempDir } from './support/cli.js';

const SAMPLE = join(packageRoot(), 'datasets/sample/records.jsonl');

describe('json shape → schema', () => {
  it('states types and the keys every example has, and folds integer into number', () => {
    const s = emptyShape();
    addValue(s, { id: 'A1', amount: 3, items: [{ sku: 'x', qty: 1 }], note: null });
    addValue(s, { id: 'B2', amount: 2.5, items: [], note: 'gift' });
    addValue(s, { id: 'C3', amount: 10, items: [{ sku: 'y', qty: 2, gift: true }] });
    // By hand: id always a string; amount 3, 2.5, 10 → number; items arrays of objects whose
    // sku/qty occur in both elements, gift in one; note absent from the third example.
    expect(shapeSchema(s)).toEqual({
      type: 'object',
      properties: {
        id: { type: 'string' },
        amount: { type: 'number' },
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: { sku: { type: 'string' }, qty: { type: 'integer' }, gift: { type: 'boolean' } },
            required: ['sku', 'qty'],
          },
        },
        note: { type: ['string', 'null'] },
      },
      required: ['id', 'amount', 'items'],
    });
  });

  it('is a schema the json scorer compiles, and it accepts the examples it came from', () => {
    const examples = [
      { a: 1, b: ['x'] },
      { a: 2, b: [] },
      { a: 3, b: ['y', 'z'], c: { d: false } },
    ];
    const s = emptyShape();
    for (const e of examples) addValue(s, e);
    const c = compileSchema(shapeSchema(s));
    if (!('validate' in c)) throw new Error(`not a schema: ${c.error}`);
    for (const e of examples) expect(c.validate(e)).toBe(true);
    expect(c.validate({ a: 'one', b: [] })).toBe(false);
    expect(c.validate({ b: [] })).toBe(false);
  });
});

describe('format detection', () => {
  it('tells records, logs, batch input and messages apart', () => {
    expect(classifyLine({ id: 'r', api: 'chat', request: { messages: [] } })).toBe('records');
    expect(classifyLine({ request: { messages: [] }, response: { choices: [] } })).toBe('chat-log');
    expect(classifyLine({ request: { input: 'hi' }, response: { object: 'response' } })).toBe(
      'responses-log',
    );
    expect(classifyLine({ custom_id: 'a', url: '/v1/chat/completions', body: {} })).toBe('batch');
    expect(classifyLine({ messages: [{ role: 'user', content: 'x' }] })).toBe('messages');
    expect(() => classifyLine({ custom_id: 'a', response: {} }, 'f.jsonl:1')).toThrow(
      /f\.jsonl:1: this looks like a Batch API output file/,
    );
    expect(() => classifyLine({ prompt: 'x' }, 'f.jsonl:3')).toThrow(
      /f\.jsonl:3: not a format holdout init knows \(keys: prompt\)/,
    );
  });
});

/** A price book of three models, rates by hand. */
const PRICES: PriceBook = {
  list: [
    { model: 'gpt-5.5', input: 5, output: 30 },
    { model: 'gpt-5.4-mini', input: 0.75, output: 4.5 },
    { model: 'gpt-5.4-nano', input: 0.2, output: 1.25 },
    { model: 'gpt-4.1-mini', input: 0.4, output: 1.6 },
    { model: 'gpt-4.1-nano', input: 0.1, output: 0.4 },
  ],
  lookup(model) {
    return this.list.find((e) => e.model === model.replace(/-\d{4}-\d{2}-\d{2}$/, ''));
  },
  date: 'test',
};

describe('candidates', () => {
  it('proposes a cheaper sibling of the newest generation, and a newer one of the same tier', () => {
    // gpt-4.1-mini ($0.40/$1.60): cheaper = no rate higher, one lower, newest first → gpt-5.4-nano
    // ($0.20/$1.25, version 5.4) before gpt-4.1-nano; newer = the same tier (mini) above 4.1 → gpt-5.4-mini.
    const s = siblings(PRICES.lookup('gpt-4.1-mini')!, PRICES);
    expect(s.map((x) => [x.entry.model, x.origin])).toEqual([
      ['gpt-5.4-nano', 'cheaper'],
      ['gpt-5.4-mini', 'newer'],
    ]);
    expect(s[0]!.why).toMatch(
      /a newer, cheaper sibling: \$0\.20 in \/ \$1\.25 out against \$0\.40 in \/ \$1\.60 out/,
    );
    // The newest mini has no newer one; its cheaper sibling is the nano of its generation.
    expect(siblings(PRICES.lookup('gpt-5.4-mini')!, PRICES).map((x) => x.entry.model)).toEqual([
      'gpt-5.4-nano',
    ]);
  });

  it('makes the most logged model the baseline; a dated snapshot finds its family', () => {
    const p = emptyProfile();
    for (let i = 0; i < 3; i++)
      addRecord(p, { api: 'responses', request: { model: 'gpt-5.4-mini-2026-03-17', input: 'x' } });
    addRecord(p, { api: 'responses', request: { model: 'my-finetune', input: 'x' } });
    const c = propose(p, PRICES).candidates;
    expect(c.map((x) => [x.id, x.model, x.api, x.origin, x.priced])).toEqual([
      ['gpt-5.4-mini-2026-03-17', 'gpt-5.4-mini-2026-03-17', 'responses', 'logged', true],
      ['my-finetune', 'my-finetune', 'responses', 'logged', false],
      ['gpt-5.4-nano', 'gpt-5.4-nano', 'responses', 'cheaper', true],
    ]);
    expect(c[0]!.why).toBe('logged model: 3 of 4 requests (75%); the baseline');
  });
});

describe('scorers per task', () => {
  const profileOf = (
    records: {
      tags?: Record<string, string>;
      reference?: Record<string, unknown>;
      request?: Record<string, unknown>;
    }[],
  ) => {
    const p = emptyProfile();
    for (const r of records)
      addRecord(p, {
        api: 'chat',
        request: { messages: [], ...r.request },
        tags: r.tags,
        reference: r.reference,
      });
    return p;
  };

  it('label sets from reference labels; JSON with an inferred schema; normalized text', () => {
    const p = profileOf([
      { tags: { task: 'triage' }, reference: { label: 'bug' } },
      { tags: { task: 'triage' }, reference: { label: 'billing' } },
      { tags: { task: 'triage' }, reference: { label: 'bug' } },
      { tags: { task: 'parse' }, reference: { json: { n: 1 } } },
      { tags: { task: 'parse' }, reference: { json: { n: 2, m: 'x' } } },
      { tags: { task: 'dates' }, reference: { output: '2024-01-02' } },
      { tags: { task: 'dates' }, reference: { output: '2023-11-30' } },
      { tags: { task: 'chat' } },
      { reference: { output: 'untagged' } },
    ]);
    const { scorers, scorerNotes } = propose(p, PRICES);
    expect(scorers.map((s) => s.spec)).toEqual([
      { kind: 'label', name: 'triage_label', match: { task: 'triage' }, labels: ['billing', 'bug'] },
      {
        kind: 'json',
        name: 'parse_json',
        match: { task: 'parse' },
        equals_reference: true,
        schema: {
          type: 'object',
          properties: { n: { type: 'integer' }, m: { type: 'string' } },
          required: ['n'],
        },
      },
      {
        kind: 'normalized',
        name: 'dates_normalized',
        match: { task: 'dates' },
        case: false,
        punctuation: false,
      },
    ]);
    expect(scorerNotes).toEqual([
      expect.stringMatching(/^task=chat: no references to score against \(0 of 1 records have one\)/),
      expect.stringMatching(/^1 records have no task tag: no scorer below applies to them/),
    ]);
  });

  it('classification-like answers, long answers, JSON answers, JSON requests, tool calls', () => {
    const t = (records: Parameters<typeof profileOf>[0]) => {
      const s = scorerFor([...profileOf(records).tasks.values()][0]!);
      return 'none' in s ? s : { kind: s.kind, args: s.args };
    };
    const yes = Array.from({ length: 9 }, (_, i) => ({
      reference: { output: ['yes', 'no', 'maybe'][i % 3]! },
    }));
    expect(t(yes)).toEqual({ kind: 'normalized', args: {} });
    const long = [{ reference: { output: 'word '.repeat(100) } }];
    expect(t(long)).toEqual({ kind: 'rouge_l', args: {} });
    const json = [{ reference: { output: '{"a": 1}' } }, { reference: { output: '{"a": 2, "b": [true]}' } }];
    expect(t(json)).toEqual({
      kind: 'json',
      args: {
        schema: {
          type: 'object',
          properties: { a: { type: 'integer' }, b: { type: 'array', items: { type: 'boolean' } } },
          required: ['a'],
        },
      },
    });
    expect(t([{ request: { response_format: { type: 'json_object' } } }])).toEqual({
      kind: 'json',
      args: {},
    });
    expect(t([{ reference: { tool_calls: [{ name: 'f' }] } }])).toEqual({ kind: 'tool_call', args: {} });
  });
});

describe('the written YAML', () => {
  it('quotes data so that no value or comment can break the document', () => {
    expect(commentText('a\nb\u2028c\rd')).toBe('a\\u000ab\\u2028c\\u000dd');
  });

  it('survives hostile tag values and model names', async () => {
    const dir = tempDir();
    const file = join(dir, 'evil.jsonl');
    const rec = {
      id: 'x',
      tags: { task: 'a: b\n- evil: true #', 'we ird': 'yes' },
      request: { model: 'gpt-5.4-mini\ninjected: 1', messages: [{ role: 'user', content: 'hi' }] },
      reference: { label: 'no' },
    };
    writeFileSync(
      file,
      `${JSON.stringify(rec)}\n${JSON.stringify({ ...rec, id: 'y', reference: { label: 'true' } })}\n`,
    );
    const out = join(dir, 'c.yaml');
    const r = await runCli(['init', file, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(readFileSync(out, 'utf8'));
    expect(doc.candidates[0].model).toBe('gpt-5.4-mini\ninjected: 1');
    expect(doc.injected).toBeUndefined();
    expect(doc.scorers[0]).toMatchObject({
      kind: 'label',
      match: { task: 'a: b\n- evil: true #' },
      labels: ['no', 'true'],
    });
    // The model name with a line break is refused by the config schema: init says so.
    expect(r.stderr).toMatch(/note: the config needs your attention before it runs/);
  });
});

describe('holdout init (CLI)', () => {
  it('on the bundled sample writes a config that holdout run --dry-run accepts', async () => {
    const dir = tempDir();
    const out = join(dir, 'holdout.yaml');
    const r = await runCli(['init', SAMPLE, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*holdout\.yaml: 2 candidates, 3 scorers/);
    expect(r.stderr).toMatch(/next steps:[\s\S]*--dry-run/);
    expect(r.stderr).not.toMatch(/needs your attention/);
    const text = readFileSync(out, 'utf8');
    const doc = parse(text);
    expect(doc.candidates.map((c: { model: string }) => c.model)).toEqual(['gpt-5.4-mini', 'gpt-5.4-nano']);
    expect(text).toMatch(/# SUGGESTION: a cheaper sibling/);
    // The sample's answer: labels from its classify references; its extract records carry a schema.
    expect(doc.scorers).toEqual([
      {
        kind: 'label',
        name: 'classify_label',
        match: { task: 'classify' },
        labels: ['account', 'billing', 'bug', 'feature_request', 'other', 'shipping'],
      },
      {
        kind: 'normalized',
        name: 'reformat_normalized',
        match: { task: 'reformat' },
        case: false,
        punctuation: false,
      },
      { kind: 'json', name: 'extract_json', match: { task: 'extract' }, equals_reference: true },
    ]);
    const dry = await runCli(['run', out, '--dry-run', '--db', join(dir, 'h.db')]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: 332 records × 1 repeat; no call made, nothing stored/);
  });

  it('never overwrites without --force; refuses a missing file, a CSV and a directory', async () => {
    const dir = tempDir();
    const out = join(dir, 'h.yaml');
    writeFileSync(out, 'mine\n');
    const r = await runCli(['init', SAMPLE, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/h\.yaml already exists: not overwritten/);
    expect(readFileSync(out, 'utf8')).toBe('mine\n');
    expect((await runCli(['init', SAMPLE, '--out', out, '--force'])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^# holdout run config/);

    const missing = await runCli(['init', join(dir, 'nope.jsonl'), '--out', join(dir, 'a.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.jsonl: ENOENT/);
    const csv = join(dir, 'x.csv');
    writeFileSync(csv, 'q,a\n');
    expect((await runCli(['init', csv, '--out', join(dir, 'b.yaml')])).stderr).toMatch(
      /x\.csv is a CSV: holdout init cannot guess its column map/,
    );
    expect((await runCli(['init', SAMPLE, '--out', dir])).stderr).toMatch(/is a directory/);
  });

  it('from a chat log: an import block, production answers as references, next steps with the import', async () => {
    const dir = tempDir();
    const log = join(dir, 'prod.jsonl');
    const line = (i: number, label: string) =>
      JSON.stringify({
        request: { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: `ticket ${i}` }] },
        response: {
          id: `chatcmpl-${i}`,
          object: 'chat.completion',
          created: 1767225600,
          model: 'gpt-4.1-mini-2025-04-14',
          choices: [{ index: 0, message: { role: 'assistant', content: label }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
        },
        tags: { task: 'triage' },
      });
    writeFileSync(
      log,
      `${Array.from({ length: 12 }, (_, i) => line(i, i % 2 ? 'refund' : 'bug')).join('\n')}\n`,
    );
    const out = join(dir, 'c.yaml');
    const r = await runCli(['init', log, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(readFileSync(out, 'utf8'));
    expect(doc.dataset).toBe('prod.records.jsonl');
    expect(doc.import).toEqual({ format: 'chat-log', paths: ['prod.jsonl'], reference: 'production' });
    expect(doc.candidates.map((c: { model: string }) => c.model)).toEqual([
      'gpt-4.1-mini',
      'gpt-5.4-nano',
      'gpt-5.4-mini',
    ]);
    expect(doc.scorers).toEqual([
      { kind: 'normalized', name: 'triage_normalized', match: { task: 'triage' } },
    ]);
    expect(r.stderr).toMatch(
      /holdout import chat-log .*prod\.jsonl --reference production -o .*prod\.records\.jsonl/,
    );
    // The import block builds the dataset on the first run; the dry run asks for it first.
    const imp = await runCli([
      'import',
      'chat-log',
      log,
      '--reference',
      'production',
      '-o',
      join(dir, 'prod.records.jsonl'),
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    const dry = await runCli(['run', out, '--dry-run', '--db', join(dir, 'h.db')]);
    expect(dry.code, dry.stderr).toBe(0);
  });

  it('without a file writes a template and the profile of the bundled prices is used', async () => {
    const dir = tempDir();
    const out = join(dir, 't.yaml');
    const r = await runCli(['init', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(readFileSync(out, 'utf8'));
    expect(doc.dataset).toBe('records.jsonl');
    expect(doc.scorers).toEqual([]);
    expect(doc.candidates[0].model).toBe('gpt-5.4-mini');
    expect(bundledPrices().lookup('gpt-5.4-mini-2026-03-17')).toEqual({
      model: 'gpt-5.4-mini',
      input: 0.75,
      output: 4.5,
    });
  });

  it('stops at the record limit', async () => {
    const fp = await profileFile(SAMPLE, 10);
    expect(fp).toMatchObject({ source: 'records', truncated: true });
    expect(fp.profile.records).toBe(10);
  });
});
