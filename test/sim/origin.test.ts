/**
 * The simulator serves this machine only: a browser page on another site (a foreign `Origin`) and a
 * DNS-rebinding request (a foreign `Host`) get 403 on the control endpoints and the API alike, and
 * change nothing; loopback origins, loopback hosts and the SDK pass.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimServer, startSimulator } from '../../harness/sim/index.js';
import { foreignRequest } from '../../harness/sim/wire/http.js';
import { client, INSTANT, userTurn } from './helpers.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimulator({ profiles: { 'sim-x': INSTANT } });
});
afterAll(() => sim.close());

/** A raw request (node:http lets a test set Host and Origin as a browser or an attacker would). */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: sim.port,
        method,
        path,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const chat = JSON.stringify({ model: 'sim-x', messages: userTurn('hi') });
const faults = JSON.stringify([{ kind: 'server_error' }]);

describe('cross-origin and DNS-rebinding requests', () => {
  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin null (a sandboxed page)', { origin: 'null' }],
    ['a foreign Host (DNS rebinding)', { host: 'evil.example:80' }],
    ['a rebinding Host with a loopback Origin', { host: 'attacker.test', origin: 'http://127.0.0.1' }],
  ])('%s: 403 on /__sim/* and /v1/*, and nothing changes', async (_, headers) => {
    const before = sim.stats().requests;
    const control = await send('POST', '/__sim/faults', headers, faults);
    expect(control.status).toBe(403);
    expect(JSON.parse(control.body).error.code).toBe('forbidden');
    expect((await send('POST', '/__sim/reset', headers, '')).status).toBe(403);
    expect((await send('GET', '/__sim/stats', headers)).status).toBe(403);
    expect((await send('POST', '/v1/chat/completions', headers, chat)).status).toBe(403);
    expect((await send('GET', '/v1/models', { ...headers, authorization: 'Bearer x' })).status).toBe(403);
    // No fault was installed and no call was counted.
    expect(sim.stats().requests).toBe(before);
    const ok = await client(sim).chat.completions.create({ model: 'sim-x', messages: userTurn('hi') });
    expect(ok.choices[0]!.message.content).toBeTypeOf('string');
  });

  it('loopback origins and hosts pass, as does the SDK (no Origin)', async () => {
    for (const headers of <Record<string, string>[]>[
      { origin: `http://127.0.0.1:${sim.port}` },
      { origin: 'http://localhost:3000', host: `localhost:${sim.port}` },
      { origin: 'https://[::1]:8443', host: `[::1]:${sim.port}` },
      {},
    ]) {
      expect(
        (await send('POST', '/v1/chat/completions', { ...headers, authorization: 'Bearer test' }, chat))
          .status,
        JSON.stringify(headers),
      ).toBe(200);
      expect((await send('GET', '/__sim/stats?log=0', headers)).status).toBe(200);
    }
  });

  it('foreignRequest: the rule itself', () => {
    expect(foreignRequest({})).toBeUndefined();
    expect(foreignRequest({ host: '127.0.0.5:9' })).toBeUndefined();
    expect(foreignRequest({ host: 'LOCALHOST' })).toBeUndefined();
    expect(foreignRequest({ host: '127.0.0.1.evil.example' })).toMatch(/Host/);
    expect(foreignRequest({ host: 'localhost.evil.example' })).toMatch(/Host/);
    expect(foreignRequest({ host: 'evil@127.0.0.1' })).toMatch(/Host/);
    expect(foreignRequest({ host: '127.0.0.1', origin: 'file://' })).toMatch(/Origin/);
    expect(foreignRequest({ host: '127.0.0.1', origin: 'http://127.0.0.1.nip.io' })).toMatch(/Origin/);
  });
});
