/**
 * A bulk's build phase: the scheduler over the ports to build, N builders fed by it, the progress events and ETA,
 * and one port started on a free builder.
 */
import os from 'node:os';
import path from 'node:path';
import { subDag, type Dag } from '../graph/index.js';
import { createScheduler, type Scheduler } from '../scheduler/index.js';
import type { Port } from '../recipe/index.js';
import type { BulkRow, PackageRow } from '../store/index.js';
import { systemWithCcache, type LayerSpec } from '../build/index.js';
import { buildDependNames } from '../debian/index.js';
import { hostArch } from '../jail/index.js';
import { layersRoot } from '../layers/index.js';
import type { BulkEvents, BulkCounts } from './events.js';
import { jobsFor } from './budget.js';
import { estimateRemaining, etaScale } from './eta.js';
import { expectedDuration, lastPublishSeconds, type Expected } from './durations.js';
import { PhaseMeter } from './meter.js';
import { sharedNames } from './shared-layer.js';
import { recordResult, runBuild } from './port-build.js';
import type { Made, RunBulkOptions } from './runner.js';

/** The log file of one port in one bulk. */
export function logPath(home: string, bulk: number, origin: string): string {
  return path.join(home, 'logs', String(bulk), `${origin.replace('/', '_')}.log`);
}

/** What the build phase starts from. */
export interface BuildPhaseInput {
  readonly o: RunBulkOptions;
  readonly bulk: BulkRow;
  readonly events: BulkEvents;
  readonly t0: number;
  readonly pkgDir: string;
  /** The current packages of (jail, tree), by origin. */
  readonly previous: ReadonlyMap<string, PackageRow>;
  readonly resumed: ReadonlyMap<string, Made>;
  /** True when this run adopted an interrupted bulk (`--resume`). */
  readonly resumedBulk: boolean;
}

/** What the build phase leaves: every package made, the failures and skips, and how the bulk ended. */
export interface BuildPhaseResult {
  readonly built: ReadonlyMap<string, Made>;
  readonly failed: readonly { origin: string; phase?: string; reason?: string }[];
  readonly skipped: readonly { origin: string; reason: string }[];
  readonly sched: Scheduler;
  readonly counts: () => BulkCounts;
  readonly status: 'cancelled' | 'failed' | 'done';
}

/** The build phase's shared state: the scheduler over the ports to build, the results so far, the pace. */
export interface BuildState extends BuildPhaseInput {
  readonly dag: Dag;
  readonly sched: Scheduler;
  readonly estimates: readonly Expected[];
  readonly expected: readonly number[];
  readonly built: Map<string, Made>;
  readonly failed: { origin: string; phase?: string; reason?: string }[];
  readonly skipped: { origin: string; reason: string }[];
  readonly cores: number;
  /** The host's architecture: emulated builds (an arm64 jail on an amd64 host) get their limits scaled up. */
  readonly host: string;
  readonly deadHosts: Set<string>;
  /** The dependency layers of this bulk's builds, with its shared layer's names (undefined: layers off). */
  readonly layers: LayerSpec | undefined;
  /** This bulk's pace against the expectations (finished builds), which corrects the ETA. */
  readonly pace: { actualS: number; expectedS: number; n: number };
  readonly now: () => number;
  readonly counts: () => BulkCounts;
  progress: (force?: boolean) => void;
}

/**
 * The layers of a bulk's builds (not with a fake runner), and the shared layer's names: what most ports to build
 * install from the archive. A local build (`bulk -t`'s QA wrapper included) uses the whole spec; the dist master
 * sends only the shared names to its workers, whose layers live in their own homes.
 */
