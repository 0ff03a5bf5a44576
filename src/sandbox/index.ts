/** Sandboxes: overlayfs over a jail, commands run with bubblewrap under limits, idempotent teardown. */
export { bwrapArgv, ROOT_CAPS, DEFAULT_PATH, type BwrapSpec, type BindMount, type SandboxUser } from './argv.js';
export { LimitError, prlimitArgs, describeLimit, scaleLimits, type Limits, type LimitName } from './limits.js';
export { checkSandboxHost, type HostCheck } from './doctor.js';
export { Sandbox } from './sandbox.js';
export { createSandbox, BwrapRunner } from './overlay.js';
export {
  BUILD_USER,
  sandboxesDir,
  sandboxIds,
  resolveInside,
  diskImage,
  type JailRef,
  type SandboxCommand,
  type SandboxResult,
  type SandboxSession,
  type SandboxRunner,
  type OpenSandboxOptions,
  type CreateSandboxOptions,
  type SandboxOwner,
  type SandboxUserns,
} from './session.js';
export { FakeRunner, type FakeOutcome, type FakeScript, type FakeCall } from './fake.js';
export { cleanupStaleSandboxes, listSandboxes, type SandboxInfo } from './stale.js';
export {
  parseMounts,
  readMounts,
  mountsUnder,
  overlaysOver,
  unmountUnder,
  removeTree,
  discardTree,
  settleRemovals,
  type MountEntry,
} from './mounts.js';
export { openShell, shellArgv, shellCommand, type ShellOptions } from './shell.js';
export {
  keepSandbox,
  listKept,
  findKept,
  removeKept,
  removeAllKept,
  keptDir,
  keptShellRoot,
  type KeptSandbox,
} from './keep.js';
export {
  ARCHIVE_PROXY,
  ARCHIVE_FORWARD_REQUEST,
  ARCHIVE_FORWARD_RESPONSE,
  archiveRules,
  archiveAllows,
  startArchiveProxy,
  type ArchiveRules,
  type ArchiveProxy,
} from './archive.js';
export {
  sharedAptCache,
  promoteDownloads,
  jailPackageIndex,
  aptCacheBind,
  type PromoteResult,
} from './apt-cache.js';
export { idmapHelper, gateDir, USERNS_SIZE } from './userns.js';
