/**
 * The ports a scan cache gives (`scan-cache.ts`): each is a row of its cache's planning source
 * (`graph/planning.ts`): its `depends` and `options`, and every entry's dependencies as integers, so a plan reads
 * them without making the recipe; it makes its lazy recipe when `recipe` is first read.
 */
import type { Port } from '../recipe/light.js';
import {
  attachPlanning,
  dropPlanning,
  planningRowOf,
  planningSourceOf,
  type PlanningSource,
  type PlanningTable,
} from '../graph/index.js';

/** What a cached port reads from its cache: its entry's planning data, and its recipe (made once). */
export interface EntrySource extends PlanningSource {
  /** Entry `e`'s recipe: made on first call, then the same object. */
  recipe(e: number): Port['recipe'];
  readonly table: PlanningTable;
  /** True until entry `e`'s recipe is made (its `depends` is then the recipe's to hold). */
  inTable(e: number): boolean;
}

/**
 * `recipe` of a cached port: an enumerable accessor (JSON, spread and deep equality see the recipe) that makes the
 * lazy recipe on first read; assigning it replaces it with a plain value (and drops the planning data).
 */
const RECIPE: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Port): Port['recipe'] {
    const s = planningSourceOf(this) as EntrySource | undefined;
    if (s === undefined) throw new Error('scan cache: a cached port lost its entry');
    return s.recipe(planningRowOf(this));
  },
  set(this: Port, v: Port['recipe']): void {
    Object.defineProperty(this, 'recipe', { value: v, writable: true, enumerable: true, configurable: true });
    dropPlanning(this);
  },
};

/** A port of the cache: the same keys, in the same order, as a loaded one; its recipe made only when read. */
export function cachedPort(
  origin: string,
  dir: string,
  path: string,
  layer: string,
  pkgname: string,
  contentHash: string,
  source: EntrySource,
  entry: number,
): Port {
  const p = { origin, dir, path, layer, pkgname } as Record<string, unknown>;
  Object.defineProperty(p, 'recipe', RECIPE);
  p.contentHash = contentHash;
  attachPlanning(p as unknown as Port, source, entry);
  return p as unknown as Port;
}
