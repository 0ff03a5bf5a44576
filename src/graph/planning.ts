/**
 * What planning reads of a port: its `depends` and its `options`. A port may carry them under {@link PLANNING}
 * (the scan cache's ports do), so that a plan reads them without building the port's recipe: a 35,000-port
 * no-op plan then makes no recipe at all. Any other port answers from its recipe. Both give the same values.
 *
 * Such a port may also name its row in a {@link PlanningTable}: the dependencies of many ports as integers (a
 * scan cache's entries). `closureDag` then resolves its edges from the integers, without making its `depends`
 * or looking its origins up by name; the graph is the same.
 */
import type { Port } from '../recipe/types.js';

/** A port's planning data, when it carries them (see the module's note). */
export interface PlanningData {
  /** The recipe's `depends` (the very object its recipe holds, once made). */
  depends(): Port['recipe']['depends'];
  /** The recipe's `options` (likewise). */
  options(): Port['recipe']['options'];
  /** The table holding this port's dependencies as integers, if any (see {@link PlanningTable}). */
  readonly table?: PlanningTable;
  /** The port's row in {@link table}; -1 when its integers may no longer stand for its `depends`. */
  readonly row?: number;
}

/**
 * The dependencies of a set of ports as integers. Row `r` is the port of origin `origins[r]`; its
 * `depends.build` then `depends.run`, in recipe order, are `refs[at(r) .. at(r) + builds(r) + runs(r))`: a ref
 * `x >= 0` is the origin of row `x`, a ref `x < 0` the origin `name(x)` (no row of the table). They are exactly
 * the port's `depends.build` and `depends.run` while its planning data gives its `row`.
 */
export interface PlanningTable {
  readonly origins: readonly string[];
  readonly refs: Int32Array;
  at(row: number): number;
  builds(row: number): number;
  runs(row: number): number;
  name(ref: number): string;
}

/**
 * The key under which a port carries its {@link PlanningData}: a non-enumerable property, so that a copy of the
 * port (`{ ...port, recipe }`) does not carry it, and JSON does not show it.
 */
export const PLANNING: unique symbol = Symbol('kiln.port.planning');

type WithPlanning = Port & { [PLANNING]?: PlanningData };

/** `port.recipe.depends`, without making the recipe when the port carries its planning data. */
export function portDepends(port: Port): Port['recipe']['depends'] {
  const p = (port as WithPlanning)[PLANNING];
  return p !== undefined ? p.depends() : port.recipe.depends;
}

/** `port.recipe.options`, without making the recipe when the port carries its planning data. */
export function portOptions(port: Port): Port['recipe']['options'] {
  const p = (port as WithPlanning)[PLANNING];
  return p !== undefined ? p.options() : port.recipe.options;
}

/** The port's planning data, if it carries any. */
export function planningOf(port: Port): PlanningData | undefined {
  return (port as WithPlanning)[PLANNING];
}
