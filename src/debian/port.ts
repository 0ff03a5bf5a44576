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
function stanzaHash(s: DebianStanza): string {
  const h = crypto.createHash('sha256');
  h.update(`debian\0${s.package}\0${s.version}\0`);
  for (const f of s.files) h.update(`${f.name}\0${f.sha256}\0`);
  return h.digest('hex');
}

/** The recipe of an archive port with no overlay recipe: `build.system: debian`, revision 1, nothing else. */
function archiveRecipe(s: DebianStanza, dependsBuild: readonly string[]): Recipe {
  const arch = s.architecture ?? [];
  return {
    version: upstreamVersion(s.version),
    revision: 1,
    summary: `Debian source package ${s.package}`,
    ...(s.homepage ? { homepage: s.homepage } : {}),
    arch: arch.length > 0 && arch.every((a) => a === 'all') ? 'all' : 'any',
    sources: [],
    patches: [],
    depends: { build: [...dependsBuild], run: [], system: [], system_run: [] },
    options: {},
    build: { system: 'debian', configure_args: [], make_args: [], env: {}, parallel: true, limits: {} },
    install: { conffiles: [] },
  } as unknown as Recipe;
}

/**
 * The port kiln builds a Debian source package as. Without `overlay`, the archive's package as is; with it, the
 * user's recipe (a `build.system: debian` port of the same origin in a higher layer) over it: its patches,
 * options, revision and limits, the archive's version and source files. `dependsBuild` are the origins the
 * build waits for (the bulk's Build-Depends edges, see `bulkEdges`); they replace the recipe's `depends.build`.
 */
export function debianPort(stanza: DebianStanza, place: DebianPortPlace, dependsBuild: readonly string[] = [], overlay?: Port): Port {
  const origin = debianOrigin(stanza);
  const debian = portSource(stanza);
  if (!overlay) {
    return { origin, dir: place.dir, path: place.path, layer: place.layer, pkgname: stanza.package,
      recipe: archiveRecipe(stanza, dependsBuild), contentHash: stanzaHash(stanza), debian };
  }
  const r = overlay.recipe;
  const recipe = {
    ...r,
    version: upstreamVersion(stanza.version),
    summary: r.summary === '' ? `Debian source package ${stanza.package}` : r.summary,
    depends: { ...r.depends, build: [...new Set([...r.depends.build, ...dependsBuild])] },
  } as Recipe;
  const contentHash = crypto.createHash('sha256').update(`${overlay.contentHash}\0${stanzaHash(stanza)}`).digest('hex');
  return { ...overlay, origin, pkgname: stanza.package, recipe, contentHash, debian };
}
