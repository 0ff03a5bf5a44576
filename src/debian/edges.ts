/**
 * Build-Depends as graph edges, the way sbuild reads them: restrictions first (`[arch]` lists against the jail's
 * architecture, `<profile>` formulas against the active build profiles), then the first remaining alternative of
 * each group; a binary package name (or a virtual one, through `Provides:`) leads to the source package that builds
 * it. An edge exists only when that source is part of the bulk; everything else comes from the archive. Cycles among
 * the bulk's ports are broken by taking the archive's binary for one edge of each, deterministically. Pure.
 */
import { cyclicComponents } from '../graph/index.js';

/** Does an architecture restriction list (`[amd64 !i386 linux-any]`) admit `arch`? (kiln's arches are all Linux.) */
export function archAdmits(list: readonly string[], arch: string): boolean {
  const hit = (t: string): boolean =>
    t === arch || t === 'any' || t === 'linux-any' || t === `any-${arch}` || t === `linux-${arch}`;
  const neg = list.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  const pos = list.filter((t) => !t.startsWith('!'));
  if (neg.some(hit)) return false;
  return pos.length === 0 || pos.some(hit);
}

/** Does a list of profile formulas (`<!nocheck> <stage1 cross>`) hold for the active profiles? */
export function profilesAdmit(formulas: readonly (readonly string[])[], active: ReadonlySet<string>): boolean {
  return formulas.some((terms) => terms.every((t) => (t.startsWith('!') ? !active.has(t.slice(1)) : active.has(t))));
}

/**
 * The binary package names the restricted groups of a source's Build-Depends need (the unrestricted ones are
 * resolved when the index is made), one per group: the first alternative its `[arch]`/`<profile>` restrictions
 * admit (sbuild's rule; later alternatives are for other resolvers). `restricted` is the index's relation text;
 * groups whose every alternative is restricted away are dropped.
 */
export function neededBinaries(restricted: string, arch: string, profiles: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (restricted === '') return out;
  for (const g of restricted.split(', ')) {
    for (const alt of g.split(' | ')) {
      const a = readAlt(alt);
      if (a.arches && !archAdmits(a.arches, arch)) continue;
      if (a.profiles && !profilesAdmit(a.profiles, profiles)) continue;
      out.push(a.name);
      break;
    }
  }
  return out;
}

/**
 * The package names the index keeps as text that a source's Build-Depends mention for `arch`, alternatives included
 * (reverse dependencies): the unrestricted groups' other alternatives (`alts`) and every admitted name of the
 * restricted groups.
 */
export function mentionedBinaries(restricted: string, alts: string, arch: string): string[] {
  const out = alts === '' ? [] : alts.split(' ');
  if (restricted !== '') {
    for (const g of restricted.split(', ')) {
      for (const alt of g.split(' | ')) {
        const a = readAlt(alt);
        if (!a.arches || archAdmits(a.arches, arch)) out.push(a.name);
      }
    }
  }
  return out;
}

/**
 * One alternative of the index's normalized relation text (`name[:qual] [arches] <terms> <terms>`, no version;
 * see `tree-index.ts`), read without regular expressions.
 */
function readAlt(alt: string): { name: string; arches?: string[]; profiles?: string[][] } {
  const sp = alt.indexOf(' ');
  const head = sp < 0 ? alt : alt.slice(0, sp);
  const colon = head.indexOf(':');
  const name = colon < 0 ? head : head.slice(0, colon);
  if (sp < 0) return { name };
  let arches: string[] | undefined;
  const profiles: string[][] = [];
  const ob = alt.indexOf('[', sp);
  if (ob >= 0)
    arches = alt
      .slice(ob + 1, alt.indexOf(']', ob))
      .split(' ')
      .filter(Boolean);
  for (let lt = alt.indexOf('<', sp), guard = 0; lt >= 0 && guard < 64; lt = alt.indexOf('<', lt + 1), guard++) {
    profiles.push(
      alt
        .slice(lt + 1, alt.indexOf('>', lt))
        .split(' ')
        .filter(Boolean),
    );
  }
  return { name, ...(arches ? { arches } : {}), ...(profiles.length > 0 ? { profiles } : {}) };
}

