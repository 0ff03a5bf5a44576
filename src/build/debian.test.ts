/**
 * Real builds of a Debian source package (`hello` of the test jail's release) in the shared test jail: with an
 * overlay patch that changes its greeting and `debug_symbols: true`, installed with apt into a fresh root, and
 * lintian on it against Debian's own hello .deb (the same tags); then a patch that does not apply and a
 * Build-Depends that cannot be satisfied, each failing in its phase with a reason that names the port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testJail, testCacheDir } from '../jail/index.js';
import { debianPort, hostMirror, servedRelease, type DebianStanza, type ServedRelease } from '../debian/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { freshRoot } from '../repo/testing.js';
import { have, run } from '../util/exec.js';
import type { Port } from '../recipe/index.js';
import { fetchDistfiles } from '../fetch/index.js';
import { buildPort, type BuildResult } from './build.js';
import { poolFileUrl } from './debian.js';
import { layersRoot } from '../layers/index.js';
import { ccacheDir } from './ccache.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debian-build-test-'));
const IDENTITY = 'd'.repeat(64);
const MAINTAINER = 'Kiln Test <builds@kiln-test.example.org>';
fs.writeFileSync(path.join(home, 'kiln.yaml'), `maintainer: "${MAINTAINER}"\ndebug_symbols: true\n`);

let picked: Promise<ServedRelease | undefined> | undefined;
/** The newest release whose archive serves hello's files (the mirror's stable unless its pool lacks them). */
async function pick(): Promise<ServedRelease> {
  picked ??= servedRelease(path.join(testCacheDir(), 'debian-home'), ['hello'], (l) =>
    process.stdout.write(`# ${l}\n`),
  );
  const p = await picked;
  assert.ok(p, "the mirror serves hello's source files in stable or oldstable");
  return p;
}

/** The test jail of that release. */
async function jailOf(): Promise<Awaited<ReturnType<typeof testJail>>> {
  const p = await pick();
  return testJail(p.jailRelease ? { release: p.jailRelease } : {});
}

/** `hello` at its highest version in that release's suites. */
async function helloStanza(): Promise<DebianStanza> {
  return (await pick()).stanzas.get('hello')!;
}

/** An overlay-style port over `hello`: the archive's recipe plus these patches (written into a port folder). */
async function helloPort(patches: Record<string, string>, revision = 1): Promise<Port> {
  const s = await helloStanza();
  const dir = fs.mkdtempSync(path.join(home, 'port-'));
  fs.chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(patches)) fs.writeFileSync(path.join(dir, name), text);
  const base = debianPort(s, { layer: 'debian', dir, path: path.join(dir, 'port.yaml') });
  // `debian` is a getter of archive ports: a copy must carry it by name.
  return { ...base, debian: base.debian, recipe: { ...base.recipe, revision, patches: Object.keys(patches) } };
}

async function build(p: Port, out: string): Promise<BuildResult> {
  const jail = await jailOf();
  if (!fs.existsSync(path.join(home, 'distfiles'))) {
    const cache = path.join(testCacheDir(), 'distfiles');
    fs.mkdirSync(cache, { recursive: true });
    fs.symlinkSync(cache, path.join(home, 'distfiles'));
  }
  const res = await buildPort({
    home,
    jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release },
    port: p,
    identity: IDENTITY,
    options: {},
    depDebs: [],
    kilnRun: [],
    jobs: 2,
    limits: { wallMs: 15 * 60_000, noOutputMs: 5 * 60_000, nproc: 4096 },
    outDir: path.join(home, out),
    logFile: path.join(home, 'logs', `${out}.log`),
    sourceDateEpoch: 1700000000,
    debianMirror: hostMirror(),
    // Dependency layers on: the first build makes hello's, the others stack it (and check a patched control).
    layers: { root: layersRoot(home), jailIdentity: jail.path, maxBytes: 4 << 30 },
    // kiln.yaml ccache: true: hello's own compiler and autoconf caches (the second hello build hits them).
    ccache: { dir: ccacheDir(home, jail.name, 'test', 'devel/hello'), maxSize: '200M' },
  });
  assert.deepEqual(mountsUnder(home), [], 'no mount may be left under the home after a build');
  return res;
}

