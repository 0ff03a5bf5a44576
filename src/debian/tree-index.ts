/**
 * The index of a `--debian` tree: every source package of a release's component, with what planning needs
 * (section, version, binaries, architectures, Build-Depends already parsed) and what building needs (pool
 * directory, files, raw Build-Depends), plus the `Provides:` of each architecture's binary packages. It is made
 * once from the archive's `Sources` and `Packages` when the tree is added or updated, and kept as two JSON files:
 * `index.json` (planning: columns of short strings) and `sources.json` (building: read only when a build needs
 * it), so that planning the whole archive parses no deb822 text and little JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { compareVersions } from '../repo/index.js';
import { parseRelations, parseSources, type RelationAlternative, type SourcePackage } from './sources.js';
import { debianOrigin, stanzaHash, type DebianStanza } from './port.js';

/** Format number of the index files; a different one is rebuilt by `kiln tree update`. */
export const TREE_INDEX_FORMAT = 4;

/**
 * What planning reads of a Debian tree (`index.json`), column by column (one array per field, a row per source
 * package, sorted by origin), so that the 34,000 sources of a release parse in a few JSON strings per row.
 */
export interface DebianTreeIndexData {
  readonly format: number;
  readonly release: string;
  readonly component: string;
  /** The archive root it was made from. */
  readonly mirror: string;
  /** When it was made (ISO 8601). */
  readonly made: string;
  /** Source package names (the last stanza of a name wins). */
  readonly pkg: readonly string[];
  readonly version: readonly string[];
  readonly section: readonly string[];
  /** Binary packages, comma-separated. */
  readonly binaries: readonly string[];
  /** `Architecture:`, space-separated. */
  readonly arch: readonly string[];
  /** {@link stanzaHash} of each. */
  readonly hash: readonly string[];
  /**
   * Build-Depends (with -Arch and -Indep) groups without restrictions, resolved: the first alternative of each
   * (what sbuild installs) as the row of the source that builds it, all sources' lists end to end (row `i`'s are
   * `needRow[needOff[i]] .. needRow[needOff[i+1] - 1]`, without duplicates or `i` itself); `needBin[k]` is the
   * binary's place in that source's `binaries` (to name it).
   */
  readonly needRow: readonly number[];
  readonly needBin: readonly number[];
  readonly needOff: readonly number[];
  /** The first alternatives no source's `Binary:` lists (virtual packages, or not in the archive), space-separated. */
  readonly needVirt: readonly string[];
  /** Groups with `[arch]` or `<profile>` restrictions, as relation text without versions (`a [amd64] | b, c <!nocheck>`). */
  readonly restricted: readonly string[];
  /** Names of the other alternatives of unrestricted groups, space-separated (reverse dependencies count them). */
  readonly alts: readonly string[];
  /** Architecture → virtual package → the rows of the sources building its providers (ascending). */
  readonly providesRow: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;
}

/** What building reads of a source package (`sources.json`, read only when a port's `debian` is first used). */
export type SourceBuildRow = readonly [
  directory: string,
  files: string,
  buildDepends: string,
  buildDependsArch: string,
  buildDependsIndep: string,
  homepage: string,
];

/** The build half of the index: source name → its row. */
export type DebianTreeBuildData = Readonly<Record<string, SourceBuildRow>>;

function relText(a: RelationAlternative): string {
  let t = a.archQualifier ? `${a.name}:${a.archQualifier}` : a.name;
  if (a.arches) t += ` [${a.arches.join(' ')}]`;
  if (a.profiles) for (const p of a.profiles) t += ` <${p.join(' ')}>`;
  return t;
}

function depColumns(s: SourcePackage): { need: string[]; restricted: string; alts: string } {
  const need: string[] = [];
  const restricted: string[] = [];
  const alts: string[] = [];
  for (const text of [s.buildDepends, s.buildDependsArch, s.buildDependsIndep]) {
    if (text === '') continue;
    for (const g of parseRelations(text)) {
      if (g.some((a) => a.arches !== undefined || a.profiles !== undefined))
        restricted.push(g.map(relText).join(' | '));
      else {
        need.push(g[0]!.name);
        for (const a of g.slice(1)) alts.push(a.name);
      }
    }
  }
  return { need, restricted: restricted.join(', '), alts: alts.join(' ') };
}

