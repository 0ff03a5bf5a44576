/**
 * Hostile builds against the real sandbox (real test jail, real bubblewrap, overlayfs, apt through the archive
 * proxy). A kiln-built dependency whose `postinst` attacks is installed the way builds install dependencies
 * (build/install.ts: download step, then install step with no network); other attacks run as root or as the build
 * user. Each test asserts that the attack fails and how. Three sandboxes in all, one apt download (`hello`).
 */
import { after as afterAll, before as beforeAll, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { run } from '../util/exec.js';
import { testJail } from '../jail/index.js';
import { hostMirror } from '../debian/index.js';
import { installDepends, installPackages } from '../build/index.js';
import type { JailRecord } from '../store/index.js';
import {
  ARCHIVE_PROXY,
  LimitError,
  resolveInside,
  cleanupStaleSandboxes,
  createSandbox,
  diskImage,
  gateDir,
  jailPackageIndex,
  readMounts,
  settleRemovals,
  sharedAptCache,
  type Sandbox,
  type SandboxCommand,
} from './index.js';

let jail: JailRecord;
let home: string;
let cache: string;
let sb: Sandbox;
let server: net.Server;
let port = 0;
let connections = 0;
let attack = '';
const lines: string[] = [];
const limits = { wallMs: 600_000, noOutputMs: 300_000 };
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
const mirrorHost = new URL(hostMirror()).hostname;

/** A kiln-style `.deb` (`evil`, depends on hello) whose postinst tries every escape it can and logs the outcome. */
async function evilDeb(dir: string): Promise<string> {
  const root = path.join(dir, 'evil');
  fs.mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'DEBIAN/control'),
    'Package: evil\nVersion: 1.0-k1\nArchitecture: all\nMaintainer: x <x@example.org>\nDepends: hello\nDescription: hostile\n',
  );
  fs.writeFileSync(
    path.join(root, 'DEBIAN/postinst'),
    `#!/bin/bash
exec > /root/attack.log 2>&1
echo "uid=$(id -u)"
if getent hosts ${mirrorHost} >/dev/null 2>&1; then echo resolve=ok; else echo resolve=fail; fi
if timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null; then echo connect=ok; else echo connect=fail; fi
if timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/3142' 2>/dev/null; then echo proxy=ok; else echo proxy=fail; fi
if mknod /root/null c 1 3 2>/dev/null; then echo mknod=ok; else echo mknod=fail; fi
touch /root/made-by-postinst
chmod 4755 /root/made-by-postinst
for f in /var/cache/apt/archives/hello_*.deb; do
  [ -f "$f" ] && head -c "$(stat -c %s "$f")" /dev/zero > "$f" && echo "trojan=$f"
done
ln -s /etc/passwd /var/cache/apt/archives/partial/evil-link && echo link=ok
head -c 1000 /dev/zero > /var/cache/apt/archives/base-files_99_all.deb && echo plant=ok
exit 0
`,
    { mode: 0o755 },
  );
  const deb = path.join(dir, 'evil_1.0-k1_all.deb');
  await run('dpkg-deb', ['--root-owner-group', '-b', root, deb]);
  return deb;
}

beforeAll(async () => {
  jail = await testJail();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-hostile-test-'));
  cache = sharedAptCache(home);
  server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
  const deb = await evilDeb(home);
  sb = await createSandbox({ home, jail, label: 'hostile' });
  fs.mkdirSync(sb.hostPath('/kiln/debs'), { recursive: true });
  fs.writeFileSync(sb.hostPath('/kiln/debs/evil_1.0-k1_all.deb'), '');
  await installDepends({
    home,
    binds: [{ source: deb, dest: '/kiln/debs/evil_1.0-k1_all.deb', readonly: true }],
    run: (cmd: SandboxCommand) => sb.run({ ...cmd, limits }),
    onLine: (l) => lines.push(l),
    ...installPackages(['/kiln/debs/evil_1.0-k1_all.deb']),
  });
  attack = fs.readFileSync(sb.hostPath('/root/attack.log'), 'utf8');
});

afterAll(async () => {
  await sb?.teardown();
  await new Promise<void>((r) => server.close(() => r()));
  await settleRemovals();
  await cleanupStaleSandboxes(home, { all: true });
  assert.deepEqual(
    readMounts()
      .filter((m) => m.target.startsWith(home) || m.target.startsWith(`${gateDir()}/hostile`))
      .map((m) => m.target),
    [],
  );
  fs.rmSync(home, { recursive: true, force: true });
});

test('the dependency was installed: apt fetched hello through the archive proxy and the postinst ran as root inside', () => {
  assert.match(attack, /^uid=0$/m);
  assert.ok(fs.existsSync(sb.hostPath('/usr/bin/hello')));
  assert.ok(
    fs.readdirSync(cache).some((f) => /^hello_.*\.deb$/.test(f)),
    'the verified download was promoted',
  );
});

