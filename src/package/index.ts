/** Packaging: a staged DESTDIR into a reproducible `.deb`, with its control file and shared-library Depends. */
export { renderControl, formatDescription, debVersion, type ControlFields } from './control.js';
export { buildDeb, MAINTAINER_SCRIPTS, debFileName, installedSizeKiB, md5sums, type BuildDebOptions, type MaintainerScript } from './deb.js';
export {
  shlibDepends, dpkgSonameResolver, scanElfFiles, splitSoname, composeDepends, debSonames, walkFiles,
  type SonameResolver, type StagedElf, type ShlibDepends, type KilnRunDep,
} from './shlibs.js';
export { readElfDynamic, isElf, type ElfDynamic } from './elf.js';
export { readElfExports, abiOfTree, debAbi, debAbiHash, type ElfExports, type AbiSummary } from './abi.js';
