/** Debian's archive: where it is (from the host's apt sources), and later its indexes. */
export { hostMirror, hostAptSources, parseDeb822Sources, parseOneLineSources, type AptSource } from './mirror.js';
export { parseSources, parseRelations, type SourcePackage, type SourcePackageFile, type Relations, type RelationAlternative } from './sources.js';
export {
  SourcesIndex, loadSourcesIndex, updateSourcesIndex, readSourcesIndex, sourcesCacheDir, parseReleaseSha256,
  type SourcesIndexOptions, type DebianSourceFile,
} from './archive-index.js';
export { httpGetToFile, type HttpGetResult } from './http.js';
export {
  debianPort, debianOrigin, debianCategory, debianKilnVersion, upstreamVersion, type DebianStanza, type DebianPortPlace,
} from './port.js';
