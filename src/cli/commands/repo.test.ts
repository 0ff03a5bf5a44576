import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../main.js';
import { publish } from '../../repo/index.js';
import { makeDeb } from '../../repo/testing.js';
import { parseListen, startServe } from './serve.js';

function capture(home: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    ctx: {
      home,
      out: (t: string) => {
        out.push(t);
      },
      err: (t: string) => {
        err.push(t);
      },
      isTTY: false,
      env: {},
      cwd: home,
    },
  };
}

test('kiln repo list, show and rollback; kiln serve prints the sources line and serves it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-repo-'));
  try {
    const home = path.join(dir, 'home');
    const d1 = await makeDeb(dir, { name: 'one', version: '1-k1' });
    const d2 = await makeDeb(dir, { name: 'two', version: '1-k1' });
    await publish({ home, jail: 'bookworm', tree: 'ex', arch: 'amd64', debs: [{ path: d1 }] });
    await publish({ home, jail: 'bookworm', tree: 'ex', arch: 'amd64', debs: [{ path: d1 }, { path: d2 }] });
    let c = capture(home);
    assert.equal(await main(['repo', 'list', '--json'], c.ctx), 0);
    const list = JSON.parse(c.out.join('')) as {
      name: string;
      current: number;
      generations: { generation: number }[];
    }[];
    assert.deepEqual(
      list.map((r) => [r.name, r.current, r.generations.length]),
      [['bookworm-ex', 2, 2]],
    );
    c = capture(home);
    assert.equal(
      await main(['repo', 'show', '-j', 'bookworm', '-p', 'ex', '--url', 'http://build.lan:8080'], c.ctx),
      0,
    );
    assert.ok(
      c.out.includes(
        'sources: deb [signed-by=/etc/apt/keyrings/kiln-bookworm-ex.gpg] http://build.lan:8080/repo/bookworm-ex bookworm main',
      ),
      c.out.join('\n'),
    );
    c = capture(home);
    assert.equal(await main(['repo', 'rollback', 'bookworm-ex'], c.ctx), 0);
    assert.match(c.out.join('\n'), /now serving generation 1 \(was 2\)/);
    c = capture(home);
    assert.equal(await main(['repo', 'rollback', 'bookworm-ex'], c.ctx), 2);
    assert.match(c.err.join('\n'), /KILN_E_REPO_NOT_FOUND/);
    c = capture(home);
    assert.equal(await main(['repo', 'show', 'nope-nope'], c.ctx), 2);
    assert.equal(await main(['repo', 'frobnicate'], c.ctx), 2);

    c = capture(home);
    const { app, baseUrl } = await startServe(['--listen', '127.0.0.1:0'], c.ctx);
    try {
      assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      const line = `deb [signed-by=/etc/apt/keyrings/kiln-bookworm-ex.gpg] ${baseUrl}/repo/bookworm-ex bookworm main`;
      assert.ok(c.out.join('\n').includes(line), c.out.join('\n'));
      const index = await (await fetch(`${baseUrl}/repo/`)).text();
      assert.ok(index.includes(line));
      const inrelease = await fetch(`${baseUrl}/repo/bookworm-ex/dists/bookworm/InRelease`);
      assert.equal(inrelease.status, 200);
      assert.match(await inrelease.text(), /BEGIN PGP SIGNED MESSAGE/);
    } finally {
      await app.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--listen parsing', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListen('9000'), { host: '127.0.0.1', port: 9000 });
  assert.throws(() => parseListen('localhost'), /HOST:PORT/);
  assert.throws(() => parseListen('a:99999'), /HOST:PORT/);
});
