/**
 * bench/build-step, the measuring part (see bench/build-step). kiln's side is `buildPort` of an archive port over
 * hello (its `build` phase from the build's timings); the plain side is dpkg-buildpackage run by `chroot` in an
 * `unshare -m -p -f` over an overlay of the same jail root, /dev bound and /proc mounted in the private namespace
 * (nothing is left mounted when it exits). The overlay gets the build dependencies with `apt-get build-dep` from
 * the .debs kiln's first build put in its shared apt cache (no network).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testJail, testCacheDir } from '../../src/jail/index.js';
import { debianPort, hostMirror, servedRelease, upstreamVersion } from '../../src/debian/index.js';
import { settleRemovals } from '../../src/sandbox/index.js';
import { debBuildWords } from '../../src/build/debian-text.js';
import { buildPort } from '../../src/build/build.js';
import { run } from '../../src/util/exec.js';

const runs = Number(process.env.BUILDSTEP_RUNS ?? 5);
const jobs = Number(process.env.BUILDSTEP_JOBS ?? 1);
const diskMb = process.env.BUILDSTEP_DISK_MB ? Number(process.env.BUILDSTEP_DISK_MB) : undefined;
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const served = await servedRelease(path.join(testCacheDir(), 'debian-home'), ['hello']);
if (!served) throw new Error("the mirror serves hello's files in neither stable nor oldstable");
const jail = await testJail(served.jailRelease ? { release: served.jailRelease } : {});
const stanza = served.stanzas.get('hello')!;
const home = fs.mkdtempSync(path.join('/var/tmp', 'kiln-bench-buildstep-'));
fs.writeFileSync(path.join(home, 'kiln.yaml'), 'maintainer: "Kiln Bench <bench@kiln-bench.example.org>"\n');
fs.mkdirSync(path.join(home, 'distfiles'));
const portDir = path.join(home, 'port');
fs.mkdirSync(portDir);
const base = debianPort(stanza, { layer: 'debian', dir: portDir, path: path.join(portDir, 'port.yaml') });
const port = { ...base, debian: base.debian };
const words = debBuildWords({ recipe: port.recipe, options: {}, jobs, withTests: false });
const plainRoot = path.join(home, 'plain');

/** One kiln build; returns its `build` phase's wall ms. */
async function kilnBuild(n: number): Promise<number> {
  const logFile = path.join(home, 'logs', `kiln-${n}.log`);
  const res = await buildPort({
    home,
    jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release },
    port,
    identity: 'b'.repeat(64),
    options: {},
    depDebs: [],
    kilnRun: [],
    jobs,
    limits: {
      wallMs: 3600_000,
      noOutputMs: 600_000,
      cpuSeconds: 7200,
      memoryBytes: 8192 * 1048576,
      ...(diskMb !== undefined ? { diskBytes: diskMb * 1048576 } : {}),
    },
    outDir: path.join(home, 'out', `kiln-${n}`),
    logFile,
    sourceDateEpoch: 1700000000,
    debianMirror: hostMirror(),
  });
  if (!res.ok)
    throw new Error(
      `kiln build ${n} failed in ${res.phase}: ${res.reason}\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`,
    );
  return res.timings.find((t) => t.name === 'build')!.wallMs;
}

