/**
 * Network to Debian's archive and nothing else, for the download step of dependency installation. The command
 * runs with no network at all (its own empty network namespace); inside, a small forwarder (perl, which every
 * Debian root has) listens on `127.0.0.1:3142` and passes each connection to a unix socket bound in from the host,
 * where kiln's proxy answers. The proxy serves only URLs under the `http://` archives of the jail's own apt
 * sources (`CONNECT` only to the hosts of its `https://` ones), the rules of the distributed master's apt proxy
 * (`src/dist/apt-proxy.ts`); anything else gets 403. A worker's jail copy that goes through its master
 * (`99kiln-via-master`) has the proxy forward to the master. No DNS inside: apt names the archive to the proxy.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { hostAptSources } from '../debian/index.js';

/** The proxy as apt inside the sandbox sees it (give it as `Acquire::http::Proxy` and `https_proxy`). */
export const ARCHIVE_PROXY = 'http://127.0.0.1:3142';
/** Where the proxy's socket folder is bound inside the sandbox. */
export const ARCHIVE_SOCKET_DIR = '/run/kiln-archive';

/** The forwarder: listens on 127.0.0.1:3142, returns once listening, serves each connection in a child. */
const FORWARDER = String.raw`
use IO::Socket::INET; use IO::Socket::UNIX; use IO::Select;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 3142, Listen => 64, ReuseAddr => 1) or die "kiln forwarder: $!\n";
exit 0 if fork;
$SIG{CHLD} = "IGNORE";
while (1) {
  my $c = $l->accept or next;
  if (fork) { close $c; next }
  my $u = IO::Socket::UNIX->new(Peer => "${ARCHIVE_SOCKET_DIR}/proxy.sock") or exit 1;
  my $s = IO::Select->new($c, $u);
  while (1) {
    for my $h ($s->can_read) {
      my $n = sysread($h, my $b, 65536); exit 0 unless $n;
      my $o = $h == $c ? $u : $c; my $off = 0;
      while ($off < $n) { my $w = syswrite($o, $b, $n - $off, $off); exit 0 unless defined $w; $off += $w }
    }
  }
}`;

/** Wraps `argv` so that the forwarder runs first (the command then sees the proxy at {@link ARCHIVE_PROXY}). */
export function withForwarder(argv: readonly string[]): string[] {
  return ['sh', '-c', 'perl -e "$0" || exit 125; shift; exec "$@"', FORWARDER, 'kiln-archive', ...argv];
}

/** What the proxy lets through, from a Debian root's apt sources (and its master proxy, on a worker). */
export interface ArchiveRules {
  /** `http://HOST/PATH/` prefixes. */
  readonly http: readonly string[];
  /** `HOST:PORT` reachable by CONNECT (https archives). */
  readonly connect: readonly string[];
  /** Forward through this proxy (`http://HOST:PORT`), with this `Proxy-Authorization`. */
  readonly via?: { readonly host: string; readonly port: number; readonly auth?: string };
}

