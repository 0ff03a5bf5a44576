/** Jails on the real thing: a copy of the shared test jail, real mmdebstrap, apt, overlayfs. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { openStore, type Store } from '../store/index.js';
import { main } from '../cli/main.js';
import { bwrapArgv, createSandbox, readMounts } from '../sandbox/index.js';
import { releaseHead, hostMirror, releaseSuites, DEBIAN_KEYRING } from '../debian/index.js';
import { createJail, deleteJail, jailPaths, jailSuites, testJail, updateJail, JAIL_SOURCES } from './index.js';

let home: string;
let store: Store;

before(async () => {
  const shared = await testJail();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jail-test-'));
  store = openStore(home);
  const p = jailPaths(home, 'copy');
  fs.mkdirSync(p.dir, { recursive: true });
  await run('cp', ['-a', shared.path, p.root]);
  fs.copyFileSync(path.join(path.dirname(shared.path), 'manifest.txt'), p.manifest);
  store.putJail({ ...shared, name: 'copy', path: p.root });
});
after(() => {
  store.close();
  assert.deepEqual(
    readMounts()
      .filter((m) => m.target.startsWith(home))
      .map((m) => m.target),
    [],
  );
  fs.rmSync(home, { recursive: true, force: true });
});

const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof KilnError && e.code === c;

test("the default jail is of the mirror's stable, with REL, REL-updates and REL-security signed by Debian's keyring", async () => {
  const j = store.getJail('copy')!;
  const stable = (await releaseHead(hostMirror(), 'stable'))!.codename;
  assert.equal(j.release, stable, 'recorded as the codename, not "stable"');
  assert.deepEqual(jailSuites(j.path), [stable, `${stable}-updates`, `${stable}-security`]);
  const text = fs.readFileSync(path.join(j.path, JAIL_SOURCES), 'utf8');
  const keyrings = [...text.matchAll(/^Signed-By: (\S+)$/gm)].map((m) => m[1]!);
  assert.equal(keyrings.length, 2, text);
  for (const k of keyrings) {
    assert.ok(k.startsWith(DEBIAN_KEYRING.replace(/\.gpg$/, '')), k);
    assert.ok(fs.existsSync(path.join(j.path, k)), `${k} is in the jail`);
  }
  assert.ok(!fs.existsSync(path.join(j.path, 'etc/apt/sources.list')), 'no second list of suites');
  // sid never has -updates or -security; a frozen jail (--no-updates) has its release alone.
  assert.deepEqual(
    releaseSuites('sid').map((s) => s.suite),
    ['sid'],
  );
  assert.deepEqual(
    releaseSuites(stable, false).map((s) => s.suite),
    [stable],
  );
});

test('create refuses an existing name and an invalid one before doing any work', async () => {
  await assert.rejects(
    createJail({ home, store, name: 'copy' }, () => undefined),
    code('KILN_E_JAIL_EXISTS'),
  );
  await assert.rejects(
    createJail({ home, store, name: '../evil' }, () => undefined),
    code('KILN_E_USAGE'),
  );
});

test('a failed create leaves nothing behind', async () => {
  // A mirror whose Release files name a release (so the check passes) but that serves nothing else.
  const server = http.createServer((req, res) => {
    const m = /^\/debian\/dists\/([a-z-]+)\/Release$/.exec(req.url ?? '');
    if (m) {
      res.end(`Suite: ${m[1]}\nCodename: ${m[1]}\n`);
      return;
    }
    req.socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const log: string[] = [];
  try {
    await assert.rejects(
      createJail({ home, store, name: 'broken', mirror: `http://127.0.0.1:${port}/debian` }, (l) => log.push(l)),
      (e: unknown) =>
        e instanceof KilnError && e.code === 'KILN_E_JAIL_CREATE' && /in phase mmdebstrap/.test(e.message),
    );
  } finally {
    server.close();
  }
  assert.ok(log.some((l) => l.includes('=== phase mmdebstrap FAILED')));
  assert.deepEqual(fs.readdirSync(path.join(home, 'jails')).sort(), ['copy']);
  assert.equal(store.getJail('broken'), undefined);
});

test('update recomputes the manifest: a changed package set changes the identity', async () => {
  const old = store.getJail('copy')!;
  // Change the package set the way a newer archive would: one more package in the root.
  await run(
    'bwrap',
    bwrapArgv({
      root: old.path,
      user: { kind: 'root' },
      network: true,
      argv: ['sh', '-c', 'apt-get install -y --no-install-recommends hello >/dev/null'],
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    }),
  );
  const lines: string[] = [];
  const r = await updateJail({ home, store, name: 'copy' }, (l) => lines.push(l));
  // apt read the three suites, each checked against Debian's keyring.
  for (const s of jailSuites(old.path))
    assert.ok(
      lines.some((l) => new RegExp(`^(Hit|Get|Ign):\\d+ \\S+ ${s} InRelease`).test(l)),
      `${s}:\n${lines.join('\n')}`,
    );
  assert.ok(!lines.some((l) => /NO_PUBKEY|not signed|^W: |^E: /.test(l)), lines.join('\n'));
  assert.equal(r.changed, true);
  assert.ok(
    r.changes.some((c) => /^\+hello=/.test(c)),
    r.changes.join(', '),
  );
  assert.notEqual(r.record.identity, old.identity);
  assert.match(fs.readFileSync(jailPaths(home, 'copy').manifest, 'utf8'), /^hello=/m);
  // apt's binary caches are rewritten for the new lists and status (each sandbox's apt maps them).
  for (const f of ['pkgcache.bin', 'srcpkgcache.bin']) {
    assert.ok(
      fs.statSync(path.join(old.path, 'var/cache/apt', f)).mtimeMs >=
        fs.statSync(path.join(old.path, 'var/lib/dpkg/status')).mtimeMs,
      f,
    );
  }
  const again = await updateJail({ home, store, name: 'copy' }, () => undefined);
  assert.equal(again.changed, false);
  assert.equal(again.record.identity, r.record.identity);
});

test('jail list through the CLI', async () => {
  const out: string[] = [];
  assert.equal(
    await main(['jail', 'list', '--json', '--home', home], { out: (t) => out.push(t), err: () => undefined }),
    0,
  );
  const list = JSON.parse(out.join('')) as { name: string; arch: string; release: string; suites: string[] }[];
  assert.deepEqual(
    list.map((j) => [j.name, j.arch]),
    [['copy', 'amd64']],
  );
  assert.deepEqual(list[0]!.suites, [list[0]!.release, `${list[0]!.release}-updates`, `${list[0]!.release}-security`]);
  assert.equal(await main(['jail', 'frob', '--home', home], { out: () => undefined, err: () => undefined }), 2);
});

test('delete refuses while a sandbox is mounted over the jail, then deletes', async () => {
  const j = store.getJail('copy')!;
  const sb = await createSandbox({ home, jail: j });
  try {
    await assert.rejects(deleteJail({ home, store, name: 'copy' }), code('KILN_E_JAIL_BUSY'));
    await assert.rejects(
      updateJail({ home, store, name: 'copy' }, () => undefined),
      code('KILN_E_JAIL_BUSY'),
    );
    assert.ok(fs.existsSync(path.join(j.path, 'usr/bin')));
  } finally {
    await sb.teardown();
  }
  await deleteJail({ home, store, name: 'copy' });
  assert.ok(!fs.existsSync(jailPaths(home, 'copy').dir));
  assert.equal(store.getJail('copy'), undefined);
  await assert.rejects(deleteJail({ home, store, name: 'copy' }), code('KILN_E_JAIL_NOT_FOUND'));
});
