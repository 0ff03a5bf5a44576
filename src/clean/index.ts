/** Cleaning what no port of any registered tree and jail needs any more: packages, distfiles, logs. See README.md. */
export { cleanPackages, bulkRunning, type CleanOptions } from './packages.js';
export { cleanDistfiles, neededDistfiles } from './distfiles.js';
export { cleanLogs } from './logs.js';
export {
  formatCleanReport,
  formatBytes,
  measure,
  type CleanKind,
  type CleanReport,
  type Removal,
  type Spared,
} from './report.js';
export { cleanCcache } from './ccache.js';
export { cleanLayers } from './layers.js';
