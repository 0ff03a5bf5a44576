/**
 * One build: a port's recipe into `.deb`s inside a sandbox over a jail, as named phases with a cleanup stack:
 * port-files → fetch → sandbox → system-depends → kiln-depends → extract → patch → configure → build → install [→ test] →
 * package, then teardown. Every phase is logged to the port's log with timestamps; a failure records the phase it
 * died in and why (exit status, limit, checksum, ...). A `build.system: debian` port (a Debian source package) runs
 * `port-files`, then the phases of `debian.ts` (fetch → sandbox → extract → patch → version → build-depends → build → package).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, formatProblems } from '../util/errors.js';
import { ExecError } from '../util/exec.js';
import { PhaseFailure, Procedure, type PhaseTiming } from '../util/phases.js';
import { portFolderProblems, type Port } from '../recipe/index.js';
import { fetchDistfiles, type FetchedDistfile } from '../fetch/index.js';
import {
  BwrapRunner,
  LimitError,
  sandboxIds,
  type BindMount,
  type LimitName,
  type Limits,
  type SandboxCommand,
  type SandboxResult,
  type SandboxRunner,
  type SandboxSession,
} from '../sandbox/index.js';
import type { KilnRunDep } from '../package/index.js';
import {
  SANDBOX_PATHS,
  StepTrace,
  buildEnv,
  buildSteps,
  extractStep,
  patchStep,
  stepArgv,
  type BuildStep,
} from './script.js';
import { buildDebianSource, debianPortVersion } from './debian.js';
import { packagePhase } from './package-phase.js';
import { installDepends, installPackages } from './install.js';
import { withCcacheStats, type CcacheSpec } from './ccache.js';
import { ccacheBind, systemWithCcache } from './ccache-bind.js';
import { dependencyLayer, type LayerSpec } from './layer-phase.js';
import { layerStack } from '../layers/index.js';

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
  /** The build identity (recipe builds record it in the `.deb` as `X-Kiln-Identity`; Debian rebuilds in the store only). */
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
  /** The packages' Maintainer, `Name <email>` (kiln.yaml `maintainer`; default `maintainerOf()`). */
  readonly maintainer?: string;
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
  /** Dependency layers (kiln.yaml `cache.layers_mb`; see `layer-phase.ts`); absent: every build installs its own. */
  readonly layers?: LayerSpec;
}

/** Why a build failed. */
export type FailureKind =
  | 'fetch'
  | 'checksum'
  | 'depends'
  | 'patch'
  | 'build'
  | 'test'
  | 'limit'
  | 'package'
  | 'sandbox'
  | 'aborted';

/** What one build left. */
export interface BuildResult {
  readonly ok: boolean;
  /** The `.deb`s made (empty on failure), the port's own package first. */
  readonly debs: readonly string[];
  /**
   * The `-dbgsym` packages (stripped debug information of a recipe build, or a Debian rebuild's with kiln.yaml
   * `debug_symbols: true`), not among `debs`: published only to the repository's separate debug suite.
   */
  readonly debugDebs?: readonly string[];
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
    line: (text) => {
      fs.writeSync(fd, `[${new Date().toISOString()}] ${text}\n`);
    },
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
  // The limit first: the command (a multi-line script) would otherwise push it out of a one-line reason.
  if (e instanceof LimitError)
    return {
      failure: 'limit',
      limit: e.limit,
      reason: `${e.message.slice(e.message.lastIndexOf(' hit its ') + 1)}: ${e.command.split('\n')[0]!.slice(0, 120)}`,
    };
  if (e instanceof KilnError && e.code === 'KILN_E_CHECKSUM') return { failure: 'checksum', reason: msg(e) };
  if (e instanceof KilnError && e.code === 'KILN_E_FETCH') return { failure: 'fetch', reason: msg(e) };
  if (e instanceof ExecError && e.reason === 'aborted')
    return { failure: 'aborted', reason: 'the build was cancelled' };
  const kind: FailureKind =
    phase === 'fetch'
      ? 'fetch'
      : phase === 'layer' || phase === 'system-depends' || phase === 'kiln-depends' || phase === 'build-depends'
        ? 'depends'
        : phase === 'patch'
          ? 'patch'
          : phase === 'test'
            ? 'test'
            : phase === 'package'
              ? 'package'
              : phase === 'sandbox'
                ? 'sandbox'
                : 'build';
  const status = e instanceof ExecError && e.exitStatus !== null ? ` (exit status ${e.exitStatus})` : '';
  return { failure: kind, reason: `${phase} failed${status}: ${msg(e)}` };
}

