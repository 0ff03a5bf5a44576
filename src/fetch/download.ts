/**
 * One download into a file, hashed while it streams, with a connect limit, a stall limit, an overall limit and a
 * bounded number of attempts. Failures come back as values, classified so that the caller can tell an unreachable
 * host (skip it from now on) from a missing file, a transient fault or a URL refused by policy.
 *
 * Distfile URLs come from recipes, which are untrusted. So: only `http`, `https` and `ftp` (plus a configured
 * mirror's own scheme, for URLs under that mirror); every host name is resolved here and each of its addresses
 * checked (`address.ts`) before any connection, and the connection is pinned to the checked addresses; redirects
 * are followed here, one hop at a time, each hop checked again. The transfer itself is `curl` run as `nobody` (when
 * kiln runs as root) with no new privileges and no capabilities, writing only to a pipe: it cannot read kiln's
 * home, its keys or any file the host can, and it writes nothing but the bytes it is handed.
 */
import crypto from 'node:crypto';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ExecError, run } from '../util/exec.js';
import { AllowList, blockedReason } from './address.js';

/** Limits of one download. */
export interface DownloadLimits {
  /** Time allowed to connect (DNS, TCP, TLS). Default 15 s. */
  readonly connectTimeoutMs?: number;
  /** Time allowed without receiving a byte once the body flows. Default 30 s. */
  readonly stallTimeoutMs?: number;
  /** Time allowed for the whole download of one attempt. Default 10 min. */
  readonly timeoutMs?: number;
  /** Attempts for transient failures (5xx, reset, stall); unreachable hosts and 4xx are not retried. Default 2. */
  readonly attempts?: number;
  /** Aborts the download. */
  readonly signal?: AbortSignal;
}

/** Where a download may go (see the module comment). */
export interface DownloadPolicy {
  /** The operator's exceptions to the address rules (`kiln.yaml` `fetch.allow_hosts`). */
  readonly allow?: AllowList;
  /** Base URLs of trusted mirrors: a URL under one may use its scheme (even `file:`) and any address. */
  readonly trusted?: readonly string[];
}

/** Why a download failed; `refused` is a URL the policy does not allow (nothing was connected to). */
export type DownloadFailureKind =
  | 'unreachable'
  | 'not-found'
  | 'http'
  | 'transient'
  | 'unsupported'
  | 'aborted'
  | 'refused';

/** The outcome of {@link downloadToFile}. */
export type DownloadResult =
  | { readonly ok: true; readonly sha256: string; readonly size: number }
  | { readonly ok: false; readonly kind: DownloadFailureKind; readonly reason: string };

type Failure = Extract<DownloadResult, { ok: false }>;
type Lim = Required<Omit<DownloadLimits, 'signal'>> & { signal?: AbortSignal };

const SCHEMES = new Set(['http:', 'https:', 'ftp:']);
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ftp:': '21' };
const MAX_HOPS = 10;
const NOBODY = 65534;

/** True when `href` lies under one of the trusted base URLs (both normalized by the URL parser). */
function underTrusted(u: URL, trusted: readonly string[]): boolean {
  return trusted.some((b) => {
    let base: URL;
    try {
      base = new URL(b.endsWith('/') ? b : `${b}/`);
    } catch {
      return false;
    }
    return u.href.startsWith(base.href);
  });
}

