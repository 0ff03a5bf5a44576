/**
 * Child process of testJail(): runs under `flock` on the cache's lock and makes the test jail unless a process
 * that held the lock before made it meanwhile. Usage: testing-worker.ts HOME NAME SPEC_JSON
 */
import fs from 'node:fs';
import { openStore } from '../store/index.js';
import { removeTree } from '../sandbox/index.js';
import { createJail, jailPaths, removeStaleTemps } from './jail.js';
import type { TestJailSpec } from './testing.js';

const [home, name, specJson] = process.argv.slice(2);
if (!home || !name || !specJson) {
  process.stderr.write('usage: testing-worker.ts HOME NAME SPEC_JSON\n');
  process.exit(2);
}
const spec = JSON.parse(specJson) as TestJailSpec;
const store = openStore(home);
try {
  const j = store.getJail(name);
  if (j && fs.existsSync(`${j.path}/usr/bin`)) process.exit(0);
  if (j) store.deleteJail(name); // recorded but its folder is gone: make it again
  await removeTree(jailPaths(home, name).dir); // a folder without a record is an unfinished earlier attempt
  await removeStaleTemps(home, name, true); // we hold the lock: every temporary folder is a dead creator's
  await createJail({ home, store, name, release: spec.release, arch: spec.arch, include: spec.include ?? [] }, (line) =>
    process.stdout.write(`${line}\n`),
  );
} finally {
  store.close();
}
