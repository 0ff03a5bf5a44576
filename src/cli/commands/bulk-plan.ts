/**
 * The planning half of `kiln bulk` (and of its `-n`), shared by the command (bulk.ts) and the real run
 * (bulk-run.ts): tree → closure → graph → identities → plan, with every input problem located.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { CliContext } from '../context.js';
import { KilnError, type Problem } from '../../util/errors.js';
import { openStore, type JailRecord, type PackageRow, type Store } from '../../store/index.js';
import { effectiveOptions, parseList, type Port } from '../../recipe/light.js';
import { graphProblems } from './graph-problems.js';
import { getOptionChoices, resolveTree, scanCacheDir, scanTree, type TreeRef } from '../../tree/index.js';
import { closureDag, cycleGroups, type Dag } from '../../graph/index.js';
import type { DebianPlanNotes } from './bulk-debian.js';
import {
  computeIdentities,
  makePlan,
  placeholderJailIdentity,
  toBuiltRecords,
  type BuiltRecord,
  type Identity,
  type Plan,
} from '../../plan/index.js';

/** What {@link planBulk} needs (the parsed command line). */
export interface BulkOptions {
  /** `-j`: jail name. */
  readonly jail: string;
  /** `-p`: tree name or path. */
  readonly tree: string;
  /** `-f`: list file (relative to `ctx.cwd`). */
  readonly file?: string;
  /** Origins from the command line. */
  readonly origins?: readonly string[];
  /** `-a`: every port of the tree. */
  readonly all?: boolean;
  /** `-n`: only planning (a missing jail is then allowed, with a placeholder identity). */
  readonly dryRun?: boolean;
  /** `-C`: rebuild the requested ports even if unchanged. */
  readonly clean?: boolean;
  /** `--keep-stale`. */
  readonly keepStale?: boolean;
  /** `-t`: tests run (Debian trees: the `nocheck` profile is off, so test-only Build-Depends count). */
  readonly tests?: boolean;
  /** `--rdeps`: add the ports that build-depend on these origins' packages (Debian trees). */
  readonly rdeps?: readonly string[];
  /** `--rdeps-depth` (default 1). */
  readonly rdepsDepth?: number;
  /** An open store to use (else one is opened on `ctx.home` and closed before returning). */
  readonly store?: Store;
}

/** What {@link planBulk} found and decided. */
export interface BulkPlan {
  readonly plan: Plan;
  /** The tree as resolved. */
  readonly tree: TreeRef;
  /** The jail's record, or undefined for a dry run against a jail that does not exist yet. */
  readonly jail: JailRecord | undefined;
  /** Every loadable port of the tree. */
  readonly ports: Map<string, Port>;
  /** The graph of the selected ports (node = origin). */
  readonly dag: Dag;
  /** Build identities of the selected ports (none for ports on a cycle). */
  readonly identities: Map<string, Identity>;
  /** Located input problems: recipes, list file, missing dependencies, cycles. */
  readonly problems: Problem[];
  /** Input errors with no file position (a requested origin not in the tree). */
  readonly errors: string[];
  /** Notes for stderr that are not errors (the placeholder jail). */
  readonly notes: string[];
  /** For a tree over Debian's archive: cycles broken, sources left out, reverse dependencies added. */
  readonly debian?: DebianPlanNotes;
  /** Wall milliseconds of each planning step, in order (printed with `KILN_TIMINGS=1`). */
  readonly timings: { readonly step: string; readonly ms: number }[];
  /**
   * Builds an interrupted bulk finished (Ctrl-C, a kill) that are not published yet but whose identity and files
   * are intact: the plan keeps them, and the bulk publishes them with the rest (see {@link unpublishedBuilds}).
   */
  readonly carried: readonly PackageRow[];
  /** How many packages (jail, tree) has now (the base of the removal guard, {@link removalGuard}). */
  readonly current: number;
}

/** A bulk that would remove more than this share of the repository needs `--yes` (or `--delete-stale`). */
export const REMOVAL_GUARD_SHARE = 0.25;

