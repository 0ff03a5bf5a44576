/** The process entry point: runs the CLI with this process's arguments and sets the exit code. */
import { main } from './main.js';

// A closed pipe (`kiln logs 1 misc/hello | head`) ends kiln quietly, as any Unix tool, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    else throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
