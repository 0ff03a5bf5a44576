/** Signed apt repositories: the index model, publishing generations atomically, rollback, and client info. */
export { parseControl, renderControl, controlValue, compareVersions, type ControlField } from './control.js';
export {
  renderPackages,
  renderStanza,
  renderRelease,
  sortEntries,
  poolPath,
  releaseDate,
  releaseValidUntil,
  formatReleaseDate,
  parseReleaseSha256,
  entryIdentity,
  type PackageEntry,
  type IndexFile,
  type ReleaseInfo,
} from './model.js';
export { controlFromBytes, controlWithDpkg } from './deb.js';
export { PoolStore, type DebRecord, type ScannedDeb } from './pool.js';
export { scanDebs, ingestAll, type ScanResult } from './scan.js';
export { ingestDeb, type Ingested } from './ingest.js';
export { packagesVariants, xzCompress, xzArgs, XZ_BLOCK } from './indexes.js';
export {
  GpgSigner,
  keysDir,
  prepareKeyDir,
  rotateKey,
  type Rotation,
  type Signer,
  type PublicKey,
  type KeyAlgorithm,
} from './signer.js';
export { FsPublishedStorage, type PublishedStorage } from './storage.js';
export {
  KEYRING_FILE,
  KEYRING_ASC_FILE,
  debugSuite,
  repoName,
  parseRepoName,
  migrateRepoNames,
  isRepoName,
  reposDir,
  repoDir,
  currentGeneration,
  describeRepo,
  listRepos,
  listGenerations,
  rollback,
  repoInfo,
  clientInfo,
  acquireLock,
  currentDebs,
  type PublishedDeb,
  type RepoMeta,
  type GenerationMeta,
  type GenerationInfo,
  type RepoSummary,
  type RepoClientInfo,
} from './generations.js';
export {
  publish,
  verifyGeneration,
  isDebugPackage,
  type PublishOptions,
  type PublishDeb,
  type PublishResult,
} from './publish.js';
