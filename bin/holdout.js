#!/usr/bin/env node
// The bin only runs: everything else lives in the compiled CLI so start-up does no compiling.
import { hideBin } from 'yargs/helpers';
import { main } from '../dist/harness/cli/main.js';

process.exitCode = await main(hideBin(process.argv), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