/**
 * The removal guard: a message when the plan removes more than a quarter of the packages (jail, tree) has,
 * else undefined. A real bulk stops on it unless `--yes`; `-n` prints it as a note.
 */
export function removalGuard(plan: Plan, current: number): string | undefined {
  const n = plan.delete.length;
  if (n === 0 || n <= current * REMOVAL_GUARD_SHARE) return undefined;
  const shown = plan.delete.slice(0, 5).join(', ') + (n > 5 ? `, and ${n - 5} more` : '');
  return `this bulk would remove ${n} of the ${current} packages of the repository (${shown}), more than a quarter`;
}

/**
 * Builds that bulks of (jail, tree) finished after the last one that published (a Ctrl-C, a kill, a crash) and
 * whose `.deb`s are all still in the packages folder, newest first, those whose identity is the one the port has
 * now. A plain rerun keeps them as it keeps published packages, so finished work is never built again.
 */
export function unpublishedBuilds(
  store: Store,
  home: string,
  jail: string,
  tree: string,
  identities: ReadonlyMap<string, Identity>,
): PackageRow[] {
  const pkgDir = path.join(home, 'packages', `${jail}-${tree}`);
  const out = new Map<string, PackageRow>();
  for (const b of store.bulks.listBulks({ jail, tree, limit: 1000 })) {
    if (b.generation !== undefined) break;
    for (const r of store.bulks.builds(b.id)) {
      const files = r.files ?? [];
      const id = identities.get(r.origin);
      if (r.result !== 'built' || out.has(r.origin) || !id || r.identity !== id.hash || r.components === undefined)
        continue;
      if (files.length === 0 || !files.every((f) => fs.existsSync(path.join(pkgDir, f)))) continue;
      out.set(r.origin, {
        jail,
        tree,
        origin: r.origin,
        pkgname: r.pkgname!,
        version: r.version!,
        arch: r.arch!,
        identity: id.hash,
        components: r.components,
        files: [...files],
        built: r.finished ?? b.started,
        ...(r.wallMs !== undefined ? { durationS: r.wallMs / 1000 } : {}),
      });
    }
  }
  return [...out.values()];
}

/** Packages already built for (jail, tree), by origin: what the last publish made current. */
export function loadBuiltRecords(store: Store, jail: string, tree: TreeRef): Map<string, BuiltRecord> {
  return toBuiltRecords(store.bulks.packages(jail, tree.name));
}

/** Origins whose recipe failed to load, from the problems' paths (`LAYER/CAT/NAME/port.yaml`). */
function invalidOrigins(problems: readonly Problem[], ports: ReadonlyMap<string, Port>): Set<string> {
  const out = new Set<string>();
  for (const p of problems) {
    const dir = path.dirname(p.path);
    const origin = `${path.basename(path.dirname(dir))}/${path.basename(dir)}`;
    if (!ports.has(origin)) out.add(origin);
  }
  return out;
}

/** The requested roots: `'all'`, the list file's origins, or the command line's. */
function readRoots(
  ctx: CliContext,
  opts: BulkOptions,
  problems: Problem[],
): { roots: readonly string[] | 'all'; listPath?: string; listText?: string } {
  if (opts.all) return { roots: 'all' };
  if (opts.file === undefined) return { roots: opts.origins ?? [] };
  const file = path.resolve(ctx.cwd, opts.file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new KilnError('KILN_E_LIST', `cannot read list file ${opts.file}: ${(e as Error).message}`, {
      hint: 'give -f the path of a list file',
    });
  }
  const parsed = parseList(text, file);
  problems.push(...parsed.problems);
  return { roots: parsed.origins, listPath: file, listText: text };
}

/**
 * The planning half of `kiln bulk`: resolves the tree and the jail, scans the tree, takes the closure of
 * the request, builds the graph, computes identities against what is built, and plans. Input problems are
 * collected (not thrown) so every one is reported and the plan still shows what can be built.
 * Throws KilnError for what stops planning altogether (no such tree; no such jail unless `dryRun`). Async only to
 * import the debian module when the tree is over Debian's archive (a tree of recipes never loads it).
 */
