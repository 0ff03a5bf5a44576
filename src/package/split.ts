/**
 * Several binary packages from one staged tree: the recipe's `packages:` globs, or, when it gives none, Debian's
 * usual split of a library (runtime package named after the SONAME, `-dev` with headers, static libraries, the
 * `.so` link, pkg-config and CMake files and section-3 man pages). Pure: paths in, package → paths out.
 */
import { KilnError } from '../util/errors.js';
import { splitSoname } from './shlibs.js';

/** One entry of the staged tree: a regular file, a symbolic link, or an empty directory. */
export interface StagedEntry {
  /** Path relative to the staged root, `/`-separated (`usr/lib/libmd.so.0`). */
  readonly path: string;
  readonly kind: 'file' | 'symlink' | 'dir';
  /** The SONAME of a shared library (regular ELF file with one). */
  readonly soname?: string;
  /** A symbolic link's target, as written. */
  readonly target?: string;
}

/** What each binary package of a port holds. */
export interface PackageSplit {
  /** Package name. */
  readonly name: string;
  /** `main` (the port's own name), `runtime` (a shared library's package), `dev`, or `other` (a recipe's entry). */
  readonly role: 'main' | 'runtime' | 'dev' | 'other';
  /** Entries, sorted. */
  readonly paths: readonly string[];
  /** Sonames of the public shared libraries it ships. */
  readonly sonames: readonly string[];
}

/**
 * A glob as `packages:` writes it, as a regular expression over staged paths: `*` and `?` stay inside one path
 * component, `**` spans components (`usr/include/**` is everything under usr/include), `{a,b}` alternatives.
 * A leading `/` is ignored.
 */
export function globRegExp(glob: string): RegExp {
  let re = '';
  const g = glob.replace(/^\/+/, '');
  let depth = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*' && g[i + 1] === '*') {
      i++;
      if (g[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      depth++;
      re += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      re += ')';
    } else if (c === ',' && depth > 0) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Folders whose shared libraries are public (what ldconfig and the linker search). */
const PUBLIC_LIB_RE = /^(?:usr\/)?lib(?:32|64|x32)?(?:\/[a-z0-9_]+-linux-[a-z0-9_]+)?\/[^/]+$/;

/** True for a path in a public library folder (`usr/lib/libmd.so.0`, `usr/lib/x86_64-linux-gnu/libserd-0.so.0`). */
export function isPublicLibPath(p: string): boolean {
  return PUBLIC_LIB_RE.test(p);
}

/**
 * The runtime package Debian names after a SONAME (policy 8.1): `libmd.so.0` → `libmd0`, `libserd-0.so.0` →
 * `libserd-0-0`, `libfoo2.so.1` → `libfoo2-1`, `libbar-1.2.so` → `libbar-1.2`; lower case, `_` → `-`.
 */
export function sonamePackage(soname: string): string | undefined {
  const s = splitSoname(soname);
  if (!s) return undefined;
  const [base, ver] = s;
  const name = /[0-9]$/.test(base) ? `${base}-${ver}` : `${base}${ver}`;
  const out = name.toLowerCase().replace(/_/g, '-');
  return /^[a-z0-9][a-z0-9+.-]+$/.test(out) ? out : undefined;
}

/** The `-dev` package of a library: its name without version (`libserd-0` → `libserd-dev`). */
export function devPackage(soname: string): string | undefined {
  const s = splitSoname(soname);
  if (!s) return undefined;
  const base = s[0]
    .replace(/-[0-9][0-9.]*$/, '')
    .toLowerCase()
    .replace(/_/g, '-');
  const out = `${base}-dev`;
  return /^[a-z0-9][a-z0-9+.-]+$/.test(out) ? out : undefined;
}

/** What belongs in a library's `-dev` package. */
const DEV_GLOBS = [
  'usr/include/**',
  'usr/lib/**/*.a',
  'usr/lib/*.a',
  'usr/lib/**/pkgconfig/**',
  'usr/share/pkgconfig/**',
  'usr/lib/**/cmake/**',
  'usr/lib/cmake/**',
  'usr/share/cmake/**',
  'usr/share/aclocal/**',
  'usr/share/man/man3/**',
  'usr/share/vala/**',
  'usr/share/gir-1.0/**',
].map(globRegExp);

function fail(message: string): KilnError {
  return new KilnError('KILN_E_PACKAGE', message, { hint: 'fix the packages: field of the recipe', exitCode: 1 });
}

/** The entries a glob list claims, in staged order. */
function claim(
  entries: readonly StagedEntry[],
  taken: Set<string>,
  globs: readonly RegExp[],
  also: (e: StagedEntry) => boolean = () => false,
): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (taken.has(e.path)) continue;
    if (globs.some((g) => g.test(e.path)) || also(e)) {
      out.push(e.path);
      taken.add(e.path);
    }
  }
  return out;
}

