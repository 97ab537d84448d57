/**
 * The one seeded generator of the project: mulberry32 (Tommy Ettinger, 2017; public domain), 32-bit
 * state, period 2³², uniform doubles k/2³² in [0, 1). Small and fast; plenty for bootstrap index
 * draws, simulator jitter and fault dice, and the sample-data generator. Never Math.random where a
 * result must reproduce.
 */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
