import type { Argv } from 'yargs';
import { startViewServer, VIEW_HOST, type ViewServer } from '../../results/view/server.js';
import { HarnessError } from '../errors.js';
import { defaultDbPath } from '../paths.js';
import { type CommandIo, DB_OPTION, usageError, readStore } from './common.js';

export interface ViewArgs {
  db?: string;
  port?: number;
}

export function viewOptions(c: Argv) {
  return c
    .option('db', DB_OPTION)
    .option('port', { type: 'number', describe: `TCP port on ${VIEW_HOST} (default: a free port)` })
    .check((a) => {
      if (a.port !== undefined && !(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535))
        throw usageError('--port must be an integer from 0 to 65535', 'view');
      return true;
    });
}

export async function viewCommand(a: ViewArgs, io: CommandIo): Promise<number> {
  const path = a.db ?? defaultDbPath();
  // Viewing never creates a database: a mistyped path is an error, not an empty page.
  return readStore(path, async (store) => {
    let server: ViewServer;
    try {
      server = await startViewServer(store, {
        port: a.port ?? 0,
        clock: io.clock,
        log: (line) => io.stderr.write(line),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new HarnessError(
          'USAGE',
          code === 'EADDRINUSE'
            ? `port ${a.port} on ${VIEW_HOST} is already in use`
            : `no permission to listen on port ${a.port}`,
          { hint: 'pass another --port, or leave it out to get a free one', cause: err },
        );
      }
      throw err;
    }
    io.stdout.write(`${server.url}\n`);
    io.stderr.write(`holdout view: serving ${path} on ${server.url} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  });
}
