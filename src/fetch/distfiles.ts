/**
 * The fetch phase: make every distfile of a port present in the cache, checked by sha256. Places are tried in
 * order: the cache, the recipe's URL, each configured mirror (`BASE/FILENAME`, pbulk's MASTER_SITE_OVERRIDE), then
 * Debian's source archive (the file with that sha256 in the release's `Sources` index).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { loadConfig } from '../config/index.js';
import { findArchiveFile, hostMirror, hostSecurityMirror, type DebianSourceFile } from '../debian/index.js';
import { DistfileCache } from './cache.js';
import { downloadToFile, type DownloadLimits, type DownloadPolicy } from './download.js';
import { AllowList } from './address.js';

/** One distfile to fetch (a recipe's `sources` entry, or any file known by URL and sha256). */
export interface DistfileSpec {
  /** Upstream URL. */
  readonly url: string;
  /** Expected sha256 (64 lower-case hex digits). */
  readonly sha256: string;
  /** Name in the cache; defaults to the URL's last path segment. */
  readonly filename?: string;
}

/** What to fetch: whose distfiles they are (for messages) and the list. */
export interface FetchRequest {
  /** Who needs the files, e.g. the port's origin; named in every error. */
  readonly origin: string;
  /** The distfiles. */
  readonly sources: readonly DistfileSpec[];
}

/** Where a distfile came from. */
export type FetchedFrom = 'cache' | 'url' | 'mirror' | 'debian';

/** A distfile present in the cache. */
export interface FetchedDistfile {
  /** Its spec. */
  readonly spec: DistfileSpec;
  /** Its file name (the spec's, or the URL's last segment). */
  readonly filename: string;
  /** Absolute path of the cached, checked file. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** Which place had it. */
  readonly from: FetchedFrom;
  /** The URL it was downloaded from (absent for a cache hit). */
  readonly url?: string;
}

/** One place that was tried, and what happened there. */
export interface FetchAttempt {
  readonly where: FetchedFrom;
  readonly url: string;
  readonly outcome: string;
}

/** Options of {@link fetchDistfiles}. */
export interface FetchOptions extends DownloadLimits {
  /** kiln's home; the cache is `HOME/distfiles/`. */
  readonly home: string;
  /** Mirror base URLs tried as `BASE/FILENAME` after the recipe's URL. */
  readonly mirrors?: readonly string[];
  /** Debian archive root (from `hostMirror()`); without it Debian's archive is not tried. */
  readonly debianMirror?: string;
  /** Release whose suites' `Sources` are searched first (the jail's); then every suite of the archive. */
  readonly release?: string;
  /** Finds a file in Debian's archive by sha256; defaults to the cached `Sources` indexes of every suite (`findArchiveFile`). */
  readonly debianLookup?: (sha256: string) => Promise<DebianSourceFile | undefined>;
  /** Hosts found unreachable; they are skipped. Share one set across calls to skip them for a whole bulk. */
  readonly deadHosts?: Set<string>;
  /** Progress lines (for the port's log). */
  readonly log?: (line: string) => void;
  /**
   * Hosts, addresses and networks a download may reach although they are loopback, private or link-local;
   * default: `kiln.yaml`'s `fetch.allow_hosts` under `home`. Mirrors are always allowed.
   */
  readonly allowHosts?: readonly string[];
}

/** The file name a spec is cached under. */
export function distfileName(spec: DistfileSpec): string {
  if (spec.filename) return safeName(spec.filename) ? spec.filename : `${spec.sha256}.distfile`;
  let last = '';
  try {
    last = decodeURIComponent(new URL(spec.url).pathname.split('/').pop() ?? '');
  } catch {
    /* bad URL */
  }
  return safeName(last) ? last : `${spec.sha256}.distfile`;
}

