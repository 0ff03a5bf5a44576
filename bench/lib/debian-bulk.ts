/**
 * bench/debian-bulk, the measuring part (see bench/debian-bulk for what it does and its environment).
 * Prints, per bulk: packages built, wall time, packages/hour, and the time outside `dpkg-buildpackage` per package
 * (each build's wall time minus its `build` phase); then the sbuild comparison.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import { REPO_ROOT } from '../../src/bulk/testing.js';
import { run } from '../../src/util/exec.js';
import { hostMirror } from '../../src/debian/index.js';
import { ensureSbuild, sbuildOnce } from './sbuild.js';

const env = process.env;
const home = env.DEBBULK_HOME ?? '/tmp/kiln-bench-debian-bulk';
const release = env.DEBBULK_RELEASE ?? '';
const root = env.DEBBULK_ROOT ?? 'libs/libyaml';
const depth = env.DEBBULK_DEPTH ?? '1';
const limit = Number(env.DEBBULK_LIMIT ?? '0');
const sbuildN = Number(env.DEBBULK_SBUILD ?? '5');
/** Leave out sources whose files (orig tarball, Debian part, .dsc) take more than this many KiB (0: none). */
const maxKb = Number(env.DEBBULK_MAX_SOURCE_KB ?? '0');
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
const kiln = async (
  args: string[],
  allowFailure = false,
): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  run(process.execPath, [path.join(REPO_ROOT, 'bin/kiln.js'), ...args, '--home', home], {
    cwd: REPO_ROOT,
    timeoutMs: 48 * 3600_000,
    allowFailure,
  });

fs.mkdirSync(home, { recursive: true });
const jailName = 'deb-bench';
const store0 = openStore(home);
const haveJail = store0.getJail(jailName);
const haveTree = store0.getTree('deb');
store0.close();
console.log(`== bench/debian-bulk in ${home}; ${os.availableParallelism()} cores, load ${load()}`);
if (!haveJail) {
  const t0 = Date.now();
  await kiln(['jail', 'create', jailName, ...(release ? ['--release', release] : [])]);
  console.log(`   jail ${jailName} made in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const store1 = openStore(home);
const jail = store1.getJail(jailName)!;
store1.close();
if (!haveTree) {
  const t0 = Date.now();
  await kiln(['tree', 'add', 'deb', '--debian', jail.release]);
  console.log(`   tree deb (Debian ${jail.release}) indexed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

// The set: each ROOT (comma-separated) and what build-depends on it (--rdeps, DEPTH levels), in plan order.
const origins: string[] = (env.DEBBULK_ORIGINS ?? '').split(/\s+/).filter(Boolean);
for (const r of origins.length > 0 ? [] : root.split(',').filter(Boolean)) {
  const plan = JSON.parse(
    (await kiln(['bulk', '-n', '--json', '-j', jailName, '-p', 'deb', '--rdeps', r, '--rdeps-depth', depth, r], true))
      .stdout,
  ) as { build: string[] };
  for (const o of plan.build) if (!origins.includes(o)) origins.push(o);
}
// The tree's sources.json: SOURCE → [directory, "NAME SHA256 SIZE" lines, ...].
const sources = JSON.parse(fs.readFileSync(path.join(home, 'trees', 'deb', 'sources.json'), 'utf8')) as Record<
  string,
  [string, string]
>;
const filesOf = (o: string): { name: string; size: number }[] =>
  (sources[o.split('/')[1]!]?.[1] ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ name: l.split(' ')[0]!, size: Number(l.split(' ')[2] ?? 0) }));
if (maxKb > 0) {
  const kb = (o: string): number => filesOf(o).reduce((n, f) => n + f.size, 0) / 1024;
  const big = origins.filter((o) => kb(o) > maxKb);
  for (const o of big) origins.splice(origins.indexOf(o), 1);
  console.log(`   left out, over ${maxKb} KiB of sources: ${big.join(' ') || 'none'}`);
}
if (env.DEBBULK_SERVED === '1') {
  // Only sources whose every file the mirror serves (a partial mirror fails them in fetch otherwise).
  const mirror = hostMirror().replace(/\/+$/, '');
  const missing: string[] = [];
  for (const o of [...origins]) {
    const dir = sources[o.split('/')[1]!]?.[0] ?? '';
    for (const f of filesOf(o)) {
      const r = await fetch(`${mirror}/${dir}/${f.name}`, { method: 'HEAD' }).catch(() => undefined);
      if (r?.status !== 200) {
        missing.push(o);
        origins.splice(origins.indexOf(o), 1);
        break;
      }
    }
  }
  console.log(`   left out, not served by the mirror: ${missing.join(' ') || 'none'}`);
}
if (limit > 0) origins.splice(limit);
console.log(
  env.DEBBULK_ORIGINS
    ? `   the set: ${origins.length} source packages (DEBBULK_ORIGINS): ${origins.join(' ')}`
    : `   the set: ${origins.length} source packages (${root} and its reverse build dependencies, depth ${depth}${limit > 0 ? `, the first ${limit}: a SHORT run` : ''})`,
);
if (origins.length === 0) {
  console.error('nothing to build');
  process.exit(1);
}

