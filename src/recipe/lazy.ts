/**
 * Recipes that are parsed on first use. A tree scan loads most recipes on worker threads; copying each
 * validated recipe back (structured clone: ~20 objects and strings per port) costs the main thread about
 * as much as loading it. Instead a worker sends the recipe's text (one string) plus its cheap fields, and
 * the main thread builds a {@link lazyRecipe} (ports loaded on the main thread are kept the same way, so
 * the parsed objects die young instead of being copied by every scavenge):
 * a plain object with the recipe's keys in the schema's order: scalars, lists of strings, `depends` and
 * `options` as data; the keys holding objects (`sources`, `build`, `install`) enumerable getters that parse
 * the (already validated) text once, when first read.
 *
 * To everything that uses it, it is the recipe: same keys, same values, a plain `Object` prototype;
 * `JSON.stringify`, spread, `structuredClone` and `assert.deepStrictEqual` see data (the getters run).
 * Assigning a key turns it into a plain data property, as on any object.
 */
import type { RecipeParse } from './parse.js';
import type { Recipe } from './schema.js';
import { EAGER, KEYS, OPTIONAL_KEYS } from './shape.js';

/** Where a lazy recipe keeps its text until it is parsed (a non-enumerable own property). */
const STATE = Symbol('kiln.lazyRecipe');

interface State {
  /** The text, or a function that reads it (a scan cache keeps texts on disk until one is needed). */
  readonly text: string | (() => string);
  readonly path: string;
  readonly origin: string;
  full?: Recipe;
}

/** The parser of lazy recipes' texts: `parse.ts`'s `parseRecipe`, set when that module loads. */
let parseRecipe: ((text: string, path: string, origin: string) => RecipeParse) | undefined;

/**
 * Sets the parser lazy recipes use (`parse.ts` does, when it loads). This module holds no validator, so that a
 * plan that only reads recipes from a scan cache never loads one; code that reads a lazy recipe's parsed keys
 * (`sources`, `build`, `install`, `packages`) imports the recipe module's parsing, which sets it.
 */
export function setLazyParser(parse: (text: string, path: string, origin: string) => RecipeParse): void {
  parseRecipe = parse;
}

/** The parsed recipe behind a lazy one (parsing its text the first time). */
function full(obj: object): Recipe {
  const st = (obj as { [STATE]: State })[STATE];
  if (st.full === undefined) {
    if (parseRecipe === undefined) {
      throw new Error(
        `lazy recipe ${st.path}: read before the recipe parser was loaded (a bug in kiln: import recipe/index.js)`,
      );
    }
    const res = parseRecipe(typeof st.text === 'string' ? st.text : st.text(), st.path, st.origin);
    if (!res.recipe) {
      // The text was validated before the lazy recipe was made: a bug in kiln, reported as one.
      throw new Error(`lazy recipe ${st.path} does not parse: ${res.problems.map((p) => p.message).join('; ')}`);
    }
    st.full = res.recipe;
  }
  return st.full;
}

/** One getter/setter pair per key, shared by every lazy recipe. */
const DESCRIPTORS = new Map<string, PropertyDescriptor>(
  KEYS.filter((k) => !EAGER.has(k)).map((k) => [
    k,
    {
      enumerable: true,
      configurable: true,
      get(this: object): unknown {
        return (full(this) as Record<string, unknown>)[k];
      },
      set(this: object, v: unknown): void {
        Object.defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true });
      },
    },
  ]),
);

/** The key mask of a recipe: which optional keys it has (see {@link lazyRecipe}). */
export function recipeKeyMask(recipe: Recipe): number {
  let mask = 0;
  OPTIONAL_KEYS.forEach((k, i) => {
    if (Object.prototype.hasOwnProperty.call(recipe, k)) mask |= 1 << i;
  });
  return mask;
}

/** How to build a lazy recipe of one key mask: the keys present, in order, and which are getters. */
interface Shape {
  readonly keys: readonly string[];
  /** Per key: its getter's descriptor, or undefined for a data key (whose value comes from `values`). */
  readonly getters: readonly (PropertyDescriptor | undefined)[];
  /** The eager keys present, in order: what {@link lazyParts} returns values for. */
  readonly eager: readonly string[];
}
const shapes = new Map<number, Shape>();
function shape(mask: number): Shape {
  let s = shapes.get(mask);
  if (s === undefined) {
    const keys = KEYS.filter((k) => {
      const oi = OPTIONAL_KEYS.indexOf(k);
      return oi < 0 || (mask & (1 << oi)) !== 0;
    });
    s = {
      keys,
      getters: keys.map((k) => (EAGER.has(k) ? undefined : DESCRIPTORS.get(k)!)),
      eager: keys.filter((k) => EAGER.has(k)),
    };
    shapes.set(mask, s);
  }
  return s;
}

/** The eager keys a lazy recipe of key mask `mask` holds as data, in the order of {@link lazyParts}' values. */
export function lazyEagerKeys(mask: number): readonly string[] {
  return shape(mask).eager;
}

/** What a lazy recipe needs from a loaded recipe besides its text: its key mask and its eager values. */
export function lazyParts(recipe: Recipe): { mask: number; values: unknown[] } {
  const mask = recipeKeyMask(recipe);
  const r = recipe as unknown as Record<string, unknown>;
  return { mask, values: shape(mask).eager.map((k) => r[k]) };
}

/**
 * A recipe parsed from `text` on first use. The caller vouches that `text` is a valid recipe for
 * `origin` (it was loaded and checked elsewhere, e.g. on a worker thread) and gives what that load found
 * ({@link lazyParts}: the key mask and the eager keys' values, in order). `path` names the file in messages.
 * `text` may be a function returning the text, called once, on first read of a parsed key.
 */
export function lazyRecipe(
  text: string | (() => string),
  path: string,
  origin: string,
  mask: number,
  values: readonly unknown[],
): Recipe {
  const o: Record<string, unknown> = {};
  Object.defineProperty(o, STATE, { value: { text, path, origin } satisfies State });
  const { keys, getters } = shape(mask);
  let v = 0;
  for (let i = 0; i < keys.length; i++) {
    const g = getters[i];
    if (g === undefined) o[keys[i]!] = values[v++];
    else Object.defineProperty(o, keys[i]!, g);
  }
  return o as unknown as Recipe;
}

/** True when `recipe` is a lazy recipe whose text has not been parsed yet (for tests). */
export function isUnparsedLazyRecipe(recipe: object): boolean {
  const st = (recipe as { [STATE]?: State })[STATE];
  return st !== undefined && st.full === undefined;
}
