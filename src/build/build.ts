/**
 * One build: a port's recipe into `.deb`s inside a sandbox over a jail, as named phases with a cleanup stack:
 * fetch → sandbox → system-depends → kiln-depends → extract → patch → configure → build → install [→ test] →
 * package, then teardown. Every phase is logged to the port's log with timestamps; a failure records the phase it
 * died in and why (exit status, limit, checksum, ...). A `build.system: debian` port (a Debian source package) runs
 * the phases of `debian.ts` instead (fetch → sandbox → extract → patch → version → build-depends → build → package).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { ExecError } from '../util/exec.js';
import { PhaseFailure, Procedure, type PhaseTiming } from '../util/phases.js';
import type { Port } from '../recipe/index.js';
import { fetchDistfiles, type FetchedDistfile } from '../fetch/index.js';
import {
  BwrapRunner, BUILD_USER, LimitError, aptCacheBind, type BindMount, type LimitName, type Limits,
  type SandboxCommand, type SandboxRunner, type SandboxSession,
} from '../sandbox/index.js';
import { buildDeb, composeDepends, debVersion, dpkgSonameResolver, shlibDepends, type KilnRunDep } from '../package/index.js';
import { SANDBOX_PATHS, buildEnv, buildSteps, extractStep, patchStep, type BuildStep } from './script.js';
import { buildDebianSource, debianPortVersion } from './debian.js';
import { CCACHE_MOUNT, type CcacheSpec } from './ccache.js';

/** The jail a build runs over. */
export interface BuildJail {
  readonly name: string;
  /** The jail's root folder. */
  readonly path: string;
  readonly arch: string;
  readonly release: string;
}

/** Everything one build needs; the bulk fills it from the plan, the store and kiln.yaml. */
export interface BuildPortInput {
  readonly home: string;
  readonly jail: BuildJail;
  readonly port: Port;
  /** The build identity (recorded in the `.deb` as `X-Kiln-Identity`). */
  readonly identity: string;
  /** Effective option values. */
  readonly options: Readonly<Record<string, boolean>>;
  /**
   * kiln `.deb`s to install before the build: the build dependencies and everything they need at run time. For a
   * Debian source package they are an apt source its Build-Depends are taken from (kiln's preferred), not installed all.
   */
  readonly depDebs: readonly string[];
  /** kiln run dependencies: they become `Depends: NAME (>= VERSION)`. */
  readonly kilnRun: readonly KilnRunDep[];
  /** Sonames shipped by kiln packages → the relation to depend on (so a linked kiln library maps to kiln's package). */
  readonly kilnSonames?: ReadonlyMap<string, string | null>;
  /** Jobs for make from the job budget. */
  readonly jobs: number;
  /** Run the recipe's `test` step (`kiln bulk -t`). */
  readonly withTests?: boolean;
  /** Limits for the whole build; the wall-time limit spans all steps together. */
  readonly limits: Limits;
  /** Folder the `.deb` is written to. */
  readonly outDir: string;
  /** The port's log file (appended). */
  readonly logFile: string;
  readonly sourceDateEpoch: number;
  /** Distfile mirrors (kiln.yaml `mirrors`) and Debian's archive for the fetch phase. */
  readonly mirrors?: readonly string[];
  readonly debianMirror?: string;
  /** Hosts found unreachable, shared across a bulk so each is tried once. */
  readonly deadHosts?: Set<string>;
  /** The sandbox maker (default: the real overlayfs + bubblewrap one). */
  readonly runner?: SandboxRunner;
  readonly signal?: AbortSignal;
  /** Told when each phase starts (for progress displays). */
  readonly onPhase?: (phase: string) => void;
  /** This port's own compiler cache (kiln.yaml `ccache: true`; see `ccache.ts`). */
  readonly ccache?: CcacheSpec;
}

/** Why a build failed. */
export type FailureKind = 'fetch' | 'checksum' | 'depends' | 'patch' | 'build' | 'test' | 'limit' | 'package' | 'sandbox' | 'aborted';

