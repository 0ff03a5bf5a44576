/**
 * The recipe module: `port.yaml` and list files in, validated recipes and located problems out.
 * See README.md. Other modules import only from here, or from `light.ts` (this surface without the validator).
 */
export * from './light.js';
export { RecipeSchema, SourceSchema, OptionSchema, DependsSchema, BuildSchema, InstallSchema } from './schema.js';
export { parseRecipe } from './parse.js';
export {
  loadPort,
  loadPortText,
  loadPortLazy,
  loadPortParts,
  newLoadMemo,
  portFolderProblems,
} from './load.js';
export { parseRecipeLazy } from './lazy-parse.js';
