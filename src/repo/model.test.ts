import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertGolden } from '../util/golden.js';
import { run } from '../util/exec.js';
import {
  compareVersions,
  controlFromBytes,
  parseControl,
  parseReleaseSha256,
  poolPath,
  releaseDate,
  releaseValidUntil,
  renderPackages,
  renderRelease,
  type PackageEntry,
} from './index.js';
import { makeDeb } from './testing.js';

const golden = (f: string): string =>
  path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'golden', f);

function entry(control: string, sha: string, size: number): PackageEntry {
  const c = parseControl(control);
  const get = (n: string): string => c.find((f) => f.name === n)!.value;
  return {
    control: c,
    filename: poolPath(get('Package'), get('Version'), get('Architecture')),
    size,
    md5: sha.slice(0, 32),
    sha256: sha,
  };
}

const ENTRIES: PackageEntry[] = [
  entry(
    'Package: zlib-tool\nVersion: 1:1.3-k1\nArchitecture: amd64\nMaintainer: kiln <kiln@localhost>\nDescription: zlib tool\n long text\n .\n more\nDepends: libc6\n',
    'a'.repeat(64),
    1234,
  ),
  entry(
    'Package: libfoo\nVersion: 2.0~rc1-k1\nArchitecture: amd64\nMaintainer: kiln <kiln@localhost>\nHomepage: https://example.org/\nX-Custom: yes\nInstalled-Size: 12\nDescription: foo library\n',
    'b'.repeat(64),
    99,
  ),
  entry(
    'Package: libfoo\nVersion: 2.0-k1\nArchitecture: amd64\nMaintainer: kiln <kiln@localhost>\nDescription: foo library\nSection: libs\nPriority: optional\n',
    'c'.repeat(64),
    100,
  ),
  entry(
    'Package: docs\nVersion: 1.0-k2\nArchitecture: all\nMaintainer: kiln <kiln@localhost>\nDescription: documentation\n',
    'd'.repeat(64),
    5,
  ),
];

test('Packages: stable order (name, then dpkg version) and field order, golden', () => {
  const text = renderPackages(ENTRIES);
  assertGolden(golden('Packages'), text);
  // Input order does not matter.
  assert.equal(renderPackages([...ENTRIES].reverse()), text);
  const names = [...text.matchAll(/^Package: (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(names, ['docs', 'libfoo', 'libfoo', 'zlib-tool']);
  assert.match(text, /Filename: pool\/main\/libf\/libfoo\/libfoo_2.0~rc1-k1_amd64.deb/);
  assert.match(
    text,
    /Filename: pool\/main\/z\/zlib-tool\/zlib-tool_1.3-k1_amd64.deb/,
    'epoch left out of the file name',
  );
});

test('Release: fields, Date from SOURCE_DATE_EPOCH, Valid-Until, MD5Sum, SHA256 and SHA512 of every index, golden', () => {
  const date = releaseDate('1700000000', new Date(0));
  assert.equal(date.toISOString(), '2023-11-14T22:13:20.000Z');
  assert.equal(releaseDate(undefined, new Date(5)).getTime(), 5);
  const files = [
    {
      path: 'main/binary-amd64/Packages.xz',
      size: 120,
      md5: '1'.repeat(32),
      sha256: '1'.repeat(64),
      sha512: '1'.repeat(128),
    },
    {
      path: 'main/binary-amd64/Packages',
      size: 4096,
      md5: '2'.repeat(32),
      sha256: '2'.repeat(64),
      sha512: '2'.repeat(128),
    },
    {
      path: 'main/binary-amd64/Packages.gz',
      size: 800,
      md5: '3'.repeat(32),
      sha256: '3'.repeat(64),
      sha512: '3'.repeat(128),
    },
  ];
  const text = renderRelease({
    origin: 'kiln',
    label: 'bookworm-main',
    suite: 'bookworm',
    architectures: ['amd64'],
    components: ['main'],
    description: 'kiln packages',
    date,
    files,
    validUntil: releaseValidUntil(date, new Date(0), 7),
  });
  assertGolden(golden('Release'), text);
  assert.match(text, /^Valid-Until: Tue, 21 Nov 2023 22:13:20 UTC$/m, 'seven days after Date');
  assert.match(
    text,
    /^SHA512:\n 2{128} 4096 main\/binary-amd64\/Packages\n 3{128}  800 main\/binary-amd64\/Packages.gz$/m,
  );
  // Counted from the publish's clock when Date (SOURCE_DATE_EPOCH) is older, so the Release is not born expired.
  assert.equal(releaseValidUntil(date, new Date('2030-01-01T00:00:00Z'), 1)?.toISOString(), '2030-01-02T00:00:00.000Z');
  assert.equal(releaseValidUntil(date, date, 0), undefined, 'valid_days 0: no Valid-Until');
  assert.match(text, /^Acquire-By-Hash: yes$/m);
  assert.match(text, /^Date: Tue, 14 Nov 2023 22:13:20 UTC$/m);
  const back = parseReleaseSha256(text);
  assert.equal(back.size, 3);
  assert.deepEqual(back.get('main/binary-amd64/Packages'), { sha256: '2'.repeat(64), size: 4096 });
});

test('compareVersions follows dpkg', () => {
  const cases: [string, string, number][] = [
    ['1.0', '1.0', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0-k1', '1.0-k2', -1],
    ['1:0.1', '2.0', 1],
    ['1.10', '1.9', 1],
    ['1.0a', '1.0', 1],
    ['1.0+b1', '1.0', 1],
    ['2.0-k10', '2.0-k9', 1],
    ['0.0~', '0.0', -1],
    ['1.001', '1.1', 0],
  ];
  for (const [a, b, want] of cases) assert.equal(Math.sign(compareVersions(a, b)), want, `${a} vs ${b}`);
});

test('parseControl keeps continuation lines and field order', () => {
  const c = parseControl('Package: a\nDescription: short\n long\n .\n more\nVersion: 1\n');
  assert.deepEqual(
    c.map((f) => f.name),
    ['Package', 'Description', 'Version'],
  );
  assert.equal(c[1]!.value, 'short\n long\n .\n more');
});

test('the in-process .deb reader agrees with dpkg-deb -f for xz, gzip and uncompressed control members', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-deb-'));
  try {
    for (const compress of ['xz', 'gzip', 'none'] as const) {
      const deb = await makeDeb(dir, {
        name: `pkg-${compress}`,
        version: '1.0-k1',
        compress,
        depends: 'libc6 (>= 2.36)',
      });
      const ours = controlFromBytes(fs.readFileSync(deb));
      assert.ok(ours !== null, `${compress}: decoded in-process`);
      assert.deepEqual(parseControl(ours), parseControl((await run('dpkg-deb', ['-f', deb])).stdout), compress);
    }
    assert.throws(() => controlFromBytes(Buffer.from('not an ar archive')), /bad ar header/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