/**
 * `Provides:` of a `Packages` index: virtual name → providing binary packages (versioned provides included,
 * versions dropped). Pure and fast: reads only `Package:` and `Provides:` lines.
 */
export function parseProvides(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  let pkg = '';
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = n;
    const c = text.charCodeAt(pos);
    if (c === 80 && text.startsWith('Package:', pos)) pkg = text.slice(pos + 8, end).trim();
    else if (c === 80 && text.startsWith('Provides:', pos) && pkg !== '') {
      for (const part of text.slice(pos + 9, end).split(',')) {
        const name = part.trim().split(/[\s(:]/)[0]!;
        if (name === '') continue;
        const l = out[name];
        if (l) {
          if (!l.includes(pkg)) l.push(pkg);
        } else out[name] = [pkg];
      }
    } else if (end === pos) pkg = '';
    pos = end + 1;
  }
  return out;
}

/** What {@link makeTreeIndex} is made from. */
export interface TreeIndexInput {
  readonly release: string;
  readonly component: string;
  readonly mirror: string;
  /** The decompressed `Sources` text (of the release alone; or see `suites`). */
  readonly sources?: string;
  /**
   * The `Sources` of several suites (`REL`, `REL-updates`, `REL-security`): a source package listed more than once
   * (a suite may list several versions) is taken at its highest version (dpkg's order; the first suite on a tie). A suite with `url` (one from another
   * archive than `mirror`, e.g. the security archive) gives its rows an absolute pool directory (`URL/pool/...`).
   */
  readonly suites?: readonly { readonly text: string; readonly url?: string }[];
  /** Architecture → the decompressed `Packages` text of that architecture. */
  readonly packages: Readonly<Record<string, string>>;
  /** When (default: now). */
  readonly made?: string;
}

/** Builds both halves of the index from the archive's texts. Pure. */
export function makeTreeIndex(inp: TreeIndexInput): { plan: DebianTreeIndexData; build: DebianTreeBuildData } {
  const byName = new Map<string, SourcePackage>();
  if (inp.sources !== undefined) for (const s of parseSources(inp.sources)) byName.set(s.package, s);
  for (const suite of inp.suites ?? []) {
    const own = new Map<string, SourcePackage>();
    for (const s of parseSources(suite.text)) {
      const was = own.get(s.package);
      if (!was || compareVersions(s.version, was.version) > 0)
        own.set(s.package, suite.url ? { ...s, directory: `${suite.url}/${s.directory}` } : s);
    }
    for (const [name, s] of own) {
      const have = byName.get(name);
      if (!have || compareVersions(s.version, have.version) > 0) byName.set(name, s);
    }
  }
  const list = [...byName.values()].map((s) => ({ s, origin: debianOrigin(s) }));
  list.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  const col = <T>(f: (s: SourcePackage) => T): T[] => list.map((x) => f(x.s));
  const deps = list.map((x) => depColumns(x.s));
  const provides: Record<string, Record<string, string[]>> = {};
  for (const [arch, text] of Object.entries(inp.packages)) provides[arch] = parseProvides(text);
  const ownerRow = new Map<string, { row: number; at: number }>();
  list.forEach((x, i) =>
    x.s.binary.forEach((b, at) => {
      if (!ownerRow.has(b)) ownerRow.set(b, { row: i, at });
    }),
  );
  const needRow: number[] = [];
  const needBin: number[] = [];
  const needOff: number[] = [0];
  const needVirt: string[] = [];
  deps.forEach((d, i) => {
    const virt: string[] = [];
    const start = needRow.length;
    for (const name of d.need) {
      const o = ownerRow.get(name);
      if (o === undefined) {
        if (!virt.includes(name)) virt.push(name);
        continue;
      }
      if (o.row !== i && needRow.indexOf(o.row, start) === -1) {
        needRow.push(o.row);
        needBin.push(o.at);
      }
    }
    needOff.push(needRow.length);
    needVirt.push(virt.join(' '));
  });
  const providesRow: Record<string, Record<string, number[]>> = {};
  for (const [arch, map] of Object.entries(provides)) {
    const m: Record<string, number[]> = {};
    for (const [virt, bins] of Object.entries(map)) {
      const rows = [...new Set(bins.map((b) => ownerRow.get(b)?.row).filter((r): r is number => r !== undefined))].sort(
        (a, b) => a - b,
      );
      if (rows.length > 0) m[virt] = rows;
    }
    providesRow[arch] = m;
  }
  const plan: DebianTreeIndexData = {
    format: TREE_INDEX_FORMAT,
    release: inp.release,
    component: inp.component,
    mirror: inp.mirror,
    made: inp.made ?? new Date().toISOString(),
    pkg: col((s) => s.package),
    version: col((s) => s.version),
    section: col((s) => s.section),
    binaries: col((s) => s.binary.join(',')),
    arch: col((s) => s.architecture.join(' ')),
    hash: col((s) => stanzaHash(s)),
    needRow,
    needBin,
    needOff,
    needVirt,
    restricted: deps.map((d) => d.restricted),
    alts: deps.map((d) => d.alts),
    providesRow,
  };
  const build: Record<string, SourceBuildRow> = {};
  for (const { s } of list) {
    build[s.package] = [
      s.directory,
      s.files.map((f) => `${f.name} ${f.sha256} ${f.size}`).join('\n'),
      s.buildDepends,
      s.buildDependsArch,
      s.buildDependsIndep,
      s.homepage,
    ];
  }
  return { plan, build };
}

