import { loadAnswerKey, readJsonFile } from './answer.js';
import { parseFaults } from './faults.js';
import { DEFAULT_PROFILES, parseProfiles } from './profiles.js';
import { type SimServer, startSimulator } from './server.js';

export interface SimCliArgs {
  port: number;
  host: string;
  answerKeyPath?: string;
  /** JSON file of profiles, replacing the defaults. */
  profilesPath?: string;
  /** JSON file with an array of fault rules. */
  faultsPath?: string;
  seed?: number;
}

/**
 * `holdout sim`: starts the simulator and announces it on stderr. The caller keeps the process
 * alive and calls `close()` on SIGINT; tune it at runtime through the /__sim/* control endpoints.
 */
export async function runSimulatorCli(
  args: SimCliArgs,
  io: { stderr: NodeJS.WritableStream },
): Promise<SimServer> {
  const profiles = args.profilesPath
    ? parseProfiles(readJsonFile(args.profilesPath, 'profiles'), `profiles ${args.profilesPath}`)
    : DEFAULT_PROFILES;
  const sim = await startSimulator({
    port: args.port,
    host: args.host,
    profiles,
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    ...(args.answerKeyPath ? { answerKey: loadAnswerKey(args.answerKeyPath) } : {}),
    ...(args.faultsPath
      ? { faults: parseFaults(readJsonFile(args.faultsPath, 'faults'), `faults ${args.faultsPath}`) }
      : {}),
  });
  const models = Object.keys(profiles).join(', ');
  io.stderr.write(
    `holdout simulator listening on ${sim.url} (models: ${models}) — simulated models, not real ones\n`,
  );
  return sim;
}
