/**
 * The repository's index model, aptly-style: given package entries, render `Packages` and `Release` text.
 * Pure: no disk, no process, no clock (the date comes in as an argument).
 */
import { compareVersions, controlValue, renderControl, versionForFilename, type ControlField } from './control.js';

/** What the index knows of one `.deb`: its control fields plus where it lives in the pool and its digests. */
export interface PackageEntry {
  /** The control file's fields, in the `.deb`'s order. */
  readonly control: readonly ControlField[];
  /** Path relative to the repository root (`pool/main/h/hello/hello_2.10-k1_amd64.deb`). */
  readonly filename: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

/** One index file as listed in `Release`: path relative to `dists/SUITE/`. */
export interface IndexFile {
  readonly path: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  readonly sha512: string;
}

/** The fields of a `Release` file. */
export interface ReleaseInfo {
  readonly origin: string;
  readonly label: string;
  /** Suite and Codename: the jail's name. */
  readonly suite: string;
  readonly architectures: readonly string[];
  readonly components: readonly string[];
  readonly description?: string;
  /** The Date field; callers take it from SOURCE_DATE_EPOCH when set (see {@link releaseDate}). */
  readonly date: Date;
  /** The Valid-Until field (absent: the Release never expires, as Debian's stable suites). */
  readonly validUntil?: Date;
  readonly files: readonly IndexFile[];
}

/** Package, Version and Architecture of an entry (throws a plain Error when the control file lacks one). */
export function entryIdentity(control: readonly ControlField[]): { name: string; version: string; arch: string } {
  const name = controlValue(control, 'Package');
  const version = controlValue(control, 'Version');
  const arch = controlValue(control, 'Architecture');
  if (!name || !version || !arch) throw new Error('control file lacks Package, Version or Architecture');
  return { name, version, arch };
}

/** The pool path of a package (`pool/main/libf/libfoo/libfoo_1.0-k1_amd64.deb`), Debian's layout. */
export function poolPath(name: string, version: string, arch: string, component = 'main'): string {
  const prefix = name.startsWith('lib') && name.length > 3 ? name.slice(0, 4) : name.slice(0, 1);
  return `pool/${component}/${prefix}/${name}/${name}_${versionForFilename(version)}_${arch}.deb`;
}

/** Field order in a `Packages` stanza (close to apt-ftparchive's); other fields follow in their own order. */
const PACKAGES_ORDER = [
  'Package',
  'Source',
  'Version',
  'Installed-Size',
  'Maintainer',
  'Architecture',
  'Multi-Arch',
  'Essential',
  'Replaces',
  'Provides',
  'Pre-Depends',
  'Depends',
  'Recommends',
  'Suggests',
  'Enhances',
  'Conflicts',
  'Breaks',
  'Built-Using',
];
const TRAILER_ORDER = ['Section', 'Priority', 'Homepage', 'Description'];
const STRIPPED = new Set(['filename', 'size', 'md5sum', 'sha1', 'sha256', 'sha512', 'status', 'conffiles']);

/** Renders one `Packages` stanza: the control fields in a fixed order plus Filename, Size, MD5sum, SHA256. */
export function renderStanza(e: PackageEntry): string {
  const byName = new Map<string, ControlField>();
  for (const f of e.control) if (!STRIPPED.has(f.name.toLowerCase())) byName.set(f.name.toLowerCase(), f);
  const out: ControlField[] = [];
  const take = (n: string): void => {
    const f = byName.get(n.toLowerCase());
    if (f) {
      out.push({ name: n, value: f.value });
      byName.delete(n.toLowerCase());
    }
  };
  PACKAGES_ORDER.forEach(take);
  const trailers = new Set(TRAILER_ORDER.map((n) => n.toLowerCase()));
  for (const [k, f] of byName)
    if (!trailers.has(k)) {
      out.push(f);
      byName.delete(k);
    }
  out.push(
    { name: 'Filename', value: e.filename },
    { name: 'Size', value: String(e.size) },
    { name: 'MD5sum', value: e.md5 },
    { name: 'SHA256', value: e.sha256 },
  );
  TRAILER_ORDER.forEach(take);
  return renderControl(out);
}

/** Sorts entries by package name, then version (dpkg order), then architecture: the stable `Packages` order. */
export function sortEntries(entries: readonly PackageEntry[]): PackageEntry[] {
  const keyed = entries.map((e) => ({ e, id: entryIdentity(e.control) }));
  keyed.sort(
    (a, b) =>
      (a.id.name < b.id.name ? -1 : a.id.name > b.id.name ? 1 : 0) ||
      compareVersions(a.id.version, b.id.version) ||
      (a.id.arch < b.id.arch ? -1 : a.id.arch > b.id.arch ? 1 : 0),
  );
  return keyed.map((k) => k.e);
}

/** Renders a whole `Packages` file: stanzas in {@link sortEntries} order, separated by blank lines. */
export function renderPackages(entries: readonly PackageEntry[]): string {
  return sortEntries(entries).map(renderStanza).join('\n');
}

/** The Release `Date` value: `SOURCE_DATE_EPOCH` (seconds) when given, else `now`. */
export function releaseDate(sourceDateEpoch: string | undefined, now: Date): Date {
  if (sourceDateEpoch !== undefined && /^\d+$/.test(sourceDateEpoch)) return new Date(Number(sourceDateEpoch) * 1000);
  return now;
}

/** RFC 2822 date in UTC as apt writes it: `Sun, 22 Nov 2026 02:33:14 UTC`. */
export function formatReleaseDate(d: Date): string {
  return d.toUTCString().replace(/GMT$/, 'UTC');
}

/**
 * The Valid-Until of a Release (pure): `validDays` after the later of `date` and `now` (so a Date taken from an old
 * SOURCE_DATE_EPOCH does not make a Release that is born expired); undefined when `validDays` is 0.
 */
export function releaseValidUntil(date: Date, now: Date, validDays: number): Date | undefined {
  if (!(validDays > 0)) return undefined;
  return new Date(Math.max(date.getTime(), now.getTime()) + validDays * 86_400_000);
}

/** Renders the `Release` file: header fields, `Acquire-By-Hash: yes`, then MD5Sum, SHA256 and SHA512 sections. */
export function renderRelease(r: ReleaseInfo): string {
  const files = [...r.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const width = Math.max(0, ...files.map((f) => String(f.size).length));
  const section = (hash: (f: IndexFile) => string): string =>
    files.map((f) => `\n ${hash(f)} ${String(f.size).padStart(width)} ${f.path}`).join('');
  const fields: ControlField[] = [
    { name: 'Origin', value: r.origin },
    { name: 'Label', value: r.label },
    { name: 'Suite', value: r.suite },
    { name: 'Codename', value: r.suite },
    { name: 'Date', value: formatReleaseDate(r.date) },
    ...(r.validUntil ? [{ name: 'Valid-Until', value: formatReleaseDate(r.validUntil) }] : []),
    { name: 'Architectures', value: r.architectures.join(' ') },
    { name: 'Components', value: r.components.join(' ') },
    ...(r.description ? [{ name: 'Description', value: r.description }] : []),
    { name: 'Acquire-By-Hash', value: 'yes' },
    { name: 'MD5Sum', value: section((f) => f.md5) },
    { name: 'SHA256', value: section((f) => f.sha256) },
    { name: 'SHA512', value: section((f) => f.sha512) },
  ];
  return renderControl(fields);
}

/** Reads the SHA256 section of a Release file back: path → sha256. */
export function parseReleaseSha256(text: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  let inSection = false;
  for (const line of text.split('\n')) {
    if (!/^\s/.test(line)) {
      inSection = /^SHA256:/.test(line);
      continue;
    }
    if (!inSection) continue;
    const m = /^\s+([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(line);
    if (m) out.set(m[3]!, { sha256: m[1]!, size: Number(m[2]) });
  }
  return out;
}