function layerSpec(o: RunBulkOptions): LayerSpec | undefined {
  if (!o.layers || o.layers.maxMb <= 0 || o.runner) return undefined;
  const withCcache = o.ccache !== undefined;
  const members = o.plan.build.map((origin) => o.ports.get(origin)).filter((p): p is Port => p !== undefined);
  // Archive packages only: not what a member of this bulk makes (kiln's are installed per build). A virtual name
  // (debhelper-compat) stays: apt takes its one provider, and a shared layer apt cannot make is skipped.
  const made = new Set(members.flatMap((p) => p.debian?.binary ?? [p.pkgname]));
  const profiles = new Set(o.withTests ? [] : ['nocheck']);
  const requests = members.map((p) => {
    const d = p.debian;
    if (p.recipe.build.system === 'debian' && d) {
      const names = buildDependNames([d.buildDepends, d.buildDependsArch, d.buildDependsIndep], o.jail.arch, profiles);
      return [...names.filter((n) => !made.has(n)), 'fakeroot', ...systemWithCcache([], withCcache, o.jail.path)];
    }
    // As the build adds it (a port without system dependencies makes no layer: it asks for none).
    const sys = p.recipe.depends.system;
    return sys.length > 0 ? systemWithCcache(sys, withCcache, o.jail.path) : [];
  });
  return {
    root: layersRoot(o.home),
    jailIdentity: o.jail.identity,
    maxBytes: o.layers.maxMb * 1048576,
    shared: sharedNames(requests),
  };
}

/** The graph of what to build (resumed ports count as done), expected durations, and the scheduler over them. */
async function buildState(inp: BuildPhaseInput): Promise<BuildState> {
  const { o, previous, resumed } = inp;
  const index = new Map(o.dag.ids.map((id, i) => [id, i]));
  const dag = subDag(
    o.dag,
    o.plan.build.map((origin) => index.get(origin)!),
  );
  // Expected durations: learned wall times, else the current package's, else from distfile size, else a default.
  const durIn = {
    learned: o.store.bulks.learnedDurations(),
    previousS: new Map([...previous].map(([k, p]) => [k, p.durationS])),
    distfilesDir: path.join(o.home, 'distfiles'),
  };
  const estimates: Expected[] = dag.ids.map((origin) => expectedDuration(o.ports.get(origin)!, durIn));
  const expected = estimates.map((e) => e.seconds);
  const done = dag.ids.flatMap((origin, i) => (resumed.has(origin) ? [i] : []));
  const sched = createScheduler({ dag, durations: expected, builders: o.builders, done });
  const built = new Map<string, Made>(resumed);
  const failed: { origin: string; phase?: string; reason?: string }[] = [];
  const skipped: { origin: string; reason: string }[] = o.plan.skip.map((s) => ({
    origin: s.origin,
    reason: s.reason,
  }));
  const now = (): number => (Date.now() - inp.t0) / 1000;
  // A port this bulk built before it was interrupted is kept by the plan but counted as built (`--resume`).
  const resumedKept = o.plan.keep.filter((origin) => resumed.has(origin)).length;
  const counts = (): BulkCounts => {
    const c = sched.counts();
    return {
      built: built.size,
      failed: failed.length,
      skipped: skipped.length,
      kept: o.plan.keep.length - resumedKept,
      deleted: o.keepStale ? 0 : o.plan.delete.length,
      remaining: c.waiting + c.ready + c.running,
    };
  };
  return {
    ...inp,
    dag,
    sched,
    estimates,
    expected,
    built,
    failed,
    skipped,
    cores: o.cores ?? os.availableParallelism(),
    host: await hostArch(),
    deadHosts: new Set<string>(),
    layers: layerSpec(o),
    pace: { actualS: 0, expectedS: 0, n: 0 },
    now,
    counts,
    progress: () => undefined,
  };
}

/** A `progress` event (counts, ETA) at most once a second unless forced; the ETA includes the final publish. */
function progressReporter(st: BuildState): (force?: boolean) => void {
  const { o, bulk, sched, dag, expected, now } = st;
  const earlier = o.store.bulks
    .listBulks({ jail: o.jail.name, tree: o.tree.name, limit: 10 })
    .filter((b) => b.id !== bulk.id);
  const publishS =
    o.publish === false
      ? 0
      : lastPublishSeconds(
          o.home,
          earlier.map((b) => b.id),
        );
  let lastEta = -Infinity;
  return (force = false): void => {
    if (!force && Date.now() - lastEta < 1000) return;
    lastEta = Date.now();
    // Running builds already past their expectation say the bulk is slow before any build finishes.
    const p = { ...st.pace };
    for (const r of sched.running()) {
      const ran = now() - r.since;
      const e = expected[r.node] ?? 60;
      if (Number.isFinite(ran) && ran > e) {
        p.actualS += ran;
        p.expectedS += e;
        p.n += 1;
      }
    }
    const left = estimateRemaining(sched, dag, expected, o.builders, now(), etaScale(p.actualS, p.expectedS, p.n));
    const etaS = left === null ? null : left + publishS;
    st.events.send({ type: 'progress', bulk: bulk.id, t: Date.now(), counts: st.counts(), etaS, elapsedS: now() });
  };
}

