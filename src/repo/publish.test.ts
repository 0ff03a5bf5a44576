import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import {
  currentDebs,
  listGenerations,
  parseControl,
  publish,
  repoInfo,
  rollback,
  verifyGeneration,
  xzArgs,
  xzCompress,
  XZ_BLOCK,
} from './index.js';
import { makeDeb } from './testing.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-publish-'));
}

const sha256 = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Packages text → map of `name version` → every field, by name. */
function stanzas(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const para of text.split(/\n\n+/).filter((p) => p.trim())) {
    const f = Object.fromEntries(parseControl(para).map((x) => [x.name, x.value]));
    out.set(`${f.Package} ${f.Version}`, f);
  }
  return out;
}

test("publish writes a whole signed generation: compressed indexes, SHA512, Valid-Until, fields as apt-ftparchive's", async () => {
  const dir = tmp();
  try {
    const home = path.join(dir, 'home');
    // One .deb with the fields Debian's packages carry (Source with a version, Multi-Arch, Pre-Depends, Built-Using,
    // Homepage, a long description with a paragraph break), so that every one is compared with apt-ftparchive's.
    const rich = await makeDeb(dir, {
      name: 'hello',
      version: '1.0-k1',
      depends: 'libc6 (>= 2.34), zz | yy',
      fields: {
        Source: 'hello-src (1.0-1)',
        'Multi-Arch': 'foreign',
        'Pre-Depends': 'dpkg (>= 1.19)',
        Recommends: 'docs',
        Suggests: 'aa',
        Conflicts: 'hello-old',
        Breaks: 'hello-old2 (<< 1)',
        Replaces: 'hello-old',
        Provides: 'hi (= 1.0)',
        'Built-Using': 'gcc-12 (= 12.2.0-14)',
        Homepage: 'https://example.org/hello',
        'X-Custom': 'kept as is',
      },
      longDescription: [' .', ' A second paragraph.'],
    });
    const debs = [
      rich,
      await makeDeb(dir, { name: 'libzz', version: '2:0.9-k1', compress: 'gzip' }),
      await makeDeb(dir, { name: 'docs', version: '3-k1', arch: 'all' }),
    ];
    // Many stanzas, so that compression has something to do.
    for (let i = 0; i < 40; i++)
      debs.push(await makeDeb(dir, { name: `filler${i}`, version: '1-k1', depends: 'libc6 (>= 2.34)' }));
    const now = new Date('2030-05-01T12:00:00Z');
    const r = await publish({
      home,
      jail: 'bookworm',
      tree: 'main',
      arch: 'amd64',
      debs: debs.map((p) => ({ path: p })),
      validDays: 7,
      now: () => now,
      sourceDateEpoch: '',
    });
    assert.equal(r.generation, 1);
    assert.equal(r.packages, 43);
    const repo = path.join(home, 'repos', 'bookworm-main');
    assert.equal(fs.readlinkSync(path.join(repo, 'current')), 'gen-1');
    const cur = path.join(repo, 'current');
    const dists = path.join(cur, 'dists', 'bookworm');
    // Signatures verify against the published binary keyring, both beside the repo and inside the generation.
    for (const keyring of [path.join(repo, 'kiln-archive-keyring.gpg'), path.join(cur, 'kiln-archive-keyring.gpg')]) {
      await run('gpgv', ['--keyring', keyring, path.join(dists, 'InRelease')]);
      await run('gpgv', ['--keyring', keyring, path.join(dists, 'Release.gpg'), path.join(dists, 'Release')]);
    }
    assert.match(fs.readFileSync(path.join(repo, 'kiln-archive-keyring.asc'), 'utf8'), /BEGIN PGP PUBLIC KEY BLOCK/);
    assert.equal(fs.statSync(path.join(home, 'keys')).mode & 0o777, 0o700);
    assert.deepEqual(verifyGeneration(cur, 'bookworm'), []);
    const bin = path.join(dists, 'main', 'binary-amd64');
    // The compressed indexes are real: xz and gzip check them, they decompress to Packages, and they are smaller.
    const plain = fs.readFileSync(path.join(bin, 'Packages'));
    await run('xz', ['-t', path.join(bin, 'Packages.xz')]);
    await run('gzip', ['-t', path.join(bin, 'Packages.gz')]);
    assert.deepEqual((await run('xz', ['-dc', path.join(bin, 'Packages.xz')])).stdoutBytes, plain);
    assert.deepEqual(zlib.gunzipSync(fs.readFileSync(path.join(bin, 'Packages.gz'))), plain);
    const size = (f: string): number => fs.statSync(path.join(bin, f)).size;
    assert.ok(
      size('Packages.xz') * 4 < size('Packages'),
      `Packages.xz ${size('Packages.xz')} bytes for ${size('Packages')} plain`,
    );
    assert.ok(
      size('Packages.gz') * 3 < size('Packages'),
      `Packages.gz ${size('Packages.gz')} bytes for ${size('Packages')} plain`,
    );
    // Release: Date, Valid-Until 7 days later, and MD5Sum, SHA256 and SHA512 lines for each index, right.
    const release = fs.readFileSync(path.join(dists, 'Release'), 'utf8');
    assert.match(release, /^Date: Wed, 01 May 2030 12:00:00 UTC$/m);
    assert.match(release, /^Valid-Until: Wed, 08 May 2030 12:00:00 UTC$/m);
    assert.match(release, /^Acquire-By-Hash: yes$/m);
    for (const f of ['Packages', 'Packages.gz', 'Packages.xz']) {
      const data = fs.readFileSync(path.join(bin, f));
      for (const algo of ['md5', 'sha256', 'sha512']) {
        const h = crypto.createHash(algo).update(data).digest('hex');
        assert.match(
          release,
          new RegExp(`^ ${h} +${data.length} main/binary-amd64/${f.replace('.', '\\.')}$`, 'm'),
          `${algo} of ${f}`,
        );
      }
      // by-hash holds every index under its digest.
      assert.ok(fs.existsSync(path.join(bin, 'by-hash', 'SHA256', sha256(path.join(bin, f)))), `by-hash of ${f}`);
    }
    assert.deepEqual(
      [...release.matchAll(/^(\S+):$/gm)].map((m) => m[1]),
      ['MD5Sum', 'SHA256', 'SHA512'],
    );
    // The pool file is the input's content, hard-linked from the pool store (no copy per generation).
    const pooled = path.join(cur, 'pool/main/libz/libzz/libzz_0.9-k1_amd64.deb');
    assert.equal(sha256(pooled), sha256(debs[1]!));
    assert.ok(fs.statSync(pooled).nlink >= 2);
    // Every field of every stanza equals apt-ftparchive's on the same pool, configured as Debian's archive is (MD5sum
    // and SHA256, no SHA1 or SHA512 per package); only the order of fields differs (kiln's is dak's).
    const ftp = (
      await run(
        'apt-ftparchive',
        ['-o', 'APT::FTPArchive::SHA1=false', '-o', 'APT::FTPArchive::SHA512=false', 'packages', 'pool'],
        { cwd: cur },
      )
    ).stdout;
    const ours = stanzas(plain.toString('utf8'));
    const theirs = stanzas(ftp);
    assert.deepEqual(ours.get('hello 1.0-k1'), theirs.get('hello 1.0-k1'), 'the rich stanza, field by field');
    assert.equal(Object.keys(ours.get('hello 1.0-k1')!).length, 25);
    assert.deepEqual(ours, theirs);
    const info = repoInfo(home, 'bookworm', 'main', 'http://127.0.0.1:8080/');
    assert.equal(
      info.sourcesLine,
      'deb [signed-by=/etc/apt/keyrings/kiln-bookworm-main.gpg] http://127.0.0.1:8080/repo/bookworm-main bookworm main',
    );
    assert.equal(
      info.debugSourcesLine,
      'deb [signed-by=/etc/apt/keyrings/kiln-bookworm-main.gpg] http://127.0.0.1:8080/repo/bookworm-main bookworm-debug main',
    );
    // The deb index (SQLite, beside the pool) knows each input and each pool file.
    assert.ok(fs.existsSync(path.join(repo, '.kiln', 'debs.db')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('debug symbol packages go to the JAIL-debug suite, only with debug symbols on', async () => {
  const dir = tmp();
  try {
    const home = path.join(dir, 'home');
    const base = { home, jail: 'bookworm', tree: 'd', arch: 'amd64', validDays: 0 } as const;
    const hello = await makeDeb(dir, { name: 'hello', version: '1-k1' });
    const dbg = await makeDeb(dir, {
      name: 'hello-dbgsym',
      version: '1-k1',
      fields: { 'Auto-Built-Package': 'debug-symbols' },
    });
    const listed = await makeDeb(dir, { name: 'hello-dbg', version: '1-k1' });
    const off = await publish({ ...base, debs: [{ path: hello }, { path: dbg }], debugSymbols: false });
    assert.deepEqual([off.packages, off.debugPackages, off.debugSkipped], [1, 0, 1]);
    const repo = path.join(home, 'repos', 'bookworm-d');
    assert.ok(!fs.existsSync(path.join(repo, 'current/dists/bookworm-debug')), 'no debug suite without debug symbols');
    assert.doesNotMatch(
      fs.readFileSync(path.join(repo, 'current/dists/bookworm/main/binary-amd64/Packages'), 'utf8'),
      /dbgsym/,
    );
    const on = await publish({
      ...base,
      debs: [{ path: hello }, { path: dbg }],
      debugDebs: [{ path: listed }],
      debugSymbols: true,
    });
    assert.deepEqual([on.packages, on.debugPackages, on.debugSkipped], [1, 2, 0]);
    const main = fs.readFileSync(path.join(repo, 'current/dists/bookworm/main/binary-amd64/Packages'), 'utf8');
    const debug = fs.readFileSync(path.join(repo, 'current/dists/bookworm-debug/main/binary-amd64/Packages'), 'utf8');
    assert.deepEqual(
      [...main.matchAll(/^Package: (.*)$/gm)].map((m) => m[1]),
      ['hello'],
    );
    assert.deepEqual(
      [...debug.matchAll(/^Package: (.*)$/gm)].map((m) => m[1]),
      ['hello-dbg', 'hello-dbgsym'],
    );
    const rel = fs.readFileSync(path.join(repo, 'current/dists/bookworm-debug/Release'), 'utf8');
    assert.match(rel, /^Suite: bookworm-debug$/m);
    assert.match(rel, /^Codename: bookworm-debug$/m);
    await run('gpgv', [
      '--keyring',
      path.join(repo, 'kiln-archive-keyring.gpg'),
      path.join(repo, 'current/dists/bookworm-debug/InRelease'),
    ]);
    assert.deepEqual(verifyGeneration(path.join(repo, 'current'), 'bookworm-debug'), []);
    assert.ok(fs.existsSync(path.join(repo, 'current/pool/main/h/hello-dbgsym/hello-dbgsym_1-k1_amd64.deb')));
    // The served debug packages are listed for a bulk to carry over.
    assert.deepEqual(
      currentDebs(home, 'bookworm', 'd', 'amd64')
        .map((d) => d.name)
        .sort(),
      ['hello', 'hello-dbg', 'hello-dbgsym'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('republishing reuses the cache, keeps N generations with older by-hash indexes, and rolls back', async () => {
  const dir = tmp();
  try {
    const home = path.join(dir, 'home');
    const base = { home, jail: 'bookworm', tree: 't', arch: 'amd64', keep: 2 } as const;
    const a = await makeDeb(dir, { name: 'aa', version: '1-k1' });
    const b1 = await makeDeb(dir, { name: 'bb', version: '1-k1' });
    const b2 = await makeDeb(dir, { name: 'bb', version: '2-k1' });
    const g1 = await publish({ ...base, debs: [{ path: a }, { path: b1 }] });
    assert.deepEqual(g1.cache, { hits: 0, misses: 2 });
    const g2 = await publish({ ...base, debs: [{ path: a }, { path: b2 }] });
    assert.equal(g2.generation, 2);
    assert.deepEqual(g2.cache, { hits: 1, misses: 1 }, 'the unchanged .deb is not read again');
    const repo = path.join(home, 'repos', 'bookworm-t');
    const byHash = (g: number): string[] =>
      fs.readdirSync(path.join(repo, `gen-${g}`, 'dists/bookworm/main/binary-amd64/by-hash/SHA256'));
    for (const h of byHash(1)) assert.ok(byHash(2).includes(h), 'gen-2 still answers gen-1 by-hash requests');
    assert.ok(
      !fs.existsSync(path.join(repo, 'gen-2/pool/main/b/bb/bb_1-k1_amd64.deb')),
      'bb 1 left the new generation',
    );
    // A failed port keeps its previous package: the bulk passes the served generation's file again.
    const served = currentDebs(home, 'bookworm', 't', 'amd64');
    assert.deepEqual(
      served.map((d) => `${d.name}=${d.version}`),
      ['aa=1-k1', 'bb=2-k1'],
    );
    assert.equal(served[1]!.sha256, sha256(b2));
    assert.equal(sha256(served[1]!.path), sha256(b2));
    const g3 = await publish({ ...base, debs: [{ path: a }] });
    assert.deepEqual(g3.pruned, [1]);
    assert.deepEqual(
      listGenerations(home, 'bookworm', 't').map((g) => [g.generation, g.current]),
      [
        [2, false],
        [3, true],
      ],
    );
    // bb 1 is in no kept generation: its pool store file is gone; bb 2 (in gen-2) stays.
    const store = fs.readdirSync(path.join(repo, '.kiln/pool'));
    assert.ok(!store.includes(`${sha256(b1)}.deb`));
    assert.ok(store.includes(`${sha256(b2)}.deb`));
    assert.equal(rollback(home, 'bookworm', 't'), 2);
    assert.equal(fs.readlinkSync(path.join(repo, 'current')), 'gen-2');
    assert.throws(
      () => rollback(home, 'bookworm', 't'),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_REPO_NOT_FOUND',
    );
    const g4 = await publish({ ...base, debs: [{ path: a }, { path: served[1]!.path }] });
    assert.equal(g4.generation, 4, 'numbers never repeat after a rollback');
    assert.deepEqual(
      currentDebs(home, 'bookworm', 't', 'amd64').map((d) => d.name),
      ['aa', 'bb'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input fails the publish and leaves the served generation as it was', async () => {
  const dir = tmp();
  try {
    const home = path.join(dir, 'home');
    const base = { home, jail: 'bookworm', tree: 't', arch: 'amd64' } as const;
    const ok = await makeDeb(dir, { name: 'ok', version: '1-k1' });
    await publish({ ...base, debs: [{ path: ok }] });
    const other = fs.mkdtempSync(path.join(dir, 'o-'));
    const same = await makeDeb(other, { name: 'ok', version: '1-k1', says: 'different' });
    const arm = await makeDeb(dir, { name: 'armonly', version: '1-k1', arch: 'arm64' });
    const notDeb = path.join(dir, 'bad.deb');
    fs.writeFileSync(notDeb, 'hello');
    for (const debs of [[ok, same], [ok, arm], [notDeb], [path.join(dir, 'missing.deb')]]) {
      await assert.rejects(
        publish({ ...base, debs: debs.map((p) => ({ path: p })) }),
        (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_REPO',
        debs.join(','),
      );
    }
    const repo = path.join(home, 'repos', 'bookworm-t');
    assert.equal(fs.readlinkSync(path.join(repo, 'current')), 'gen-1');
    assert.deepEqual(
      fs.readdirSync(repo).filter((n) => n.includes('.tmp')),
      [],
      'no staging folder left',
    );
    // A lock held by a live process is refused; one left by a dead process is taken over.
    fs.writeFileSync(path.join(repo, '.kiln/lock'), '1');
    await assert.rejects(
      publish({ ...base, debs: [{ path: ok }] }),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_LOCK',
    );
    fs.writeFileSync(path.join(repo, '.kiln/lock'), '999999999');
    fs.mkdirSync(path.join(repo, 'gen-7.tmp-999999999'));
    const r = await publish({ ...base, debs: [{ path: ok }] });
    assert.equal(r.generation, 2);
    assert.ok(!fs.existsSync(path.join(repo, 'gen-7.tmp-999999999')), "a killed publish's staging folder is cleared");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a large Packages is compressed by xz in 1 MiB blocks on threads, with the same bytes whatever the core count', async () => {
  assert.deepEqual(xzArgs(1000, 8), ['-6', '-c', '-q', '-T1']);
  assert.deepEqual(xzArgs(3 * XZ_BLOCK, 1), ['-6', '-c', '-q', '-T2', `--block-size=${XZ_BLOCK}`]);
  // 2.5 MiB of Packages-like text.
  const text = Buffer.from(
    Array.from(
      { length: 9000 },
      (_, i) =>
        `Package: p${i}\nVersion: ${i % 97}.${i % 13}-k1\nArchitecture: amd64\n` +
        `Depends: libc6 (>= 2.34), libp${(i * 7) % 500} (>= ${i % 5})\nDescription: package number ${i}\n long text ${'x'.repeat(i % 200)}\n`,
    ).join('\n'),
  );
  assert.ok(text.length > 2 * XZ_BLOCK);
  const [two, eight] = await Promise.all(
    [2, 8].map(
      async (cores) => (await run('xz', xzArgs(text.length, cores), { input: text, maxBuffer: 1 << 30 })).stdoutBytes,
    ),
  );
  assert.ok(two && eight);
  assert.deepEqual(two, eight, 'the threaded encoder gives the same bytes with 2 or 8 threads');
  assert.deepEqual((await run('xz', ['-dc'], { input: two, maxBuffer: 1 << 30 })).stdoutBytes, text);
  assert.deepEqual(await xzCompress(text), two);
  assert.ok(two.length * 4 < text.length);
});