/** Checks one URL against the policy; on success, the `--resolve` pin for curl (absent: no pin needed). */
export async function checkUrl(u: URL, policy: DownloadPolicy): Promise<Failure | { ok: true; pin?: string }> {
  if (underTrusted(u, policy.trusted ?? [])) return { ok: true };
  if (!SCHEMES.has(u.protocol)) {
    return {
      ok: false,
      kind: 'refused',
      reason: `${u.protocol.replace(/:$/, '')} URLs are not allowed (only http, https and ftp; files that belong to a port ship in its folder)`,
    };
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const allow = policy.allow ?? new AllowList();
  if (allow.allowsName(host)) return { ok: true };
  let addrs: string[];
  if (net.isIP(host) !== 0) addrs = [host];
  else {
    try {
      addrs = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (e) {
      return { ok: false, kind: 'unreachable', reason: (e as NodeJS.ErrnoException).code ?? 'name lookup failed' };
    }
    if (addrs.length === 0) return { ok: false, kind: 'unreachable', reason: 'ENOTFOUND' };
  }
  for (const a of addrs) {
    const why = blockedReason(a);
    if (why !== undefined && !allow.allowsAddress(a)) {
      return {
        ok: false,
        kind: 'refused',
        reason: `${host === a ? a : `${host} resolves to ${a}`}, a ${why} address: refused (kiln.yaml fetch.allow_hosts can allow it)`,
      };
    }
  }
  if (net.isIP(host) !== 0) return { ok: true };
  const port = u.port || DEFAULT_PORT[u.protocol]!;
  return { ok: true, pin: `${host}:${port}:${addrs.map((a) => (net.isIPv6(a) ? `[${a}]` : a)).join(',')}` };
}

/** curl exit statuses meaning the host could not be reached (DNS, connect, TLS trust). */
const CURL_UNREACHABLE = new Set([5, 6, 7, 35, 51, 53, 54, 58, 59, 60, 66, 77, 80, 83, 90, 91]);

function curlArgv(url: string, pin: string | undefined, lim: Lim): [string, string[]] {
  const secs = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));
  const args = [
    '-q',
    '-sS',
    '--proto',
    '=http,https,ftp',
    '--proto-redir',
    '=http,https,ftp',
    '--max-redirs',
    '0',
    '--globoff',
    '--noproxy',
    '*',
    '--ftp-skip-pasv-ip',
    '-A',
    'kiln',
    '--connect-timeout',
    secs(lim.connectTimeoutMs),
    '--max-time',
    secs(lim.timeoutMs),
    '--speed-limit',
    '1',
    '--speed-time',
    secs(lim.stallTimeoutMs),
    '-o',
    '-',
    '-w',
    '%{stderr}\nKILN-RESULT %{response_code} %{redirect_url}\n',
    ...(pin ? ['--resolve', pin] : []),
    url,
  ];
  if (process.getuid?.() !== 0) return ['curl', args];
  return [
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', 'curl', ...args],
  ];
}

type Hop = DownloadResult | { readonly ok: 'redirect'; readonly to: string };

/** One request (no redirect followed), its body streamed into `dest` by an unprivileged curl. */
async function curlOnce(url: string, pin: string | undefined, dest: string, lim: Lim): Promise<Hop> {
  const fd = fs.openSync(
    dest,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW,
    0o600,
  );
  const hash = crypto.createHash('sha256');
  let size = 0;
  let err = '';
  const [cmd, argv] = curlArgv(url, pin, lim);
  let status: number | null;
  try {
    const r = await run(cmd, argv, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', LANG: 'C' },
      allowFailure: true,
      maxBuffer: 0,
      timeoutMs: lim.timeoutMs + 5_000,
      ...(lim.signal ? { signal: lim.signal } : {}),
      onOutput: (b, s) => {
        if (s === 'stdout') {
          fs.writeSync(fd, b);
          hash.update(b);
          size += b.length;
        } else if (err.length < 65536) err += b.toString('utf8');
      },
    });
    status = r.status;
  } catch (e) {
    if (e instanceof ExecError && e.reason === 'aborted') return { ok: false, kind: 'aborted', reason: 'aborted' };
    if (e instanceof ExecError && e.reason === 'not-found')
      return { ok: false, kind: 'unsupported', reason: 'curl is not installed' };
    return { ok: false, kind: 'transient', reason: `overall timeout after ${size} bytes` };
  } finally {
    fs.closeSync(fd);
  }
  const m = /KILN-RESULT (\d+) ?(.*)$/m.exec(err);
  const code = Number(m?.[1] ?? 0);
  const location = (m?.[2] ?? '').trim();
  const curlMsg =
    err
      .replace(/\n?KILN-RESULT.*$/m, '')
      .trim()
      .split('\n')[0] ?? '';
  if (status !== 0) {
    if (status === 28)
      return code === 0
        ? { ok: false, kind: 'unreachable', reason: 'connect timeout' }
        : { ok: false, kind: 'transient', reason: `stall or overall timeout after ${size} bytes` };
    if (CURL_UNREACHABLE.has(status ?? -1))
      return { ok: false, kind: 'unreachable', reason: curlMsg || `curl exit ${status}` };
    if (status === 78 || status === 9) return { ok: false, kind: 'not-found', reason: curlMsg || 'no such file' };
    if (status === 1) return { ok: false, kind: 'unsupported', reason: curlMsg };
    return {
      ok: false,
      kind: 'transient',
      reason: `${curlMsg || `curl exit ${status}`}${size > 0 ? ` after ${size} bytes` : ''}`,
    };
  }
  if (!url.startsWith('http')) return { ok: true, sha256: hash.digest('hex'), size };
  if (code >= 200 && code < 300) return { ok: true, sha256: hash.digest('hex'), size };
  if (code >= 300 && code < 400 && location !== '') return { ok: 'redirect', to: location };
  if (code === 404 || code === 410) return { ok: false, kind: 'not-found', reason: `HTTP ${code}` };
  return { ok: false, kind: code >= 500 || code === 429 ? 'transient' : 'http', reason: `HTTP ${code}` };
}

