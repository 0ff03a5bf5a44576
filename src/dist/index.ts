/** Distributed builds: remote workers over Redis and BullMQ, with the master as the only authority. See README.md. */
export { startDistMaster, distToken, parseListen, DistMaster, type DistMasterOptions } from './master.js';
export { jobSources } from './master-job.js';
export { startWorker, DistWorker, type DistWorkerOptions } from './worker.js';
export { aptUpstreams, aptProxyConf, applyAptProxy, APT_PROXY_CONF } from './apt-proxy.js';
export { distPlugin, DistResultSchema, type DistPluginOptions, type MasterEndpoints } from './plugin.js';
export { WorkerRegistry, connectRedis, redisOptions } from './registry.js';
export {
  BlobIndex,
  sha256File,
  jailTarball,
  portTarball,
  extractTarball,
  downloadBlob,
  uploadBlob,
  authHeader,
  TransferError,
} from './blobs.js';
export {
  PROTOCOL_VERSION,
  ALIVE_MS,
  HEARTBEAT_MS,
  queueName,
  jobKey,
  jobPort,
  portFromJob,
  isSha256,
  isJobKey,
  isDebName,
  type BlobRef,
  type DistJob,
  type DistResult,
  type ResultAnswer,
  type WorkerRecord,
  type WorkerView,
} from './protocol.js';
