/** Packaging: a staged DESTDIR into a reproducible `.deb`, with its control file and shared-library Depends. */
export { renderControl, formatDescription, debVersion, type ControlFields } from './control.js';
export {
  buildDeb,
  MAINTAINER_SCRIPTS,
  CONTROL_FILES,
  debFileName,
  installedSizeKiB,
  md5sums,
  type BuildDebOptions,
  type MaintainerScript,
  type ControlFileName,
} from './deb.js';
export {
  shlibDepends,
  dpkgSonameResolver,
  scanElfFiles,
  splitSoname,
  composeDepends,
  debSonames,
  walkFiles,
  type SonameResolver,
  type StagedElf,
  type ShlibDepends,
  type KilnRunDep,
} from './shlibs.js';
export { readElfDynamic, isElf, type ElfDynamic } from './elf.js';
export { readElfExports, abiOfTree, debAbi, debAbiHash, type ElfExports, type AbiSummary } from './abi.js';
export {
  runLintian,
  parseLintian,
  lintianCounts,
  lintianViolations,
  LINTIAN_ALLOWED_WARNINGS,
  type LintianTag,
} from './lintian.js';
export { packagePort, MIN_SOURCE_DATE_EPOCH, type PackagePortInput, type PortPackages } from './port.js';
export { finishScript, readDebugList, debugFilePath, type FinishPaths, type DebugEntry } from './finish.js';
export {
  planSplit,
  globRegExp,
  sonamePackage,
  devPackage,
  isPublicLibPath,
  type StagedEntry,
  type PackageSplit,
} from './split.js';
export {
  portSection,
  dep5License,
  copyrightText,
  changelogText,
  changelogDate,
  readLicenseFiles,
  gzipN,
  type LicenseFile,
  type CopyrightInput,
  type ChangelogInput,
} from './docs.js';
export { listStaged, safeMkdirs, moveEntry, writeOwnFile, writeOwnLink, clampTimes } from './stage.js';
export { portSourceDateEpoch } from './epoch.js';
