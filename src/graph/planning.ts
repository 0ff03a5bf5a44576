/**
 * What planning reads of a port: its `depends` and its `options`. A port may carry them under {@link PLANNING}
 * (the scan cache's ports do), so that a plan reads them without building the port's recipe: a 35,000-port
 * no-op plan then makes no recipe at all. Any other port answers from its recipe. Both give the same values.
 */
import type { Port } from '../recipe/types.js';

/** A port's planning data, when it carries them (see the module's note). */
export interface PlanningData {
  /** The recipe's `depends` (the very object its recipe holds, once made). */
  depends(): Port['recipe']['depends'];
  /** The recipe's `options` (likewise). */
  options(): Port['recipe']['options'];
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
