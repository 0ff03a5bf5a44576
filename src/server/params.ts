/** Checking route parameters before they reach the store or the file system. */
import type { FastifyReply } from 'fastify';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** A bulk id from a route parameter, or null (not a positive integer). */
export function parseBulkId(s: string | undefined): number | null {
  return s !== undefined && /^[1-9][0-9]{0,14}$/.test(s) ? Number(s) : null;
}

/** `CAT/NAME` from two route parameters, or null when either is not a plain name (no dots-only, no slashes). */
export function parseOrigin(cat: string | undefined, name: string | undefined): string | null {
  if (cat === undefined || name === undefined || !SEGMENT.test(cat) || !SEGMENT.test(name)) return null;
  if (cat.includes('..') || name.includes('..')) return null;
  return `${cat}/${name}`;
}

/** Sends a short text error. */
export function fail(reply: FastifyReply, status: 400 | 401 | 404 | 409, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(`${text}\n`);
}
