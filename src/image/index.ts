/** System images: a Debian root with kiln's packages installed, packed as tar, squashfs or a raw (bootable) disk. */
export {
  buildImage,
  envSourceDateEpoch,
  IMAGE_TYPES,
  type ImageType,
  type ImageOptions,
  type ImageResult,
  type ImageJail,
} from './image.js';
export {
  ensureBase,
  baseIdentity,
  baseSpec,
  baseSourceLines,
  BOOT_PACKAGES,
  BOOTABLE_ARCHES,
  bootPackages,
  type BaseSpec,
  type BaseRoot,
} from './base.js';
export { imageSuites, jailBaseSuites, type BaseSuite, type SuitesJail } from './suites.js';
export { listPackages, type ListPackages } from './packages.js';
export { tarArgs, squashfsArgs, squashfsEnv } from './pack.js';
export {
  rawLayout,
  rawIds,
  sfdiskScript,
  syslinuxConfig,
  grubConfig,
  BOOT_LABEL,
  seededUuid,
  inodeTimeScript,
  debugfsQuote,
  rootEntries,
  type RootEntry,
  BOOT_PARTITION_MIB,
  type RawLayout,
  type RawIds,
  type PartitionSpan,
} from './raw.js';
