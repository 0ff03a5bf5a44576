/** QA as Debian checks packages: lintian, the install test, the QA phase of a build. See README.md. */
export {
  parseLintian,
  countBySeverity,
  runLintian,
  hostSandboxArgv,
  type LintianTag,
  type LintianResult,
  type Severity,
} from './lintian.js';
export { installTest, allowedLeftover, type InstallResult, type InstallTestOptions } from './install.js';
export { runQa, qaReportPath, readQaReport, KILN_PACKAGING_TAGS, type QaReport, type QaOptions } from './run.js';
export {
  runAutopkgtest,
  classify,
  type AutopkgtestResult,
  type AutopkgtestCase,
  type AutopkgtestSource,
} from './autopkgtest.js';
export { parseTestsControl, skipReason, testDepends, type AutopkgTest } from './autopkgtest-control.js';
export { withQa, bulkQa, debsIn, debianSource, type WithQaOptions } from './phase.js';
