/** `kiln serve [--listen HOST:PORT] [--url BASE] [--token TOKEN]`: the live page, its API, the logs and the repositories over HTTP. */
import type { FastifyInstance } from 'fastify';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { listRepos } from '../../repo/index.js';
import { loadConfig } from '../../config/index.js';
import { buildServer, repoLines } from '../../server/index.js';

const HELP = `usage: kiln serve [--listen 127.0.0.1:8080] [--url BASE] [--token TOKEN]

  The live web page (bulks, builders, queue, logs tailing live, reports) at /, its JSON API under /api/, the logs
  as text under /logs/, and HOME/repos at /repo/JAIL-TREE/ (apt's layout, the served generation) with an index
  at /repo/. Listens on kiln.yaml's serve.listen (default 127.0.0.1:8080) unless --listen says otherwise. --url is
  the base URL clients reach it by (printed in the sources lines; default http://LISTEN). Read-only unless
  --token is given (or KILN_SERVE_TOKEN is set): then starting a bulk, cancelling one and retrying a failed port
  are allowed to requests with "Authorization: Bearer TOKEN". Stops on SIGINT or SIGTERM.`;

/** Parses `HOST:PORT` (IPv6 as `[::1]:8080`). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`kiln serve: --listen takes HOST:PORT, got ${s}`, 'for example --listen 127.0.0.1:8080');
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** Starts the server and prints each repository's sources line; resolves with the app once listening. */
export async function startServe(argv: string[], ctx: CliContext): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const { values, positionals } = parseCommand('serve', argv, {
    listen: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError('kiln serve takes no arguments', 'see `kiln serve --help`');
  const { host, port } = parseListen(values.listen ?? loadConfig(ctx.home).serve.listen);
  const token = values.token ?? ctx.env.KILN_SERVE_TOKEN;
  if (token !== undefined && token.length < 8)
    throw new UsageError(
      'kiln serve: --token must be at least 8 characters',
      'use a long random string, e.g. from `openssl rand -hex 16`',
    );
  // The remote workers' registry (GET /api/workers, shown on the page); it needs Redis only when kiln.yaml names one.
  const { distPlugin } = await import('../../dist/index.js');
  const app = await buildServer({
    home: ctx.home,
    ...(values.url ? { baseUrl: values.url.replace(/\/+$/, '') } : {}),
    ...(token ? { token } : {}),
    plugins: [{ plugin: distPlugin, options: { home: ctx.home } }],
  });
  await app.listen({ host, port });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const baseUrl = values.url?.replace(/\/+$/, '') ?? `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  ctx.out(
    `kiln serve: listening on ${baseUrl} (the page at ${baseUrl}/, repositories under ${ctx.home}/repos)${token ? '; actions enabled with the token' : '; read-only'}`,
  );
  const repos = listRepos(ctx.home).filter((r) => r.current !== null);
  if (repos.length === 0) ctx.out('no repository is published yet; `kiln bulk` publishes one');
  for (const r of repos) ctx.out(repoLines(r, baseUrl).join('\n'));
  return { app, baseUrl };
}

/** Handler of `kiln serve`: runs until SIGINT or SIGTERM. */
export async function serveCommand(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    ctx.out(HELP);
    return 0;
  }
  const { app } = await startServe(argv, ctx);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await app.close();
  return 0;
}