const logOf = (out: string): string => fs.readFileSync(path.join(home, 'logs', `${out}.log`), 'utf8');

const GREETING_PATCH = `--- a/src/hello.c
+++ b/src/hello.c
@@ -57,7 +57,7 @@
 #endif
 
   /* Having initialized gettext, get the default message. */
-  greeting_msg = _("Hello, world!");
+  greeting_msg = _("Hello from a kiln patch!");
 
   /* Even exiting has subtleties.  On exit, if any writes failed, change
      the exit status.  The /dev/full device on GNU/Linux can be used for
`;

test.after(() => fs.rmSync(home, { recursive: true, force: true }));

/** Debian's own binary .deb of `pkg` in the jail's release, from the jail's apt lists, downloaded into `dir`. */
async function debianDeb(pkg: string, dir: string): Promise<string> {
  const jail = await jailOf();
  const lists = path.join(jail.path, 'var/lib/apt/lists');
  let best: { version: string; filename: string } | undefined;
  for (const f of fs
    .readdirSync(lists)
    .filter((n) => n.endsWith(`_dists_${jail.release}_main_binary-${jail.arch}_Packages`))) {
    const stanza = fs
      .readFileSync(path.join(lists, f), 'utf8')
      .split('\n\n')
      .find((st) => new RegExp(`^Package: ${pkg}$`, 'm').test(st));
    const v = stanza && /^Version: (\S+)/m.exec(stanza)?.[1];
    const fn = stanza && /^Filename: (\S+)/m.exec(stanza)?.[1];
    if (v && fn) best = { version: v, filename: fn };
  }
  assert.ok(best, `${pkg} in the jail's ${jail.release} lists`);
  const dest = path.join(dir, path.basename(best.filename));
  const res = await fetch(`${hostMirror()}/${best.filename}`);
  assert.equal(res.status, 200);
  fs.writeFileSync(dest, Buffer.from(await res.arrayBuffer()));
  return dest;
}

/** lintian's tags on a .deb, one line each (`E: tag info`), the package's own version written as VERSION. */
async function lintianTags(deb: string, version: string): Promise<string[]> {
  const r = await run('lintian', ['--no-tag-display-limit', '--display-level', '>=pedantic', deb], {
    allowFailure: true,
    timeoutMs: 10 * 60_000,
  });
  return r.stdout
    .split('\n')
    .filter((l) => /^[EWIPX]: /.test(l))
    .map((l) => l.replace(/^(\w): [^:]+: /, '$1: ').replaceAll(version, 'VERSION'))
    .sort();
}

