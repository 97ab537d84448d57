/**
 * Secrets stay secret and terminals stay safe: an endpoint that echoes the Authorization header (and
 * an escape sequence) in its error body gets neither into `calls.error_message`, the warnings, the
 * "stopped early" line or a CLI error. The run itself goes through the in-process CLI; the endpoint
 * is a few lines of node:http, since the simulator never echoes a key.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromChatCompletion, servedModelName } from '../../harness/providers/openai.js';
import { scrubSecrets, registerSecret, REDACTED } from '../../harness/secrets.js';
import { queryDb, runCli, sampleSlice, tempDir } from '../support/cli.js';

/** Configured as a candidate's key: not shaped like one, so only its value can find it. */
const KEY = 'hunter2-correct-horse-battery-9731';
/** An sk- key nobody configured, in the same body. */
const STRAY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123';
const ESC = '\u001b]0;pwned\u0007\u001b[31m\u009b2J';
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

let server: Server;
let url: string;
const dir = tempDir();

beforeAll(async () => {
  // 400 for model echo-400 (a stored error row), 401 for echo-401 (the candidate stops); any other
  // request (the stored-completions list) gets the 400.
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const model = body ? (JSON.parse(body) as { model?: string }).model : undefined;
      const status = model === 'echo-401' ? 401 : 400;
      const message = `${ESC}Bad request from ${req.headers.authorization} (also seen: ${STRAY}); retry\nforged: line`;
      const payload = JSON.stringify({
        error: { message, type: 'invalid_request_error', param: null, code: null },
      });
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function expectClean(text: string): void {
  expect(text).not.toContain(KEY);
  expect(text).not.toContain(STRAY);
  expect(text).not.toMatch(RAW_CONTROL);
}

describe('an endpoint that echoes the Authorization header', () => {
  it('run: the key is scrubbed from error rows, warnings, the stopped line and the report', async () => {
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        'suite: echo',
        `dataset: ${sampleSlice(dir, 4)}`,
        'stream: false',
        'max_retries: 0',
        'candidates:',
        ...['echo-400', 'echo-401'].map(
          (m) =>
            `  - { id: ${m}, model: ${m}, base_url: "${url}", api_key_env: ECHO_KEY, ` +
            'price: { input: 1, cached_input: 0.1, output: 2 } }',
        ),
      ].join('\n'),
    );
    const db = join(dir, 'run.db');
    const res = await runCli(['run', config, '--db', db], { env: { ECHO_KEY: KEY } });
    expect(res.stderr).toContain('echo-401');
    expect(res.stderr).toContain(REDACTED);
    expectClean(res.stderr);
    expectClean(res.stdout);
    // The 401 stopped its candidate (and said so); the 400s are stored.
    expect(res.stderr).toMatch(/stopped/);
    const rows = queryDb<{ candidate: string; error_message: string }>(
      db,
      "SELECT candidate, error_message FROM calls WHERE status = 'error'",
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expectClean(r.error_message);
      expect(r.error_message).toContain(`Bearer ${REDACTED}`);
      expect(r.error_message).toContain('\\x1b]0;pwned'); // escaped, still legible
    }
    const report = await runCli(['report', '--db', db, '--format', 'table']);
    expectClean(report.stdout + report.stderr);
  });

  it('a CLI error (reportError) quoting the endpoint is scrubbed and escaped too', async () => {
    const res = await runCli(
      ['import', 'openai-stored', '-o', join(dir, 'stored.jsonl'), '--base-url', url],
      { env: { OPENAI_API_KEY: STRAY } },
    );
    expect(res.code, res.stderr).toBe(1); // a failed import (its progress is saved)
    expect(res.stderr).toContain('holdout: ');
    expect(res.stderr).toContain(REDACTED);
    expectClean(res.stderr);
  });
});

describe('scrubSecrets', () => {
  it('removes registered values (longest first) and key-shaped tokens, and nothing else', () => {
    registerSecret('short'); // too short to scrub by value
    registerSecret('configured-key-value-123');
    const text =
      'key configured-key-value-123, Authorization: Bearer abc.def-ghi, api_key=zzzzzzzzzz, ' +
      'sk-svcacct-0123456789abcdefghijABCDEFG, Incorrect API key provided: sk-proj-********abcd. ' +
      'max_tokens: 100 at 127.0.0.1:8080, a short word, model gpt-5.4-mini';
    expect(scrubSecrets(text)).toBe(
      `key ${REDACTED}, Authorization: Bearer ${REDACTED}, api_key=${REDACTED}, ` +
        `${REDACTED}, Incorrect API key provided: ${REDACTED}. ` +
        'max_tokens: 100 at 127.0.0.1:8080, a short word, model gpt-5.4-mini',
    );
    expect(scrubSecrets('x other-secret-value-99 y', ['other-secret-value-99'])).toBe(`x ${REDACTED} y`);
    expect(scrubSecrets('connection failures to https://bob:pw@gw.example/v1')).toBe(
      `connection failures to https://${REDACTED}@gw.example/v1`,
    );
  });
});

describe('what an endpoint says it served', () => {
  it('is stored and printed with its control characters escaped', () => {
    const body = { model: `gpt-x${ESC}`, choices: [], usage: undefined } as unknown as OpenAI.ChatCompletion;
    expect(fromChatCompletion(body).servedModel).toBe('gpt-x\\x1b]0;pwned\\x07\\x1b[31m\\u009b2J');
    expect(servedModelName(null)).toBeNull();
  });
});
