/**
 * The build half of `kiln testport`: one {@link buildPort} whose sandbox outlives the build, so that the maintainer
 * can get a shell in it (`-i` when a phase failed, `-I` always) or keep it for later (`--keep`). The sandbox is made
 * by a runner that does not hand its teardown to the build's cleanup stack; this module tears it down (or keeps it)
 * once the build has returned, whatever happened.
 */
import fs from 'node:fs';
import {
  createSandbox,
  keepSandbox,
  openShell,
  settleRemovals,
  type KeptSandbox,
  type OpenSandboxOptions,
  type Sandbox,
  type SandboxCommand,
  type SandboxResult,
  type SandboxRunner,
  type SandboxSession,
} from '../sandbox/index.js';
import { buildPort, type BuildPortInput, type BuildResult } from './build.js';
import { SANDBOX_PATHS } from './script.js';

/** What happens to the sandbox after the build: torn down, a shell first (on failure / always), or kept. */
export type AfterBuild = 'teardown' | 'shell-on-failure' | 'shell' | 'keep';

/** Options of {@link testBuild}. */
export interface TestBuildOptions {
  /** The build (its `runner` is replaced by one that keeps the sandbox open). */
  readonly input: Omit<BuildPortInput, 'runner'>;
  readonly after: AfterBuild;
  /** Runs the build (default {@link buildPort}; `kiln testport` adds the QA phase with `withQa`). */
  readonly execute?: (input: BuildPortInput) => Promise<BuildResult>;
  /** Prints a line to the user (the banner above the shell). */
  readonly print: (text: string) => void;
  /** kiln's environment (TERM for the shell). */
  readonly hostEnv?: NodeJS.ProcessEnv;
  /** Is stdin a terminal (the shell needs one; default: process.stdin's). */
  readonly stdinIsTTY?: boolean;
}

/** What {@link testBuild} did. */
export interface TestBuildOutcome {
  readonly result: BuildResult;
  /** The kept sandbox (`after: 'keep'`). */
  readonly kept?: KeptSandbox;
  /** The shell's exit status, when one was opened. */
  readonly shellStatus?: number;
}

/** A sandbox session that remembers the last command run in it (the shell takes its folder, environment, binds). */
class Remembering implements SandboxSession {
  last: SandboxCommand | undefined;
  lastBuild: SandboxCommand | undefined;
  constructor(readonly sb: Sandbox) {}
  get id(): string {
    return this.sb.id;
  }
  hostPath(inside: string): string {
    return this.sb.hostPath(inside);
  }
  run(cmd: SandboxCommand): Promise<SandboxResult> {
    this.last = cmd;
    if ((cmd.user ?? 'build') === 'build') this.lastBuild = cmd;
    return this.sb.run(cmd);
  }
  teardown(): Promise<void> {
    return this.sb.teardown();
  }
}

/** Opens real sandboxes whose teardown is left to {@link testBuild} (not to the build's cleanup stack). */
class HoldingRunner implements SandboxRunner {
  session: Remembering | undefined;
  constructor(private readonly home: string) {}
  async open(opts: OpenSandboxOptions): Promise<SandboxSession> {
    const sb = await createSandbox({
      home: this.home,
      jail: opts.jail,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
      ...(opts.layers ? { layers: opts.layers } : {}),
    });
    this.session = new Remembering(sb);
    return this.session;
  }
}

/** The command that failed, as the log traced it (`! + CMD`), else the last command run. */
export function failedCommand(logFile: string, last: SandboxCommand | undefined): string | undefined {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    /* no log */
  }
  const traced = text
    .split('\n')
    .filter((l) => /^\[[^\]]*\] ! \+ /.test(l))
    .pop();
  if (traced !== undefined) return traced.replace(/^\[[^\]]*\] ! \+ /, '');
  return last ? last.argv.join(' ') : undefined;
}

/** The last `n` lines of the log, without their time stamps. */
export function logTail(logFile: string, n = 20): string[] {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .replace(/\n$/, '')
    .split('\n')
    .slice(-n)
    .map((l) => l.replace(/^\[[^\]]*\] /, ''));
}

/** Builds one port; then, as `after` says, opens a shell in its sandbox, keeps it, or tears it down. */
export async function testBuild(o: TestBuildOptions): Promise<TestBuildOutcome> {
  const holder = new HoldingRunner(o.input.home);
  let kept: KeptSandbox | undefined;
  let shellStatus: number | undefined;
  try {
    const result = await (o.execute ?? buildPort)({ ...o.input, runner: holder });
    const s = holder.session;
    if (!s || o.after === 'teardown') return { result };
    const use = s.lastBuild ?? s.last;
    // The shell enters the sandbox as its build steps did (its user namespace, the gate's root and binds).
    const { binds, ...target } = await s.sb.shellTarget((use?.binds ?? []).filter((b) => fs.existsSync(b.source)));
    const where = { cwd: use?.cwd ?? SANDBOX_PATHS.src, env: { ...(use?.env ?? {}) }, binds };
    const command =
      result.ok || !/ exited with status /.test(result.reason ?? '')
        ? undefined
        : failedCommand(o.input.logFile, s.last);
    if (o.after === 'keep') {
      kept = keepSandbox(o.input.home, s.sb, {
        origin: o.input.port.origin,
        jail: o.input.jail.name,
        ok: result.ok,
        ...where,
        log: o.input.logFile,
        ...(result.phase !== undefined ? { phase: result.phase } : {}),
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
        ...(command !== undefined ? { command } : {}),
      });
    } else if (o.after === 'shell' || (o.after === 'shell-on-failure' && !result.ok)) {
      o.print(banner(result, command, o.input.logFile, where.cwd));
      shellStatus = await openShell(
        { ...target, ...where, label: o.input.port.origin, hostEnv: o.hostEnv },
        o.stdinIsTTY,
      );
      o.print('kiln: left the shell; tearing the sandbox down');
    }
    return { result, ...(kept ? { kept } : {}), ...(shellStatus !== undefined ? { shellStatus } : {}) };
  } finally {
    if (!kept) await holder.session?.teardown();
    await settleRemovals();
  }
}

/** What is printed above the shell's prompt: what failed, the command, the log's last 20 lines. */
function banner(r: BuildResult, command: string | undefined, logFile: string, cwd: string): string {
  const lines = [
    r.ok
      ? `kiln: the build succeeded; a shell in its sandbox (after phase ${r.timings.at(-1)?.name ?? '?'})`
      : `kiln: phase ${r.phase ?? '?'} failed: ${r.reason ?? ''}`,
    ...(command !== undefined ? [`kiln: the command that failed: ${command}`] : []),
    `kiln: the last 20 lines of ${logFile}:`,
    ...logTail(logFile, 20).map((l) => `  | ${l}`),
    `kiln: a shell in the sandbox as the build user, in ${cwd}, with the build's environment; leave it (exit) to tear the sandbox down`,
  ];
  return lines.join('\n');
}
