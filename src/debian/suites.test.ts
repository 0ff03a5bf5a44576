/** Releases and suites against a small local mirror (Release files only), and the real mirror's stable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { KilnError } from '../util/errors.js';
import { availableSuites, archiveSuites, parseReleaseHead, releaseSuites, resolveRelease } from './suites.js';
import { hostMirror } from './mirror.js';

const RELEASES: Record<string, string> = {
  'debian/dists/stable/Release': 'Origin: Debian\nSuite: stable\nVersion: 13.8\nCodename: trixie\n',
  'debian/dists/trixie/Release': 'Suite: stable\nCodename: trixie\n',
  'debian/dists/trixie-updates/Release': 'Suite: stable-updates\nCodename: trixie-updates\n',
  'debian/dists/testing/Release': 'Suite: testing\nCodename: forky\n',
  'debian/dists/forky/Release': 'Suite: testing\nCodename: forky\n',
  'debian/dists/unstable/Release': 'Suite: unstable\nCodename: sid\n',
  'debian/dists/sid/Release': 'Suite: unstable\nCodename: sid\n',
  'security/dists/trixie-security/Release': 'Suite: stable-security\nCodename: trixie-security\n',
};

test('release names resolve to codenames; suites per release; what the archives carry', async () => {
  const server = http.createServer((req, res) => {
    const body = RELEASES[(req.url ?? '').slice(1)];
    res.statusCode = body === undefined ? 404 : 200;
    res.end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const mirror = `${base}/debian`;
  const security = `${base}/security`;
  try {
    assert.deepEqual(parseReleaseHead(RELEASES['debian/dists/stable/Release']!), {
      codename: 'trixie',
      suite: 'stable',
      version: '13.8',
    });
    assert.equal(await resolveRelease(mirror), 'trixie', "no name: the mirror's stable");
    assert.equal(await resolveRelease(mirror, 'testing'), 'forky');
    assert.equal(await resolveRelease(mirror, 'sid'), 'sid');
    await assert.rejects(
      resolveRelease(mirror, 'nosuch'),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_USAGE' && /nosuch/.test(e.message),
    );
    assert.deepEqual(releaseSuites('trixie'), [
      { suite: 'trixie', archive: 'main' },
      { suite: 'trixie-updates', archive: 'main' },
      { suite: 'trixie-security', archive: 'security' },
    ]);
    assert.deepEqual(
      releaseSuites('sid').map((s) => s.suite),
      ['sid'],
    );
    const log: string[] = [];
    const forky = await availableSuites({ mirror, security, codename: 'forky', log: (l) => log.push(l) });
    assert.deepEqual(
      forky.map((s) => s.suite),
      ['forky'],
      'suites the mirror lacks are left out',
    );
    assert.equal(log.length, 2, log.join('\n'));
    const trixie = await availableSuites({ mirror, security, codename: 'trixie' });
    assert.deepEqual(
      trixie.map((s) => [s.suite, s.url]),
      [
        ['trixie', mirror],
        ['trixie-updates', mirror],
        ['trixie-security', security],
      ],
    );
    assert.deepEqual(
      (await availableSuites({ mirror, codename: 'trixie' })).map((s) => s.suite),
      ['trixie', 'trixie-updates'],
      'no security archive',
    );
    await assert.rejects(
      availableSuites({ mirror, security, codename: 'nosuch' }),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_USAGE',
    );
    assert.deepEqual(await archiveSuites(mirror, security), [
      { suite: 'trixie', url: mirror },
      { suite: 'forky', url: mirror },
      { suite: 'sid', url: mirror },
      { suite: 'trixie-security', url: security },
    ]);
  } finally {
    server.close();
  }
});

test('the real mirror names a codename for stable', async () => {
  assert.match(await resolveRelease(hostMirror()), /^[a-z]+$/);
});
