/** kiln's HTTP server: fastify app built from plugins (repositories, the live page and its API, logs, actions). */
export { buildServer, type ServerDeps, type ServerPlugin } from './app.js';
export { repoPlugin, repoLines, repoView, type RepoPluginOptions } from './repo-plugin.js';
export { apiPlugin, bulkSummary, type ApiPluginOptions } from './api-plugin.js';
export { logsPlugin, portLogInfo, type LogsPluginOptions } from './logs-plugin.js';
export { pagesPlugin, PAGE_ROUTES } from './pages-plugin.js';
export {
  actionsPlugin,
  kilnLauncher,
  StartBulkSchema,
  type ActionsPluginOptions,
  type KilnLauncher,
} from './actions-plugin.js';
export { LiveHub, BulkFollower, openSse, sseMessage, type LiveOptions } from './live.js';
export { resolveUnder, saneRelative, contentType, type Resolved } from './files.js';
