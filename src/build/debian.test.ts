/**
 * Real builds of a Debian source package (bookworm's `hello`) in the shared test jail: with an overlay patch that
 * changes its greeting, installed with apt into a fresh root; then a patch that does not apply and a Build-Depends
 * that cannot be satisfied, each failing in its phase with a reason that names the port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testJail, testCacheDir } from '../jail/index.js';
import { debianPort, hostMirror, loadSourcesIndex, type DebianStanza } from '../debian/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { freshRoot } from '../repo/testing.js';
import { run } from '../util/exec.js';
import type { Port } from '../recipe/index.js';
import { buildPort, type BuildResult } from './build.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debian-build-test-'));
const IDENTITY = 'd'.repeat(64);

/** bookworm's `hello`, from the archive's Sources index (cached under the test cache, downloaded once). */
async function helloStanza(): Promise<DebianStanza> {
  const idx = await loadSourcesIndex({ home: path.join(testCacheDir(), 'debian-home'), mirror: hostMirror(), release: 'bookworm' });
  const s = idx.byName('hello');
  assert.ok(s, 'hello is in bookworm');
  return s;
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
  const jail = await testJail();
  if (!fs.existsSync(path.join(home, 'distfiles'))) {
    const cache = path.join(testCacheDir(), 'distfiles');
    fs.mkdirSync(cache, { recursive: true });
    fs.symlinkSync(cache, path.join(home, 'distfiles'));
  }
  const res = await buildPort({
    home, jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release }, port: p, identity: IDENTITY,
    options: {}, depDebs: [], kilnRun: [], jobs: 2, limits: { wallMs: 15 * 60_000, noOutputMs: 5 * 60_000, nproc: 4096 },
    outDir: path.join(home, out), logFile: path.join(home, 'logs', `${out}.log`), sourceDateEpoch: 1700000000, debianMirror: hostMirror(),
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

test('Debian\'s hello rebuilt with an overlay patch: +kiln1 .deb, identity stamped, installed by apt, patched greeting', { timeout: 20 * 60_000 }, async (t) => {
  const res = await build(await helloPort({ 'greeting.patch': GREETING_PATCH }), 'ok');
  assert.ok(res.ok, `hello failed in ${res.phase}: ${res.reason}\n${logOf('ok').slice(-4000)}`);
  t.diagnostic(`phases: ${res.timings.map((x) => `${x.name} ${(x.wallMs / 1000).toFixed(1)} s`).join(', ')}`);
  assert.deepEqual(res.debs.map((d) => path.basename(d)), ['hello_2.10-3+kiln1_amd64.deb']);
  assert.deepEqual(res.timings.map((x) => x.name), ['fetch', 'sandbox', 'extract', 'patch', 'version', 'build-depends', 'build', 'package']);
  const deb = res.debs[0]!;
  const f = async (name: string): Promise<string> => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
  assert.equal(await f('Version'), '2.10-3+kiln1');
  assert.equal(await f('X-Kiln-Identity'), IDENTITY);
  assert.match(await f('Depends'), /libc6/);
  assert.match(logOf('ok'), /DEB_BUILD_OPTIONS|dpkg-buildpackage/);
  // The changelog kiln wrote is the package's: its top entry is kiln's.
  const changelog = (await run('sh', ['-c', `dpkg-deb --fsys-tarfile ${deb} | tar -xOf - ./usr/share/doc/hello/changelog.Debian.gz | gzip -dc | head -5`])).stdout;
  assert.match(changelog, /^hello \(2\.10-3\+kiln1\) unstable; urgency=/);
  assert.match(changelog, /Rebuilt by kiln \(identity d{16}\)/);

  // apt in a fresh Debian root, from a local repository of the built .deb, prefers kiln's version and runs it.
  const root = await freshRoot();
  try {
    const repo = path.join(root.dir, 'srv/kiln');
    fs.mkdirSync(repo, { recursive: true });
    fs.copyFileSync(deb, path.join(repo, path.basename(deb)));
    fs.writeFileSync(path.join(repo, 'Packages'), (await run('dpkg-scanpackages', ['--multiversion', '.'], { cwd: repo })).stdout);
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list'), 'deb [trusted=yes] file:/srv/kiln ./\n');
    await root.exec(['apt-get', 'update', '-q']);
    await root.exec(['apt-get', 'install', '-y', '-q', 'hello']);
    assert.match((await root.exec(['apt-cache', 'policy', 'hello'])).stdout, /Installed: 2\.10-3\+kiln1/);
    assert.equal((await root.exec(['hello'])).stdout.trim(), 'Hello from a kiln patch!');
  } finally {
    root.dispose();
  }
});

test('a patch that does not apply fails in phase patch, naming the port and the patch', { timeout: 10 * 60_000 }, async () => {
  const stale = GREETING_PATCH.replace('-  greeting_msg = _("Hello, world!");', '-  greeting_msg = _("Good morning!");');
  const res = await build(await helloPort({ 'stale.patch': stale }), 'stale');
  assert.equal(res.ok, false);
  assert.equal(res.phase, 'patch');
  assert.equal(res.failure, 'patch');
  assert.match(res.reason ?? '', /stale\.patch/);
  assert.match(res.reason ?? '', /devel\/hello/);
});

test('a Build-Depends apt cannot satisfy fails in phase build-depends with apt\'s reason', { timeout: 10 * 60_000 }, async (t) => {
  const control = `--- a/debian/control
+++ b/debian/control
@@ -3,7 +3,7 @@
 Priority: optional
 Maintainer: Santiago Vila <sanvila@debian.org>
 Standards-Version: 4.6.2
-Build-Depends: debhelper-compat (= 13), help2man, texinfo
+Build-Depends: debhelper-compat (= 13), help2man, texinfo, kiln-no-such-package
 Homepage: https://www.gnu.org/software/hello/
 Vcs-Git: https://salsa.debian.org/sanvila/hello.git
 Vcs-Browser: https://salsa.debian.org/sanvila/hello
`;
  const res = await build(await helloPort({ 'bd.patch': control }), 'bd');
  assert.equal(res.ok, false, 'the build must fail');
  assert.equal(res.phase, 'build-depends', `${res.phase}: ${res.reason}\n${logOf('bd').slice(-3000)}`);
  assert.equal(res.failure, 'depends');
  t.diagnostic(`reason: ${res.reason}`);
  assert.match(res.reason ?? '', /devel\/hello/);
  assert.match(res.reason ?? '', /kiln-no-such-package/);
});
