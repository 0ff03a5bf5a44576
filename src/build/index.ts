/** One port's build: recipe → sandboxed phases → `.deb`. See README.md. */
export { buildPort, type BuildPortInput, type BuildResult, type BuildJail, type FailureKind } from './build.js';
export {
  buildEnv,
  buildSteps,
  extractStep,
  patchStep,
  shq,
  stepArgv,
  StepTrace,
  SANDBOX_PATHS,
  type BuildScriptInput,
  type BuildStep,
} from './script.js';
export { kilnSonameMap, kilnRunDeps, packageDebs, type BuiltPackage } from './deps.js';
export { debianPortVersion, poolFileUrl, DBGSYM_DIR, type DebianBuildOutput } from './debian.js';
export { ccacheDir, ccacheRoot, CCACHE_MOUNT, type CcacheSpec } from './ccache.js';
export { systemWithCcache } from './ccache-bind.js';
export { dependencyLayer, type LayerSpec, type LayerRequest } from './layer-phase.js';
export { debBuildWords, type DebBuildWordsInput } from './debian-text.js';
export {
  installDepends,
  installPackages,
  aptLine,
  APT_ENV,
  type InstallDependsInput,
  type AptStep,
} from './install.js';
