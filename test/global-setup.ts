import { execFileSync } from 'node:child_process';

/**
 * Tests that spawn the real `holdout` bin need dist/ to match the sources: build once per run.
 * HOLDOUT_TEST_NO_BUILD=1 skips it for unit-test runs that spawn nothing (parallel work in one tree).
 */
export default function setup(): void {
  if (process.env.HOLDOUT_TEST_NO_BUILD === '1') return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