/** One Build-Depends edge: `from` waits for `to`, because it needs binary `via`. */
export interface DepEdge {
  readonly from: string;
  readonly to: string;
  readonly via: string;
}

/** The bulk's Build-Depends graph on node numbers: `ids` sorted, `deps[i]` the nodes `i` waits for. */
export interface EdgeGraph {
  readonly ids: readonly string[];
  readonly deps: number[][];
}

/** An edge given up to break a cycle: `from` builds with the archive's `via` instead of waiting for `to`. */
export interface BrokenEdge extends DepEdge {
  /** A shortest cycle it was on, as origins: `[from, to, …]` (back to `from`). */
  readonly cycle: readonly string[];
}

/** An edge given up, on node numbers, with a shortest cycle through it (`[from, to, …]`). */
export interface BrokenPair {
  readonly from: number;
  readonly to: number;
  readonly cycle: readonly number[];
}

/**
 * Breaks every cycle of `g` in place (its `deps` lose the edges given up). In each cyclic component, nodes are
 * ordered by the greedy heuristic of Eades, Lin and Smyth (sinks last, sources first; else the node with the most
 * dependents over dependencies, ties by origin), which keeps the edges given up few; an edge whose dependency comes
 * after its dependent in that order is given up. Deterministic; what is left is acyclic.
 */
export function breakCycles(g: EdgeGraph): BrokenPair[] {
  const n = g.ids.length;
  const deps = g.deps;
  const comps = cyclicComponents(g);
  const comp = new Int32Array(n).fill(-1);
  comps.forEach((c, k) => {
    for (const m of c) comp[m] = k;
  });
  const users: number[][] = [];
  for (let v = 0; v < n; v++) users.push([]);
  for (let v = 0; v < n; v++) if (comp[v] !== -1) for (const w of deps[v]!) if (comp[v] === comp[w]) users[w]!.push(v);
  const pos = new Int32Array(n).fill(-1);
  const outd = new Int32Array(n);
  const ind = new Int32Array(n);
  const alive = new Uint8Array(n);
  comps.forEach((c, k) => order(c, k, comp, deps, users, pos, outd, ind, alive));
  const pairs: [number, number][] = [];
  for (let f = 0; f < n; f++) {
    if (comp[f] === -1) continue;
    for (const t of deps[f]!) if (comp[t] === comp[f] && pos[t]! > pos[f]!) pairs.push([f, t]);
  }
  // Cycles are found on the whole component, before any edge is removed.
  const prev = new Int32Array(n);
  const seen = new Int32Array(n);
  const out = pairs.map(
    ([f, t], i): BrokenPair => ({ from: f, to: t, cycle: [f, ...shortestPath(t, f, deps, comp, prev, seen, i + 1)] }),
  );
  for (const [f, t] of pairs) deps[f] = deps[f]!.filter((x) => x !== t);
  return out;
}

/**
 * Eades-Lin-Smyth order of one component (`pos` gets 0.. for its nodes, dependencies first). `outd`/`ind` are
 * scratch arrays over all nodes (remaining dependencies / dependents within the component).
 */
