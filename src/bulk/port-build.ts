/** One port's build in a bulk: its input (dependencies, limits, layers), the run, and its result recorded. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Port } from '../recipe/index.js';
import type { PackageRow } from '../store/index.js';
import { BwrapRunner } from '../sandbox/index.js';
import {
  buildPort,
  ccacheDir,
  kilnRunDeps,
  kilnSonameMap,
  packageDebs,
  type BuildPortInput,
  type BuildResult,
  type BuiltPackage,
} from '../build/index.js';
import { debianKilnVersion } from '../debian/index.js';
import { debAbiHash, debVersion, portSourceDateEpoch } from '../package/index.js';
import { effectiveOptions } from '../recipe/index.js';
import { limitsForArch } from '../jail/index.js';
import type { PhaseMeter } from './meter.js';
import { limitNotes, portLimits } from './limits.js';
import type { BuildState } from './build-phase.js';

/** Builds one port (`o.execute`, default {@link buildPort}); a throw becomes a failure of phase `start`. */
export async function runBuild(
  st: BuildState,
  origin: string,
  builder: number,
  jobs: number,
  log: string,
  meter: PhaseMeter,
): Promise<BuildResult> {
  const { o, bulk } = st;
  try {
    const input = await portInput(st, origin, jobs, log);
    return await (o.execute ?? buildPort)({
      ...input,
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

/**
 * What one port's build is (all but how it runs): the kiln packages it installs, its limits, layers and cache. Its
 * log is started afresh, with a line for each recipe limit that kiln.yaml's clamped.
 */
async function portInput(
  st: BuildState,
  origin: string,
  jobs: number,
  log: string,
): Promise<Omit<BuildPortInput, 'runner' | 'signal' | 'onPhase'>> {
  const { o } = st;
  const port = o.ports.get(origin)!;
  const id = o.identities.get(origin)!;
  const deps = depsOf(st, origin);
  const runDeps = port.recipe.depends.run
    .map((d) => st.built.get(d) ?? prevPackage(st, d))
    .filter((x): x is BuiltPackage => x !== undefined);
  fs.rmSync(log, { force: true });
  for (const n of limitNotes(o.limits, port)) {
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.appendFileSync(log, `[${new Date().toISOString()}] ${n}\n`);
  }
  return {
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
  };
}

/** Records a finished build (built with its package row, or failed), tells the scheduler, and skips what needs a failure. */
export async function recordResult(
  st: BuildState,
  node: number,
  builder: number,
  res: BuildResult,
  meter: PhaseMeter,
): Promise<void> {
  const { o, bulk } = st;
  const origin = st.dag.ids[node]!;
  const finishedAt = new Date().toISOString();
  const phases = res.timings.map((t) => {
    const cpuMs = meter.cpuMs(t.name);
    return { name: t.name, wallMs: t.wallMs, ok: t.ok, ...(cpuMs !== undefined ? { cpuMs } : {}) };
  });
  if (res.ok) {
    await recordBuilt(st, node, res, phases, finishedAt);
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

/** A good build: the pace, its package row (files, version, arch, ABI hash) in the built set and its build row. */
async function recordBuilt(
  st: BuildState,
  node: number,
  res: BuildResult,
  phases: readonly { name: string; wallMs: number; ok: boolean; cpuMs?: number }[],
  finishedAt: string,
): Promise<void> {
  const { o, bulk, pkgDir } = st;
  const origin = st.dag.ids[node]!;
  const port = o.ports.get(origin)!;
  const id = o.identities.get(origin)!;
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
    port.recipe.arch === 'all' || (port.debian && res.debs.every((d) => d.endsWith('_all.deb'))) ? 'all' : o.jail.arch;
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
 * A finished package as later builds see it. A Debian source package's `.deb`s are all its files (its dependents
 * get every one, as an apt source); any other port has one `.deb`, its first file, as before.
 */
export function builtPackage(
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