test('a postinst cannot resolve names: the install step has no network and no resolver', () => {
  assert.match(attack, /^resolve=fail$/m);
});

test("a postinst cannot reach a server on the host's 127.0.0.1, nor the archive proxy", () => {
  assert.match(attack, /^connect=fail$/m);
  assert.match(attack, /^proxy=fail$/m);
  assert.equal(connections, 0, 'the test server saw no connection');
});

test('root inside cannot make device nodes (mknod), and is nobody on the host', () => {
  assert.match(attack, /^mknod=fail$/m);
  assert.ok(!fs.existsSync(sb.hostPath('/root/null')));
  const st = fs.statSync(sb.hostPath('/root/made-by-postinst'));
  assert.ok(st.uid >= 0x10000000 && st.uid === sb.hostId(0), `a file root made is owned by host uid ${st.uid}, not 0`);
  assert.ok((st.mode & 0o4000) !== 0 && st.uid !== 0, 'its setuid bit is for an unprivileged host user');
});

test('the shared apt cache is read-only: a same-size trojan, a symlink in partial/ and a planted .deb stay in the build', () => {
  assert.match(attack, /^trojan=/m, 'the postinst overwrote hello in its own view');
  assert.match(attack, /^link=ok$/m);
  const index = jailPackageIndex(jail.path);
  for (const f of fs.readdirSync(cache).filter((x) => x.endsWith('.deb'))) {
    const want = index.get(f);
    assert.ok(want, `${f} is in the jail's index`);
    assert.equal(sha(fs.readFileSync(path.join(cache, f))), want.sha256, `${f} in the shared cache is the archive's`);
  }
  assert.ok(!fs.existsSync(path.join(cache, 'partial', 'evil-link')));
  assert.ok(!fs.existsSync(path.join(cache, 'base-files_99_all.deb')));
});

test("a trojan in the build's own cache layer is never promoted, even by a later download step", async () => {
  const before = fs.readdirSync(cache).sort();
  const r = await sb.run({
    argv: [
      'apt-get',
      'install',
      '--download-only',
      '-y',
      '-q',
      '-o',
      'APT::Sandbox::User=root',
      '-o',
      `Acquire::http::Proxy=${ARCHIVE_PROXY}`,
      'hello',
    ],
    user: 'root',
    network: 'archive',
    aptCache: cache,
    limits,
    onLine: (l) => lines.push(l),
  });
  assert.equal(r.status, 0);
  assert.deepEqual(fs.readdirSync(cache).sort(), before, 'nothing new in the shared cache');
  assert.ok(
    lines.some((l) =>
      /base-files_99_all\.deb not kept in the shared apt cache: not in the jail's Packages index/.test(l),
    ),
    lines.join('\n'),
  );
});

