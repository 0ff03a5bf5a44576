// The real thing: a fresh Debian root (mmdebstrap, cached), the repository served on 127.0.0.1, plain apt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { run } from '../util/exec.js';
import { buildServer } from '../server/index.js';
import { currentGeneration, parseReleaseSha256, publish, repoInfo, verifyGeneration } from './index.js';
import { freshRoot, makeDeb, type TestRoot } from './testing.js';

const JAIL = 'bookworm';
const TREE = 'apt';
const here = path.dirname(fileURLToPath(import.meta.url));
let dir = '';
let home = '';
let repo = '';
let root: TestRoot;
let app: FastifyInstance;
let baseUrl = '';

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-apt-'));
  home = path.join(dir, 'home');
  repo = path.join(home, 'repos', `${JAIL}-${TREE}`);
  root = await freshRoot(JAIL, 'amd64');
  app = await buildServer({ home });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app?.close();
  await run('gpgconf', ['--kill', 'gpg-agent'], {
    env: { ...process.env, GNUPGHOME: path.join(home, 'keys', 'gnupg') },
    allowFailure: true,
  }).catch(() => undefined);
  root?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const apt = (args: string[], allowFailure = false) =>
  root.exec(['apt-get', '-q', '-y', '-o', 'Acquire::Retries=0', ...args], { allowFailure });

/** A client that never saw the repository: no lists, no cached .debs. */
function forgetLists(): void {
  for (const d of ['var/lib/apt/lists', 'var/cache/apt/archives']) {
    for (const n of fs.readdirSync(path.join(root.dir, d))) {
      if (n !== 'partial' && n !== 'lock') fs.rmSync(path.join(root.dir, d, n), { recursive: true, force: true });
    }
  }
}

/** Replaces a file by a new one (unlink first: generations share inodes through hard links). */
function replaceFile(file: string, data: Buffer): void {
  fs.rmSync(file);
  fs.writeFileSync(file, data);
}

test('apt installs from the served repository, upgrades to a new generation, and refuses tampering', async () => {
  const v1 = await makeDeb(dir, { name: 'kiln-hello', version: '1.0-k1', says: 'hello from 1.0' });
  const v1dbg = await makeDeb(dir, {
    name: 'kiln-hello-dbgsym',
    version: '1.0-k1',
    fields: { 'Auto-Built-Package': 'debug-symbols' },
  });
  // With a Valid-Until (apt checks it) and debug symbols, which go to the JAIL-debug suite.
  await publish({
    home,
    jail: JAIL,
    tree: TREE,
    arch: 'amd64',
    debs: [{ path: v1 }, { path: v1dbg }],
    validDays: 7,
    debugSymbols: true,
  });
  const info = repoInfo(home, JAIL, TREE, baseUrl);
  // The client fetches the key over HTTP, as the printed instructions say, and adds the printed line.
  const key = await fetch(info.keyUrl);
  assert.equal(key.status, 200);
  fs.writeFileSync(path.join(root.dir, info.keyringPath), Buffer.from(await key.arrayBuffer()));
  fs.writeFileSync(
    path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'),
    `${info.sourcesLine}\n${info.debugSourcesLine}\n`,
  );
  // Each compressed index, asked for first in turn, is fetched (by hash), decompressed and accepted by apt.
  for (const type of ['xz', 'gz']) {
    forgetLists();
    const upd = await apt(['update', '-o', `Acquire::CompressionTypes::Order::=${type}`]);
    assert.doesNotMatch(upd.stderr, /^(W|E):/m, `${type}: ${upd.stderr}`);
    assert.match((await root.exec(['apt-cache', 'policy', 'kiln-hello'])).stdout, /Candidate: 1\.0-k1/, type);
  }
  const dbg = (await root.exec(['apt-cache', 'policy', 'kiln-hello-dbgsym'])).stdout;
  assert.match(dbg, /Candidate: 1\.0-k1/);
  assert.match(dbg, new RegExp(`${JAIL}-debug/main amd64 Packages`), 'the debug package comes from the debug suite');
  await apt(['install', 'kiln-hello']);
  assert.equal((await root.exec(['kiln-hello'])).stdout, 'hello from 1.0\n');
  fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);

  const v2 = await makeDeb(dir, { name: 'kiln-hello', version: '1.1-k1', says: 'hello from 1.1' });
  await publish({ home, jail: JAIL, tree: TREE, arch: 'amd64', debs: [{ path: v2 }] });
  await apt(['update']);
  await apt(['upgrade']);
  assert.equal((await root.exec(['kiln-hello'])).stdout, 'hello from 1.1\n');

  // Tampered index: one byte of Packages changes (and its compressed forms and by-hash copies are made to
  // match it, as an attacker with write access but no key would): the signed Release no longer agrees.
  const bin = path.join(repo, 'current', 'dists', JAIL, 'main', 'binary-amd64');
  const packages = fs.readFileSync(path.join(bin, 'Packages'));
  const evil = Buffer.from(packages.toString('utf8').replace('Prints a line', 'Prints a lime'));
  assert.notDeepEqual(evil, packages);
  const release = parseReleaseSha256(fs.readFileSync(path.join(repo, 'current', 'dists', JAIL, 'Release'), 'utf8'));
  for (const [name, data] of [
    ['Packages', evil],
    ['Packages.gz', zlib.gzipSync(evil)],
    ['Packages.xz', (await run('xz', ['-c'], { input: evil })).stdoutBytes],
  ] as const) {
    replaceFile(path.join(bin, name), data);
    replaceFile(path.join(bin, 'by-hash', 'SHA256', release.get(`main/binary-amd64/${name}`)!.sha256), data);
  }
  forgetLists();
  const bad = await apt(['update'], true);
  assert.notEqual(bad.status, 0, 'apt-get update must fail on a tampered Packages');
  assert.match(bad.stdout + bad.stderr, /Hash Sum mismatch|File has unexpected size/);

  // Republishing writes a clean generation; then a .deb tampered behind kiln's back (one byte, same size).
  await publish({ home, jail: JAIL, tree: TREE, arch: 'amd64', debs: [{ path: v2 }] });
  forgetLists();
  await apt(['update']);
  const pooled = path.join(repo, 'current', 'pool/main/k/kiln-hello/kiln-hello_1.1-k1_amd64.deb');
  const deb = Buffer.from(fs.readFileSync(pooled));
  deb[deb.length - 10] = deb[deb.length - 10]! ^ 0xff;
  replaceFile(pooled, deb);
  const badDeb = await apt(['install', '--reinstall', 'kiln-hello'], true);
  assert.notEqual(badDeb.status, 0, 'apt-get install must refuse a tampered .deb');
  assert.match(badDeb.stdout + badDeb.stderr, /Hash Sum mismatch/);
});

