/**
 * The simulator in its own process, forked by run.ts with an IPC channel: it announces its URL,
 * answers CPU-usage queries (to tell whether the simulator itself is the bottleneck) and exits
 * when the channel closes, so a crashed or killed orchestrator never leaves it behind.
 */
import { rmSync } from 'node:fs';
import { startSimulator } from '../harness/sim/index.js';
import { BENCH_PROFILES, type SimMessage, type SimRequest } from './common.js';

const send = (m: SimMessage) => process.send?.(m);

async function main(): Promise<void> {
  if (!process.send) throw new Error('sim-process must be forked with an IPC channel');
  const logLimit = Number(process.env.BENCH_SIM_LOG_LIMIT ?? 20_000);
  const sim = await startSimulator({ port: 0, profiles: { ...BENCH_PROFILES }, logLimit, seed: 1 });
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    // An orchestrator killed outright (SIGKILL) cannot clean up: its temp dir goes with the simulator.
    const tmpRoot = process.env.BENCH_TMP_ROOT;
    if (!process.connected && tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
    void sim.close().finally(() => process.exit(0));
    // Never hang on a socket that will not close.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('message', (m: SimRequest) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      send({ type: 'cpu', id: m.id, userUs: u.user, systemUs: u.system });
    }
  });
  send({ type: 'ready', url: sim.url });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