test("Debian's hello rebuilt with an overlay patch: +kiln1 .deb, dbgsym apart, installed by apt, lintian as on Debian's", {
  timeout: 25 * 60_000,
}, async (t) => {
  const stanza = await helloStanza();
  t.diagnostic(`hello ${stanza.version} of ${(await pick()).release}`);
  const res = await build(await helloPort({ 'greeting.patch': GREETING_PATCH }), 'ok');
  assert.ok(res.ok, `hello failed in ${res.phase}: ${res.reason}\n${logOf('ok').slice(-4000)}`);
  assert.match(logOf('ok'), /dependency layer [0-9a-f]{16}: not made yet/, "hello's Build-Depends go into a layer");
  assert.match(logOf('ok'), /Build-Depends satisfied by dependency layer/, 'and the build needs nothing more');
  t.diagnostic(`phases: ${res.timings.map((x) => `${x.name} ${(x.wallMs / 1000).toFixed(1)} s`).join(', ')}`);
  const version = `${stanza.version}+kiln1`;
  assert.deepEqual(
    res.debs.map((d) => path.basename(d)),
    [`hello_${version}_amd64.deb`],
  );
  // debug_symbols: true: the -dbgsym package is kept, apart from the .debs (for a debug suite).
  assert.deepEqual(
    (res.debugDebs ?? []).map((d) => path.relative(path.join(home, 'ok'), d)),
    [`dbgsym/hello-dbgsym_${version}_amd64.deb`],
  );
  assert.deepEqual(
    res.timings.map((x) => x.name),
    ['port-files', 'fetch', 'layer', 'sandbox', 'extract', 'patch', 'version', 'build-depends', 'build', 'package'],
  );
  const deb = res.debs[0]!;
  const f = async (name: string): Promise<string> => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
  assert.equal(await f('Version'), version);
  assert.equal(await f('X-Kiln-Identity'), '', 'no field lintian calls unknown');
  assert.match(await f('Depends'), /libc6/);
  assert.match(logOf('ok'), /DEB_BUILD_OPTIONS|dpkg-buildpackage/);
  // The changelog kiln wrote is the package's: its top entry is kiln's, by the maintainer of kiln.yaml, and the
  // archive's changelog follows whole (down to hello's first Debian upload; debhelper would trim it).
  const changelog = (
    await run('sh', [
      '-c',
      `dpkg-deb --fsys-tarfile ${deb} | tar -xOf - ./usr/share/doc/hello/changelog.Debian.gz | gzip -dc`,
    ])
  ).stdout;
  assert.match(changelog, new RegExp(`^hello \\(${version.replaceAll('+', '\\+')}\\) \\S+; urgency=`));
  assert.match(changelog, /Rebuilt by kiln \(identity d{16}\)/);
  assert.ok(changelog.includes(` -- ${MAINTAINER}  `), changelog.slice(0, 400));
  assert.ok(
    changelog.endsWith(`\n\n${await debianFile('debian/changelog')}`),
    "the archive's changelog follows, whole",
  );
  assert.doesNotMatch(changelog, /Older entries have been removed/);

  // lintian: the same tags as on Debian's own build of the same source.
  if (await have('lintian')) {
    const theirs = await debianDeb('hello', fs.mkdtempSync(path.join(home, 'debian-')));
    const [mine, debian] = [await lintianTags(deb, version), await lintianTags(theirs, stanza.version)];
    t.diagnostic(`lintian on Debian's hello: ${debian.join('; ') || '(clean)'}`);
    assert.deepEqual(mine, debian);
  } else t.diagnostic('lintian is not installed (scripts/setup-debian-deps.sh): not compared');

  // apt in a fresh Debian root, from a local repository of the built .deb, prefers kiln's version and runs it.
  const root = await freshRoot((await pick()).release);
  try {
    const repo = path.join(root.dir, 'srv/kiln');
    fs.mkdirSync(repo, { recursive: true });
    fs.copyFileSync(deb, path.join(repo, path.basename(deb)));
    fs.writeFileSync(
      path.join(repo, 'Packages'),
      (await run('dpkg-scanpackages', ['--multiversion', '.'], { cwd: repo })).stdout,
    );
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list'), 'deb [trusted=yes] file:/srv/kiln ./\n');
    await root.exec(['apt-get', 'update', '-q']);
    await root.exec(['apt-get', 'install', '-y', '-q', 'hello']);
    assert.match(
      (await root.exec(['apt-cache', 'policy', 'hello'])).stdout,
      new RegExp(`Installed: ${version.replaceAll('+', '\\+')}`),
    );
    assert.equal((await root.exec(['hello'])).stdout.trim(), 'Hello from a kiln patch!');
  } finally {
    root.dispose();
  }
});

