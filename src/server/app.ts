/**
 * kiln's HTTP server, assembled from plugins over injected dependencies (fastify's way): tests call
 * `buildServer(...)` and `app.inject()` without a socket. Issue 7's page and JSON API come as further plugins.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { repoPlugin } from './repo-plugin.js';

/** What the server is built from. */
export interface ServerDeps {
  /** kiln's home (`--home`). */
  readonly home: string;
  /** Public base URL printed in sources lines (default: from each request's Host header). */
  readonly baseUrl?: string;
  /** fastify's request logging (default off). */
  readonly logger?: boolean;
}

/** Builds the fastify app with every plugin registered; call `.listen()` or `.inject()` on it. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false });
  await app.register(repoPlugin, { home: deps.home, ...(deps.baseUrl ? { baseUrl: deps.baseUrl } : {}) });
  app.get('/', async (_req, reply) => reply.redirect('/repo/', 302));
  await app.ready();
  return app;
}
