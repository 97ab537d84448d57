#!/usr/bin/env node
// The bin only runs: everything else lives in the compiled CLI so start-up does no compiling.
// (argv is sliced here rather than with yargs' hideBin, which would load yargs before main decides
// whether it needs it.)
import { main } from '../dist/harness/cli/main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