/** What one build left. */
export interface BuildResult {
  readonly ok: boolean;
  /** The `.deb`s made (empty on failure). */
  readonly debs: readonly string[];
  /** The phase a failure died in. */
  readonly phase?: string;
  readonly failure?: FailureKind;
  /** The limit hit, when `failure` is `limit`. */
  readonly limit?: LimitName;
  /** One line: what went wrong. */
  readonly reason?: string;
  readonly timings: readonly PhaseTiming[];
  readonly wallMs: number;
  /** CPU time of the sandboxed commands, ms (0 when not measured). */
  readonly cpuMs: number;
}

/** A log writer that stamps each line with the time. */
function openLog(file: string): { line: (text: string) => void; close: () => void } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'a');
  return {
    line: (text) => { fs.writeSync(fd, `[${new Date().toISOString()}] ${text}\n`); },
    close: () => fs.closeSync(fd),
  };
}

/** Turns the wall-time budget left into the limits of the next command. */
function stepLimits(l: Limits, deadline: number | undefined): Limits {
  if (deadline === undefined) return l;
  return { ...l, wallMs: Math.max(1, deadline - Date.now()) };
}

function classify(phase: string, e: unknown): { failure: FailureKind; limit?: LimitName; reason: string } {
  const msg = (x: unknown): string => (x instanceof Error ? x.message.split('\n')[0]! : String(x));
  if (e instanceof LimitError) return { failure: 'limit', limit: e.limit, reason: msg(e) };
  if (e instanceof KilnError && e.code === 'KILN_E_CHECKSUM') return { failure: 'checksum', reason: msg(e) };
  if (e instanceof KilnError && e.code === 'KILN_E_FETCH') return { failure: 'fetch', reason: msg(e) };
  if (e instanceof ExecError && e.reason === 'aborted') return { failure: 'aborted', reason: 'the build was cancelled' };
  const kind: FailureKind = phase === 'fetch' ? 'fetch'
    : phase === 'system-depends' || phase === 'kiln-depends' || phase === 'build-depends' ? 'depends'
    : phase === 'patch' ? 'patch' : phase === 'test' ? 'test' : phase === 'package' ? 'package'
    : phase === 'sandbox' ? 'sandbox' : 'build';
  const status = e instanceof ExecError && e.exitStatus !== null ? ` (exit status ${e.exitStatus})` : '';
  return { failure: kind, reason: `${phase} failed${status}: ${msg(e)}` };
}

