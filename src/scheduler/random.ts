/**
 * Seeded random DAGs with ports-tree-like shape (hubs that most ports need, long chains, a heavy tail of
 * build times), for property tests and benches. Pure and deterministic: the same options give the same graph.
 */
import type { Dag } from '../graph/index.js';
import { prng } from '../util/prng.js';

export { prng };

/** Shape of a generated graph. */
export interface RandomDagOptions {
  readonly seed: number;
  /** Number of nodes (chain nodes included). */
  readonly nodes: number;
  /** Average number of dependencies drawn per node (besides hub and chain edges). */
  readonly avgDeps?: number;
  /** Hub nodes (toolchains, libc): most other nodes need 1–3 of them. */
  readonly hubs?: number;
  /** Number of dependency levels (the depth of the graph outside the chains). */
  readonly levels?: number;
  /** Number of long dependency chains and their length in nodes. */
  readonly chains?: number;
  readonly chainLength?: number;
  /** Median build time in seconds; times are log-normal with `sigma`, capped at `maxDuration`. */
  readonly medianDuration?: number;
  readonly sigma?: number;
  readonly maxDuration?: number;
}

/** A generated graph with one duration (seconds) per node. */
export interface RandomDag {
  readonly dag: Dag;
  readonly durations: Float64Array;
}

/**
 * Generates a DAG in a hidden topological order, then names the nodes `catK/portN` and presents them
 * sorted by origin, as a tree scan would (so input order is not a topological order).
 * Hubs come first (slow builds, most nodes need 1–3 of them). The other nodes are spread over `levels`
 * levels; each draws about `avgDeps` dependencies from lower levels, half from the level just below
 * (depth) and half skewed towards the lowest ones (popular libraries). Then `chains` chains of
 * `chainLength` nodes, each needing the one before it plus a hub and a random node.
 */
export function randomDag(opts: RandomDagOptions): RandomDag {
  const rnd = prng(opts.seed);
  const n = opts.nodes;
  const avg = opts.avgDeps ?? 6;
  const hubs = Math.max(1, Math.min(opts.hubs ?? Math.round(n / 700), n));
  const levels = Math.max(1, opts.levels ?? 30);
  const chains = opts.chains ?? Math.round(n / 5000);
  const chainLength = opts.chainLength ?? 200;
  const chainNodes = Math.min(Math.max(0, n - hubs), chains * chainLength);
  const body = n - hubs - chainNodes;
  const median = opts.medianDuration ?? 40;
  const sigma = opts.sigma ?? 1.4;
  const maxD = opts.maxDuration ?? 4 * 3600;
  const deps: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  const dur = new Float64Array(n);
  const logNormal = (m: number): number => {
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    return Math.min(maxD, Math.max(1, Math.round(m * Math.exp(sigma * z))));
  };
  for (let i = 0; i < n; i++) dur[i] = logNormal(i < hubs ? median * 8 : i >= hubs + body ? median / 2 : median);
  const levelStart: number[] = [];
  for (let l = 0; l <= levels; l++) levelStart.push(hubs + Math.floor((body * l) / levels));
  const pickHubs = (i: number): void => {
    if (i === 0) return;
    const k = 1 + Math.floor(rnd() * 3);
    for (let j = 0; j < k; j++) deps[i]!.add(Math.floor(rnd() * Math.min(hubs, i)));
  };
  for (let i = 1; i < hubs; i++) if (rnd() < 0.5) deps[i]!.add(Math.floor(rnd() * i));
  for (let l = 0; l < levels; l++) {
    for (let i = levelStart[l]!; i < levelStart[l + 1]!; i++) {
      if (rnd() < 0.85) pickHubs(i);
      if (l === 0) continue;
      const below = levelStart[l]!,
        prev = levelStart[l - 1]!;
      const k = Math.floor(-Math.log(1 - rnd()) * avg);
      for (let j = 0; j < k; j++) {
        const r = rnd();
        if (below === hubs) break;
        deps[i]!.add(
          r < 0.5 && below > prev
            ? prev + Math.floor(rnd() * (below - prev))
            : hubs + Math.floor((below - hubs) * r * r * r),
        );
      }
    }
  }
  for (let c = 0, i = hubs + body; c < chains && i < n; c++) {
    for (let j = 0; j < chainLength && i < n; j++, i++) {
      pickHubs(i);
      if (j > 0) deps[i]!.add(i - 1);
      if (body > 0) deps[i]!.add(hubs + Math.floor(rnd() * body));
    }
  }
  // Names: catK/portN with N a random permutation, then sort by origin.
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const names = perm.map((p) => `cat${p % 40}/port${p}`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : 1));
  const newId = new Int32Array(n);
  order.forEach((old, i) => {
    newId[old] = i;
  });
  const ids = order.map((old) => names[old]!);
  const outDeps = order.map((old) => [...deps[old]!].map((d) => newId[d]!).sort((a, b) => a - b));
  const durations = Float64Array.from(order, (old) => dur[old]!);
  return { dag: { ids, deps: outDeps }, durations };
}