/**
 * Refuses a port folder holding what must not reach a sandbox (a FIFO, a device, a socket, a symlink out of the tree):
 * a tree scan reads only port.yaml and the patches, so this is where the rest of the folder is checked.
 */
function checkPortFiles(port: Port): void {
  const problems = portFolderProblems(port);
  if (problems.length === 0) return;
  throw new KilnError('KILN_E_RECIPE', formatProblems(problems).join('\n'), {
    hint: `the port folder ${port.dir} reaches the build: make these regular files (or symlinks that stay in the tree), or remove them`,
  });
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
  log.line(
    `kiln build of ${inp.port.origin} ${shown} (identity ${inp.identity.slice(0, 16)}) in jail ${inp.jail.name}`,
  );
  log.line(
    `options: ${
      Object.entries(inp.options)
        .map(([k, v]) => `${k}=${v ? 'on' : 'off'}`)
        .join(' ') || '(none)'
    }; jobs: ${inp.jobs}`,
  );
  // Every command of the build: under the limits left before the deadline, its lines logged, its CPU counted.
  const runIn = async (box: SandboxSession, cmd: SandboxCommand): Promise<SandboxResult> => {
    const res = await box.run({
      ...cmd,
      limits: stepLimits(inp.limits, deadline),
      signal: inp.signal,
      onLine: (l, s) => {
        log.line(s === 'stderr' ? `! ${l}` : l);
        cmd.onLine?.(l, s);
      },
    });
    cpuMs += res.cpuMs;
    return res;
  };
  try {
    await phase('port-files', () => checkPortFiles(inp.port));
    if (r.build.system === 'debian') {
      // A Debian source package: its own phases (debian.ts), sharing this log, phase runner and cleanup stack.
      const { debs, dbgsym } = await buildDebianSource({
        inp,
        proc,
        phase,
        log: log.line,
        run: runIn,
      });
      return {
        ok: true,
        debs,
        ...(dbgsym.length > 0 ? { debugDebs: dbgsym } : {}),
        timings: proc.timings,
        wallMs: Date.now() - started,
        cpuMs,
      };
    }
    const distfiles = await phase('fetch', () =>
      fetchDistfiles(
        { origin: inp.port.origin, sources: r.sources },
        {
          home: inp.home,
          mirrors: inp.mirrors,
          debianMirror: inp.debianMirror,
          release: inp.jail.release,
          log: log.line,
          ...(inp.deadHosts ? { deadHosts: inp.deadHosts } : {}),
        },
      ),
    );
    const system = systemWithCcache(r.depends.system, inp.ccache !== undefined, inp.jail.path);
    // With dependency layers, the system dependencies are a layer made once (or found) before the sandbox.
    const layer =
      inp.layers && system.length > 0
        ? await phase('layer', () =>
            dependencyLayer(
              { inp, log: log.line, run: runIn },
              { words: ['install', ...[...new Set(system)].sort()], names: system, ...installPackages(system) },
            ),
          )
        : undefined;
    const sb = await phase('sandbox', async () => {
      const runner = inp.runner ?? new BwrapRunner(inp.home);
      const s = await runner.open({
        jail: { name: inp.jail.name, path: inp.jail.path },
        label: inp.port.origin,
        proc,
        limits: inp.limits,
        ...(layer ? { layers: layerStack(layer) } : {}),
      });
      prepareDirs(s, distfiles, inp.depDebs);
      return s;
    });
    const sbRun = async (cmd: SandboxCommand): Promise<void> => {
      await runIn(sb, cmd);
    };
    // Download (archive proxy only), then install with no network at all (install.ts).
    await phase('system-depends', async () => {
      if (system.length === 0) {
        log.line('no system dependencies');
        return;
      }
      if (layer) {
        log.line(`system dependencies come from dependency layer ${layer.meta.key.slice(0, 16)}`);
        return;
      }
      await installDepends({ home: inp.home, run: sbRun, ...installPackages(system) });
    });
    await phase('kiln-depends', async () => {
      if (inp.depDebs.length === 0) {
        log.line('no kiln dependencies');
        return;
      }
      const binds: BindMount[] = inp.depDebs.map((d) => ({
        source: d,
        dest: `/kiln/debs/${path.basename(d)}`,
        readonly: true,
      }));
      await installDepends({
        home: inp.home,
        run: sbRun,
        binds,
        ...installPackages(
          inp.depDebs.map((d) => `/kiln/debs/${path.basename(d)}`),
          ['--allow-downgrades'],
        ),
      });
    });
    const scriptInput = {
      origin: inp.port.origin,
      recipe: r,
      options: inp.options,
      jobs: inp.jobs,
      sourceDateEpoch: inp.sourceDateEpoch,
      distfiles: distfiles.map((d) => d.filename),
      ...(inp.ccache ? { ccache: { maxSize: inp.ccache.maxSize } } : {}),
    };
    const env = buildEnv(scriptInput);
    const binds: BindMount[] = [
      ...distfiles.map((d) => ({ source: d.path, dest: `${SANDBOX_PATHS.distfiles}/${d.filename}`, readonly: true })),
      { source: inp.port.dir, dest: SANDBOX_PATHS.port, readonly: true },
      ...(inp.ccache ? [ccacheBind(sb, inp.ccache)] : []),
    ];
    // Traced (`set -x`): a failure names the command that failed (StepTrace), not the script's first line.
    const step = (s: BuildStep, t = new StepTrace()): Promise<void> =>
      phase(s.name, () =>
        sbRun({
          argv: stepArgv(s),
          user: 'build',
          network: false,
          env,
          cwd: SANDBOX_PATHS.src,
          binds,
          onLine: t.onLine,
        }).catch(t.explain),
      );
    await step(extractStep(scriptInput));
    await step(patchStep(scriptInput));
    const steps = buildSteps(scriptInput, inp.withTests ?? false);
    for (const s of inp.ccache ? withCcacheStats(steps) : steps) await step(s); // with ccache: its hits and misses
    const made = await phase('package', () => packagePhase({ inp, sb, sbRun, env, binds, log: log.line }));
    log.line(
      `built ${made.debs.map((d) => path.basename(d)).join(' ')}${made.debugDebs.length ? `; debug symbols: ${made.debugDebs.map((d) => path.basename(d)).join(' ')}` : ''}`,
    );
    return {
      ok: true,
      debs: made.debs,
      debugDebs: made.debugDebs,
      timings: proc.timings,
      wallMs: Date.now() - started,
      cpuMs,
    };
  } catch (e) {
    const failedPhase = e instanceof PhaseFailure ? e.phase : current;
    const cause = e instanceof PhaseFailure ? e.cause : e;
    const c = classify(failedPhase, cause);
    log.line(`FAILED in phase ${failedPhase}: ${c.reason}`);
    return {
      ok: false,
      debs: [],
      phase: failedPhase,
      ...c,
      timings: proc.timings,
      wallMs: Date.now() - started,
      cpuMs,
    };
  } finally {
    inp.onPhase?.('teardown');
    const errs = await proc.close();
    for (const e of errs) log.line(`teardown problem: ${e.message}`);
    log.close();
  }
}

