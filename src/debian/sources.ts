/**
 * A fast parser of Debian `Sources` indexes (deb822 stanzas). It reads only the fields kiln uses and skips the
 * rest without splitting the whole text into lines first, so the 34,000 stanzas of a release parse in well under a
 * second. Pure: text in, records out.
 */
import type { DebianPortFile, DebianPortSource } from '../recipe/index.js';

/** One file of a source package, from `Checksums-Sha256` (and its md5 from `Files` when present). */
export interface SourcePackageFile extends DebianPortFile {
  /** md5 from the `Files` field, when present. */
  readonly md5?: string;
}

/**
 * One stanza of a `Sources` index: a source package (what a port builds, `DebianPortSource`: name, version with
 * epoch and revision, pool directory, binaries, raw Build-Depends fields, files; and what else kiln reads).
 */
export interface SourcePackage extends DebianPortSource {
  /** Section (`utils`, `libs`, …): `Section:`, or when that is `misc` or missing, from `Package-List:` (see `sectionOf`). */
  readonly section: string;
  /** Architectures it builds for (`Architecture:`, space-separated). */
  readonly architecture: readonly string[];
  /** Source format (`3.0 (quilt)`, …); empty when absent. */
  readonly format: string;
  /** Upstream homepage; empty when absent. */
  readonly homepage: string;
  /** The package's files (the `.dsc`, orig tarballs, Debian tarball or diff), from `Checksums-Sha256`. */
  readonly files: readonly SourcePackageFile[];
}

/** Field names (lower case) that {@link parseSources} keeps. */
const WANTED = new Set([
  'package',
  'version',
  'directory',
  'section',
  'binary',
  'architecture',
  'build-depends',
  'build-depends-arch',
  'build-depends-indep',
  'format',
  'homepage',
  'checksums-sha256',
  'files',
  'package-list',
]);

/**
 * The section a source package is filed under: its `Section:` unless that is missing or the catch-all `misc`
 * (most stanzas of a release say `misc`), else the section of its binary of the same name in `Package-List:`,
 * else of its first binary there, else `misc`.
 */
function sectionOf(pkg: string, section: string | undefined, packageList: string | undefined): string {
  if (section && section !== 'misc') return section;
  let first: string | undefined;
  for (const line of (packageList ?? '').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length < 3 || w[2] === '' || w[2] === '-') continue;
    if (w[0] === pkg) return w[2]!;
    first ??= w[2];
  }
  return first ?? section ?? 'misc';
}

type Fields = Map<string, string>;

function toPackage(f: Fields): SourcePackage | undefined {
  const pkg = f.get('package');
  if (pkg === undefined || pkg === '') return undefined;
  const md5 = new Map<string, string>();
  for (const line of (f.get('files') ?? '').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length === 3) md5.set(w[2]!, w[0]!);
  }
  const files: SourcePackageFile[] = [];
  for (const line of (f.get('checksums-sha256') ?? '').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length !== 3) continue;
    const m = md5.get(w[2]!);
    files.push({
      name: w[2]!,
      sha256: w[0]!.toLowerCase(),
      size: Number(w[1]),
      ...(m === undefined ? {} : { md5: m }),
    });
  }
  const flat = (k: string): string => (f.get(k) ?? '').replace(/\s*\n\s*/g, ' ').trim();
  return {
    package: pkg,
    version: f.get('version') ?? '',
    directory: f.get('directory') ?? '',
    section: sectionOf(pkg, f.get('section') || undefined, f.get('package-list')),
    binary: flat('binary')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    architecture: flat('architecture').split(/\s+/).filter(Boolean),
    buildDepends: flat('build-depends'),
    buildDependsArch: flat('build-depends-arch'),
    buildDependsIndep: flat('build-depends-indep'),
    format: f.get('format') ?? '',
    homepage: f.get('homepage') ?? '',
    files,
  };
}

