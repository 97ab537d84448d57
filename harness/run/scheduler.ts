/**
 * Bounded, interleaved dispatch. Each lane (a candidate) yields its work lazily and has its own
 * limit; a total limit caps all lanes together. Lanes take turns, so calls to different candidates
 * interleave in time and neither load nor time of day confounds their latencies. Work is pulled
 * only when a slot is free, so memory does not grow with the number of work items, and a saturated
 * lane never holds a slot that another lane could use (no head-of-line blocking).
 */
export interface Lane<T> {
  readonly limit: number;
  /** Next work item, or undefined when the lane has no more. Called only when a slot is free. */
  next(): T | undefined;
  /** False: nothing to issue now, ask again after a call ends (pacing; never false for every lane at once). */
  ready?(): boolean;
}

export async function dispatch<T>(
  lanes: readonly Lane<T>[],
  totalLimit: number,
  run: (item: T, lane: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (!Number.isInteger(totalLimit) || totalLimit < 1) {
    throw new TypeError(`Expected totalLimit to be an integer from 1 and up, got ${totalLimit}`);
  }
  const inFlight = lanes.map(() => 0);
  const exhausted = lanes.map(() => false);
  let total = 0;
  let turn = 0;
  let failure: { error: unknown } | undefined;

  return new Promise<void>((resolve, reject) => {
    const settle = () => {
      if (total > 0) return;
      if (failure) reject(failure.error);
      else resolve();
    };
    const pump = () => {
      while (total < totalLimit && !failure && !signal?.aborted) {
        const picked = pick();
        if (!picked) break;
        const [item, lane] = picked;
        total++;
        inFlight[lane]!++;
        run(item, lane).then(
          () => done(lane),
          (error: unknown) => {
            failure ??= { error };
            done(lane);
          },
        );
      }
      if (total === 0 && (failure || signal?.aborted || exhausted.every(Boolean))) settle();
    };
    const done = (lane: number) => {
      total--;
      inFlight[lane]!--;
      pump();
    };
    const pick = (): [T, number] | undefined => {
      for (let tried = 0; tried < lanes.length; tried++) {
        const lane = (turn + tried) % lanes.length;
        if (exhausted[lane] || inFlight[lane]! >= lanes[lane]!.limit || lanes[lane]!.ready?.() === false)
          continue;
        const item = lanes[lane]!.next();
        if (item === undefined) {
          exhausted[lane] = true;
          continue;
        }
        turn = lane + 1;
        return [item, lane];
      }
      return undefined;
    };
    pump();
  });
}
