/** bench/build, part 2: builds the example tree with one builder and prints each port's phase times. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import { REPO_ROOT, kiln, testHome } from '../../src/bulk/testing.js';

const home = await testHome('kiln-bench-build-');
try {
  const t0 = Date.now();
  const r = await kiln(home, [
    'bulk',
    '-j',
    'bookworm',
    '-p',
    path.join(REPO_ROOT, 'examples/ports'),
    '-f',
    path.join(REPO_ROOT, 'examples/pkglist.txt'),
    '-J',
    '1',
  ]);
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    process.exit(1);
  }
  const wall = (Date.now() - t0) / 1000;
  const s = openStore(home);
  const rows = s.bulks.builds(s.bulks.listBulks({ limit: 1 })[0]!.id).filter((b) => b.result === 'built');
  s.close();
  const names = [
    'fetch',
    'sandbox',
    'system-depends',
    'kiln-depends',
    'extract',
    'patch',
    'configure',
    'build',
    'install',
    'package',
  ];
  console.log(`${'port'.padEnd(26)}${names.map((n) => n.slice(0, 9).padStart(10)).join('')}${'total'.padStart(9)}`);
  for (const b of rows) {
    const ph = new Map((b.phases as { name: string; wallMs: number }[]).map((p) => [p.name, p.wallMs / 1000]));
    console.log(
      `${b.origin.padEnd(26)}${names.map((n) => (ph.has(n) ? ph.get(n)!.toFixed(2) : '-').padStart(10)).join('')}${((b.wallMs ?? 0) / 1000).toFixed(1).padStart(9)}`,
    );
  }
  console.log(
    `whole bulk: ${wall.toFixed(1)} s wall for ${rows.length} ports on ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)} (distfiles cached)`,
  );
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
