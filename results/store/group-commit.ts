import type { FinishedCall } from './rows.js';

/** The most calls in one group: one turn's worth at any realistic rate, and a bound on what is held. */
export const MAX_GROUP = 512;

/** What the group commit writes with: `Store.recordCalls`, one transaction for the whole group. */
export interface CallWriter {
  recordCalls(calls: readonly FinishedCall[]): void;
}

/**
 * Group commit: the calls that finish in the same event-loop turn are stored in one transaction,
 * at the end of that turn (`setImmediate`: after every socket event of the turn and the promise
 * continuations it started), instead of one transaction each. A commit is most of the store's cost
 * per call; at a few hundred calls a second several finish per turn.
 *
 * The window is one turn, and at most MAX_GROUP calls (calls that finish without I/O, a replayed
 * candidate's, would otherwise gather a whole run in one turn). A call that has finished but is
 * not yet committed when the process dies is in the same position as a call in flight: its result
 * is lost and a resume requests it again. Nothing committed is lost or requested again, and a group
 * is all or nothing (one row per work item either way). `add` resolves once the call is committed
 * and rejects if its group could not be (a full disk); `error` keeps the first such failure.
 */
export class GroupCommit {
  /** The first commit that failed, if one did: the run stops on it. */
  error: unknown;
  private pending: FinishedCall[] = [];
  private group: { done: Promise<void>; ok: () => void; fail: (err: unknown) => void } | undefined;

  /**
   * @param committed called for each call of a group once the group is committed (progress).
   * @param defer when to commit a group; injected by tests to hold a group back (a crash before it).
   */
  constructor(
    private readonly writer: CallWriter,
    private readonly committed: (f: FinishedCall) => void,
    private readonly defer: (commit: () => void) => void = (commit) => setImmediate(commit),
  ) {}

  /** Queues a finished call for this turn's group; resolves when that group is committed. */
  add(f: FinishedCall): Promise<void> {
    this.pending.push(f);
    if (this.pending.length >= MAX_GROUP) {
      const done = this.open();
      this.flush();
      return done;
    }
    return this.open();
  }

  /** The current group's promise, opening a group (and scheduling its commit) if none is open. */
  private open(): Promise<void> {
    if (!this.group) {
      let ok!: () => void;
      let fail!: (err: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        ok = resolve;
        fail = reject;
      });
      this.group = { done, ok, fail };
      this.defer(() => this.flush());
    }
    return this.group.done;
  }

  /** Calls queued and not yet committed. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Commits the queued calls now (also what the deferred commit runs); a no-op when none are queued. */
  flush(): void {
    const calls = this.pending;
    const group = this.group;
    this.pending = [];
    this.group = undefined;
    if (!group) return;
    try {
      this.writer.recordCalls(calls);
      for (const f of calls) this.committed(f);
    } catch (err) {
      this.error ??= err;
      group.fail(err);
      return;
    }
    group.ok();
  }
}