/** The rules for a jail at `root` (its sources, read from the jail itself, never from a sandbox). */
export function archiveRules(root: string): ArchiveRules {
  let uris: string[] = [];
  try {
    uris = hostAptSources(root).map((s) => `${s.uri.replace(/\/+$/, '')}/`);
  } catch {
    uris = [];
  }
  const httpU = [...new Set(uris.filter((u) => /^http:\/\/[^/\s]+\//i.test(u)).map(normHost))];
  const connect = [
    ...new Set(
      uris
        .filter((u) => /^https:\/\/[^/\s]+\//i.test(u))
        .map((u) => {
          const h = new URL(u);
          return `${h.hostname.toLowerCase()}:${h.port || '443'}`;
        }),
    ),
  ];
  let via: ArchiveRules['via'];
  try {
    const conf = fs.readFileSync(path.join(root, 'etc/apt/apt.conf.d/99kiln-via-master'), 'utf8');
    const m = /Acquire::http::Proxy\s+"http:\/\/(?:([^:@"]*):([^@"]*)@)?([^/:"]+)(?::(\d+))?\/?"/.exec(conf);
    if (m) {
      via = {
        host: m[3]!,
        port: Number(m[4] ?? 80),
        ...(m[1] !== undefined
          ? { auth: `Basic ${Buffer.from(`${m[1]}:${decodeURIComponent(m[2] ?? '')}`).toString('base64')}` }
          : {}),
      };
    }
  } catch {
    /* a local jail: direct */
  }
  return { http: httpU, connect, ...(via ? { via } : {}) };
}

function normHost(u: string): string {
  return u.replace(/^http:\/\/[^/]+/i, (h) => h.toLowerCase());
}

/** True when `url` (an absolute proxy request URL) is inside an allowed archive (no dot segments or escapes). */
export function archiveAllows(url: string, rules: ArchiveRules): boolean {
  const m = /^http:\/\/([^/?#@\s]+)(\/[^#\s]*)$/i.exec(url);
  if (!m) return false;
  const rest = m[2]!;
  if (/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i.test(rest)) return false;
  const u = normHost(url);
  return rules.http.some((p) => u.startsWith(p));
}

/** Request headers apt sends that the upstream must see (the others are dropped); the master's proxy uses them too. */
export const ARCHIVE_FORWARD_REQUEST: readonly string[] = [
  'range',
  'if-range',
  'if-modified-since',
  'if-none-match',
  'cache-control',
  'user-agent',
];
/** Response headers passed back to apt (the others are dropped); the master's proxy uses them too. */
export const ARCHIVE_FORWARD_RESPONSE: readonly string[] = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'last-modified',
  'etag',
  'date',
];

/** A running proxy on a unix socket; {@link close} stops it and drops every connection. */
export interface ArchiveProxy {
  /** URLs refused (for tests and logs). */
  readonly refused: string[];
  close(): Promise<void>;
}

/** Copies into `into` the headers of `from` named in `names` that have one string value (the others are dropped). */
function pickHeaders(from: http.IncomingHttpHeaders, names: readonly string[], into: Record<string, string>): void {
  for (const h of names) {
    const v = from[h];
    if (typeof v === 'string') into[h] = v;
  }
}

/**
 * Where an allowed request for `url` goes: straight to its archive, or through the master's proxy (`rules.via`), with
 * only the {@link ARCHIVE_FORWARD_REQUEST} headers of `req` (and no compression).
 */
function upstreamOptions(url: string, req: http.IncomingMessage, rules: ArchiveRules): http.RequestOptions {
  const method = req.method;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  pickHeaders(req.headers, ARCHIVE_FORWARD_REQUEST, headers);
  const target = new URL(url);
  return rules.via
    ? {
        host: rules.via.host,
        port: rules.via.port,
        path: url,
        method,
        headers: {
          ...headers,
          host: target.host,
          ...(rules.via.auth ? { 'proxy-authorization': rules.via.auth } : {}),
        },
      }
    : {
        host: target.hostname,
        port: Number(target.port || 80),
        path: `${target.pathname}${target.search}`,
        method,
        headers: { ...headers, host: target.host },
      };
}

/**
 * One plain proxy request: a GET or HEAD inside an allowed archive is fetched upstream and passed back (with only
 * the {@link ARCHIVE_FORWARD_RESPONSE} headers; 502 when upstream fails); anything else is refused with 403 and noted.
 */
function serveRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rules: ArchiveRules,
  refused: string[],
): void {
  const url = req.url ?? '';
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !archiveAllows(url, rules)) {
    refused.push(`${req.method} ${url}`);
    res.writeHead(403, { 'content-type': 'text/plain' }).end("kiln: only the jail's Debian archives\n");
    return;
  }
  const up = http.request(upstreamOptions(url, req, rules), (r) => {
    const out: Record<string, string> = {};
    pickHeaders(r.headers, ARCHIVE_FORWARD_RESPONSE, out);
    res.writeHead(r.statusCode ?? 502, out);
    r.pipe(res);
  });
  up.setTimeout(30 * 60_000, () => up.destroy(new Error('timeout')));
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  up.end();
}

/**
 * One `CONNECT`: a tunnel to an allowed https archive's `HOST:PORT` (never when going through a master); anything
 * else is refused with 403 and noted.
 */
function serveConnect(req: http.IncomingMessage, client: net.Socket, rules: ArchiveRules, refused: string[]): void {
  const target = (req.url ?? '').toLowerCase();
  if (!rules.connect.includes(target) || rules.via) {
    refused.push(`CONNECT ${target}`);
    client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  const [host, port] = target.split(':');
  const up = net.connect(Number(port), host!, () => {
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    up.pipe(client);
    client.pipe(up);
  });
  const drop = (): void => {
    up.destroy();
    client.destroy();
  };
  up.on('error', drop);
  client.on('error', drop);
}

/** Makes `server` listen on the unix socket `sock` (a stale one is replaced), mode 0666. */
async function listenOn(server: http.Server, sock: string): Promise<void> {
  fs.rmSync(sock, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  fs.chmodSync(sock, 0o666);
}

/** Starts the proxy on the unix socket `sock` (mode 0666: root inside the sandbox is not host root). */
export async function startArchiveProxy(sock: string, rules: ArchiveRules): Promise<ArchiveProxy> {
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => serveRequest(req, res, rules, refused));
  server.on('connect', (req: http.IncomingMessage, client: net.Socket) => serveConnect(req, client, rules, refused));
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listenOn(server, sock);
  return {
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        fs.rmSync(sock, { force: true });
      }),
  };
}
