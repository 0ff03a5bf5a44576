/**
 * Hostile distfile URLs (issue 14): a recipe is written by an attacker who wants the signing key or a request to
 * the host's own services. Each case asserts the attack is refused, and how; servers on 127.0.0.x count every
 * connection so "refused before any connection" is checked, not assumed.
 */
import { after as afterAll, before as beforeAll, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fetchDistfiles, downloadToFile, distfileName, AllowList, blockedReason } from './index.js';
import { KilnError } from '../util/errors.js';
import { run } from '../util/exec.js';
import { parseConfig } from '../config/index.js';

const SECRET = Buffer.from('-----BEGIN PGP PRIVATE KEY BLOCK-----\nnot really, but treat it so\n');
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
const WANTED = sha(Buffer.from('the real tarball'));

let tmp = '';
let keyFile = '';
/** The server a recipe may use (127.0.0.1 is allowed by name in these tests), and one it may not (127.0.0.2). */
let open: http.Server;
let openBase = '';
let inner: http.Server;
let innerBase = '';
let innerConnections = 0;
let openConnections = 0;

function listen(s: http.Server, host: string): Promise<string> {
  return new Promise((r) => s.listen(0, host, () => r(`http://${host}:${(s.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-fetch-'));
  fs.mkdirSync(path.join(tmp, 'keys'), { mode: 0o700 });
  keyFile = path.join(tmp, 'keys', 'secret.asc');
  fs.writeFileSync(keyFile, SECRET, { mode: 0o600 });
  inner = http.createServer((_q, res) => res.end(SECRET));
  inner.on('connection', () => {
    innerConnections++;
  });
  innerBase = await listen(inner, '127.0.0.2');
  const innerPort = new URL(innerBase).port;
  open = http.createServer((req, res) => {
    const to: Record<string, string> = {
      '/to-file': `file://${keyFile}`,
      '/to-inner': `${innerBase}/x`,
      '/to-v6': `http://[::1]:${innerPort}/x`,
      '/to-mapped': `http://[::ffff:127.0.0.2]:${innerPort}/x`,
      '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
      '/relative': '/secret',
    };
    const target = to[req.url ?? ''];
    if (target) {
      res.statusCode = 302;
      res.setHeader('location', target);
      res.end();
      return;
    }
    res.end(SECRET);
  });
  open.on('connection', () => {
    openConnections++;
  });
  openBase = await listen(open, '127.0.0.1');
});
afterAll(async () => {
  await new Promise<void>((r) => inner.close(() => r()));
  await new Promise<void>((r) => open.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function home(name: string): string {
  const h = path.join(tmp, name);
  fs.mkdirSync(h, { recursive: true });
  return h;
}

/** Fetches `url` as a recipe would; returns the KILN_E_FETCH/KILN_E_CHECKSUM message. */
async function failingFetch(name: string, url: string, allowHosts: readonly string[] = ['127.0.0.1']): Promise<string> {
  const h = home(name);
  try {
    await fetchDistfiles({ origin: 'evil/port', sources: [{ url, sha256: WANTED }] }, { home: h, allowHosts });
  } catch (e) {
    assert.ok(e instanceof KilnError, String(e));
    const cached = fs.existsSync(path.join(h, 'distfiles/sha256'))
      ? fs.readdirSync(path.join(h, 'distfiles/sha256'))
      : [];
    assert.deepEqual(cached, [], 'nothing was cached');
    return e.message;
  }
  assert.fail(`${url} was fetched`);
}

test('key theft by file:// is refused (no such scheme for recipes)', async () => {
  const msg = await failingFetch('file', `file://${keyFile}`);
  assert.match(msg, /file URLs are not allowed/);
  const enc = await failingFetch('file-enc', `FILE://localhost${keyFile.replace(/\//g, '%2F').replace(/^%2F/, '/')}`);
  assert.match(enc, /file URLs are not allowed/);
});

test('other schemes (gopher, dict, ldap, scp, data) are refused', async () => {
  for (const url of [
    'gopher://127.0.0.1:1/x',
    'dict://127.0.0.1:11211/stats',
    'ldap://127.0.0.1/',
    'scp://127.0.0.1/etc/passwd',
    'data:,hello',
  ]) {
    const r = await downloadToFile(url, path.join(tmp, 'scheme.out'));
    assert.equal(r.ok ? 'ok' : r.kind, 'refused', url);
  }
});

test('SSRF to loopback is refused before any connection (the listening server sees none)', async () => {
  const before = innerConnections;
  assert.match(
    await failingFetch('localhost', `http://localhost:${new URL(innerBase).port}/x`, []),
    /localhost resolves to .*loopback/,
  );
  for (const url of [
    `${innerBase}/x`,
    `http://[::1]:${new URL(innerBase).port}/x`,
    `http://[::ffff:127.0.0.2]:${new URL(innerBase).port}/x`,
    `http://[::ffff:7f00:2]:${new URL(innerBase).port}/x`,
    `http://2130706434:${new URL(innerBase).port}/x`,
    `http://0x7f.0.0.2:${new URL(innerBase).port}/x`,
    `http://0.0.0.0:${new URL(innerBase).port}/x`,
  ]) {
    const msg = await failingFetch('loop', url);
    assert.match(msg, /refused \(kiln\.yaml fetch\.allow_hosts can allow it\)/, url);
  }
  assert.equal(innerConnections, before, 'no connection reached the loopback server');
});

test('SSRF to private, link-local and metadata addresses is refused without connecting', async () => {
  for (const url of [
    'http://10.1.2.3/x',
    'http://172.16.0.1/x',
    'http://192.168.1.1/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/x',
    'http://[fd00::1]/x',
    'http://[::ffff:10.0.0.1]/x',
    'http://[64:ff9b::a9fe:a9fe]/x',
    'http://[2002:7f00:1::]/x',
    'ftp://10.0.0.1/x',
  ]) {
    const r = await downloadToFile(url, path.join(tmp, 'ssrf.out'), { connectTimeoutMs: 1_000, attempts: 1 });
    assert.equal(r.ok ? 'ok' : r.kind, 'refused', url);
  }
});

test('every redirect hop is checked: to file:, loopback, [::1], mapped IPv4 and metadata are refused', async () => {
  const before = innerConnections;
  for (const [p, why] of [
    ['/to-file', /file URLs are not allowed/],
    ['/to-inner', /loopback/],
    ['/to-v6', /loopback/],
    ['/to-mapped', /loopback, inside an IPv6 address/],
    ['/to-metadata', /169\.254\.169\.254, a link-local/],
  ] as const) {
    const msg = await failingFetch('redirect', `${openBase}${p}`);
    assert.match(msg, why, p);
    assert.match(msg, /redirected to/, p);
  }
  assert.equal(innerConnections, before, 'no redirect reached the loopback server');
});

test('an allowed host by name does not allow its neighbours, and a CIDR allows exactly its network', () => {
  const a = new AllowList(['127.0.0.1', 'mirror.lan', '10.1.0.0/16', 'fd00::/8']);
  assert.ok(a.allowsAddress('127.0.0.1'));
  assert.ok(!a.allowsAddress('127.0.0.2'));
  assert.ok(a.allowsAddress('10.1.255.1'));
  assert.ok(!a.allowsAddress('10.2.0.1'));
  assert.ok(a.allowsAddress('::ffff:10.1.0.9'), 'a mapped address is judged as its IPv4');
  assert.ok(a.allowsAddress('fd12::1'));
  assert.ok(a.allowsName('MIRROR.lan'));
  assert.ok(!a.allowsName('evil.mirror.lan'));
  for (const ip of ['8.8.8.8', '2001:4860:4860::8888', '151.101.2.132']) assert.equal(blockedReason(ip), undefined, ip);
  for (const ip of [
    '127.1.2.3',
    '::1',
    '::',
    '0.0.0.0',
    '100.64.0.1',
    '::ffff:192.168.0.1',
    '::127.0.0.1',
    'ff02::1',
    '224.0.0.1',
  ])
    assert.notEqual(blockedReason(ip), undefined, ip);
});

test("a checksum failure names the expected hash, never the bytes' hash; the quarantine is root-only", async () => {
  const msg = await failingFetch('mismatch', `${openBase}/relative`);
  assert.match(msg, new RegExp(WANTED));
  assert.ok(!msg.includes(sha(SECRET)), 'the actual hash is not printed');
  assert.ok(!msg.includes('PRIVATE KEY'), 'the bytes are not printed');
  const bad = path.join(tmp, 'mismatch/distfiles/.bad');
  assert.equal(fs.statSync(bad).mode & 0o777, 0o700);
  const [kept] = fs.readdirSync(bad);
  assert.equal(fs.statSync(path.join(bad, kept!)).mode & 0o777, 0o600);
  assert.ok(!kept!.includes(sha(SECRET).slice(0, 16)), 'the quarantined name does not carry the hash');
  if (process.getuid?.() === 0) {
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', path.join(bad, kept!)], {
      allowFailure: true,
    });
    assert.notEqual(r.status, 0, 'nobody cannot read the quarantined file');
  }
});

test('a URL or file name with .. or slashes cannot name a path outside the cache', () => {
  for (const url of [
    'http://h/..%2F..%2Fkeys%2Fsecret.asc',
    'http://h/%2e%2e',
    'http://h/.hidden',
    'http://h/a%00b',
    'http://h/x%0Ay',
  ]) {
    const n = distfileName({ url, sha256: WANTED });
    assert.ok(!n.includes('/') && !n.startsWith('.') && !/[\x00-\x1f]/.test(n), `${url} -> ${n}`);
  }
  assert.equal(distfileName({ url: 'http://h/x', sha256: WANTED, filename: '../../keys/k' }), `${WANTED}.distfile`);
});

test('the download runs as nobody: it cannot read a root-only file even through a trusted file: mirror redirect', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to drop to nobody');
    return;
  }
  // curl itself is never given a file: URL; and the child that does the transfer is nobody with no new privileges.
  const r = await run(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      'curl',
      '-q',
      '-sS',
      '-o',
      '-',
      `file://${keyFile}`,
    ],
    { allowFailure: true },
  );
  assert.notEqual(r.status, 0);
  assert.ok(!r.stdout.includes('PRIVATE KEY'));
  const before = openConnections;
  const ok = await downloadToFile(`${openBase}/plain`, path.join(tmp, 'plain.out'), {
    allow: new AllowList(['127.0.0.1']),
  });
  assert.ok(ok.ok, 'an allowed host is fetched');
  assert.ok(openConnections > before);
});

test('kiln.yaml fetch.allow_hosts takes host names, addresses and networks, and nothing else', () => {
  const ok = parseConfig('fetch:\n  allow_hosts: [mirror.lan, 10.1.0.0/16, "fd00::/8", 127.0.0.1]\n', 'kiln.yaml');
  assert.deepEqual(ok.fetch.allow_hosts, ['mirror.lan', '10.1.0.0/16', 'fd00::/8', '127.0.0.1']);
  for (const bad of ['"http://x/"', '"10.0.0.0/33"', '"a b"', '"x/8"']) {
    assert.throws(
      () => parseConfig(`fetch:\n  allow_hosts: [${bad}]\n`, 'kiln.yaml'),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_CONFIG',
      bad,
    );
  }
});
