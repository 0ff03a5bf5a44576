/**
 * bench/build-step, the breakdown (BUILDSTEP_VARIANTS=1): where kiln's build step spends more than a plain chroot.
 * One kiln sandbox (user namespace, idmapped jail under the overlay, cgroup) gets hello's build dependencies (from
 * the .debs a warm-up kiln build left in the shared apt cache); then dpkg-buildpackage runs there, alternating:
 *   kiln    sb.run with a line callback writing a stamped log line per line (as build.ts does)
 *   quiet   sb.run, its output to a file inside (no Node line handling)
 *   chroot  `unshare -m -p -f` + `chroot` into the same sandbox's merged root as its host build uid (no bubblewrap,
 *           no user namespace, no cgroup; the same idmapped overlay)
 * and each again with `-nons` in a sandbox made with `userns: false` (the overlay straight over the jail, no idmapped
 * layer; root inside is host root), BUILDSTEP_ONLY picks them (default kiln,chroot,kiln-nons,chroot-nons). Each
 * with the user and system CPU seconds of the build's tree (bash `times`), and the load.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testJail, testCacheDir } from '../../src/jail/index.js';
import { debianPort, hostMirror, servedRelease, upstreamVersion } from '../../src/debian/index.js';
import { createSandbox, settleRemovals, type Sandbox, type SandboxCommand } from '../../src/sandbox/index.js';
import { debBuildWords } from '../../src/build/debian-text.js';
import { buildPort } from '../../src/build/build.js';
import { run } from '../../src/util/exec.js';

const runs = Number(process.env.BUILDSTEP_RUNS ?? 3);
const only = (process.env.BUILDSTEP_ONLY ?? 'kiln,chroot,kiln-nons,chroot-nons').split(',');
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
const words = debBuildWords({ recipe: port.recipe, options: {}, jobs: 1, withTests: false });
const dsc = stanza.files.find((f) => f.name.endsWith('.dsc'))!.name;
const srcName = `hello-${upstreamVersion(stanza.version)}`;
const env = {
  PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
  HOME: '/build/home',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  DEB_BUILD_OPTIONS: words.options.join(' '),
  DEB_BUILD_PROFILES: words.profiles.join(' '),
};
const limits = { wallMs: 3600_000, noOutputMs: 600_000, cpuSeconds: 7200, memoryBytes: 8192 * 1048576, nproc: 4096 };
const boxes: Sandbox[] = [];
const logFd = fs.openSync(path.join(home, 'kiln.log'), 'a');
try {
  const res = await buildPort({
    home,
    jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release },
    port,
    identity: 'b'.repeat(64),
    options: {},
    depDebs: [],
    kilnRun: [],
    jobs: 1,
    limits,
    outDir: path.join(home, 'out'),
    logFile: path.join(home, 'warmup.log'),
    sourceDateEpoch: 1700000000,
    debianMirror: hostMirror(),
  });
  if (!res.ok) throw new Error(`warm-up build failed in ${res.phase}: ${res.reason}`);
  /** A sandbox with hello's build dependencies installed and its source files in /build/src. */
  const prepared = async (userns: boolean): Promise<Sandbox> => {
    const b = await createSandbox({ home, jail, label: 'variants', userns });
    boxes.push(b);
    const arch = b.hostPath('/var/cache/apt/archives');
    for (const f of fs.readdirSync(path.join(home, 'cache/apt/archives')))
      if (f.endsWith('.deb')) fs.copyFileSync(path.join(home, 'cache/apt/archives', f), path.join(arch, f));
    for (const d of ['/build', '/build/home', '/build/src']) b.mkdir(d);
    for (const f of stanza.files)
      fs.copyFileSync(path.join(home, 'distfiles/by-name', f.name), b.hostPath(`/build/src/${f.name}`));
    const r = (script: string, user: 'root' | 'build') =>
      b.run({ argv: ['bash', '-ec', script], env, cwd: '/build', limits, user });
    await r(`dpkg-source --no-copy -x src/${dsc} probe >/dev/null`, 'build');
    await r(
      'DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q --no-download -o APT::Build-Profiles=nocheck /build/probe >/dev/null; rm -rf /build/probe',
      'root',
    );
    return b;
  };
  const withNs = await prepared(true);
  const noNs = only.some((v) => v.endsWith('-nons')) ? await prepared(false) : withNs;
  const prep = `rm -rf /build/r; mkdir /build/r; cd /build/r && dpkg-source --no-copy -x /build/src/${dsc} ${srcName} >/dev/null; cd ${srcName}`;
  const timed = (out: string): string =>
    `${prep}; a=$(date +%s%N); dpkg-buildpackage -b -uc -us ${out}; b=$(date +%s%N); echo "WALL $(( (b - a) / 1000000 ))"; times`;
  const parse = (o: string): string => {
    const wall = Number(/WALL (\d+)/.exec(o)![1]) / 1000;
    const t = o.trim().split('\n').at(-1)!.split(/\s+/); // children's user and system times
    return `wall ${wall.toFixed(2).padStart(6)} s  user ${t[0]}  sys ${t[1]}`;
  };
  const inSb = (s: Sandbox, script: string, extra: Partial<SandboxCommand> = {}) =>
    s.run({ argv: ['bash', '-ec', script], env, cwd: '/build', limits, ...extra });
  const kinds: Record<string, (s: Sandbox) => Promise<string>> = {
    kiln: async (s) => {
      let last = '';
      await inSb(s, timed(''), {
        onLine: (l, st) => {
          fs.writeSync(logFd, `[${new Date().toISOString()}] ${st === 'stderr' ? '! ' : ''}${l}\n`);
          last += `${l}\n`;
          if (last.length > 4096) last = last.slice(-2048);
        },
      });
      return last;
    },
    quiet: async (s) => (await inSb(s, timed('>/build/log 2>&1'))).stdout,
    chroot: async (s) => {
      const m = s.merged;
      const id = s.hostId(2000);
      const envs = Object.entries(env)
        .map(([k, v]) => `${k}='${v}'`)
        .join(' ');
      const script = timed('>/build/log 2>&1').replace(/'/g, `'\\''`);
      const outer = `mount --rbind /dev ${m}/dev && mount -t proc proc ${m}/proc && exec chroot --userspec=${id}:${id} ${m} env -i ${envs} bash -ec '${script}'`;
      return (await run('unshare', ['-m', '-p', '-f', '--propagation', 'private', 'sh', '-ec', outer])).stdout;
    },
  };
  const variants: Record<string, () => Promise<string>> = {};
  for (const [k, f] of Object.entries(kinds)) {
    variants[k] = () => f(withNs);
    variants[`${k}-nons`] = () => f(noNs);
  }
  console.log(`== build-step breakdown: hello ${stanza.version}, jail ${jail.release}, ${runs} rounds; load ${load()}`);
  for (let i = 1; i <= runs; i++)
    for (const v of only) console.log(`  ${i} ${v.padEnd(7)} ${parse(await variants[v]!())}  (load ${load()})`);
} finally {
  fs.closeSync(logFd);
  for (const b of boxes) await b.teardown();
  await settleRemovals();
  fs.rmSync(home, { recursive: true, force: true });
}
