/**
 * Measures the sandbox overhead per build (see bench/build-sandbox): mount, bwrap `true`, teardown, each timed,
 * over N runs on the shared test jail. Usage: node --import tsx bench/lib/sandbox-overhead.ts [N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testJail } from '../../src/jail/index.js';
import { createSandbox, readMounts, settleRemovals } from '../../src/sandbox/index.js';

const GOAL_MS = 50;
const runs = Number(process.argv[2] ?? 50);
/** Upper layer in a tmpfs of this many MiB (poudriere's USE_TMPFS), or on disk when 0. */
const tmpfsMiB = Number(process.argv[3] ?? 0);
/** `nouserns`: root inside is host root (the old way), for comparison; `disk`: a 4 GiB disk limit (loop ext4). */
const mode = process.argv[4] ?? '';
const jail = await testJail();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-sandbox-'));
const limits = { wallMs: 60_000, noOutputMs: 60_000, nproc: 1000, memoryBytes: 1 << 30, cpuSeconds: 60 };
const t = { mount: [] as number[], run: [] as number[], teardown: [] as number[], total: [] as number[] };
let cgroup = false;
try {
  for (let i = 0; i < runs + 3; i++) {
    const a = performance.now();
    const sb = await createSandbox({
      home,
      jail,
      label: 'bench',
      ...(tmpfsMiB > 0 ? { tmpfsBytes: tmpfsMiB << 20 } : {}),
      ...(mode === 'nouserns' ? { userns: false } : {}),
      ...(mode === 'disk' ? { limits: { diskBytes: 4096 * 1048576, files: 1 << 20 } } : {}),
    });
    const b = performance.now();
    await sb.run({ argv: ['true'], limits });
    const c = performance.now();
    await sb.teardown();
    const d = performance.now();
    cgroup = sb.hasCgroup;
    if (i < 3) continue; // warm-up
    t.mount.push(b - a);
    t.run.push(c - b);
    t.teardown.push(d - c);
    t.total.push(d - a);
  }
} finally {
  await settleRemovals();
  fs.rmSync(home, { recursive: true, force: true });
}
const leaked = readMounts().filter((m) => m.target.startsWith(home)).length;
const avg = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const pct = (xs: number[], p: number): number =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const f = (x: number): string => x.toFixed(1).padStart(6);
console.log(
  `sandbox overhead per build: ${runs} runs on jail ${jail.release}/${jail.arch} (${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}), cgroup limits ${cgroup ? 'on' : 'off (rlimits)'}, upper layer ${tmpfsMiB > 0 ? `in a ${tmpfsMiB} MiB tmpfs` : mode === 'disk' ? 'on a 4 GiB loop ext4 (disk limit)' : `on disk (${home})`}, user namespace ${mode === 'nouserns' ? 'off' : 'on'}`,
);
console.log('phase        avg ms   p50 ms   p95 ms');
for (const k of ['mount', 'run', 'teardown', 'total'] as const) {
  console.log(
    `${(k === 'run' ? 'bwrap true' : k).padEnd(10)} ${f(avg(t[k]))}   ${f(pct(t[k], 0.5))}   ${f(pct(t[k], 0.95))}`,
  );
}
const ok = avg(t.total) < GOAL_MS;
console.log(
  `goal: under ${GOAL_MS} ms per build: ${ok ? 'met' : 'NOT met'} (avg ${avg(t.total).toFixed(1)} ms); leaked mounts: ${leaked}`,
);
