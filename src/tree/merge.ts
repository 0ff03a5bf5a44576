/**
 * Merging the layers of a tree as portshaker does, from folder listings alone: for each origin, the highest
 * layer with `CAT/NAME/port.yaml` wins, and the lower ones with that origin are shadowed (whole folders).
 */
import { hasPort, subdirs } from './layout.js';
import type { TreeLayer, TreeRef } from './ref.js';

/** Where each origin of a tree comes from, before any recipe is read. */
export interface TreeIndex {
  /** Origin → its winning layer, in origin order. */
  readonly winners: Map<string, TreeLayer>;
  /** Origin → names of the lower layers it shadows, highest first (only where there are some). */
  readonly shadowed: Map<string, string[]>;
}

/** Options of {@link indexTree}. */
export interface IndexOptions {
  /**
   * False: an origin found in one layer only is taken without checking that its port.yaml exists (saves
   * one stat per port; the caller must then treat a missing port.yaml as "no port"). Origins found in
   * several layers are always checked, since the check decides which layer wins. Default true.
   */
  readonly checkSingles?: boolean;
}

/** Lists the origins of a tree and the layer each comes from, reading folders only (no recipe is parsed). */
export function indexTree(ref: TreeRef, opts: IndexOptions = {}): TreeIndex {
  const checkSingles = opts.checkSingles ?? true;
  const layers = ref.layers;
  // Origin -> the highest layer index with a folder for it; `lower` keeps the others (rare: overlays only).
  const top = new Map<string, number>();
  const lower = new Map<string, number[]>();
  for (let li = 0; li < layers.length; li++) {
    const dir = layers[li]!.dir;
    for (const cat of subdirs(dir)) {
      for (const name of subdirs(`${dir}/${cat}`)) {
        const origin = `${cat}/${name}`;
        const prev = top.get(origin);
        if (prev !== undefined) {
          const l = lower.get(origin);
          if (l) l.push(prev);
          else lower.set(origin, [prev]);
        }
        top.set(origin, li);
      }
    }
  }
  const winners = new Map<string, TreeLayer>();
  const shadowed = new Map<string, string[]>();
  for (const origin of [...top.keys()].sort()) {
    const li = top.get(origin)!;
    const others = lower.get(origin);
    if (others === undefined) {
      if (!checkSingles || hasPort(layers[li]!.dir, origin)) winners.set(origin, layers[li]!);
      continue;
    }
    // Highest first; a folder without port.yaml is no port: it neither wins nor shadows.
    const having = [li, ...others.reverse()].filter((i) => hasPort(layers[i]!.dir, origin));
    if (having.length === 0) continue;
    winners.set(origin, layers[having[0]!]!);
    if (having.length > 1)
      shadowed.set(
        origin,
        having.slice(1).map((i) => layers[i]!.name),
      );
  }
  return { winners, shadowed };
}
