/** What a build needs from the ports built before it: their `.deb`s, versions and the sonames they ship. */
import { debSonames, type KilnRunDep } from '../package/index.js';

/** A finished kiln package, as later builds need it. */
export interface BuiltPackage {
  readonly origin: string;
  /** `Package:` name. */
  readonly pkgname: string;
  /** Full Debian version (`1.0-k1`). */
  readonly version: string;
  /** The `.deb` on disk. */
  readonly deb: string;
}

/**
 * Maps each soname shipped by `pkgs` to the relation a dependent should carry (`libbsd (>= 0.11.7-k1)`), so that a
 * program linking a kiln-built library depends on kiln's package, not on Debian's namesake.
 */
export async function kilnSonameMap(pkgs: readonly BuiltPackage[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of pkgs) {
    for (const s of await debSonames(p.deb)) if (!out.has(s)) out.set(s, `${p.pkgname} (>= ${p.version})`);
  }
  return out;
}

/** The `Depends:` entries for a port's kiln run dependencies. */
export function kilnRunDeps(pkgs: readonly BuiltPackage[]): KilnRunDep[] {
  return pkgs.map((p) => ({ name: p.pkgname, version: p.version }));
}
