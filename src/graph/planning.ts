/**
 * What planning reads of a port: its `depends` and its `options`. A port may carry a {@link PlanningSource} (the
 * scan cache's ports do), so that a plan reads them without building the port's recipe: a 35,000-port no-op plan
 * then makes no recipe at all. Any other port answers from its recipe. Both give the same values.
 *
 * Such a port may also be a row of a {@link PlanningTable}: the dependencies of many ports as integers (a scan
 * cache's entries). `closureDag` then resolves its edges from the integers, without making its `depends` or looking
 * its origins up by name; the graph is the same.
 *
 * The source is held in private fields that a port gets from {@link attachPlanning} (no property: JSON, spread,
 * `Object.keys` and deep equality do not see it, and a copy of the port does not carry it), which is also much
 * cheaper than a non-enumerable property for tens of thousands of ports.
 */
import type { Port } from '../recipe/types.js';

type Depends = Port['recipe']['depends'];
type Options = Port['recipe']['options'];

/** Where ports' planning data come from; a port is one `row` of it. */
export interface PlanningSource {
  /** Row `row`'s `depends` (the very object its recipe holds, once made). */
  depends(row: number): Depends;
  /** Row `row`'s `options` (likewise). */
  options(row: number): Options;
  /** Row `row`'s options' defaults (name → default, in their order), when the source has them without `options`. */
  optionDefaults?(row: number): Readonly<Record<string, boolean>>;
  /** Every row's dependencies as integers, if the source has them (see {@link PlanningTable}). */
  readonly table?: PlanningTable;
  /** False once the table's integers of `row` may no longer stand for its `depends` (its recipe was made). */
  inTable?(row: number): boolean;
}

/**
 * The dependencies of a set of ports as integers. Row `r` is the port of origin `origins[r]`; its
 * `depends.build` then `depends.run`, in recipe order, are `refs[at(r) .. at(r) + builds(r) + runs(r))`: a ref
 * `x >= 0` is the origin of row `x`, a ref `x < 0` the origin `name(x)` (no row of the table).
 */
export interface PlanningTable {
  readonly origins: readonly string[];
  readonly refs: Int32Array;
  at(row: number): number;
  builds(row: number): number;
  runs(row: number): number;
  name(ref: number): string;
}

/** A constructor that returns the object it is given: a subclass then adds its private fields to that object. */
class Base {
  constructor(o: object) {
    // The return override: `new Planned(o, ...)` puts its private fields on `o` itself.
    return o;
  }
}

class Planned extends Base {
  #source: PlanningSource | undefined;
  #row: number;
  constructor(o: object, source: PlanningSource, row: number) {
    super(o);
    this.#source = source;
    this.#row = row;
  }
  static source(o: object): PlanningSource | undefined {
    return #source in o ? (o as Planned).#source : undefined;
  }
  static row(o: object): number {
    return #source in o ? (o as Planned).#row : -1;
  }
  static set(o: object, source: PlanningSource | undefined, row: number): boolean {
    if (!(#source in o)) return false;
    (o as Planned).#source = source;
    (o as Planned).#row = row;
    return true;
  }
}

/** Makes `port` answer planning from row `row` of `source` (see the module's note). */
export function attachPlanning(port: Port, source: PlanningSource, row: number): void {
  if (!Planned.set(port, source, row)) new Planned(port, source, row);
}

/** Makes `port` answer planning from its recipe again (its recipe was replaced). */
export function dropPlanning(port: Port): void {
  Planned.set(port, undefined, -1);
}

/** The source of `port`'s planning data, if it has one. */
export function planningSourceOf(port: Port): PlanningSource | undefined {
  return Planned.source(port);
}

/** `port`'s row of its planning source, or -1 (none). */
export function planningRowOf(port: Port): number {
  return Planned.row(port);
}

/** `port`'s row of `table`, or -1 (not a row of it, or the row's integers no longer stand for its `depends`). */
export function tableRowOf(port: Port, table: PlanningTable): number {
  const s = Planned.source(port);
  if (s === undefined || s.table !== table) return -1;
  const row = Planned.row(port);
  return s.inTable === undefined || s.inTable(row) ? row : -1;
}

/** `port.recipe.depends`, without making the recipe when the port carries its planning data. */
export function portDepends(port: Port): Depends {
  const s = Planned.source(port);
  return s !== undefined ? s.depends(Planned.row(port)) : port.recipe.depends;
}

const NO_DEFAULTS: Readonly<Record<string, boolean>> = Object.freeze({});

/**
 * The defaults of `port.recipe.options` (name → default, in their order; a shared empty object for none): what
 * identities read, without the options themselves when the port's source has the defaults alone.
 */
export function portOptionDefaults(port: Port): Readonly<Record<string, boolean>> {
  const s = Planned.source(port);
  if (s?.optionDefaults !== undefined) return s.optionDefaults(Planned.row(port));
  const options = s !== undefined ? s.options(Planned.row(port)) : port.recipe.options;
  let out: Record<string, boolean> | undefined;
  for (const k in options) {
    out ??= {};
    out[k] = options[k]!.default;
  }
  return out ?? NO_DEFAULTS;
}

/** `port.recipe.options`, without making the recipe when the port carries its planning data. */
export function portOptions(port: Port): Options {
  const s = Planned.source(port);
  return s !== undefined ? s.options(Planned.row(port)) : port.recipe.options;
}
