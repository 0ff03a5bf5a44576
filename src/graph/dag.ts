/**
 * Building the {@link Dag} of a set of ports, its reverse adjacency and a topological order. Pure and
 * iterative: depth never touches the call stack.
 */
import type { Port } from '../recipe/types.js';
import type { Dag } from './types.js';
import { closure, type MissingDep } from './closure.js';
import { planningSourceOf, portDepends, tableRowOf, type PlanningTable } from './planning.js';

/**
 * The graph of `origins` (node `i` is `origins[i]`): `deps[i]` is the union of the port's `depends.build`
 * and `depends.run` restricted to `origins`, without duplicates, in recipe order (build first). A port
 * that depends on itself keeps the self-edge (a cycle of one). Origins not in `ports` get no edges.
 */
export function buildDag(ports: ReadonlyMap<string, Port>, origins: readonly string[]): Dag {
  const index = new Map<string, number>();
  for (let i = 0; i < origins.length; i++) index.set(origins[i]!, i);
  const stamp = new Int32Array(origins.length).fill(-1);
  const deps: number[][] = new Array(origins.length);
  for (let i = 0; i < origins.length; i++) {
    const out: number[] = [];
    const port = ports.get(origins[i]!);
    if (port) {
      const { build, run } = portDepends(port);
      for (let k = 0; k < build.length + run.length; k++) {
        const j = index.get(k < build.length ? build[k]! : run[k - build.length]!);
        if (j !== undefined && stamp[j] !== i) {
          stamp[j] = i;
          out.push(j);
        }
      }
    }
    deps[i] = out;
  }
  return { ids: origins.slice(), deps };
}

/** Reverse adjacency: `dependents(dag)[j]` lists the nodes whose `deps` contain `j`, ascending. */
export function dependents(dag: Dag): number[][] {
  const n = dag.ids.length;
  const rev: number[][] = new Array(n);
  for (let i = 0; i < n; i++) rev[i] = [];
  for (let i = 0; i < n; i++) for (const j of dag.deps[i]!) rev[j]!.push(i);
  return rev;
}

/**
 * Kahn's topological order, dependencies first: nodes with no dependencies in id order, then each node as
 * soon as its last dependency is placed (first in, first out), so the order is deterministic. Nodes on a cycle, or depending on one, are left out: the result
 * is shorter than `dag.ids` exactly when the graph has a cycle.
 */
export function topoOrder(dag: Dag): number[] {
  const n = dag.ids.length;
  const deps = dag.deps;
  // Reverse edges as flat arrays (each node's dependents ascending, as `dependents` lists them): one
  // allocation instead of a list per node, which matters on a 35,000-port tree.
  const pending = new Int32Array(n);
  const off = new Int32Array(n + 1);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const d = deps[i]!;
    pending[i] = d.length;
    m += d.length;
    for (let k = 0; k < d.length; k++) off[d[k]! + 1]!++;
  }
  for (let i = 0; i < n; i++) off[i + 1]! += off[i]!;
  const fill = off.slice(0, n);
  const rev = new Int32Array(m);
  for (let i = 0; i < n; i++) {
    const d = deps[i]!;
    for (let k = 0; k < d.length; k++) rev[fill[d[k]!]!++] = i;
  }
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (pending[i] === 0) order.push(i);
  for (let head = 0; head < order.length; head++) {
    const v = order[head]!;
    for (let e = off[v]!; e < off[v + 1]!; e++) {
      const k = rev[e]!;
      if (--pending[k]! === 0) order.push(k);
    }
  }
  return order;
}

/**
 * The sub-graph of `dag` induced by `keep` (node ids, any order): node `i` of the result is
 * `dag.ids[keep[i]]`, with only the edges between kept nodes.
 */
export function subDag(dag: Dag, keep: readonly number[]): Dag {
  const map = new Int32Array(dag.ids.length).fill(-1);
  for (let i = 0; i < keep.length; i++) map[keep[i]!] = i;
  const ids: string[] = new Array(keep.length);
  const deps: number[][] = new Array(keep.length);
  for (let i = 0; i < keep.length; i++) {
    const old = keep[i]!;
    ids[i] = dag.ids[old]!;
    const out: number[] = [];
    for (const j of dag.deps[old]!) if (map[j]! >= 0) out.push(map[j]!);
    deps[i] = out;
  }
  return { ids, deps };
}

/** The ports of a dag's nodes, for the map `closureDag` made it from (see {@link portsOfNodes}). */
const NODE_PORTS = new WeakMap<Dag, { readonly ports: ReadonlyMap<string, Port>; readonly nodes: readonly Port[] }>();

/**
 * `ports.get(dag.ids[i])` for every node `i`: for a dag `closureDag` made from this very map, the array it made
 * (no lookup per node); else looked up.
 */
export function portsOfNodes(dag: Dag, ports: ReadonlyMap<string, Port>): readonly (Port | undefined)[] {
  const known = NODE_PORTS.get(dag);
  if (known !== undefined && known.ports === ports && known.nodes.length === dag.ids.length) return known.nodes;
  return dag.ids.map((o) => ports.get(o));
}

