/**
 * The ports a scan cache gives (`scan-cache.ts`): each carries its entry's `depends` and `options` as planning data
 * (`graph/planning.ts`), and its row in the cache's planning table (every entry's dependencies as integers), so a plan
 * reads them without making the recipe, and makes its lazy recipe when `recipe` is first read.
 */
import type { Port } from '../recipe/index.js';
import { PLANNING, type PlanningData, type PlanningTable } from '../graph/index.js';

type Depends = Port['recipe']['depends'];
type Options = Port['recipe']['options'];

/** What a cached port reads from its cache: its entry's planning data, and its recipe (made once). */
export interface EntrySource {
  depends(e: number): Depends;
  options(e: number): Options;
  recipe(e: number): Port['recipe'];
  /** Every entry's dependencies as integers (`graph/planning.ts`). */
  readonly table: PlanningTable;
}

/** The planning data of a cached port (see `graph/planning.ts`): its entry's `depends` and `options`. */
export class EntryPlanning implements PlanningData {
  constructor(
    readonly source: EntrySource,
    readonly entry: number,
  ) {}
  /** The recipe, once made. */
  made: Port['recipe'] | undefined = undefined;
  get table(): PlanningTable {
    return this.source.table;
  }
  /** The entry, as the table's row, until the recipe is made (its `depends` is then the recipe's to hold). */
  get row(): number {
    return this.made === undefined ? this.entry : -1;
  }
  depends(): Depends {
    return this.source.depends(this.entry);
  }
  options(): Options {
    return this.source.options(this.entry);
  }
}

/**
 * `recipe` of a cached port: an enumerable accessor (JSON, spread and deep equality see the recipe) that makes the
 * lazy recipe on first read and keeps it; assigning it replaces it with a plain value (and drops the planning data).
 */
const RECIPE: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Port & { [PLANNING]: EntryPlanning }): Port['recipe'] {
    const pl = this[PLANNING];
    pl.made ??= pl.source.recipe(pl.entry);
    return pl.made;
  },
  set(this: Port, v: Port['recipe']): void {
    Object.defineProperty(this, 'recipe', { value: v, writable: true, enumerable: true, configurable: true });
    Object.defineProperty(this, PLANNING, { value: undefined });
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
  planning: EntryPlanning,
): Port {
  const p = { origin, dir, path, layer, pkgname } as Record<string | symbol, unknown>;
  Object.defineProperty(p, 'recipe', RECIPE);
  p.contentHash = contentHash;
  Object.defineProperty(p, PLANNING, { value: planning, writable: false, configurable: true });
  return p as unknown as Port;
}
