/**
 * Distributed builds against a real redis-server on 127.0.0.1: the worker registry; the master's endpoint
 * (token, hash checks, identity check, a result taken once); then a real bulk of script ports through
 * `kiln bulk --redis` and two `kiln worker` processes with their own homes.
 */
import { after as afterAll, before as beforeAll, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { loadPort } from '../recipe/index.js';
import { buildDeb } from '../package/index.js';
import { hostMirror } from '../debian/index.js';
import { openStore, type BuildRow } from '../store/index.js';
import type { BuildResult } from '../build/index.js';
import { REPO_ROOT, kiln, scriptPort, testHome } from '../bulk/testing.js';
import {
  PROTOCOL_VERSION,
  WorkerRegistry,
  connectRedis,
  jobKey,
  queueName,
  redisOptions,
  startDistMaster,
  startWorker,
  uploadBlob,
  type DistJob,
  type DistResult,
} from './index.js';
import { freePort, spawnChild, startRedis, type Child, type TestRedis } from './testing.js';

let redis: TestRedis;
const tmp: string[] = [];
const mkdtemp = (p: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), p));
  tmp.push(d);
  return d;
};

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

test('redisOptions reads redis:// URLs and refuses others', () => {
  const o = redisOptions('redis://:s3cret@10.0.0.5:6380/2');
  assert.equal(o.host, '10.0.0.5');
  assert.equal(o.port, 6380);
  assert.equal(o.password, 's3cret');
  assert.equal(o.db, 2);
  assert.equal(o.maxRetriesPerRequest, null);
  assert.throws(() => redisOptions('http://x'), { code: 'KILN_E_USAGE' });
});

test('worker registry: heartbeats, live slots per arch, failures and rotation', async () => {
  const r = connectRedis(redis.url);
  try {
    const reg = new WorkerRegistry(r);
    const now = new Date().toISOString();
    const rec = { host: 'h', version: '0', current: [], built: 0, failed: 0, startedAt: now, lastSeen: now };
    assert.equal(await reg.beat({ ...rec, id: 'a', arch: 'amd64', slots: 2 }), undefined);
    await reg.beat({
      ...rec,
      id: 'b',
      arch: 'amd64',
      slots: 3,
      current: [{ origin: 'x/y', phase: 'build', since: now }],
    });
    await reg.beat({ ...rec, id: 'c', arch: 'arm64', slots: 4 });
    await reg.beat({
      ...rec,
      id: 'old',
      arch: 'amd64',
      slots: 8,
      lastSeen: new Date(Date.now() - 60_000).toISOString(),
    });
    assert.equal(await reg.slots('amd64'), 5, 'the stale worker and the arm64 one do not count');
    assert.equal(await reg.failure('b', 'k1'), 1);
    assert.equal(await reg.failure('b', 'k1'), 2);
    await reg.disable('b', 'failed job x/y 2 times');
    assert.equal(
      await reg.beat({ ...rec, id: 'b', arch: 'amd64', slots: 3 }),
      'failed job x/y 2 times',
      'the worker learns it at its heartbeat',
    );
    assert.equal(await reg.slots('amd64'), 2);
    const list = await reg.list();
    assert.deepEqual(list.map((w) => [w.id, w.alive, w.disabled ?? null]).sort(), [
      ['a', true, null],
      ['b', true, 'failed job x/y 2 times'],
      ['c', true, null],
      ['old', false, null],
    ]);
    await reg.enable('b');
    assert.equal(await reg.failure('b', 'k1'), 1, 'enable forgets the failures');
    for (const id of ['a', 'b', 'c', 'old']) await reg.remove(id);
    assert.deepEqual(await reg.list(), []);
  } finally {
    r.disconnect();
  }
});

