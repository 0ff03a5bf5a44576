/**
 * Real bulks of the example tree: two builders over the test jail, the repository served and installed from by
 * plain apt in a fresh Debian root, then an incremental rebuild after a recipe change, a removed port, an upgrade,
 * and a bulk with nothing to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type BuildRow } from '../store/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { freshRoot } from '../repo/testing.js';
import { repoInfo } from '../repo/index.js';
import { buildServer } from '../server/index.js';
import { REPO_ROOT, kiln, testHome } from './testing.js';

function rows(home: string, bulk: number): BuildRow[] {
  const s = openStore(home);
  try {
    return s.bulks.builds(bulk);
  } finally {
    s.close();
  }
}

function latestBulk(home: string): number {
  const s = openStore(home);
  try {
    return s.bulks.listBulks({ limit: 1 })[0]!.id;
  } finally {
    s.close();
  }
}

test('the example tree: -J 2 respects dependencies, serves a repository apt installs from, rebuilds incrementally', {
  timeout: 40 * 60_000,
}, async () => {
  const home = await testHome();
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-example-tree-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples/ports'), tree, { recursive: true });
  const list = path.join(tree, 'pkglist.txt');
  fs.copyFileSync(path.join(REPO_ROOT, 'examples/pkglist.txt'), list);
  const root = await freshRoot();
  const app = await buildServer({ home });
  try {
    assert.equal((await kiln(home, ['tree', 'add', 'examples', '--path', tree])).status, 0);
    const first = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'examples', '-f', list, '-J', '2']);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    const b1 = rows(home, latestBulk(home));
    const built = b1
      .filter((r) => r.result === 'built')
      .map((r) => r.origin)
      .sort();
    assert.deepEqual(built, [
      'devel/libbsd',
      'devel/libmd',
      'misc/hello',
      'security/signify-openbsd',
      'sysutils/tree',
      'textproc/cjson',
      'textproc/serd',
    ]);
    // Every dependency finished before its dependent started.
    const at = new Map(b1.map((r) => [r.origin, r]));
    for (const [port, deps] of [
      ['devel/libbsd', ['devel/libmd']],
      ['security/signify-openbsd', ['devel/libbsd', 'devel/libmd']],
    ] as const) {
      for (const d of deps)
        assert.ok(at.get(d)!.finished! <= at.get(port)!.started!, `${d} finished before ${port} started`);
    }
    // Both builders were busy at once at some point.
    const overlap = b1.some((a) =>
      b1.some((b) => a !== b && a.started! < b.finished! && b.started! < a.finished! && a.builder !== b.builder),
    );
    assert.ok(overlap, 'two builds overlapped in time on different builders');
    assert.deepEqual(mountsUnder(home), []);
    // Dependency layers: pkg-config, which signify and serd both install, is the bulk's shared layer; serd's own
    // (meson, ninja-build) is made over it; cjson's (cmake) over the jail.
    const logOf = (r: BuildRow | undefined): string => fs.readFileSync(path.join(home, 'logs', r!.log!), 'utf8');
    assert.match(logOf(at.get('textproc/serd')), /dependency layer [0-9a-f]{16} over [0-9a-f]{16} \(/);
    assert.match(logOf(at.get('security/signify-openbsd')), /system dependencies come from dependency layer/);
    assert.doesNotMatch(logOf(at.get('textproc/cjson')), /dependency layer [0-9a-f]{16} over /);

    // Serve it, point a fresh Debian root at it, install with plain apt, run the programs.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    const info = repoInfo(home, 'bookworm', 'examples', `http://127.0.0.1:${addr.port}`);
    fs.writeFileSync(
      path.join(root.dir, info.keyringPath),
      Buffer.from(await (await fetch(info.keyUrl)).arrayBuffer()),
    );
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);
    await root.exec(['apt-get', 'update']);
    await root.exec(['apt-get', 'install', '-y', 'hello', 'signify-openbsd', 'serd']);
    assert.match((await root.exec(['hello'])).stdout, /kiln/i, 'the patched greeting');
    await root.exec(['signify', '-G', '-n', '-p', '/tmp/k.pub', '-s', '/tmp/k.sec']);
    assert.ok(fs.existsSync(path.join(root.dir, 'tmp/k.pub')), "signify made a key pair with kiln's libbsd");

    // Change libbsd's recipe and drop serd from the list: only libbsd and its dependent rebuild; serd goes.
    const libbsd = path.join(tree, 'devel/libbsd/port.yaml');
    fs.writeFileSync(
      libbsd,
      fs.readFileSync(libbsd, 'utf8').replace('version: "0.12.2"', 'version: "0.12.2"\nrevision: 2'),
    );
    fs.writeFileSync(list, fs.readFileSync(list, 'utf8').replace('textproc/serd\n', ''));
    const plan = await kiln(home, [
      'bulk',
      '-j',
      'bookworm',
      '-p',
      'examples',
      '-f',
      list,
      '-n',
      '--json',
      '--explain',
    ]);
    const p = JSON.parse(plan.stdout) as { build: string[]; delete: string[] };
    assert.deepEqual([...p.build].sort(), ['devel/libbsd', 'security/signify-openbsd']);
    assert.deepEqual(p.delete, ['textproc/serd']);
    const second = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'examples', '-f', list, '-J', '2']);
    assert.equal(second.status, 0, second.stdout + second.stderr);
    const b2 = rows(home, latestBulk(home));
    assert.deepEqual(
      b2
        .filter((r) => r.result === 'built')
        .map((r) => r.origin)
        .sort(),
      ['devel/libbsd', 'security/signify-openbsd'],
    );
    assert.match(
      logOf(b2.find((r) => r.origin === 'security/signify-openbsd')),
      /dependency layer [0-9a-f]{16} .*: reused/,
      'the rebuild finds its layer',
    );
    assert.deepEqual(
      b2.filter((r) => r.result === 'deleted').map((r) => r.origin),
      ['textproc/serd'],
    );
    const packages = fs.readFileSync(
      path.join(home, 'repos/bookworm-examples/current/dists/bookworm/main/binary-amd64/Packages'),
      'utf8',
    );
    assert.doesNotMatch(packages, /^Package: serd$/m, "the removed port's package is gone");
    assert.match(packages, /^Package: libbsd0\nVersion: 0\.12\.2-k2$/m);
    await root.exec(['apt-get', 'update']);
    await root.exec(['apt-get', 'upgrade', '-y']);
    assert.match(
      (await root.exec(['dpkg-query', '-W', 'libbsd0'])).stdout,
      /0\.12\.2-k2/,
      'apt upgraded to the rebuilt library',
    );

    // Nothing changed: nothing is built and no new generation is published.
    const gens = fs.readdirSync(path.join(home, 'repos/bookworm-examples')).filter((n) => n.startsWith('gen-')).length;
    const third = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'examples', '-f', list]);
    assert.equal(third.status, 0, third.stdout + third.stderr);
    assert.match(third.stdout, /built 0, failed 0, skipped 0, kept 6, deleted 0/);
    assert.equal(
      fs.readdirSync(path.join(home, 'repos/bookworm-examples')).filter((n) => n.startsWith('gen-')).length,
      gens,
    );
  } finally {
    await app.close();
    root.dispose();
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