function sonamesOf(entries: readonly StagedEntry[], paths: readonly string[]): string[] {
  const set = new Set(paths);
  return [
    ...new Set(entries.filter((e) => set.has(e.path) && e.soname && isPublicLibPath(e.path)).map((e) => e.soname!)),
  ].sort();
}

/**
 * Splits a staged tree into packages. With `explicit` (the recipe's `packages:`, name → globs, in order), each
 * entry goes to the first package whose globs match it, and the rest to `main`. Without it, each public shared
 * library (regular file with a SONAME in a library folder) and the links to it named `LIB.so.*` form a runtime
 * package named after the SONAME, the development files a `-dev` package, and the rest `main`. A package left
 * empty is dropped (the main one too: a library port may be all runtime and `-dev`); a tree with no shared library
 * is one package. Throws KILN_E_PACKAGE when a recipe's package name is the name of another role's package.
 */
export function planSplit(o: {
  entries: readonly StagedEntry[];
  main: string;
  explicit?: Readonly<Record<string, readonly string[]>>;
}): PackageSplit[] {
  const entries = [...o.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const taken = new Set<string>();
  const out: PackageSplit[] = [];
  const push = (name: string, role: PackageSplit['role'], paths: string[]): void => {
    const have = out.find((p) => p.name === name);
    if (have) {
      const merged = [...have.paths, ...paths].sort();
      out[out.indexOf(have)] = { ...have, paths: merged, sonames: sonamesOf(entries, merged) };
    } else if (paths.length > 0) out.push({ name, role, paths: paths.sort(), sonames: sonamesOf(entries, paths) });
  };
  if (o.explicit && Object.keys(o.explicit).length > 0) {
    for (const [name, globs] of Object.entries(o.explicit)) {
      if (globs.length === 0) throw fail(`packages: ${name} lists no file globs`);
      const paths = claim(entries, taken, globs.map(globRegExp));
      const sonames = sonamesOf(entries, paths);
      push(
        name,
        name === o.main ? 'main' : sonames.length > 0 ? 'runtime' : /-dev$/.test(name) ? 'dev' : 'other',
        paths,
      );
    }
  } else {
    const libs = entries.filter(
      (e) => e.kind === 'file' && e.soname && isPublicLibPath(e.path) && sonamePackage(e.soname),
    );
    const bySoname = new Map<string, string[]>();
    for (const l of libs) bySoname.set(l.soname!, [...(bySoname.get(l.soname!) ?? []), l.path]);
    const sonames = [...bySoname.keys()].sort();
    for (const soname of sonames) {
      const stem = splitSoname(soname)![0];
      const dirs = new Set(bySoname.get(soname)!.map((p) => p.slice(0, p.lastIndexOf('/') + 1)));
      // The library file, and links beside it named STEM.so.* (the SONAME link and versioned names).
      const mine = (e: StagedEntry): boolean =>
        dirs.has(e.path.slice(0, e.path.lastIndexOf('/') + 1)) &&
        e.kind !== 'dir' &&
        e.path.slice(e.path.lastIndexOf('/') + 1).startsWith(`${stem}.so.`);
      push(sonamePackage(soname)!, 'runtime', claim(entries, taken, [], mine));
    }
    if (sonames.length > 0) {
      const dev = devPackage(sonames[0]!)!;
      const links = new Set(sonames.map((s) => `${splitSoname(s)![0]}.so`));
      const isLink = (e: StagedEntry): boolean =>
        e.kind !== 'dir' && isPublicLibPath(e.path) && links.has(e.path.slice(e.path.lastIndexOf('/') + 1));
      push(dev, 'dev', claim(entries, taken, DEV_GLOBS, isLink));
      // A library port whose leftovers are only documents and manual pages (libbsd.7): they go with the -dev package.
      const rest = entries.filter((e) => !taken.has(e.path));
      if (rest.length > 0 && rest.every((e) => /^usr\/share\/(doc|info|man)\//.test(e.path)))
        push(dev, 'dev', claim(entries, taken, [/.*/]));
    }
  }
  const restPaths = entries.filter((e) => !taken.has(e.path)).map((e) => e.path);
  const clash = out.find((p) => p.name === o.main && p.role !== 'main');
  if (clash && restPaths.length > 0)
    throw fail(`package ${o.main} is both the port's own package and a ${clash.role} package`);
  push(o.main, 'main', restPaths);
  return out.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : 1));
}

function rank(p: PackageSplit): number {
  return p.role === 'main' ? 0 : p.role === 'runtime' ? 1 : p.role === 'other' ? 2 : 3;
}
