/**
 * The recipe module without its validator: what code that only reads recipes already validated (a scan cache's,
 * a worker's) needs. Importing it loads neither zod nor the schema, which costs ~0.15 s of a no-op plan's CPU;
 * everything here is also exported by `index.ts`, the module's whole surface. `light.test.ts` checks that no
 * module reached from here (or from the tree module and `bulk -n`'s command) loads the validator.
 */
export {
  PACKAGE_NAME_RE,
  DEB_RELATION_RE,
  VERSION_RE,
  ORIGIN_RE,
  OPTION_NAME_RE,
  DEB_WORD_RE,
  ARCHES,
  BUILD_SYSTEMS,
  MAINTAINER_SCRIPTS,
  DEBIAN_SECTIONS,
  versionProblem,
} from './names.js';
export type { Recipe, Source, RecipeOption } from './schema.js';
export type { Port, DebianPortSource, DebianPortFile } from './types.js';
export type { RecipeParse } from './parse.js';
export type { LoadMemo, PortLoad, PortLoadText, PortParts } from './load.js';
export { effectiveOptions, locateField } from './read.js';
export { lazyRecipe, lazyParts, lazyEagerKeys, recipeKeyMask, isUnparsedLazyRecipe } from './lazy.js';
export { parseList, type ListParse } from './list.js';
