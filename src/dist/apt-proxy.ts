/**
 * Debian's archive through the master: workers' sandboxes install `depends.system` with apt, and in a farm behind a
 * firewall the workers reach only the master. The master acts as an HTTP proxy for apt (`Acquire::http::Proxy`),
 * restricted to the `http://` archives named in its jail's own apt sources, and authenticated with the shared
 * token (apt sends it as `Proxy-Authorization: Basic`). A worker writes the proxy setting into its own copy of the
 * jail; the jail's sources and package lists stay as they are, since apt still names the archive in each request.
 * No mirror host name is written anywhere: both sides read it from the jail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { hostAptSources, type AptSource } from '../debian/index.js';
import { ARCHIVE_FORWARD_REQUEST, ARCHIVE_FORWARD_RESPONSE } from '../sandbox/index.js';

/** The URL prefix proxied requests are routed under (`http://HOST/PATH` → `/dist/apt/HOST/PATH`). */
export const APT_PROXY_PREFIX = '/dist/apt/';

/** The file a worker writes into its jail copy. */
export const APT_PROXY_CONF = 'etc/apt/apt.conf.d/99kiln-via-master';

/** The `http://` archive URIs (each ending in `/`) of a Debian root's apt sources; `https://` and others are left out. */
export function aptUpstreams(root: string): string[] {
  let sources: AptSource[];
  try {
    sources = hostAptSources(root);
  } catch {
    return [];
  }
  return [...new Set(sources.map((x) => `${x.uri}/`).filter((u) => /^http:\/\/[^/\s]+/i.test(u)))];
}

/** Fastify's `rewriteUrl`: a proxy request (`GET http://HOST/PATH`) is routed to `/dist/apt/HOST/PATH`. */
export function aptProxyRewrite(url: string | undefined): string {
  if (!url) return '/';
  const m = /^http:\/\/([^/?#]+)(\/[^#]*)?$/i.exec(url);
  return m ? `${APT_PROXY_PREFIX}${m[1]!.toLowerCase()}${m[2] ?? '/'}` : url;
}

/** The upstream URL of a routed proxy path, or undefined when it is outside every allowed archive. */
export function aptUpstreamUrl(routed: string, upstreams: readonly string[]): string | undefined {
  if (!routed.startsWith(APT_PROXY_PREFIX)) return undefined;
  const url = `http://${routed.slice(APT_PROXY_PREFIX.length)}`;
  const rest = url.replace(/^http:\/\/[^/]+/, '');
  if (/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i.test(rest)) return undefined;
  const norm = (u: string): string => u.replace(/^http:\/\/[^/]+/i, (h) => h.toLowerCase());
  return upstreams.some((u) => url.startsWith(norm(u))) ? url : undefined;
}

/**
 * Registers `GET /dist/apt/*` on a scope whose hooks already checked the token: the request goes to the archive
 * (conditional and range headers passed on), the answer streams back. Anything outside `upstreams` gets 403.
 */
export function registerAptProxy(scope: FastifyInstance, upstreams: readonly string[]): void {
  scope.get(`${APT_PROXY_PREFIX}*`, async (req, reply) => {
    const target = aptUpstreamUrl(req.url, upstreams);
    if (!target)
      return reply.code(403).send({ error: "this master proxies only the archives of its jail's apt sources" });
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    for (const h of ARCHIVE_FORWARD_REQUEST) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    let res: Response;
    try {
      res = await fetch(target, { headers, redirect: 'follow', signal: AbortSignal.timeout(30 * 60_000) });
    } catch (e) {
      return reply
        .code(502)
        .send({ error: `the archive is unreachable from the master: ${e instanceof Error ? e.message : String(e)}` });
    }
    reply.code(res.status);
    for (const h of ARCHIVE_FORWARD_RESPONSE) {
      const v = res.headers.get(h);
      if (v !== null) reply.header(h, v);
    }
    if (!res.body || res.status === 304 || res.status === 204) {
      await res.body?.cancel();
      return reply.send();
    }
    return reply.send(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream));
  });
}

/** The apt setting a worker puts in its jail copy: the master as apt's HTTP proxy, the token as its password. */
export function aptProxyConf(master: string, token: string): string | undefined {
  const m = /^http:\/\/([^/]+)\/?$/i.exec(master.replace(/\/+$/, ''));
  if (!m) return undefined;
  return (
    `// written by kiln worker: Debian's archive through the master (see docs/distributed.md)\n` +
    `Acquire::http::Proxy "http://kiln:${encodeURIComponent(token)}@${m[1]}/";\n`
  );
}

/**
 * Makes the jail copy at `root` use the master as apt's proxy (or, with `conf` undefined, go direct): the file is
 * rewritten only when it changes, mode 0600 (the build user cannot read the token).
 */
export function applyAptProxy(root: string, conf: string | undefined): void {
  const file = path.join(root, APT_PROXY_CONF);
  let now: string | undefined;
  try {
    now = fs.readFileSync(file, 'utf8');
  } catch {
    now = undefined;
  }
  if (now === conf) return;
  if (conf === undefined) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, conf, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The password of apt's proxy credentials (`Proxy-Authorization: Basic base64(USER:TOKEN)`). */
export function proxyPassword(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const s = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = s.indexOf(':');
  if (i < 0) return undefined;
  try {
    return decodeURIComponent(s.slice(i + 1));
  } catch {
    return s.slice(i + 1);
  }
}
