/**
 * A real bulk of two Debian source packages where one build-depends on the other: bookworm's `libonig` and `jq`
 * (jq needs libonig-dev), given to `runBulk` as ports made with `debianPort`. jq's build must install kiln's
 * libonig-dev (a `+kiln1` version from the bulk's own `.deb`s); every binary is published; apt in a fresh root
 * prefers kiln's versions over the archive's and jq runs with kiln's libonig.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store/index.js';
import { testCacheDir } from '../jail/index.js';
import { debianOrigin, debianPort, hostMirror, loadSourcesIndex } from '../debian/index.js';
import { buildDag } from '../graph/index.js';
import { computeIdentities, makePlan } from '../plan/index.js';
import type { Port } from '../recipe/index.js';
import { mountsUnder } from '../sandbox/index.js';
import { freshRoot } from '../repo/testing.js';
import { repoInfo } from '../repo/index.js';
import { buildServer } from '../server/index.js';
import { run } from '../util/exec.js';
import { logPath, packagesDir, runBulk } from './runner.js';
import { testHome } from './testing.js';

test('libonig then jq from Debian\'s archive: jq builds against kiln\'s libonig, apt prefers kiln\'s versions', { timeout: 40 * 60_000 }, async (t) => {
  const home = await testHome('kiln-debian-bulk-test-');
  const treeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debian-tree-'));
  const store = openStore(home);
  const root = await freshRoot();
  const app = await buildServer({ home });
  try {
    const idx = await loadSourcesIndex({ home: path.join(testCacheDir(), 'debian-home'), mirror: hostMirror(), release: 'bookworm' });
    const onig = idx.byName('libonig');
    const jqSrc = idx.byName('jq');
    assert.ok(onig && jqSrc);
    const place = { layer: 'debian', dir: treeDir, path: path.join(treeDir, 'Sources') };
    const libOrigin = debianOrigin(onig);
    const jqOrigin = debianOrigin(jqSrc);
    assert.equal(libOrigin, 'libs/libonig');
    const ports = new Map<string, Port>([
      [libOrigin, debianPort(onig, place)],
      [jqOrigin, debianPort(jqSrc, place, [libOrigin])],
    ]);
    const jail = store.getJail('bookworm')!;
    const dag = buildDag(ports, [libOrigin, jqOrigin]);
    const identities = computeIdentities({ dag, ports, jail: jail.identity });
    const plan = makePlan({ dag, ports, identities, built: new Map() });
    assert.deepEqual(plan.build, [libOrigin, jqOrigin]);
    const summary = await runBulk({
      home, store, jail, tree: { name: 'debian', layers: [{ name: 'debian', dir: treeDir }] }, plan, dag, ports,
      identities: new Map([...identities].map(([k, v]) => [k, { hash: v.hash, components: v.components }])), choices: new Map(),
      builders: 2, limits: { wallMs: 30 * 60_000, noOutputMs: 10 * 60_000, nproc: 4096 }, request: {}, debianMirror: hostMirror(),
      sourceDateEpoch: 1700000000,
    });
    const log = (o: string): string => fs.readFileSync(logPath(home, summary.bulk.id, o), 'utf8').slice(-4000);
    assert.deepEqual(summary.failed, [], summary.failed.map((f) => `${f.origin}: ${f.reason}\n${log(f.origin)}`).join('\n'));
    assert.equal(summary.counts.built, 2);
    t.diagnostic(`bulk wall time ${summary.wallS.toFixed(0)} s`);
    assert.deepEqual(mountsUnder(home), []);

    // Every binary of each source is the port's files; versions are +kiln1.
    const rows = new Map(store.bulks.packages(jail.name, 'debian').map((p) => [p.origin, p]));
    assert.deepEqual(rows.get(libOrigin)?.files.map((f) => path.basename(f)).sort(),
      ['libonig-dev_6.9.8-1+kiln1_amd64.deb', 'libonig5_6.9.8-1+kiln1_amd64.deb']);
    assert.equal(rows.get(libOrigin)?.version, '6.9.8-1+kiln1');
    assert.deepEqual(rows.get(jqOrigin)?.files.map((f) => path.basename(f).split('_')[0]).sort(), ['jq', 'libjq-dev', 'libjq1']);
    for (const f of rows.get(jqOrigin)!.files) {
      const deb = path.join(packagesDir(home, jail.name, 'debian'), f);
      assert.equal((await run('dpkg-deb', ['-f', deb, 'X-Kiln-Identity'])).stdout.trim(), identities.get(jqOrigin)!.hash);
    }
    // jq's build installed kiln's libonig-dev, not the archive's.
    assert.match(fs.readFileSync(logPath(home, summary.bulk.id, jqOrigin), 'utf8'), /Unpacking libonig-dev(:amd64)? \(6\.9\.8-1\+kiln1\)/);

    // A fresh root with the archive and kiln's repository: apt picks kiln's versions, and jq runs on kiln's libonig.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    const info = repoInfo(home, 'bookworm', 'debian', `http://127.0.0.1:${addr.port}`);
    fs.writeFileSync(path.join(root.dir, info.keyringPath), Buffer.from(await (await fetch(info.keyUrl)).arrayBuffer()));
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list'), `deb ${hostMirror()} bookworm main\n`);
    fs.copyFileSync('/etc/resolv.conf', path.join(root.dir, 'etc/resolv.conf'));
    await root.exec(['apt-get', 'update', '-q']);
    await root.exec(['apt-get', 'install', '-y', '-q', 'jq']);
    for (const [pkg, v] of [['jq', '1.6-2.1+deb12u2+kiln1'], ['libonig5', '6.9.8-1+kiln1']] as const) {
      const policy = (await root.exec(['apt-cache', 'policy', pkg])).stdout;
      assert.match(policy, new RegExp(`Installed: ${v.replace(/[+.]/g, '\\$&')}`), policy);
      assert.match(policy, /Candidate: .*\+kiln1/, policy);
    }
    const out = await root.exec(['sh', '-c', 'echo \'{"a":"kiln-onig"}\' | jq -r \'.a | test("k.ln-on[i]g")\'']);
    assert.equal(out.stdout.trim(), 'true', 'a regex through oniguruma');
  } finally {
    await app.close();
    root.dispose();
    store.close();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(treeDir, { recursive: true, force: true });
  }
});
