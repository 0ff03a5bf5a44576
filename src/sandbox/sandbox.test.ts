/**
 * The sandbox on the real thing: a real jail (testJail), real overlayfs, real bubblewrap, real cgroups.
 * After every case, nothing may stay mounted under the test's home.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { run } from '../util/exec.js';
import { Procedure } from '../util/phases.js';
import { testJail } from '../jail/index.js';
import type { JailRecord } from '../store/index.js';
import {
  ARCHIVE_PROXY,
  sharedAptCache,
  settleRemovals,
  createSandbox,
  cleanupStaleSandboxes,
  listSandboxes,
  readMounts,
  LimitError,
  type Sandbox,
} from './index.js';

let jail: JailRecord;
let home: string;

before(async () => {
  jail = await testJail();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-sandbox-test-'));
});
after(async () => {
  await settleRemovals();
  assert.deepEqual(
    fs.readdirSync(path.join(home, 'sandboxes', '.trash')),
    [],
    'torn-down sandboxes were deleted in the background',
  );
  await cleanupStaleSandboxes(home, { all: true });
  fs.rmSync(home, { recursive: true, force: true });
});
afterEach(() => {
  const left = readMounts().filter((m) => m.target.startsWith(home));
  assert.deepEqual(
    left.map((m) => m.target),
    [],
    'a mount leaked under the test home',
  );
});

const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Runs `fn` on a fresh sandbox and always tears it down. */
async function withSandbox<T>(fn: (sb: Sandbox) => Promise<T>): Promise<T> {
  const sb = await createSandbox({ home, jail, label: 'test' });
  try {
    return await fn(sb);
  } finally {
    await sb.teardown();
  }
}

/** Asserts `p` rejects with a LimitError of `limit`. */
async function assertLimit(p: Promise<unknown>, limit: LimitError['limit']): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LimitError, `expected a LimitError, got ${String(e)}`);
    assert.equal(e.code, 'KILN_E_LIMIT');
    assert.equal(e.limit, limit);
    return true;
  });
}

test('the build user cannot write /usr; root inside writes only to the overlay, never the jail', async () => {
  const envBin = path.join(jail.path, 'usr/bin/env');
  const envSha = sha(envBin);
  const usrBefore = fs.readdirSync(path.join(jail.path, 'usr/bin')).sort();
  await withSandbox(async (sb) => {
    const r = await sb.run({ argv: ['sh', '-c', 'id -u; touch /usr/kiln-was-here'], allowFailure: true });
    assert.equal(r.stdout.trim(), '2000', 'the build runs as the build user');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Permission denied/);
    const build = sb.mkdir('/build/src');
    await sb.run({ argv: ['sh', '-c', 'echo ok > /build/src/f'] });
    assert.equal(
      fs.readFileSync(path.join(build, 'f'), 'utf8'),
      'ok\n',
      'the build user writes where mkdir() made room',
    );
    const root = await sb.run({
      argv: ['sh', '-c', 'echo evil > /usr/bin/env; touch /usr/kiln-was-here; id -u'],
      user: 'root',
    });
    assert.equal(root.stdout.trim(), '0');
    assert.equal(
      fs.readFileSync(path.join(sb.upper, 'usr/bin/env'), 'utf8'),
      'evil\n',
      'the write went to the upper layer',
    );
  });
  assert.equal(sha(envBin), envSha, "the jail's /usr/bin/env is unchanged");
  assert.ok(!fs.existsSync(path.join(jail.path, 'usr/kiln-was-here')));
  assert.deepEqual(fs.readdirSync(path.join(jail.path, 'usr/bin')).sort(), usrBefore);
});

