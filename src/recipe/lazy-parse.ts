/**
 * Parsing a recipe into a lazy one (`lazy.ts`): validated whole, its data keys built, the keys holding objects
 * built from the text when first read.
 */
import { lazyParts, lazyRecipe, lazyEagerKeys } from './lazy.js';
import { parseEager, type RecipeParse } from './parse.js';
import type { Recipe } from './schema.js';
import { OPTIONAL_KEYS } from './shape.js';

/**
 * {@link parseRecipe} returning a lazy recipe: the keys it holds as data are validated and built, the
 * others (`sources`, `build`, `install`) only validated, and built from `text` when first read. Same
 * verdict and problems as {@link parseRecipe}, and the recipe equals its recipe (the tree scanner uses it).
 */
export function parseRecipeLazy(text: string, path: string, origin: string): RecipeParse {
  const res = parseEagerParts(text, path, origin);
  if (!res.recipe) return { problems: res.problems };
  return { recipe: lazyRecipe(text, path, origin, res.recipe.mask, res.recipe.values), problems: res.problems };
}

/** What {@link parseEagerParts} gives for a valid recipe: a lazy recipe's parts, and what loading reads. */
export interface EagerParts {
  readonly mask: number;
  readonly values: readonly unknown[];
  readonly patches: readonly string[];
  readonly name?: string;
  readonly depends: Recipe['depends'];
}

/** {@link parseRecipeLazy} returning the parts of the lazy recipe instead of making it. */
export function parseEagerParts(
  text: string,
  path: string,
  origin: string,
): { recipe?: EagerParts; problems: RecipeParse['problems'] } {
  const res = parseEager(text, path, origin);
  let mask: number;
  let values: unknown[];
  let get: (k: string) => unknown;
  if (res.recipe !== undefined) {
    ({ mask, values } = lazyParts(res.recipe));
    const r = res.recipe as unknown as Record<string, unknown>;
    get = (k) => r[k];
  } else if (res.eager !== undefined) {
    const eager = res.eager;
    mask = 0;
    for (let i = 0; i < OPTIONAL_KEYS.length; i++) if (eager[OPTIONAL_KEYS[i]!] !== undefined) mask |= 1 << i;
    const keys = lazyEagerKeys(mask);
    values = new Array<unknown>(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = eager[keys[i]!];
    get = (k) => eager[k];
  } else return { problems: res.problems };
  const name = get('name') as string | undefined;
  return {
    recipe: {
      mask,
      values,
      patches: get('patches') as string[],
      depends: get('depends') as Recipe['depends'],
      ...(name !== undefined ? { name } : {}),
    },
    problems: res.problems,
  };
}
