/** Debian's archive: where it is (from the host's apt sources), and later its indexes. */
export { hostMirror, hostAptSources, parseDeb822Sources, parseOneLineSources, type AptSource } from './mirror.js';
export {
  parseSources,
  parseRelations,
  type SourcePackage,
  type SourcePackageFile,
  type Relations,
  type RelationAlternative,
} from './sources.js';
export {
  SourcesIndex,
  loadSourcesIndex,
  updateSourcesIndex,
  updatePackagesIndex,
  readSourcesIndex,
  sourcesCacheDir,
  parseReleaseSha256,
  type SourcesIndexOptions,
  type DebianSourceFile,
} from './archive-index.js';
export { httpGetToFile, type HttpGetResult } from './http.js';
export {
  debianPort,
  debianOrigin,
  debianCategory,
  debianKilnVersion,
  upstreamVersion,
  type DebianStanza,
  type DebianPortPlace,
} from './port.js';
export {
  makeTreeIndex,
  writeTreeIndex,
  readTreeIndex,
  readTreeBuildIndex,
  treeIndexFiles,
  parseProvides,
  rowStanza,
  TREE_INDEX_FORMAT,
  type DebianTreeIndexData,
  type DebianTreeBuildData,
  type SourceBuildRow,
  type TreeIndexInput,
} from './tree-index.js';
export {
  archAdmits,
  profilesAdmit,
  neededBinaries,
  mentionedBinaries,
  buildDependNames,
  breakCycles,
  describeBroken,
  type DepEdge,
  type BrokenEdge,
  type BrokenPair,
  type EdgeGraph,
} from './edges.js';
export { debianBulk, type DebianBulk, type DebianBulkInput } from './bulk.js';
export { stanzaHash, debianPortLazy, type DebianHead } from './port.js';
export { debianArch } from './arch.js';
export { hostSecurityMirror } from './mirror.js';
export {
  DEBIAN_KEYRING,
  ARCHIVE_ALIASES,
  parseReleaseHead,
  releaseHead,
  resolveRelease,
  isUnstable,
  releaseSuites,
  suiteMirror,
  availableSuites,
  archiveSuites,
  getText,
  type ReleaseSuite,
  type ReleaseHead,
} from './suites.js';
export { findArchiveFile, findInSources, lookupSuites, type ArchiveLookupOptions } from './archive-lookup.js';
export { servedRelease, type ServedRelease } from './testing.js';