test('the build phase has no network: a TCP connection to a listener on 127.0.0.1 fails', async () => {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const connect = ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`];
  try {
    await withSandbox(async (sb) => {
      const r = await sb.run({ argv: connect, allowFailure: true, limits: { wallMs: 30_000 } });
      assert.notEqual(r.status, 0);
      assert.doesNotMatch(r.stdout, /connected/);
      assert.equal(connections, 0);
      // Control: the same command in a phase allowed on the network reaches the listener, so the test can fail.
      const ok = await sb.run({ argv: connect, user: 'root', network: true, limits: { wallMs: 30_000 } });
      assert.match(ok.stdout, /connected/);
    });
  } finally {
    server.close();
  }
  assert.equal(connections, 1);
});

test('a file planted in --home is not visible inside', async () => {
  const secret = path.join(home, 'secret.txt');
  fs.writeFileSync(secret, 'top secret\n');
  await withSandbox(async (sb) => {
    const r = await sb.run({ argv: ['sh', '-c', `cat ${secret}; ls ${home}`], user: 'root', allowFailure: true });
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /top secret/);
    assert.match(r.stderr, /No such file/);
  });
});

test('a fork bomb hits the process limit, dies whole, and the host survives', async () => {
  await withSandbox(async (sb) => {
    await assertLimit(
      sb.run({ argv: ['bash', '-c', 'b() { b | b & }; b; sleep 20'], limits: { nproc: 64, wallMs: 60_000 } }),
      'nproc',
    );
    const inside = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readlinkSync(`/proc/${p}/root`).startsWith(sb.merged);
        } catch {
          return false;
        }
      });
    assert.deepEqual(inside, [], 'no process of the sandbox is left');
    const again = await sb.run({ argv: ['echo', 'alive'] });
    assert.equal(again.stdout, 'alive\n');
  });
  assert.equal((await run('true', [])).status, 0);
});

test('the wall-time limit and the no-output limit each fail with their own reason', async () => {
  await withSandbox(async (sb) => {
    await assertLimit(
      sb.run({
        argv: ['sh', '-c', 'while :; do echo tick; sleep 0.1; done'],
        limits: { wallMs: 1500, noOutputMs: 30_000 },
      }),
      'wall',
    );
    await assertLimit(sb.run({ argv: ['sleep', '60'], limits: { wallMs: 60_000, noOutputMs: 700 } }), 'no-output');
  });
});

test('CPU-time and memory limits of the whole tree (cgroup)', async (t) => {
  await withSandbox(async (sb) => {
    if (!sb.hasCgroup) {
      t.skip('no writable cgroup here: rlimits stand in');
      return;
    }
    await assertLimit(
      sb.run({ argv: ['sh', '-c', 'while :; do :; done'], limits: { cpuSeconds: 1, wallMs: 60_000 } }),
      'cpu',
    );
    await assertLimit(
      sb.run({
        argv: ['perl', '-e', '$x = "a" x (400 * 1024 * 1024); print length $x'],
        limits: { memoryBytes: 128 << 20, wallMs: 60_000 },
      }),
      'memory',
    );
    const fine = await sb.run({
      argv: ['perl', '-e', '$x = "a" x (8 * 1024 * 1024); print length $x'],
      limits: { memoryBytes: 128 << 20, cpuSeconds: 30 },
    });
    assert.equal(fine.stdout, String(8 * 1024 * 1024));
  });
});

test('output lines reach the log callback; env, cwd and binds are as given', async () => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-src-'));
  let buildId = 2000;
  try {
    const lines: string[] = [];
    await withSandbox(async (sb) => {
      // A writable bind must belong to the build user's host id (2000 inside, another id on the host).
      buildId = sb.hostId(2000);
      fs.chownSync(src, buildId, buildId);
      await sb.run({
        argv: ['sh', '-c', 'echo "$FOO"; pwd; echo err >&2; echo made > out.txt; printf tail'],
        env: { FOO: 'bar' },
        cwd: '/build/src',
        binds: [{ source: src, dest: '/build/src' }],
        onLine: (l, s) => lines.push(`${s}:${l}`),
      });
    });
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stdout:')),
      ['stdout:bar', 'stdout:/build/src', 'stdout:tail'],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stderr:')),
      ['stderr:err'],
    );
    assert.equal(fs.readFileSync(path.join(src, 'out.txt'), 'utf8'), 'made\n');
    assert.equal(fs.statSync(path.join(src, 'out.txt')).uid, buildId);
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
});

test('teardown is idempotent, runs from a Procedure cleanup stack, and kills a running command', async () => {
  const proc = new Procedure(() => undefined);
  const sb = await createSandbox({ home, jail, label: 'proc', proc });
  const running = sb.run({ argv: ['sleep', '60'] }).then(
    () => 'finished',
    (e: unknown) => e,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await proc.close(), []);
  const outcome = await running;
  assert.ok(
    outcome instanceof Error && (outcome as { reason?: string }).reason === 'aborted',
    `the command was killed: ${String(outcome)}`,
  );
  await sb.teardown();
  assert.ok(!fs.existsSync(sb.dir));
});

test('cleanupStaleSandboxes removes sandboxes whose owner died and keeps live ones', async () => {
  const live = await createSandbox({ home, jail, label: 'live' });
  const leaked = await createSandbox({ home, jail, label: 'leaked' });
  try {
    let deadPid = 0;
    await run('true', [], {
      onSpawn: (p) => {
        deadPid = p;
      },
    });
    const ownerFile = path.join(leaked.dir, 'owner.json');
    fs.writeFileSync(ownerFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(ownerFile, 'utf8')), pid: deadPid }));
    assert.deepEqual(
      listSandboxes(home)
        .map((s) => [s.id, s.live, s.mounted])
        .sort(),
      [
        [leaked.id, false, true],
        [live.id, true, true],
      ].sort(),
    );
    assert.deepEqual(await cleanupStaleSandboxes(home), [leaked.id]);
    assert.ok(!fs.existsSync(leaked.dir));
    assert.ok(
      readMounts().some((m) => m.target === live.merged),
      'the live sandbox is still mounted',
    );
    assert.equal((await live.run({ argv: ['true'] })).status, 0);
  } finally {
    await live.teardown();
    await leaked.teardown();
  }
});

test('an upper layer in a tmpfs: writes land in memory, and teardown unmounts both', async () => {
  const sb = await createSandbox({ home, jail, label: 'tmpfs', tmpfsBytes: 64 << 20 });
  try {
    assert.ok(readMounts().some((m) => m.target === sb.dir && m.fstype === 'tmpfs'));
    await sb.run({ argv: ['sh', '-c', 'echo hi > /root/x'], user: 'root' });
    assert.equal(fs.readFileSync(path.join(sb.upper, 'root/x'), 'utf8'), 'hi\n');
  } finally {
    await sb.teardown();
  }
  assert.ok(!fs.existsSync(sb.dir));
});

test('the build flow: deps downloaded through the archive proxy, verified into the shared cache, installed offline', async () => {
  const cache = sharedAptCache(home);
  const apt = (...a: string[]): string[] => [
    'apt-get',
    '-y',
    '-q',
    '--no-install-recommends',
    '-o',
    'APT::Sandbox::User=root',
    '-o',
    `Acquire::http::Proxy=${ARCHIVE_PROXY}`,
    ...a,
    'install',
    'hello',
  ];
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await withSandbox(async (sb) => {
    await sb.run({
      argv: apt('--download-only'),
      user: 'root',
      network: 'archive',
      aptCache: cache,
      env,
      limits: { wallMs: 300_000, noOutputMs: 120_000 },
    });
    await sb.run({ argv: apt('--no-download'), user: 'root', aptCache: cache, env, limits: { wallMs: 300_000 } });
    const r = await sb.run({ argv: ['hello'], limits: { wallMs: 30_000 } });
    assert.equal(r.stdout, 'Hello, world!\n');
  });
  assert.ok(
    fs.readdirSync(cache).some((f) => /^hello_.*\.deb$/.test(f)),
    'the verified .deb was promoted to the host cache',
  );
  // A second sandbox installs from the cache alone: no network at all this time.
  await withSandbox(async (sb) => {
    await sb.run({ argv: apt('--no-download'), user: 'root', aptCache: cache, env, limits: { wallMs: 300_000 } });
    assert.equal((await sb.run({ argv: ['hello'] })).stdout, 'Hello, world!\n');
  });
  assert.ok(!fs.existsSync(path.join(jail.path, 'usr/bin/hello')), 'the jail itself is untouched');
});
