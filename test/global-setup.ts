import { execFileSync } from 'node:child_process';

/** Tests that spawn the real `holdout` bin need dist/ to match the sources: build once per run. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
