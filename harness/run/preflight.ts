/**
 * What a run checks before it creates anything in the database: every endpoint's key variable is set
 * and every scorer can be built (a bad regex, a custom module that does not load or whose factory
 * throws, a judge that is not declared). All problems are reported in one message; a config that
 * fails here leaves no run behind. (Schema-level problems, such as unknown keys, missing prices or
 * duplicate ids, are caught earlier, when the config is loaded.)
 */
import { checkScorers } from '../../scorers/index.js';
import type { JudgeService } from '../../scorers/judge/service.js';
import { type ResolvedConfig, SIMULATOR } from '../config.js';
import { endpointEnvNeeds } from '../endpoint-config.js';
import { HarnessError } from '../errors.js';

/** Throws one CONFIG_INVALID (or PROVIDER_AUTH, when keys are all that is missing) naming every problem. */
export async function preflight(config: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<void> {
  const keys: string[] = [];
  const needsKey = (base: string | undefined, replay?: boolean) => base !== SIMULATOR && !replay;
  // The key, an Entra ID token, and every ${env:…} of headers and query: each variable must be set.
  const check = (e: ResolvedConfig['candidates'][number], where: string) => {
    for (const need of endpointEnvNeeds(e)) {
      if (!env[need.env]) {
        const field = need.field === 'api_key_env' ? '' : ` (${need.field})`;
        keys.push(`${where} "${e.id}": environment variable ${need.env}${field} is not set`);
      }
    }
  };
  config.candidates.forEach((c, i) => {
    if (needsKey(c.base_url, c.replay)) check(c, `candidates[${i}]`);
  });
  (config.judges ?? []).forEach((j, i) => {
    if (needsKey(j.base_url)) check(j, `judges[${i}]`);
  });
  // Judges are only checked for existence here: no call is made.
  const judges: JudgeService = {
    has: (id) => (config.judges ?? []).some((j) => j.id === id),
    hasCandidate: (id) => config.candidates.some((c) => c.id === id),
    ask: () => Promise.reject(new Error('no judge call during the pre-run check')),
    outputOf: () => undefined,
  };
  const scorers = await checkScorers(config.scorers, { baseDir: config.baseDir, judges });
  const problems = [...keys, ...scorers];
  if (problems.length === 0) return;
  const onlyKeys = scorers.length === 0;
  throw new HarnessError(
    onlyKeys ? 'PROVIDER_AUTH' : 'CONFIG_INVALID',
    problems.length === 1
      ? problems[0]!
      : `the config has ${problems.length} problems:\n  ${problems.join('\n  ')}`,
    {
      hint: onlyKeys
        ? 'export the variables (keys are read from the environment only, never from a config or the database)'
        : 'fix them and run again; nothing was stored',
    },
  );
}
