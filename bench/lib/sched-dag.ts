/**
 * Graphs for bench/sched. The main one is bench/gen-tree.ts's generated 35k-port tree, loaded through the
 * same code as `kiln simulate` (scan → closure → graph → durations). If that generator is missing, an
 * equivalent DAG is made in memory with the scheduler's seeded `randomDag` (35,000 nodes, ~250,000 edges,
 * hubs, long chains, heavy-tailed durations). `randomSuite` gives the small random DAGs of the second table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Dag } from '../../src/graph/index.js';
import { prng, randomDag } from '../../src/scheduler/index.js';
import { loadSimulationInput } from '../../src/cli/commands/simulate.js';

/** A graph to simulate and where it came from. */
export interface BenchGraph {
  readonly label: string;
  readonly dag: Dag;
  readonly durations: Float64Array;
  /** Wall time of making / loading it, ms. */
  readonly loadMs: number;
}

/** The 35k tree of bench/gen-tree.ts (cached under `cache`), or the in-memory equivalent. */
export async function mainGraph(ports: number, seed: number, cache: string): Promise<BenchGraph> {
  const t0 = performance.now();
  let gen: typeof import('../gen-tree.js') | undefined;
  try {
    gen = await import('../gen-tree.js');
  } catch {
    gen = undefined;
  }
  if (gen && typeof gen.cachedTree === 'function') {
    const { dir } = gen.cachedTree(ports, seed, cache);
    const durations = path.join(dir, 'durations.json');
    const ctx = {
      home: path.join(cache, 'kiln-bench-sched-home-unused'),
      cwd: process.cwd(),
      env: {},
      isTTY: false,
      out: () => {},
      err: () => {},
    };
    const input = await loadSimulationInput(ctx, {
      tree: dir,
      all: true,
      durations: fs.existsSync(durations) ? durations : undefined,
    });
    if (input.problems.length > 0 || input.cyclic) {
      throw new Error(`generated tree ${dir} has ${input.problems.length} problems (cyclic: ${input.cyclic})`);
    }
    return {
      label: `bench/gen-tree.ts tree, ${ports} ports, seed ${seed} (${dir})`,
      dag: input.dag,
      durations: input.durations,
      loadMs: performance.now() - t0,
    };
  }
  const g = randomDag({ seed, nodes: ports });
  return { label: `in-memory randomDag, ${ports} nodes, seed ${seed}`, ...g, loadMs: performance.now() - t0 };
}

/** `count` seeded random DAGs of 20–2,000 nodes with varied shapes; every fourth has uniform 60 s durations. */
export function* randomSuite(
  count: number,
  seed: number,
): Generator<{ dag: Dag; durations: Float64Array; seed: number }> {
  for (let k = 0; k < count; k++) {
    const s = seed + k;
    const r = prng(s * 7919);
    const nodes = 20 + Math.floor(r() * r() * 2000);
    const g = randomDag({
      seed: s,
      nodes,
      avgDeps: 1 + r() * 7,
      levels: 2 + Math.floor(r() * 30),
      chains: Math.floor(r() * 4),
      chainLength: 3 + Math.floor(r() * 60),
      hubs: 1 + Math.floor(r() * 10),
    });
    yield { dag: g.dag, durations: k % 4 === 3 ? new Float64Array(nodes).fill(60) : g.durations, seed: s };
  }
}

/** Number of dependency edges. */
export function edgeCount(dag: Dag): number {
  let m = 0;
  for (const d of dag.deps) m += d.length;
  return m;
}
