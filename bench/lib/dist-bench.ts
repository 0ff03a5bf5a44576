/**
 * bench/dist: a bulk of DIST_PORTS (200) generated small script ports (chains of 10, so dependency `.deb`s travel
 * too) through `kiln bulk --redis` with 1 and then 2 `kiln worker` processes (1 slot each, own homes, a private
 * redis-server on 127.0.0.1), on the shared test jail. Prints the wall time of each bulk and the per-job overhead of
 * going through the queue, two ways:
 * - the master's account (a `dist:` line in each port's log): from `execute` being called to the checked result,
 *   minus the worker's `buildPort` call, split into prepare (distfiles, blobs, queue add), queue (until a worker takes
 *   it), inputs (jail, port folder, dependency `.deb`s on the worker), upload, post (result to the master) and check;
 * - the bulk's view (events.jsonl port-start → port-done minus the build's wallMs), which adds what the runner does
 *   around every build, local or remote (dependency soname map, ABI hash of the new `.deb`, SQLite rows) and the
 *   sandbox teardown.
 * Each worker's first job also pays the jail transfer (pack once on the master, unpack once per worker), left out.
 * Environment: DIST_PORTS (200), DIST_WORKERS ("1 2"), DIST_LOCAL=1 also runs the same bulk locally (-J N).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, kiln, scriptPort, testHome } from '../../src/bulk/testing.js';
import type { BulkEvent } from '../../src/bulk/index.js';
import { spawnChild, startRedis, type Child } from '../../src/dist/testing.js';

const N = Number(process.env.DIST_PORTS ?? 200);
const WORKERS = (process.env.DIST_WORKERS ?? '1 2').split(/\s+/).filter(Boolean).map(Number);
const TOKEN = 'bench-dist-token-0123456789';
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};

const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-dist-tree-'));
for (let i = 0; i < N; i++) {
  const name = `p${String(i).padStart(4, '0')}`;
  const dep = i % 10 === 0 ? [] : [`gen/p${String(i - 1).padStart(4, '0')}`];
  scriptPort(tree, `gen/${name}`, { build: dep, run: dep });
}
console.log(
  `bench/dist: ${N} generated script ports (chains of 10), ${os.availableParallelism()} cores, load at start ${load()}`,
);
const redis = await startRedis();
const cleanup: string[] = [tree];
try {
  for (const nw of WORKERS) {
    const home = await testHome('kiln-bench-dist-');
    cleanup.push(home);
    if ((await kiln(home, ['tree', 'add', 'gen', '--path', tree])).status !== 0) throw new Error('tree add failed');
    if (process.env.DIST_LOCAL === '1') {
      const t0 = Date.now();
      const loc = await kiln(home, ['bulk', '-j', 'bookworm', '-p', 'gen', '-a', '-C', '-J', String(nw)]);
      if (loc.status !== 0) throw new Error(loc.stdout + loc.stderr);
      console.log(
        `  local -J ${nw}: ${((Date.now() - t0) / 1000).toFixed(1)} s wall (${((Date.now() - t0) / N).toFixed(0)} ms per port)`,
      );
    }
    const workers: Child[] = [];
    try {
      for (let i = 0; i < nw; i++) {
        const wh = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-dist-w-'));
        cleanup.push(wh);
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
              TOKEN,
              '--slots',
              '1',
              '--name',
              `bench-w${i + 1}`,
              '--home',
              wh,
            ],
            { cwd: REPO_ROOT },
          ),
        );
      }
      for (const w of workers) await w.waitFor(/serving kiln-build-amd64/, 120_000);
      const t0 = Date.now();
      const res = await kiln(
        home,
        ['bulk', '-j', 'bookworm', '-p', 'gen', '-a', '-C', '--redis', redis.url, '--dist-listen', '127.0.0.1:0'],
        { env: { ...process.env, KILN_DIST_TOKEN: TOKEN } },
      );
      const wall = (Date.now() - t0) / 1000;
      if (res.status !== 0) throw new Error(res.stdout + res.stderr);
      const bulkId = Math.max(
        ...fs
          .readdirSync(path.join(home, 'logs'))
          .filter((d) => /^\d+$/.test(d))
          .map(Number),
      );
      const events = fs
        .readFileSync(path.join(home, 'logs', String(bulkId), 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as BulkEvent);
      const starts = new Map<string, number>();
      const overhead: number[] = [];
      const build: number[] = [];
      let first = Infinity;
      for (const e of events) {
        if (e.type === 'port-start') {
          starts.set(e.origin, e.t);
          first = Math.min(first, e.t);
        }
        if (e.type === 'port-done' && e.ok) {
          const total = e.t - starts.get(e.origin)!;
          overhead.push(total - e.wallS * 1000);
          build.push(e.wallS * 1000);
        }
      }
      // The jail transfer happens inside the first jobs' overhead; leave out each worker's first job.
      // The master's own account, per job (a line in each port's log): prepare, queue, inputs, upload, post, check.
      const parts = new Map<string, number[]>();
      for (const f of fs.readdirSync(path.join(home, 'logs', String(bulkId))).filter((x) => x.endsWith('.log'))) {
        const m = /dist: (\d+) ms outside the build \(([^;)]*)/.exec(
          fs.readFileSync(path.join(home, 'logs', String(bulkId), f), 'utf8'),
        );
        if (!m) continue;
        for (const kv of [`overhead ${m[1]}`, ...m[2]!.replace(/ ms$/, '').split(', ')]) {
          const [k, v] = kv.split(' ');
          if (!parts.has(k!)) parts.set(k!, []);
          parts.get(k!)!.push(Number(v));
        }
      }
      const jailMs = workers
        .map((w) => /jail bookworm ready in ([\d.]+) s/.exec(w.output())?.[1])
        .filter(Boolean)
        .map(Number);
      const steady = overhead.slice(nw);
      const mean = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length);
      console.log(
        `  ${nw} worker(s): ${wall.toFixed(1)} s wall for ${N} ports (${((wall * 1000) / N).toFixed(0)} ms per port); ` +
          `build on the worker median ${pct(build, 0.5).toFixed(0)} ms; bulk's view of the per-job overhead (excluding each worker's first job, which ` +
          `waits for the jail: unpack ${jailMs.map((x) => `${x} s`).join(', ')}) mean ${mean.toFixed(0)} ms, median ${pct(steady, 0.5).toFixed(0)} ms, ` +
          `p95 ${pct(steady, 0.95).toFixed(0)} ms, max ${Math.max(...steady).toFixed(0)} ms; load now ${load()}`,
      );
      console.log(
        `    master's account (${parts.get('prepare')?.length ?? 0} jobs, all included), median per part: ` +
          `${[...parts.entries()].map(([k, v]) => `${k} ${pct(v, 0.5)}`).join(', ')} ms; p95: ${[...parts.entries()].map(([k, v]) => `${k} ${pct(v, 0.95)}`).join(', ')} ms`,
      );
      const summary = /dist: \d+ job\(s\), overhead per job outside the build: .*/.exec(res.stderr)?.[0];
      if (summary) console.log(`    ${summary}`);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      for (const w of workers) {
        let t: NodeJS.Timeout | undefined;
        await Promise.race([
          w.done,
          new Promise((r) => {
            t = setTimeout(r, 20_000);
          }),
        ]);
        clearTimeout(t);
        w.kill('SIGKILL');
      }
    }
  }
  console.log('  goal: per-job overhead under 100 ms');
} finally {
  await redis.stop();
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
}
