/**
 * Real builds in the shared test jail: a library (libmd), a library linking it (libbsd) and a program linking that
 * (signify), and GNU hello (man and info pages), from the example tree, checked with dpkg-deb and lintian (no `E:`,
 * `W:` only from kiln's allow-list), installed with apt into a fresh root where the programs run; then failures
 * that must name their phase and leave no mount.
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
import { debVersion, runLintian, lintianViolations, lintianCounts } from '../package/index.js';
import { BwrapRunner } from '../sandbox/index.js';
import { buildPort, type BuildPortInput, type BuildResult } from './build.js';
import { kilnRunDeps, kilnSonameMap, packageDebs, type BuiltPackage } from './deps.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-build-test-'));
// Distfiles are cached across runs so repeated test runs don't download again.
const distCache = '/var/cache/kiln-test/distfiles';
/** A Maintainer lintian accepts (kiln.yaml `maintainer` in a bulk). */
const MAINTAINER = 'Kiln Test <kiln-test@example.org>';

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
    home,
    jail: { name: jail.name, path: jail.path, arch: jail.arch, release: jail.release },
    port: p,
    identity: 'f'.repeat(64),
    options: effectiveOptions(p.recipe, {}),
    depDebs: deps.flatMap(packageDebs),
    kilnRun: kilnRunDeps(deps.filter((d) => p.recipe.depends.run.includes(d.origin))),
    kilnSonames: await kilnSonameMap(deps),
    jobs: 2,
    limits: { wallMs: 15 * 60_000, noOutputMs: 5 * 60_000, nproc: 4096 },
    outDir: path.join(home, 'out'),
    logFile: path.join(home, 'logs', `${p.origin.replace('/', '_')}.log`),
    sourceDateEpoch: 1700000000,
    debianMirror: hostMirror(),
    maintainer: MAINTAINER,
    ...extra,
  });
  assert.deepEqual(mountsUnder(home), [], 'no mount may be left under the home after a build');
  return res;
}

