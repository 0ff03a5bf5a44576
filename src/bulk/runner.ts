/**
 * A bulk: the plan's ports built by N builders fed by the scheduler, each build recorded as it ends, failures
 * skipping their dependents, and at the end one atomic publish of the repository with every package that should be
 * in it (new ones, kept ones, and the previous package of a port that failed this time).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { PhaseFailure, Procedure } from '../util/phases.js';
import { subDag, type Dag } from '../graph/index.js';
import { createScheduler, type Scheduler } from '../scheduler/index.js';
import { toBuiltRecords, type BuiltRecord, type IdentityComponents, type Plan } from '../plan/index.js';
import type { Port } from '../recipe/index.js';
import type { TreeRef } from '../tree/index.js';
import type { BulkRow, JailRecord, PackageRow, Store } from '../store/index.js';
import {
  BwrapRunner,
  cleanupStaleSandboxes,
  settleRemovals,
  type Limits,
  type SandboxRunner,
} from '../sandbox/index.js';
import {
  buildPort,
  ccacheDir,
  kilnRunDeps,
  kilnSonameMap,
  packageDebs,
  type BuildPortInput,
  type LayerSpec,
  type BuildResult,
  type BuiltPackage,
} from '../build/index.js';
import { buildDependNames, debianKilnVersion } from '../debian/index.js';
import { currentGeneration, publish, repoDir, repoName } from '../repo/index.js';
import { debAbiHash, debVersion, portSourceDateEpoch } from '../package/index.js';
import { effectiveOptions } from '../recipe/index.js';
import { hostArch, limitsForArch } from '../jail/index.js';
import { BulkEvents, type BulkCounts } from './events.js';
import { jobsFor } from './budget.js';
import { estimateRemaining, etaScale } from './eta.js';
import { acquireBulk, type BulkLock } from './lock.js';
import { expectedDuration, lastPublishSeconds, type Expected } from './durations.js';
import { PhaseMeter } from './meter.js';
import { sharedNames } from './shared-layer.js';
import { layersRoot } from '../layers/index.js';

/** Everything a bulk needs; the CLI fills it from the command line, kiln.yaml and `planBulk`. */
export interface RunBulkOptions {
  readonly home: string;
  readonly store: Store;
  readonly jail: JailRecord;
  readonly tree: TreeRef;
  readonly plan: Plan;
  readonly dag: Dag;
  readonly ports: ReadonlyMap<string, Port>;
  readonly identities: ReadonlyMap<string, { readonly hash: string; readonly components: IdentityComponents }>;
  /** Option choices of the tree, per origin (effective values are derived from the recipes). */
  readonly choices: ReadonlyMap<string, Readonly<Record<string, boolean>>>;
  /** Builder slots (-J). */
  readonly builders: number;
  /** Host cores for the job budget (default: os.availableParallelism()). */
  readonly cores?: number;
  readonly jobBudget?: 'adaptive' | 'fixed';
  /** kiln.yaml `ccache: true`: each port builds with its own compiler cache, capped at `maxSize`. */
  readonly ccache?: { readonly maxSize: string };
  /** kiln.yaml `cache.layers_mb` (> 0): dependency layers, all together at most `maxMb` (local builds only). */
  readonly layers?: { readonly maxMb: number };
  /** Limits of every build (a port's own limits override them). */
  readonly limits: Limits;
  readonly withTests?: boolean;
  readonly keepStale?: boolean;
  readonly keepGenerations?: number;
  readonly mirrors?: readonly string[];
  readonly debianMirror?: string;
  /** Continue the last unfinished bulk of this (jail, tree). */
  readonly resume?: boolean;
  /**
   * Builds of interrupted bulks the plan keeps (`planBulk`'s `carried`): published with the rest, and installed
   * for their dependents' builds, as current packages are.
   */
  readonly carried?: readonly PackageRow[];
  /** What was asked, recorded with the bulk. */
  readonly request: Record<string, unknown>;
  readonly events?: BulkEvents;
  readonly runner?: SandboxRunner;
  /**
   * Runs one build (default: {@link buildPort} here, in a local sandbox). The distributed mode passes one that
   * hands the build to a remote worker; it gets the same input and must give the same kind of result.
   */
  readonly execute?: (input: BuildPortInput) => Promise<BuildResult>;
  readonly signal?: AbortSignal;
  /**
   * SOURCE_DATE_EPOCH of every build; unset: each recipe port's own (`portSourceDateEpoch`: its folder's last commit),
   * and 1 for Debian source packages (their changelog entry's date is taken, the later of the two).
   */
  readonly sourceDateEpoch?: number;
  /** The packages' Maintainer (kiln.yaml `maintainer`). */
  readonly maintainer?: string;
  /** Publish the repository at the end (default true). */
  readonly publish?: boolean;
  /** A `progress` event (counts, ETA) at least this often while builds run, ms (default 5000). */
  readonly progressEveryMs?: number;
}

