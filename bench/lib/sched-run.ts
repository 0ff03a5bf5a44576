/**
 * bench/sched: makespan of kiln's scheduler beside FIFO, poudriere's ordering (longest chain of dependents,
 * unit weights) and pbulk's (number of transitive dependents), and the lower bound max(critical path,
 * work / N), at 4, 16 and 64 builders, in virtual time; plus the wall time each simulation took.
 * Every figure comes from `simulate`, which drives the real scheduler state machine.
 *
 * Environment: SCHED_PORTS (35000), SCHED_SEED (1), SCHED_CACHE (/tmp), SCHED_WIDTHS ("4 16 64"),
 * SCHED_RANDOM (number of random DAGs for the second table, 150).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Dag } from '../../src/graph/index.js';
import { POLICIES, simulate, type Policy, type SimulationResult } from '../../src/scheduler/index.js';
import { edgeCount, mainGraph, randomSuite } from './sched-dag.js';

const env = process.env;
const PORTS = Number(env.SCHED_PORTS ?? 35000);
const SEED = Number(env.SCHED_SEED ?? 1);
const CACHE = env.SCHED_CACHE ?? '/tmp';
const WIDTHS = (env.SCHED_WIDTHS ?? '4 16 64').split(/\s+/).filter(Boolean).map(Number);
const RANDOM = Number(env.SCHED_RANDOM ?? 150);

const hours = (s: number): string => `${(s / 3600).toFixed(2)} h`;
const pad = (s: string | number, w: number): string => String(s).padStart(w);

function table(dag: Dag, durations: Float64Array, title: string): boolean {
  console.log(`\n-- ${title}`);
  console.log(
    `${pad('N', 3)} ${pad('kiln s', 10)} ${pad('plain CP s', 11)} ${pad('fifo s', 10)} ${pad('poudriere s', 12)} ` +
      `${pad('pbulk s', 10)} ${pad('lower bd s', 10)} ${pad('kiln/LB', 8)}  kiln≤all  kiln's order (sim ms: kiln fifo poud pbulk)`,
  );
  let ok = true;
  let first: SimulationResult | undefined;
  for (const n of WIDTHS) {
    const r: Partial<Record<Policy, SimulationResult>> = {};
    const ms: Partial<Record<Policy, number>> = {};
    for (const p of POLICIES) {
      const t0 = performance.now();
      r[p] = simulate(dag, durations, n, p);
      ms[p] = performance.now() - t0;
    }
    const k = r.kiln!;
    first ??= k;
    const best = Math.min(r.fifo!.makespan_s, r.poudriere!.makespan_s, r.pbulk!.makespan_s);
    const good = k.makespan_s <= best;
    ok &&= good;
    console.log(
      `${pad(n, 3)} ${pad(k.makespan_s.toFixed(0), 10)} ${pad(k.candidates!['critical-path']!.toFixed(0), 11)} ` +
        `${pad(r.fifo!.makespan_s.toFixed(0), 10)} ${pad(r.poudriere!.makespan_s.toFixed(0), 12)} ${pad(r.pbulk!.makespan_s.toFixed(0), 10)} ` +
        `${pad(k.lower_bound_s.toFixed(0), 10)} ${pad((k.makespan_s / k.lower_bound_s).toFixed(4), 8)}  ${good ? 'yes' : 'NO '}       ` +
        `${k.chosen} (${POLICIES.map((p) => ms[p]!.toFixed(0)).join(' ')})`,
    );
  }
  if (first) {
    console.log(
      `    work ${first.work_s.toFixed(0)} s (${hours(first.work_s)}), critical path ${first.critical_path_s.toFixed(0)} s ` +
        `(${hours(first.critical_path_s)}); kiln at ${WIDTHS.at(-1)} builders: ${hours(simulate(dag, durations, WIDTHS.at(-1)!).makespan_s)}`,
    );
  }
  return ok;
}

function randomTable(): boolean {
  const worse: Record<string, number> = { kiln: 0, 'plain CP': 0 };
  const ratio: Record<string, number> = { kiln: 0, fifo: 0, poudriere: 0, pbulk: 0 };
  let cases = 0,
    nodes = 0;
  const t0 = performance.now();
  for (const g of randomSuite(RANDOM, 1000 * SEED)) {
    nodes += g.dag.ids.length;
    for (const n of WIDTHS) {
      const r: Partial<Record<Policy, SimulationResult>> = {};
      for (const p of POLICIES) r[p] = simulate(g.dag, g.durations, n, p);
      const best = Math.min(r.fifo!.makespan_s, r.poudriere!.makespan_s, r.pbulk!.makespan_s);
      if (r.kiln!.makespan_s > best) {
        worse.kiln!++;
        console.log(`    kiln worse: seed ${g.seed}, N ${n}`);
      }
      if (r.kiln!.candidates!['critical-path']! > best) worse['plain CP']!++;
      for (const p of POLICIES) ratio[p]! += r[p]!.makespan_s / Math.max(1e-9, r[p]!.lower_bound_s);
      cases++;
    }
  }
  console.log(
    `\n-- ${RANDOM} random DAGs (20–2,000 nodes, mean ${(nodes / Math.max(1, RANDOM)).toFixed(0)}; varied depth, hubs, chains; ` +
      `1 in 4 with uniform durations) × N ∈ {${WIDTHS.join(', ')}}: ${cases} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(
    `    kiln worse than the best baseline: ${worse.kiln} of ${cases}; plain critical path alone would be: ${worse['plain CP']}`,
  );
  console.log(
    `    mean makespan / lower bound: ${POLICIES.map((p) => `${p} ${(ratio[p]! / Math.max(1, cases)).toFixed(4)}`).join(', ')}`,
  );
  return worse.kiln === 0;
}

async function run(): Promise<number> {
  console.log(
    '== bench/sched: makespan in virtual time, kiln vs FIFO, poudriere (longest chain, unit weights), ' +
      'pbulk (transitive dependents); lower bound = max(critical path, work / N)',
  );
  console.log(
    `   machine: ${os.cpus().length} cores, node ${process.version}; "kiln" is simulate(…, 'kiln'): the real state ` +
      'machine driven with the order its portfolio picked; "plain CP" is the critical-path order alone',
  );
  const g = await mainGraph(PORTS, SEED, CACHE);
  console.log(
    `   graph: ${g.label}\n   ${g.dag.ids.length} ports, ${edgeCount(g.dag)} edges, loaded in ${(g.loadMs / 1000).toFixed(2)} s`,
  );
  let ok = table(g.dag, g.durations, 'durations from the generator (heavy-tailed)');
  ok =
    table(
      g.dag,
      new Float64Array(g.dag.ids.length).fill(60),
      "every port 60 s (kiln simulate's default without --durations)",
    ) && ok;
  ok = randomTable() && ok;
  console.log(`\nresult: kiln no worse than every baseline at every width: ${ok ? 'yes' : 'NO'}`);
  return ok ? 0 : 1;
}

process.exitCode = await run();
