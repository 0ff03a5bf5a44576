/**
 * Real images: a port built with `kiln bulk` into the repository of (jail, tree), a tar image with it unpacked and
 * its program run in a chroot; byte-identical tar, squashfs and raw images under SOURCE_DATE_EPOCH; the base layer reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { kiln, testHome } from '../bulk/testing.js';
import { openStore } from '../store/index.js';
import { hostMirror, hostSecurityMirror, parseOneLineSources } from '../debian/index.js';
import { JAIL_SOURCES, jailSuites } from '../jail/index.js';
import {
  buildImage,
  rawLayout,
  rawIds,
  sfdiskScript,
  seededUuid,
  tarArgs,
  squashfsArgs,
  squashfsEnv,
  baseIdentity,
  baseSourceLines,
  jailBaseSuites,
  inodeTimeScript,
  debugfsQuote,
} from './index.js';
import { HELLO_SAYS, testImageBaseCache, writeHelloTree } from './testing.js';
import { parseSize } from '../cli/commands/image.js';

/** The test jail's name in the test home (see testHome), and the epoch the images are made with. */
const JAIL = 'bookworm';
const SDE = 1700000000;
/** An overlay file's name with a backslash (as systemd escapes a `-` in unit names) and a double quote. */
const ODD_NAME = 'kiln\\x2dodd"name.slice';
/** sha256 of a file, read as a stream (a raw image is 1.5 GB). */
const sha = async (f: string): Promise<string> => {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(f)) h.update(chunk as Buffer);
  return h.digest('hex');
};

