// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the config's own syntax, written as configs write it
/**
 * Whole `holdout run`s (the in-process CLI) against endpoints beyond api.openai.com, served by the
 * simulator on loopback: an Azure deployment priced as the model it serves, and a gateway that takes
 * its own token in a header and a signature in the query. Neither the key, the token nor the signature
 * reaches the database, and an endpoint that echoes them in an error gets them scrubbed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimProfile, type SimServer, startSimulator } from '../harness/sim/index.js';
import { queryDb, runCli, sampleSlice, tempDir } from './support/cli.js';

const AZURE_KEY = 'azure-run-key-7f3a9c1e5b';
const GATEWAY_TOKEN = 'gateway-run-token-2d8e6b4a';
const GATEWAY_SIG = 'gateway-run-sig-9c1f3e7a';
const ENV = { AZURE_OPENAI_API_KEY: AZURE_KEY, GATEWAY_TOKEN, GATEWAY_SIG };
const SECRETS = [AZURE_KEY, GATEWAY_TOKEN, GATEWAY_SIG];

const fast = (servedModel: string): SimProfile => ({
  latencyMs: { median: 1 },
  ttftMs: 0,
  accuracy: 1,
  servedModel,
});

let sim: SimServer;
let origin: string;
const dir = tempDir('holdout-endpoints-');

beforeAll(async () => {
  sim = await startSimulator({
    profiles: { 'mini-prod': fast('sim-mini-prod'), 'gpt-4.1-nano': fast('sim-nano-gw') },
    recordRequests: 100,
  });
  origin = new URL(sim.url).origin;
});
afterAll(() => sim.close());

interface CallRow {
  candidate: string;
  status: string;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  cost_usd: number;
  served_model: string;
}

/** Every byte of the database (and its WAL, if one is left): no secret may be in any of them. */
function dbBytes(db: string): string {
  return [db, `${db}-wal`]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString('latin1'))
    .join('');
}