/** The two files of a Debian tree's index in its folder. */
export function treeIndexFiles(dir: string): { plan: string; build: string } {
  return { plan: path.join(dir, 'index.json'), build: path.join(dir, 'sources.json') };
}

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Writes both index files into the tree's folder (each atomically; the build half first). */
export function writeTreeIndex(dir: string, data: { plan: DebianTreeIndexData; build: DebianTreeBuildData }): void {
  const f = treeIndexFiles(dir);
  writeAtomic(f.build, JSON.stringify(data.build));
  writeAtomic(f.plan, JSON.stringify(data.plan));
}

function readJson<T>(file: string, treeName: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new KilnError(
      'KILN_E_TREE_INVALID',
      `the index of Debian tree ${treeName} (${file}) cannot be read: ${(e as Error).message}`,
      {
        hint: `make it again with \`kiln tree update ${treeName}\``,
        cause: e,
      },
    );
  }
}

/** Reads the planning half; KILN_E_TREE_INVALID (saying to run `kiln tree update`) when missing or of another format. */
export function readTreeIndex(file: string, treeName: string): DebianTreeIndexData {
  const data = readJson<DebianTreeIndexData>(file, treeName);
  if (data.format !== TREE_INDEX_FORMAT) {
    throw new KilnError(
      'KILN_E_TREE_INVALID',
      `the index of Debian tree ${treeName} has format ${String(data.format)}, this kiln reads ${TREE_INDEX_FORMAT}`,
      {
        hint: `make it again with \`kiln tree update ${treeName}\``,
      },
    );
  }
  return data;
}

const buildMemo = new Map<string, DebianTreeBuildData>();

/** Reads the build half (once per process per file). */
export function readTreeBuildIndex(file: string, treeName: string): DebianTreeBuildData {
  let d = buildMemo.get(file);
  if (!d) {
    d = readJson<DebianTreeBuildData>(file, treeName);
    buildMemo.set(file, d);
  }
  return d;
}

/** Row `i` of the planning half with its build row, as the stanza `debianPort` takes. */
export function rowStanza(ix: DebianTreeIndexData, i: number, b: SourceBuildRow): DebianStanza {
  return {
    package: ix.pkg[i]!,
    version: ix.version[i]!,
    section: ix.section[i]!,
    directory: b[0],
    binary: ix.binaries[i] === '' ? [] : ix.binaries[i]!.split(','),
    architecture: ix.arch[i] === '' ? [] : ix.arch[i]!.split(' '),
    homepage: b[5],
    files:
      b[1] === ''
        ? []
        : b[1].split('\n').map((l) => {
            const [name, sha256, size] = l.split(' ');
            return { name: name!, sha256: sha256!, size: Number(size) };
          }),
    buildDepends: b[2],
    buildDependsArch: b[3],
    buildDependsIndep: b[4],
    hash: ix.hash[i]!,
  };
}
