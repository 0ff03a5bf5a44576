/**
 * ccache per port, for real: a C port built twice in the shared test jail through its own cache gives the same
 * `.deb` bytes, and the second build's log shows the hit (each sandbox has its own host id range, so the second
 * must own what the first wrote); another origin gets another cache folder. An autotools port (libmd, from the
 * examples) built twice: the second configure answers from the port's own autoconf cache, and the package is the
 * same bytes; a cache made for another key is dropped, not used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPort } from '../recipe/index.js';
import { testJail } from '../jail/index.js';
import { buildInTestJail } from './testing.js';
import { ccacheDir, claimCcacheDir } from './ccache.js';
import { REPO_ROOT } from '../bulk/testing.js';
import { testCacheDir } from '../jail/index.js';

const C = 'int twice(int x) { return 2 * x; }\nint main(void) { return twice(0); }\n';

test('a C port built twice through its own ccache: the same .deb bytes, and hits the second time', {
  timeout: 30 * 60_000,
}, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ccache-test-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const tree = path.join(home, 'tree');
  const dir = path.join(tree, 'devel', 'twice');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'port.yaml'),
    [
      'version: "1.0"',
      'summary: a C program',
      'build:',
      '  system: script',
      '  script: |',
      `    printf '${C.replace(/\n/g, '\\n')}' > twice.c`,
      '    cc -O2 -c twice.c -o twice.o',
      '    cc twice.o -o twice',
      '    install -D -m 755 twice "$DESTDIR/usr/bin/twice"',
      '',
    ].join('\n'),
  );
  const loaded = loadPort(dir, 'devel/twice', 'tree');
  assert.ok(loaded.port, JSON.stringify(loaded.problems));
  const port = loaded.port;
  const jail = await testJail();
  const cache = { dir: ccacheDir(home, 'test', 'tree', port.origin), maxSize: '50M' };
  const build = async (n: number): Promise<{ deb: Buffer; log: string }> => {
    const { res, log } = await buildInTestJail({ home, jail, port, n, extra: { ccache: cache } });
    assert.ok(res.ok, `build ${n} failed in ${res.phase}: ${res.reason}\n${log.slice(-3000)}`);
    return { deb: fs.readFileSync(res.debs[0]!), log };
  };
  const first = await build(1);
  assert.match(first.log, /Misses:\s+1 \/\s+1\b/, 'the first build compiles');
  assert.ok(fs.readdirSync(cache.dir).length > 0, "the objects are in the port's own cache folder");
  const second = await build(2);
  assert.match(second.log, /Hits:\s+1 \/\s+1\b/, 'the second build takes its object from the cache');
  assert.ok(first.deb.equals(second.deb), 'a cache hit gives the same package bytes');
  assert.notEqual(ccacheDir(home, 'test', 'tree', 'devel/other'), cache.dir);
  assert.notEqual(ccacheDir(home, 'test', 'other-tree', port.origin), cache.dir);
});

test('an autotools port rebuilt with ccache: configure answers from its own autoconf cache, the same .deb bytes', {
  timeout: 30 * 60_000,
}, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ccache-configure-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  fs.symlinkSync(path.join(testCacheDir(), 'distfiles'), path.join(home, 'distfiles'));
  const loaded = loadPort(path.join(REPO_ROOT, 'examples/ports/devel/libmd'), 'devel/libmd', 'examples');
  assert.ok(loaded.port, JSON.stringify(loaded.problems));
  const port = loaded.port;
  const jail = await testJail();
  const cache = { dir: ccacheDir(home, 'test', 'examples', port.origin), maxSize: '50M' };
  const conf = path.join(cache.dir, 'kiln-configure');
  const build = async (n: number): Promise<{ debs: Buffer[]; log: string }> => {
    const { res, log } = await buildInTestJail({
      home,
      jail,
      port,
      n,
      identity: 'a'.repeat(64),
      extra: { ccache: cache, jobs: 2 },
    });
    assert.ok(res.ok, `build ${n} failed in ${res.phase}: ${res.reason}\n${log.slice(-3000)}`);
    return { debs: res.debs.map((d) => fs.readFileSync(d)), log };
  };
  const cached = (log: string): number => (log.match(/\.\.\. \(cached\) /g) ?? []).length;
  const first = await build(1);
  // (A configure answers a few checks from its own earlier ones even without a cache file.)
  assert.ok(cached(first.log) < 30, `the first configure runs the checks (${cached(first.log)} cached)`);
  assert.ok(fs.statSync(path.join(conf, 'config.cache')).size > 0, "the answers are kept in the port's cache folder");
  const second = await build(2);
  assert.ok(
    cached(second.log) > cached(first.log) + 50,
    `the second configure answers from the cache (${cached(second.log)} cached, ${cached(first.log)} the first time)`,
  );
  assert.equal(second.debs.length, first.debs.length);
  second.debs.forEach((d, i) => assert.ok(d.equals(first.debs[i]!), `package ${i} is the same bytes`));
  // A cache made for another key (another jail's packages, other options) is dropped before configure runs.
  fs.writeFileSync(path.join(conf, 'key'), `${'0'.repeat(64)}\n`);
  fs.appendFileSync(path.join(conf, 'config.cache'), 'ac_cv_header_stdio_h=${ac_cv_header_stdio_h=poisoned}\n');
  const third = await build(3);
  assert.equal(cached(third.log), cached(first.log), 'a cache of another key is not used');
  assert.doesNotMatch(fs.readFileSync(path.join(conf, 'config.cache'), 'utf8'), /poisoned/);
});

test('a build claims its whole cache folder under its own host id, following no symlink a build planted', (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ccache-claim-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const dir = ccacheDir(home, 'test', 'tree', 'devel/twice');
  const outside = path.join(home, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'x');
  const [old, next] = [0x10000000 + 2000, 0x10010000 + 2000]; // two sandboxes' build users
  claimCcacheDir(dir, old);
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a', 'b', 'obj'), 'o');
  fs.symlinkSync(outside, path.join(dir, 'a', 'link'));
  for (const p of ['a', 'a/b', 'a/b/obj']) fs.chownSync(path.join(dir, p), old, old);
  fs.lchownSync(path.join(dir, 'a', 'link'), old, old);
  fs.chmodSync(dir, 0o777);
  claimCcacheDir(dir, next);
  for (const p of ['', 'a', 'a/b', 'a/b/obj', 'a/link']) {
    const st = fs.lstatSync(path.join(dir, p));
    assert.deepEqual([st.uid, st.gid], [next, next], `${p || '.'} is the new build user's`);
  }
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700, 'only its owner reaches the cache');
  for (const p of [outside, path.join(outside, 'secret')])
    assert.equal(fs.statSync(p).uid, process.getuid!(), `${p} is untouched`);
});
