/**
 * Debian source packages as kiln ports: the origin a source package gets (`SECTION/SOURCE`), and the {@link Port}
 * kiln builds it as, either straight from the archive or through a user's overlay recipe (`build.system: debian`)
 * that adds patches, options and a revision. Pure: no disk, no network.
 */
import crypto from 'node:crypto';
import type { DebianPortSource, Port, Recipe } from '../recipe/index.js';

/** The subset of a parsed `Sources` stanza a port needs (structural: `SourcePackage` fits). */
export interface DebianStanza extends DebianPortSource {
  /** Section (`utils`, `libs`, `contrib/net`, …). */
  readonly section: string;
  /** Architectures it builds for. */
  readonly architecture?: readonly string[];
  /** Upstream homepage, or empty. */
  readonly homepage?: string;
  /** {@link stanzaHash} of it, when known already (the tree index keeps it). */
  readonly hash?: string;
}

/** The category of a source package's origin: the last part of its section (`contrib/net` → `net`). */
export function debianCategory(section: string): string {
  const last = section.split('/').pop() ?? '';
  return /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(last) ? last : 'misc';
}

/** The origin of a source package: `CATEGORY/SOURCE` (e.g. `utils/jq`). */
export function debianOrigin(stanza: Pick<DebianStanza, 'section' | 'package'>): string {
  return `${debianCategory(stanza.section)}/${stanza.package}`;
}

/** The `.deb` version kiln gives a rebuilt source package: the archive's, then `+kilnREVISION` (sorts above it). */
export function debianKilnVersion(archiveVersion: string, revision: number): string {
  return `${archiveVersion}+kiln${revision}`;
}

/** The upstream part of a Debian version (no epoch, no Debian revision): `1:2.3-4` → `2.3`. */
export function upstreamVersion(version: string): string {
  const noEpoch = version.replace(/^[0-9]+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  return dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
}

/** Where a Debian port stands on disk (the tree's folder: it has no recipe file of its own). */
export interface DebianPortPlace {
  /** The tree layer's name. */
  readonly layer: string;
  /** A folder standing for the port (the tree's cache folder; bound read-only into builds). */
  readonly dir: string;
  /** The file problems of this port are reported against (the tree's cached `Sources`). */
  readonly path: string;
}

function portSource(s: DebianStanza): DebianPortSource {
  return { package: s.package, version: s.version, directory: s.directory, files: s.files, binary: s.binary,
    buildDepends: s.buildDepends, buildDependsArch: s.buildDependsArch, buildDependsIndep: s.buildDependsIndep };
}

/** sha256 of what identifies a source package in the archive: name, version, and each file's name and sha256. */
export function stanzaHash(s: Pick<DebianPortSource, 'package' | 'version' | 'files'>): string {
  const h = crypto.createHash('sha256');
  h.update(`debian\0${s.package}\0${s.version}\0`);
  for (const f of s.files) h.update(`${f.name}\0${f.sha256}\0`);
  return h.digest('hex');
}

const NONE: readonly never[] = Object.freeze([]);
const ARCHIVE_BUILD = Object.freeze({ system: 'debian', configure_args: NONE, make_args: NONE, env: Object.freeze({}),
  parallel: true, limits: Object.freeze({}), deb_build_options: NONE, deb_build_profiles: NONE });
const ARCHIVE_INSTALL = Object.freeze({ conffiles: NONE });

/** The recipe of an archive port with no overlay recipe: `build.system: debian`, revision 1, nothing else. */
function archiveRecipe(h: DebianHead, dependsBuild: readonly string[]): Recipe {
  const arch = h.architecture ?? [];
  return {
    version: upstreamVersion(h.version),
    revision: 1,
    summary: `Debian source package ${h.package}`,
    arch: arch.length > 0 && arch.every((a) => a === 'all') ? 'all' : 'any',
    sources: NONE,
    patches: NONE,
    depends: { build: dependsBuild, run: NONE, system: NONE, system_run: NONE },
    options: Object.freeze({}),
    build: ARCHIVE_BUILD,
    install: ARCHIVE_INSTALL,
  } as unknown as Recipe;
}

/** What planning knows of a source package without its build details. */
export interface DebianHead {
  readonly package: string;
  readonly version: string;
  readonly section: string;
  readonly architecture?: readonly string[];
  /** {@link stanzaHash}, when known already. */
  readonly hash?: string;
}

/**
 * The port kiln builds a Debian source package as. Without `overlay`, the archive's package as is; with it, the
 * user's recipe (a `build.system: debian` port in a higher layer, which keeps its own origin) over it: its patches,
 * options, revision and limits, the archive's version and source files. `dependsBuild` are the origins the build
 * waits for (the bulk's Build-Depends edges, see `bulkEdges`); they are added to the recipe's `depends.build`.
 */
export function debianPort(stanza: DebianStanza, place: DebianPortPlace, dependsBuild: readonly string[] = [], overlay?: Port): Port {
  return debianPortLazy({ ...stanza, hash: stanza.hash ?? stanzaHash(stanza) }, () => portSource(stanza), place, dependsBuild, overlay);
}

/**
 * Like {@link debianPort}, but the port's `debian` (pool directory, files, raw Build-Depends) is made by `load`
 * when first read, so that planning a whole archive reads none of it. `head.hash` must be given.
 */
export function debianPortLazy(
  head: DebianHead & { readonly hash: string }, load: () => DebianPortSource, place: DebianPortPlace,
  dependsBuild: readonly string[] = [], overlay?: Port,
): Port {
  let src: DebianPortSource | undefined;
  const lazy = <T extends object>(o: T): T & { readonly debian: DebianPortSource } => Object.defineProperty(o, 'debian', {
    get: () => (src ??= load()), enumerable: true, configurable: true,
  }) as T & { readonly debian: DebianPortSource };
  if (!overlay) {
    return lazy({ origin: debianOrigin(head), dir: place.dir, path: place.path, layer: place.layer, pkgname: head.package,
      recipe: archiveRecipe(head, dependsBuild), contentHash: head.hash });
  }
  const r = overlay.recipe;
  const recipe = {
    ...r,
    version: upstreamVersion(head.version),
    summary: r.summary === '' ? `Debian source package ${head.package}` : r.summary,
    depends: { ...r.depends, build: [...new Set([...r.depends.build, ...dependsBuild])] },
  } as Recipe;
  const contentHash = crypto.createHash('sha256').update(`${overlay.contentHash}\0${head.hash}`).digest('hex');
  const { debian: _ignored, ...rest } = overlay;
  return lazy({ ...rest, pkgname: head.package, recipe, contentHash });
}
