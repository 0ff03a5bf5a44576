/**
 * A file of Debian's source archive found by its sha256 whichever release holds it: the jail's own suites first,
 * then every suite the archive carries (oldstable, stable, testing, unstable, and the security suites), each
 * through its cached `Sources` index (`HOME/cache/debian/SUITE/`, downloaded once when missing, shared with Debian
 * trees). The search reads each index as text and parses only the stanza that names the checksum, so it keeps no
 * parsed archive in memory.
 */
import fs from 'node:fs';
import { parseSources } from './sources.js';
import { archiveSuites, releaseSuites } from './suites.js';
import { updateSourcesIndex, type DebianSourceFile } from './archive-index.js';

/** Where to look. */
export interface ArchiveLookupOptions {
  readonly home: string;
  /** The Debian mirror (from `hostMirror()`). */
  readonly mirror: string;
  /** The security archive (from `hostSecurityMirror()`), when there is one. */
  readonly security?: string;
  /** The release searched first (the jail's), with its -updates and -security suites. */
  readonly prefer?: string;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The stanza of a decompressed `Sources` text that lists `sha256`, as a {@link DebianSourceFile}; undefined if none. */
export function findInSources(text: string, sha256: string, mirror: string): DebianSourceFile | undefined {
  const sha = sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha)) return undefined;
  for (let at = text.indexOf(sha); at !== -1; at = text.indexOf(sha, at + 64)) {
    const start = text.lastIndexOf('\n\n', at);
    const end = text.indexOf('\n\n', at);
    const stanza = text.slice(start === -1 ? 0 : start + 2, end === -1 ? text.length : end);
    const pkg = parseSources(stanza)[0];
    const file = pkg?.files.find((f) => f.sha256 === sha);
    if (pkg && file) {
      const dir = /^https?:\/\//.test(pkg.directory) ? pkg.directory : `${mirror}/${pkg.directory}`;
      return {
        url: `${dir}/${file.name}`,
        size: file.size,
        filename: file.name,
        sha256: sha,
        package: pkg.package,
        version: pkg.version,
      };
    }
  }
  return undefined;
}

/** The suites searched, in order: the preferred release's own, then the rest of the archive (each once). */
export async function lookupSuites(o: ArchiveLookupOptions): Promise<{ suite: string; url: string }[]> {
  const out: { suite: string; url: string }[] = [];
  const add = (suite: string, url: string | undefined): void => {
    if (url !== undefined && !out.some((x) => x.suite === suite)) out.push({ suite, url });
  };
  if (o.prefer) for (const s of releaseSuites(o.prefer)) add(s.suite, s.archive === 'main' ? o.mirror : o.security);
  for (const s of await archiveSuites(o.mirror, o.security, o.signal)) add(s.suite, s.url);
  return out;
}

/**
 * Finds the archive file with that sha256 in any suite (see the module's comment); undefined when none lists it.
 * A suite whose index cannot be had (not on this mirror, network down) is passed over and reported through `log`.
 */
export async function findArchiveFile(o: ArchiveLookupOptions, sha256: string): Promise<DebianSourceFile | undefined> {
  for (const s of await lookupSuites(o)) {
    let file: string;
    try {
      file = (
        await updateSourcesIndex({
          home: o.home,
          mirror: s.url,
          release: s.suite,
          refresh: 'missing',
          ...(o.log ? { log: o.log } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        })
      ).path;
    } catch (e) {
      o.log?.(`debian: no source index of ${s.suite}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const hit = findInSources(fs.readFileSync(file, 'utf8'), sha256, s.url);
    if (hit) {
      o.log?.(`debian: ${hit.filename} is ${hit.package} ${hit.version}'s, in ${s.suite}`);
      return hit;
    }
  }
  return undefined;
}
