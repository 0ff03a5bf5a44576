/** bench/layers, the measuring part (see bench/layers). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import { REPO_ROOT } from '../../src/bulk/testing.js';
import { run } from '../../src/util/exec.js';
import { ensureSbuild, sbuildOnce } from './sbuild.js';

const env = process.env;
const home = env.LAYERS_HOME ?? '/var/tmp/kiln-bench-layers';
const release = env.LAYERS_RELEASE ?? 'bookworm';
const origin = env.LAYERS_PORT ?? 'devel/hello';
const runs = Number(env.LAYERS_RUNS ?? '3');
const sbuildRuns = Number(env.LAYERS_SBUILD ?? '2');
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
const kiln = (args: string[], allowFailure = false) =>
  run(process.execPath, [path.join(REPO_ROOT, 'bin/kiln.js'), ...args, '--home', home], {
    cwd: REPO_ROOT,
    timeoutMs: 4 * 3600_000,
    allowFailure,
  });

fs.mkdirSync(home, { recursive: true });
const s0 = openStore(home);
const haveJail = s0.getJail('lb');
const haveTree = s0.getTree('deb');
s0.close();
console.log(`== bench/layers in ${home}; ${os.availableParallelism()} cores, load ${load()}`);
if (!haveJail) await kiln(['jail', 'create', 'lb', '--release', release]);
if (!haveTree) await kiln(['tree', 'add', 'deb', '--debian', release]);

/** One `bulk -C` of the port; its wall and its time outside the build phase, seconds. */
async function once(what: string): Promise<{ wall: number; outside: number }> {
  await kiln(['bulk', '-j', 'lb', '-p', 'deb', '-C', '-J', '1', origin]);
  const s = openStore(home);
  try {
    const b = s.bulks.listBulks({ limit: 1 })[0]!;
    const row = s.bulks.builds(b.id).find((x) => x.origin === origin && x.result === 'built');
    if (!row) throw new Error(`${origin} did not build; see ${home}/logs`);
    const phases = row.phases as { name: string; wallMs: number }[];
    const build = phases.find((p) => p.name === 'build')?.wallMs ?? 0;
    const wall = (row.wallMs ?? 0) / 1000;
    const outside = ((row.wallMs ?? 0) - build) / 1000;
    const top = phases
      .filter((p) => p.name !== 'build' && p.wallMs >= 100)
      .map((p) => `${p.name} ${(p.wallMs / 1000).toFixed(1)}`)
      .join(', ');
    console.log(
      `   ${what}: build ${wall.toFixed(1)} s, outside dpkg-buildpackage ${outside.toFixed(1)} s (${top}); load ${load()}`,
    );
    return { wall, outside };
  } finally {
    s.close();
  }
}

fs.writeFileSync(path.join(home, 'kiln.yaml'), 'cache:\n  layers_mb: 0\n');
const plain = await once('no layers    ');
fs.writeFileSync(path.join(home, 'kiln.yaml'), 'cache:\n  layers_mb: 8192\n');
await kiln(['clean', 'layers']);
await once('layer made   ');
const warm: { wall: number; outside: number }[] = [];
for (let i = 0; i < runs; i++) warm.push(await once(`layer reused ${i + 1}`));
const best = (xs: number[]): number => Math.min(...xs);
console.log(
  `   best with the layer: build ${best(warm.map((w) => w.wall)).toFixed(1)} s, outside ${best(warm.map((w) => w.outside)).toFixed(1)} s (no layers: ${plain.outside.toFixed(1)} s outside)`,
);
// kiln.yaml ccache: true: the port's compiler and autoconf caches (cold once, then warm), over the same layer.
const cached: { wall: number; outside: number }[] = [];
if (runs > 0) {
  fs.writeFileSync(path.join(home, 'kiln.yaml'), 'ccache: true\ncache:\n  layers_mb: 8192\n');
  await kiln(['clean', 'ccache']);
  await once('ccache cold  ');
  for (let i = 0; i < runs; i++) cached.push(await once(`ccache warm ${i + 1} `));
  fs.writeFileSync(path.join(home, 'kiln.yaml'), 'cache:\n  layers_mb: 8192\n');
}

if (sbuildRuns > 0) {
  await ensureSbuild(release);
  const times: number[] = [];
  for (let i = 0; i < sbuildRuns; i++) {
    const r = await sbuildOnce(home, 'deb', origin.split('/')[1]!, release);
    console.log(
      `   sbuild ${origin.split('/')[1]} ${i + 1}: ${r.seconds.toFixed(1)} s (exit ${r.status}); load ${load()}`,
    );
    if (r.status === 0) times.push(r.seconds);
  }
  if (times.length > 0) {
    console.log(
      `   kiln with the layer / sbuild (best of each): ${(best(warm.map((w) => w.wall)) / best(times)).toFixed(2)}`,
    );
    if (cached.length > 0)
      console.log(
        `   kiln with the layer and ccache warm / sbuild (best of each): ${(best(cached.map((w) => w.wall)) / best(times)).toFixed(2)}`,
      );
  }
}
