import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lastUserText } from '../../datasets/record.js';
import { packageRoot } from '../../harness/paths.js';

/**
 * Helpers for tests that run the real `holdout` bin as a child process (dist/ must be built, as the
 * global setup does): killing it, racing two of them, and counting what reached the simulator.
 */

export interface Child {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code, or the signal's name when it was killed. */
  exited: Promise<number | string>;
}

/** Starts `holdout <args…>` with the given extra environment. */
export function startHoldout(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [join(packageRoot(), 'bin/holdout.js'), ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => {
      proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
    }),
  };
  proc.stdout!.on('data', (b: Buffer) => {
    child.stdout += b.toString();
  });
  proc.stderr!.on('data', (b: Buffer) => {
    child.stderr += b.toString();
  });
  return child;
}

/** Polls `check` every few ms until it returns true (or throws after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 15_000, everyMs = 2): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A query on a database another process is writing; undefined while it cannot be read yet. */
export function peek<T>(db: string, sql: string): T | undefined {
  let d: Database.Database | undefined;
  try {
    d = new Database(db, { readonly: true, fileMustExist: true, timeout: 50 });
    return d.prepare(sql).get() as T | undefined;
  } catch {
    return undefined;
  } finally {
    d?.close();
  }
}

/** The item a request is for: its model and a hash of its last user turn (what the simulator keys on). */
export function itemKey(model: string, body: Record<string, unknown>): string {
  return `${model} ${createHash('sha256').update(lastUserText(body)).digest('hex').slice(0, 16)}`;
}

/**
 * An HTTP proxy in front of the simulator that counts requests per item (model + prompt), as they
 * arrive. `quiet()` resolves once no connection is open: after a client process has died, every
 * byte it sent has then been read and counted.
 */
export interface CountingProxy {
  url: string;
  counts: Map<string, number>;
  total(): number;
  quiet(): Promise<void>;
  close(): Promise<void>;
}

export async function countingProxy(target: string): Promise<CountingProxy> {
  const up = new URL(target);
  const counts = new Map<string, number>();
  let total = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (req.method === 'POST') {
        try {
          const body = JSON.parse(raw.toString()) as Record<string, unknown>;
          const key = itemKey(String(body.model), body);
          counts.set(key, (counts.get(key) ?? 0) + 1);
          total++;
        } catch {
          // not a model call
        }
      }
      const out = httpRequest(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: up.host },
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      out.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const prefix = up.pathname.replace(/\/$/, '');
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    counts,
    total: () => total,
    quiet: async () => {
      for (;;) {
        const open = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
        if (open === 0) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