test('publishes killed with SIGKILL at any instant leave apt a whole generation to update from', async () => {
  const setA = [await makeDeb(dir, { name: 'kiln-hello', version: '2.0-k1' })];
  const setB = [await makeDeb(dir, { name: 'kiln-hello', version: '2.1-k1' })];
  for (let i = 0; i < 12; i++) {
    setA.push(await makeDeb(dir, { name: `kiln-filler${i}`, version: '1-k1' }));
    setB.push(await makeDeb(dir, { name: `kiln-filler${i}`, version: '1-k2' }));
  }
  const child = path.join(here, '__fixtures__', 'publish-child.ts');
  // Kill points: on seeing each phase start (cycled), plus a random delay of 0–40 ms.
  const phases = [
    'lock',
    'clear-leftovers',
    'scan',
    'entries',
    'pool',
    'open-key',
    'indexes',
    'sync',
    'switch',
    'prune',
  ];
  let interrupted = 0;
  const kills = 24;
  for (let i = 0; i < kills; i++) {
    const debs = i % 2 === 0 ? setA : setB;
    const target = `=== phase ${phases[i % phases.length]} started`;
    const delay = Math.floor(Math.random() * 40);
    let pid = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const res = await run(process.execPath, ['--import', 'tsx', child, home, JAIL, TREE, ...debs], {
      allowFailure: true,
      timeoutMs: 60_000,
      cwd: path.join(here, '..', '..'),
      onSpawn: (p) => {
        pid = p;
      },
      onOutput: (chunk) => {
        const text = chunk.toString();
        if (/^done \d+$/m.test(text)) done = true;
        if (timer === undefined && text.includes(target)) {
          timer = setTimeout(() => {
            try {
              process.kill(-pid, 'SIGKILL');
            } catch {
              /* finished already */
            }
          }, delay);
        }
      },
    }).catch((e: unknown) => e);
    if (timer) clearTimeout(timer);
    if (!done) interrupted++;
    void res;
    // Whatever instant it died at, `current` names a whole generation and apt updates from it cleanly.
    const gen = currentGeneration(repo);
    assert.ok(gen !== null, `after kill ${i}: no current generation`);
    assert.deepEqual(verifyGeneration(path.join(repo, 'current'), JAIL), [], `after kill ${i}`);
    forgetLists();
    const upd = await apt(['update'], true);
    assert.equal(
      upd.status,
      0,
      `after kill ${i} (${target} +${delay} ms): apt-get update failed:\n${upd.stdout}${upd.stderr}`,
    );
    assert.doesNotMatch(upd.stderr, /^(W|E):/m, `after kill ${i}: ${upd.stderr}`);
    const policy = await root.exec(['apt-cache', 'policy', 'kiln-hello']);
    assert.match(policy.stdout, /Candidate: (2\.0|2\.1|1\.1)-k1/, `after kill ${i}`);
  }
  assert.ok(interrupted > 0, 'at least one publish died mid-way');
  // The next publish clears what the killed ones left and serves normally.
  const final = await publish({
    home,
    jail: JAIL,
    tree: TREE,
    arch: 'amd64',
    keep: 3,
    debs: setB.map((p) => ({ path: p })),
  });
  assert.deepEqual(
    fs.readdirSync(repo).filter((n) => n.includes('.tmp')),
    [],
  );
  assert.ok(fs.readdirSync(repo).filter((n) => /^gen-\d+$/.test(n)).length <= 3);
  forgetLists();
  await apt(['update']);
  await apt(['install', 'kiln-hello']);
  assert.equal((await root.exec(['kiln-hello'])).stdout, 'kiln-hello 2.1-k1\n');
  assert.equal(currentGeneration(repo), final.generation);
  console.log(`# ${kills} kills, ${interrupted} landed before the publish finished`);
});