const dsc = stanza.files.find((f) => f.name.endsWith('.dsc'))!.name;
const srcName = `hello-${upstreamVersion(stanza.version)}`;
/** A shell command run in the plain chroot (private mount + pid namespaces), as root or as uid 2000. */
function inChroot(script: string, user: 'root' | 'build'): Promise<{ stdout: string }> {
  const m = path.join(plainRoot, 'merged');
  const who = user === 'root' ? '' : '--userspec=2000:2000';
  const env = [
    'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    'HOME=/build/home',
    'LANG=C.UTF-8',
    'LC_ALL=C.UTF-8',
    'TZ=UTC',
    `DEB_BUILD_OPTIONS='${words.options.join(' ')}'`,
    `DEB_BUILD_PROFILES='${words.profiles.join(' ')}'`,
  ].join(' ');
  const outer = [
    `mount --rbind /dev ${m}/dev`,
    `mount -t proc proc ${m}/proc`,
    `exec chroot ${who} ${m} env -i ${env} sh -ec '${script.replace(/'/g, `'\\''`)}'`,
  ].join(' && ');
  return run('unshare', ['-m', '-p', '-f', '--propagation', 'private', 'sh', '-ec', outer], {
    timeoutMs: 3600_000,
  });
}

/** The overlay over the jail root, hello's build dependencies installed from kiln's apt cache. */
async function plainSetup(): Promise<void> {
  for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(plainRoot, d), { recursive: true });
  await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${jail.path},upperdir=${plainRoot}/upper,workdir=${plainRoot}/work`,
    `${plainRoot}/merged`,
  ]);
  const m = path.join(plainRoot, 'merged');
  const archives = path.join(m, 'var/cache/apt/archives');
  for (const f of fs.readdirSync(path.join(home, 'cache/apt/archives')))
    if (f.endsWith('.deb')) fs.copyFileSync(path.join(home, 'cache/apt/archives', f), path.join(archives, f));
  fs.mkdirSync(path.join(m, 'build/home'), { recursive: true });
  fs.mkdirSync(path.join(m, 'build/src'));
  for (const f of stanza.files)
    fs.copyFileSync(path.join(home, 'distfiles/by-name', f.name), path.join(m, 'build/src', f.name));
  await run('chown', ['-R', '2000:2000', path.join(m, 'build')]);
  await inChroot(`cd /build && dpkg-source --no-copy -x src/${dsc} probe >/dev/null`, 'build');
  await inChroot(
    'export DEBIAN_FRONTEND=noninteractive; apt-get build-dep -y -q --no-download -o APT::Build-Profiles=nocheck /build/probe >/dev/null && rm -rf /build/probe',
    'root',
  );
}

/** One plain build (fresh unpack, untimed; dpkg-buildpackage timed); wall ms. */
async function plainBuild(n: number): Promise<number> {
  await inChroot(
    `rm -rf /build/r; mkdir /build/r; cd /build/r && dpkg-source --no-copy -x /build/src/${dsc} ${srcName} >/dev/null`,
    'build',
  );
  const r = await inChroot(
    `cd /build/r/${srcName} && a=$(date +%s%N) && dpkg-buildpackage -b -uc -us >/build/plain-${n}.log 2>&1 && b=$(date +%s%N) && echo $(( (b - a) / 1000000 ))`,
    'build',
  );
  return Number(r.stdout.trim());
}

const stats = (xs: number[]): { best: number; median: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[0]!, median: s[Math.floor((s.length - 1) / 2)]! };
};
const sec = (ms: number): string => (ms / 1000).toFixed(2).padStart(6);
console.log(
  `== bench/build-step: hello ${stanza.version} in jail ${jail.release}/${jail.arch}, ${runs} runs each, ${os.availableParallelism()} cores, DEB_BUILD_OPTIONS="${words.options.join(' ')}", kiln disk limit ${diskMb !== undefined ? `${diskMb} MiB (loop ext4)` : 'none'}; load ${load()}`,
);
const k: number[] = [];
const p: number[] = [];
try {
  // A warm-up kiln build fills the distfile and apt caches; the plain root is made from them.
  await kilnBuild(0);
  await plainSetup();
  await plainBuild(0);
  for (let i = 1; i <= runs; i++) {
    k.push(await kilnBuild(i));
    console.log(`  run ${i}: kiln build phase ${sec(k.at(-1)!)} s  (load ${load()})`);
    p.push(await plainBuild(i));
    console.log(`  run ${i}: plain chroot      ${sec(p.at(-1)!)} s  (load ${load()})`);
  }
  const ks = stats(k);
  const ps = stats(p);
  console.log(`  kiln : best ${sec(ks.best)} s, median ${sec(ks.median)} s`);
  console.log(`  plain: best ${sec(ps.best)} s, median ${sec(ps.median)} s`);
  console.log(
    `  kiln / plain: best ${(ks.best / ps.best).toFixed(3)}, median ${(ks.median / ps.median).toFixed(3)} (goal <= 1.02); load ${load()}`,
  );
} finally {
  await run('umount', [path.join(plainRoot, 'merged')], { allowFailure: true });
  await settleRemovals();
  if (!process.env.BUILDSTEP_KEEP) fs.rmSync(home, { recursive: true, force: true });
  else console.log(`  kept ${home}`);
}
