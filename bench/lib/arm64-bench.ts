/**
 * bench/arm64: the example tree (examples/ports, examples/pkglist.txt) built with `kiln bulk` twice from scratch:
 * in the native amd64 test jail and in the arm64 test jail under qemu-user. Prints both wall times, the ratio, and
 * the build time of each port and of each build phase (summed over ports), and the load average during each run.
 * Options: --jobs N (default 2), --list FILE.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkArch } from '../../src/jail/index.js';
import { openStore } from '../../src/store/index.js';
import { REPO_ROOT, kiln, testHome } from '../../src/bulk/testing.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '2' }, list: { type: 'string' } } });
const list = path.resolve(values.list ?? path.join(REPO_ROOT, 'examples/pkglist.txt'));

interface Run {
  arch: string;
  wallS: number;
  status: number | null;
  ports: { origin: string; result: string; seconds: number }[];
  /** Seconds per build phase, summed over the ports (from the bulk's events.jsonl). */
  phases: Map<string, number>;
  /** 1-minute load average sampled every 15 s during the run. */
  load: { mean: number; max: number };
}

/** Seconds per phase summed over ports: each `port-phase` lasts until the port's next phase or its `port-done`. */
function phaseSeconds(eventsFile: string): Map<string, number> {
  const sums = new Map<string, number>();
  const open = new Map<string, { phase: string; t: number }>();
  let text = '';
  try {
    text = fs.readFileSync(eventsFile, 'utf8');
  } catch {
    return sums;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { type: string; origin?: string; phase?: string; t: number };
    if ((e.type !== 'port-phase' && e.type !== 'port-done') || e.origin === undefined) continue;
    const was = open.get(e.origin);
    if (was) sums.set(was.phase, (sums.get(was.phase) ?? 0) + (e.t - was.t) / 1000);
    if (e.type === 'port-phase') open.set(e.origin, { phase: e.phase!, t: e.t });
    else open.delete(e.origin);
  }
  return sums;
}

async function bulk(arch: string): Promise<Run> {
  const home = await testHome(`kiln-bench-${arch}-`, { jail: { arch }, name: arch });
  try {
    const samples: number[] = [os.loadavg()[0]!];
    const sampler = setInterval(() => samples.push(os.loadavg()[0]!), 15_000);
    const t0 = Date.now();
    const r = await kiln(
      home,
      ['bulk', '-j', arch, '-p', path.join(REPO_ROOT, 'examples/ports'), '-f', list, '-J', values.jobs!],
      { timeoutMs: 6 * 3600_000 },
    );
    const wallS = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const load = { mean: samples.reduce((a, b) => a + b, 0) / samples.length, max: Math.max(...samples) };
    const st = openStore(home);
    try {
      const id = st.bulks.listBulks({ limit: 1 })[0]?.id;
      const rows = id === undefined ? [] : st.bulks.builds(id);
      return {
        arch,
        wallS,
        status: r.status,
        load,
        phases: id === undefined ? new Map() : phaseSeconds(path.join(home, 'logs', String(id), 'events.jsonl')),
        ports: rows.map((b) => ({
          origin: b.origin,
          result: b.result ?? '?',
          seconds: b.started && b.finished ? (Date.parse(b.finished) - Date.parse(b.started)) / 1000 : 0,
        })),
      };
    } finally {
      st.close();
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await checkArch('arm64');
console.log(
  `bench/arm64: kiln bulk of ${path.relative(REPO_ROOT, list)} from scratch, -J ${values.jobs}, on ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
);
const native = await bulk('amd64');
const emulated = await bulk('arm64');
for (const r of [native, emulated]) {
  console.log(
    `${r.arch.padEnd(6)} ${r.arch === 'arm64' ? '(qemu-user)' : '(native)   '} wall ${r.wallS.toFixed(1)} s, exit ${r.status}, ` +
      `${r.ports.filter((p) => p.result === 'built').length} built, ${r.ports.filter((p) => p.result === 'failed').length} failed, ` +
      `load mean ${r.load.mean.toFixed(1)} max ${r.load.max.toFixed(1)}`,
  );
}
console.log(`emulated / native wall time: ${(emulated.wallS / native.wallS).toFixed(1)}x`);
console.log('port                          amd64 s   arm64 s   ratio');
for (const p of native.ports) {
  const e = emulated.ports.find((x) => x.origin === p.origin);
  console.log(
    `${p.origin.padEnd(28)} ${p.seconds.toFixed(1).padStart(8)} ${(e ? `${e.seconds.toFixed(1)}${e.result === 'built' ? '' : ` ${e.result}`}` : '-').padStart(9)} ${e && p.seconds > 0 ? (e.seconds / p.seconds).toFixed(1).padStart(7) : ''}`,
  );
}
console.log('phase (summed over ports)     amd64 s   arm64 s   ratio');
for (const [phase, a] of native.phases) {
  const e = emulated.phases.get(phase) ?? 0;
  console.log(
    `${phase.padEnd(28)} ${a.toFixed(1).padStart(8)} ${e.toFixed(1).padStart(9)} ${a > 0 ? (e / a).toFixed(1).padStart(7) : ''}`,
  );
}