/** Builds the plan's ports with N builders fed by the scheduler, recording each build as it ends. */
export async function scheduleAndBuild(inp: BuildPhaseInput): Promise<BuildPhaseResult> {
  const st = await buildState(inp);
  const { o, bulk, events, sched } = st;
  st.progress = progressReporter(st);
  events.send({
    type: 'bulk-start',
    bulk: bulk.id,
    t: Date.now(),
    jail: o.jail.name,
    tree: o.tree.name,
    builders: o.builders,
    toBuild: o.plan.build.filter((origin) => !inp.resumed.has(origin)).length,
    counts: st.counts(),
    resumed: inp.resumedBulk,
  });
  st.progress(true);
  const free: number[] = Array.from({ length: o.builders }, (_, i) => o.builders - i);
  const active = new Set<Promise<void>>();
  let settle: (() => void) | undefined;
  const finishedAll = new Promise<void>((r) => {
    settle = r;
  });
  const pump = (): void => {
    if (o.signal?.aborted) {
      if (active.size === 0) settle?.();
      return;
    }
    for (let guard = 0; free.length > 0 && guard < o.builders; guard++) {
      const n = sched.next(st.now());
      if (n === null) break;
      const b = free.pop()!;
      sched.started(n, b, st.now());
      const p = buildNode(st, n, b).then(() => {
        free.push(b);
        st.progress(true);
      });
      active.add(p);
      void p.finally(() => {
        active.delete(p);
        pump();
      });
    }
    if (active.size === 0) settle?.();
  };
  // The ETA moves while builds run, not only when one ends.
  const ticker = setInterval(() => st.progress(true), o.progressEveryMs ?? 5000);
  ticker.unref();
  pump();
  await finishedAll;
  clearInterval(ticker);
  const status = o.signal?.aborted ? 'cancelled' : st.failed.length > 0 ? 'failed' : 'done';
  return { built: st.built, failed: st.failed, skipped: st.skipped, sched, counts: st.counts, status };
}

/** One port on one builder: marks it running, builds it, records the result, skips its dependents if it failed. */
async function buildNode(st: BuildState, node: number, builder: number): Promise<void> {
  const { o, bulk, sched, expected, now } = st;
  const origin = st.dag.ids[node]!;
  const port = o.ports.get(origin)!;
  const others = sched.running().filter((r) => r.node !== node);
  const jobs = jobsFor({
    cores: st.cores,
    builders: o.builders,
    running: others.length,
    ready: sched.readyQueue().length,
    mode: o.jobBudget ?? 'adaptive',
    parallelSafe: port.recipe.build.parallel,
    expectedS: expected[node],
    runningLeftS: others.map((r) =>
      Math.max(0, (expected[r.node] ?? 60) - (now() - (Number.isFinite(r.since) ? r.since : now()))),
    ),
  });
  const log = logPath(o.home, bulk.id, origin);
  const startedAt = new Date().toISOString();
  o.store.bulks.setBuild(bulk.id, origin, {
    result: 'running',
    builder: String(builder),
    started: startedAt,
    log: path.relative(path.join(o.home, 'logs'), log),
  });
  st.events.send({
    type: 'port-start',
    bulk: bulk.id,
    t: Date.now(),
    origin,
    builder,
    jobs,
    expectedS: expected[node] ?? 60,
    estimate: st.estimates[node]?.source ?? 'default',
  });
  // CPU time per phase, summed from the sandbox's cgroup by a wrapper around the sandbox maker.
  const meter = new PhaseMeter();
  const res = await runBuild(st, origin, builder, jobs, log, meter);
  await recordResult(st, node, builder, res, meter);
}
