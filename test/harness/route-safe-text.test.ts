/**
 * Policy names come from a YAML file and are printed by `holdout route` (errors, the interrupted
 * line): control characters in them are escaped (datasets/printable.ts) where they are written.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../harness/clock.js';
import { HarnessError } from '../../harness/errors.js';
import { evaluateRouting, type RoutingRequest } from '../../harness/route/evaluate.js';
import { DEFAULT_PROFILES, loadAnswerKey, type SimServer, startSimulator } from '../../harness/sim/index.js';
import { Store } from '../../results/store/store.js';
import { answerKeyPath, runCli, sampleSlice, tempDir } from '../support/cli.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let sim: SimServer;
let dir: string;
let db: string;

beforeAll(async () => {
  sim = await startSimulator({
    answerKey: loadAnswerKey(answerKeyPath()),
    profiles: { ...DEFAULT_PROFILES, 'sim-fast': { latencyMs: { median: 2 }, ttftMs: 1, accuracy: 0.9 } },
  });
  dir = tempDir();
  db = join(dir, 'h.db');
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    [
      `dataset: ${sampleSlice(dir, 8)}`,
      'candidates:',
      `  - { id: a, model: sim-fast, base_url: "${sim.url}", api_key_env: K, price: { input: 1, cached_input: 0.1, output: 2 } }`,
      'scorers:',
      '  - { kind: normalized }',
    ].join('\n'),
  );
  const r = await runCli(['run', config, '--db', db], { env: { K: 'test-key-not-secret' } });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => sim.close());

/** A policy file named NAME (YAML double-quoted, so "\e" is an ESC), with or without a router. */
function policy(file: string, name: string, router: boolean): string {
  const path = join(dir, file);
  const lines = [`name: "${name}"`, 'default: a'];
  if (router) {
    lines.push(
      'router:',
      '  candidate: { model: sim-nano, base_url: simulator, price: { input: 0.2, cached_input: 0.02, output: 1.25 } }',
      '  prompt: "Easy or hard?\\n{{prompt}}"',
      '  labels: { easy: a, hard: a }',
      '  simulator: { truth_tag: difficulty, truth: { easy: easy, hard: hard } }',
    );
  }
  writeFileSync(path, lines.join('\n'));
  return path;
}

const request = (policies: string[]): RoutingRequest => ({
  policies,
  run: 1,
  margin: 0.03,
  alpha: 0.025,
  fitOn: 'all',
  evaluateOn: 'all',
});

describe('policy names are escaped where route prints them', () => {
  it('in the error for a name used twice', async () => {
    const store = new Store(db);
    try {
      const a = policy('a.yaml', 'p\\e[2J', false);
      const b = policy('b.yaml', 'p\\e[2J', false);
      const err = await evaluateRouting(store, request([a, b]), {
        stderr: new Capture(),
        env: {},
        clock: systemClock,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HarnessError);
      expect((err as Error).message).toBe(`${b}: policy name "p\\x1b[2J" is already used by ${a}`);
    } finally {
      store.close();
    }
  });

  it('in the line an interrupted router pass writes', async () => {
    const store = new Store(db);
    const stderr = new Capture();
    const ac = new AbortController();
    ac.abort();
    try {
      const out = await evaluateRouting(store, request([policy('r.yaml', 'routed\\e]0;x\\a', true)]), {
        stderr,
        env: {},
        clock: systemClock,
        signal: ac.signal,
      });
      expect(out).toBe('interrupted');
      expect(stderr.text).toContain('router calls of policy routed\\x1b]0;x\\x07 were stored');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
      expect(stderr.text.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f]/);
    } finally {
      store.close();
    }
  });
});
