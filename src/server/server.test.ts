import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { publish } from '../repo/index.js';
import { makeDeb } from '../repo/testing.js';
import { buildServer } from './index.js';

let dir = '';
let home = '';
let app: FastifyInstance;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-server-'));
  home = path.join(dir, 'home');
  const deb = await makeDeb(dir, { name: 'hello', version: '1.0-k1' });
  await publish({ home, jail: 'bookworm', tree: 'main', arch: 'amd64', debs: [{ path: deb }] });
  fs.writeFileSync(path.join(home, 'secret.txt'), 'secret\n');
  fs.writeFileSync(path.join(home, 'repos', 'bookworm-main', 'outside.txt'), 'outside the generation\n');
  // A symlink inside the served generation that points out of it.
  fs.symlinkSync(path.join(home, 'secret.txt'), path.join(home, 'repos', 'bookworm-main', 'gen-1', 'leak'));
  fs.symlinkSync('../outside.txt', path.join(home, 'repos', 'bookworm-main', 'gen-1', 'leak2'));
  app = await buildServer({ home });
});

after(async () => {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('serves the current generation: indexes, pool files, the key, with non-HTML types', async () => {
  const rel = fs.readFileSync(path.join(home, 'repos/bookworm-main/current/dists/bookworm/Release'));
  const r = await app.inject({ url: '/repo/bookworm-main/dists/bookworm/Release' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.rawPayload, rel);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const deb = await app.inject({ url: '/repo/bookworm-main/pool/main/h/hello/hello_1.0-k1_amd64.deb' });
  assert.equal(deb.statusCode, 200);
  assert.equal(deb.headers['content-type'], 'application/vnd.debian.binary-package');
  assert.deepEqual(deb.rawPayload, fs.readFileSync(path.join(dir, 'hello_1.0-k1_amd64.deb')));
  const key = await app.inject({ url: '/repo/bookworm-main/kiln-archive-keyring.gpg' });
  assert.equal(key.statusCode, 200);
  assert.deepEqual(key.rawPayload, fs.readFileSync(path.join(home, 'repos/bookworm-main/kiln-archive-keyring.gpg')));
  const head = await app.inject({ method: 'HEAD', url: '/repo/bookworm-main/dists/bookworm/InRelease' });
  assert.equal(head.statusCode, 200);
});

test('the index lists each repository with its exact sources line; /api/repos gives the same as JSON', async () => {
  const r = await app.inject({ url: '/repo/', headers: { host: '127.0.0.1:9999' } });
  assert.equal(r.statusCode, 200);
  assert.match(
    r.body,
    /deb \[signed-by=\/etc\/apt\/keyrings\/kiln-bookworm-main\.gpg\] http:\/\/127\.0\.0\.1:9999\/repo\/bookworm-main bookworm main/,
  );
  assert.match(r.body, /curl -fsSL http:\/\/127\.0\.0\.1:9999\/repo\/bookworm-main\/kiln-archive-keyring\.gpg/);
  const j = await app.inject({ url: '/api/repos', headers: { host: 'example.invalid' } });
  const list = j.json() as { name: string; current: number; sourcesLine: string }[];
  assert.equal(list.length, 1);
  assert.equal(list[0]!.name, 'bookworm-main');
  assert.equal(list[0]!.current, 1);
  assert.equal(
    list[0]!.sourcesLine,
    'deb [signed-by=/etc/apt/keyrings/kiln-bookworm-main.gpg] http://example.invalid/repo/bookworm-main bookworm main',
  );
});

test('path traversal, encoded dots, symlinks out of the root and missing files never leave the root', async () => {
  const attempts = [
    '/repo/bookworm-main/../../secret.txt',
    '/repo/bookworm-main/%2e%2e/%2e%2e/secret.txt',
    '/repo/bookworm-main/%2E%2E/outside.txt',
    '/repo/bookworm-main/dists/%2e%2e%2f%2e%2e%2foutside.txt',
    '/repo/bookworm-main/..%2foutside.txt',
    '/repo/bookworm-main/dists/../../outside.txt',
    '/repo/..%2f..%2fsecret.txt/x',
    '/repo/%2e%2e/secret.txt',
    '/repo/bookworm-main/leak',
    '/repo/bookworm-main/leak2',
    '/repo/bookworm-main/dists',
    '/repo/bookworm-main/nope',
    '/repo/no-such-repo/dists/bookworm/Release',
    '/repo/bookworm-main/dists/bookworm/Release%00.txt',
    '/repo/bookworm-main/..\\..\\secret.txt',
  ];
  // inject() normalizes URLs like a browser would (WHATWG URL turns %2e%2e into ..), so send the raw paths
  // over a socket on 127.0.0.1 as a hostile client would.
  const server = await buildServer({ home });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const port = (server.server.address() as AddressInfo).port;
  try {
    for (const url of attempts) {
      const r = await rawGet(port, url);
      assert.ok(r.status === 400 || r.status === 404, `${url} answered ${r.status}`);
      assert.notEqual(r.body, 'secret\n', url);
      assert.doesNotMatch(r.body, /outside the generation/, url);
    }
  } finally {
    await server.close();
  }
});

function rawGet(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