test('hello again with its ccache and autoconf cache warm: the same .deb, configure answered from the cache', {
  timeout: 15 * 60_000,
}, async () => {
  const first = path.join(home, 'ok');
  assert.ok(fs.existsSync(first), 'the first hello build ran');
  const res = await build(await helloPort({ 'greeting.patch': GREETING_PATCH }), 'warm');
  assert.ok(res.ok, `hello failed in ${res.phase}: ${res.reason}\n${logOf('warm').slice(-4000)}`);
  assert.match(logOf('ok'), /creating cache \/kiln\/ccache\/kiln-debian-configure\/[0-9a-f]{64}\.cache/);
  assert.match(logOf('warm'), /loading cache \/kiln\/ccache\/kiln-debian-configure\/[0-9a-f]{64}\.cache/);
  assert.match(logOf('warm'), /checking for a BSD-compatible install\.\.\. \(cached\)/);
  const hits = /Hits:\s+(\d+)/.exec(logOf('warm'));
  assert.ok(hits && Number(hits[1]) > 0, `ccache reports hits on the warm build:\n${logOf('warm').slice(-2000)}`);
  for (const deb of res.debs) {
    const before = path.join(first, path.basename(deb));
    assert.ok(fs.readFileSync(deb).equals(fs.readFileSync(before)), `${path.basename(deb)}: the same bytes as cold`);
  }
});

test('a patch that does not apply fails in phase patch, naming the port and the patch', {
  timeout: 10 * 60_000,
}, async () => {
  const stale = GREETING_PATCH.replace(
    '-  greeting_msg = _("Hello, world!");',
    '-  greeting_msg = _("Good morning!");',
  );
  const res = await build(await helloPort({ 'stale.patch': stale }), 'stale');
  assert.equal(res.ok, false);
  assert.equal(res.phase, 'patch');
  assert.equal(res.failure, 'patch');
  assert.match(res.reason ?? '', /stale\.patch/);
  assert.match(res.reason ?? '', /devel\/hello/);
});

/** A file of hello's `debian/` folder as the archive has it (from its `.debian.tar`, fetched into the cache). */
async function debianFile(name: string): Promise<string> {
  const s = await helloStanza();
  const tarball = s.files.find((f) => /\.debian\.tar\./.test(f.name))!;
  const [got] = await fetchDistfiles(
    {
      origin: 'devel/hello',
      sources: [
        { url: poolFileUrl(hostMirror(), s.directory, tarball.name), sha256: tarball.sha256, filename: tarball.name },
      ],
    },
    { home, debianMirror: hostMirror() },
  );
  return (await run('tar', ['-xOf', got!.path, name])).stdout;
}

/** A patch adding a Build-Depends nothing provides to hello's `debian/control` (made from the package's own control). */
async function unsatisfiablePatch(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(home, 'control-'));
  const control = await debianFile('debian/control');
  assert.match(control, /^Build-Depends: /m);
  fs.writeFileSync(path.join(dir, 'a'), control);
  fs.writeFileSync(path.join(dir, 'b'), control.replace(/^(Build-Depends: .*)$/m, '$1, kiln-no-such-package'));
  const diff = await run('diff', ['-u', '--label', 'a/debian/control', '--label', 'b/debian/control', 'a', 'b'], {
    cwd: dir,
    allowFailure: true,
  });
  assert.equal(diff.status, 1);
  return diff.stdout;
}

test("a Build-Depends apt cannot satisfy fails in phase build-depends with apt's reason", {
  timeout: 10 * 60_000,
}, async (t) => {
  const res = await build(await helloPort({ 'bd.patch': await unsatisfiablePatch() }), 'bd');
  assert.equal(res.ok, false, 'the build must fail');
  assert.equal(res.phase, 'build-depends', `${res.phase}: ${res.reason}\n${logOf('bd').slice(-3000)}`);
  assert.equal(res.failure, 'depends');
  assert.match(
    logOf('bd'),
    /dependency layer [0-9a-f]{16} .*: reused/,
    "the archive's Build-Depends come from the layer",
  );
  assert.doesNotMatch(logOf('bd'), /satisfied by dependency layer/, 'the patched control is checked again, and fails');
  t.diagnostic(`reason: ${res.reason}`);
  assert.match(res.reason ?? '', /devel\/hello/);
  assert.match(res.reason ?? '', /kiln-no-such-package/);
});
