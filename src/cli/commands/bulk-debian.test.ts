/**
 * Debian's archive as a tree, end to end through the command line (issue 10): `kiln tree add --debian RELEASE` (the
 * mirror's stable with its -updates and -security, unless the mirror does not serve the files of the sources built
 * here: then the newest release, or its suite alone, that does), a
 * layer over it with Debian's hello patched (`examples/debian-overlay`), a bulk of libonig and jq (jq build-depends
 * on libonig-dev, so it waits for kiln's libonig), then apt in a fresh root installs hello and jq from kiln's
 * repository: the patched greeting, jq working on kiln's libonig, and `apt-cache policy` showing kiln's versions.
 * Planning the whole archive (`-a`), `--rdeps` and bad input are checked on the same tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testCacheDir } from '../../jail/index.js';
import { hostMirror, servedRelease, type ServedRelease } from '../../debian/index.js';
import { freshRoot } from '../../repo/testing.js';
import { repoInfo } from '../../repo/index.js';
import { buildServer } from '../../server/index.js';
import { kiln, REPO_ROOT, testHome } from '../../bulk/testing.js';

/** A home whose Debian index cache is the machine's shared one (the archive's indexes download once). */
async function debianHome(pick: ServedRelease): Promise<string> {
  const home = await testHome('kiln-debian-cli-test-', pick.jailRelease ? { jail: { release: pick.jailRelease } } : {});
  const shared = path.join(testCacheDir(), 'debian-indexes');
  fs.mkdirSync(shared, { recursive: true });
  fs.mkdirSync(path.join(home, 'cache'), { recursive: true });
  fs.symlinkSync(shared, path.join(home, 'cache', 'debian'));
  return home;
}

