/**
 * The planner: given the selected ports, their identities and what is built already, decide per port
 * build / keep / delete / skip, with reasons. Pure.
 */
import { cycleGroups, dependents, formatCycle, subDag } from '../graph/index.js';
import { defaultOrder } from './order.js';
import { conditionalKeeps } from './abi.js';
import { changeReasons, REASONS } from './reasons.js';
import { DEFAULT_DURATION_S } from './types.js';
import type { Plan, PlanInput, SkipEntry } from './types.js';

const NEW: readonly string[] = Object.freeze([REASONS.new]);
const UNCHANGED: readonly string[] = Object.freeze([REASONS.unchanged]);

const byOrigin = (a: SkipEntry, b: SkipEntry): number => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0);

/**
 * Skip reasons for every node that cannot be built: its own (missing dependency, invalid dependency
 * recipe, cycle) or inherited from a dependency, naming the culprit. Returns node id → reason.
 */
function blockedNodes(input: PlanInput, index: ReadonlyMap<string, number>): Map<number, string> {
  const { dag } = input;
  const invalid = input.invalid ?? new Set<string>();
  const own = new Map<number, string[]>();
  const add = (v: number, why: string): void => {
    const list = own.get(v);
    if (list) list.push(why);
    else own.set(v, [why]);
  };
  for (const m of input.missing ?? []) {
    if (m.kind === 'root') continue;
    const v = index.get(m.origin);
    if (v === undefined) continue;
    const why = invalid.has(m.dependsOn)
      ? `depends on ${m.dependsOn}, whose recipe is invalid`
      : `depends on ${m.dependsOn}, which is not in the tree`;
    if (!own.get(v)?.includes(why)) add(v, why);
  }
  for (const g of input.cycles ?? cycleGroups(dag)) {
    const text = formatCycle(g.cycle.map((i) => dag.ids[i]!));
    const onCycle = new Set(g.cycle);
    for (const m of g.members) {
      add(
        m,
        onCycle.has(m)
          ? `part of the dependency cycle ${text}`
          : `mutually dependent with the dependency cycle ${text}`,
      );
    }
  }
  const reason = new Map<number, string>();
  if (own.size === 0) return reason;
  const culprit = new Map<number, number>();
  const queue: number[] = [];
  for (const [v, list] of own) {
    reason.set(v, list.join('; '));
    culprit.set(v, v);
    queue.push(v);
  }
  queue.sort((a, b) => a - b);
  const rev = dependents(dag);
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    const c = culprit.get(v)!;
    for (const w of rev[v]!) {
      if (reason.has(w)) continue;
      const origin = dag.ids[v]!;
      const why =
        c === v
          ? `depends on ${origin}, which is skipped (${reason.get(v)})`
          : `depends on ${origin}, which is skipped (${dag.ids[c]}: ${reason.get(c)})`;
      reason.set(w, why);
      culprit.set(w, c);
      queue.push(w);
    }
  }
  return reason;
}

/**
 * Decides, for every port of `input.dag`, whether to build it (new, changed, forced, or a dependency
 * rebuilt), keep its package (identity unchanged), or skip it (cannot be built); and which built packages
 * to delete (their port left the tree or the list, unless `keepStale`). A skipped port's old package
 * stays, as a failed port's does. `build` comes in the one-builder scheduler order.
 */