/** How a bulk ended. */
export interface BulkSummary {
  readonly bulk: BulkRow;
  readonly counts: BulkCounts;
  readonly failed: readonly { readonly origin: string; readonly phase?: string; readonly reason?: string }[];
  readonly skipped: readonly { readonly origin: string; readonly reason: string }[];
  readonly offenders: readonly { readonly origin: string; readonly blocked: number }[];
  readonly generation?: number;
  readonly wallS: number;
}

/** The folder of built packages of (jail, tree), named like its repository (`repoName`: no two pairs share one). */
export function packagesDir(home: string, jail: string, tree: string): string {
  return path.join(home, 'packages', repoName(jail, tree));
}

/** The log file of one port in one bulk. */
export function logPath(home: string, bulk: number, origin: string): string {
  return path.join(home, 'logs', String(bulk), `${origin.replace('/', '_')}.log`);
}

/** Previous packages of (jail, tree) as the plan wants them (`loadBuiltRecords`). */
export function builtRecords(store: Store, jail: string, tree: string): Map<string, BuiltRecord> {
  return toBuiltRecords(store.bulks.packages(jail, tree));
}

/** Runs the bulk to the end. Never throws for failed builds: the summary counts them. */
export async function runBulk(o: RunBulkOptions): Promise<BulkSummary> {
  const t0 = Date.now();
  const events = o.events ?? new BulkEvents();
  const lock = acquireBulk(o.store, {
    jail: o.jail.name,
    tree: o.tree.name,
    builders: o.builders,
    request: o.request,
    resume: o.resume ?? false,
  });
  // Every event is also appended to HOME/logs/BULK/events.jsonl, so other processes (kiln serve) can follow.
  const eventsFile = path.join(o.home, 'logs', String(lock.bulk.id), 'events.jsonl');
  fs.mkdirSync(path.dirname(eventsFile), { recursive: true });
  const eventsFd = fs.openSync(eventsFile, 'a');
  const stopJournal = events.subscribe((e) => {
    fs.writeSync(eventsFd, `${JSON.stringify(e)}\n`);
  });
  try {
    return await runLocked(o, lock, events, t0);
  } catch (err) {
    // A phase's failure carries the error that stopped it (the CLI reports KilnErrors by their code).
    const e = err instanceof PhaseFailure ? err.cause : err;
    // An unexpected error (disk full, publish failed): the bulk ends as failed, so it holds no lock.
    const row = o.store.bulks.getBulk(lock.bulk.id);
    if (row?.status === 'running') o.store.bulks.finishBulk(lock.bulk.id, 'failed', row.counts);
    await settleRemovals();
    throw e;
  } finally {
    stopJournal();
    fs.closeSync(eventsFd);
  }
}

/** A package this bulk built (or an interrupted run of it finished), with the row the publish records. */
type Made = BuiltPackage & { row: PackageRow };

/**
 * The bulk as named phases (each logged and timed in `HOME/logs/BULK/bulk.log`, as a build's phases are in its
 * log): resume, record the plan, schedule and build, publish, summarise.
 */