test("the archive proxy serves the jail's archive only: a host port, a CONNECT and a path escape get 403", async () => {
  const ask = (req: string): string =>
    `exec 3<>/dev/tcp/127.0.0.1/3142; printf '${req}\\r\\nHost: x\\r\\n\\r\\n' >&3; head -1 <&3`;
  const reqs = [
    `GET http://127.0.0.1:${port}/secret HTTP/1.0`,
    `CONNECT 127.0.0.1:${port} HTTP/1.0`,
    `GET ${hostMirror()}/../../../etc/passwd HTTP/1.0`,
    `GET http://${mirrorHost}.evil.example/debian/ HTTP/1.0`,
  ];
  const r = await sb.run({ argv: ['bash', '-c', reqs.map(ask).join('; ')], user: 'root', network: 'archive', limits });
  const status = r.stdout.trim().split('\n');
  assert.equal(status.length, reqs.length, r.stdout);
  for (const s of status) assert.match(s, /^HTTP\/1\.[01] 403/);
  assert.equal(connections, 0);
  // And without the proxy, the direct connection fails too.
  const d = await sb.run({
    argv: ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`],
    user: 'root',
    network: 'archive',
    allowFailure: true,
    limits,
  });
  assert.notEqual(d.status, 0);
  assert.equal(connections, 0);
});

test('root inside writes only its own layer: not the jail, not the home, not the gate, not another sandbox', async () => {
  const other = await createSandbox({ home, jail, label: 'other' });
  try {
    fs.writeFileSync(other.hostPath('/root/other-secret'), 'x');
    fs.writeFileSync(path.join(home, 'home-secret'), 'x');
    const envBefore = sha(fs.readFileSync(path.join(jail.path, 'usr/bin/env')));
    const r = await sb.run({
      argv: [
        'sh',
        '-c',
        'echo pwned > /usr/bin/env; ls /run/kiln 2>&1; ' +
          'find / -xdev \\( -name other-secret -o -name home-secret \\) 2>/dev/null; echo end',
      ],
      user: 'root',
      limits,
    });
    assert.ok(!/other-secret|home-secret/.test(r.stdout), r.stdout);
    assert.match(r.stdout, /No such file/, 'the gate folder is not visible inside');
    assert.equal(sha(fs.readFileSync(path.join(jail.path, 'usr/bin/env'))), envBefore, 'the jail is untouched');
    assert.equal(fs.readFileSync(other.hostPath('/root/other-secret'), 'utf8'), 'x');
  } finally {
    await other.teardown();
  }
});

test('/proc/1/cmdline inside names no host path', async () => {
  const r = await sb.run({ argv: ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'], user: 'root', limits });
  assert.match(r.stdout, /^bwrap /);
  assert.ok(!r.stdout.includes(home) && !r.stdout.includes(gateDir()) && !r.stdout.includes('sandboxes'), r.stdout);
});

test('a process that daemonizes does not outlive its command', async () => {
  await sb.run({ argv: ['sh', '-c', 'setsid sleep 7654321 </dev/null >/dev/null 2>&1 & echo started'], limits });
  const alive = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('7654321');
      } catch {
        return false;
      }
    });
  assert.deepEqual(alive, []);
});

test("a build cannot signal or trace another build's process", async () => {
  const victim = await createSandbox({ home, jail, label: 'victim' });
  const ac = new AbortController();
  const running = victim.run({ argv: ['sleep', '8765432'], signal: ac.signal, limits }).catch(() => undefined);
  try {
    let pid = '';
    for (let i = 0; i < 100 && pid === ''; i++) {
      await new Promise((res) => setTimeout(res, 50));
      pid =
        fs.readdirSync('/proc').find((p) => {
          try {
            return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00008765432\u0000';
          } catch {
            return false;
          }
        }) ?? '';
    }
    assert.notEqual(pid, '', 'the victim runs');
    const r = await sb.run({
      argv: ['sh', '-c', `kill -9 ${pid}; echo kill=$?; cat /proc/${pid}/mem 2>&1 | head -c 80; echo`],
      user: 'root',
      limits,
    });
    assert.match(r.stdout, /kill=1/);
    assert.match(r.stdout, /No such file/);
    assert.ok(fs.existsSync(`/proc/${pid}`), 'the victim is still alive');
  } finally {
    ac.abort();
    await running;
    await victim.teardown();
  }
});

test('disk fill and inode fill hit the disk limit; the host keeps its space', async () => {
  const d = await createSandbox({ home, jail, label: 'disk', limits: { diskBytes: 32 << 20, files: 2048 } });
  const img = diskImage(d.dir);
  try {
    await assert.rejects(
      d.run({ argv: ['sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=1M count=200 2>&1'], limits }),
      (e: unknown) => {
        assert.ok(e instanceof LimitError, String(e));
        assert.equal(e.limit, 'disk');
        assert.match(e.message, /hit its disk limit \(32 MiB\)/);
        return true;
      },
    );
    assert.ok(fs.statSync(img).blocks * 512 <= 40 << 20, 'the image takes at most about its limit on the host');
    await d.run({ argv: ['rm', '-f', '/tmp/fill'], limits });
    await assert.rejects(
      d.run({ argv: ['sh', '-c', 'i=0; while [ $i -lt 5000 ]; do : > /tmp/f$i || exit 1; i=$((i+1)); done'], limits }),
      (e: unknown) => {
        assert.ok(e instanceof LimitError, String(e));
        assert.equal(e.limit, 'disk');
        assert.match(e.message, /hit its disk limit \(2048 files\)/);
        return true;
      },
    );
  } finally {
    await d.teardown();
  }
  assert.ok(!fs.existsSync(img), 'the image is deleted with the sandbox');
});

test("controls: the same probes do work where the sandbox allows them (so the failures above are the sandbox's)", async () => {
  const r = await sb.run({
    argv: [
      'bash',
      '-c',
      `getent hosts ${mirrorHost} >/dev/null && echo resolve=ok; exec 3<>/dev/tcp/127.0.0.1/${port} && echo connect=ok`,
    ],
    user: 'root',
    network: true,
    limits,
  });
  assert.match(r.stdout, /resolve=ok/);
  assert.match(r.stdout, /connect=ok/);
  for (let i = 0; i < 50 && connections === 0; i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(connections, 1);
});

test('a symlink a build plants where the host reads or writes (debian/changelog, a .deb) is not followed out', async () => {
  await sb.run({
    argv: [
      'sh',
      '-c',
      'mkdir -p /root/d && ln -sf /etc/hostname /root/d/changelog && ln -sf ../../etc/os-release /root/d/rel && echo x > /root/d/ok',
    ],
    user: 'root',
    limits,
  });
  assert.throws(
    () => resolveInside(sb, '/root/d/changelog'),
    (e: unknown) => (e as { code?: string }).code === 'KILN_E_SANDBOX',
  );
  assert.equal(
    resolveInside(sb, '/root/d/rel'),
    fs.realpathSync(sb.hostPath('/usr/lib/os-release')),
    'a relative link inside stays inside',
  );
  assert.equal(fs.readFileSync(resolveInside(sb, '/root/d/ok'), 'utf8'), 'x\n');
});