describe('holdout run against an Azure deployment and a header-bearing gateway', () => {
  it('calls the Azure path and the gateway as configured, and prices the deployment as its model', async () => {
    const cfg = join(dir, 'run.yaml');
    const db = join(dir, 'h.db');
    writeFileSync(
      cfg,
      [
        'suite: endpoints',
        `dataset: ${sampleSlice(dir, 4)}`,
        'candidates:',
        '  - id: mini-azure',
        '    model: gpt-4.1-mini',
        '    azure:',
        `      endpoint: ${origin}`,
        '      deployment: mini-prod',
        '      api_version: 2024-10-21',
        '  - id: nano-gateway',
        '    model: gpt-4.1-nano',
        `    base_url: ${origin}/v1`,
        '    headers:',
        '      Authorization: Bearer ${env:GATEWAY_TOKEN}',
        '      X-Team: evals',
        '    query:',
        '      sig: ${env:GATEWAY_SIG}',
        '      route: canary',
      ].join('\n'),
    );
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('8/8 calls (100.0%) · 0 errors');

    // What the simulator received: 4 calls each, exactly where and how the config says.
    const heads = sim.requests();
    const azure = heads.filter((r) => r.path.startsWith('/openai/'));
    const gateway = heads.filter((r) => r.path.startsWith('/v1/'));
    expect(azure).toHaveLength(4);
    expect(gateway).toHaveLength(4);
    for (const r of azure) {
      expect(r.path).toBe('/openai/deployments/mini-prod/chat/completions');
      expect(r.query).toEqual({ 'api-version': '2024-10-21' });
      expect(r.headers['api-key']).toBe(AZURE_KEY);
      expect(r.headers.authorization).toBeUndefined();
    }
    for (const r of gateway) {
      expect(r.path).toBe('/v1/chat/completions');
      expect(r.query).toEqual({ sig: GATEWAY_SIG, route: 'canary' });
      expect(r.headers.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`);
      expect(r.headers['x-team']).toBe('evals');
    }

    const rows = queryDb<CallRow>(
      db,
      "SELECT candidate, status, input_tokens, cached_tokens, output_tokens, cost_usd, served_model FROM calls WHERE role = 'candidate' ORDER BY candidate, record_id",
    );
    expect(rows).toHaveLength(8);
    // USD per 1M tokens from shared/reference/openai-api.md §2 (input, cached, output), applied by
    // hand to each row's own token counts: gpt-4.1-mini 0.40/0.10/1.60, gpt-4.1-nano 0.10/0.025/0.40.
    const RATES: Record<string, [number, number, number]> = {
      'mini-azure': [0.4, 0.1, 1.6],
      'nano-gateway': [0.1, 0.025, 0.4],
    };
    for (const r of rows) {
      expect(r.status).toBe('ok');
      expect(r.input_tokens).toBeGreaterThan(0);
      const [inp, cached, out] = RATES[r.candidate]!;
      const expected =
        ((r.input_tokens - r.cached_tokens) * inp + r.cached_tokens * cached + r.output_tokens * out) / 1e6;
      expect(r.cost_usd).toBeCloseTo(expected, 12);
      expect(r.served_model).toBe(r.candidate === 'mini-azure' ? 'sim-mini-prod' : 'sim-nano-gw');
    }

    // The stored config keeps the references and the deployment, never a value.
    const [run] = queryDb<{ config_json: string }>(db, 'SELECT config_json FROM runs');
    const stored = JSON.parse(run!.config_json) as {
      candidates: { id: string; azure?: unknown; headers?: unknown; query?: unknown; api_key_env?: string }[];
    };
    expect(stored.candidates[0]).toMatchObject({
      azure: { deployment: 'mini-prod', api_version: '2024-10-21' },
      api_key_env: 'AZURE_OPENAI_API_KEY',
    });
    expect(stored.candidates[1]).toMatchObject({
      headers: { Authorization: 'Bearer ${env:GATEWAY_TOKEN}', 'X-Team': 'evals' },
      query: { sig: '${env:GATEWAY_SIG}', route: 'canary' },
    });
    const bytes = dbBytes(db);
    for (const s of SECRETS) expect(bytes).not.toContain(s);
    for (const s of SECRETS) expect(res.stdout + res.stderr).not.toContain(s);
  });

  it('a missing ${env:…} variable stops the run before it starts, naming the field', async () => {
    const cfg = join(dir, 'missing.yaml');
    writeFileSync(
      cfg,
      [
        `dataset: ${sampleSlice(dir, 1)}`,
        'candidates:',
        '  - id: gw',
        '    model: gpt-4.1-nano',
        `    base_url: ${origin}/v1`,
        '    headers: { Authorization: "Bearer ${env:NOT_SET_TOKEN}" }',
      ].join('\n'),
    );
    const res = await runCli(['run', cfg, '--db', join(dir, 'missing.db')], { env: {} });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      'candidates[0] "gw": environment variable NOT_SET_TOKEN (headers.Authorization) is not set',
    );
    expect(
      existsSync(join(dir, 'missing.db')) ? queryDb(join(dir, 'missing.db'), 'SELECT id FROM runs') : [],
    ).toEqual([]);
  });
});

describe('an endpoint that echoes what it was sent', () => {
  let echo: Server;
  let echoOrigin: string;
  beforeAll(async () => {
    // 400 with every header and the query string in the message: the worst a gateway can do.
    echo = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const message = `bad request ${req.url} ${JSON.stringify(req.headers)}`;
        const payload = JSON.stringify({
          error: { message, type: 'invalid_request_error', param: null, code: null },
        });
        res.writeHead(400, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        });
        res.end(payload);
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoOrigin = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => echo.close(() => r())));

  it('gets neither the Azure key nor the gateway token or signature into rows or output', async () => {
    const cfg = join(dir, 'echo.yaml');
    const db = join(dir, 'echo.db');
    writeFileSync(
      cfg,
      [
        `dataset: ${sampleSlice(dir, 2)}`,
        'max_retries: 0',
        'stream: false',
        'candidates:',
        '  - id: az',
        '    model: gpt-4.1-mini',
        `    azure: { endpoint: "${echoOrigin}", deployment: mini-prod, api_version: 2024-10-21 }`,
        '  - id: gw',
        '    model: gpt-4.1-nano',
        `    base_url: ${echoOrigin}/v1`,
        '    headers: { Authorization: "Bearer ${env:GATEWAY_TOKEN}" }',
        '    query: { sig: "${env:GATEWAY_SIG}" }',
      ].join('\n'),
    );
    const res = await runCli(['run', cfg, '--db', db], { env: ENV });
    const rows = queryDb<{ candidate: string; status: string; error_message: string }>(
      db,
      'SELECT candidate, status, error_message FROM calls ORDER BY candidate',
    );
    expect(rows.map((r) => [r.candidate, r.status])).toEqual([
      ['az', 'error'],
      ['az', 'error'],
      ['gw', 'error'],
      ['gw', 'error'],
    ]);
    // The echo reached the rows (the path and a harmless header prove it), the secrets did not.
    expect(rows[0]!.error_message).toContain('/openai/deployments/mini-prod/chat/completions');
    expect(rows[2]!.error_message).toContain('/v1/chat/completions?sig=');
    for (const s of SECRETS) {
      expect(dbBytes(db)).not.toContain(s);
      expect(res.stdout + res.stderr).not.toContain(s);
    }
  });
});
