/**
 * Runs one holdout command in this (child) process and reports its wall time and peak RSS to the
 * parent: how `report` and `compare` are timed over a big database.
 */
import { Writable } from 'node:stream';
import { main } from '../harness/cli/main.js';

let bytes = 0;
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    bytes += chunk.length;
    done();
  },
});
const t0 = performance.now();
const code = await main(process.argv.slice(2), { stdout: sink, stderr: process.stderr, env: {} });
const wallMs = performance.now() - t0;
process.send?.({ code, wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024, outputBytes: bytes });
