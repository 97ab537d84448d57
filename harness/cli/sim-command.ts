/**
 * `holdout sim`: serves the local OpenAI-compatible simulator (harness/sim/) on loopback until Ctrl-C.
 */
import type { Argv } from 'yargs';
import { runSimulatorCli } from '../sim/index.js';
import { type CommandIo, listenError, untilStopped, usageError } from './common.js';

export interface SimArgs {
  port: number;
  host: string;
  answerKey?: string;
  profiles?: string;
}

export function simOptions(c: Argv) {
  return c
    .option('port', { type: 'number', default: 8787, describe: 'TCP port (0: any free port)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'loopback only' })
    .option('answer-key', { type: 'string', describe: 'answer key JSON (prompt key → answer)' })
    .option('profiles', { type: 'string', describe: 'model profiles JSON' })
    .check((a) => {
      if (!(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535))
        throw usageError('--port must be an integer from 0 to 65535', 'sim');
      return true;
    });
}

export async function simCommand(a: SimArgs, io: CommandIo): Promise<number> {
  let server: Awaited<ReturnType<typeof runSimulatorCli>>;
  try {
    server = await runSimulatorCli(
      { port: a.port, host: a.host, answerKeyPath: a.answerKey, profilesPath: a.profiles },
      { stderr: io.stderr },
    );
  } catch (err) {
    throw listenError(err, a.host, a.port, 'pass another --port (0 picks a free one)');
  }
  await untilStopped(io.signal);
  await server.close();
  return 0;
}
