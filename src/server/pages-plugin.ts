/**
 * The page: every page URL answers the same HTML shell, whose script draws the page from the JSON API and keeps it
 * live by Server-Sent Events. `/static/NAME` serves the shell's script and stylesheet (only known names).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { webAsset } from '../web/index.js';
import { fail } from './params.js';

/** URLs that show the page. */
export const PAGE_ROUTES = [
  '/',
  '/bulks',
  '/bulks/:id',
  '/bulks/:id/ports/:cat/:name',
  '/ports/:cat/:name',
  '/repos',
  '/repos/:name',
] as const;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

/** Registers the page routes. */
export async function pagesPlugin(app: FastifyInstance): Promise<void> {
  const shell = (_req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const a = webAsset('index.html')!;
    return reply.type(a.type).header('content-security-policy', CSP).header('cache-control', 'no-cache').send(a.body);
  };
  for (const r of PAGE_ROUTES) app.get(r, async (req, reply) => shell(req, reply));
  app.get('/static/:file', async (req: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const a = webAsset(req.params.file);
    if (!a) return fail(reply, 404, 'not found');
    return reply
      .type(a.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(a.body);
  });
}
