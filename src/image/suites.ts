/**
 * The Debian suites an image's base is made from: those of the jail it is made for, read from the sources file kiln
 * wrote into the jail (`REL`, `REL-updates` on the mirror, `REL-security` on the security archive; a frozen jail
 * has `REL` alone). A jail made before kiln wrote that file gets what {@link availableSuites} gives for its release.
 */
import fs from 'node:fs';
import path from 'node:path';
import { availableSuites, hostSecurityMirror, parseDeb822Sources } from '../debian/index.js';
import { JAIL_SOURCES } from '../jail/index.js';

/** One suite of a base, and the archive URL it is fetched from. */
export interface BaseSuite {
  readonly suite: string;
  readonly url: string;
}

/** The jail fields the suites come from (a store's jail record has them all; `path` is its root). */
export interface SuitesJail {
  readonly release: string;
  readonly mirror: string;
  readonly path?: string;
}

/** The `deb` suites of the jail's sources file under `root`, in order (empty when it has none). */
export function jailBaseSuites(root: string): BaseSuite[] {
  const file = path.join(root, JAIL_SOURCES);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return parseDeb822Sources(text, file)
    .filter((s) => s.types.includes('deb') && s.components.includes('main'))
    .flatMap((s) => s.suites.map((suite) => ({ suite, url: s.uri })));
}

/**
 * The suites of the base of an image for `jail`: the jail's own ({@link jailBaseSuites}), else those the archives
 * carry for its release (the mirror's `REL` and `REL-updates`, the host's security archive's `REL-security`).
 */
export async function imageSuites(
  jail: SuitesJail,
  log?: (l: string) => void,
  signal?: AbortSignal,
): Promise<BaseSuite[]> {
  const own = jail.path === undefined ? [] : jailBaseSuites(jail.path);
  if (own.length > 0) return own;
  const ss = await availableSuites({
    mirror: jail.mirror,
    security: hostSecurityMirror(),
    codename: jail.release,
    ...(log ? { log } : {}),
    ...(signal ? { signal } : {}),
  });
  return ss.map((s) => ({ suite: s.suite, url: s.url }));
}
