/** For tests: one real build of a port in a jail (normally the shared test jail), as the build tests all make it. */
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { effectiveOptions, type Port } from '../recipe/index.js';
import { hostMirror } from '../debian/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { buildPort, type BuildJail, type BuildPortInput, type BuildResult } from './build.js';

/**
 * Builds `port` in `jail` under `home` (output `HOME/outN`, log `HOME/logs/N.log`, no kiln dependencies, the
 * recipe's default options, 15 min at most), with `extra` over those inputs; asserts that no mount is left.
 */
export async function buildInTestJail(o: {
  readonly home: string;
  readonly jail: BuildJail;
  readonly port: Port;
  readonly n: number;
  readonly identity?: string;
  readonly extra?: Partial<BuildPortInput>;
}): Promise<{ res: BuildResult; log: string }> {
  const logFile = path.join(o.home, 'logs', `${o.n}.log`);
  const res = await buildPort({
    home: o.home,
    jail: { name: o.jail.name, path: o.jail.path, arch: o.jail.arch, release: o.jail.release },
    port: o.port,
    identity: o.identity ?? 'c'.repeat(64),
    options: effectiveOptions(o.port.recipe, {}),
    depDebs: [],
    kilnRun: [],
    jobs: 1,
    limits: { wallMs: 15 * 60_000, noOutputMs: 5 * 60_000, nproc: 4096 },
    outDir: path.join(o.home, `out${o.n}`),
    logFile,
    sourceDateEpoch: 1700000000,
    debianMirror: hostMirror(),
    ...o.extra,
  });
  assert.deepEqual(mountsUnder(o.home), [], 'no mount may be left under the home after a build');
  return { res, log: fs.readFileSync(logFile, 'utf8') };
}