export async function planBulk(ctx: CliContext, opts: BulkOptions): Promise<BulkPlan> {
  const store = opts.store ?? openStore(ctx.home);
  try {
    // The first row: from the process's start to here (Node's start-up, kiln's imports, opening the store).
    const timings: { step: string; ms: number }[] = [{ step: 'start-up (process to planning)', ms: performance.now() }];
    let last = performance.now();
    const step = <T>(name: string, fn: () => T): T => {
      const v = fn();
      record(name);
      return v;
    };
    const record = (name: string): void => {
      const now = performance.now();
      timings.push({ step: name, ms: now - last });
      last = now;
    };
    const tree = step('resolve tree', () => resolveTree(store, opts.tree, ctx.cwd));
    const jail = store.getJail(opts.jail);
    const notes: string[] = [];
    if (!jail) {
      if (!opts.dryRun) {
        throw new KilnError('KILN_E_JAIL_NOT_FOUND', `no jail named ${opts.jail}`, {
          hint: `make it with \`kiln jail create ${opts.jail}\``,
        });
      }
      notes.push(
        `kiln: note: jail ${opts.jail} does not exist yet; planning against a placeholder identity derived from its name`,
      );
    }
    const problems: Problem[] = [];
    const list = readRoots(ctx, opts, problems);
    const scan = await scanTree(tree, { cache: { dir: scanCacheDir(ctx.home) } });
    record('scan tree (tree + recipe)');
    problems.push(...scan.problems);
    let ports = scan.ports;
    const invalid = invalidOrigins(scan.problems, ports);
    let roots = list.roots;
    let debian: DebianPlanNotes | undefined;
    const errors: string[] = [];
    // Only a tree over Debian's archive needs the debian module.
    const deb = scan.debian ? await import('./bulk-debian.js') : undefined;
    if (scan.debian && deb) {
      const { debianPlan } = deb;
      const db = step('debian archive ports and Build-Depends', () =>
        debianPlan(scan.debian!, scan.ports, list.roots, jail?.arch, opts),
      );
      ports = db.ports;
      roots = db.roots;
      problems.push(...db.problems);
      errors.push(...db.errors);
      debian = db.notes;
    }
    const { dag, missing } = step('closure and graph', () => closureDag(ports, roots));
    const origins = dag.ids;
    const cycles = step('cycles', () => cycleGroups(dag));
    const options = step('option choices', () => {
      const m = new Map<string, Record<string, boolean>>();
      for (const [origin, chosen] of getOptionChoices(store, tree)) {
        const port = ports.get(origin);
        if (port) m.set(origin, effectiveOptions(port.recipe, chosen));
      }
      return m;
    });
    const identities = step('identities', () =>
      computeIdentities({ dag, ports, options, jail: jail?.identity ?? placeholderJailIdentity(opts.jail) }),
    );
    const published = store.bulks.packages(opts.jail, tree.name);
    const carried = unpublishedBuilds(store, ctx.home, opts.jail, tree.name, identities);
    const built = toBuiltRecords([...published, ...carried]);
    const force = opts.clean ? new Set(roots === 'all' ? origins : roots) : undefined;
    // Origins on the command line add to the repository; only a list file and -a say what it should hold.
    const additive = !opts.all && opts.file === undefined;
    const made = step('plan (with scheduler order)', () =>
      makePlan({
        dag,
        ports,
        identities,
        built,
        force,
        keepStale: opts.keepStale,
        additive,
        missing,
        invalid,
        all: roots === 'all',
        cycles,
      }),
    );
    const plan = debian && deb ? deb.withBrokenEdges(made, debian) : made;
    const listFile = list.listPath !== undefined ? { path: list.listPath, text: list.listText ?? '' } : undefined;
    problems.push(
      ...step('locate problems', () =>
        graphProblems(ports, missing, dag, cycles, invalid, tree.name, listFile, errors),
      ),
    );
    return {
      plan,
      tree,
      jail,
      ports,
      dag,
      identities,
      problems,
      errors,
      notes,
      timings,
      carried,
      current: published.length,
      ...(debian ? { debian } : {}),
    };
  } finally {
    if (!opts.store) store.close();
  }
}
