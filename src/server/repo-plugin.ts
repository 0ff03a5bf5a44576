/**
 * The repositories over HTTP: `/repo/` (a text index with each repository's sources line), `/api/repos` (the same
 * as JSON), and `/repo/NAME/PATH` (files of the served generation, `current`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientInfo, isRepoName, listRepos, repoDir, type RepoSummary } from '../repo/index.js';
import { contentType, resolveUnder } from './files.js';

/** Options of {@link repoPlugin}. */
export interface RepoPluginOptions {
  /** kiln's home; repositories are read from `HOME/repos`. */
  readonly home: string;
  /** Public base URL for the sources lines (default: from the request's Host). */
  readonly baseUrl?: string;
}

function baseOf(req: FastifyRequest, opts: RepoPluginOptions): string {
  return opts.baseUrl ?? `${req.protocol}://${req.host}`;
}

/** One repository as `/api/repos` shows it. */
export function repoView(r: RepoSummary, baseUrl: string) {
  const c = clientInfo(r.name, r.jail, baseUrl);
  return {
    name: r.name,
    jail: r.jail,
    tree: r.tree,
    arch: r.arch,
    current: r.current,
    generations: r.generations.map((g) => ({
      generation: g.generation,
      createdAt: g.createdAt,
      packages: g.packages,
      current: g.current,
    })),
    url: c.url,
    sourcesLine: c.sourcesLine,
    keyUrl: c.keyUrl,
    keyringPath: c.keyringPath,
    fetchKey: c.fetchKey,
  };
}

/** Text lines for one repository: its sources line and how to fetch the key. */
export function repoLines(r: RepoSummary, baseUrl: string): string[] {
  const v = repoView(r, baseUrl);
  return [
    `${r.name}  (jail ${r.jail}, tree ${r.tree}, ${r.arch}, generation ${r.current ?? 'none'})`,
    `  key:     ${v.fetchKey}`,
    `  sources: ${v.sourcesLine}`,
  ];
}

/** Registers the repository routes. */
export async function repoPlugin(app: FastifyInstance, opts: RepoPluginOptions): Promise<void> {
  // Refuse dot segments and encoded dots, slashes, backslashes and NULs before any route sees the path.
  app.addHook('onRequest', async (req, reply) => {
    const raw = (req.raw.url ?? '').split('?')[0]!;
    if (/%2e|%2f|%5c|%00/i.test(raw) || raw.split('/').some((s) => s === '..' || s === '.')) {
      return reply.code(400).type('text/plain').send('bad path\n');
    }
    return undefined;
  });
  app.get('/repo', async (_req, reply) => reply.redirect('/repo/', 301));
  app.get('/repo/', async (req, reply) => {
    const repos = listRepos(opts.home).filter((r) => r.current !== null);
    const lines =
      repos.length === 0
        ? ['no repository is published yet (`kiln bulk` publishes one)']
        : repos.flatMap((r) => [...repoLines(r, baseOf(req, opts)), '']);
    return reply.type('text/plain; charset=utf-8').send(`${lines.join('\n')}\n`);
  });
  app.get('/api/repos', async (req) => listRepos(opts.home).map((r) => repoView(r, baseOf(req, opts))));
  app.get('/repo/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) =>
    reply.redirect(`/repo/${encodeURIComponent(req.params.name)}/`, 301),
  );
  app.get(
    '/repo/:name/*',
    async (req: FastifyRequest<{ Params: { name: string; '*': string } }>, reply: FastifyReply) => {
      const { name } = req.params;
      const rel = req.params['*'] ?? '';
      if (!isRepoName(name)) return reply.code(400).type('text/plain').send('bad path\n');
      const root = path.join(repoDir(opts.home, name), 'current');
      if (rel === '') {
        const repo = listRepos(opts.home).find((x) => x.name === name && x.current !== null);
        if (!repo) return reply.code(404).type('text/plain').send('no such repository\n');
        return reply.type('text/plain; charset=utf-8').send(`${repoLines(repo, baseOf(req, opts)).join('\n')}\n`);
      }
      const r = resolveUnder(root, rel);
      if (!r.ok)
        return reply
          .code(r.status)
          .type('text/plain')
          .send(r.status === 400 ? 'bad path\n' : 'not found\n');
      return reply
        .type(contentType(rel))
        .header('content-length', r.size)
        .header('last-modified', r.mtime.toUTCString())
        .send(fs.createReadStream(r.file));
    },
  );
}
