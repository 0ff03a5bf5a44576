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

const categories = new Map<string, string>();

/** The category of a source package's origin: the last part of its section (`contrib/net` → `net`). */
export function debianCategory(section: string): string {
  let c = categories.get(section);
  if (c === undefined) {
    const last = section.split('/').pop() ?? '';
    c = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(last) ? last : 'misc';
    categories.set(section, c);
  }
  return c;
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
  return {
    package: s.package,
    version: s.version,
    directory: s.directory,
    files: s.files,
    binary: s.binary,
    buildDepends: s.buildDepends,
    buildDependsArch: s.buildDependsArch,
    buildDependsIndep: s.buildDependsIndep,
  };
}

/** sha256 of what identifies a source package in the archive: name, version, and each file's name and sha256. */
export function stanzaHash(s: Pick<DebianPortSource, 'package' | 'version' | 'files'>): string {
  const h = crypto.createHash('sha256');
  h.update(`debian\0${s.package}\0${s.version}\0`);
  for (const f of s.files) h.update(`${f.name}\0${f.sha256}\0`);
  return h.digest('hex');
}

const NONE: readonly never[] = Object.freeze([]);
const ARCHIVE_BUILD = Object.freeze({
  system: 'debian',
  configure_args: NONE,
  make_args: NONE,
  env: Object.freeze({}),
  parallel: true,
  limits: Object.freeze({}),
  deb_build_options: NONE,
  deb_build_profiles: NONE,
});
const ARCHIVE_INSTALL = Object.freeze({ conffiles: NONE });

/** The recipe of an archive port with no overlay recipe: `build.system: debian`, revision 1, nothing else. */
function archiveRecipe(h: DebianHead, dependsBuild: readonly string[]): Recipe {
  const arch = h.architecture ?? [];
  return {
    version: upstreamVersion(h.version),
    revision: 1,
    summary: `Debian source package ${h.package}`,
    arch: (h.archAll ?? (arch.length > 0 && arch.every((a) => a === 'all'))) ? 'all' : 'any',
    sources: NONE,
    patches: NONE,
    depends: { build: dependsBuild, run: NONE, system: NONE, system_run: NONE },
    options: Object.freeze({}),
    build: ARCHIVE_BUILD,
    install: ARCHIVE_INSTALL,
  } as unknown as Recipe;
}

/**
 * A port of the archive with no overlay recipe. A class, because the archive has tens of thousands of them: its
 * `debian` is a getter on the prototype (made on first read), so a copy by spread does not carry it; `toJSON`
 * does, and code that copies a port must copy `debian` by name.
 */
class ArchivePort implements Port {
  #src: DebianPortSource | undefined;
  readonly dir: string;
  readonly path: string;
  readonly layer: string;
  constructor(
    readonly origin: string,
    place: DebianPortPlace,
    readonly pkgname: string,
    readonly recipe: Recipe,
    readonly contentHash: string,
    private readonly load: () => DebianPortSource,
  ) {
    this.dir = place.dir;
    this.path = place.path;
    this.layer = place.layer;
  }

  get debian(): DebianPortSource {
    return (this.#src ??= this.load());
  }

  toJSON(): Port {
    return {
      origin: this.origin,
      dir: this.dir,
      path: this.path,
      layer: this.layer,
      pkgname: this.pkgname,
      recipe: this.recipe,
      contentHash: this.contentHash,
      debian: this.debian,
    };
  }
}

/** What planning knows of a source package without its build details. */
export interface DebianHead {
  readonly package: string;
  readonly version: string;
  readonly section: string;
  readonly architecture?: readonly string[];
  /** Whether it builds only `Architecture: all` packages, when known already (instead of `architecture`). */
  readonly archAll?: boolean;
  /** Its origin, when known already. */
  readonly origin?: string;
  /** {@link stanzaHash}, when known already. */
  readonly hash?: string;
}

/**
 * The port kiln builds a Debian source package as. Without `overlay`, the archive's package as is; with it, the
 * user's recipe (a `build.system: debian` port in a higher layer, which keeps its own origin) over it: its patches,
 * options, revision and limits, the archive's version and source files. `dependsBuild` are the origins the build
 * waits for (the bulk's Build-Depends edges, see `bulkEdges`); they are added to the recipe's `depends.build`.
 */
export function debianPort(
  stanza: DebianStanza,
  place: DebianPortPlace,
  dependsBuild: readonly string[] = [],
  overlay?: Port,
): Port {
  return debianPortLazy(
    { ...stanza, hash: stanza.hash ?? stanzaHash(stanza) },
    () => portSource(stanza),
    place,
    dependsBuild,
    overlay,
  );
}

/**
 * Like {@link debianPort}, but the port's `debian` (pool directory, files, raw Build-Depends) is made by `load`
 * when first read, so that planning a whole archive reads none of it. `head.hash` must be given.
 */
export function debianPortLazy(
  head: DebianHead & { readonly hash: string },
  load: () => DebianPortSource,
  place: DebianPortPlace,
  dependsBuild: readonly string[] = [],
  overlay?: Port,
): Port {
  if (!overlay) {
    return new ArchivePort(
      head.origin ?? debianOrigin(head),
      place,
      head.package,
      archiveRecipe(head, dependsBuild),
      head.hash,
      load,
    );
  }
  let src: DebianPortSource | undefined;
  const r = overlay.recipe;
  const recipe = {
    ...r,
    version: upstreamVersion(head.version),
    summary: r.summary === '' ? `Debian source package ${head.package}` : r.summary,
    depends: { ...r.depends, build: [...new Set([...r.depends.build, ...dependsBuild])] },
  } as Recipe;
  const contentHash = crypto.createHash('sha256').update(`${overlay.contentHash}\0${head.hash}`).digest('hex');
  const { debian: _ignored, ...rest } = overlay;
  return {
    ...rest,
    pkgname: head.package,
    recipe,
    contentHash,
    get debian() {
      return (src ??= load());
    },
  };
}
