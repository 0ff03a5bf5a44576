/** The interactive shell's bwrap line: a build step's, without --new-session (the shell gets a private pty instead). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bwrapArgv } from './argv.js';
import { shellArgv, shellCommand } from './shell.js';
import { BUILD_USER } from './session.js';

test('the shell runs as the build user, in the build folder, with the build environment, without --new-session', () => {
  const o = {
    root: '/r',
    env: { KILN_ORIGIN: 'misc/x', PATH: '/usr/bin:/bin' },
    cwd: '/kiln/src',
    label: 'misc/x',
    hostEnv: { TERM: 'xterm-256color' },
  };
  const a = shellArgv(o, true);
  const step = bwrapArgv({
    root: '/r',
    argv: ['bash', '-i'],
    env: { ...o.env, TERM: 'xterm-256color', debian_chroot: 'kiln:misc/x' },
    cwd: '/kiln/src',
    binds: [],
    network: false,
    user: { kind: 'build', ...BUILD_USER },
  });
  assert.ok(step.includes('--new-session'));
  assert.deepEqual(
    a,
    step.filter((x) => x !== '--new-session'),
  );
  assert.ok(a.includes('--unshare-net'), 'no network, as a build');
  assert.deepEqual(a.slice(-2), ['bash', '-i']);
  assert.deepEqual(shellArgv(o, false).slice(-2), ['sh', '-i']);
});

test('in a sandbox with a user namespace, the shell enters it as a build step does (nsenter before bwrap)', () => {
  const o = { root: '/run/kiln/x/root', env: {}, cwd: '/kiln/src', hostEnv: {} };
  assert.deepEqual(shellCommand(o, true), ['bwrap', ...shellArgv(o, true)]);
  const inNs = shellCommand({ ...o, nsFile: '/h/sandboxes/x/ns' }, true);
  assert.deepEqual(inNs.slice(0, 6), [
    'nsenter',
    '--user=/h/sandboxes/x/ns',
    '--setuid=0',
    '--setgid=0',
    '--',
    'bwrap',
  ]);
  assert.deepEqual(inNs.slice(6), shellArgv(o, true));
});
