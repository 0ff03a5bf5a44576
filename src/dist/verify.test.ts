/**
 * A worker's upload is checked against the job's port (issue 14): a `.deb` of another port, or one whose control
 * file lies about its name, version or architecture, or disagrees with its file name, is refused. Real `.deb`s
 * (dpkg-deb), read the way the master reads them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debMismatch } from './verify.js';
import { controlWithDpkg } from '../repo/index.js';
import { makeDeb } from '../repo/testing.js';
import { parseRecipe, type Port } from '../recipe/index.js';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-verify-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function port(origin: string, version: string, revision = 1): Port {
  const r = parseRecipe(
    `version: "${version}"\nrevision: ${revision}\nsummary: s\nbuild:\n  system: make\n`,
    'port.yaml',
    origin,
  );
  assert.ok(r.recipe, JSON.stringify(r.problems));
  const name = origin.split('/')[1]!;
  return { origin, dir: '/x', path: '/x/port.yaml', layer: 'main', pkgname: name, recipe: r.recipe, contentHash: 'x' };
}

async function check(deb: string, p: Port, arch = 'amd64', name = path.basename(deb)): Promise<string | undefined> {
  return debMismatch(await controlWithDpkg(deb), name, p, arch);
}

test("the port's own .deb passes", async () => {
  const deb = await makeDeb(tmp, { name: 'hello', version: '2.10-k1' });
  assert.equal(await check(deb, port('misc/hello', '2.10')), undefined);
});

test('a worker uploading a .deb for another port is refused', async () => {
  const other = await makeDeb(tmp, { name: 'bash', version: '2.10-k1' });
  assert.match(
    (await check(other, port('misc/hello', '2.10')))!,
    /names package "bash", which port misc\/hello does not make/,
  );
});

test('a .deb whose control file lies about its version, or its file name, is refused', async () => {
  const newer = await makeDeb(tmp, { name: 'hello', version: '99.0-1' });
  assert.match((await check(newer, port('misc/hello', '2.10')))!, /says version "99\.0-1", not 2\.10-k1/);
  const epoch = await makeDeb(tmp, { name: 'hello', version: '9:2.10-k1' });
  assert.match((await check(epoch, port('misc/hello', '2.10')))!, /not 2\.10-k1/);
  // Named as the port's package, but its control file is another package's.
  const disguised = await makeDeb(tmp, { name: 'coreutils', version: '2.10-k1' });
  assert.match(
    (await check(disguised, port('misc/hello', '2.10'), 'amd64', 'hello_2.10-k1_amd64.deb'))!,
    /names package "coreutils"/,
  );
  const misnamed = await makeDeb(tmp, { name: 'hello', version: '2.10-k1', arch: 'all' });
  assert.match(
    (await check(misnamed, port('misc/hello', '2.10'), 'amd64', 'hello_2.10-k1_amd64.deb'))!,
    /control file makes it hello_2\.10-k1_all\.deb/,
  );
});

test('a .deb for another architecture is refused', async () => {
  const arm = await makeDeb(tmp, { name: 'hello', version: '2.10-k1', arch: 'arm64' });
  assert.match((await check(arm, port('misc/hello', '2.10')))!, /architecture "arm64", not amd64 or all/);
});

test('a Debian source port may upload its binaries (and their -dbgsym), nothing else', async () => {
  const base = port('misc/hello', '1');
  const p: Port = {
    ...base,
    debian: {
      package: 'hello',
      version: '2.10-3',
      directory: 'pool/main/h/hello',
      files: [],
      binary: ['hello', 'hello-doc'],
      buildDepends: '',
      buildDependsArch: '',
      buildDependsIndep: '',
    },
  };
  const ok = await makeDeb(tmp, { name: 'hello-doc', version: '2.10-3+kiln1', arch: 'all' });
  assert.equal(await check(ok, p), undefined);
  const dbg = await makeDeb(tmp, { name: 'hello-dbgsym', version: '2.10-3+kiln1' });
  assert.equal(await check(dbg, p), undefined);
  const evil = await makeDeb(tmp, { name: 'openssh-server', version: '2.10-3+kiln1' });
  assert.match((await check(evil, p))!, /names package "openssh-server"/);
});
