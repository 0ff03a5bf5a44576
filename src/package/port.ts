/**
 * A port's finished staged tree into its binary packages, as debhelper would make them: the split (recipe's
 * `packages:` or the default library split), `-dbgsym` packages from the detached debug files, `copyright` and
 * `changelog.Debian.gz` in every package, Depends between the split packages with exact versions, `shlibs`,
 * `symbols` and the ldconfig trigger for shared libraries, sections, and one `.deb` each. Runs on the host after the finishing script
 * (finish.ts) ran in the sandbox; touches the untrusted tree only through stage.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { buildDeb, type MaintainerScript } from './deb.js';
import { composeDepends, shlibDepends, splitSoname, type KilnRunDep, type SonameResolver } from './shlibs.js';
import { planSplit, type PackageSplit } from './split.js';
import { changelogText, copyrightText, gzipN, portSection, readLicenseFiles } from './docs.js';
import { debugFilePath, readDebugList } from './finish.js';
import { clampTimes, listStaged, moveEntry, writeOwnFile, writeOwnLink } from './stage.js';

/** The earliest SOURCE_DATE_EPOCH kiln stamps into a package (1980-01-01): never the 1970s. */
export const MIN_SOURCE_DATE_EPOCH = 315_532_800;

/** What {@link packagePort} needs. */
export interface PackagePortInput {
  readonly origin: string;
  /** The port's own package name. */
  readonly name: string;
  /** Full Debian version (`1.0.4-k1`). */
  readonly version: string;
  /** `all` or the jail's architecture. */
  readonly arch: string;
  readonly summary: string;
  readonly description?: string;
  readonly homepage?: string;
  /** SPDX expression of the recipe. */
  readonly license?: string;
  /** The recipe's `section:` (else the category's). */
  readonly section?: string;
  /** The recipe's `packages:` (name → globs); absent: the default split. */
  readonly packages?: Readonly<Record<string, readonly string[]>>;
  /** `Name <email>`. */
  readonly maintainer: string;
  readonly identity: string;
  /** SOURCE_DATE_EPOCH; raised to {@link MIN_SOURCE_DATE_EPOCH}. */
  readonly epoch: number;
  /** Host paths: the finished staged tree, the unpacked source (license files), the finishing script's debug folder. */
  readonly destdir: string;
  readonly srcDir: string;
  readonly dbgDir: string;
  /** A fresh host folder on the same file system as `destdir` (the per-package roots are made in it). */
  readonly workDir: string;
  readonly outDir: string;
  readonly kilnRun: readonly KilnRunDep[];
  readonly systemRun: readonly string[];
  readonly kilnSonames?: ReadonlyMap<string, string | null>;
  readonly resolver: SonameResolver;
  readonly conffiles: readonly string[];
  readonly scripts: Readonly<Partial<Record<MaintainerScript, string>>>;
  /**
   * The `symbols` file of a library package (dpkg-gensymbols run in the sandbox on the package's root), or
   * undefined for none; absent: no symbols files.
   */
  readonly symbols?: (pkg: string) => Promise<string | undefined>;
  /** Fields added to the control file of every package but the `-dbgsym` ones (the identity the dist master checks). */
  readonly extra?: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What {@link packagePort} made. */
export interface PortPackages {
  /** The packages to publish, the port's own first. */
  readonly debs: readonly string[];
  /** The `-dbgsym` packages (published only when the repository carries debug symbols). */
  readonly debugDebs: readonly string[];
}

/** `SUMMARY - WHAT`, or `WHAT of PORT` when that passes 80 columns (never starting with the package's own name: lintian). */
function synopsis(summary: string, what: string, port: string): string {
  const s = `${summary} - ${what}`;
  return s.length <= 80 ? s : `${what} of ${port}`;
}

/** Section, summary and long text of one split package. */
function describe(i: PackagePortInput, p: PackageSplit): { section: string; summary: string; description?: string } {
  const main = portSection(i.origin, i.section);
  const long = (tail: string): string => `${i.description ? `${i.description.trimEnd()}\n\n` : ''}${tail}`;
  if (p.role === 'runtime')
    return {
      section: 'libs',
      summary: synopsis(i.summary, 'shared library', i.name),
      description: long(`This package holds the shared library (${p.sonames.join(', ')}).`),
    };
  if (p.role === 'dev' || (p.role === 'other' && p.name.endsWith('-dev'))) {
    return {
      section: 'libdevel',
      summary: synopsis(i.summary, 'development files', i.name),
      description: long('This package holds the headers and the files to link with the library.'),
    };
  }
  if (p.role === 'other')
    return {
      section: main,
      summary: synopsis(i.summary, `package ${p.name}`, i.name),
      ...(i.description ? { description: i.description } : {}),
    };
  return { section: main, summary: i.summary, ...(i.description ? { description: i.description } : {}) };
}

/** Builds the packages (see the module comment). Throws KILN_E_PACKAGE for a staged tree kiln cannot package. */
export async function packagePort(i: PackagePortInput): Promise<PortPackages> {
  const epoch = Math.max(i.epoch, MIN_SOURCE_DATE_EPOCH);
  const entries = listStaged(i.destdir);
  const split = planSplit({ entries, main: i.name, ...(i.packages ? { explicit: i.packages } : {}) });
  if (split.length === 0)
    throw new KilnError('KILN_E_PACKAGE', `nothing to package for ${i.origin}`, {
      hint: 'the build must install into "$DESTDIR"',
      exitCode: 1,
    });
  i.log(`packages: ${split.map((p) => `${p.name} (${p.role}, ${p.paths.length} entries)`).join(', ')}`);
  const kinds = new Map(entries.map((e) => [e.path, e.kind]));
  const roots = new Map<string, string>();
  for (const p of split) {
    const root = path.join(i.workDir, p.name);
    fs.mkdirSync(root, { mode: 0o755 });
    for (const rel of p.paths) moveEntry(i.destdir, root, rel, kinds.get(rel)!);
    roots.set(p.name, root);
  }
  // Exact-version relations between the port's own packages; other ports' sonames map through kilnSonames.
  const sibling = new Map<string, string>();
  for (const p of split) for (const s of p.sonames) sibling.set(s, `${p.name} (= ${i.version})`);
  const licenses = readLicenseFiles(i.srcDir);
  const copyright = copyrightText({
    name: i.name,
    origin: i.origin,
    ...(i.license ? { license: i.license } : {}),
    ...(i.homepage ? { source: i.homepage } : {}),
    files: licenses,
  });
  const changelog = gzipN(
    changelogText({
      source: i.name,
      version: i.version,
      origin: i.origin,
      identity: i.identity,
      maintainer: i.maintainer,
      epoch,
    }),
  );
  const debug = readDebugList(i.dbgDir);
  const scriptsTo = split.find((p) => p.role === 'main')?.name ?? split[0]!.name;
  const debs: string[] = [];
  const debugDebs: string[] = [];
  for (const p of split) {
    const root = roots.get(p.name)!;
    writeOwnFile(root, `usr/share/doc/${p.name}/copyright`, copyright);
    writeOwnFile(root, `usr/share/doc/${p.name}/changelog.Debian.gz`, changelog);
    const kiln = new Map<string, string | null>(i.kilnSonames ?? []);
    for (const [s, rel] of sibling) kiln.set(s, p.sonames.includes(s) ? null : rel);
    const shl = await shlibDepends({ destdir: root, resolver: i.resolver, kiln });
    if (shl.unresolved.length > 0)
      i.log(`${p.name}: shared libraries with no package found: ${shl.unresolved.join(', ')}`);
    const own =
      p.role === 'dev' ? split.filter((x) => x.role === 'runtime').map((x) => `${x.name} (= ${i.version})`) : [];
    const withRun = p.role === 'main' || p.role === 'runtime' || p.role === 'other';
    const depends = [
      ...own,
      ...composeDepends({
        kilnRun: withRun ? i.kilnRun : [],
        systemRun: withRun ? i.systemRun : [],
        shlibs: shl.depends,
      }),
    ];
    const shlibs = p.sonames.flatMap((s) => {
      const x = splitSoname(s);
      return x ? [`${x[0]} ${x[1]} ${p.name} (>= ${i.version})`] : [];
    });
    const d = describe(i, p);
    i.log(`${p.name}: Depends: ${depends.join(', ') || '(none)'}`);
    const paths = new Set(p.paths);
    const conffiles = i.conffiles.filter((c) => paths.has(c.replace(/^\/+/, '')));
    const dev = split.find((x) => x.role === 'dev')?.name;
    const gen = shlibs.length > 0 ? await i.symbols?.(p.name) : undefined;
    // Each library's header line is followed by the -dev package that builds against it (deb-symbols(5)).
    const symbols = gen && dev ? gen.replace(/^(\S[^\n]*\n)/gm, `$1* Build-Depends-Package: ${dev}\n`) : gen;
    clampTimes(root, epoch);
    debs.push(
      await buildDeb({
        destdir: root,
        outDir: i.outDir,
        sourceDateEpoch: epoch,
        conffiles,
        scripts: p.name === scriptsTo ? i.scripts : {},
        ...(shlibs.length > 0
          ? {
              controlFiles: {
                shlibs: `${shlibs.join('\n')}\n`,
                triggers: 'activate-noawait ldconfig\n',
                ...(symbols ? { symbols } : {}),
              },
            }
          : {}),
        ...(i.signal ? { signal: i.signal } : {}),
        control: {
          package: p.name,
          version: i.version,
          architecture: i.arch,
          maintainer: i.maintainer,
          depends,
          summary: d.summary,
          ...(d.description ? { description: d.description } : {}),
          ...(i.homepage ? { homepage: i.homepage } : {}),
          section: d.section,
          ...(i.extra ? { extra: i.extra } : {}),
        },
      }),
    );
    const mine = debug.filter((e) => paths.has(e.path));
    if (mine.length > 0)
      debugDebs.push(
        await debugPackage(
          i,
          p.name,
          mine.map((e) => e.buildId),
          epoch,
        ),
      );
  }
  return { debs, debugDebs };
}

/** `NAME-dbgsym`: the detached debug files of NAME's ELF files, as dh_strip makes it. */
async function debugPackage(i: PackagePortInput, name: string, ids: readonly string[], epoch: number): Promise<string> {
  const dname = `${name}-dbgsym`;
  const root = path.join(i.workDir, dname);
  fs.mkdirSync(root, { mode: 0o755 });
  const uniq = [...new Set(ids)].sort();
  for (const id of uniq) {
    const rel = debugFilePath(id);
    const st = fs.lstatSync(path.join(i.dbgDir, rel), { throwIfNoEntry: false });
    if (st?.isFile()) moveEntry(i.dbgDir, root, rel, 'file');
  }
  writeOwnLink(root, `usr/share/doc/${dname}`, name);
  clampTimes(root, epoch);
  return buildDeb({
    destdir: root,
    outDir: i.outDir,
    sourceDateEpoch: epoch,
    ...(i.signal ? { signal: i.signal } : {}),
    control: {
      package: dname,
      version: i.version,
      architecture: i.arch,
      maintainer: i.maintainer,
      depends: [`${name} (= ${i.version})`],
      section: 'debug',
      summary: `debug symbols for ${name}`,
      extra: { 'Auto-Built-Package': 'debug-symbols', 'Build-Ids': uniq.join(' ') },
    },
  });
}
