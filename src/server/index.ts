/** kiln's HTTP server: fastify app built from plugins (repositories now; the live page and API later). */
export { buildServer, type ServerDeps } from './app.js';
export { repoPlugin, repoLines, repoView, type RepoPluginOptions } from './repo-plugin.js';
export { resolveUnder, saneRelative, contentType, type Resolved } from './files.js';
