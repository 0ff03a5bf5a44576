/**
 * A `--debian` tree over the real archive's suites: the mirror's stable with its -updates and -security, each source
 * package at its highest version, and kiln's `+kiln1` above every version the enabled suites carry (checked on the
 * packages that have a security update). Updating again asks the archive conditionally and downloads nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testCacheDir } from '../jail/index.js';
import {
  debianKilnVersion,
  hostMirror,
  parseSources,
  readTreeIndex,
  releaseHead,
  treeIndexFiles,
} from '../debian/index.js';
import { compareVersions } from '../repo/index.js';
import { updateDebianTree } from './debian.js';

test('a Debian tree indexes REL, REL-updates and REL-security; +kiln1 sorts above every version they carry', {
  timeout: 15 * 60_000,
}, async (t) => {
  const release = (await releaseHead(hostMirror(), 'stable'))!.codename;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-debtree-'));
  const shared = path.join(testCacheDir(), 'debian-indexes');
  fs.mkdirSync(shared, { recursive: true });
  fs.mkdirSync(path.join(home, 'cache'));
  fs.symlinkSync(shared, path.join(home, 'cache', 'debian'));
  try {
    const dir = path.join(home, 'trees', 'deb');
    const spec = { kind: 'debian' as const, release, component: 'main', dir, arches: ['amd64'] };
    const res = await updateDebianTree(spec, home);
    assert.deepEqual(res.suites, [release, `${release}-updates`, `${release}-security`]);
    const ix = readTreeIndex(treeIndexFiles(dir).plan, 'deb');
    const row = new Map(ix.pkg.map((p, i) => [p, i]));
    const versions = new Map<string, string[]>();
    const perSuite = new Map<string, Map<string, string[]>>();
    for (const s of res.suites) {
      const m = new Map<string, string[]>();
      perSuite.set(s, m);
      for (const p of parseSources(fs.readFileSync(path.join(shared, s, 'main.Sources'), 'utf8'))) {
        versions.set(p.package, [...(versions.get(p.package) ?? []), p.version]);
        m.set(p.package, [...(m.get(p.package) ?? []), p.version]);
      }
    }
    const security = parseSources(fs.readFileSync(path.join(shared, `${release}-security`, 'main.Sources'), 'utf8'));
    const newer: string[] = [];
    for (const s of security) {
      const i = row.get(s.package);
      assert.ok(i !== undefined, `${s.package} of ${release}-security is in the tree`);
      const all = versions.get(s.package)!;
      const top = all.reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
      assert.equal(ix.version[i], top, `${s.package}: the highest of ${all.join(', ')}`);
      const kiln = debianKilnVersion(ix.version[i]!, 1);
      for (const v of all) assert.ok(compareVersions(kiln, v) > 0, `${kiln} > ${v}`);
      const others = res.suites
        .filter((x) => x !== `${release}-security`)
        .flatMap((x) => perSuite.get(x)?.get(s.package) ?? []);
      if (others.length > 0 && others.every((v) => compareVersions(s.version, v) > 0)) newer.push(s.package);
    }
    t.diagnostic(
      `${security.length} sources in ${release}-security, ${newer.length} newer there than in ${release} (${newer.slice(0, 5).join(', ')}, ...)`,
    );
    assert.ok(newer.length > 0, "some package has a security update newer than the release's");
    // A source whose newest version is the security archive's is fetched from there.
    const sec = security.find((s) => s.package === newer[0])!;
    const build = JSON.parse(fs.readFileSync(treeIndexFiles(dir).build, 'utf8')) as Record<string, [string]>;
    assert.match(build[sec.package]![0], /^https?:\/\/.*\/pool\//);

    // Updating again: conditional requests, nothing downloaded.
    const log: string[] = [];
    await updateDebianTree(spec, home, (l) => log.push(l));
    assert.ok(!log.some((l) => /downloading/.test(l)), log.join('\n'));
    assert.ok(
      log.some((l) => /not modified|unchanged/.test(l)),
      log.join('\n'),
    );
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
