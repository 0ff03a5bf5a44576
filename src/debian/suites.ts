/**
 * Debian's releases and suites as the mirror has them today: which codename `stable` is (read from the mirror's
 * `dists/stable/Release`, never hard-coded), the suites a release's jail or tree uses (`REL`, `REL-updates` on the
 * main mirror, `REL-security` on the security archive; sid has neither), and every suite the archive carries
 * (oldstable to sid, plus security), for the distfile lookup by checksum.
 */
import { KilnError } from '../util/errors.js';
import { fetchUnless404 } from './http.js';

/** Debian's archive keys, as the debian-archive-keyring package installs them (host and jails). */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The suite aliases Debian's archive keeps, oldest first (each names a codename in its Release file). */
export const ARCHIVE_ALIASES = ['oldstable', 'stable', 'testing', 'unstable'] as const;

/** One suite of a release, and which archive holds it. */
export interface ReleaseSuite {
  /** `trixie`, `trixie-updates`, `trixie-security`. */
  readonly suite: string;
  /** `main`: the Debian mirror; `security`: the security archive. */
  readonly archive: 'main' | 'security';
}

/** What a release's `Release` file says about itself. */
export interface ReleaseHead {
  readonly codename: string;
  /** `Suite:` (`stable`, `unstable`, ...). */
  readonly suite: string;
  readonly version?: string;
}

/** Reads `Codename:`, `Suite:` and `Version:` of a Release (or InRelease) text. */
export function parseReleaseHead(text: string): ReleaseHead | undefined {
  const field = (k: string): string | undefined => new RegExp(`^${k}:[ \\t]*(\\S+)`, 'm').exec(text)?.[1];
  const codename = field('Codename');
  if (!codename) return undefined;
  const version = field('Version');
  return { codename, suite: field('Suite') ?? codename, ...(version ? { version } : {}) };
}

/** GETs a small text; undefined on 404. Other failures throw KILN_E_FETCH. */
export async function getText(url: string, signal?: AbortSignal): Promise<string | undefined> {
  const res = await fetchUnless404(url, {
    signal: AbortSignal.any([AbortSignal.timeout(60_000), ...(signal ? [signal] : [])]),
    redirect: 'follow',
  });
  if (res === undefined) return undefined;
  if (!res.ok) {
    await res.body?.cancel();
    throw new KilnError('KILN_E_FETCH', `GET ${url} answered HTTP ${res.status}`, {
      hint: 'check the Debian mirror',
      exitCode: 1,
    });
  }
  return res.text();
}

const heads = new Map<string, Promise<ReleaseHead | undefined>>();

/** The head of `MIRROR/dists/SUITE/Release` (asked once per process), or undefined when the mirror has no such suite. */
export function releaseHead(mirror: string, suite: string, signal?: AbortSignal): Promise<ReleaseHead | undefined> {
  const key = `${mirror}|${suite}`;
  let p = heads.get(key);
  if (!p) {
    p = getText(`${mirror}/dists/${suite}/Release`, signal).then((t) =>
      t === undefined ? undefined : parseReleaseHead(t),
    );
    p.catch(() => heads.delete(key));
    heads.set(key, p);
  }
  return p;
}

/**
 * The codename a release name stands for on the mirror: `stable` → `trixie` today, `unstable`/`sid` → `sid`, a
 * codename → itself. Undefined `name` means `stable`. KILN_E_USAGE when the mirror has no such suite.
 */
export async function resolveRelease(mirror: string, name = 'stable', signal?: AbortSignal): Promise<string> {
  const head = await releaseHead(mirror, name, signal);
  if (!head) {
    throw new KilnError(
      'KILN_E_USAGE',
      `the Debian mirror ${mirror} has no release "${name}" (no dists/${name}/Release)`,
      {
        hint: 'give a codename such as trixie, forky or sid, or a suite such as stable or testing',
        exitCode: 2,
      },
    );
  }
  return head.codename;
}

/** True for the release that never gets -updates or -security suites. */
export function isUnstable(codename: string): boolean {
  return codename === 'sid' || codename === 'unstable' || codename === 'experimental' || codename === 'rc-buggy';
}

/**
 * The suites a jail or tree of `codename` uses, in order: the release, `-updates` and `-security` (unless
 * `updates` is false: a frozen jail; and never for sid).
 */
export function releaseSuites(codename: string, updates = true): ReleaseSuite[] {
  const out: ReleaseSuite[] = [{ suite: codename, archive: 'main' }];
  if (!updates || isUnstable(codename)) return out;
  out.push({ suite: `${codename}-updates`, archive: 'main' }, { suite: `${codename}-security`, archive: 'security' });
  return out;
}

/** The URL of a suite's archive: the mirror or the security archive (undefined when there is none). */
export function suiteMirror(s: ReleaseSuite, mirror: string, security: string | undefined): string | undefined {
  return s.archive === 'main' ? mirror : security;
}

/**
 * The suites of `codename` that the archives really carry (each `Release` is asked once per process): a suite
 * the mirror lacks (a new testing without `-updates`, a host without a security source) is left out and reported
 * through `log`. The release itself must exist (KILN_E_USAGE otherwise).
 */
export async function availableSuites(o: {
  mirror: string;
  security?: string;
  codename: string;
  updates?: boolean;
  log?: (l: string) => void;
  signal?: AbortSignal;
}): Promise<(ReleaseSuite & { url: string })[]> {
  const out: (ReleaseSuite & { url: string })[] = [];
  for (const s of releaseSuites(o.codename, o.updates ?? true)) {
    const url = suiteMirror(s, o.mirror, o.security);
    if (url === undefined) {
      o.log?.(`debian: no security archive in the host's apt sources; ${s.suite} left out`);
      continue;
    }
    const head = await releaseHead(url, s.suite, o.signal);
    if (!head) {
      if (s.archive === 'main' && s.suite === o.codename) await resolveRelease(o.mirror, o.codename, o.signal);
      o.log?.(`debian: ${url} has no ${s.suite}; left out`);
      continue;
    }
    out.push({ ...s, url });
  }
  return out;
}

/**
 * Every suite the archive carries, for finding a file by checksum whichever release holds it: the codenames of
 * oldstable, stable, testing and unstable (each once), then the security suites of those that have one.
 */
export async function archiveSuites(
  mirror: string,
  security: string | undefined,
  signal?: AbortSignal,
): Promise<{ suite: string; url: string }[]> {
  const codenames: string[] = [];
  for (const alias of ARCHIVE_ALIASES) {
    const head = await releaseHead(mirror, alias, signal).catch(() => undefined);
    if (head && !codenames.includes(head.codename)) codenames.push(head.codename);
  }
  const out = codenames.map((c) => ({ suite: c, url: mirror }));
  if (security) {
    for (const c of codenames) {
      if (isUnstable(c)) continue;
      const head = await releaseHead(security, `${c}-security`, signal).catch(() => undefined);
      if (head) out.push({ suite: `${c}-security`, url: security });
    }
  }
  return out;
}
