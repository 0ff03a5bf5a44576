/**
 * Three hosts on one machine: network namespaces made here (a bridge in the master's, a veth pair to each
 * worker's, a private /24 that exists only inside them). The master (`kiln bulk --redis`) and Redis run in one,
 * a `kiln worker` in each of the others, with their own homes: nothing is shared but the network.
 * The tree: four real ports of the example tree that need no Debian package beyond the jail (the namespaces have
 * no route to Debian's archive; see docs/distributed.md) and three script ports that sleep, so a build can be
 * caught in the middle. A worker that has built something is killed with SIGKILL in the middle of a build; the
 * other one rebuilds that port; then Redis is restarted (empty) while the bulk runs. The bulk must finish, every
 * port must be in the repository once, and apt in a fresh Debian root installs from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store/index.js';
import { fetchDistfiles } from '../fetch/index.js';
import { loadPort } from '../recipe/index.js';
import { freshRoot } from '../repo/testing.js';
import { repoInfo } from '../repo/index.js';
import { buildServer } from '../server/index.js';
import { REPO_ROOT, kiln, scriptPort, testHome } from '../bulk/testing.js';
import { makeNetwork, spawnChild, startRedis, type Child, type TestNetwork, type TestRedis } from './testing.js';

const REAL = ['misc/hello', 'devel/libmd', 'devel/libbsd', 'sysutils/tree'];
const SLOW = ['misc/slow1', 'misc/slow2', 'misc/slow3'];
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
  try { return await Promise.race([p, new Promise<'timeout'>((r) => { t = setTimeout(() => r('timeout'), ms); })]); } finally { clearTimeout(t); }
}

test('three hosts in network namespaces: both workers build, kill -9 a worker and restart Redis mid-bulk, apt installs', { timeout: 25 * 60_000 }, async () => {
  const home = await testHome('kiln-dist-netns-');
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-dist-netns-tree-'));
  for (const o of REAL) fs.cpSync(path.join(REPO_ROOT, 'examples/ports', o), path.join(tree, o), { recursive: true });
  for (const o of SLOW) {
    const n = o.split('/')[1]!;
    scriptPort(tree, o, { script: `sleep 20\nmkdir -p "$DESTDIR/usr/share/${n}"\necho ${n} > "$DESTDIR/usr/share/${n}/${n}.txt"` });
  }
  const list = path.join(tree, 'pkglist.txt');
  fs.writeFileSync(list, `${[...REAL, ...SLOW].join('\n')}\n`);
  // The master host fetches distfiles (here, before the namespaces: they have no route out).
  for (const o of REAL) await fetchDistfiles({ origin: o, sources: loadPort(path.join(tree, o), o, 't').port!.recipe.sources }, { home });
  assert.equal((await kiln(home, ['tree', 'add', 'ex', '--path', tree])).status, 0);

  const homes: string[] = [];
  let net: TestNetwork | undefined;
  let redis: TestRedis | undefined;
  const children: Child[] = [];
  const root = await freshRoot();
  const app = await buildServer({ home });
  try {
    net = await makeNetwork(3);
    const [m, ...ws] = net.hosts as [typeof net.hosts[0], ...typeof net.hosts];
    redis = await startRedis({ host: m.ip, port: 6379, netns: m.ns });
    const cli = (ns: string, args: string[], h: string): Promise<Child> => spawnChild('ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'src/cli/bin.ts'), ...args, '--home', h],
      { cwd: REPO_ROOT, env: { ...process.env, KILN_DIST_TOKEN: TOKEN, KILN_DIST_LOCK_MS: '6000' } });
    const workers: Child[] = [];
    for (const [i, w] of ws.entries()) {
      const wh = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-dist-netns-w${i + 1}-`));
      homes.push(wh);
      const c = await cli(w.ns, ['worker', '--redis', redis.url, '--slots', '1', '--name', `w${i + 1}`], wh);
      workers.push(c); children.push(c);
    }
    for (const w of workers) await w.waitFor(/serving kiln-build-amd64/, 90_000);
    const bulk = await cli(m.ns, ['bulk', '-j', 'bookworm', '-p', 'ex', '-f', list, '--redis', redis.url, '--dist-listen', `${m.ip}:8081`], home);
    children.push(bulk);

    // Kill (SIGKILL) a worker that has built something, in the middle of one of the sleeping builds.
    let victim = -1;
    let killed: string | undefined;
    for (let i = 0; i < 3000 && victim < 0; i++) {
      for (const [k, w] of workers.entries()) {
        const p = progress(w.output());
        if (p.done.length > 0 && p.current !== undefined && SLOW.includes(p.current)) { victim = k; killed = p.current; break; }
      }
      if (victim < 0) {
        assert.ok(!bulk.output().includes(' done in '), `the bulk ended before a worker could be caught mid-build:\n${bulk.output()}`);
        await sleep(200);
      }
    }
    assert.ok(victim >= 0 && killed, `no worker was seen building a sleeping port after building something:\n${workers.map((w) => w.output()).join('\n---\n')}`);
    await sleep(3000);
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
    assert.ok(end !== 'timeout' && !(end instanceof Error) && end.status === 0, `bulk failed:\n${bulk.output()}\n--- survivor:\n${survivor.output()}`);

    // Every port built, each once in the repository; both workers built something; the killed port by the survivor.
    const s = openStore(home);
    let rows; let bulkId = 0;
    try { bulkId = s.bulks.listBulks({ limit: 1 })[0]!.id; rows = s.bulks.builds(bulkId); } finally { s.close(); }
    assert.deepEqual(rows.filter((r) => r.result === 'built').map((r) => r.origin).sort(), [...REAL, ...SLOW].sort());
    const dones = workers.map((w) => progress(w.output()).done);
    assert.ok(dones[0]!.length > 0 && dones[1]!.length > 0, `both workers built something: ${JSON.stringify(dones)}`);
    assert.ok(dones[1 - victim]!.includes(killed), `the survivor rebuilt ${killed}: ${JSON.stringify(dones)}`);
    assert.ok(!dones[victim]!.includes(killed), 'the killed worker never finished it');
    assert.match(fs.readFileSync(path.join(home, 'logs', String(bulkId), `${killed.replace('/', '_')}.log`), 'utf8'), new RegExp(`built on worker w${2 - victim}`));
    const packages = fs.readFileSync(path.join(home, 'repos/bookworm-ex/current/dists/bookworm/main/binary-amd64/Packages'), 'utf8');
    const names = [...packages.matchAll(/^Package: (\S+)$/gm)].map((x) => x[1]!);
    assert.equal(names.length, new Set(names).size, `each package once: ${names.join(' ')}`);
    assert.deepEqual([...names].sort(), ['hello', 'libbsd', 'libmd', 'slow1', 'slow2', 'slow3', 'tree']);
    assert.match(bulk.output(), /Redis unreachable|gone from Redis/, 'the master saw Redis go away');

    // apt in a fresh Debian root installs from the repository and the programs run.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const info = repoInfo(home, 'bookworm', 'ex', `http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
    fs.writeFileSync(path.join(root.dir, info.keyringPath), Buffer.from(await (await fetch(info.keyUrl)).arrayBuffer()));
    fs.writeFileSync(path.join(root.dir, 'etc/apt/sources.list.d/kiln.list'), `${info.sourcesLine}\n`);
    await root.exec(['apt-get', 'update']);
    await root.exec(['apt-get', 'install', '-y', 'hello', 'tree', 'libbsd', 'slow1']);
    assert.match((await root.exec(['hello'])).stdout, /kiln/i);
    assert.match((await root.exec(['tree', '--version'])).stdout, /tree v2\.1\.0/);
    assert.equal(fs.readFileSync(path.join(root.dir, 'usr/share/slow1/slow1.txt'), 'utf8'), 'slow1\n');
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => within(c.done, 15_000)));
    for (const c of children) c.kill('SIGKILL');
    await redis?.stop();
    await net?.dispose();
    await app.close();
    root.dispose();
    for (const d of [...homes, tree, home]) fs.rmSync(d, { recursive: true, force: true });
  }
});