function order(
  members: readonly number[],
  k: number,
  comp: Int32Array,
  deps: readonly number[][],
  users: readonly number[][],
  pos: Int32Array,
  outd: Int32Array,
  ind: Int32Array,
  alive: Uint8Array,
): void {
  const sorted = [...members].sort((a, b) => a - b);
  for (const m of sorted) {
    let c = 0;
    for (const w of deps[m]!) if (comp[w] === k) c++;
    outd[m] = c;
    ind[m] = users[m]!.length;
    alive[m] = 1;
  }
  let left = sorted.length;
  const first: number[] = []; // built first: no remaining dependencies
  const last: number[] = []; // built last: no remaining dependents
  const sources: number[] = []; // candidates with no remaining dependencies
  const sinks: number[] = []; // candidates with no remaining dependents
  let si = 0;
  let ki = 0;
  const take = (v: number): void => {
    alive[v] = 0;
    left--;
    for (const w of deps[v]!) if (alive[w] === 1 && --ind[w]! === 0) sinks.push(w);
    for (const u of users[v]!) if (alive[u] === 1 && --outd[u]! === 0) sources.push(u);
  };
  for (const m of sorted) {
    if (outd[m] === 0) sources.push(m);
    else if (ind[m] === 0) sinks.push(m);
  }
  for (let guard = 0; left > 0 && guard < 4 * members.length + 4; guard++) {
    if (si < sources.length) {
      const v = sources[si++]!;
      if (alive[v] === 1) {
        first.push(v);
        take(v);
      }
      continue;
    }
    if (ki < sinks.length) {
      const v = sinks[ki++]!;
      if (alive[v] === 1) {
        last.push(v);
        take(v);
      }
      continue;
    }
    // Most dependents over dependencies (lowest number on ties): it goes early, and the edges to its remaining
    // dependencies are given up.
    let best = -1;
    let score = -Infinity;
    for (const v of sorted) {
      if (alive[v] !== 1) continue;
      const sc = ind[v]! - outd[v]!;
      if (sc > score) {
        score = sc;
        best = v;
      }
    }
    first.push(best);
    take(best);
  }
  const seq = [...first, ...last.reverse()];
  seq.forEach((v, i) => {
    pos[v] = i;
  });
}

/** A shortest path from `a` to `b` inside their component (breadth first), `a` first, `b` excluded. */
function shortestPath(
  a: number,
  b: number,
  deps: readonly number[][],
  comp: Int32Array,
  prev: Int32Array,
  seen: Int32Array,
  stamp: number,
): number[] {
  seen[a] = stamp;
  prev[a] = -1;
  const queue: number[] = [a];
  let found = false;
  for (let h = 0; h < queue.length && !found; h++) {
    const v = queue[h]!;
    for (const w of deps[v]!) {
      if (seen[w] === stamp || comp[w] !== comp[a]) continue;
      seen[w] = stamp;
      prev[w] = v;
      if (w === b) {
        found = true;
        break;
      }
      queue.push(w);
    }
  }
  const path: number[] = [];
  if (!found) return path;
  for (let v = prev[b]!, guard = 0; v >= 0 && guard < deps.length + 1; v = prev[v]!, guard++) path.push(v);
  return path.reverse();
}

/** One line for a broken edge: `jq waits not for libonig: takes libonig-dev from the archive (cycle jq -> libonig -> jq)`. */
export function describeBroken(b: BrokenEdge): string {
  return (
    `build-depends on ${b.via}, built by ${b.to}, but ${b.to} is on a cycle with it (${[...b.cycle, b.cycle[0]].join(' -> ')}): ` +
    `this build takes ${b.via} from the archive instead of waiting for ${b.to}`
  );
}

/**
 * The binary package names a source's Build-Depends fields (`Build-Depends`, `-Arch`, `-Indep`, as in Sources) need
 * for `arch` under `profiles`: per group the first admitted alternative, without version or architecture qualifier.
 */
export function buildDependNames(fields: readonly string[], arch: string, profiles: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const f of fields) {
    const text = f
      .replace(/\s+/g, ' ')
      .split(',')
      .map((g) =>
        g
          .split('|')
          .map((a) => a.trim())
          .filter(Boolean)
          .join(' | '),
      )
      .filter(Boolean)
      .join(', ');
    for (const n of neededBinaries(text, arch, profiles)) out.add(n);
  }
  return [...out].sort();
}