/** One bulk of the set; prints its figures; returns per-origin wall seconds. */
async function bulk(what: string, extra: string[]): Promise<Map<string, number>> {
  const t0 = Date.now();
  const r = await kiln(['bulk', '-j', jailName, '-p', 'deb', '-J', '2', ...extra, ...origins], true);
  const wall = (Date.now() - t0) / 1000;
  const s = openStore(home);
  const out = new Map<string, number>();
  try {
    const b = s.bulks.listBulks({ limit: 1 })[0]!;
    const rows = s.bulks.builds(b.id).filter((x) => x.result === 'built');
    let outside = 0;
    let hits = 0;
    let made = 0;
    let installS = 0;
    for (const x of rows) {
      const logFile = x.log ? path.join(home, 'logs', x.log) : '';
      const log = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      if (/dependency layer [0-9a-f]{16} .*: reused/.test(log)) hits += 1;
      if (/dependency layer [0-9a-f]{16}: not made yet/.test(log)) made += 1;
      for (const p of x.phases as { name: string; wallMs: number }[])
        if (['layer', 'build-depends', 'system-depends', 'kiln-depends'].includes(p.name)) installS += p.wallMs / 1000;
      const build = (x.phases as { name: string; wallMs: number }[]).find((p) => p.name === 'build')?.wallMs ?? 0;
      outside += ((x.wallMs ?? 0) - build) / 1000;
      out.set(x.origin, (x.wallMs ?? 0) / 1000);
    }
    const failed = s.bulks.builds(b.id).filter((x) => x.result === 'failed').length;
    console.log(
      `   ${what}: ${rows.length} built, ${failed} failed in ${wall.toFixed(0)} s wall (exit ${r.status}): ` +
        `${(rows.length / (wall / 3600)).toFixed(1)} packages/hour, ${(outside / Math.max(1, rows.length)).toFixed(1)} s outside dpkg-buildpackage per package; load ${load()}`,
    );
    console.log(
      `     dependency layers: ${hits} reused, ${made} made, ${rows.length - hits - made} without (kiln-built build dependencies); ` +
        `dependency phases (layer, build-depends) ${installS.toFixed(0)} s in all, ${(installS / Math.max(1, rows.length)).toFixed(1)} s per package`,
    );
  } finally {
    s.close();
  }
  return out;
}

fs.writeFileSync(path.join(home, 'kiln.yaml'), 'ccache: true\n');
// Cold: no dependency layer and no compiler cache yet (the apt package cache stays: downloads are not measured).
await kiln(['clean', 'layers']);
await kiln(['clean', 'ccache']);
const cold = await bulk('cold (-J 2, no layers, no ccache)', ['-C']);
const warm = await bulk('warm (-J 2, everything rebuilt with -C; ccache and any dependency layers warm)', ['-C']);

// sbuild, unshare mode, one package at a time, for the first N of the set that kiln built.
if (sbuildN > 0) {
  await ensureSbuild(jail.release);
  const picked = [...cold.keys()].slice(0, sbuildN);
  let kilnS = 0;
  let warmS = 0;
  let sbuildS = 0;
  for (const origin of picked) {
    const src = origin.split('/')[1]!;
    const { seconds: s, status } = await sbuildOnce(home, 'deb', src, jail.release);
    const r = { status };
    console.log(
      `   sbuild ${src}: ${s.toFixed(0)} s (exit ${r.status}); kiln's build of it: cold ${cold.get(origin)!.toFixed(0)} s, warm ${(warm.get(origin) ?? 0).toFixed(0)} s; load ${load()}`,
    );
    if (r.status === 0) {
      sbuildS += s;
      kilnS += cold.get(origin)!;
      warmS += warm.get(origin) ?? 0;
    }
  }
  if (sbuildS > 0)
    console.log(
      `   kiln / sbuild over the packages both built: cold ${(kilnS / sbuildS).toFixed(2)}, warm ${(warmS / sbuildS).toFixed(2)}; load ${load()}`,
    );
}
