/**
 * Bad config input is one clear exit-2 message: base_url must be an http(s) URL (or `simulator`) for
 * candidates, judges and routers; names holdout prints carry no control characters; a YAML alias
 * bomb is refused naming the file; a misspelt key gets "did you mean"; and the config as stored
 * keeps no credential written into a base_url.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editDistance, suggestKey } from '../../harness/config-issues.js';
import {
  loadConfig,
  type ResolvedConfig,
  resolveConfig,
  storableConfig,
  storableUrl,
} from '../../harness/config.js';
import { HarnessError } from '../../harness/errors.js';
import { loadPolicy } from '../../harness/route/policy.js';
import { runCli, tempDir } from '../support/cli.js';

const dir = tempDir();
let n = 0;
function write(text: string, name = `c${n++}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): HarnessError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HarnessError) return err;
    throw err;
  }
  throw new Error('expected a HarnessError');
}

const PRICE = 'price: { input: 1, cached_input: 0.1, output: 2 }';
const candidate = (id: string, extra = '') => `  - { id: ${id}, model: m-${id}, ${PRICE}${extra} }`;

describe('base_url', () => {
  it.each([
    ['not a url', 'not a url'],
    ['file:///etc/passwd', 'file:///etc/passwd'],
    ['javascript:alert(1)', 'javascript:alert(1)'],
    ['ftp://example.com/v1', 'ftp://example.com/v1'],
  ])('%s is refused, naming candidates[1].base_url', (_, url) => {
    const err = errorOf(() =>
      loadConfig(
        write(
          ['dataset: d.jsonl', 'candidates:', candidate('a'), candidate('b', `, base_url: "${url}"`)].join(
            '\n',
          ),
        ),
      ),
    );
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/not an http\(s\) URL[\s\S]*→ at candidates\[1\]\.base_url/);
  });

  it('judges and routers get the same check; http(s) URLs and `simulator` pass', () => {
    const judgeErr = errorOf(() =>
      loadConfig(
        write(
          [
            'dataset: d.jsonl',
            'candidates:',
            candidate('a'),
            'judges:',
            candidate('j', ', base_url: "file:///x"'),
          ].join('\n'),
        ),
      ),
    );
    expect(judgeErr.message).toMatch(/→ at judges\[0\]\.base_url/);
    const policyErr = errorOf(() =>
      loadPolicy(
        write(
          'name: p\ndefault: a\nrouter:\n  candidate: { model: gpt-5.4-nano, base_url: "javascript:x" }\n' +
            '  prompt: "{{prompt}}"\n  labels: { e: a }\n',
        ),
      ),
    );
    expect(policyErr.message).toMatch(/not an http\(s\) URL[\s\S]*router\.candidate\.base_url/);
    const ok = loadConfig(
      write(
        [
          'dataset: d.jsonl',
          'candidates:',
          candidate('a', ', base_url: "https://api.example.com/v1"'),
          candidate('b', ', base_url: "http://127.0.0.1:8080/v1"'),
          candidate('c', ', base_url: simulator'),
        ].join('\n'),
      ),
    );
    expect(ok.candidates.map((c) => c.base_url)).toEqual([
      'https://api.example.com/v1',
      'http://127.0.0.1:8080/v1',
      'simulator',
    ]);
  });

  it('the CLI exits 2 with the field named and no stack', async () => {
    const path = write(
      ['dataset: d.jsonl', 'candidates:', candidate('a'), candidate('b', ', base_url: "not a url"')].join(
        '\n',
      ),
    );
    const res = await runCli(['run', path, '--db', join(dir, 'h.db')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('candidates[1].base_url');
    expect(res.stderr).not.toMatch(/ {4}at /);
  });
});

describe('names that are printed', () => {
  it('refuses control characters in suite and model, escaping them in the message', async () => {
    const path = write(
      [
        'suite: "night\\e]0;pwned\\a"',
        'dataset: d.jsonl',
        'candidates:',
        `  - { id: a, model: "m\\e[2J", ${PRICE} }`,
      ].join('\n'),
    );
    const err = errorOf(() => loadConfig(path));
    expect(err.message).toMatch(/control characters[\s\S]*→ at suite/);
    expect(err.message).toMatch(/→ at candidates\[0\]\.model/);
    const res = await runCli(['run', path, '--db', join(dir, 'h.db')]);
    expect(res.code).toBe(2);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
    expect(res.stderr).not.toMatch(/[\u001b\u0007]/);
  });
});

describe('YAML aliases', () => {
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    'dataset: d.jsonl',
    'candidates: *g',
  ].join('\n');

  it('a billion-laughs run config or policy is CONFIG_INVALID naming the file', () => {
    const config = write(bomb, 'bomb.yaml');
    const err = errorOf(() => loadConfig(config));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(config);
    expect(err.message).toMatch(/alias/);
    const policy = write(bomb, 'bomb-policy.yaml');
    expect(errorOf(() => loadPolicy(policy)).message).toContain(policy);
  });

  it('the CLI exits 2 with one message and no stack (run, route)', async () => {
    const config = write(bomb, 'bomb-run.yaml');
    const res = await runCli(['run', config, '--db', join(dir, 'h.db')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('bomb-run.yaml');
    expect(res.stderr).not.toMatch(/ReferenceError| {4}at /);
  });

  it('a few aliases are fine', () => {
    const cfg = loadConfig(
      write(
        'dataset: d.jsonl\ncandidates:\n  - { id: a, model: m, price: &p { input: 1, cached_input: 0.1, output: 2 } }\n' +
          '  - { id: b, model: m, price: *p }\n',
      ),
    );
    expect(cfg.candidates[1]!.price.standard.input).toBe(1);
  });
});

describe('did you mean', () => {
  it('suggests the known key at every level of the config', () => {
    const err = errorOf(() =>
      loadConfig(
        write(
          [
            'dataset: d.jsonl',
            'concurency: 3',
            'candidate: []',
            'candidates:',
            `  - { id: a, modle: gpt-5.4-mini, ${PRICE} }`,
            `  - { id: b, model: gpt-5.4-mini, price: { input: 1, cached_input: 0.1, ouput: 2 } }`,
            'scorer: []',
            'scorers:',
            '  - { kind: label, lables: [a, b] }',
            'judges:',
            `  - { id: j, model: gpt-5.4-mini, api_key_evn: X }`,
            'simulator: { answer_keys: k.json }',
          ].join('\n'),
        ),
      ),
    );
    const m = err.message;
    expect(m).toContain('"concurency" (did you mean `concurrency`?)');
    expect(m).toContain('"candidate" (did you mean `candidates`?)');
    expect(m).toContain('"scorer" (did you mean `scorers`?)');
    expect(m).toMatch(/"modle" \(did you mean `model`\?\)\s*→ at candidates\[0\]/);
    expect(m).toMatch(/"ouput" \(did you mean `output`\?\)\s*→ at candidates\[1\]\.price/);
    expect(m).toMatch(/"lables" \(did you mean `labels`\?\)\s*→ at scorers\[0\]/);
    expect(m).toMatch(/"api_key_evn" \(did you mean `api_key_env`\?\)\s*→ at judges\[0\]/);
    expect(m).toMatch(/"answer_keys" \(did you mean `answer_key`\?\)\s*→ at simulator/);
  });

  it('says nothing when no known key is close', () => {
    const err = errorOf(() =>
      resolveConfig({ dataset: 'd', candidates: [{ id: 'a', model: 'gpt-5.4-mini' }], flavour: 1 }, 'x.yaml'),
    );
    expect(err.message).toContain('Unrecognized key: "flavour"');
    expect(err.message).not.toContain('did you mean');
  });

  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('modle', 'model')).toBe(1);
    expect(editDistance('concurency', 'concurrency')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(suggestKey('REPEAT', ['repeats', 'stream'])).toBe('repeats');
    expect(suggestKey('abc', ['xyz'])).toBeUndefined();
  });
});

describe('storableConfig', () => {
  const config = (): ResolvedConfig =>
    resolveConfig(
      {
        dataset: 'd.jsonl',
        candidates: [
          {
            id: 'a',
            model: 'gpt-5.4-mini',
            base_url: 'https://user:s3cret@gw.example.com/v1?api-key=k123&v=2',
          },
          { id: 'b', model: 'gpt-5.4-mini', base_url: 'https://api.example.com/v1' },
          { id: 'c', model: 'gpt-5.4-mini', base_url: 'simulator' },
          { id: 'd', model: 'gpt-5.4-mini' },
        ],
        judges: [{ id: 'j', model: 'gpt-5.4-mini', base_url: 'http://tok@127.0.0.1:9/v1?key=zzz' }],
        import: { format: 'openai-stored', base_url: 'https://u:p@api.example.com/v1' },
      },
      join(dir, 'x.yaml'),
    );

  it('drops userinfo and replaces query values, leaving everything else as it was', () => {
    const original = config();
    const before = JSON.stringify(original);
    const stored = storableConfig(original);
    expect(JSON.stringify(original)).toBe(before); // not modified
    expect(stored.candidates.map((c) => c.base_url)).toEqual([
      'https://gw.example.com/v1?api-key=REDACTED&v=REDACTED',
      'https://api.example.com/v1',
      'simulator',
      undefined,
    ]);
    expect(stored.judges[0]!.base_url).toBe('http://127.0.0.1:9/v1?key=REDACTED');
    expect(stored.import?.baseURL).toBe('https://api.example.com/v1');
    const json = JSON.stringify(stored);
    for (const secret of ['s3cret', 'k123', 'zzz', 'user:', 'tok@', 'u:p@'])
      expect(json).not.toContain(secret);
    expect({ ...stored, candidates: [], judges: [], import: undefined }).toEqual({
      ...original,
      candidates: [],
      judges: [],
      import: undefined,
    });
  });

  it('storableUrl leaves a URL without credentials byte for byte', () => {
    expect(storableUrl('https://api.example.com')).toBe('https://api.example.com');
    expect(storableUrl('simulator')).toBe('simulator');
    expect(storableUrl('https://a:b@h.example/')).toBe('https://h.example/');
  });
});
