/**
 * Which ports a bulk over a `--debian` tree covers, and how they wait for each other: the requested source
 * packages (or the whole archive with `-a`), every port of the user's layers above the archive, what their own
 * `depends` name, and with `--rdeps` the sources that build-depend on a port's binaries. Their Build-Depends
 * become `depends.build` edges among them (see `edges.ts`); cycles are broken and reported. Pure.
 */
import type { Problem } from '../util/errors.js';
import type { Port } from '../recipe/index.js';
import { breakCycles, mentionedBinaries, neededBinaries, nodeResolver, providersOf, archAdmits, type BrokenEdge, type BinaryResolver, type EdgeGraph } from './edges.js';
import { debianOrigin, debianPortLazy, type DebianPortPlace } from './port.js';
import { rowStanza, type DebianTreeBuildData, type DebianTreeIndexData } from './tree-index.js';

/** What {@link debianBulk} works from. */
export interface DebianBulkInput {
  /** The tree's index (planning half). */
  readonly index: DebianTreeIndexData;
  /** The build half, read when a port's `debian` is first used. */
  readonly buildIndex: () => DebianTreeBuildData;
  /** Where the archive's ports stand (the tree's folder and index file). */
  readonly place: DebianPortPlace;
  /** Ports of the user's layers above the archive, by origin (already scanned). */
  readonly folderPorts: ReadonlyMap<string, Port>;
  /** The requested origins, or `'all'` for the whole archive. */
  readonly roots: readonly string[] | 'all';
  /** The jail's architecture. */
  readonly arch: string;
  /** Tests run (`-t`): the `nocheck` profile is then off, so test-only Build-Depends count. */
  readonly tests?: boolean;
  /** `--rdeps`: origins whose reverse Build-Depends are added. */
  readonly rdeps?: readonly string[];
  /** `--rdeps-depth` (default 1). */
  readonly rdepsDepth?: number;
}

/** What {@link debianBulk} decided. */
export interface DebianBulk {
  /** The bulk's ports by origin, each with its Build-Depends edges as `depends.build`. */
  readonly ports: Map<string, Port>;
  /** The roots to plan from (requested, the user's ports, and reverse dependencies), or `'all'`. */
  readonly roots: readonly string[] | 'all';
  /** Edges given up to break cycles, each with its cycle. */
  readonly broken: readonly BrokenEdge[];
  /** Located problems: the user's `build.system: debian` ports whose source package the archive lacks. */
  readonly problems: Problem[];
  /** Problems with no file position (a requested source that does not build for the architecture). */
  readonly errors: string[];
  /** Origins of the archive's sources that do not build for the architecture (left out of `-a`). */
  readonly notForArch: readonly string[];
  /** Origins `--rdeps` added. */
  readonly rdepsAdded: readonly string[];
}

/** Does a source build for `arch` (its `Architecture:` has `all` or admits `arch`)? */
function buildsFor(archField: string, arch: string): boolean {
  if (archField === '') return true;
  const list = archField.split(' ');
  return list.includes('all') || list.some((a) => archAdmits([a], arch));
}

const NO_TESTS: ReadonlySet<string> = new Set(['nocheck']);
const WITH_TESTS: ReadonlySet<string> = new Set();

/** The build profiles a port's Build-Depends are read with: `nocheck` unless tests run, and the recipe's. */
function profilesFor(port: Port | undefined, tests: boolean): ReadonlySet<string> {
  const extra0 = (port?.recipe.build as { deb_build_profiles?: readonly string[] } | undefined)?.deb_build_profiles ?? [];
  if (extra0.length === 0) return tests ? WITH_TESTS : NO_TESTS;
  const s = new Set<string>(tests ? [] : ['nocheck']);
  const extra = (port?.recipe.build as { deb_build_profiles?: readonly string[] } | undefined)?.deb_build_profiles ?? [];
  for (const p of extra) s.add(p);
  return s;
}

