/**
 * bench/web: many SSE clients on one bulk of many simulated ports. `kiln serve` runs as its own process (as in real
 * use) over a home whose store holds the bulk's rows; this process appends events to the bulk's journal at a steady
 * rate and holds the clients. Measured: the server's CPU (from /proc/PID/stat) while streaming, the time for every
 * client to get its snapshot, and for each event the delay until the *last* client received it.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/util/exec.js';
import { openStore } from '../../src/store/index.js';
import { processStart } from '../../src/bulk/index.js';
import { REPO_ROOT } from '../../src/bulk/testing.js';

const CLIENTS = Number(process.env.WEB_CLIENTS ?? 200);
const PORTS = Number(process.env.WEB_PORTS ?? 5000);
const RATE = Number(process.env.WEB_RATE ?? 100);
const SECONDS = Number(process.env.WEB_SECONDS ?? 60);
const BUILDERS = 16;

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
const HZ = 100;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-web-'));
  const home = path.join(dir, 'home');
  const store = openStore(home);
  const bulk = store.bulks.startBulk({
    jail: 'bookworm',
    tree: 'bench',
    pid: process.pid,
    pidStart: processStart(process.pid) ?? '',
    builders: BUILDERS,
    request: {},
  });
  const origins = Array.from({ length: PORTS }, (_, i) => `cat${Math.floor(i / 100)}/port${i}`);
  store.transaction(() => {
    for (const o of origins) store.bulks.setBuild(bulk.id, o, { result: 'queued', reasons: ['new'] });
  });
  store.close();
  const journal = path.join(home, 'logs', String(bulk.id), 'events.jsonl');
  fs.mkdirSync(path.dirname(journal), { recursive: true });
  const counts = { built: 0, failed: 0, skipped: 0, kept: 0, deleted: 0, remaining: PORTS };
  fs.writeFileSync(
    journal,
    `${JSON.stringify({ type: 'bulk-start', bulk: bulk.id, t: Date.now(), jail: 'bookworm', tree: 'bench', builders: BUILDERS, toBuild: PORTS, counts, resumed: false })}\n`,
  );

  // The server, as its own process.
  let serverPid = 0;
  let base = '';
  const ready = new Promise<void>((resolve) => {
    void run(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/bin.ts'), 'serve', '--listen', '127.0.0.1:0', '--home', home],
      {
        cwd: REPO_ROOT,
        allowFailure: true,
        onSpawn: (pid) => {
          serverPid = pid;
        },
        onOutput: (b) => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(b.toString());
          if (m && !base) {
            base = m[1]!;
            resolve();
          }
        },
      },
    ).catch(() => undefined);
  });
  await ready;
  const port = Number(new URL(base).port);

  // Clients.
  const received = new Map<number, { t: number; n: number; last: number }>();
  let snapshots = 0;
  let snapshotBytes = 0;
  const reqs: http.ClientRequest[] = [];
  const t0 = Date.now();
  let allSnapshotsAt = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 10 });
  for (let c = 0; c < CLIENTS; c++) {
    let buf = '';
    const req = http.get({ host: '127.0.0.1', port, path: `/api/bulks/${bulk.id}/events`, agent }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith('event: snapshot')) {
            snapshots++;
            snapshotBytes = block.length;
            if (snapshots === CLIENTS) allSnapshotsAt = Date.now();
          } else if (block.startsWith('event: bulk')) {
            const now = Date.now();
            const m = /"n":(\d+)/.exec(block);
            if (!m) continue;
            const r = received.get(Number(m[1]));
            if (r) {
              r.n++;
              r.last = Math.max(r.last, now);
            }
          }
        }
      });
    });
    req.on('error', () => undefined);
    reqs.push(req);
  }
  for (let i = 0; i < 600 && snapshots < CLIENTS; i++) await new Promise((r) => setTimeout(r, 100));
  const snapMs = (allSnapshotsAt || Date.now()) - t0;

  // Steady events: builders take ports in order; each port: start, 3 phases, done (+ progress every 10).
  const cpu0 = cpuTicks(serverPid);
  const w0 = Date.now();
  let n = 0;
  let next = 0;
  let done = 0;
  const running = new Map<number, { origin: string; step: number }>();
  const makeEvent = (): Record<string, unknown> => {
    const b = (n % BUILDERS) + 1;
    const cur = running.get(b);
    if (!cur) {
      const origin = origins[next++ % PORTS]!;
      running.set(b, { origin, step: 0 });
      return { type: 'port-start', origin, builder: b, jobs: 1, expectedS: 60 };
    }
    cur.step++;
    if (cur.step <= 3)
      return {
        type: 'port-phase',
        origin: cur.origin,
        builder: b,
        phase: ['configure', 'build', 'package'][cur.step - 1],
      };
    running.delete(b);
    done++;
    return {
      type: 'port-done',
      origin: cur.origin,
      builder: b,
      ok: done % 50 !== 0,
      wallS: 60,
      ...(done % 50 === 0 ? { phase: 'build', failure: 'build', reason: 'exit 2' } : {}),
    };
  };
  const total = RATE * SECONDS;
  const fd = fs.openSync(journal, 'a');
  const started = Date.now();
  for (let guard = 0; n < total && guard < total * 10; guard++) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
    let out = '';
    for (; n < due; n++) {
      const t = Date.now();
      received.set(n, { t, n: 0, last: 0 });
      out += `${JSON.stringify({ ...makeEvent(), bulk: bulk.id, t, n })}\n`;
    }
    if (out) fs.writeSync(fd, out);
    await new Promise((r) => setTimeout(r, 10));
  }
  fs.closeSync(fd);
  for (let i = 0; i < 300 && [...received.values()].some((r) => r.n < CLIENTS); i++)
    await new Promise((r) => setTimeout(r, 100));
  const wall = (Date.now() - w0) / 1000;
  const cpu = (cpuTicks(serverPid) - cpu0) / HZ;
  const rss = rssMiB(serverPid);
  const lat = [...received.values()].filter((r) => r.n === CLIENTS).map((r) => r.last - r.t);
  const missing = [...received.values()].filter((r) => r.n < CLIENTS).length;

  for (const r of reqs) r.destroy();
  agent.destroy();
  process.kill(serverPid, 'SIGTERM');
  console.log(
    `bench/web: ${CLIENTS} SSE clients, one bulk of ${PORTS} ports, ${total} events at ${RATE}/s over ${SECONDS}s; kiln serve as its own process; ${os.availableParallelism()} cores, load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `  snapshot: ${(snapshotBytes / 1024).toFixed(0)} KiB each, all ${snapshots}/${CLIENTS} clients had theirs after ${snapMs} ms`,
  );
  console.log(
    `  server CPU while streaming: ${cpu.toFixed(2)} s over ${wall.toFixed(1)} s wall = ${((cpu / wall) * 100).toFixed(1)}% of one core; RSS ${rss.toFixed(0)} MiB`,
  );
  console.log(
    `  event -> every client: p50 ${pct(lat, 50)} ms, p95 ${pct(lat, 95)} ms, p99 ${pct(lat, 99)} ms, max ${Math.max(...lat)} ms (goal < 1000 ms); events not seen by every client: ${missing}`,
  );
  await new Promise((r) => setTimeout(r, 500));
  fs.rmSync(dir, { recursive: true, force: true });
}

await main();
