/**
 * `holdout sim`: serves the local OpenAI-compatible simulator (harness/sim/) on loopback until Ctrl-C.
 */
import type { Argv } from 'yargs';
import { HarnessError } from '../errors.js';
import { runSimulatorCli } from '../sim/index.js';
import { type CommandIo, usageError } from './common.js';

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
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new HarnessError(
        'USAGE',
        code === 'EADDRINUSE'
          ? `port ${a.port} on ${a.host} is already in use`
          : `no permission to listen on port ${a.port}`,
        { hint: 'pass another --port (0 picks a free one)', cause: err },
      );
    }
    throw err;
  }
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return 0;
}
