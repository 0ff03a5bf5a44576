import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { assertGolden } from '../util/golden.js';
import { bwrapArgv, prlimitArgs } from './index.js';

const golden = (name: string): string => fileURLToPath(new URL(`./__golden__/${name}`, import.meta.url));
/** One argument per line, so a golden diff shows exactly which flag changed. */
const show = (argv: string[]): string => `${argv.join('\n')}\n`;

test('build phase: build user through setpriv, no network, explicit environment, caller binds', () => {
  const argv = bwrapArgv({
    root: '/home/k/sandboxes/x/merged',
    argv: ['sh', '-ec', 'make'],
    user: { kind: 'build', uid: 2000, gid: 2000, name: 'kiln', home: '/home/kiln' },
    env: { MAKEFLAGS: '-j2', DESTDIR: '/build/dest' },
    cwd: '/build/src',
    binds: [
      { source: '/srv/src', dest: '/build/src' },
      { source: '/srv/dest', dest: '/build/dest' },
      { source: '/srv/ro', dest: '/ro', readonly: true },
    ],
  });
  assertGolden(golden('bwrap-build.txt'), show(argv));
  assert.ok(argv.includes('--unshare-net'));
  assert.ok(
    !argv.includes('--unshare-all') && !argv.includes('--unshare-user'),
    'no user namespace: uid 2000 must be real on disk',
  );
  assert.ok(!argv.includes('/etc/resolv.conf'));
});

test('root phase with network: resolv.conf, Docker default caps, no setpriv', () => {
  const argv = bwrapArgv({
    root: '/home/k/sandboxes/x/merged',
    argv: ['apt-get', 'install', '-y', 'pkg-config'],
    user: { kind: 'root' },
    network: true,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    binds: [{ source: '/home/k/cache/apt/archives', dest: '/var/cache/apt/archives' }],
  });
  assertGolden(golden('bwrap-root-net.txt'), show(argv));
  assert.ok(!argv.includes('--unshare-net'));
  assert.ok(!argv.includes('setpriv'));
  assert.ok(!argv.includes('CAP_SYS_ADMIN'));
});

test('prlimit stands in for cgroups only when there is none', () => {
  const l = { cpuSeconds: 10, memoryBytes: 1 << 30, nproc: 100, wallMs: 5 };
  assert.deepEqual(prlimitArgs(l, true), ['--core=0']);
  assert.deepEqual(prlimitArgs(l, false), ['--core=0', '--cpu=10:12', `--as=${1 << 30}`, '--nproc=100']);
});