export function makePlan(input: PlanInput): Plan {
  const { dag, identities, built } = input;
  const force = input.force ?? new Set<string>();
  const invalid = input.invalid ?? new Set<string>();
  // Origin → node, made on first use (a first plan of a tree with no problems needs none).
  let indexMap: Map<string, number> | undefined;
  const index = (): Map<string, number> => {
    if (indexMap === undefined) {
      indexMap = new Map();
      for (let i = 0; i < dag.ids.length; i++) indexMap.set(dag.ids[i]!, i);
    }
    return indexMap;
  };
  const cycles = input.cycles ?? cycleGroups(dag);
  const blocked =
    (input.missing?.length ?? 0) > 0 || cycles.length > 0
      ? blockedNodes({ ...input, cycles }, index())
      : new Map<number, string>();

  const reasons = new Map<string, readonly string[]>();
  const skip: SkipEntry[] = [];
  let keep: string[] = [];
  const toBuild: number[] = [];
  for (let v = 0; v < dag.ids.length; v++) {
    const origin = dag.ids[v]!;
    const why = blocked.get(v);
    const id = identities.get(origin);
    if (why !== undefined || id === undefined) {
      skip.push({ origin, reason: why ?? 'no build identity (a dependency cannot be ordered)' });
      continue;
    }
    const old = built.get(origin);
    const forced = force.has(origin);
    if (!forced && (!old || old.identity === id.hash)) {
      // The common cases share one frozen reason list.
      if (old) keep.push(origin);
      else toBuild.push(v);
      reasons.set(origin, old ? UNCHANGED : NEW);
      continue;
    }
    const r: string[] = forced ? [REASONS.forced] : [];
    if (!old) r.push(REASONS.new);
    else r.push(...changeReasons(old, id.components, id.hash));
    toBuild.push(v);
    reasons.set(origin, r);
  }

  // The ABI check: ports kept only by the recorded ABI of a dependency being rebuilt are built conditionally.
  let conditional: Map<string, readonly string[]> | undefined;
  if (input.abi && toBuild.length > 0 && keep.length > 0) {
    const cond = conditionalKeeps(dag, identities, new Set(keep.map((o) => index().get(o)!)), new Set(toBuild));
    if (cond.size > 0) {
      conditional = new Map();
      for (const [v, why] of cond) {
        conditional.set(dag.ids[v]!, why);
        reasons.set(dag.ids[v]!, why);
        toBuild.push(v);
      }
      toBuild.sort((a, b) => a - b);
      keep = keep.filter((o) => !conditional!.has(o));
    }
  }

  const skipped = new Set(skip.map((s) => s.origin));
  for (const m of input.missing ?? []) {
    // A requested origin that is not a loadable port; or a port with an invalid recipe that another needs.
    const origin = m.kind === 'root' ? m.origin : m.dependsOn;
    if (skipped.has(origin) || (m.kind !== 'root' && !invalid.has(origin))) continue;
    skipped.add(origin);
    skip.push({ origin, reason: invalid.has(origin) ? 'its recipe is invalid' : 'not in the tree' });
  }
  if (input.all) {
    for (const o of invalid) {
      if (!skipped.has(o)) {
        skipped.add(o);
        skip.push({ origin: o, reason: 'its recipe is invalid' });
      }
    }
  }

  const del: string[] = [];
  for (const origin of built.keys()) {
    if (index().has(origin) || invalid.has(origin)) continue;
    const gone = input.ports.has(origin) ? REASONS.leftList : REASONS.leftTree;
    if (input.keepStale || input.additive) {
      keep.push(origin);
      reasons.set(
        origin,
        input.additive ? [...(gone === REASONS.leftTree ? [gone] : []), REASONS.notRequested] : [gone, REASONS.stale],
      );
    } else {
      del.push(origin);
      reasons.set(origin, [gone]);
    }
  }

  const sub = toBuild.length === dag.ids.length ? dag : subDag(dag, toBuild);
  const durations = new Float64Array(sub.ids.length);
  for (let i = 0; i < sub.ids.length; i++) {
    const o = sub.ids[i]!;
    durations[i] = input.durations?.get(o) ?? built.get(o)?.durationS ?? DEFAULT_DURATION_S;
  }
  const build = (input.order ?? defaultOrder)(sub, durations).map((i) => sub.ids[i]!);
  keep.sort();
  del.sort();
  skip.sort(byOrigin);
  return {
    build,
    keep,
    delete: del,
    skip,
    counts: { build: build.length, keep: keep.length, delete: del.length, skip: skip.length },
    reasons,
    ...(conditional ? { conditional } : {}),
  };
}
