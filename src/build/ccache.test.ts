/**
 * ccache per port, for real: a C port built twice in the shared test jail through its own cache gives the same
 * `.deb` bytes, and the second build's log shows the hit (each sandbox has its own host id range, so the second
 * must own what the first wrote); another origin gets another cache folder. An autotools port (libmd, from the
 * examples) built three times: after a patch to a .c file configure is replayed from the port's own cache, after one
 * to a Makefile.in it runs, answering from the port's autoconf cache; the packages are the same bytes. (The keys,
 * a corrupt archive and a cache of another key: configure-cache.test.ts, on the host.)
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
import { run } from '../util/exec.js';

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

test('an autotools port rebuilt with ccache: configure replayed after a patch to a .c file, rerun from its autoconf cache after one to a Makefile.in, the same .deb bytes', {
  timeout: 30 * 60_000,
}, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ccache-configure-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  fs.symlinkSync(path.join(testCacheDir(), 'distfiles'), path.join(home, 'distfiles'));
  const dir = path.join(home, 'tree', 'devel', 'libmd');
  fs.cpSync(path.join(REPO_ROOT, 'examples/ports/devel/libmd'), dir, { recursive: true });
  const recipe = fs.readFileSync(path.join(dir, 'port.yaml'), 'utf8');
  const jail = await testJail();
  const cache = { dir: ccacheDir(home, 'test', 'examples', 'devel/libmd'), maxSize: '50M' };
  const build = async (n: number, patches: string[]): Promise<{ debs: Buffer[]; log: string }> => {
    fs.writeFileSync(
      path.join(dir, 'port.yaml'),
      `${recipe}${patches.length ? `patches: [${patches.join(', ')}]\n` : ''}`,
    );
    const loaded = loadPort(dir, 'devel/libmd', 'examples');
    assert.ok(loaded.port, JSON.stringify(loaded.problems));
    const extra = { ccache: cache, jobs: 2 };
    const { res, log } = await buildInTestJail({ home, jail, port: loaded.port, n, identity: 'a'.repeat(64), extra });
    assert.ok(res.ok, `build ${n} failed in ${res.phase}: ${res.reason}\n${log.slice(-3000)}`);
    return { debs: res.debs.map((d) => fs.readFileSync(d)), log };
  };
  const cached = (log: string): number => (log.match(/\.\.\. \(cached\) /g) ?? []).length;
  const replayed = (log: string): boolean => /configure replayed/.test(log) && !/checking for /.test(log);
  const first = await build(1, []);
  // (A configure answers a few checks from its own earlier ones even without a cache file.)
  assert.ok(cached(first.log) < 30, `the first configure runs the checks (${cached(first.log)} cached)`);
  assert.ok(!replayed(first.log));
  const conf = path.join(cache.dir, 'kiln-configure');
  assert.ok(fs.statSync(path.join(conf, 'config.cache')).size > 0, "the answers are kept in the port's cache folder");
  assert.ok(fs.statSync(path.join(conf, 'replay.tar')).size > 0, 'and what configure made');
  await appendPatch(home, path.join(dir, 'c.patch'), 'src/md5.c', '/* one line */');
  await appendPatch(home, path.join(dir, 'mk.patch'), 'src/Makefile.in', '# one line');
  const second = await build(2, ['c.patch']);
  assert.ok(replayed(second.log), 'a patch to a .c file: configure is replayed');
  const third = await build(3, ['c.patch', 'mk.patch']);
  assert.ok(!replayed(third.log), 'a patch to a Makefile.in: configure runs');
  assert.ok(
    cached(third.log) > cached(first.log) + 50,
    `the third configure answers from the cache (${cached(third.log)} cached, ${cached(first.log)} the first time)`,
  );
  for (const other of [second, third]) {
    assert.equal(other.debs.length, first.debs.length);
    other.debs.forEach((d, i) => assert.ok(d.equals(first.debs[i]!), `package ${i} is the same bytes`));
  }
});

/** Writes to `out` a patch (-p1) appending `line` to `file` of libmd's distfile (in HOME/distfiles). */
async function appendPatch(home: string, out: string, file: string, line: string): Promise<void> {
  const dist = path.join(home, 'distfiles', 'by-name', 'libmd-1.1.0.tar.xz');
  const work = fs.mkdtempSync(path.join(home, 'patch-'));
  await run('tar', ['-xf', dist, '--strip-components=1', '-C', work, `libmd-1.1.0/${file}`]);
  const a = fs.readFileSync(path.join(work, file), 'utf8');
  fs.writeFileSync(path.join(work, 'b'), `${a}${line}\n`);
  const diff = await run(
    'diff',
    ['-u', `--label=a/${file}`, `--label=b/${file}`, path.join(work, file), path.join(work, 'b')],
    {
      allowFailure: true,
    },
  );
  fs.writeFileSync(out, diff.stdout);
  fs.rmSync(work, { recursive: true, force: true });
}

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