/** Decides a bulk over a Debian tree (see the module comment). */
export function debianBulk(inp: DebianBulkInput): DebianBulk {
  const ix = inp.index;
  const count = ix.pkg.length;
  const arch = inp.arch;
  const tests = inp.tests ?? false;
  const originOf: string[] = new Array<string>(count);
  const rowOfOrigin = new Map<string, number>();
  const rowOfName = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const o = debianOrigin({ section: ix.section[i]!, package: ix.pkg[i]! });
    originOf[i] = o;
    rowOfOrigin.set(o, i);
    rowOfName.set(ix.pkg[i]!, i);
  }

  // The user's ports: build.system debian ones take over their source package (whatever their category).
  const problems: Problem[] = [];
  const errors: string[] = [];
  const overlayRow = new Map<string, number>();
  const alias = new Map<string, string>();
  const folder = new Map<string, Port>();
  for (const [origin, port] of inp.folderPorts) {
    if (port.recipe.build.system !== 'debian') { folder.set(origin, port); continue; }
    const i = rowOfName.get(port.pkgname);
    if (i === undefined) {
      problems.push({ path: port.path, line: 1, column: 1, field: 'build.system',
        message: `${origin}: the archive (${inp.index.release}, ${inp.index.component}) has no source package "${port.pkgname}"; a build.system: debian port's NAME (or its name:) must be one of its source packages` });
      continue;
    }
    overlayRow.set(origin, i);
    folder.set(origin, port);
    if (originOf[i] !== origin) alias.set(originOf[i]!, origin);
  }
  const shadowed = new Set(alias.keys());
  for (const o of folder.keys()) if (rowOfOrigin.has(o)) shadowed.add(o);

  // Binary -> origin, for what the index did not resolve (restricted groups, reverse dependencies): made on first use.
  let ownerMap: Map<string, string> | undefined;
  const owner = (): Map<string, string> => {
    if (ownerMap) return ownerMap;
    ownerMap = new Map();
    for (let i = 0; i < count; i++) {
      if (shadowed.has(originOf[i]!) && !alias.has(originOf[i]!)) continue;
      const o = alias.get(originOf[i]!) ?? originOf[i]!;
      const bins = ix.binaries[i]!;
      if (bins === '') continue;
      for (const b of bins.split(',')) if (!ownerMap.has(b)) ownerMap.set(b, o);
    }
    for (const [b, o] of userBinary) ownerMap.set(b, o);
    return ownerMap;
  };
  const userBinary = new Map<string, string>();
  for (const [origin, port] of folder) if (!overlayRow.has(origin)) userBinary.set(port.pkgname, origin);
  const resolver: BinaryResolver = { get owner() { return owner(); }, provides: ix.provides[arch] ?? {} };
  const rowFor = (origin: string): number | undefined => overlayRow.get(origin) ?? (folder.has(origin) ? undefined : rowOfOrigin.get(origin));

  // Members: the roots, the user's ports, their explicit depends, reverse dependencies.
  const notForArch: string[] = [];
  const members = new Set<string>();
  let roots: readonly string[] | 'all';
  if (inp.roots === 'all') {
    for (let i = 0; i < count; i++) {
      const o = originOf[i]!;
      if (shadowed.has(o)) continue;
      if (buildsFor(ix.arch[i]!, arch)) members.add(o); else notForArch.push(o);
    }
    roots = 'all';
  } else {
    roots = inp.roots.map((o) => alias.get(o) ?? o);
    for (const o of roots) {
      const i = rowFor(o);
      if (i !== undefined && !buildsFor(ix.arch[i]!, arch)) {
        errors.push(`kiln: ${o} does not build for ${arch} (Architecture: ${ix.arch[i]!})`);
        continue;
      }
      if (i !== undefined || folder.has(o)) members.add(o);
    }
  }
  for (const o of folder.keys()) members.add(o);
  const rdepsAdded: string[] = [];
  if (inp.rdeps && inp.rdeps.length > 0) {
    const portOf = (i: number): string | undefined => {
      const o = originOf[i]!;
      return alias.get(o) ?? (shadowed.has(o) ? undefined : o);
    };
    for (const o of reverseDeps(inp.rdeps.map((x) => alias.get(x) ?? x), inp.rdepsDepth ?? 1, ix, portOf, resolver, arch)) {
      if (!members.has(o)) { members.add(o); rdepsAdded.push(o); }
    }
    if (roots !== 'all') roots = [...roots, ...rdepsAdded];
  }
  // The user's ports' own depends (origins) pull archive ports in, transitively through the user's ports.
  const stack = [...folder.keys()];
  for (let guard = 0; stack.length > 0 && guard < 1_000_000; guard++) {
    const p = folder.get(stack.pop()!);
    if (!p) continue;
    for (const d of [...p.recipe.depends.build, ...p.recipe.depends.run]) {
      const o = alias.get(d) ?? d;
      if (members.has(o) || (rowFor(o) === undefined && !folder.has(o))) continue;
      members.add(o);
      stack.push(o);
    }
  }

  const memberList = [...members].sort();
  const nodeIndex = new Map(memberList.map((o, i) => [o, i]));
  // Row of the archive -> node of the port that builds it (-1: not in the bulk); node -> its row (-1: a user's own port).
  const rowNode = new Int32Array(count).fill(-1);
  const nodeRow = new Int32Array(memberList.length).fill(-1);
  memberList.forEach((o, n) => { const i = rowFor(o); if (i !== undefined) { nodeRow[n] = i; rowNode[i] = n; } });
  const nodeOf = nodeResolver(resolver, nodeIndex);
  const virtMemo = new Map<string, number>();
  const provRows = ix.providesRow[arch] ?? {};
  const virtNode = (name: string): number => {
    let v = virtMemo.get(name);
    if (v !== undefined) return v;
    const user = userBinary.get(name);
    v = user !== undefined ? (nodeIndex.get(user) ?? -1) : -1;
    if (v < 0) for (const r of provRows[name] ?? []) { const x = rowNode[r]!; if (x >= 0 && (v < 0 || x < v)) v = x; }
    virtMemo.set(name, v);
    return v;
  };
  const needNodes = (n: number): number[] => {
    const out: number[] = [];
    const add = (t: number): void => { if (t >= 0 && t !== n && !out.includes(t)) out.push(t); };
    const i = nodeRow[n]!;
    if (i < 0) return out;
    for (let k = ix.needOff[i]!; k < ix.needOff[i + 1]!; k++) add(rowNode[ix.needRow[k]!]!);
    const virt = ix.needVirt[i]!;
    if (virt !== '') for (const name of virt.split(' ')) add(virtNode(name));
    const restricted = ix.restricted[i]!;
    if (restricted !== '') for (const name of neededBinaries('', restricted, arch, profilesFor(folder.get(memberList[n]!), tests))) add(nodeOf(name));
    return out;
  };
  const graph: EdgeGraph = { ids: memberList, deps: memberList.map((_, n) => needNodes(n)) };
  const pairs = breakCycles(graph);
  // What each broken edge needed: the first binary of `from`'s needs that leads to `to`.
  const viaOf = (from: number, to: number): string => {
    const i = nodeRow[from]!;
    const names = neededBinaries(ix.need[i]!, ix.restricted[i]!, arch, profilesFor(folder.get(memberList[from]!), tests));
    return names.find((b) => nodeOf(b) === to || virtNode(b) === to) ?? '?';
  };
  const broken: BrokenEdge[] = pairs.map((p) => ({
    from: memberList[p.from]!, to: memberList[p.to]!, via: viaOf(p.from, p.to), cycle: p.cycle.map((x) => memberList[x]!),
  })).sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : 1));
  // Node numbers follow origin order, so sorting the numbers sorts the origins.
  const depsOf = (n: number): string[] => graph.deps[n]!.sort((a, b) => a - b).map((x) => memberList[x]!);

  const ports = new Map<string, Port>();
  memberList.forEach((o, n) => {
    const user = folder.get(o);
    const i = nodeRow[n]!;
    if (i < 0) { if (user) ports.set(o, user); return; }
    const load = (): ReturnType<typeof rowStanza> => {
      const b = inp.buildIndex()[ix.pkg[i]!];
      if (!b) throw new Error(`the build half of the ${ix.release} index lacks ${ix.pkg[i]!}; run kiln tree update`);
      return rowStanza(ix, i, b);
    };
    ports.set(o, debianPortLazy({ package: ix.pkg[i]!, version: ix.version[i]!, section: ix.section[i]!, origin: originOf[i]!,
      archAll: ix.arch[i] === 'all', hash: ix.hash[i]! }, load, inp.place, depsOf(n), user));
  });
  if (roots !== 'all') roots = [...new Set([...roots, ...folder.keys()])];
  return { ports, roots, broken, problems, errors, notForArch, rdepsAdded };
}

/** Sources whose Build-Depends (any alternative) name a binary of `start`'s ports, `depth` levels out. */
function reverseDeps(
  start: readonly string[], depth: number, ix: DebianTreeIndexData, portOf: (row: number) => string | undefined,
  resolver: BinaryResolver, arch: string,
): string[] {
  const found = new Set<string>(start);
  let frontier = new Set(start);
  const out: string[] = [];
  for (let level = 0; level < depth && frontier.size > 0; level++) {
    const next = new Set<string>();
    for (let i = 0; i < ix.pkg.length; i++) {
      const o = portOf(i);
      if (o === undefined || found.has(o)) continue;
      if (mentionedBinaries(ix.need[i]!, ix.restricted[i]!, ix.alts[i]!, arch).some((b) => providersOf(resolver, b).some((p) => frontier.has(p)))) next.add(o);
    }
    for (const o of [...next].sort()) { found.add(o); out.push(o); }
    frontier = next;
  }
  return out;
}
