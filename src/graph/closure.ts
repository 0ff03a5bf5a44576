/**
 * The set of ports a bulk covers (its roots plus every build and run dependency, transitively) and the
 * dependencies that point outside the tree. Pure: no disk, process or clock.
 */
import type { Port } from '../recipe/types.js';
import { portDepends } from './planning.js';

/** Which list of a recipe asked for a missing origin, or `root` for a requested origin not in the tree. */
export type MissingKind = 'build' | 'run' | 'root';

/**
 * A dependency on an origin that is not in the tree. For `build`/`run`, `origin` is the port whose recipe
 * asks for `dependsOn` at `depends.KIND[index]` (locate it with the recipe module's `locateField`). For
 * `root`, `origin` and `dependsOn` are both the requested origin and `index` is its position in the roots.
 */
export interface MissingDep {
  /** The port that asks (for `root`: the requested origin itself). */
  readonly origin: string;
  /** The origin that is not in the tree. */
  readonly dependsOn: string;
  /** `depends.build`, `depends.run`, or a requested root. */
  readonly kind: MissingKind;
  /** Index in `depends.KIND` (or in the roots). */
  readonly index: number;
}

/** Result of {@link closure}. */
export interface Closure {
  /** Every origin reached, sorted (code-unit order). */
  readonly origins: string[];
  /** Dependencies (and roots) that are not in the tree, in the order found. */
  readonly missing: MissingDep[];
}

function collectMissing(port: Port, ports: ReadonlyMap<string, Port>, into: MissingDep[]): void {
  const { build, run } = portDepends(port);
  for (let i = 0; i < build.length; i++) {
    const d = build[i]!;
    if (!ports.has(d)) into.push({ origin: port.origin, dependsOn: d, kind: 'build', index: i });
  }
  for (let i = 0; i < run.length; i++) {
    const d = run[i]!;
    if (!ports.has(d)) into.push({ origin: port.origin, dependsOn: d, kind: 'run', index: i });
  }
}

/**
 * The closure of `roots` over `depends.build` and `depends.run`: every port a bulk of `roots` needs, and
 * every missing dependency of those ports. `'all'` takes every port of the tree. A root that is not in the
 * tree is reported as a `root` {@link MissingDep}. Iterative; any depth.
 */
export function closure(ports: ReadonlyMap<string, Port>, roots: readonly string[] | 'all'): Closure {
  const missing: MissingDep[] = [];
  if (roots === 'all') {
    const origins = sortedIfNeeded([...ports.keys()]);
    for (const o of origins) collectMissing(ports.get(o)!, ports, missing);
    return { origins, missing };
  }
  const seen = new Set<string>();
  const queue: string[] = [];
  for (let i = 0; i < roots.length; i++) {
    const r = roots[i]!;
    if (!ports.has(r)) {
      missing.push({ origin: r, dependsOn: r, kind: 'root', index: i });
    } else if (!seen.has(r)) {
      seen.add(r);
      queue.push(r);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const port = ports.get(queue[head]!)!;
    collectMissing(port, ports, missing);
    const visit = (d: string): void => {
      if (!seen.has(d) && ports.has(d)) {
        seen.add(d);
        queue.push(d);
      }
    };
    const { build, run } = portDepends(port);
    build.forEach(visit);
    run.forEach(visit);
  }
  return { origins: queue.sort(), missing };
}

/** Sorts in place unless already in order (a scanned tree's ports usually are). */
function sortedIfNeeded(a: string[]): string[] {
  for (let i = 1; i < a.length; i++) if (a[i - 1]! > a[i]!) return a.sort();
  return a;
}
