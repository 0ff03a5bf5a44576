/**
 * Which ports a bulk over a `--debian` tree covers, and how they wait for each other: the requested source
 * packages (or the whole archive with `-a`), every port of the user's layers above the archive, what their own
 * `depends` name, and with `--rdeps` the sources that build-depend on a port's binaries. Their Build-Depends
 * become `depends.build` edges among them (see `edges.ts`); cycles are broken and reported. Pure.
 */
import type { Problem } from '../util/errors.js';
import type { Port } from '../recipe/index.js';
import {
  breakCycles,
  mentionedBinaries,
  neededBinaries,
  archAdmits,
  type BrokenEdge,
  type DepEdge,
  type EdgeGraph,
} from './edges.js';
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
  /** The edges kept, with the binary that makes each (for a list; empty for `-a`, where they are many). */
  readonly waits: readonly DepEdge[];
}

/** Does a source build for `arch` (its `Architecture:` has `all` or admits `arch`)? */
function buildsFor(archField: string, arch: string): boolean {
  if (archField === '') return true;
  const list = archField.split(' ');
  return list.includes('all') || list.some((a) => archAdmits([a], arch));
}

const NO_TESTS: ReadonlySet<string> = new Set(['nocheck']);
const WITH_TESTS: ReadonlySet<string> = new Set();

/**
 * The build profiles a port's Build-Depends are read with: `nocheck` unless tests run, the recipe's
 * `build.deb_build_profiles`, and its options' `deb_build_profiles` words at their default values.
 */
function profilesFor(port: Port | undefined, tests: boolean): ReadonlySet<string> {
  const r = port?.recipe;
  const extra = [...(r?.build.deb_build_profiles ?? [])];
  for (const o of Object.values(r?.options ?? {}))
    extra.push(...((o.default ? o.deb_build_profiles?.on : o.deb_build_profiles?.off) ?? []));
  if (extra.length === 0) return tests ? WITH_TESTS : NO_TESTS;
  return new Set([...(tests ? [] : ['nocheck']), ...extra]);
}

