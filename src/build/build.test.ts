/**
 * Real builds in the shared test jail: a library (libmd), a library linking it (libbsd) and a program linking that
 * (signify), from the example tree, checked with dpkg-deb; then failures that must name their phase and leave no mount.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPort, effectiveOptions, type Port } from '../recipe/index.js';
import { testJail } from '../jail/index.js';
import { hostMirror } from '../debian/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { run } from '../util/exec.js';
import crypto from 'node:crypto';
import { debVersion } from '../package/index.js';
import { buildPort, type BuildPortInput, type BuildResult } from './build.js';
import { kilnRunDeps, kilnSonameMap, type BuiltPackage } from './deps.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-build-test-'));
// Distfiles are cached across runs so repeated test runs don't download again.
const distCache = '/var/cache/kiln-test/distfiles';

function port(tree: string, origin: string): Port {
  const r = loadPort(path.join(repo, tree, origin), origin, tree);
  assert.ok(r.port, JSON.stringify(r.problems));
  return r.port;
}

async function build(p: Port, deps: BuiltPackage[], extra: Partial<BuildPortInput> = {}): Promise<BuildResult> {
  const jail = await testJail();
  fs.mkdirSync(distCache, { recursive: true });
  if (!fs.existsSync(path.join(home, 'distfiles'))) fs.symlinkSync(distCache, path.join(home, 'distfiles'));
  const res = await buildPort({
    home, jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release }, port: p, identity: 'f'.repeat(64),
    options: effectiveOptions(p.recipe, {}), depDebs: deps.map((d) => d.deb), kilnRun: kilnRunDeps(deps.filter((d) => p.recipe.depends.run.includes(d.origin))),
    kilnSonames: await kilnSonameMap(deps), jobs: 2, limits: { wallMs: 15 * 60_000, noOutputMs: 5 * 60_000, nproc: 4096 },
    outDir: path.join(home, 'out'), logFile: path.join(home, 'logs', `${p.origin.replace('/', '_')}.log`),
    sourceDateEpoch: 1700000000, debianMirror: hostMirror(), ...extra,
  });
  assert.deepEqual(mountsUnder(home), [], 'no mount may be left under the home after a build');
  return res;
}

async function field(deb: string, name: string): Promise<string> {
  return (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
}

const built: BuiltPackage[] = [];
async function buildOk(origin: string): Promise<BuiltPackage> {
  const p = port('examples/ports', origin);
  const res = await build(p, [...built]);
  assert.ok(res.ok, `${origin} failed in ${res.phase}: ${res.reason}\n${fs.readFileSync(path.join(home, 'logs', `${origin.replace('/', '_')}.log`), 'utf8').slice(-3000)}`);
  const b = { origin, pkgname: p.pkgname, version: debVersion(p.recipe.version, p.recipe.revision), deb: res.debs[0]! };
  built.push(b);
  return b;
}

test('a library, a library linking it, and a program linking that, as real .debs', { timeout: 30 * 60_000 }, async () => {
  const libmd = await buildOk('devel/libmd');
  assert.equal(await field(libmd.deb, 'Package'), 'libmd');
  assert.equal(await field(libmd.deb, 'Version'), '1.0.4-k1');
  assert.equal(await field(libmd.deb, 'Architecture'), 'amd64');
  const files = (await run('dpkg-deb', ['-c', libmd.deb])).stdout;
  assert.match(files, /\.\/usr\/lib\/libmd\.so\.0/);
  assert.match(files, /\.\/usr\/include\/md5\.h/);

  const libbsd = await buildOk('devel/libbsd');
  const bsdDepends = await field(libbsd.deb, 'Depends');
  assert.match(bsdDepends, /libmd \(>= 1\.0\.4-k1\)/, 'the run dependency on kiln\'s libmd');
  assert.doesNotMatch(bsdDepends, /libmd0/, 'linked libmd maps to kiln\'s package, not Debian\'s libmd0');

  const signify = await buildOk('security/signify-openbsd');
  const sDepends = await field(signify.deb, 'Depends');
  assert.match(sDepends, /libbsd \(>= 0\.11\.7-k1\)/);
  assert.match(sDepends, /libc6/);
  assert.doesNotMatch(sDepends, /libbsd0/);
  assert.match((await run('dpkg-deb', ['-c', signify.deb])).stdout, /\.\/usr\/bin\/signify/);
  assert.equal(await field(signify.deb, 'X-Kiln-Origin'), 'security/signify-openbsd');
});

test('failures name their phase and reason and leave no mount', { timeout: 10 * 60_000 }, async () => {
  const fails = await build(port('examples/broken-ports', 'broken/fails'), []);
  assert.equal(fails.ok, false);
  assert.equal(fails.failure, 'build');
  assert.ok(['configure', 'build', 'install'].includes(fails.phase!), `phase ${fails.phase}`);

  const badPatch = await build(port('examples/broken-ports', 'broken/bad-patch'), []);
  assert.equal(badPatch.phase, 'patch');
  assert.equal(badPatch.failure, 'patch');

  const badSum = await build(port('examples/broken-ports', 'broken/bad-checksum'), []);
  assert.equal(badSum.phase, 'fetch');
  assert.ok(badSum.failure === 'checksum' || badSum.failure === 'fetch', `failure ${badSum.failure}: ${badSum.reason}`);

  const missing = await build(port('examples/broken-ports', 'broken/missing-distfile'), []);
  assert.equal(missing.phase, 'fetch');
  assert.equal(missing.failure, 'fetch');

  const hangs = await build(port('examples/broken-ports', 'broken/hangs'), [], { limits: { wallMs: 60_000, noOutputMs: 3_000, nproc: 4096 } });
  assert.equal(hangs.failure, 'limit');
  assert.equal(hangs.limit, 'no-output');
  const log = fs.readFileSync(path.join(home, 'logs', 'broken_hangs.log'), 'utf8');
  assert.match(log, /FAILED in phase/);
});

test('the same port built twice gives the same bytes (SOURCE_DATE_EPOCH)', { timeout: 10 * 60_000 }, async () => {
  const p = port('examples/ports', 'sysutils/tree');
  const sums: string[] = [];
  for (const n of [1, 2]) {
    const res = await build(p, [], { outDir: path.join(home, `repro-${n}`) });
    assert.ok(res.ok, `build ${n}: ${res.phase} ${res.reason}`);
    sums.push(crypto.createHash('sha256').update(fs.readFileSync(res.debs[0]!)).digest('hex'));
  }
  assert.equal(sums[0], sums[1], 'two builds of sysutils/tree differ');
});

test.after(() => { fs.rmSync(home, { recursive: true, force: true }); });