/** Runs `buildPort`'s phases. Never throws for a build failure: the result says what failed. */
export async function buildPort(inp: BuildPortInput): Promise<BuildResult> {
  const log = openLog(inp.logFile);
  const started = Date.now();
  const proc = new Procedure(log.line);
  const r = inp.port.recipe;
  const deadline = inp.limits.wallMs !== undefined ? started + inp.limits.wallMs : undefined;
  let cpuMs = 0;
  let current = 'start';
  const phase = <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    current = name;
    inp.onPhase?.(name);
    return proc.phase(name, fn);
  };
  const shown = inp.port.debian ? debianPortVersion(inp.port.debian, r.revision) : `${r.version}-k${r.revision}`;
  log.line(`kiln build of ${inp.port.origin} ${shown} (identity ${inp.identity.slice(0, 16)}) in jail ${inp.jail.name}`);
  log.line(`options: ${Object.entries(inp.options).map(([k, v]) => `${k}=${v ? 'on' : 'off'}`).join(' ') || '(none)'}; jobs: ${inp.jobs}`);
  try {
    if (r.build.system === 'debian') {
      // A Debian source package: its own phases (debian.ts), sharing this log, phase runner and cleanup stack.
      const debs = await buildDebianSource({ inp, proc, phase, log: log.line, run: async (sb, cmd) => {
        const res = await sb.run({ ...cmd, limits: stepLimits(inp.limits, deadline), signal: inp.signal,
          onLine: (l, s) => { log.line(s === 'stderr' ? `! ${l}` : l); cmd.onLine?.(l, s); } });
        cpuMs += res.cpuMs;
        return res;
      } });
      return { ok: true, debs, timings: proc.timings, wallMs: Date.now() - started, cpuMs };
    }
    const distfiles = await phase('fetch', () => fetchDistfiles(
      { origin: inp.port.origin, sources: r.sources },
      { home: inp.home, mirrors: inp.mirrors, debianMirror: inp.debianMirror, release: inp.jail.release, log: log.line,
        ...(inp.deadHosts ? { deadHosts: inp.deadHosts } : {}) }));
    const sb = await phase('sandbox', async () => {
      const runner = inp.runner ?? new BwrapRunner(inp.home);
      const s = await runner.open({ jail: { name: inp.jail.name, path: inp.jail.path }, label: inp.port.origin, proc });
      prepareDirs(s, distfiles);
      return s;
    });
    const sbRun = async (cmd: SandboxCommand): Promise<void> => {
      const res = await sb.run({ ...cmd, limits: stepLimits(inp.limits, deadline), signal: inp.signal, onLine: (l, s) => log.line(s === 'stderr' ? `! ${l}` : l) });
      cpuMs += res.cpuMs;
    };
    const aptEnv = { DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
    // The package cache is shared by every sandbox (and every bulk): flock on a file in it serializes apt runs.
    const aptArgs = ['flock', '/var/cache/apt/archives/.kiln-lock', 'apt-get', 'install', '-y', '-q', '--no-install-recommends',
      '-o', 'Dpkg::Use-Pty=0', '-o', 'APT::Sandbox::User=root'];
    await phase('system-depends', async () => {
      // ccache comes with the system dependencies unless the jail has it (`kiln jail create --include ccache`: faster).
      const needCcache = inp.ccache && !r.depends.system.includes('ccache') && !fs.existsSync(path.join(inp.jail.path, 'usr/bin/ccache'));
      const system = needCcache ? [...r.depends.system, 'ccache'] : r.depends.system;
      if (system.length === 0) { log.line('no system dependencies'); return; }
      await sbRun({ argv: [...aptArgs, ...system], user: 'root', network: true, env: aptEnv, binds: [aptCacheBind(inp.home)] });
    });
    await phase('kiln-depends', async () => {
      if (inp.depDebs.length === 0) { log.line('no kiln dependencies'); return; }
      const binds: BindMount[] = inp.depDebs.map((d) => ({ source: d, dest: `/kiln/debs/${path.basename(d)}`, readonly: true }));
      fs.mkdirSync(sb.hostPath('/kiln/debs'), { recursive: true });
      await sbRun({ argv: [...aptArgs, ...inp.depDebs.map((d) => `/kiln/debs/${path.basename(d)}`)], user: 'root', network: true,
        env: aptEnv, binds: [...binds, aptCacheBind(inp.home)] });
    });
    const scriptInput = { origin: inp.port.origin, recipe: r, options: inp.options, jobs: inp.jobs,
      sourceDateEpoch: inp.sourceDateEpoch, distfiles: distfiles.map((d) => d.filename),
      ...(inp.ccache ? { ccache: { maxSize: inp.ccache.maxSize } } : {}) };
    const env = buildEnv(scriptInput);
    const binds: BindMount[] = [
      ...distfiles.map((d) => ({ source: d.path, dest: `${SANDBOX_PATHS.distfiles}/${d.filename}`, readonly: true })),
      { source: inp.port.dir, dest: SANDBOX_PATHS.port, readonly: true },
      ...(inp.ccache ? [ccacheBind(sb, inp.ccache)] : []),
    ];
    const ccacheStats = async (args: string[]): Promise<void> => {
      if (inp.ccache) await sbRun({ argv: ['ccache', ...args], user: 'build', network: false, env, cwd: SANDBOX_PATHS.src, binds });
    };
    const step = (s: BuildStep): Promise<void> => phase(s.name, () => sbRun({
      argv: ['sh', '-ec', s.script], user: 'build', network: false, env, cwd: SANDBOX_PATHS.src, binds }));
    await step(extractStep(scriptInput));
    await step(patchStep(scriptInput));
    await ccacheStats(['-z']);
    for (const s of buildSteps(scriptInput, inp.withTests ?? false)) await step(s);
    await ccacheStats(['-s']); // this build's hits and misses, in the log
    const deb = await phase('package', async () => {
      const destdir = sb.hostPath(SANDBOX_PATHS.destdir);
      if (fs.readdirSync(destdir).length === 0) {
        throw new KilnError('KILN_E_PACKAGE', `the install step put nothing in DESTDIR for ${inp.port.origin}`, {
          hint: 'the build must install into "$DESTDIR" (see build.system in the port spec)', exitCode: 1 });
      }
      const shl = await shlibDepends({ destdir, resolver: dpkgSonameResolver(sb.hostPath('/')), kiln: inp.kilnSonames });
      if (shl.unresolved.length > 0) log.line(`shared libraries with no package found: ${shl.unresolved.join(', ')}`);
      const depends = composeDepends({ kilnRun: inp.kilnRun, systemRun: r.depends.system_run, shlibs: shl.depends });
      log.line(`Depends: ${depends.join(', ') || '(none)'}`);
      const scripts = Object.fromEntries((['preinst', 'postinst', 'prerm', 'postrm'] as const)
        .filter((k) => r.install[k] !== undefined).map((k) => [k, r.install[k]!]));
      return buildDeb({
        destdir, outDir: inp.outDir, sourceDateEpoch: inp.sourceDateEpoch, conffiles: r.install.conffiles, scripts,
        control: {
          package: inp.port.pkgname, version: debVersion(r.version, r.revision),
          architecture: r.arch === 'all' ? 'all' : inp.jail.arch, maintainer: 'kiln <kiln@localhost>',
          depends, summary: r.summary, description: r.description, homepage: r.homepage,
          section: inp.port.origin.split('/')[0], extra: { 'X-Kiln-Origin': inp.port.origin, 'X-Kiln-Identity': inp.identity },
        },
      });
    });
    log.line(`built ${path.basename(deb)}`);
    return { ok: true, debs: [deb], timings: proc.timings, wallMs: Date.now() - started, cpuMs };
  } catch (e) {
    const failedPhase = e instanceof PhaseFailure ? e.phase : current;
    const cause = e instanceof PhaseFailure ? e.cause : e;
    const c = classify(failedPhase, cause);
    log.line(`FAILED in phase ${failedPhase}: ${c.reason}`);
    return { ok: false, debs: [], phase: failedPhase, ...c, timings: proc.timings, wallMs: Date.now() - started, cpuMs };
  } finally {
    inp.onPhase?.('teardown');
    const errs = await proc.close();
    for (const e of errs) log.line(`teardown problem: ${e.message}`);
    log.close();
  }
}