async function field(deb: string, name: string): Promise<string> {
  return (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
}

const built: BuiltPackage[] = [];
const debugDebs: string[] = [];
async function buildOk(origin: string): Promise<BuiltPackage & { debs: readonly string[] }> {
  const p = port('examples/ports', origin);
  const res = await build(p, [...built]);
  assert.ok(
    res.ok,
    `${origin} failed in ${res.phase}: ${res.reason}\n${fs.readFileSync(path.join(home, 'logs', `${origin.replace('/', '_')}.log`), 'utf8').slice(-3000)}`,
  );
  const b = {
    origin,
    pkgname: p.pkgname,
    version: debVersion(p.recipe.version, p.recipe.revision),
    deb: res.debs[0]!,
    debs: res.debs,
  };
  built.push(b);
  debugDebs.push(...(res.debugDebs ?? []));
  return b;
}

const names = (debs: readonly string[]): string[] => debs.map((d) => path.basename(d).split('_')[0]!);
const contents = async (deb: string): Promise<string> =>
  (await run('dpkg-deb', ['-c', deb], { env: { ...process.env, TZ: 'UTC' } })).stdout;

test("a library split Debian's way, a library built against its -dev, a program linking that; lintian-clean; apt installs them and they run", {
  timeout: 30 * 60_000,
}, async () => {
  const libmd = await buildOk('devel/libmd');
  assert.deepEqual(names(libmd.debs), ['libmd0', 'libmd-dev'], 'runtime package named after the SONAME, and -dev');
  const [md0, mdDev] = libmd.debs as [string, string];
  assert.equal(await field(md0, 'Version'), '1.1.0-k1');
  assert.equal(await field(md0, 'Architecture'), 'amd64');
  assert.equal(await field(md0, 'Section'), 'libs');
  assert.equal(await field(md0, 'Maintainer'), MAINTAINER);
  assert.equal(await field(md0, 'X-Kiln-Origin'), '', "kiln's origin is not a control field any more");
  assert.match(await contents(md0), /\.\/usr\/lib\/libmd\.so\.0 -> /);
  assert.doesNotMatch(await contents(md0), /md5\.h|libmd\.so -> /);
  assert.match(await contents(mdDev), /\.\/usr\/include\/md5\.h/);
  assert.match(await contents(mdDev), /\.\/usr\/lib\/libmd\.so -> /);
  assert.match(
    await field(mdDev, 'Depends'),
    /^libmd0 \(= 1\.1\.0-k1\)/,
    '-dev depends on its runtime package, exact version',
  );
  assert.match((await run('dpkg-deb', ['-I', md0, 'shlibs'])).stdout, /^libmd 0 libmd0 \(>= 1\.1\.0-k1\)$/m);
  assert.match((await run('dpkg-deb', ['-I', md0, 'triggers'])).stdout, /^activate-noawait ldconfig$/m);
  const symbols = (await run('dpkg-deb', ['-I', md0, 'symbols'])).stdout;
  assert.match(
    symbols,
    /^libmd\.so\.0 libmd0 #MINVER#\n\* Build-Depends-Package: libmd-dev\n/,
    'symbols file from dpkg-gensymbols',
  );
  assert.match(symbols, /^ MD5Init@LIBMD_0\.0 1\.1\.0$/m, 'symbol versions are upstream versions');
  assert.deepEqual(names(debugDebs), ['libmd0-dbgsym'], 'debug symbols apart from the published packages');

  const libbsd = await buildOk('devel/libbsd'); // configure finds libmd's headers and .so link: libmd-dev was installed
  assert.deepEqual(names(libbsd.debs), ['libbsd0', 'libbsd-dev']);
  const bsdDepends = await field(libbsd.debs[0]!, 'Depends');
  assert.match(
    bsdDepends,
    /libmd0 \(>= 1\.1\.0-k1\)/,
    "the run dependency and the linked library map to kiln's runtime package",
  );
  assert.doesNotMatch(bsdDepends, /libmd(-dev)? \(/);

  const signify = await buildOk('security/signify-openbsd');
  assert.deepEqual(names(signify.debs), ['signify-openbsd']);
  const sDepends = await field(signify.deb, 'Depends');
  assert.match(sDepends, /libbsd0 \(>= 0\.12\.2-k1\)/);
  assert.match(sDepends, /libc6/);
  assert.doesNotMatch(sDepends, /-dev/);
  assert.equal(await field(signify.deb, 'Section'), 'utils');
  assert.match(await contents(signify.deb), /\.\/usr\/bin\/signify/);

  const hello = await buildOk('misc/hello');
  const hFiles = await contents(hello.deb);
  assert.match(hFiles, /\.\/usr\/share\/man\/man1\/hello\.1\.gz/);
  assert.match(hFiles, /\.\/usr\/share\/info\/hello\.info\.gz/);
  assert.doesNotMatch(hFiles, /\.\/usr\/share\/info\/dir\b/);
  assert.match(hFiles, /\.\/usr\/share\/doc\/hello\/copyright/);
  assert.match(
    hFiles,
    /^-rwxr-xr-x root\/root .* 2023-11-14 22:13 \.\/usr\/bin\/hello$/m,
    'mode 0755, time SOURCE_DATE_EPOCH',
  );
  assert.ok(debugDebs.some((d) => path.basename(d).startsWith('hello-dbgsym_')));

  const all = [...built.flatMap((b) => b.debs ?? [b.deb]), ...debugDebs];
  const tags = await runLintian(all);
  assert.ok(tags.length > 0 || all.length > 0);
  const bad = lintianViolations(tags);
  assert.deepEqual(
    bad.map((t) => t.line),
    [],
    `lintian: ${lintianCounts(tags)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
  );

  // A fresh root (an overlay of the jail): apt installs the packages from their files, and the programs run.
  const jail = await testJail();
  const sb = await new BwrapRunner(home).open({ jail: { name: jail.name, path: jail.path }, label: 'apt-install' });
  try {
    const want = [...libmd.debs, ...libbsd.debs, signify.deb, hello.deb];
    const binds = want.map((d) => ({ source: d, dest: `/kiln/debs/${path.basename(d)}`, readonly: true }));
    // Mount points made on the host (the sandbox's root is not the host's: bwrap cannot create them in /kiln).
    fs.mkdirSync(sb.hostPath('/kiln/debs'), { recursive: true });
    for (const d of want) fs.writeFileSync(sb.hostPath(`/kiln/debs/${path.basename(d)}`), '');
    await sb.run({
      argv: [
        'apt-get',
        'install',
        '-y',
        '-q',
        '--no-install-recommends',
        '-o',
        'Dpkg::Use-Pty=0',
        ...want.map((d) => `/kiln/debs/${path.basename(d)}`),
      ],
      user: 'root',
      network: false,
      binds,
      env: { DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const r = await sb.run({
      argv: [
        'sh',
        '-ec',
        'cd /tmp; signify -G -n -p k.pub -s k.sec; echo data > m; signify -S -s k.sec -m m; signify -V -p k.pub -m m; hello; ldconfig -p | grep libmd.so.0',
      ],
      user: 'root',
      network: false,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    });
    assert.match(r.stdout + r.stderr, /Signature Verified/);
    // Debian's libmd0 had it in /lib/x86_64-linux-gnu; kiln's is in /usr/lib (/lib with merged /usr).
    assert.match(
      r.stdout,
      /=> (\/usr)?\/lib\/libmd\.so\.0$/m,
      "the ldconfig trigger ran: the loader's cache has kiln's libmd",
    );
    const q = await sb.run({
      argv: ['dpkg-query', '-W', '-f', '${Package} ${Version}\n', 'libmd0', 'libbsd0', 'signify-openbsd'],
      user: 'root',
      network: false,
    });
    assert.match(q.stdout, /^libmd0 1\.1\.0-k1$/m);
    assert.match(q.stdout, /^libbsd0 0\.12\.2-k1$/m);
  } finally {
    await sb.teardown();
  }
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

  const hangs = await build(port('examples/broken-ports', 'broken/hangs'), [], {
    limits: { wallMs: 60_000, noOutputMs: 3_000, nproc: 4096 },
  });
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

test.after(() => {
  fs.rmSync(home, { recursive: true, force: true });
});
