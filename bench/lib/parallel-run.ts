/**
 * bench/parallel: real bulks of the example tree (examples/ports, 7 ports) in a temporary home over the shared test
 * jail, rebuilt from scratch (`-a -C`) each time: the wall time at -J 1 and -J 2 with the fixed (-j1 per builder)
 * and the adaptive job budget, and the ETA's error at 25 %, 50 % and 75 % of each bulk against its real finish.
 * The first run has no durations (its ETA comes from distfile sizes); every later run has the previous run's. The
 * last run repeats the one before it, so its ETA uses durations learned in the same setting (the goal:
 * within 20 % on the second run). Usage: node --import tsx bench/lib/parallel-run.ts [RUNS...] where a run is
 * J:MODE (default: 1:fixed 1:adaptive 2:fixed 2:adaptive 2:adaptive).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, kiln, testHome } from '../../src/bulk/testing.js';
import type { BulkEvent } from '../../src/bulk/index.js';

type Progress = Extract<BulkEvent, { type: 'progress' }>;

/** The ETA shown at `at` seconds into the bulk: the last progress event's ETA, counted down since it came. */
function etaAt(progress: readonly Progress[], at: number): number | null {
  let last: Progress | undefined;
  for (const p of progress) if (p.elapsedS <= at) last = p;
  if (!last || last.etaS === null) return null;
  return Math.max(0, last.etaS - (at - last.elapsedS));
}

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const runs = (
  process.argv.length > 2 ? process.argv.slice(2) : ['1:fixed', '1:adaptive', '2:fixed', '2:adaptive', '2:adaptive']
).map((r) => {
  const [j, mode] = r.split(':');
  return { builders: Number(j), mode: mode === 'fixed' ? 'fixed' : 'adaptive' };
});

const home = await testHome('kiln-bench-parallel-');
const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-parallel-tree-'));
fs.cpSync(path.join(REPO_ROOT, 'examples/ports'), tree, { recursive: true });
console.log(
  `bench/parallel: the example tree (7 ports) rebuilt from scratch per run; ${os.availableParallelism()} cores; load at start ${load()}`,
);
const rowsOut: string[] = [];
try {
  const add = await kiln(home, ['tree', 'add', 'examples', '--path', tree]);
  if (add.status !== 0) throw new Error(add.stderr);
  for (const [i, r] of runs.entries()) {
    fs.writeFileSync(path.join(home, 'kiln.yaml'), `job_budget: ${r.mode}\n`);
    const loadBefore = os.loadavg()[0]!;
    const res = await kiln(home, [
      'bulk',
      '-j',
      'bookworm',
      '-p',
      'examples',
      '-a',
      '-C',
      '-J',
      String(r.builders),
      '--json',
    ]);
    const events = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as BulkEvent);
    const done = events.find((e): e is Extract<BulkEvent, { type: 'bulk-done' }> => e.type === 'bulk-done');
    if (res.status !== 0 || !done)
      throw new Error(
        `run ${i + 1} failed (exit ${res.status}):\n${res.stdout.slice(-2000)}\n${res.stderr.slice(-2000)}`,
      );
    const progress = events.filter((e): e is Progress => e.type === 'progress');
    const starts = events.filter((e): e is Extract<BulkEvent, { type: 'port-start' }> => e.type === 'port-start');
    const sources = [...new Set(starts.map((s) => s.estimate ?? '?'))].join('+');
    const jobs = starts.map((s) => s.jobs).join(',');
    const wall = done.wallS;
    const etas = [0.25, 0.5, 0.75].map((f) => {
      const at = f * wall;
      const shown = etaAt(progress, at);
      if (shown === null) return `${Math.round(f * 100)}%: -`;
      const real = wall - at;
      return `${Math.round(f * 100)}%: ETA ${shown.toFixed(0)}s vs ${real.toFixed(0)}s real (${(((shown - real) / real) * 100).toFixed(0)}% of the remaining, finish off by ${(((shown - real) / wall) * 100).toFixed(0)}% of the bulk)`;
    });
    const line = `run ${i + 1}: -J ${r.builders} ${r.mode.padEnd(8)} wall ${wall.toFixed(1)} s (built ${done.counts.built}); jobs per build ${jobs}; estimates ${sources}; load ${loadBefore.toFixed(2)}→${os.loadavg()[0]!.toFixed(2)}`;
    console.log(line);
    console.log(`        ${etas.join('\n        ')}`);
    const took = events
      .filter((e): e is Extract<BulkEvent, { type: 'port-done' }> => e.type === 'port-done')
      .map((e) => {
        const s = starts.find((x) => x.origin === e.origin);
        return `${e.origin.split('/')[1]} ${e.wallS.toFixed(0)}s (expected ${s?.expectedS.toFixed(0) ?? '?'}s, -j${s?.jobs ?? '?'})`;
      });
    console.log(`        builds: ${took.join(', ')}`);
    rowsOut.push(line);
  }
} finally {
  if (process.env.KEEP_HOME === '1') {
    console.log(`kept: home ${home}, tree ${tree}`);
  } else {
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
}
console.log(`load at end ${load()}`);
