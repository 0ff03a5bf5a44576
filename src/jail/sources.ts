/**
 * A jail's apt sources: one deb822 file, `/etc/apt/sources.list.d/debian.sources`, with a stanza per archive
 * (the mirror: `REL` and `REL-updates`; the security archive: `REL-security`), each `Signed-By` Debian's archive
 * keyring as the jail itself has it. mmdebstrap's one-line `sources.list` is removed, so apt in the jail (`kiln jail
 * update`, `apt-get build-dep` in builds) reads exactly these suites.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEBIAN_KEYRING, type ReleaseSuite } from '../debian/index.js';

/** Where the sources of a jail are, inside its root. */
export const JAIL_SOURCES = 'etc/apt/sources.list.d/debian.sources';

/** The keyring path Signed-By names: Debian's, as the root has it (`.gpg`, or the `.pgp` newer releases ship). */
function keyringIn(root: string): string | undefined {
  for (const k of [DEBIAN_KEYRING, DEBIAN_KEYRING.replace(/\.gpg$/, '.pgp')])
    if (fs.existsSync(path.join(root, k))) return k;
  return undefined;
}

/** The deb822 text of a jail's sources: one stanza per archive URL, its suites in order. */
export function jailSourcesText(root: string, suites: readonly (ReleaseSuite & { url: string })[]): string {
  const keyring = keyringIn(root);
  const byUrl = new Map<string, string[]>();
  for (const s of suites) byUrl.set(s.url, [...(byUrl.get(s.url) ?? []), s.suite]);
  return [...byUrl]
    .map(([url, ss]) =>
      [
        'Types: deb',
        `URIs: ${url}`,
        `Suites: ${ss.join(' ')}`,
        'Components: main',
        ...(keyring ? [`Signed-By: ${keyring}`] : []),
        '',
      ].join('\n'),
    )
    .join('\n');
}

/** Writes the jail's sources file and removes the one-line `sources.list` mmdebstrap wrote. */
export function writeJailSources(root: string, suites: readonly (ReleaseSuite & { url: string })[]): void {
  const file = path.join(root, JAIL_SOURCES);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jailSourcesText(root, suites));
  fs.rmSync(path.join(root, 'etc/apt/sources.list'), { force: true });
}

/** The suites a jail's sources file names (empty when it has none: a jail made before suites were written). */
export function jailSuites(root: string): string[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(root, JAIL_SOURCES), 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/^Suites:[ \t]*(.*)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)).filter(Boolean);
}