async function runLocked(o: RunBulkOptions, lock: BulkLock, events: BulkEvents, t0: number): Promise<BulkSummary> {
  const logFile = path.join(o.home, 'logs', String(lock.bulk.id), 'bulk.log');
  const proc = new Procedure((line) => fs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`));
  const pkgDir = packagesDir(o.home, o.jail.name, o.tree.name);
  const published = new Map(o.store.bulks.packages(o.jail.name, o.tree.name).map((p) => [p.origin, p]));
  const previous = new Map([...published, ...(o.carried ?? []).map((p): [string, PackageRow] => [p.origin, p])]);
  const resumed = await proc.phase('resume', () => resumePhase(o, lock, pkgDir));
  await proc.phase('record plan', () => recordPlan(o, lock.bulk.id, resumed));
  const run = await proc.phase('schedule and build', () =>
    scheduleAndBuild({ o, bulk: lock.bulk, events, t0, pkgDir, previous, resumed, resumedBulk: lock.resumed }),
  );
  const generation = await proc.phase('publish', () =>
    publishPhase(o, lock.bulk.id, events, pkgDir, published, previous, run.built),
  );
  return proc.phase('summarise', () => summarise(o, lock, events, t0, run, generation));
}

/**
 * Sandboxes whose owner died (a killed bulk) are unmounted and removed before anything else; then what an earlier,
 * interrupted run of this bulk finished already (`--resume`): built rows whose identity and files are intact.
 */
async function resumePhase(o: RunBulkOptions, lock: BulkLock, pkgDir: string): Promise<Map<string, Made>> {
  await cleanupStaleSandboxes(o.home);
  fs.mkdirSync(path.join(pkgDir, 'All'), { recursive: true });
  const resumed = new Map<string, Made>();
  if (!lock.resumed) return resumed;
  for (const r of o.store.bulks.builds(lock.bulk.id)) {
    const id = o.identities.get(r.origin);
    const files = r.files ?? [];
    if (
      r.result === 'built' &&
      id &&
      r.identity === id.hash &&
      files.length > 0 &&
      files.every((f) => fs.existsSync(path.join(pkgDir, f)))
    ) {
      const row: PackageRow = {
        jail: o.jail.name,
        tree: o.tree.name,
        origin: r.origin,
        pkgname: r.pkgname!,
        version: r.version!,
        arch: r.arch!,
        identity: r.identity,
        components: id.components,
        files: [...files],
        built: r.finished ?? new Date().toISOString(),
        ...(r.wallMs !== undefined ? { durationS: r.wallMs / 1000 } : {}),
      };
      resumed.set(r.origin, {
        ...builtPackage(
          o.ports.get(r.origin),
          r.origin,
          r.pkgname!,
          r.version!,
          files.map((f) => path.join(pkgDir, f)),
        ),
        row,
      });
    }
  }
  return resumed;
}

/** Records the plan: queued, kept, skipped, deleted (a resumed port's row stays as it was). */
function recordPlan(o: RunBulkOptions, bulkId: number, resumed: ReadonlyMap<string, Made>): void {
  const plan = o.plan;
  o.store.transaction(() => {
    for (const origin of plan.build) {
      if (resumed.has(origin)) continue;
      o.store.bulks.setBuild(bulkId, origin, {
        result: 'queued',
        identity: o.identities.get(origin)?.hash,
        reasons: plan.reasons.get(origin) ?? [],
      });
    }
    for (const origin of plan.keep) {
      if (!resumed.has(origin))
        o.store.bulks.setBuild(bulkId, origin, { result: 'kept', reasons: plan.reasons.get(origin) ?? [] });
    }
    for (const s of plan.skip) o.store.bulks.setBuild(bulkId, s.origin, { result: 'skipped', reason: s.reason });
    if (!o.keepStale)
      for (const origin of plan.delete)
        o.store.bulks.setBuild(bulkId, origin, { result: 'deleted', reasons: plan.reasons.get(origin) ?? [] });
  });
}

/** What the build phase starts from. */
interface BuildPhaseInput {
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
interface BuildPhaseResult {
  readonly built: ReadonlyMap<string, Made>;
  readonly failed: readonly { origin: string; phase?: string; reason?: string }[];
  readonly skipped: readonly { origin: string; reason: string }[];
  readonly sched: Scheduler;
  readonly counts: () => BulkCounts;
  readonly status: 'cancelled' | 'failed' | 'done';
}

/** The build phase's shared state: the scheduler over the ports to build, the results so far, the pace. */
interface BuildState extends BuildPhaseInput {
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
 * The layers of a local bulk's builds (not with a fake runner, nor with remote workers, which keep their own), and
 * the shared layer's names: what most recipe ports to build install from the archive.
 */
function layerSpec(o: RunBulkOptions): LayerSpec | undefined {
  if (!o.layers || o.layers.maxMb <= 0 || o.runner || o.execute) return undefined;
  const ccache = o.ccache !== undefined && !fs.existsSync(path.join(o.jail.path, 'usr/bin/ccache'));
  const members = o.plan.build.map((origin) => o.ports.get(origin)).filter((p): p is Port => p !== undefined);
  // Archive packages only: not what a member of this bulk makes (kiln's are installed per build). A virtual name
  // (debhelper-compat) stays: apt takes its one provider, and a shared layer apt cannot make is skipped.
  const made = new Set(members.flatMap((p) => p.debian?.binary ?? [p.pkgname]));
  const profiles = new Set(o.withTests ? [] : ['nocheck']);
  const requests = members.map((p) => {
    const d = p.debian;
    if (p.recipe.build.system === 'debian' && d) {
      const names = buildDependNames([d.buildDepends, d.buildDependsArch, d.buildDependsIndep], o.jail.arch, profiles);
      return [...names.filter((n) => !made.has(n)), 'fakeroot', ...(ccache ? ['ccache'] : [])];
    }
    const sys = p.recipe.depends.system;
    return ccache && sys.length > 0 && !sys.includes('ccache') ? [...sys, 'ccache'] : [...sys];
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
async function scheduleAndBuild(inp: BuildPhaseInput): Promise<BuildPhaseResult> {
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

/** Builds one port (`o.execute`, default {@link buildPort}); a throw becomes a failure of phase `start`. */
async function runBuild(
  st: BuildState,
  origin: string,
  builder: number,
  jobs: number,
  log: string,
  meter: PhaseMeter,
): Promise<BuildResult> {
  const { o, bulk } = st;
  const port = o.ports.get(origin)!;
  const id = o.identities.get(origin)!;
  try {
    const deps = depsOf(st, origin);
    const runDeps = port.recipe.depends.run
      .map((d) => st.built.get(d) ?? prevPackage(st, d))
      .filter((x): x is BuiltPackage => x !== undefined);
    fs.rmSync(log, { force: true });
    for (const n of limitNotes(o.limits, port)) {
      fs.mkdirSync(path.dirname(log), { recursive: true });
      fs.appendFileSync(log, `[${new Date().toISOString()}] ${n}\n`);
    }
    return await (o.execute ?? buildPort)({
      home: o.home,
      jail: { name: o.jail.name, path: o.jail.path, arch: o.jail.arch, release: o.jail.release },
      port,
      identity: id.hash,
      options: effectiveOptions(port.recipe, o.choices.get(origin) ?? {}),
      depDebs: deps.flatMap(packageDebs),
      kilnRun: kilnRunDeps(runDeps),
      kilnSonames: await kilnSonameMap(deps),
      jobs,
      withTests: o.withTests,
      limits: limitsForArch(portLimits(o.limits, port), o.jail.arch, st.host),
      outDir: path.join(st.pkgDir, 'All'),
      logFile: log,
      sourceDateEpoch: o.sourceDateEpoch ?? (port.debian ? 1 : await portSourceDateEpoch(port.dir)),
      ...(o.maintainer ? { maintainer: o.maintainer } : {}),
      mirrors: o.mirrors,
      debianMirror: o.debianMirror,
      deadHosts: st.deadHosts,
      ...(st.layers ? { layers: st.layers } : {}),
      ...(o.ccache
        ? { ccache: { dir: ccacheDir(o.home, o.jail.name, o.tree.name, origin), maxSize: o.ccache.maxSize } }
        : {}),
      runner: meter.wrap(o.runner ?? new BwrapRunner(o.home)),
      signal: o.signal,
      onPhase: (phase) => {
        meter.phase(phase);
        o.store.bulks.setBuild(bulk.id, origin, { phase });
        st.events.send({ type: 'port-phase', bulk: bulk.id, t: Date.now(), origin, builder, phase });
      },
    });
  } catch (e) {
    return {
      ok: false,
      debs: [],
      phase: 'start',
      failure: 'build',
      reason: e instanceof Error ? e.message : String(e),
      timings: [],
      wallMs: 0,
      cpuMs: 0,
    };
  }
}

/** Records a finished build (built with its package row, or failed), tells the scheduler, and skips what needs a failure. */
async function recordResult(
  st: BuildState,
  node: number,
  builder: number,
  res: BuildResult,
  meter: PhaseMeter,
): Promise<void> {
  const { o, bulk, pkgDir } = st;
  const origin = st.dag.ids[node]!;
  const port = o.ports.get(origin)!;
  const id = o.identities.get(origin)!;
  const finishedAt = new Date().toISOString();
  const phases = res.timings.map((t) => {
    const cpuMs = meter.cpuMs(t.name);
    return { name: t.name, wallMs: t.wallMs, ok: t.ok, ...(cpuMs !== undefined ? { cpuMs } : {}) };
  });
  if (res.ok) {
    st.pace.actualS += res.wallMs / 1000;
    st.pace.expectedS += st.expected[node] ?? 60;
    st.pace.n += 1;
    // A Debian source package makes several .debs: all of them are the port's files.
    // The -dbgsym packages are the port's files too: publish puts them in the debug suite (kiln.yaml debug_symbols).
    const files = [...res.debs, ...(res.debugDebs ?? [])].map((d) => path.relative(pkgDir, d));
    const version = port.debian
      ? debianKilnVersion(port.debian.version, port.recipe.revision)
      : debVersion(port.recipe.version, port.recipe.revision);
    const arch =
      port.recipe.arch === 'all' || (port.debian && res.debs.every((d) => d.endsWith('_all.deb')))
        ? 'all'
        : o.jail.arch;
    // The exported ABI (shared-library symbols, headers), recorded for the opt-in ABI check of later plans.
    const abi = await debsAbiHash(res.debs);
    const row: PackageRow = {
      jail: o.jail.name,
      tree: o.tree.name,
      origin,
      pkgname: port.pkgname,
      version,
      arch,
      identity: id.hash,
      components: id.components,
      files,
      built: finishedAt,
      durationS: res.wallMs / 1000,
      ...(abi !== undefined ? { abi } : {}),
    };
    st.built.set(origin, { ...builtPackage(port, origin, port.pkgname, version, res.debs), row });
    o.store.bulks.setBuild(bulk.id, origin, {
      result: 'built',
      pkgname: port.pkgname,
      version,
      arch,
      identity: id.hash,
      components: id.components,
      finished: finishedAt,
      wallMs: res.wallMs,
      cpuMs: res.cpuMs,
      phases,
      files,
    });
  } else {
    st.failed.push({ origin, phase: res.phase, reason: res.reason });
    o.store.bulks.setBuild(bulk.id, origin, {
      result: 'failed',
      phase: res.phase,
      failure: res.failure,
      reason: res.reason,
      finished: finishedAt,
      wallMs: res.wallMs,
      cpuMs: res.cpuMs,
      phases,
    });
  }
  st.events.send({
    type: 'port-done',
    bulk: bulk.id,
    t: Date.now(),
    origin,
    builder,
    ok: res.ok,
    wallS: res.wallMs / 1000,
    ...(res.cpuMs > 0 ? { cpuS: res.cpuMs / 1000 } : {}),
    ...(res.ok ? {} : { phase: res.phase, failure: res.failure, reason: res.reason }),
  });
  const out = st.sched.finished(node, res.ok ? 'ok' : 'failed', st.now());
  for (const s of out.skipped) {
    const reason = `depends on ${origin}, which failed${res.phase ? ` in phase ${res.phase}` : ''}`;
    st.skipped.push({ origin: st.dag.ids[s]!, reason });
    o.store.bulks.setBuild(bulk.id, st.dag.ids[s]!, { result: 'skipped', reason });
    st.events.send({ type: 'port-skipped', bulk: bulk.id, t: Date.now(), origin: st.dag.ids[s]!, because: origin });
  }
}

/** The kiln packages a port's build needs installed: its build deps and, recursively, their run deps. */
function depsOf(st: BuildState, origin: string): (BuiltPackage & { row?: PackageRow })[] {
  const out = new Map<string, BuiltPackage>();
  const stack = [...(st.o.ports.get(origin)?.recipe.depends.build ?? [])];
  for (let guard = 0; stack.length > 0 && guard < 1_000_000; guard++) {
    const d = stack.pop()!;
    if (out.has(d)) continue;
    const b = st.built.get(d) ?? prevPackage(st, d);
    if (!b) continue;
    out.set(d, b);
    stack.push(...(st.o.ports.get(d)?.recipe.depends.run ?? []));
  }
  return [...out.values()];
}

/** The current package of a port (before this bulk), as a dependency's build sees it. */
function prevPackage(st: BuildState, origin: string): BuiltPackage | undefined {
  const p = st.previous.get(origin);
  return p && p.files.length > 0
    ? builtPackage(
        st.o.ports.get(origin),
        origin,
        p.pkgname,
        p.version,
        p.files.map((f) => path.join(st.pkgDir, f)),
      )
    : undefined;
}

/**
 * Publish: every port that should have a package gets its newest good one. Nothing built and nothing removed: the
 * current generation already is this set, and nothing new is published. Returns the generation, if any.
 */
async function publishPhase(
  o: RunBulkOptions,
  bulkId: number,
  events: BulkEvents,
  pkgDir: string,
  published: ReadonlyMap<string, PackageRow>,
  previous: ReadonlyMap<string, PackageRow>,
  built: ReadonlyMap<string, Made>,
): Promise<number | undefined> {
  let generation: number | undefined;
  const final = new Map<string, PackageRow>();
  for (const [origin, p] of previous) final.set(origin, p);
  if (!o.keepStale) for (const origin of o.plan.delete) final.delete(origin);
  for (const [origin, b] of built) final.set(origin, b.row);
  const current = currentGeneration(repoDir(o.home, repoName(o.jail.name, o.tree.name)));
  const unchanged =
    built.size === 0 &&
    final.size === published.size &&
    [...final].every(([k, p]) => published.get(k) === p) &&
    current !== null;
  if (unchanged) generation = current;
  if (o.publish !== false && !o.signal?.aborted && !unchanged) {
    const res = await publish({
      home: o.home,
      jail: o.jail.name,
      tree: o.tree.name,
      arch: o.jail.arch,
      debs: [...final.values()].flatMap((p) => p.files.map((f) => ({ path: path.join(pkgDir, f) }))),
      keep: o.keepGenerations ?? 5,
    });
    generation = res.generation;
    o.store.bulks.replacePackages(o.jail.name, o.tree.name, [...final.values()]);
    events.send({ type: 'publish', bulk: bulkId, t: Date.now(), generation, packages: res.packages });
  }
  return generation;
}

/** Ends the bulk: its row finished (which releases the lock), background deletions awaited, the summary. */
async function summarise(
  o: RunBulkOptions,
  lock: BulkLock,
  events: BulkEvents,
  t0: number,
  run: BuildPhaseResult,
  generation: number | undefined,
): Promise<BulkSummary> {
  const bulk = lock.bulk;
  const offenders = run.sched.mostOffending(10).map((x) => ({ origin: x.origin, blocked: x.blocked }));
  const c = run.counts();
  o.store.bulks.finishBulk(bulk.id, run.status, { ...c }, generation);
  lock.release();
  // Torn-down sandboxes are deleted in the background: wait, so the bulk leaves nothing behind.
  await settleRemovals();
  const wallS = (Date.now() - t0) / 1000;
  events.send({
    type: 'bulk-done',
    bulk: bulk.id,
    t: Date.now(),
    status: run.status,
    counts: c,
    wallS,
    offenders,
    ...(generation !== undefined ? { generation } : {}),
  });
  return {
    bulk: o.store.bulks.getBulk(bulk.id)!,
    counts: c,
    failed: run.failed,
    skipped: run.skipped,
    offenders,
    ...(generation !== undefined ? { generation } : {}),
    wallS,
  };
}

/**
 * A finished package as later builds see it. A Debian source package's `.deb`s are all its files (its dependents
 * get every one, as an apt source); any other port has one `.deb`, its first file, as before.
 */
function builtPackage(
  port: Port | undefined,
  origin: string,
  pkgname: string,
  version: string,
  debs: readonly string[],
): BuiltPackage {
  return { origin, pkgname, version, deb: debs[0]!, ...(port?.debian || debs.length > 1 ? { debs: [...debs] } : {}) };
}

/**
 * The ABI hash of a port's packages: the one `.deb`'s own, or for several (a Debian source package) the sha256 over
 * each binary's name and ABI hash, in name order (so a rebuild with a new version keeps it when nothing changed).
 * Undefined when no `.deb` exports anything readable.
 */
async function debsAbiHash(debs: readonly string[]): Promise<string | undefined> {
  if (debs.length === 1) return debAbiHash(debs[0]!).catch(() => undefined);
  const parts: string[] = [];
  for (const d of [...debs].sort()) {
    const h = await debAbiHash(d).catch(() => undefined);
    if (h !== undefined) parts.push(`${path.basename(d).split('_')[0]}\0${h}\n`);
  }
  return parts.length === 0 ? undefined : crypto.createHash('sha256').update(parts.join('')).digest('hex');
}

/** A port's limits: its recipe's `build.limits` may only lower the operator's (kiln.yaml's are ceilings). */
export function portLimits(global: Limits, port: Port): Limits {
  const l = port.recipe.build.limits;
  const min = (g: number | undefined, r: number | undefined): number | undefined =>
    r === undefined ? g : g === undefined ? r : Math.min(g, r);
  const at = (k: keyof Limits, v: number | undefined): Partial<Limits> => (v === undefined ? {} : { [k]: v });
  return {
    ...global,
    ...at('wallMs', min(global.wallMs, l.wall_s === undefined ? undefined : l.wall_s * 1000)),
    ...at('cpuSeconds', min(global.cpuSeconds, l.cpu_s)),
    ...at('noOutputMs', min(global.noOutputMs, l.no_output_s === undefined ? undefined : l.no_output_s * 1000)),
    ...at('memoryBytes', min(global.memoryBytes, l.memory_mb === undefined ? undefined : l.memory_mb * 1024 * 1024)),
  };
}

/** Log lines for each recipe limit above kiln.yaml's, which {@link portLimits} clamped. */
export function limitNotes(global: Limits, port: Port): string[] {
  const l = port.recipe.build.limits;
  const rows: [string, number | undefined, number | undefined, string][] = [
    ['wall_s', l.wall_s, global.wallMs === undefined ? undefined : global.wallMs / 1000, 's'],
    ['cpu_s', l.cpu_s, global.cpuSeconds, 'CPU s'],
    ['no_output_s', l.no_output_s, global.noOutputMs === undefined ? undefined : global.noOutputMs / 1000, 's'],
    ['memory_mb', l.memory_mb, global.memoryBytes === undefined ? undefined : global.memoryBytes / 1048576, 'MiB'],
  ];
  return rows
    .filter(([, r, g]) => r !== undefined && g !== undefined && r > g)
    .map(
      ([k, r, g, unit]) =>
        `limits: the recipe asks ${k} ${r}, above kiln.yaml's ${g} ${unit}; using ${g} (kiln.yaml's limits are ceilings)`,
    );
}

/** Throws unless every port to build is in the graph (a plan from another graph would be a bug). */
export function checkPlan(plan: Plan, dag: Dag): void {
  const ids = new Set(dag.ids);
  const stray = plan.build.filter((o) => !ids.has(o));
  if (stray.length > 0)
    throw new KilnError('KILN_E_BUILD', `the plan names ports outside the graph: ${stray.slice(0, 5).join(', ')}`, {
      exitCode: 1,
    });
}

export type { Scheduler };
