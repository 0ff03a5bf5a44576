/** What a build needs from the ports built before it: their `.deb`s, versions and the sonames they ship. */
import fs from 'node:fs';
import path from 'node:path';
import { debSonames, type KilnRunDep } from '../package/index.js';

/** Sonames per `.deb`, keyed by path, size and mtime: a bulk reads each dependency's `.deb` once, not per dependent. */
const sonameMemo = new Map<string, { key: string; sonames: Promise<string[]> }>();

function cachedSonames(deb: string): Promise<string[]> {
  let key: string;
  try {
    const st = fs.statSync(deb);
    key = `${st.size}:${st.mtimeMs}`;
  } catch {
    return debSonames(deb);
  }
  const hit = sonameMemo.get(deb);
  if (hit && hit.key === key) return hit.sonames;
  const sonames = debSonames(deb);
  sonameMemo.set(deb, { key, sonames });
  sonames.catch(() => sonameMemo.delete(deb));
  return sonames;
}

/** A finished kiln package, as later builds need it. */
export interface BuiltPackage {
  readonly origin: string;
  /** `Package:` name. */
  readonly pkgname: string;
  /** Full Debian version (`1.0-k1`). */
  readonly version: string;
  /** The `.deb` on disk (the first, for a port that made several). */
  readonly deb: string;
  /**
   * Every `.deb` the port made, when it made several (a Debian source package's binaries); absent means `[deb]`.
   * Each is named `PACKAGE_VERSION_ARCH.deb`.
   */
  readonly debs?: readonly string[];
}

/** The `.deb`s of a built package ({@link BuiltPackage.debs}, else its one `deb`) but its `-dbgsym` packages. */
export function packageDebs(p: BuiltPackage): readonly string[] {
  // Debug symbols are published (debug suite), never installed for a dependent's build.
  return (p.debs ?? [p.deb]).filter((d) => !/-dbgsym_[^/]*\.deb$/.test(d));
}

/**
 * Maps each soname shipped by `pkgs` to the relation a dependent should carry (`libbsd0 (>= 0.12.2-k1)`), so that a
 * program linking a kiln-built library depends on kiln's package, not on Debian's namesake.
 */
export async function kilnSonameMap(pkgs: readonly BuiltPackage[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of pkgs) {
    for (const deb of packageDebs(p)) {
      // A Debian source package's binaries each have their own name (its file name's first part).
      const name = p.debs ? debPackageName(deb) : p.pkgname;
      for (const s of await cachedSonames(deb)) if (!out.has(s)) out.set(s, `${name} (>= ${p.version})`);
    }
  }
  return out;
}

/** Binary packages a run dependency on a Debian source package does not mean: headers, docs, debug symbols. */
const NOT_AT_RUN_TIME = /-(dev|doc|dbg|dbgsym)$/;

/**
 * The `Depends:` entries for a port's kiln run dependencies: the package of an ordinary port; for a Debian source
 * package (several binaries), each of its binaries but `-dev`, `-doc`, `-dbg` and `-dbgsym` ones and `.udeb`s.
 */
export function kilnRunDeps(pkgs: readonly BuiltPackage[]): KilnRunDep[] {
  return pkgs.flatMap((p) => {
    if (!p.debs) return [{ name: p.pkgname, version: p.version }];
    const names = p.debs
      .filter((d) => d.endsWith('.deb'))
      .map(debPackageName)
      .filter((n) => !NOT_AT_RUN_TIME.test(n));
    return [...new Set(names)].map((name) => ({ name, version: p.version }));
  });
}

/** The package name of a `.deb` file named as dpkg names it (`NAME_VERSION_ARCH.deb`). */
export function debPackageName(file: string): string {
  return path.basename(file).split('_')[0]!;
}
