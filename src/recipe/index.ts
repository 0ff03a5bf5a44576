/**
 * The recipe module: `port.yaml` and list files in, validated recipes and located problems out.
 * See README.md. Other modules import only from here.
 */
export {
  RecipeSchema,
  SourceSchema,
  OptionSchema,
  DependsSchema,
  BuildSchema,
  InstallSchema,
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
  type Recipe,
  type Source,
  type RecipeOption,
} from './schema.js';
export type { Port, DebianPortSource, DebianPortFile } from './types.js';
export { parseRecipe, locateField, effectiveOptions, type RecipeParse } from './parse.js';
export {
  loadPort,
  loadPortText,
  loadPortLazy,
  loadPortParts,
  newLoadMemo,
  portFolderProblems,
  type LoadMemo,
  type PortLoad,
  type PortLoadText,
  type PortParts,
} from './load.js';
export { lazyRecipe, lazyParts, lazyEagerKeys, recipeKeyMask, isUnparsedLazyRecipe } from './lazy.js';
export { parseRecipeLazy } from './lazy-parse.js';
export { parseList, type ListParse } from './list.js';
