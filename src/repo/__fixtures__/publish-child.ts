// Child process of the kill test: publishes the .debs given on the command line, printing each phase line
// as it starts so the parent can SIGKILL it at a chosen instant. Usage: publish-child.ts HOME JAIL TREE DEB...
// The last line is `done MS` when the publish finished.
import { publish } from '../index.js';

const [home, jail, tree, ...debs] = process.argv.slice(2);
const started = Date.now();
await publish({ home: home!, jail: jail!, tree: tree!, arch: 'amd64', keep: 3, debs: debs.map((path) => ({ path })),
  log: (line) => process.stdout.write(`${line}\n`) });
process.stdout.write(`done ${Date.now() - started}\n`);