test('raw layout, ids and sfdisk input are pure and aligned', () => {
  const l = rawLayout(2 * 1024 ** 3, true);
  assert.deepEqual(l.boot, { start: 2048, sectors: 256 * 2048 });
  assert.equal(l.root.start, 2048 + 256 * 2048);
  assert.equal(l.root.start + l.root.sectors + 2048, l.totalSectors, 'the last MiB is left for the backup GPT');
  assert.equal(rawLayout(1024 ** 3, false).root.start, 2048);
  assert.throws(
    () => rawLayout(100 * 1024 ** 2, true),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_IMAGE',
  );
  assert.equal(seededUuid('a', 'disk'), seededUuid('a', 'disk'));
  assert.notEqual(seededUuid('a', 'disk'), seededUuid('b', 'disk'));
  assert.match(seededUuid('a', 'disk'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const script = sfdiskScript(l, rawIds('s'), 'amd64');
  assert.match(script, /^label: gpt$/m);
  assert.match(script, /attrs="LegacyBIOSBootable"/);
  assert.match(script, /type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709/);
  assert.equal(
    inodeTimeScript(
      [
        { path: '/', mtime: 5 },
        { path: '/a b', mtime: 20 },
      ],
      10,
    ),
    'sif "/" atime @10\nsif "/" ctime @10\nsif "/a b" atime @10\nsif "/a b" ctime @10\nsif "/a b" mtime @10\n',
    'mtimes after the epoch are clamped',
  );
  // systemd's unit names hold backslashes (`system-systemd\x2dcryptsetup.slice`): literal inside debugfs's quotes; a quote is doubled.
  assert.equal(
    inodeTimeScript([{ path: '/a"b\\x2dc', mtime: 0 }], 1),
    'sif "/a""b\\x2dc" atime @1\nsif "/a""b\\x2dc" ctime @1\n',
  );
  assert.throws(
    () => inodeTimeScript([{ path: '/a\nb', mtime: 0 }], 1),
    (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_IMAGE',
  );
  assert.ok(squashfsArgs('/r', '/o', 5).includes('-all-time'));
  assert.equal(
    squashfsEnv({ SOURCE_DATE_EPOCH: '5', PATH: '/bin' }).SOURCE_DATE_EPOCH,
    undefined,
    'mksquashfs 4.5 refuses it beside -all-time',
  );
  assert.ok(tarArgs('/r', '/o', 5).includes('--clamp-mtime'));
  assert.ok(!tarArgs('/r', '/o').includes('--clamp-mtime'));
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('512M'), 512 * 1024 ** 2);
  assert.throws(() => parseSize('lots'));
  const b = { release: 'bookworm', arch: 'amd64', mirror: 'http://m/debian', include: ['b', 'a'] };
  assert.equal(baseIdentity(b), baseIdentity({ ...b, include: ['a', 'b', 'a'] }), 'the package set, not its order');
  assert.notEqual(baseIdentity(b), baseIdentity({ ...b, arch: 'arm64' }));
  assert.deepEqual(baseSourceLines(b), [`deb ${b.mirror} ${b.release} main`], 'a frozen base: the release alone');
  const suites = [
    { suite: b.release, url: b.mirror },
    { suite: `${b.release}-security`, url: 'http://s/debian-security' },
  ];
  assert.deepEqual(baseSourceLines({ ...b, suites }), [
    `deb ${b.mirror} ${b.release} main`,
    `deb http://s/debian-security ${b.release}-security main`,
  ]);
  assert.notEqual(baseIdentity(b), baseIdentity({ ...b, suites }), 'the suites are part of the identity');
});

test("a base takes the suites of its jail's sources file: a frozen jail's release alone, none without the file", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-image-suites-'));
  try {
    assert.deepEqual(jailBaseSuites(root), [], 'a jail made before kiln wrote its suites');
    fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    const file = path.join(root, JAIL_SOURCES);
    fs.writeFileSync(file, 'Types: deb\nURIs: http://m/debian/\nSuites: rel\nComponents: main\n');
    assert.deepEqual(jailBaseSuites(root), [{ suite: 'rel', url: 'http://m/debian' }]);
    fs.appendFileSync(file, '\nTypes: deb\nURIs: http://s/debian-security\nSuites: rel-security\nComponents: main\n');
    assert.deepEqual(
      jailBaseSuites(root).map((x) => x.suite),
      ['rel', 'rel-security'],
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('tar, squashfs and bootable raw images made through the CLI with SOURCE_DATE_EPOCH in its environment are byte-identical twice', {
  timeout: 60 * 60_000,
}, async () => {
  const home = await testHome('kiln-image-test-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-image-'));
  try {
    const { tree, list } = writeHelloTree(dir);
    const b = await kiln(home, ['bulk', '-j', JAIL, '-p', tree, '-f', list]);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    const overlay = path.join(dir, 'overlay');
    fs.mkdirSync(path.join(overlay, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(overlay, 'etc/motd'), 'made by kiln image\n');
    // A name as systemd escapes them (a backslash), with a double quote too: debugfs must be told it quoted.
    fs.writeFileSync(path.join(overlay, 'etc', ODD_NAME), 'odd\n');
    // kiln's CLI reads SOURCE_DATE_EPOCH from its environment (as a user sets it); the base cache is shared by test runs.
    fs.mkdirSync(path.join(home, 'cache'), { recursive: true });
    fs.mkdirSync(testImageBaseCache(), { recursive: true });
    fs.symlinkSync(testImageBaseCache(), path.join(home, 'cache', 'image-bases'));
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(SDE) };
    const image = async (out: string, type: string, extra: string[] = []): Promise<{ base: { reused: boolean } }> => {
      const r = await kiln(
        home,
        [
          'image',
          '-j',
          JAIL,
          '-p',
          tree,
          '-f',
          list,
          '-t',
          type,
          '-o',
          out,
          '--overlay',
          overlay,
          '--hostname',
          'kilnbox',
          '--json',
          ...extra,
        ],
        { env },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const made = JSON.parse(r.stdout) as { base: { reused: boolean }; phases: { name: string; seconds: number }[] };
      console.log(`# ${type}: ${made.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)}s`).join(', ')}`);
      return made;
    };
    const twice = async (type: string, ext: string, extra: string[] = []): Promise<string> => {
      const one = path.join(dir, `one.${ext}`);
      const two = path.join(dir, `two.${ext}`);
      await image(one, type, extra);
      const again = await image(two, type, extra);
      assert.equal(again.base.reused, true, `the second ${type} image reuses the cached base`);
      const sum = await sha(one);
      assert.equal(
        await sha(two),
        sum,
        `two ${type} ${extra.join(' ')} images made with SOURCE_DATE_EPOCH are byte-identical`,
      );
      console.log(`# ${type}${extra.length ? ` ${extra.join(' ')}` : ''}: sha256 ${sum} twice`);
      fs.rmSync(two);
      return one;
    };

    const one = await twice('tar', 'tar');
    const root = path.join(dir, 'unpacked');
    fs.mkdirSync(root);
    await run('tar', ['--numeric-owner', '-xpf', one, '-C', root]);
    const said = await run('chroot', [root, '/usr/bin/kiln-hi']);
    assert.equal(said.stdout.trim(), `${HELLO_SAYS} x86_64`);
    assert.equal(fs.readFileSync(path.join(root, 'etc/hostname'), 'utf8'), 'kilnbox\n');
    assert.equal(fs.statSync(path.join(root, 'etc/hostname')).mode & 0o7777, 0o644, '/etc/hostname is 0644');
    assert.equal(fs.readFileSync(path.join(root, 'etc/motd'), 'utf8'), 'made by kiln image\n');
    assert.ok(
      !fs.existsSync(path.join(root, 'etc/apt/sources.list.d/kiln-image.list')),
      'the build-time source is gone',
    );
    // The image's apt sources (written by mmdebstrap from the base's source lines) name the jail's suites:
    // REL and REL-updates on the mirror, REL-security on the host's security archive when it has one.
    const s0 = openStore(home);
    const jail0 = s0.getJail(JAIL)!;
    s0.close();
    const aptFile = path.join(root, 'etc/apt/sources.list');
    const imageSources = parseOneLineSources(fs.readFileSync(aptFile, 'utf8'), aptFile).filter((x) =>
      x.types.includes('deb'),
    );
    const imageSuites = imageSources.map((x) => x.suites[0]);
    assert.deepEqual(imageSuites, jailSuites(jail0.path), "the image has the jail's suites");
    assert.ok(
      imageSources.some((x) => x.suites[0] === jail0.release && x.uri === hostMirror()),
      `${jail0.release} from the mirror in ${imageSources.map((x) => `${x.uri} ${x.suites[0]}`).join(', ')}`,
    );
    const security = hostSecurityMirror();
    if (security !== undefined)
      assert.ok(
        imageSources.some((x) => x.suites[0] === `${jail0.release}-security` && x.uri === security),
        `${jail0.release}-security from ${security} in ${imageSources.map((x) => `${x.uri} ${x.suites[0]}`).join(', ')}`,
      );
    // The overlay's file was written just now: its mtime is clamped to SOURCE_DATE_EPOCH (2023-11-14).
    const listed = (await run('tar', ['--utc', '-tvf', one])).stdout
      .split('\n')
      .filter((l) => l.endsWith(' ./etc/motd'));
    assert.equal(listed.length, 1);
    assert.match(listed[0]!, / 2023-11-14 22:13 /, 'mtimes are clamped to SOURCE_DATE_EPOCH');

    // squashfs: mksquashfs 4.5 refuses SOURCE_DATE_EPOCH beside -all-time, so kiln gives it the times only as options.
    const sqfs = await twice('squashfs', 'sqfs');
    const files = (await run('unsquashfs', ['-l', sqfs])).stdout;
    assert.match(files, /^squashfs-root\/usr\/bin\/kiln-hi$/m);

    // Bootable raw: names with a backslash (as systemd's system-systemd\x2dcryptsetup.slice) or a quote get their inode
    // times pinned too (the overlay's file: Debian's own such files come and go between releases); the root partition
    // is a clean ext4 whose files carry SOURCE_DATE_EPOCH.
    const img = await twice('raw', 'img', ['--bootable', '--size', '1500M']);
    const layout = rawLayout(1500 * 1024 ** 2, true);
    const part = path.join(dir, 'root.ext4');
    await run('dd', [
      `if=${img}`,
      `of=${part}`,
      'bs=1M',
      'iflag=skip_bytes,count_bytes',
      'conv=sparse',
      `skip=${layout.root.start * 512}`,
      `count=${layout.root.sectors * 512}`,
      'status=none',
    ]);
    await run('e2fsck', ['-fn', part]);
    const motd = (await run('debugfs', ['-R', 'stat /etc/motd', part])).stdout;
    for (const t of ['ctime', 'atime', 'mtime'])
      assert.match(motd, new RegExp(`\\b${t}: 0x6553f100:`), `${t} of /etc/motd is SOURCE_DATE_EPOCH`);
    assert.equal((await run('debugfs', ['-R', 'cat /etc/motd', part])).stdout, 'made by kiln image\n');
    const odd = `/etc/${ODD_NAME}`;
    const st = await run('debugfs', ['-R', `stat ${debugfsQuote(odd)}`, part]);
    assert.match(st.stdout, /\bType: regular\b/, `${odd} is in the root partition (debugfs said: ${st.stderr.trim()})`);
    for (const t of ['ctime', 'atime', 'mtime'])
      assert.match(
        st.stdout,
        new RegExp(`\\b${t}: 0x6553f100:`),
        `${t} of ${odd} (a backslash and a quote in its name) is pinned`,
      );

    // A package that is not in the repository is refused before anything is made.
    const s = openStore(home);
    const jail = s.getJail(JAIL)!;
    s.close();
    await assert.rejects(
      buildImage(
        {
          home,
          jail,
          tree: path.basename(tree),
          packages: ['nope'],
          type: 'tar',
          output: path.join(dir, 'x.tar'),
          baseCache: testImageBaseCache(),
        },
        () => undefined,
      ),
      (e: unknown) => e instanceof KilnError && e.code === 'KILN_E_IMAGE' && /nope/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