test("Debian's archive as a tree: plan, bad input, then hello (patched), libonig and jq built and installed by apt", {
  timeout: 45 * 60_000,
}, async (t) => {
  const pick = await servedRelease(path.join(testCacheDir(), 'debian-home'), ['hello', 'jq', 'libonig'], (l) =>
    t.diagnostic(l),
  );
  assert.ok(pick, 'the mirror serves hello, jq and libonig of stable or oldstable');
  const rel = pick.release;
  t.diagnostic(`Debian ${rel}${pick.updates ? ' with its updates' : ' alone'}`);
  const onig = pick.stanzas.get('libonig')!.version.replace(/^\d+:/, '');
  const home = await debianHome(pick);
  const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debian-bad-'));
  const app = await buildServer({ home });
  const root = await freshRoot(rel);
  const ok = async (args: string[]): Promise<string> => {
    const r = await kiln(home, args);
    assert.equal(r.status, 0, `kiln ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    assert.match(
      await ok(['tree', 'add', 'deb', '--debian', rel, ...(pick.updates ? [] : ['--no-updates'])]),
      new RegExp(`Debian ${rel} main`),
    );
    await ok(['tree', 'add', 'mine', '--overlay', `deb,${path.join(REPO_ROOT, 'examples/debian-overlay')}`]);
    assert.match(
      await ok(['tree', 'show', 'deb', 'utils/jq']),
      new RegExp(
        `^utils/jq: Debian ${rel} source package jq ${pick.stanzas.get('jq')!.version.replaceAll('+', '\\+')} \\(binaries: jq, libjq1, libjq-dev\\)`,
      ),
    );
    assert.match(
      await ok(['tree', 'show', 'mine', 'devel/hello']),
      new RegExp(`shadows layer deb \\(Debian ${rel} source package hello`),
    );

    // The whole archive: every source listed, cycles broken, each with a cycle through its edge.
    const all = JSON.parse(await ok(['bulk', '-n', '-a', '--json', '-j', 'bookworm', '-p', 'deb'])) as {
      counts: { build: number };
      debian: { cycles_broken: { from: string; to: string; via: string; cycle: string[] }[]; not_for_arch: string[] };
    };
    assert.ok(all.counts.build > 30_000, `${all.counts.build} sources planned`);
    assert.ok(all.debian.cycles_broken.length > 0);
    for (const c of all.debian.cycles_broken.slice(0, 50)) {
      assert.deepEqual(c.cycle.slice(0, 2), [c.from, c.to]);
      assert.ok(c.via.length > 0);
    }
    t.diagnostic(
      `${rel} -a: ${all.counts.build} sources, ${all.debian.cycles_broken.length} edges broken, ${all.debian.not_for_arch.length} not for amd64`,
    );

    // --rdeps: jq build-depends on libonig's libonig-dev.
    const rd = JSON.parse(
      await ok(['bulk', '-n', '--json', '-j', 'bookworm', '-p', 'deb', '--rdeps', 'libs/libonig', 'libs/libonig']),
    ) as {
      build: string[];
      debian: { rdeps_added: string[] };
    };
    assert.ok(rd.debian.rdeps_added.includes('utils/jq'));
    assert.ok(rd.build.indexOf('libs/libonig') < rd.build.indexOf('utils/jq'));

    // Bad input: a source the archive lacks (in the list; as a debian recipe of the layer).
    const miss = await kiln(home, ['bulk', '-n', '-j', 'bookworm', '-p', 'deb', 'utils/jq', 'utils/no-such-source']);
    assert.equal(miss.status, 2);
    assert.match(miss.stderr, /utils\/no-such-source is not in tree deb/);
    fs.mkdirSync(path.join(bad, 'misc/no-such-source'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'misc/no-such-source/port.yaml'), 'build:\n  system: debian\n');
    await ok(['tree', 'add', 'bad', '--overlay', `deb,${bad}`]);
    const ghost = await kiln(home, ['bulk', '-n', '-j', 'bookworm', '-p', 'bad', 'utils/jq']);
    assert.equal(ghost.status, 2);
    assert.match(ghost.stderr, /no-such-source\/port\.yaml:2:11: build\.system: .*no source package "no-such-source"/);

    // The plan over the layer: the user's hello comes along; jq waits for libonig.
    const plan = await ok(['bulk', '-n', '--explain', '-j', 'bookworm', '-p', 'mine', 'libs/libonig', 'utils/jq']);
    assert.match(plan, /build devel\/hello/);
    assert.match(plan, /utils\/jq waits for libs\/libonig \(build-depends on libonig-dev\)/);

    // The real bulk.
    const bulk = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'mine', '-J', '2', 'libs/libonig', 'utils/jq']);
    assert.equal(bulk.status, 0, `${bulk.stdout}\n${bulk.stderr}`);
    // jq's build installed kiln's libonig-dev (from this bulk's .debs), not the archive's.
    assert.match(
      fs.readFileSync(path.join(home, 'logs', '1', 'utils_jq.log'), 'utf8'),
      new RegExp(`Unpacking libonig-dev(:amd64)? \\(${onig.replaceAll('.', '\\.').replaceAll('+', '\\+')}\\+kiln1\\)`),
    );

    // apt in a fresh root, with the archive and kiln's signed repository.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    const info = repoInfo(home, 'bookworm', 'mine', `http://127.0.0.1:${addr.port}`);
    fs.writeFileSync(
      path.join(root.dir, info.keyringPath),
      Buffer.from(await (await fetch(info.keyUrl)).arrayBuffer()),
    );
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list'), `deb ${hostMirror()} ${rel} main\n`);
    fs.copyFileSync('/etc/resolv.conf', path.join(root.dir, 'etc/resolv.conf'));
    await root.exec(['apt-get', 'update', '-q']);
    await root.exec(['apt-get', 'install', '-y', '-q', 'hello', 'jq']);
    assert.equal((await root.exec(['hello'])).stdout.trim(), 'Hello from a kiln patch!');
    for (const pkg of ['hello', 'jq', 'libonig5']) {
      const policy = (await root.exec(['apt-cache', 'policy', pkg])).stdout;
      assert.match(policy, /Installed: \S+\+kiln1\n/, policy);
    }
    const out = await root.exec(['sh', '-c', 'echo \'{"a":"kiln-onig"}\' | jq -r \'.a | test("k.ln-on[i]g")\'']);
    assert.equal(out.stdout.trim(), 'true', "a regular expression through kiln's oniguruma");

    // Nothing changed: a second bulk builds nothing.
    const again = JSON.parse(
      await ok(['bulk', '-n', '--json', '-j', 'bookworm', '-p', 'mine', 'libs/libonig', 'utils/jq']),
    ) as { counts: { build: number; keep: number } };
    assert.deepEqual([again.counts.build, again.counts.keep], [0, 3]);
  } finally {
    await app.close();
    root.dispose();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(bad, { recursive: true, force: true });
  }
});
