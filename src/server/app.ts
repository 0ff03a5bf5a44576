/**
 * kiln's HTTP server, assembled from plugins over injected dependencies (fastify's way): tests call
 * `buildServer(...)` and `app.inject()` without a socket. Read-only unless a token is given.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { openStore, type Store } from '../store/index.js';
import { repoPlugin } from './repo-plugin.js';
import { apiPlugin } from './api-plugin.js';
import { logsPlugin } from './logs-plugin.js';
import { pagesPlugin } from './pages-plugin.js';
import { actionsPlugin, kilnLauncher, type KilnLauncher } from './actions-plugin.js';
import { LiveHub, type LiveOptions } from './live.js';

/** An extra plugin and its options (e.g. the remote workers' routes). */
export interface ServerPlugin {
  // biome-ignore lint/suspicious/noExplicitAny: each plugin has its own options type; the server passes `options` as given
  readonly plugin: FastifyPluginAsync<any>;
  readonly options?: Record<string, unknown>;
}

/** What the server is built from. */
export interface ServerDeps {
  /** kiln's home (`--home`). */
  readonly home: string;
  /** Public base URL printed in sources lines (default: from each request's Host header). */
  readonly baseUrl?: string;
  /** fastify's request logging (default off). */
  readonly logger?: boolean;
  /** The state database (default: opened on `home`, closed with the app). */
  readonly store?: Store;
  /** Enables the actions (start, cancel, retry), each requiring `Authorization: Bearer TOKEN`. */
  readonly token?: string;
  /** Starts `kiln ARGS` for the actions (default: this process's own kiln entry point). */
  readonly launch?: KilnLauncher;
  /** Following running bulks (poll intervals). */
  readonly live?: LiveOptions;
  /** Further plugins, registered after kiln's own. */
  readonly plugins?: readonly ServerPlugin[];
}

/** Refuses dot segments and encoded dots, slashes, backslashes and NULs before any route sees the path. */
function refuseTraversal(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const raw = (req.raw.url ?? '').split('?')[0]!;
    if (/%2e|%2f|%5c|%00/i.test(raw) || raw.includes('\\') || raw.split('/').some((s) => s === '..' || s === '.')) {
      return reply.code(400).type('text/plain').send('bad path\n');
    }
    return undefined;
  });
}

/** Builds the fastify app with every plugin registered; call `.listen()` or `.inject()` on it. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  // Open SSE streams would hold close() forever: close every connection when the app closes.
  const app = Fastify({ logger: deps.logger ?? false, forceCloseConnections: true });
  const store = deps.store ?? openStore(deps.home);
  const hub = new LiveHub(store, deps.home, deps.live);
  app.addHook('onClose', async () => {
    hub.close();
    if (!deps.store) store.close();
  });
  refuseTraversal(app);
  await app.register(repoPlugin, { home: deps.home, ...(deps.baseUrl ? { baseUrl: deps.baseUrl } : {}) });
  await app.register(apiPlugin, { home: deps.home, store, hub });
  await app.register(logsPlugin, {
    home: deps.home,
    store,
    ...(deps.live?.pollMs ? { pollMs: deps.live.pollMs } : {}),
  });
  await app.register(pagesPlugin);
  if (deps.token !== undefined) {
    const launch =
      deps.launch ?? kilnLauncher([process.execPath, ...process.execArgv, process.argv[1] ?? 'kiln'], deps.home);
    await app.register(actionsPlugin, { store, token: deps.token, launch });
  }
  for (const p of deps.plugins ?? []) await app.register(p.plugin, p.options ?? {});
  app.get('/api', async () => ({ actions: deps.token !== undefined }));
  await app.ready();
  return app;
}
