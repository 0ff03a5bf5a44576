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

/** Names found in several layers: each name's highest layer (`top`) and its lower ones (`lower`, rare: overlays). */
export class LayerNames {
  readonly top = new Map<string, number>();
  readonly lower = new Map<string, number[]>();

  /** Layer `li` has `name` (layers are added lowest first). */
  add(name: string, li: number): void {
    const prev = this.top.get(name);
    if (prev !== undefined) {
      const l = this.lower.get(name);
      if (l) l.push(prev);
      else this.lower.set(name, [prev]);
    }
    this.top.set(name, li);
  }

  /** The layers of `name`, highest first. */
  layersOf(name: string): number[] {
    const li = this.top.get(name)!;
    const others = this.lower.get(name);
    return others === undefined ? [li] : [li, ...[...others].reverse()];
  }
}

/** Lists the origins of a tree and the layer each comes from, reading folders only (no recipe is parsed). */
export function indexTree(ref: TreeRef, opts: IndexOptions = {}): TreeIndex {
  const checkSingles = opts.checkSingles ?? true;
  const layers = ref.layers;
  // Origin -> the highest layer index with a folder for it, and the others.
  const seen = new LayerNames();
  for (let li = 0; li < layers.length; li++) {
    const dir = layers[li]!.dir;
    for (const cat of subdirs(dir)) for (const name of subdirs(`${dir}/${cat}`)) seen.add(`${cat}/${name}`, li);
  }
  const { top, lower } = seen;
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
    const having = seen.layersOf(origin).filter((i) => hasPort(layers[i]!.dir, origin));
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
