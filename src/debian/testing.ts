/**
 * For tests that rebuild Debian source packages: the newest release whose archive really serves every file of the
 * sources a test builds. Tests follow Debian forward (the mirror's `stable` first), but a mirror or cache may carry
 * only part of a release's pool; then the test falls back to `oldstable` (and, when the newest versions of its
 * sources sit in `-security`/`-updates` without their files, to the release alone), and says so.
 */
import fs from 'node:fs';
import { compareVersions } from '../repo/index.js';
import { hostMirror, hostSecurityMirror } from './mirror.js';
import { availableSuites, releaseHead } from './suites.js';
import { updateSourcesIndex } from './archive-index.js';
import { parseSources, type SourcePackage } from './sources.js';

/** A release a test can build its sources from. */
export interface ServedRelease {
  /** The codename. */
  readonly release: string;
  /** `undefined` when it is the mirror's stable (the default test jail); else the codename (a jail spec's `release`). */
  readonly jailRelease?: string;
  /** The tree and jail use REL-updates and REL-security too. */
  readonly updates: boolean;
  /** Each package's stanza at its highest version over the suites used (absolute pool directories for security). */
  readonly stanzas: ReadonlyMap<string, SourcePackage>;
}

async function served(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(30_000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * The newest of stable and oldstable (each with its updates first, then without) whose suites list every package
 * of `packages` with all its files served. `home` holds the index cache (`HOME/cache/debian`). Undefined if none.
 */
export async function servedRelease(
  home: string,
  packages: readonly string[],
  log: (l: string) => void = () => undefined,
): Promise<ServedRelease | undefined> {
  const mirror = hostMirror();
  const stable = (await releaseHead(mirror, 'stable'))?.codename;
  const old = (await releaseHead(mirror, 'oldstable'))?.codename;
  for (const codename of [stable, old]) {
    if (!codename) continue;
    for (const updates of [true, false]) {
      const suites = await availableSuites({ mirror, security: hostSecurityMirror(), codename, updates });
      const best = new Map<string, SourcePackage>();
      for (const s of suites) {
        const file = (await updateSourcesIndex({ home, mirror: s.url, release: s.suite, refresh: 'missing' })).path;
        for (const p of parseSources(fs.readFileSync(file, 'utf8'))) {
          if (!packages.includes(p.package)) continue;
          const have = best.get(p.package);
          const dir = s.url === mirror ? p.directory : `${s.url}/${p.directory}`;
          if (!have || compareVersions(p.version, have.version) > 0) best.set(p.package, { ...p, directory: dir });
        }
      }
      let ok = packages.every((p) => best.has(p));
      for (const p of ok ? best.values() : []) {
        for (const f of p.files) {
          const url = /^https?:/.test(p.directory) ? `${p.directory}/${f.name}` : `${mirror}/${p.directory}/${f.name}`;
          if (!(await served(url))) {
            ok = false;
            log(`${codename}${updates ? '' : ' (release alone)'}: ${url} is not served`);
            break;
          }
        }
        if (!ok) break;
      }
      if (ok)
        return { release: codename, ...(codename === stable ? {} : { jailRelease: codename }), updates, stanzas: best };
    }
  }
  return undefined;
}