test('master endpoint: token required, hashes checked, identity checked, a result taken once, nothing published', async () => {
  const home = mkdtemp('kiln-dist-master-');
  const jailRoot = mkdtemp('kiln-dist-jail-');
  fs.mkdirSync(path.join(jailRoot, 'usr/bin'), { recursive: true });
  fs.writeFileSync(path.join(jailRoot, 'usr/bin/hello'), 'x');
  const tree = mkdtemp('kiln-dist-tree-');
  scriptPort(tree, 'misc/one');
  const port = loadPort(path.join(tree, 'misc/one'), 'misc/one', 'test').port!;
  const jail = {
    name: 'bookworm',
    release: 'bookworm',
    arch: 'amd64',
    mirror: '',
    path: jailRoot,
    identity: 'j'.repeat(64),
    manifestHash: '',
    created: '',
    updated: '',
  };
  const m = await startDistMaster({
    home,
    redisUrl: redis.url,
    jail,
    listen: '127.0.0.1:0',
    token: 'tok-123456789',
    watchMs: 500,
  });
  const q = new Queue(queueName('amd64'), { connection: redisOptions(redis.url) });
  try {
    const noAuth = await fetch(`${m.url}/dist/blobs/${'0'.repeat(64)}`);
    assert.equal(noAuth.status, 401);
    const wrong = await fetch(`${m.url}/dist/results/k${'0'.repeat(40)}`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(wrong.status, 401);
    const auth = { authorization: 'Bearer tok-123456789' };
    assert.equal(
      (await fetch(`${m.url}/dist/blobs/${'0'.repeat(64)}`, { headers: auth })).status,
      404,
      'only registered blobs are served',
    );
    const bad = await fetch(`${m.url}/dist/uploads/${'0'.repeat(64)}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: 'hello',
    });
    assert.equal(bad.status, 400, 'bytes that do not hash to the name are refused');

    const outDir = path.join(home, 'packages', 'All');
    const input = (identity: string) => ({
      home,
      jail: { name: 'bookworm', path: jailRoot, arch: 'amd64', release: 'bookworm' },
      port,
      identity,
      options: {},
      depDebs: [],
      kilnRun: [],
      jobs: 1,
      limits: {},
      outDir,
      logFile: path.join(home, 'logs', `${identity.slice(0, 4)}.log`),
      sourceDateEpoch: 1,
      layers: {
        root: path.join(home, 'cache/layers'),
        jailIdentity: jail.identity,
        maxBytes: 1 << 30,
        shared: ['pkgconf'],
      },
    });
    const makeDeb = async (identity: string): Promise<string> => {
      const dest = mkdtemp('kiln-dist-destdir-');
      fs.mkdirSync(path.join(dest, 'usr/share/one'), { recursive: true });
      fs.writeFileSync(path.join(dest, 'usr/share/one/one.txt'), 'one\n');
      return buildDeb({
        destdir: dest,
        outDir: mkdtemp('kiln-dist-deb-'),
        control: {
          package: 'one',
          version: '1.0-k1',
          architecture: 'all',
          maintainer: 'kiln <kiln@localhost>',
          summary: 'one',
          extra: { 'X-Kiln-Identity': identity },
        },
      });
    };
    const result = async (key: string, file: string): Promise<DistResult> => ({
      v: PROTOCOL_VERSION,
      worker: 'test-worker',
      key,
      ok: true,
      debs: [await uploadBlob(m.url, 'tok-123456789', file)],
      timings: [],
      wallMs: 5,
      cpuMs: 1,
    });
    const post = async (body: DistResult) =>
      (
        await fetch(`${m.url}/dist/results/${body.key}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json() as Promise<{ accepted: boolean; reason?: string }>;

    // A result nobody waits for is not taken, and nothing lands in the packages folder.
    const stray = jobKey(jail.identity, 'misc/one', 'a'.repeat(64));
    assert.deepEqual((await post(await result(stray, await makeDeb('a'.repeat(64))))).accepted, false);
    assert.equal(fs.existsSync(outDir), false);

    // The master queues the job (with the data a worker needs), then two copies of the result arrive: one is taken.
    const id1 = '1'.repeat(64);
    const running: Promise<BuildResult> = m.execute(input(id1));
    const key1 = jobKey(jail.identity, 'misc/one', id1);
    let job;
    for (let i = 0; i < 200 && !job; i++) {
      job = await q.getJob(key1);
      if (!job) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(job, 'the job is on the queue of its arch');
    const data = job.data as DistJob;
    assert.equal(data.port.origin, 'misc/one');
    assert.equal(data.master, m.url);
    assert.deepEqual(data.sharedLayer, ['pkgconf'], "the bulk's shared layer travels by name (the worker makes it)");
    const tarball = await fetch(`${m.url}/dist/blobs/${data.jail.tarball.sha256}`, { headers: auth });
    assert.equal(tarball.status, 200, 'the jail tarball is served by its hash');
    assert.equal(Number(tarball.headers.get('content-length')), data.jail.tarball.size);
    await tarball.arrayBuffer();
    const deb = await makeDeb(id1);
    const [a, b] = await Promise.all([post(await result(key1, deb)), post(await result(key1, deb))]);
    assert.deepEqual([a.accepted, b.accepted].sort(), [false, true], 'the same result arriving twice is taken once');
    const r1 = await running;
    assert.equal(r1.ok, true);
    assert.deepEqual(fs.readdirSync(outDir), ['one_1.0-k1_all.deb']);
    assert.match(fs.readFileSync(input(id1).logFile, 'utf8'), /queued for a remote worker/);

    // A .deb that does not carry the build identity is refused: the build counts as failed.
    const id2 = '2'.repeat(64);
    const second = m.execute(input(id2));
    const key2 = jobKey(jail.identity, 'misc/one', id2);
    for (let i = 0; i < 200 && !(await q.getJob(key2)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await post(await result(key2, await makeDeb('f'.repeat(64))))).accepted, true);
    const r2 = await second;
    assert.equal(r2.ok, false);
    assert.match(r2.reason ?? '', /identity/);

    // A job Redis loses (a restart) is queued again by the watchdog.
    const id3 = '3'.repeat(64);
    const third = m.execute(input(id3));
    const key3 = jobKey(jail.identity, 'misc/one', id3);
    for (let i = 0; i < 200 && !(await q.getJob(key3)); i++) await new Promise((r) => setTimeout(r, 100));
    await redis.restart();
    let back = false;
    for (let i = 0; i < 300 && !back; i++) {
      back = (await q.getJob(key3).catch(() => undefined)) !== undefined;
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(back, 'the lost job is back on the queue');
    assert.equal((await post(await result(key3, await makeDeb(id3)))).accepted, true);
    assert.equal((await third).ok, true);
  } finally {
    await q.close();
    await m.close();
  }
});

/** A request the way apt sends it to its HTTP proxy: absolute-form target, credentials in Proxy-Authorization. */
function viaProxy(proxy: string, target: string, password?: string): Promise<{ status: number; body: string }> {
  const u = new URL(proxy);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: Number(u.port),
        method: 'GET',
        path: target,
        headers: password
          ? { 'proxy-authorization': `Basic ${Buffer.from(`kiln:${password}`).toString('base64')}` }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test("the master is apt's proxy for its jail's archive only, with the token as password", {
  timeout: 120_000,
}, async () => {
  const home = mkdtemp('kiln-dist-aptproxy-');
  const jailRoot = mkdtemp('kiln-dist-aptproxy-jail-');
  const mirror = hostMirror();
  fs.mkdirSync(path.join(jailRoot, 'etc/apt'), { recursive: true });
  fs.writeFileSync(path.join(jailRoot, 'etc/apt/sources.list'), `deb ${mirror} bookworm main\n`);
  const jail = {
    name: 'bookworm',
    release: 'bookworm',
    arch: 'amd64',
    mirror,
    path: jailRoot,
    identity: 'p'.repeat(64),
    manifestHash: '',
    created: '',
    updated: '',
  };
  const m = await startDistMaster({
    home,
    redisUrl: redis.url,
    jail,
    listen: '127.0.0.1:0',
    token: 'proxy-token-1',
    watchMs: 500,
  });
  try {
    const release = `${mirror}/dists/bookworm/Release`;
    assert.equal((await viaProxy(m.url, release)).status, 407, 'no credentials: proxy authentication required');
    assert.equal((await viaProxy(m.url, release, 'wrong')).status, 407);
    const ok = await viaProxy(m.url, release, 'proxy-token-1');
    assert.equal(ok.status, 200, ok.body.slice(0, 300));
    assert.match(ok.body, /^Codename: bookworm$/m);
    assert.equal(
      (await viaProxy(m.url, 'http://127.0.0.1:1/debian/dists/bookworm/Release', 'proxy-token-1')).status,
      403,
      'another host is refused',
    );
    assert.equal((await viaProxy(m.url, `${mirror}/../etc/passwd`, 'proxy-token-1')).status, 403);
    assert.equal(
      (await fetch(`${m.url}/dist/blobs/${'0'.repeat(64)}`, { headers: { authorization: 'Bearer proxy-token-1' } }))
        .status,
      404,
      'the ordinary endpoint still works beside the proxy',
    );
  } finally {
    await m.close();
  }
});

test('a worker that fails the same job repeatedly takes itself out of rotation and is shown', {
  timeout: 120_000,
}, async () => {
  const home = mkdtemp('kiln-dist-rot-');
  const jailRoot = mkdtemp('kiln-dist-rot-jail-');
  fs.mkdirSync(path.join(jailRoot, 'usr'), { recursive: true });
  const tree = mkdtemp('kiln-dist-rot-tree-');
  scriptPort(tree, 'misc/two');
  const port = loadPort(path.join(tree, 'misc/two'), 'misc/two', 'test').port!;
  const jail = {
    name: 'bookworm',
    release: 'bookworm',
    arch: 'amd64',
    mirror: '',
    path: jailRoot,
    identity: 'r'.repeat(64),
    manifestHash: '',
    created: '',
    updated: '',
  };
  const m = await startDistMaster({
    home,
    redisUrl: redis.url,
    jail,
    listen: '127.0.0.1:0',
    token: 'right-token-123',
    watchMs: 500,
  });
  // Its token is wrong: every download is refused, so the job fails on this worker every time.
  const w = await startWorker({
    redisUrl: redis.url,
    home: mkdtemp('kiln-dist-rot-w-'),
    token: 'wrong-token-123',
    id: 'broken',
    slots: 1,
    lockMs: 5000,
  });
  try {
    const pending = m.execute({
      home,
      jail: { name: 'bookworm', path: jailRoot, arch: 'amd64', release: 'bookworm' },
      port,
      identity: '9'.repeat(64),
      options: {},
      depDebs: [],
      kilnRun: [],
      jobs: 1,
      limits: {},
      outDir: path.join(home, 'out'),
      logFile: path.join(home, 'two.log'),
      sourceDateEpoch: 1,
    });
    let view: { id: string; disabled?: string }[] = [];
    for (let i = 0; i < 300 && !view.some((x) => x.disabled); i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = ((await (await fetch(`${m.url}/api/workers`)).json()) as { workers: typeof view }).workers;
    }
    const broken = view.find((x) => x.id === 'broken');
    assert.ok(broken?.disabled, `the worker is shown out of rotation: ${JSON.stringify(view)}`);
    assert.match(broken.disabled, /misc\/two 2 times.*401/);
    assert.equal(await m.slots(), 0, 'its slots no longer count');
    await m.close();
    assert.equal((await pending).failure, 'aborted');
  } finally {
    await w.close();
    await m.close().catch(() => undefined);
  }
});

test('kiln bulk --redis with two kiln worker processes: both build, the repository has each package once', {
  timeout: 10 * 60_000,
}, async () => {
  const home = await testHome('kiln-dist-bulk-');
  tmp.push(home);
  const tree = mkdtemp('kiln-dist-tree-');
  const slow = 'sleep 2\nmkdir -p "$DESTDIR/usr/share/NAME"\necho NAME > "$DESTDIR/usr/share/NAME/NAME.txt"';
  for (const n of ['aa', 'bb', 'cc', 'dd', 'ee']) scriptPort(tree, `misc/${n}`, { script: slow.replaceAll('NAME', n) });
  scriptPort(tree, 'misc/top', {
    build: ['misc/aa'],
    run: ['misc/aa'],
    script: 'test -f /usr/share/aa/aa.txt\nmkdir -p "$DESTDIR/usr/share/top"\ntouch "$DESTDIR/usr/share/top/t"',
  });
  const workers: Child[] = [];
  try {
    for (const n of ['w1', 'w2']) {
      const wh = mkdtemp(`kiln-dist-${n}-`);
      workers.push(
        await spawnChild(
          process.execPath,
          [
            '--import',
            'tsx',
            path.join(REPO_ROOT, 'src/cli/bin.ts'),
            'worker',
            '--redis',
            redis.url,
            '--token',
            'bulk-token-1234',
            '--slots',
            '1',
            '--name',
            n,
            '--home',
            wh,
          ],
          { cwd: REPO_ROOT, env: { ...process.env, KILN_DIST_LOCK_MS: '6000' } },
        ),
      );
    }
    for (const w of workers) await w.waitFor(/serving kiln-build-amd64/, 60_000);
    assert.equal((await kiln(home, ['tree', 'add', 't', '--path', tree])).status, 0);
    const res = await kiln(
      home,
      ['bulk', '-j', 'bookworm', '-p', 't', '-a', '--redis', redis.url, '--dist-listen', '127.0.0.1:0'],
      { env: { ...process.env, KILN_DIST_TOKEN: 'bulk-token-1234' }, timeoutMs: 8 * 60_000 },
    );
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stderr, /2 worker slot\(s\) now/);
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
      ['misc/aa', 'misc/bb', 'misc/cc', 'misc/dd', 'misc/ee', 'misc/top'],
    );
    const done = workers.map((w) => [...w.output().matchAll(/done (misc\/\w+) ok/g)].map((m) => m[1]!));
    assert.ok(done[0]!.length > 0 && done[1]!.length > 0, `both workers built something: ${JSON.stringify(done)}`);
    assert.deepEqual(
      [...done[0]!, ...done[1]!].sort(),
      ['misc/aa', 'misc/bb', 'misc/cc', 'misc/dd', 'misc/ee', 'misc/top'],
      'each port built once',
    );
    const packages = fs.readFileSync(
      path.join(home, 'repos/bookworm-t/current/dists/bookworm/main/binary-amd64/Packages'),
      'utf8',
    );
    for (const n of ['aa', 'bb', 'cc', 'dd', 'ee', 'top'])
      assert.equal(packages.match(new RegExp(`^Package: ${n}$`, 'gm'))?.length, 1, `${n} once`);
    assert.match(
      fs.readFileSync(path.join(home, 'logs', String(bulkId), 'misc_top.log'), 'utf8'),
      /built on worker w[12]/,
    );
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(
      workers.map(async (w) => {
        let t: NodeJS.Timeout | undefined;
        await Promise.race([
          w.done,
          new Promise((r) => {
            t = setTimeout(r, 20_000);
          }),
        ]);
        clearTimeout(t);
      }),
    );
    for (const w of workers) w.kill('SIGKILL');
  }
});

test('the master killed mid-bulk and resumed (kiln bulk --resume --redis): no finished build lost, none built twice', {
  timeout: 10 * 60_000,
}, async () => {
  const home = await testHome('kiln-dist-resume-');
  tmp.push(home);
  const tree = mkdtemp('kiln-dist-resume-tree-');
  const ports = ['r/p1', 'r/p2', 'r/p3', 'r/p4', 'r/p5', 'r/p6'];
  for (const o of ports) {
    const n = o.split('/')[1]!;
    scriptPort(tree, o, {
      script: `sleep 3\nmkdir -p "$DESTDIR/usr/share/${n}"\necho ${n} > "$DESTDIR/usr/share/${n}/${n}.txt"`,
    });
  }
  assert.equal((await kiln(home, ['tree', 'add', 'rs', '--path', tree])).status, 0);
  const env = { ...process.env, KILN_DIST_TOKEN: 'resume-token-1234', KILN_DIST_LOCK_MS: '6000' };
  // The resumed master listens where the first one did: a job names the master's URL, so a build in flight hands
  // its result to whichever master runs there.
  const args = [
    'bulk',
    '-j',
    'bookworm',
    '-p',
    'rs',
    '-a',
    '--redis',
    redis.url,
    '--dist-listen',
    `127.0.0.1:${await freePort()}`,
    '--home',
    home,
  ];
  const bin = path.join(REPO_ROOT, 'src/cli/bin.ts');
  const worker = await spawnChild(
    process.execPath,
    [
      '--import',
      'tsx',
      bin,
      'worker',
      '--redis',
      redis.url,
      '--slots',
      '1',
      '--name',
      'wr',
      '--home',
      mkdtemp('kiln-dist-resume-w-'),
    ],
    { cwd: REPO_ROOT, env },
  );
  let master: Child | undefined;
  const rows = (): Map<string, BuildRow> => {
    const st = openStore(home);
    try {
      const b = st.bulks.listBulks({ limit: 1 })[0];
      return new Map(b ? st.bulks.builds(b.id).map((r) => [r.origin, r]) : []);
    } finally {
      st.close();
    }
  };
  try {
    await worker.waitFor(/serving kiln-build-amd64/, 60_000);
    master = await spawnChild(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: REPO_ROOT, env });
    // Kill the master (SIGKILL) once two ports are built and the worker is in the middle of another.
    let before = new Map<string, BuildRow>();
    for (let i = 0; i < 900; i++) {
      before = rows();
      const built = ports.filter((o) => before.get(o)?.result === 'built').length;
      const out = worker.output();
      const building = [...out.matchAll(/\] building (\S+) /g)].map((m) => m[1]!);
      const doneHere = [...out.matchAll(/\] done (\S+) /g)].map((m) => m[1]!);
      if (built >= 2 && building.length > doneHere.length) break;
      assert.ok(
        !master.output().includes(' done in '),
        `the bulk ended before the master could be killed:\n${master.output()}`,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    const doneBefore = ports.filter((o) => before.get(o)?.result === 'built');
    assert.ok(doneBefore.length >= 2 && doneBefore.length < ports.length, `killed with ${doneBefore.length} built`);
    master.kill('SIGKILL');
    await master.done;

    const resumed = await kiln(
      home,
      [...args.filter((a, i) => a !== '--home' && args[i - 1] !== '--home'), '--resume'],
      { env, timeoutMs: 6 * 60_000 },
    );
    assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, /\(resumed\)/);
    const after = rows();
    for (const o of ports) assert.equal(after.get(o)?.result, 'built', o);
    // Finished before the kill: the same row, and the worker never built it again.
    const out = worker.output();
    for (const o of doneBefore) {
      const [b, a] = [before.get(o)!, after.get(o)!];
      assert.deepEqual([a.id, a.started, a.finished], [b.id, b.started, b.finished], `${o} was not rebuilt`);
      assert.equal(
        [...out.matchAll(new RegExp(`\\] building ${o.replace('/', '\\/')} `, 'g'))].length,
        1,
        `${o} built once:\n${out}`,
      );
    }
    const packages = fs.readFileSync(
      path.join(home, 'repos/bookworm-rs/current/dists/bookworm/main/binary-amd64/Packages'),
      'utf8',
    );
    for (const o of ports)
      assert.equal(packages.match(new RegExp(`^Package: ${o.split('/')[1]}$`, 'gm'))?.length, 1, `${o} once`);
  } finally {
    master?.kill('SIGKILL');
    worker.kill('SIGTERM');
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      worker.done,
      new Promise((r) => {
        t = setTimeout(r, 20_000);
      }),
    ]);
    clearTimeout(t);
    worker.kill('SIGKILL');
  }
});
