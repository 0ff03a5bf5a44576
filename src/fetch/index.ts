/** Distfiles: the content-addressed cache and the fetch phase (cache, recipe URL, mirrors, Debian's archive). */
export {
  fetchDistfiles,
  distfileName,
  type DistfileSpec,
  type FetchRequest,
  type FetchOptions,
  type FetchedDistfile,
  type FetchedFrom,
  type FetchAttempt,
} from './distfiles.js';
export { DistfileCache } from './cache.js';
export {
  downloadToFile,
  checkUrl,
  type DownloadLimits,
  type DownloadPolicy,
  type DownloadResult,
  type DownloadFailureKind,
} from './download.js';
export { AllowList, blockedReason } from './address.js';
