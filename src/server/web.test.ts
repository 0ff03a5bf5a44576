/**
 * The page, its JSON API, logs, reports, actions and live streams, against a home holding one finished bulk and one
 * "running" bulk (owned by this process) written through the real store.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { openStore } from '../store/index.js';
import { fixtureHome, type Fixture } from '../report/testing.js';
import { buildServer } from './index.js';

let fx: Fixture;
let app: FastifyInstance;
const launched: string[][] = [];
const TOKEN = 'test-token-0123456789';

before(async () => {
  fx = fixtureHome();
  fs.writeFileSync(path.join(fx.dir, 'secret.txt'), 'secret\n');
  fs.symlinkSync(path.join(fx.dir, 'secret.txt'), path.join(fx.home, 'logs', String(fx.done), 'leak.log'));
  app = await buildServer({ home: fx.home, live: { pollMs: 100, statusMs: 200 } });
});

after(async () => {
  await app.close();
  fs.rmSync(fx.dir, { recursive: true, force: true });
});

test("API: the bulks list, a bulk's full state, a port of a bulk with its log info, a port's history", async () => {
  const list = (await app.inject({ url: '/api/bulks' })).json() as {
    id: number;
    status: string;
    counts: Record<string, number>;
  }[];
  assert.deepEqual(
    list.map((b) => [b.id, b.status]),
    [
      [fx.running, 'running'],
      [fx.done, 'failed'],
    ],
  );
  assert.equal(list[1]!.counts.built, 1);
  const one = await app.inject({ url: '/api/bulks?tree=main' });
  assert.deepEqual(
    (one.json() as { id: number }[]).map((b) => b.id),
    [fx.done],
  );

  const s = (await app.inject({ url: `/api/bulks/${fx.done}` })).json() as {
    ports: { origin: string; result: string; phase?: string }[];
    generation: number;
  };
  assert.deepEqual(
    s.ports.map((x) => [x.origin, x.result]),
    [
      ['misc/a', 'built'],
      ['misc/fail', 'failed'],
      ['misc/after', 'skipped'],
      ['misc/old', 'kept'],
    ],
  );
  assert.equal(s.ports[1]!.phase, 'build');
  assert.equal(s.generation, 3);

  const p = (await app.inject({ url: `/api/bulks/${fx.done}/ports/misc/fail` })).json() as {
    log: { firstErrorLine: number; url: string };
  };
  assert.equal(p.log.firstErrorLine, 3, 'the failed log opens at the compiler error');
  assert.equal(p.log.url, `/api/bulks/${fx.done}/ports/misc/fail/log`);

  const h = (await app.inject({ url: '/api/ports/misc/fail' })).json() as {
    history: { bulkId: number; result: string; jail: string }[];
  };
  assert.deepEqual(
    h.history.map((r) => [r.bulkId, r.result, r.jail]),
    [[fx.done, 'failed', 'bookworm']],
  );
});

test('missing bulk, port or log: 404; malformed ids and origins: 400', async () => {
  const cases: [string, number][] = [
    ['/api/bulks/999', 404],
    ['/api/bulks/abc', 400],
    ['/api/bulks/0', 400],
    ['/api/bulks/999/events', 404],
    [`/api/bulks/${fx.done}/ports/misc/nope`, 404],
    [`/api/bulks/${fx.done}/ports/misc/old/log`, 404],
    [`/api/bulks/${fx.done}/ports/misc/after/log`, 404],
    ['/api/bulks/999/ports/misc/a/log', 404],
    [`/api/bulks/${fx.done}/ports/mi$c/a`, 400],
    ['/api/ports/misc/never', 404],
    ['/logs/1/none.log', 404],
    ['/api/bulks/999/report.json', 404],
    ['/bulks/999/report.html', 404],
    ['/static/nope.js', 404],
  ];
  for (const [url, status] of cases) assert.equal((await app.inject({ url })).statusCode, status, url);
  // A log file that went missing.
  fs.renameSync(path.join(fx.home, 'logs', String(fx.done), 'misc_a.log'), path.join(fx.dir, 'moved.log'));
  try {
    assert.equal((await app.inject({ url: `/api/bulks/${fx.done}/ports/misc/a/log` })).statusCode, 404);
  } finally {
    fs.renameSync(path.join(fx.dir, 'moved.log'), path.join(fx.home, 'logs', String(fx.done), 'misc_a.log'));
  }
});

test('logs are text/plain with nosniff, never HTML, even when they contain markup', async () => {
  for (const url of [`/api/bulks/${fx.done}/ports/misc/fail/log`, `/logs/${fx.done}/misc_fail.log`]) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 200, url);
    assert.match(String(r.headers['content-type']), /^text\/plain; charset=utf-8/, url);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  }
  const r = await app.inject({ url: `/api/bulks/${fx.done}/ports/misc/fail/log` });
  assert.match(r.body, /compiling <b>bold<\/b>/);
});

test('path traversal under /logs and the API never leaves HOME/logs (dots, encoded dots, symlinks)', async () => {
  const attempts = [
    `/logs/${fx.done}/../../secret.txt`,
    '/logs/%2e%2e/secret.txt',
    `/logs/${fx.done}/%2E%2E/%2e%2e/secret.txt`,
    '/logs/..%2f..%2fsecret.txt',
    `/logs/${fx.done}/leak.log`,
    '/logs/../kiln.db',
    '/logs/%2e%2e%2fkiln.db',
    `/api/bulks/${fx.done}/ports/..%2f../secret/log`,
    `/api/bulks/${fx.done}/ports/%2e%2e/%2e%2e/log`,
    `/logs/${fx.done}/misc_a.log%00.txt`,
    '/logs/..\\..\\secret.txt',
    '/static/..%2fapp.js',
    '/static/../../package.json',
    `/api/bulks/${fx.done}/ports/misc/fail/log/..%2f..%2f..%2f..%2fsecret.txt`,
  ];
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  for (const url of attempts) {
    const r = await rawGet(port, url);
    assert.ok(r.status === 400 || r.status === 404, `${url} answered ${r.status}`);
    assert.doesNotMatch(r.body, /^secret$/m, url);
    assert.doesNotMatch(r.body, /SQLite format/, url);
  }
});

test('pages: every page URL answers the HTML shell with a strict CSP; the first load stays under 200 KB', async () => {
  let total = 0;
  for (const url of [
    '/',
    `/bulks/${fx.done}`,
    `/bulks/${fx.done}/ports/misc/fail`,
    '/ports/misc/a',
    '/repos',
    '/repos/bookworm-main',
  ]) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 200, url);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
    if (url === '/') total += r.rawPayload.length;
  }
  for (const a of ['app.js', 'app.css', 'favicon.svg']) {
    const r = await app.inject({ url: `/static/${a}` });
    assert.equal(r.statusCode, 200, a);
    total += r.rawPayload.length;
  }
  assert.ok(total < 200 * 1024, `first load is ${total} bytes`);
  const rep = await app.inject({ url: `/bulks/${fx.done}/report.html` });
  assert.equal(rep.statusCode, 200);
  assert.match(rep.body, /misc\/fail/);
  const rj = (await app.inject({ url: `/api/bulks/${fx.done}/report.json` })).json() as {
    failed: { origin: string }[];
  };
  assert.deepEqual(
    rj.failed.map((f) => f.origin),
    ['misc/fail'],
  );
});

test('read-only by default: actions do not exist without --token; with it they require the bearer token', async () => {
  assert.equal(
    (await app.inject({ method: 'POST', url: '/api/bulks', payload: { jail: 'bookworm', tree: 'main', all: true } }))
      .statusCode,
    404,
  );
  assert.equal((await app.inject({ method: 'POST', url: `/api/bulks/${fx.running}/cancel` })).statusCode, 404);
  assert.deepEqual((await app.inject({ url: '/api' })).json(), { actions: false });

  const armed = await buildServer({
    home: fx.home,
    token: TOKEN,
    launch: async (args) => {
      launched.push([...args]);
      return 4242;
    },
  });
  try {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal(
      (
        await armed.inject({
          method: 'POST',
          url: '/api/bulks',
          payload: { jail: 'bookworm', tree: 'main', all: true },
        })
      ).statusCode,
      401,
    );
    assert.equal(
      (
        await armed.inject({
          method: 'POST',
          url: '/api/bulks',
          headers: { authorization: 'Bearer wrong-token-xx' },
          payload: { all: true },
        })
      ).statusCode,
      401,
    );
    assert.equal(
      (
        await armed.inject({
          method: 'POST',
          url: '/api/bulks',
          headers: auth,
          payload: { jail: '../x', tree: 'main', all: true },
        })
      ).statusCode,
      400,
    );
    const ok = await armed.inject({
      method: 'POST',
      url: '/api/bulks',
      headers: auth,
      payload: { jail: 'bookworm', tree: 'main', origins: ['misc/a'], builders: 2 },
    });
    assert.equal(ok.statusCode, 202);
    assert.deepEqual(launched.at(-1), ['bulk', '-j', 'bookworm', '-p', 'main', '-J', '2', 'misc/a']);
    const retry = await armed.inject({
      method: 'POST',
      url: `/api/bulks/${fx.done}/ports/misc/fail/retry`,
      headers: auth,
    });
    assert.equal(retry.statusCode, 202);
    assert.deepEqual(launched.at(-1), ['bulk', '-j', 'bookworm', '-p', 'main', 'misc/fail']);
    assert.equal(
      (await armed.inject({ method: 'POST', url: `/api/bulks/${fx.done}/ports/misc/a/retry`, headers: auth }))
        .statusCode,
      409,
    );
    assert.equal(
      (await armed.inject({ method: 'POST', url: `/api/bulks/${fx.done}/cancel`, headers: auth })).statusCode,
      409,
    );
    assert.equal((await armed.inject({ method: 'POST', url: '/api/bulks/999/cancel', headers: auth })).statusCode, 404);
    assert.equal(launched.length, 2);
    // Reading stays open to everyone.
    assert.equal((await armed.inject({ url: '/api/bulks' })).statusCode, 200);
  } finally {
    await armed.close();
  }
});

test('live: a client connecting mid-bulk gets the whole state, then each appended event; a running log tails', async () => {
  const port =
    (app.server.address() as AddressInfo | null)?.port ??
    (await app.listen({ host: '127.0.0.1', port: 0 }), (app.server.address() as AddressInfo).port);
  const sse = openEvents(port, `/api/bulks/${fx.running}/events`);
  try {
    const snap = JSON.parse((await sse.next('snapshot')).data) as {
      queue: string[];
      ports: { origin: string; result: string }[];
    };
    assert.deepEqual(snap.queue, ['misc/q1', 'misc/q2']);
    assert.equal(snap.ports.find((p) => p.origin === 'misc/slow')!.result, 'running');
    fx.append(fx.running, [{ type: 'port-phase', t: Date.now(), origin: 'misc/slow', builder: 1, phase: 'configure' }]);
    const e1 = JSON.parse((await sse.next('bulk')).data) as { type: string; phase: string };
    assert.deepEqual([e1.type, e1.phase], ['port-phase', 'configure']);
    fx.append(fx.running, [
      { type: 'port-done', t: Date.now(), origin: 'misc/slow', builder: 1, ok: true, wallS: 1 },
      { type: 'port-start', t: Date.now(), origin: 'misc/q1', builder: 1, jobs: 1, expectedS: 5 },
    ]);
    const types = [JSON.parse((await sse.next('bulk')).data).type, JSON.parse((await sse.next('bulk')).data).type];
    assert.deepEqual(types, ['port-done', 'port-start']);
    // A second client now gets the state with those moves applied.
    const late = openEvents(port, `/api/bulks/${fx.running}/events`);
    try {
      const s2 = JSON.parse((await late.next('snapshot')).data) as {
        queue: string[];
        ports: { origin: string; result: string; builder?: number }[];
      };
      assert.deepEqual(s2.queue, ['misc/q2']);
      assert.equal(s2.ports.find((p) => p.origin === 'misc/slow')!.result, 'built');
      assert.equal(s2.ports.find((p) => p.origin === 'misc/q1')!.result, 'running');
    } finally {
      late.close();
    }
  } finally {
    sse.close();
  }

  // The running port's log tails live and ends when the port is done.
  const store = openStore(fx.home);
  const logFile = path.join(fx.home, 'logs', String(fx.running), 'misc_slow.log');
  store.bulks.setBuild(fx.running, 'misc/slow', { result: 'running' });
  const tail = openEvents(
    port,
    `/api/bulks/${fx.running}/ports/misc/slow/log/stream?from=${fs.statSync(logFile).size}`,
  );
  try {
    fs.appendFileSync(logFile, '[t] compiling hello.c\n');
    const l = JSON.parse((await tail.next('log')).data) as { text: string };
    assert.equal(l.text, '[t] compiling hello.c\n');
    store.bulks.setBuild(fx.running, 'misc/slow', { result: 'built' });
    const end = JSON.parse((await tail.next('end')).data) as { result: string };
    assert.equal(end.result, 'built');
  } finally {
    tail.close();
    store.close();
  }
});

/** A minimal SSE client over a raw socket: `next(type)` waits (bounded) for the next message of that type. */
function openEvents(port: number, url: string) {
  const queue: { event: string; data: string }[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  const req = http.get({ host: '127.0.0.1', port, path: url }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (ev) queue.push({ event: ev, data });
      }
      for (const w of waiters.splice(0)) w();
    });
  });
  req.on('error', () => undefined);
  return {
    async next(type: string): Promise<{ event: string; data: string }> {
      for (let i = 0; i < 400; i++) {
        const at = queue.findIndex((m) => m.event === type);
        if (at >= 0) return queue.splice(at, 1)[0]!;
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      throw new Error(`no ${type} event on ${url}`);
    },
    close(): void {
      req.destroy();
    },
  };
}

function rawGet(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