/** Decides a bulk over a Debian tree (see the module comment). */
export function debianBulk(inp: DebianBulkInput): DebianBulk {
  const ix = inp.index;
  const count = ix.pkg.length;
  const arch = inp.arch;
  const tests = inp.tests ?? false;
  const originOf: string[] = new Array<string>(count);
  const rowOfOrigin = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const o = debianOrigin({ section: ix.section[i]!, package: ix.pkg[i]! });
    originOf[i] = o;
    rowOfOrigin.set(o, i);
  }

  // The user's ports: build.system debian ones take over their source package (whatever their category).
  const problems: Problem[] = [];
  const errors: string[] = [];
  const overlayRow = new Map<string, number>();
  /** Archive origin → the user's port that took its source package over under another origin. */
  const alias = new Map<string, string>();
  const folder = new Map<string, Port>();
  let rowOfName: Map<string, number> | undefined;
  for (const [origin, port] of inp.folderPorts) {
    if (port.recipe.build.system !== 'debian') {
      folder.set(origin, port);
      continue;
    }
    rowOfName ??= new Map(ix.pkg.map((p, row) => [p, row]));
    const i = rowOfName.get(port.pkgname);
    if (i === undefined) {
      problems.push({
        path: port.path,
        line: 1,
        column: 1,
        field: 'build.system',
        message: `${origin}: the archive (${ix.release}, ${ix.component}) has no source package "${port.pkgname}"; a build.system: debian port's NAME (or its name:) must be one of its source packages`,
      });
      continue;
    }
    overlayRow.set(origin, i);
    folder.set(origin, port);
    if (originOf[i] !== origin) alias.set(originOf[i]!, origin);
  }
  /** Archive origins whose place a user's port takes (same origin, or a debian port of the same source elsewhere). */
  const shadowed = new Set(alias.keys());
  for (const o of folder.keys()) if (rowOfOrigin.has(o)) shadowed.add(o);
  /** The port that builds row `i`'s source, if any (its own origin, or the user's port that took it over). */
  const portOfRow = (i: number): string | undefined => {
    const o = originOf[i]!;
    return alias.get(o) ?? (shadowed.has(o) ? (overlayRow.get(o) === i ? o : undefined) : o);
  };
  const rowFor = (origin: string): number | undefined =>
    overlayRow.get(origin) ?? (folder.has(origin) ? undefined : rowOfOrigin.get(origin));
  /** Binary packages of the user's own (non-debian) ports. */
  const userBinary = new Map<string, string>();
  for (const [origin, port] of folder) if (!overlayRow.has(origin)) userBinary.set(port.pkgname, origin);
  // Binary -> row, for names the index did not resolve (restricted groups, reverse dependencies): made on first use.
  let binaryRow: Map<string, number> | undefined;
  const rowOfBinary = (b: string): number | undefined => {
    if (!binaryRow) {
      binaryRow = new Map();
      for (let i = 0; i < count; i++) {
        const bins = ix.binaries[i]!;
        if (bins !== '') for (const x of bins.split(',')) if (!binaryRow.has(x)) binaryRow.set(x, i);
      }
    }
    return binaryRow.get(b);
  };
  const provRows = ix.providesRow[arch] ?? {};
  /** The ports that can provide package `name` (a real binary's builder, else the builders of its providers). */
  const portsProviding = (name: string): string[] => {
    const user = userBinary.get(name);
    if (user !== undefined) return [user];
    const r = rowOfBinary(name);
    const rows = r !== undefined ? [r] : (provRows[name] ?? []);
    const out: string[] = [];
    for (const x of rows) {
      const o = portOfRow(x);
      if (o !== undefined && !out.includes(o)) out.push(o);
    }
    return out;
  };

  // Members: the roots, the user's ports, their explicit depends, reverse dependencies.
  const notForArch: string[] = [];
  const members = new Set<string>();
  let roots: readonly string[] | 'all';
  if (inp.roots === 'all') {
    for (let i = 0; i < count; i++) {
      const o = originOf[i]!;
      if (shadowed.has(o)) continue;
      if (buildsFor(ix.arch[i]!, arch)) members.add(o);
      else notForArch.push(o);
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
    const found = new Set<string>(inp.rdeps.map((x) => alias.get(x) ?? x));
    let frontier = new Set(found);
    for (let level = 0; level < (inp.rdepsDepth ?? 1) && frontier.size > 0; level++) {
      const next: string[] = [];
      for (let i = 0; i < count; i++) {
        const o = portOfRow(i);
        if (o === undefined || found.has(o)) continue;
        if (mentionedNames(ix, i, arch).some((b) => portsProviding(b).some((p) => frontier.has(p)))) next.push(o);
      }
      next.sort();
      for (const o of next) {
        found.add(o);
        rdepsAdded.push(o);
        members.add(o);
      }
      frontier = new Set(next);
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

  // The graph on node numbers (members in origin order).
  const memberList = [...members].sort();
  const nodeIndex = new Map(memberList.map((o, i) => [o, i]));
  const rowNode = new Int32Array(count).fill(-1);
  const nodeRow = new Int32Array(memberList.length).fill(-1);
  memberList.forEach((o, n) => {
    const i = rowFor(o);
    if (i !== undefined) {
      nodeRow[n] = i;
      rowNode[i] = n;
    }
  });
  const nameMemo = new Map<string, number>();
  /** Node of the member that provides package `name` (the first by origin), or -1. */
  const nameNode = (name: string): number => {
    let v = nameMemo.get(name);
    if (v === undefined) {
      v = -1;
      for (const o of portsProviding(name)) {
        const x = nodeIndex.get(o);
        if (x !== undefined && (v < 0 || x < v)) v = x;
      }
      nameMemo.set(name, v);
    }
    return v;
  };
  /** What node `n` needs, as `[node, binary name]` pairs in Build-Depends order (first per node). */
  /**
   * What node `n` waits for: the nodes providing its Build-Depends, in order, first per node; with `via`, the
   * binary names that lead to them are pushed there in step.
   */
  const needs = (n: number, via?: string[]): number[] => {
    const nodes: number[] = [];
    const i = nodeRow[n]!;
    if (i < 0) return nodes;
    for (let k = ix.needOff[i]!, end = ix.needOff[i + 1]!; k < end; k++) {
      const t = rowNode[ix.needRow[k]!]!;
      if (t < 0 || t === n || nodes.includes(t)) continue;
      nodes.push(t);
      if (via) via.push(neededName(ix, k));
    }
    const virt = ix.needVirt[i]!;
    const restricted = ix.restricted[i]!;
    const names = virt === '' ? [] : virt.split(' ');
    if (restricted !== '')
      names.push(...neededBinaries(restricted, arch, profilesFor(folder.get(memberList[n]!), tests)));
    for (const name of names) {
      const t = nameNode(name);
      if (t < 0 || t === n || nodes.includes(t)) continue;
      nodes.push(t);
      if (via) via.push(name);
    }
    return nodes;
  };
  const graph: EdgeGraph = { ids: memberList, deps: memberList.map((_, n) => needs(n)) };
  const pairs = breakCycles(graph);
  const viaOf = (from: number, to: number): string => {
    const via: string[] = [];
    return via[needs(from, via).indexOf(to)] ?? '?';
  };
  const broken: BrokenEdge[] = pairs
    .map((p) => ({
      from: memberList[p.from]!,
      to: memberList[p.to]!,
      via: viaOf(p.from, p.to),
      cycle: p.cycle.map((x) => memberList[x]!),
    }))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : 1));
  // Node numbers follow origin order, so sorting the numbers sorts the origins.
  const depsOf = (n: number): string[] => graph.deps[n]!.sort((a, b) => a - b).map((x) => memberList[x]!);

  const ports = new Map<string, Port>();
  memberList.forEach((o, n) => {
    const user = folder.get(o);
    const i = nodeRow[n]!;
    if (i < 0) {
      if (user) ports.set(o, user);
      return;
    }
    const load = (): ReturnType<typeof rowStanza> => {
      const b = inp.buildIndex()[ix.pkg[i]!];
      if (!b) throw new Error(`the build half of the ${ix.release} index lacks ${ix.pkg[i]!}; run kiln tree update`);
      return rowStanza(ix, i, b);
    };
    ports.set(
      o,
      debianPortLazy(
        {
          package: ix.pkg[i]!,
          version: ix.version[i]!,
          section: ix.section[i]!,
          origin: originOf[i]!,
          archAll: ix.arch[i] === 'all',
          hash: ix.hash[i]!,
        },
        load,
        inp.place,
        depsOf(n),
        user,
      ),
    );
  });
  const waits: DepEdge[] = [];
  if (roots !== 'all') {
    memberList.forEach((from, n) => {
      const via: string[] = [];
      needs(n, via).forEach((t, k) => {
        if (graph.deps[n]!.includes(t)) waits.push({ from, to: memberList[t]!, via: via[k]! });
      });
    });
    roots = [...new Set([...roots, ...folder.keys()])];
  }
  return { ports, roots, broken, problems, errors, notForArch, rdepsAdded, waits };
}

/** The name of the binary the index's `k`th resolved need stands for. */
function neededName(ix: DebianTreeIndexData, k: number): string {
  return ix.binaries[ix.needRow[k]!]!.split(',')[ix.needBin[k]!]!;
}

/** Every package name row `i`'s Build-Depends mention for `arch`, alternatives included (reverse dependencies). */
function mentionedNames(ix: DebianTreeIndexData, i: number, arch: string): string[] {
  const out: string[] = [];
  for (let k = ix.needOff[i]!; k < ix.needOff[i + 1]!; k++) out.push(neededName(ix, k));
  if (ix.needVirt[i] !== '') out.push(...ix.needVirt[i]!.split(' '));
  return out.concat(mentionedBinaries(ix.restricted[i]!, ix.alts[i]!, arch));
}