/**
 * Makes the build's folders in the sandbox (the build user's own, owned by its host id), and the mount points of the
 * distfiles and kiln `.deb`s, before anything ran inside. Nothing is followed: each folder is made fresh
 * (`mkdir` fails on an existing entry, symlink included) and each mount point created with `O_EXCL`.
 */
function prepareDirs(sb: SandboxSession, distfiles: readonly FetchedDistfile[], debs: readonly string[]): void {
  const ids = sandboxIds(sb);
  const made = new Set<string>();
  const mkdir = (inside: string, owner: number): void => {
    let cur = '';
    for (const part of inside.split('/').filter(Boolean)) {
      cur += `/${part}`;
      if (made.has(cur)) continue;
      const h = sb.hostPath(cur);
      const st = fs.lstatSync(h, { throwIfNoEntry: false });
      if (st === undefined) fs.mkdirSync(h, { mode: 0o755 });
      else if (!st.isDirectory())
        throw new KilnError('KILN_E_SANDBOX', `${cur} in the sandbox is not a folder`, { exitCode: 1 });
      made.add(cur);
    }
    fs.chownSync(sb.hostPath(inside), owner, owner);
  };
  for (const d of [SANDBOX_PATHS.src, SANDBOX_PATHS.destdir, '/kiln/home']) mkdir(d, ids.build);
  mkdir(SANDBOX_PATHS.distfiles, 0);
  mkdir(SANDBOX_PATHS.port, 0);
  mkdir('/kiln/debs', 0);
  const touch = (inside: string): void =>
    fs.closeSync(
      fs.openSync(
        sb.hostPath(inside),
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        0o644,
      ),
    );
  for (const d of distfiles) touch(`${SANDBOX_PATHS.distfiles}/${d.filename}`);
  for (const d of new Set(debs.map((x) => path.basename(x)))) touch(`/kiln/debs/${d}`);
}