async function copyFile(url: string, dest: string): Promise<DownloadResult> {
  const src = fileURLToPath(url);
  if (!fs.existsSync(src)) return { ok: false, kind: 'not-found', reason: 'no such file' };
  const hash = crypto.createHash('sha256');
  let size = 0;
  const out = fs.createWriteStream(dest, { mode: 0o600 });
  for await (const chunk of fs.createReadStream(src) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => {
    out.on('error', j);
    out.end(() => r());
  });
  return { ok: true, sha256: hash.digest('hex'), size };
}

/** One attempt: the URL and each redirect hop checked against the policy, then fetched. */
async function attempt(url: string, dest: string, lim: Lim, policy: DownloadPolicy): Promise<DownloadResult> {
  let current = url;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    let u: URL;
    try {
      u = new URL(current);
    } catch {
      return { ok: false, kind: 'unsupported', reason: `not a URL: ${current}` };
    }
    const checked = await checkUrl(u, policy);
    const via = hop === 0 ? '' : ` (redirected to ${u.href})`;
    if (!checked.ok) return { ...checked, reason: `${checked.reason}${via}` };
    if (u.protocol === 'file:') return copyFile(u.href, dest);
    if (!SCHEMES.has(u.protocol))
      return { ok: false, kind: 'unsupported', reason: `${u.protocol.replace(/:$/, '')} URLs are not supported${via}` };
    const r = await curlOnce(u.href, checked.pin, dest, lim);
    if (r.ok !== 'redirect') return r;
    current = new URL(r.to, u).href;
  }
  return { ok: false, kind: 'http', reason: `more than ${MAX_HOPS} redirects` };
}

/**
 * Downloads `url` into `dest` (mode 0600, overwritten) and returns its sha256 and size, or a classified failure.
 * Never throws for network trouble. Transient failures are retried up to `attempts` times with a short pause; an
 * unreachable host, a refused URL, a 404 and other 4xx answers are not.
 */
export async function downloadToFile(
  url: string,
  dest: string,
  limits: DownloadLimits & DownloadPolicy = {},
): Promise<DownloadResult> {
  const lim: Lim = {
    connectTimeoutMs: limits.connectTimeoutMs ?? 15_000,
    stallTimeoutMs: limits.stallTimeoutMs ?? 30_000,
    timeoutMs: limits.timeoutMs ?? 600_000,
    attempts: Math.max(1, Math.min(limits.attempts ?? 2, 10)),
    ...(limits.signal ? { signal: limits.signal } : {}),
  };
  const policy: DownloadPolicy = {
    ...(limits.allow ? { allow: limits.allow } : {}),
    ...(limits.trusted ? { trusted: limits.trusted } : {}),
  };
  let last: DownloadResult = { ok: false, kind: 'transient', reason: 'no attempt made' };
  for (let i = 1; i <= lim.attempts; i++) {
    if (lim.signal?.aborted) return { ok: false, kind: 'aborted', reason: 'aborted' };
    last = await attempt(url, dest, lim, policy);
    if (last.ok || last.kind !== 'transient') return last;
    if (i < lim.attempts) await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** i, 2_000)));
  }
  return last.ok
    ? last
    : { ...last, reason: lim.attempts > 1 ? `${last.reason} (${lim.attempts} attempts)` : last.reason };
}