/**
 * Parses the text of a `Sources` index into source packages, in index order. Stanzas without a `Package:` field
 * are skipped; continuation lines are joined with `\n` for multi-line fields (`Checksums-Sha256`, `Files`) and
 * with a space for the others. PGP armour around the text (an `InRelease`-style clear signature) is not expected.
 */
export function parseSources(text: string): SourcePackage[] {
  const out: SourcePackage[] = [];
  let fields: Fields = new Map();
  // The field being read, if wanted: its name and the span of its value (continuation lines included).
  let current: string | undefined;
  let valStart = 0;
  let valEnd = 0;
  const close = (): void => {
    if (current !== undefined) fields.set(current, text.slice(valStart, valEnd).trim());
    current = undefined;
  };
  let pos = 0;
  const n = text.length;
  while (pos <= n) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = n;
    const first = pos < end ? text.charCodeAt(pos) : -1;
    if (first === -1 || (end - pos === 1 && first === 13)) {
      // blank line: end of stanza
      close();
      if (fields.size > 0) {
        const p = toPackage(fields);
        if (p) out.push(p);
        fields = new Map();
      }
    } else if (first === 32 || first === 9) {
      if (current !== undefined) valEnd = end;
    } else if (first !== 35) {
      // '#' comment lines are skipped
      close();
      const colon = text.indexOf(':', pos);
      if (colon !== -1 && colon < end) {
        const name = text.slice(pos, colon).toLowerCase();
        if (WANTED.has(name)) {
          current = name;
          valStart = colon + 1;
          valEnd = end;
        }
      }
    }
    pos = end + 1;
  }
  close();
  if (fields.size > 0) {
    const p = toPackage(fields);
    if (p) out.push(p);
  }
  return out;
}

/** One alternative of a relation: `name:arch (op version) [archs] <profiles>`. */
export interface RelationAlternative {
  /** Package name. */
  readonly name: string;
  /** Architecture qualifier after `:` (`any`, `native`, …), when given. */
  readonly archQualifier?: string;
  /** Version relation, when given. */
  readonly version?: { readonly op: '<<' | '<=' | '=' | '>=' | '>>'; readonly version: string };
  /** Architecture restriction list (`[amd64 !i386]`), as written, when given. */
  readonly arches?: readonly string[];
  /** Build-profile restriction formulas (`<!nocheck> <stage1>`), each a list of terms, when given. */
  readonly profiles?: readonly (readonly string[])[];
}

/** A relation field parsed: a list of groups, each satisfied by any one of its alternatives. */
export type Relations = readonly (readonly RelationAlternative[])[];

const REL_RE =
  /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[([^\]]*)\])?\s*((?:<[^>]*>\s*)*)$/;

/**
 * Parses a Debian relation field (`Depends`, `Build-Depends`, …) into groups of alternatives. Entries that do not
 * parse are skipped (the index is trusted input); the obsolete `<` / `>` operators read as `<=` / `>=`.
 */
export function parseRelations(text: string): Relations {
  const groups: RelationAlternative[][] = [];
  for (const part of text.split(',')) {
    const alts: RelationAlternative[] = [];
    for (const raw of part.split('|')) {
      const s = raw.trim();
      if (s === '') continue;
      const m = REL_RE.exec(s);
      if (!m) continue;
      const op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as '<<' | '<=' | '=' | '>=' | '>>' | undefined);
      const profiles = [...(m[6] ?? '').matchAll(/<([^>]*)>/g)].map((x) => x[1]!.trim().split(/\s+/).filter(Boolean));
      alts.push({
        name: m[1]!,
        ...(m[2] ? { archQualifier: m[2] } : {}),
        ...(op && m[4] ? { version: { op, version: m[4] } } : {}),
        ...(m[5] !== undefined ? { arches: m[5].trim().split(/\s+/).filter(Boolean) } : {}),
        ...(profiles.length > 0 ? { profiles } : {}),
      });
    }
    if (alts.length > 0) groups.push(alts);
  }
  return groups;
}
