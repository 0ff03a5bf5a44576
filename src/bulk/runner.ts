/**
 * A bulk: the plan's ports built by N builders fed by the scheduler, each build recorded as it ends, failures
 * skipping their dependents, and at the end one atomic publish of the repository with every package that should be
 * in it (new ones, kept ones, and the previous package of a port that failed this time).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { PhaseFailure, Procedure } from '../util/phases.js';
import type { Dag } from '../graph/index.js';
import type { Scheduler } from '../scheduler/index.js';
import { toBuiltRecords, type BuiltRecord, type IdentityComponents, type Plan } from '../plan/index.js';
import type { Port } from '../recipe/index.js';
import type { TreeRef } from '../tree/index.js';
import type { BulkRow, JailRecord, PackageRow, Store } from '../store/index.js';
import { cleanupStaleSandboxes, settleRemovals, type Limits, type SandboxRunner } from '../sandbox/index.js';
import type { BuildPortInput, BuildResult, BuiltPackage } from '../build/index.js';
import { currentGeneration, publish, repoDir, repoName } from '../repo/index.js';
import { BulkEvents, type BulkCounts } from './events.js';
import { acquireBulk, type BulkLock } from './lock.js';
import { scheduleAndBuild, type BuildPhaseResult } from './build-phase.js';
import { builtPackage } from './port-build.js';
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
export type Made = BuiltPackage & { row: PackageRow };

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
