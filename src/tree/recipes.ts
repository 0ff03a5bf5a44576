/**
 * The recipe module's loaders, imported on first need. The tree module imports only the validator-free part of the
 * recipe module (`recipe/light.ts`) statically: a scan whose recipes all stand in its scan cache (a no-op plan)
 * never loads the validator (zod and the schema: ~0.15 s of CPU); a scan that has recipes to load awaits this first.
 */
/** What the tree module calls to load recipes (`recipe/load.ts`). A type only: nothing is imported here. */
export type RecipeLoaders = Pick<
  typeof import('../recipe/index.js'),
  'loadPortLazy' | 'loadPortParts' | 'newLoadMemo' | 'loadPort'
>;

let loaders: RecipeLoaders | undefined;

/** The recipe loaders (importing the recipe module the first time). */
export async function recipeLoaders(): Promise<RecipeLoaders> {
  loaders ??= await import('../recipe/index.js');
  return loaders;
}