/**
 * Finds a node by origin as `index.get(origin)` would, for `closureDag`: through the ports' planning table when
 * they have one (one lookup in `ports`, no index made), else through an index made on first need.
 */
class NodeFinder {
  /** The planning table of the first port that has one (one table per scan). */
  readonly table: PlanningTable | undefined;
  /** Per row of {@link table}: its node, or -1. */
  readonly rowNode: Int32Array;
  /** Per node: its row of {@link table}, or -1. */
  readonly nodeRow: Int32Array;
  private index: Map<string, number> | undefined = undefined;
  constructor(
    private readonly ports: ReadonlyMap<string, Port>,
    private readonly origins: readonly string[],
    byNode: readonly Port[],
  ) {
    let table: PlanningTable | undefined;
    for (let i = 0; i < byNode.length && table === undefined; i++) table = planningSourceOf(byNode[i]!)?.table;
    this.table = table;
    this.nodeRow = new Int32Array(byNode.length).fill(-1);
    this.rowNode = new Int32Array(table?.origins.length ?? 0).fill(-1);
    if (table === undefined) return;
    for (let i = 0; i < byNode.length; i++) {
      const row = tableRowOf(byNode[i]!, table);
      // A row stands for the node whose origin (its key in `ports`) is the row's.
      if (row >= 0 && table.origins[row] === origins[i]) {
        this.rowNode[row] = i;
        this.nodeRow[i] = row;
      }
    }
  }
  /** The node of `origin`, or undefined when it is no port. */
  find(origin: string): number | undefined {
    if (this.table !== undefined && this.index === undefined) {
      // Through the port's row (no index made while every lookup finds one).
      const port = this.ports.get(origin);
      if (port === undefined) return undefined;
      const row = tableRowOf(port, this.table);
      const i = row >= 0 ? this.rowNode[row]! : -1;
      if (i >= 0 && this.origins[i] === origin) return i;
    }
    if (this.index === undefined) {
      this.index = new Map();
      for (let i = 0; i < this.origins.length; i++) this.index.set(this.origins[i]!, i);
    }
    return this.index.get(origin);
  }
}

/**
 * `closure` and `buildDag` in one go: the graph of the ports a bulk of `roots` covers, and every missing
 * dependency, resolving each dependency edge once (the fast path for `'all'` on a large tree; a port of a
 * planning table has its edges resolved from the table's integers). Same results as
 * `buildDag(ports, closure(ports, roots).origins)` and that closure's `missing`.
 */
export function closureDag(
  ports: ReadonlyMap<string, Port>,
  roots: readonly string[] | 'all',
): { dag: Dag; missing: MissingDep[] } {
  if (roots !== 'all') {
    const c = closure(ports, roots);
    return { dag: buildDag(ports, c.origins), missing: c.missing };
  }
  const origins = [...ports.keys()];
  let sorted = true;
  for (let i = 1; i < origins.length && sorted; i++) sorted = origins[i - 1]! < origins[i]!;
  if (!sorted) origins.sort();
  const n = origins.length;
  // In the map's own order (a scanned tree's is sorted) its values are node 0, 1, ...: no lookup per port.
  const byNode: Port[] = sorted ? [...ports.values()] : origins.map((o) => ports.get(o)!);
  const finder = new NodeFinder(ports, origins, byNode);
  const { table, rowNode, nodeRow } = finder;
  const stamp = new Int32Array(n).fill(-1);
  const deps: number[][] = new Array(n);
  const missing: MissingDep[] = [];
  for (let i = 0; i < n; i++) {
    const origin = origins[i]!;
    const out: number[] = [];
    const row = nodeRow[i]!;
    if (row >= 0) {
      const nb = table!.builds(row);
      const end = nb + table!.runs(row);
      const at = table!.at(row);
      const refs = table!.refs;
      for (let k = 0; k < end; k++) {
        const x = refs[at + k]!;
        let j = x >= 0 ? rowNode[x]! : -1;
        if (j < 0) {
          const d = x >= 0 ? table!.origins[x]! : table!.name(x);
          const f = finder.find(d);
          if (f === undefined) {
            const isBuild = k < nb;
            missing.push({ origin, dependsOn: d, kind: isBuild ? 'build' : 'run', index: isBuild ? k : k - nb });
            continue;
          }
          j = f;
        }
        if (stamp[j] !== i) {
          stamp[j] = i;
          out.push(j);
        }
      }
    } else {
      const { build, run } = portDepends(byNode[i]!);
      for (let k = 0; k < build.length + run.length; k++) {
        const isBuild = k < build.length;
        const d = isBuild ? build[k]! : run[k - build.length]!;
        const j = finder.find(d);
        if (j === undefined) {
          missing.push({
            origin,
            dependsOn: d,
            kind: isBuild ? 'build' : 'run',
            index: isBuild ? k : k - build.length,
          });
        } else if (stamp[j] !== i) {
          stamp[j] = i;
          out.push(j);
        }
      }
    }
    deps[i] = out;
  }
  const dag: Dag = { ids: origins, deps };
  NODE_PORTS.set(dag, { ports, nodes: byNode });
  return { dag, missing };
}