/** A file name that stays in its folder: no slash, no NUL or control character, not `.`/`..`, not hidden. */
function safeName(n: string): boolean {
  // eslint-disable-next-line no-control-regex
  return n !== '' && n.length <= 255 && !n.startsWith('.') && !/[\/\x00-\x1f\x7f]/.test(n);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

function joinUrl(base: string, filename: string): string {
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(filename)}`;
}

/** A checksum mismatch seen on the way (the file itself went to the 0600 quarantine). */
interface Mismatch {
  url: string;
  size: number;
}

async function fetchOne(
  req: FetchRequest,
  spec: DistfileSpec,
  cache: DistfileCache,
  opts: FetchOptions,
  debianLookup: ((sha: string) => Promise<DebianSourceFile | undefined>) | undefined,
  policy: DownloadPolicy,
): Promise<FetchedDistfile> {
  const filename = distfileName(spec);
  const sha = spec.sha256.toLowerCase();
  const log = opts.log ?? ((): void => undefined);
  const hit = cache.lookup(sha);
  if (hit) {
    cache.link(sha, filename);
    log(`fetch: ${filename}: in the cache`);
    return { spec, filename, path: hit, size: fs.statSync(hit).size, from: 'cache' };
  }
  const tried: FetchAttempt[] = [];
  const mismatches: Mismatch[] = [];
  const dead = opts.deadHosts ?? new Set<string>();

  const attempt = async (where: FetchedFrom, url: string): Promise<FetchedDistfile | undefined> => {
    const host = hostOf(url);
    if (host !== '' && dead.has(host)) {
      tried.push({ where, url, outcome: 'skipped: host unreachable earlier' });
      return undefined;
    }
    opts.signal?.throwIfAborted();
    const tmp = cache.tempPath(filename);
    try {
      log(`fetch: ${filename}: trying ${url}`);
      const r = await downloadToFile(url, tmp, { ...opts, ...policy });
      if (!r.ok) {
        if (r.kind === 'aborted') opts.signal?.throwIfAborted();
        if (r.kind === 'unreachable' && host !== '') dead.add(host);
        tried.push({ where, url, outcome: r.reason });
        log(`fetch: ${filename}: ${url}: ${r.reason}`);
        return undefined;
      }
      if (r.sha256 !== sha) {
        // The bytes are untrusted and may be anything (a secret, if a route to one was missed): their hash is
        // never printed, and the file is kept only where no build and no other user can read it.
        cache.quarantine(tmp, filename);
        mismatches.push({ url, size: r.size });
        tried.push({ where, url, outcome: `sha256 mismatch (${r.size} bytes, not ${sha})` });
        log(
          `fetch: ${filename}: ${url}: CHECKSUM MISMATCH: ${r.size} bytes that do not have sha256 ${sha}; quarantined`,
        );
        return undefined;
      }
      const p = cache.adopt(tmp, sha, filename);
      log(`fetch: ${filename}: fetched ${r.size} bytes from ${url}`);
      return { spec, filename, path: p, size: r.size, from: where, url };
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  };

  const got =
    (await attempt('url', spec.url)) ??
    (await firstOf((opts.mirrors ?? []).map((m) => () => attempt('mirror', joinUrl(m, filename))))) ??
    (await fromDebian());
  if (got) return got;

  async function fromDebian(): Promise<FetchedDistfile | undefined> {
    if (!debianLookup) return undefined;
    let found: DebianSourceFile | undefined;
    try {
      found = await debianLookup(sha);
    } catch (e) {
      tried.push({
        where: 'debian',
        url: opts.debianMirror ?? '',
        outcome: `source index unavailable: ${e instanceof Error ? e.message : String(e)}`,
      });
      return undefined;
    }
    if (!found) {
      tried.push({
        where: 'debian',
        url: `${opts.debianMirror ?? ''} (every suite's Sources)`,
        outcome: 'no file with that sha256',
      });
      return undefined;
    }
    return attempt('debian', found.url);
  }

  const places = tried.map((t) => `  ${t.where}: ${t.url}: ${t.outcome}`).join('\n');
  if (mismatches.length > 0) {
    const m = mismatches[0]!;
    throw new KilnError(
      'KILN_E_CHECKSUM',
      `${req.origin}: ${filename} from ${m.url} does not have the expected sha256 ${sha} (${m.size} bytes; quarantined, readable by root only); tried:\n${places}`,
      {
        hint: "if upstream re-rolled the file on purpose, check it and update the recipe's sha256; otherwise the download was corrupted or tampered with",
        exitCode: 1,
      },
    );
  }
  throw new KilnError(
    'KILN_E_FETCH',
    `${req.origin}: ${filename} (sha256 ${sha}) was found nowhere; tried:\n${places || '  nothing (no URL, mirror or Debian archive configured)'}`,
    {
      hint: "check the recipe's url, add a mirror (kiln.yaml mirrors), or place the file in the cache by hand",
      exitCode: 1,
    },
  );
}

async function firstOf<T>(fns: readonly (() => Promise<T | undefined>)[]): Promise<T | undefined> {
  for (const f of fns) {
    const v = await f();
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * The fetch phase of a port: makes every distfile present in `HOME/distfiles/`, each checked against its sha256,
 * and returns them in the order given. Throws KILN_E_CHECKSUM when a place served a file with the wrong hash and
 * no place served the right one (the bad file is kept in `.bad/`, never cached), KILN_E_FETCH when no place had it
 * (the message lists every place tried and why it failed).
 */
export async function fetchDistfiles(req: FetchRequest, opts: FetchOptions): Promise<FetchedDistfile[]> {
  const cache = new DistfileCache(path.join(opts.home, 'distfiles'));
  const debianMirror = opts.debianMirror;
  // Every suite of the archive, the jail's release first; the security archive only with the host's own mirror.
  const security = debianMirror !== undefined && debianMirror === hostMirror() ? hostSecurityMirror() : undefined;
  const lookup =
    opts.debianLookup ??
    (debianMirror === undefined
      ? undefined
      : (sha: string) =>
          findArchiveFile(
            {
              home: opts.home,
              mirror: debianMirror,
              ...(opts.release ? { prefer: opts.release } : {}),
              ...(security ? { security } : {}),
              ...(opts.log ? { log: opts.log } : {}),
              ...(opts.signal ? { signal: opts.signal } : {}),
            },
            sha,
          ));
  const trusted = [
    ...(opts.mirrors ?? []),
    ...(debianMirror === undefined ? [] : [debianMirror]),
    ...(security ? [security] : []),
  ];
  const policy: DownloadPolicy = {
    allow: new AllowList(opts.allowHosts ?? loadConfig(opts.home).fetch.allow_hosts),
    trusted,
  };
  const out: FetchedDistfile[] = [];
  for (const spec of req.sources) out.push(await fetchOne(req, spec, cache, opts, lookup, policy));
  return out;
}
