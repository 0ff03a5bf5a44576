/** Ports trees: registration (path, git, overlay), resolution of `-p TREE`, scanning, and option choices. */
export { resolveTree, layersOf, checkTreeName, TREE_NAME_RE } from './ref.js';
export type { TreeRef, TreeLayer } from './ref.js';
export {
  addTree,
  updateTree,
  listTrees,
  deleteTree,
  showPort,
  locatePort,
  loadArchiveLookup,
  getTree,
  treesDir,
} from './registry.js';
export type { AddTreeOptions, TreeUpdate, TreeInfo, PortSource } from './registry.js';
export { scanTree } from './scan.js';
export type { TreeScan, ScanOptions } from './scan.js';
export { SCAN_CACHE_FORMAT } from './scan-cache-index.js';
export { scanCacheDir, type ScanCacheOptions } from './scan-cache-key.js';
export { indexTree } from './merge.js';
export type { TreeIndex, IndexOptions } from './merge.js';
export { RECIPE_FILE } from './layout.js';
export {
  getOptionChoices,
  setOptionChoice,
  setOptionChoices,
  parseOptionChoice,
  describeOptions,
  loadPorts,
} from './options.js';
export type { OptionChoice, OptionView } from './options.js';
