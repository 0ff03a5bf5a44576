/**
 * Three hosts on one machine: the master host is the machine itself (it reaches Debian's archive and the distfile
 * sites), the two worker hosts are network namespaces made here, joined to it by veth pairs on a bridge in a
 * private /24, with no route anywhere else. The master (`kiln bulk --redis`) and Redis run on the master host, a
 * `kiln worker` with its own home in each namespace: nothing is shared but the network. Workers get the jail,
 * distfiles and dependency `.deb`s from the master by hash, and reach Debian's archive for `depends.system` only
 * through the master's apt proxy.
 * The example tree (examples/pkglist.txt and its dependencies) is built. A worker that has built something is
 * killed with SIGKILL in the middle of a build; the other one rebuilds that port; then Redis is restarted (empty)
 * while the bulk runs. The bulk must finish, every port must be in the repository once, and apt in a fresh Debian
 * root installs from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store/index.js';
import { freshRoot } from '../repo/testing.js';
import { repoInfo } from '../repo/index.js';
import { buildServer } from '../server/index.js';
import { REPO_ROOT, kiln, testHome } from '../bulk/testing.js';
import { run } from '../util/exec.js';
import { hostMirror } from '../debian/index.js';
import { cleanupStaleSandboxes } from '../sandbox/index.js';
import { APT_PROXY_CONF } from './apt-proxy.js';
import {
  inNetns,
  makeNetwork,
  spawnChild,
  startRedis,
  type Child,
  type TestNetwork,
  type TestRedis,
} from './testing.js';

const PORTS = [
  'devel/libmd',
  'devel/libbsd',
  'misc/hello',
  'security/signify-openbsd',
  'sysutils/tree',
  'textproc/cjson',
  'textproc/serd',
];
const TOKEN = 'netns-test-token-0123456789';

/** Per worker: ports finished ok, and the port being built now (started, not yet done). */
function progress(out: string): { done: string[]; current: string | undefined } {
  const done: string[] = [];
  let current: string | undefined;
  for (const line of out.split('\n')) {
    const b = /\] building (\S+) /.exec(line);
    if (b) current = b[1];
    const d = /\] (?:done (\S+) |error on (\S+) )/.exec(line);
    if (d) {
      if (line.includes(' ok in ') && d[1]) done.push(d[1]);
      if ((d[1] ?? d[2]) === current) current = undefined;
    }
  }
  return { done, current };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`, or 'timeout' after `ms` (the timer does not outlive the race). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<'timeout'>((r) => {
        t = setTimeout(() => r('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

test('three hosts: the example tree across two workers in namespaces, kill -9 a worker and restart Redis mid-bulk, apt installs', {
  timeout: 25 * 60_000,
}, async () => {
  const home = await testHome('kiln-dist-netns-');
  const list = path.join(REPO_ROOT, 'examples/pkglist.txt');
  assert.equal((await kiln(home, ['tree', 'add', 'ex', '--path', path.join(REPO_ROOT, 'examples/ports')])).status, 0);

  const homes: string[] = [];
  let net: TestNetwork | undefined;
  let redis: TestRedis | undefined;
  const children: Child[] = [];
  const root = await freshRoot();
  const app = await buildServer({ home });
  try {
    net = await makeNetwork(3, { hubInHost: true });
    const [m, ...ws] = net.hosts as [(typeof net.hosts)[0], ...typeof net.hosts];
    redis = await startRedis({ host: m.ip, port: 6379 });
    const cli = (ns: string, args: string[], h: string): Promise<Child> => {
      const argv = inNetns(ns, [
        process.execPath,
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'src/cli/bin.ts'),
        ...args,
        '--home',
        h,
      ]);
      return spawnChild(argv[0]!, argv.slice(1), {
        cwd: REPO_ROOT,
        env: { ...process.env, KILN_DIST_TOKEN: TOKEN, KILN_DIST_LOCK_MS: '6000' },
      });
    };
    const workers: Child[] = [];
    for (const [i, w] of ws.entries()) {
      const wh = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-dist-netns-w${i + 1}-`));
      homes.push(wh);
      const c = await cli(w.ns, ['worker', '--redis', redis.url, '--slots', '1', '--name', `w${i + 1}`], wh);
      workers.push(c);
      children.push(c);
    }
    for (const w of workers) await w.waitFor(/serving kiln-build-amd64/, 90_000);
    const bulk = await cli(
      m.ns,
      ['bulk', '-j', 'bookworm', '-p', 'ex', '-f', list, '--redis', redis.url, '--dist-listen', `${m.ip}:8081`],
      home,
    );
    children.push(bulk);

    // Kill (SIGKILL) a worker that has built something, in the middle of its next build.
    let victim = -1;
    let killed: string | undefined;
    for (let i = 0; i < 3000 && victim < 0; i++) {
      for (const [k, w] of workers.entries()) {
        const p = progress(w.output());
        if (p.done.length > 0 && p.current !== undefined) {
          victim = k;
          killed = p.current;
          break;
        }
      }
      if (victim < 0) {
        assert.ok(
          !bulk.output().includes(' done in '),
          `the bulk ended before a worker could be caught mid-build:\n${bulk.output()}`,
        );
        await sleep(200);
      }
    }
    assert.ok(
      victim >= 0 && killed,
      `no worker was seen building a port after building something:\n${workers.map((w) => w.output()).join('\n---\n')}`,
    );
    await sleep(2000);
    workers[victim]!.kill('SIGKILL');
    await workers[victim]!.done;
    const survivor = workers[1 - victim]!;

    // The other worker takes the dead worker's job once its lock has expired; restart Redis while it builds.
    const rebuilding = new RegExp(`\\] building ${killed.replace('/', '\\/')} `);
    await survivor.waitFor(rebuilding, 5 * 60_000);
    await sleep(2000);
    await redis.restart();

    const end = await within(bulk.done, 15 * 60_000);
    assert.notEqual(end, 'timeout', `the bulk did not finish:\n${bulk.output()}`);
    assert.ok(
      end !== 'timeout' && !(end instanceof Error) && end.status === 0,
      `bulk failed:\n${bulk.output()}\n--- survivor:\n${survivor.output()}`,
    );

    // Every port built, each once in the repository; both workers built something; the killed port by the survivor.
    const s = openStore(home);
    let rows;
    let bulkId = 0;
    try {
      bulkId = s.bulks.listBulks({ limit: 1 })[0]!.id;
      rows = s.bulks.builds(bulkId);
    } finally {
      s.close();
    }
    assert.deepEqual(
      rows
        .filter((r) => r.result === 'built')
        .map((r) => r.origin)
        .sort(),
      [...PORTS].sort(),
    );
    const dones = workers.map((w) => progress(w.output()).done);
    assert.ok(dones[0]!.length > 0 && dones[1]!.length > 0, `both workers built something: ${JSON.stringify(dones)}`);
    assert.ok(dones[1 - victim]!.includes(killed), `the survivor rebuilt ${killed}: ${JSON.stringify(dones)}`);
    assert.ok(!dones[victim]!.includes(killed), 'the killed worker never finished it');
    assert.match(
      fs.readFileSync(path.join(home, 'logs', String(bulkId), `${killed.replace('/', '_')}.log`), 'utf8'),
      new RegExp(`built on worker w${2 - victim}`),
    );
    const packages = fs.readFileSync(
      path.join(home, 'repos/bookworm-ex/current/dists/bookworm/main/binary-amd64/Packages'),
      'utf8',
    );
    const names = [...packages.matchAll(/^Package: (\S+)$/gm)].map((x) => x[1]!);
    assert.equal(names.length, new Set(names).size, `each package once: ${names.join(' ')}`);
    // Libraries are split Debian's way (runtime package named after the SONAME, -dev).
    assert.deepEqual([...names].sort(), [
      'hello',
      'libbsd-dev',
      'libbsd0',
      'libcjson-dev',
      'libcjson1',
      'libmd-dev',
      'libmd0',
      'libserd-0-0',
      'libserd-dev',
      'serd',
      'signify-openbsd',
      'tree',
    ]);
    assert.match(bulk.output(), /Redis unreachable|gone from Redis/, 'the master saw Redis go away');

    // apt in a fresh Debian root installs from the repository and the programs run.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const info = repoInfo(
      home,
      'bookworm',
      'ex',
      `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    );
    fs.writeFileSync(
      path.join(root.dir, info.keyringPath),
      Buffer.from(await (await fetch(info.keyUrl)).arrayBuffer()),
    );
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);
    await root.exec(['apt-get', 'update']);
    await root.exec(['apt-get', 'install', '-y', 'hello', 'tree', 'signify-openbsd', 'serd', 'libcjson1']);
    assert.match((await root.exec(['hello'])).stdout, /kiln/i, 'the patched greeting');
    assert.match((await root.exec(['tree', '--version'])).stdout, /tree v2\.1\.0/);
    await root.exec(['signify', '-G', '-n', '-p', '/tmp/k.pub', '-s', '/tmp/k.sec']);
    // The workers' apt (depends.system of cjson, serd, signify) had the master as its proxy: they have no other way out.
    for (const h of homes) {
      const jails = fs.readdirSync(path.join(h, 'dist/jails')).filter((d) => !d.startsWith('.'));
      assert.match(
        fs.readFileSync(path.join(h, 'dist/jails', jails[0]!, 'root', APT_PROXY_CONF), 'utf8'),
        new RegExp(`@${m.ip.replaceAll('.', '\\.')}:8081/`),
      );
    }
    const mirrorHost = new URL(hostMirror()).host;
    const direct = await run('ip', ['netns', 'exec', ws[0]!.ns, 'bash', '-c', `exec 3<>/dev/tcp/${mirrorHost}/80`], {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    assert.notEqual(direct.status, 0, 'a worker namespace cannot reach the archive directly');
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => within(c.done, 15_000)));
    for (const c of children) c.kill('SIGKILL');
    await redis?.stop();
    await net?.dispose();
    await app.close();
    root.dispose();
    for (const h of homes) await cleanupStaleSandboxes(h).catch(() => undefined); // the killed worker's mounts
    for (const d of [...homes, home]) fs.rmSync(d, { recursive: true, force: true });
  }
});
