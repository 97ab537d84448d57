/**
 * Run leases: at most one live `holdout run` process works on a run. The lease is a row of
 * `run_leases` (schema v4): the holder's pid and host, a token of its own, when it was taken and a
 * heartbeat. It is taken in an IMMEDIATE transaction (so two processes cannot both find the run free),
 * renewed by an unref'd timer while the process works, and deleted when it ends. A lease whose
 * heartbeat is older than `staleAfterMs`, or whose pid is dead on this same host, is stale: its holder
 * crashed (kill -9, power loss), and the next process takes it over.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { HarnessError } from '../../harness/errors.js';
import type { Store } from './store.js';

/** A heartbeat older than this is stale (the holder is hung or gone, whichever host it ran on). */
export const LEASE_STALE_MS = 60_000;
/** How often a live holder renews its heartbeat. */
export const LEASE_RENEW_MS = 10_000;

export interface LeaseRow {
  run_id: number;
  pid: number;
  host: string;
  token: string;
  since: string;
  heartbeat_ms: number;
}

export interface LeaseOptions {
  staleAfterMs?: number;
  renewEveryMs?: number;
  /** Unix ms (default Date.now): wall time, since the heartbeat is compared across processes. */
  now?: () => number;
  pid?: number;
  host?: string;
  /** Whether a pid of this host is alive (default: signal 0). */
  isAlive?: (pid: number) => boolean;
}

/** Whether a process of this host exists: signal 0 checks without sending anything. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a lease row is stale (its holder may be taken over from), or undefined when its holder is live. */
export function staleReason(row: LeaseRow, opts: LeaseOptions = {}): string | undefined {
  const now = (opts.now ?? Date.now)();
  const staleAfter = opts.staleAfterMs ?? LEASE_STALE_MS;
  const age = now - row.heartbeat_ms;
  if (age > staleAfter) return `no heartbeat for ${Math.round(age / 1000)} s`;
  const host = opts.host ?? hostname();
  if (row.host === host && !(opts.isAlive ?? pidAlive)(row.pid)) return `process ${row.pid} is gone`;
  return undefined;
}

/** "pid 4242 on host build-7, since 2026-11-25T10:00:00.000Z (heartbeat 3 s ago)" */
export function describeHolder(row: LeaseRow, now = Date.now()): string {
  const ago = Math.max(0, Math.round((now - row.heartbeat_ms) / 1000));
  return `pid ${row.pid} on host ${row.host}, since ${row.since} (heartbeat ${ago} s ago)`;
}

export class RunLease {
  /** Set once another process has taken the lease over (this one was deemed stale). */
  lost = false;
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private readonly onExit = () => this.release();

  constructor(
    private readonly store: Store,
    readonly runId: number,
    readonly token: string,
    private readonly now: () => number,
    renewEveryMs: number,
    /** Called once, when a renewal finds that another process has taken the lease over. */
    public onLost?: (by: LeaseRow | undefined) => void,
  ) {
    this.timer = setInterval(() => this.renew(), renewEveryMs);
    // The heartbeat must never keep a finished process alive.
    this.timer.unref();
    // process.exit() (a second Ctrl-C) skips finally blocks: release on the way out all the same.
    process.once('exit', this.onExit);
  }

  /** Moves the heartbeat on; notices a takeover. Busy or failing writes are left for the next tick. */
  renew(): void {
    if (this.released || this.lost || !this.store.db.open) return;
    let changes: number;
    try {
      changes = this.store.db
        .prepare('UPDATE run_leases SET heartbeat_ms = ? WHERE run_id = ? AND token = ?')
        .run(this.now(), this.runId, this.token).changes;
    } catch {
      return;
    }
    if (changes === 0) {
      this.lost = true;
      this.stop();
      const by = this.store.db.prepare('SELECT * FROM run_leases WHERE run_id = ?').get(this.runId) as
        | LeaseRow
        | undefined;
      this.onLost?.(by);
    }
  }

  /** Deletes the lease if it is still this process's. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.stop();
    if (!this.store.db.open) return;
    try {
      this.store.db
        .prepare('DELETE FROM run_leases WHERE run_id = ? AND token = ?')
        .run(this.runId, this.token);
    } catch {
      // A full disk or a busy database: the row stays, and with this process gone it is stale.
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    process.off('exit', this.onExit);
  }
}

export type LeaseTakeOptions = LeaseOptions & { onLost?: (by: LeaseRow | undefined) => void };

/** A lease row written (not yet committed, when inside the caller's transaction) for this process. */
export interface LeaseClaim {
  runId: number;
  token: string;
}

/**
 * Writes this process's lease on the run, or throws RUN_BUSY (exit 2) naming the live holder. Call it
 * inside an IMMEDIATE transaction (Store.immediate) together with whatever chose the run, so that of
 * two processes only one can claim it; then `holdLease` once the transaction has committed.
 */
export function claimLease(store: Store, runId: number, opts: LeaseOptions = {}): LeaseClaim {
  const now = opts.now ?? Date.now;
  const held = leaseOf(store, runId);
  if (held && staleReason(held, { ...opts, now }) === undefined) {
    throw new HarnessError(
      'RUN_BUSY',
      `run ${runId} is being worked on by another holdout process: ${describeHolder(held, now())}`,
      {
        hint:
          'wait for that process to finish, or stop it and run the same command again (the lease of a ' +
          `process that died is taken over at once on the same host, and after ${LEASE_STALE_MS / 1000} s ` +
          'without a heartbeat from another host); --new starts a separate run',
      },
    );
  }
  const token = randomUUID();
  store.db
    .prepare(
      `INSERT OR REPLACE INTO run_leases (run_id, pid, host, token, since, heartbeat_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .run(
      runId,
      opts.pid ?? process.pid,
      opts.host ?? hostname(),
      token,
      new Date(now()).toISOString(),
      now(),
    );
  return { runId, token };
}

/** Starts renewing a committed claim; release() (or the process's exit) deletes it. */
export function holdLease(store: Store, claim: LeaseClaim, opts: LeaseTakeOptions = {}): RunLease {
  return new RunLease(
    store,
    claim.runId,
    claim.token,
    opts.now ?? Date.now,
    opts.renewEveryMs ?? LEASE_RENEW_MS,
    opts.onLost,
  );
}

/** Claims and holds the run's lease in a transaction of its own. */
export function takeLease(store: Store, runId: number, opts: LeaseTakeOptions = {}): RunLease {
  const claim = store.immediate(() => claimLease(store, runId, opts));
  return holdLease(store, claim, opts);
}

/** The run's lease row, if any (for messages and tests). */
export function leaseOf(store: Store, runId: number): LeaseRow | undefined {
  return store.db.prepare('SELECT * FROM run_leases WHERE run_id = ?').get(runId) as LeaseRow | undefined;
}