/** The bind of a port's own ccache folder (made on the host, owned by the build user), read-write for its build steps. */
function ccacheBind(sb: SandboxSession, c: CcacheSpec): BindMount {
  fs.mkdirSync(c.dir, { recursive: true, mode: 0o700 });
  fs.chownSync(c.dir, BUILD_USER.uid, BUILD_USER.gid);
  fs.mkdirSync(sb.hostPath(CCACHE_MOUNT), { recursive: true });
  return { source: c.dir, dest: CCACHE_MOUNT, readonly: false };
}

/** Makes the build's folders in the sandbox, owned by the build user. */
function prepareDirs(sb: SandboxSession, distfiles: readonly FetchedDistfile[]): void {
  for (const d of [SANDBOX_PATHS.src, SANDBOX_PATHS.destdir, '/kiln/home']) {
    const h = sb.hostPath(d);
    fs.mkdirSync(h, { recursive: true });
    fs.chownSync(h, BUILD_USER.uid, BUILD_USER.gid);
  }
  fs.mkdirSync(sb.hostPath(SANDBOX_PATHS.distfiles), { recursive: true });
  fs.mkdirSync(sb.hostPath(SANDBOX_PATHS.port), { recursive: true });
  for (const d of distfiles) fs.writeFileSync(sb.hostPath(`${SANDBOX_PATHS.distfiles}/${d.filename}`), '');
}
