import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { HoldoutRecord, lastUserText, promptKey } from '../../datasets/record.js';
import {
  ANSWER_KEY_FILE,
  CLASSIFY_SYSTEM_PROMPT,
  camelCase,
  generateSample,
  LABELS,
  RECORDS_FILE,
  type Sample,
  serializeSample,
  TASK_COUNTS,
  titleCase,
  WEEK_MS,
  WEEK_START_MS,
  writeSample,
} from '../../datasets/sample/generate.js';

const SAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../datasets/sample');

// Regenerate the committed files: WRITE_SAMPLE=1 npx vitest run test/datasets/sample.test.ts
beforeAll(() => {
  if (process.env.WRITE_SAMPLE) writeSample(SAMPLE_DIR);
});

const sample: Sample = generateSample();
const byTask = (task: string) => sample.records.filter((r) => r.tags.task === task);
const entry = (r: HoldoutRecord) => sample.answerKey[promptKey(r.request)]!;
const messages = (r: HoldoutRecord) => r.request.messages as { role: string; content: string }[];

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('bundled sample data', () => {
  it('is deterministic', () => {
    expect(serializeSample(generateSample())).toEqual(serializeSample(sample));
  });

  it('committed files are byte-identical to the generator output', () => {
    const { recordsJsonl, answerKeyJson } = serializeSample(sample);
    const committedRecords = readFileSync(join(SAMPLE_DIR, RECORDS_FILE), 'utf8');
    const committedKey = readFileSync(join(SAMPLE_DIR, ANSWER_KEY_FILE), 'utf8');
    const hint = 'drifted from generate.ts: WRITE_SAMPLE=1 npx vitest run test/datasets/sample.test.ts';
    // Not toBe on the whole text (a huge diff helps nobody): the first differing line, then bytes.
    const committed = committedRecords.split('\n');
    const firstDiff = recordsJsonl.split('\n').findIndex((line, i) => line !== committed[i]);
    expect(firstDiff, `records.jsonl ${hint}`).toBe(-1);
    expect(committedRecords === recordsJsonl, `records.jsonl ${hint}`).toBe(true);
    expect(committedKey === answerKeyJson, `answer-key.json ${hint}`).toBe(true);
  });

  it('committed records parse as HoldoutRecords, unchanged', () => {
    const lines = readFileSync(join(SAMPLE_DIR, RECORDS_FILE), 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(sample.records.length);
    for (const line of lines) {
      const raw = JSON.parse(line);
      expect(HoldoutRecord.parse(raw)).toEqual(raw);
    }
  });

  it('has the task mix, ids and tags', () => {
    expect(sample.records.length).toBeGreaterThanOrEqual(300);
    for (const [task, count] of Object.entries(TASK_COUNTS)) expect(byTask(task).length).toBe(count);
    expect(byTask('classify').length).toBeGreaterThanOrEqual(120);
    expect(byTask('extract').length).toBeGreaterThanOrEqual(90);
    expect(byTask('reformat').length).toBeGreaterThanOrEqual(90);

    const ids = sample.records.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of sample.records) {
      expect(r.id).toMatch(new RegExp(`^sample-${r.tags.task}-\\d{4}$`));
      expect(Object.keys(r.tags).sort()).toEqual(['difficulty', 'task', 'tenant']);
      expect(['easy', 'hard']).toContain(r.tags.difficulty);
      expect(r.api).toBe('chat');
      expect(r.request.model).toBe('gpt-5.4-mini');
      expect(r.request.temperature).toBe(0);
      expect(r.request.max_completion_tokens).toBeGreaterThan(0);
      expect(messages(r).map((m) => m.role)).toEqual(['system', 'user']);
    }
    const tenants = new Set(sample.records.map((r) => r.tags.tenant));
    expect(tenants.size).toBeGreaterThanOrEqual(3);
    expect(tenants.size).toBeLessThanOrEqual(6);
  });

  it('marks about a quarter of each task hard', () => {
    for (const task of Object.keys(TASK_COUNTS)) {
      const records = byTask(task);
      const share = records.filter((r) => r.tags.difficulty === 'hard').length / records.length;
      expect(share).toBeGreaterThan(0.2);
      expect(share).toBeLessThan(0.3);
    }
  });

  it('has timestamps in one week of November 2026, in order', () => {
    let prev = '';
    for (const r of sample.records) {
      const t = Date.parse(r.timestamp!);
      expect(new Date(t).toISOString()).toBe(r.timestamp);
      expect(t).toBeGreaterThanOrEqual(WEEK_START_MS);
      expect(t).toBeLessThan(WEEK_START_MS + WEEK_MS);
      expect(r.timestamp! >= prev).toBe(true);
      prev = r.timestamp!;
    }
  });

  it('has unique last user turns and one answer-key entry per record', () => {
    const texts = sample.records.map((r) => lastUserText(r.request));
    expect(new Set(texts).size).toBe(texts.length);
    const keys = sample.records.map((r) => promptKey(r.request));
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(sample.answerKey).sort()).toEqual([...keys].sort());
    for (const r of sample.records) {
      const e = entry(r);
      expect(e.answer.length).toBeGreaterThan(0);
      expect(e.wrong.length).toBeGreaterThanOrEqual(2);
      expect(e.wrong).not.toContain(e.answer);
      expect(new Set(e.wrong).size).toBe(e.wrong.length);
    }
  });

  it('classify: one shared long system prompt, label references equal the answers', () => {
    // ≥ 1,024 simulated tokens (ceil(chars / 4)) of shared prefix, so the prompt-prefix cache kicks in.
    expect(CLASSIFY_SYSTEM_PROMPT.length).toBeGreaterThanOrEqual(4500);
    const labels = new Set<string>();
    for (const r of byTask('classify')) {
      expect(messages(r)[0]!.content).toBe(CLASSIFY_SYSTEM_PROMPT);
      const label = r.reference?.label;
      expect(LABELS).toContain(label);
      labels.add(label!);
      const e = entry(r);
      expect(e.answer).toBe(label);
      expect(e.wrong.length).toBeLessThanOrEqual(4);
      for (const w of e.wrong) {
        // Bare wrong labels, or a verbose sentence naming a wrong label.
        const named = LABELS.filter((l) => new RegExp(`\\b${l}\\b`).test(w));
        expect(named.length).toBe(1);
        expect(named[0]).not.toBe(label);
      }
    }
    expect(labels.size).toBe(LABELS.length);
    expect(
      byTask('classify').some((r) => entry(r).wrong.some((w) => !(LABELS as readonly string[]).includes(w))),
    ).toBe(true);
  });

  it('extract: JSON references validate against the schema; wrong answers fail in distinct ways', () => {
    const ajv = new Ajv({ strict: true });
    for (const r of byTask('extract')) {
      const ref = r.reference!;
      const format = r.request.response_format as {
        type: string;
        json_schema: { name: string; strict: boolean; schema: Record<string, unknown> };
      };
      expect(format.type).toBe('json_schema');
      expect(format.json_schema.strict).toBe(true);
      expect(format.json_schema.schema).toEqual(ref.schema);
      const validate = ajv.compile(ref.schema!);
      expect(validate(ref.json), JSON.stringify(validate.errors)).toBe(true);

      const e = entry(r);
      expect(e.answer).toBe(JSON.stringify(ref.json));
      expect(JSON.parse(e.answer)).toEqual(ref.json);
      const kinds = e.wrong.map((w) => {
        if (!isJson(w)) return 'invalid-json';
        const value = JSON.parse(w);
        if (!validate(value)) return 'schema-fail';
        expect(value).not.toEqual(ref.json);
        return 'wrong-value';
      });
      expect(new Set(kinds)).toEqual(new Set(['invalid-json', 'schema-fail', 'wrong-value']));
    }
  });

  it('reformat: output references equal the answers', () => {
    for (const r of byTask('reformat')) {
      const e = entry(r);
      expect(r.reference?.output).toBe(e.answer);
      expect(e.answer).toBe(e.answer.trim());
      // Some near misses a normalizing matcher forgives, some it does not.
      const norm = (s: string) => s.trim().replace(/\s+/g, ' ').replace(/\.$/, '');
      expect(e.wrong.some((w) => norm(w) === norm(e.answer))).toBe(true);
      expect(e.wrong.some((w) => norm(w).toLowerCase() !== norm(e.answer).toLowerCase())).toBe(true);
    }
    expect(titleCase('  how to pair your  USB charger in THREE easy steps.')).toBe(
      'How to Pair Your USB Charger in Three Easy Steps',
    );
    expect(camelCase('__HTTP_status__code_2')).toBe('httpStatusCode2');
  });

  it('contains only fictional contact details', () => {
    // Records and right answers (wrong answers include truncated JSON, cut mid-address).
    const answers = Object.values(sample.answerKey).map((e) => e.answer);
    const text = `${serializeSample(sample).recordsJsonl}\n${answers.join('\n')}`;
    const emails = text.match(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g) ?? [];
    expect(emails.length).toBeGreaterThan(100);
    for (const email of emails) expect(email).toMatch(/@([\w-]+\.)*example\.(com|net|org)$/);
    const phones = text.match(/\(?\b\d{3}\)?[\s./-]*\d{3}[\s./-]*\d{2}\s?\d{2}\b/g) ?? [];
    expect(phones.length).toBeGreaterThan(20);
    for (const p of phones) expect(p.replace(/\D/g, '')).toMatch(/^\d{3}55501\d\d$/);
  });
});
