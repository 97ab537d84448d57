import { describe, expect, it } from 'vitest';
import { dispatch, type Lane } from '../../harness/run/scheduler.js';

function lane(name: string, n: number, limit: number): Lane<string> {
  let i = 0;
  return { limit, next: () => (i < n ? `${name}${i++}` : undefined) };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('dispatch', () => {
  it('never exceeds the total or the per-lane limit, and runs every item once', async () => {
    const lanes = [lane('a', 40, 3), lane('b', 40, 10), lane('c', 5, 1)];
    const active = [0, 0, 0];
    const peak = [0, 0, 0];
    let total = 0;
    let peakTotal = 0;
    const seen: string[] = [];
    await dispatch(lanes, 8, async (item, l) => {
      active[l]!++;
      total++;
      peak[l] = Math.max(peak[l]!, active[l]!);
      peakTotal = Math.max(peakTotal, total);
      seen.push(item);
      await tick();
      active[l]!--;
      total--;
    });
    expect(seen).toHaveLength(85);
    expect(new Set(seen).size).toBe(85);
    expect(peakTotal).toBe(8);
    expect(peak[0]).toBe(3);
    expect(peak[1]).toBeGreaterThan(3); // took the slots lane a could not use
    expect(peak[1]).toBeLessThanOrEqual(8);
    expect(peak[2]).toBe(1);
  });

  it('interleaves lanes: the first items alternate between candidates', async () => {
    const order: string[] = [];
    await dispatch([lane('a', 3, 5), lane('b', 3, 5)], 1, async (item) => {
      order.push(item);
    });
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  it('a saturated lane does not hold slots another lane could use', async () => {
    // Lane a may run one at a time and its calls are slow; lane b must still get 3 slots.
    let bPeak = 0;
    let bActive = 0;
    await dispatch([lane('a', 3, 1), lane('b', 12, 10)], 4, async (item) => {
      if (item.startsWith('a')) {
        await new Promise((r) => setTimeout(r, 20));
        return;
      }
      bActive++;
      bPeak = Math.max(bPeak, bActive);
      await tick();
      bActive--;
    });
    expect(bPeak).toBe(3);
  });

  it('stops pulling work when the signal aborts and waits for what is in flight', async () => {
    const ac = new AbortController();
    let started = 0;
    let finished = 0;
    await dispatch(
      [lane('a', 100, 4)],
      4,
      async () => {
        started++;
        if (started === 6) ac.abort();
        await tick();
        finished++;
      },
      ac.signal,
    );
    expect(started).toBeLessThan(12);
    expect(finished).toBe(started);
  });

  it('rejects a bad total limit with a message naming it', async () => {
    await expect(dispatch([], 0, async () => {})).rejects.toThrow(/totalLimit/);
  });

  it('propagates a failure after in-flight work settles', async () => {
    await expect(
      dispatch([lane('a', 10, 2)], 2, async (item) => {
        if (item === 'a3') throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });
});
