/** apt through the master: which archives a jail names, how proxy requests are routed and confined, the worker's setting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APT_PROXY_CONF,
  applyAptProxy,
  aptProxyConf,
  aptProxyRewrite,
  aptUpstreamUrl,
  aptUpstreams,
  proxyPassword,
} from './apt-proxy.js';

test("the archives of a root's apt sources, one-line and deb822; https is not proxied", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-aptproxy-'));
  try {
    fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'etc/apt/sources.list'),
      '# comment\ndeb http://archive.example/debian bookworm main\ndeb-src http://archive.example/debian bookworm main\n',
    );
    fs.writeFileSync(
      path.join(root, 'etc/apt/sources.list.d/x.sources'),
      'Types: deb\nURIs: http://sec.example/debian-security/\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nURIs: https://tls.example/debian\nSuites: bookworm\nComponents: main\n',
    );
    assert.deepEqual(aptUpstreams(root).sort(), [
      'http://archive.example/debian/',
      'http://sec.example/debian-security/',
    ]);
    assert.deepEqual(aptUpstreams(path.join(root, 'nowhere')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('proxy requests are routed under /dist/apt/ and confined to the allowed archives', () => {
  const up = ['http://archive.example/debian/'];
  assert.equal(
    aptProxyRewrite('http://Archive.example/debian/dists/bookworm/InRelease'),
    '/dist/apt/archive.example/debian/dists/bookworm/InRelease',
  );
  assert.equal(aptProxyRewrite('/dist/blobs/abc'), '/dist/blobs/abc', 'ordinary requests are left alone');
  assert.equal(
    aptUpstreamUrl(aptProxyRewrite('http://archive.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb'), up),
    'http://archive.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
  );
  for (const bad of [
    'http://other.example/debian/dists/x',
    'http://archive.example/debianx/y',
    'http://archive.example/debian/../etc/passwd',
    'http://archive.example/debian/%2e%2e/x',
    'http://archive.example/other/',
  ]) {
    assert.equal(aptUpstreamUrl(aptProxyRewrite(bad), up), undefined, bad);
  }
  assert.equal(aptUpstreamUrl('/dist/blobs/x', up), undefined);
});

test("the worker's apt setting carries the token as proxy password, is private, and goes for --apt-direct", () => {
  assert.equal(
    aptProxyConf('https://m.example:8081', 't'),
    undefined,
    'apt cannot use an https master as its http proxy',
  );
  const conf = aptProxyConf('http://10.0.0.1:8081/', 'tok:en/1')!;
  assert.match(conf, /^Acquire::http::Proxy "http:\/\/kiln:tok%3Aen%2F1@10\.0\.0\.1:8081\/";$/m);
  assert.equal(proxyPassword(`Basic ${Buffer.from('kiln:tok%3Aen%2F1').toString('base64')}`), 'tok:en/1');
  assert.equal(proxyPassword('Bearer x'), undefined);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-aptproxy-root-'));
  try {
    applyAptProxy(root, conf);
    const file = path.join(root, APT_PROXY_CONF);
    assert.equal(fs.readFileSync(file, 'utf8'), conf);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    applyAptProxy(root, undefined);
    assert.equal(fs.existsSync(file), false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
