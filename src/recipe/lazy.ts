/**
 * Recipes that are parsed on first use. A tree scan loads most recipes on worker threads; copying each
 * validated recipe back (structured clone: ~20 objects and strings per port) costs the main thread about
 * as much as loading it. Instead a worker sends the recipe's text (one string) plus the two fields that
 * planning reads for every port, `depends` and `options`, and the main thread builds a {@link lazyRecipe}:
 * a plain object with the recipe's keys in the schema's order, `depends` and `options` as data, every
 * other key an enumerable getter that parses the (already validated) text once, when first read.
 *
 * To everything that uses it, it is the recipe: same keys, same values, a plain `Object` prototype;
 * `JSON.stringify`, spread, `structuredClone` and `assert.deepStrictEqual` see data (the getters run).
 * Assigning a key turns it into a plain data property, as on any object.
 */
import { parseRecipe } from './parse.js';
import { RecipeSchema, type Recipe } from './schema.js';

/** The recipe's top-level keys in output order, and which of them may be absent (zod `optional`). */
const KEYS: readonly string[] = Object.keys(RecipeSchema.shape);
/** Keys a lazy recipe holds as data from the start. */
const EAGER = new Set(['depends', 'options']);
/** The optional keys, in order; bit i of a key mask says whether OPTIONAL_KEYS[i] is present. */
const OPTIONAL_KEYS: readonly string[] = KEYS.filter(
  (k) => (RecipeSchema.shape as Record<string, { _zod: { def: { type: string } } }>)[k]!._zod.def.type === 'optional');

/** Where a lazy recipe keeps its text until it is parsed (a non-enumerable own property). */
const STATE = Symbol('kiln.lazyRecipe');

interface State {
  readonly text: string;
  readonly path: string;
  readonly origin: string;
  full?: Recipe;
}

/** The parsed recipe behind a lazy one (parsing its text the first time). */
function full(obj: object): Recipe {
  const st = (obj as { [STATE]: State })[STATE];
  if (st.full === undefined) {
    const res = parseRecipe(st.text, st.path, st.origin);
    if (!res.recipe) {
      // The text was validated before the lazy recipe was made: a bug in kiln, reported as one.
      throw new Error(`lazy recipe ${st.path} does not parse: ${res.problems.map((p) => p.message).join('; ')}`);
    }
    st.full = res.recipe;
  }
  return st.full;
}

/** One getter/setter pair per key, shared by every lazy recipe. */
const DESCRIPTORS = new Map<string, PropertyDescriptor>(KEYS.filter((k) => !EAGER.has(k)).map((k) => [k, {
  enumerable: true,
  configurable: true,
  get(this: object): unknown { return (full(this) as Record<string, unknown>)[k]; },
  set(this: object, v: unknown): void { Object.defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true }); },
}]));

/** The key mask of a recipe: which optional keys it has (see {@link lazyRecipe}). */
export function recipeKeyMask(recipe: Recipe): number {
  let mask = 0;
  OPTIONAL_KEYS.forEach((k, i) => { if (Object.prototype.hasOwnProperty.call(recipe, k)) mask |= 1 << i; });
  return mask;
}

/** Descriptor sets by key mask, built on first use: [keys before `depends`, keys after `options`]. */
const shapes = new Map<number, [PropertyDescriptorMap, PropertyDescriptorMap]>();
function shape(mask: number): [PropertyDescriptorMap, PropertyDescriptorMap] {
  let s = shapes.get(mask);
  if (s === undefined) {
    const head: PropertyDescriptorMap = {};
    const tail: PropertyDescriptorMap = {};
    let seenEager = false;
    for (const k of KEYS) {
      if (EAGER.has(k)) { seenEager = true; continue; }
      const oi = OPTIONAL_KEYS.indexOf(k);
      if (oi >= 0 && (mask & (1 << oi)) === 0) continue;
      (seenEager ? tail : head)[k] = DESCRIPTORS.get(k)!;
    }
    s = [head, tail];
    shapes.set(mask, s);
  }
  return s;
}

/**
 * A recipe parsed from `text` on first use. The caller vouches that `text` is a valid recipe for
 * `origin` (it was loaded and checked elsewhere, e.g. on a worker thread) and gives what that load found:
 * the key mask ({@link recipeKeyMask}), `depends` and `options`. `path` names the file in messages.
 */
export function lazyRecipe(text: string, path: string, origin: string, mask: number,
  depends: Recipe['depends'], options: Recipe['options']): Recipe {
  const o = {};
  Object.defineProperty(o, STATE, { value: { text, path, origin } satisfies State });
  const [head, tail] = shape(mask);
  Object.defineProperties(o, head);
  const r = o as { depends?: unknown; options?: unknown };
  r.depends = depends;
  r.options = options;
  Object.defineProperties(o, tail);
  return o as Recipe;
}

/** True when `recipe` is a lazy recipe whose text has not been parsed yet (for tests). */
export function isUnparsedLazyRecipe(recipe: object): boolean {
  const st = (recipe as { [STATE]?: State })[STATE];
  return st !== undefined && st.full === undefined;
}
