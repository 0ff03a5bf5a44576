/** kiln's settings: `--home/kiln.yaml`, validated, defaulted and described. See README.md. */
export { ConfigSchema, LimitsSchema, HooksSchema, type Config } from './schema.js';
export { loadConfig, parseConfig, defaultConfig, describeConfig, configPath, type ConfigRow } from './load.js';
export { maintainerOf, DEFAULT_MAINTAINER } from './maintainer.js';
