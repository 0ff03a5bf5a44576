/** Jails: Debian roots made with mmdebstrap, with the build user, a package manifest and an identity. */
export {
  createJail,
  updateJail,
  listJails,
  deleteJail,
  getJail,
  jailPaths,
  jailManifest,
  type CreateJailOptions,
  type UpdateJailResult,
  type JailPaths,
} from './jail.js';
export { parseDpkgQuery, jailIdentity, diffManifests, DPKG_QUERY_FORMAT } from './manifest.js';
export { checkArch, hostArch, emulationFactor, limitsForArch, EMULATION_SLOWDOWN } from './arch.js';
export { testJail, testJailHome, testCacheDir, type TestJailSpec } from './testing.js';
export { jailSuites, JAIL_SOURCES } from './sources.js';
