/**
 * A sandbox: an overlayfs over a jail root (`HOME/sandboxes/ID/{upper,work,merged}`), commands run inside it with
 * bubblewrap under limits, and an idempotent teardown (kill the process tree, unmount, remove the upper layer).
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { run, ExecError } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import type { Procedure } from '../util/phases.js';
import { bwrapArgv, type BindMount } from './argv.js';
import { openCgroup, type Cgroup } from './cgroup.js';
import { LimitError, describeLimit, prlimitArgs, type LimitName, type Limits } from './limits.js';
import { discardTree, mountOverlay, mountTmpfs, removeTree, unmountUnder } from './mounts.js';

/** The unprivileged user builds run as; every jail has it (made by the jail module). */
export const BUILD_USER = { name: 'kiln', uid: 2000, gid: 2000, home: '/home/kiln' } as const;

/** The jail a sandbox is made over: only its root folder matters here. */
export interface JailRef {
  readonly name: string;
  /** Absolute path of the jail's root folder (the overlay's lower layer). */
  readonly path: string;
}

/** One command to run in a sandbox. */
export interface SandboxCommand {
  /** The command and its arguments, e.g. `['sh', '-ec', script]`. */
  readonly argv: readonly string[];
  /** `build` (default): the unprivileged build user; `root`: root with Docker's default capabilities. */
  readonly user?: 'root' | 'build';
  /** Allow network (default false; only for phases that need Debian's archive). */
  readonly network?: boolean;
  /** The whole environment; PATH defaults to the usual one. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working folder inside the sandbox (default `/`). */
  readonly cwd?: string;
  /** Extra bind mounts (source tree, DESTDIR, package cache...). */
  readonly binds?: readonly BindMount[];
  readonly limits?: Limits;
  /** Called with every output line (without its newline) as it comes. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Aborts the command (its process tree is killed; the promise rejects with an ExecError, reason `aborted`). */
  readonly signal?: AbortSignal;
  /** Resolve with a non-zero status instead of throwing ExecError. Limits throw regardless. */
  readonly allowFailure?: boolean;
  /** Bytes for stdin. */
  readonly input?: string;
}

/** What a finished command left. */
export interface SandboxResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  /** CPU time of the whole tree, ms (0 when no cgroup measures it). */
  readonly cpuMs: number;
}

/** An open sandbox, real or fake. */
export interface SandboxSession {
  readonly id: string;
  /** Host path of `inside` (a path in the sandbox) in the merged root, for preparing files. */
  hostPath(inside: string): string;
  /** Runs one command. Throws {@link LimitError} on a limit, ExecError on a non-zero exit (unless allowFailure). */
  run(cmd: SandboxCommand): Promise<SandboxResult>;
  /** Kills what still runs, unmounts, removes the upper layer. Idempotent. */
  teardown(): Promise<void>;
}

/** What {@link SandboxRunner.open} needs. */
export interface OpenSandboxOptions {
  readonly jail: JailRef;
  /** A readable word for the sandbox's id (e.g. the port's origin); made safe and made unique. */
  readonly label?: string;
  /** When given, the teardown is pushed on its cleanup stack. */
  readonly proc?: Procedure;
}

/** Makes sandboxes; the real one is {@link BwrapRunner}, the fake one `FakeRunner` (scheduler tests only). */
export interface SandboxRunner {
  open(opts: OpenSandboxOptions): Promise<SandboxSession>;
}

/** Options of {@link createSandbox}. */
export interface CreateSandboxOptions extends OpenSandboxOptions {
  /** kiln's home: the sandbox lives in `HOME/sandboxes/ID`. */
  readonly home: string;
  /**
   * Keep the upper layer in a tmpfs of at most this many bytes (poudriere's USE_TMPFS): faster to make and to
   * throw away, at the price of memory. Default: on disk under `HOME/sandboxes`.
   */
  readonly tmpfsBytes?: number;
}

/** Content of `HOME/sandboxes/ID/owner.json`, which lets a later kiln find leaked sandboxes. */
export interface SandboxOwner {
  readonly pid: number;
  /** Field 22 of `/proc/PID/stat`, so a reused pid is not mistaken for the owner. */
  readonly pidStart: string;
  readonly jail: string;
  readonly lower: string;
  readonly created: string;
}

/** The sandboxes folder of a kiln home. */
export function sandboxesDir(home: string): string {
  return path.join(home, 'sandboxes');
}

/** Where torn-down sandboxes wait for their background deletion (`HOME/sandboxes/.trash`). */
export function trashDir(sandboxes: string): string {
  return path.join(sandboxes, '.trash');
}

/** Start time of a process (field 22 of /proc/PID/stat), or null if it is gone. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch { return null; }
}

/** Mounts an overlay over `opts.jail` and returns the open {@link Sandbox}. */
export async function createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
  if (!fs.existsSync(path.join(opts.jail.path, 'usr'))) {
    throw new KilnError('KILN_E_SANDBOX', `jail ${opts.jail.name} has no root at ${opts.jail.path}`, {
      hint: `recreate it: kiln jail delete ${opts.jail.name} && kiln jail create ${opts.jail.name}`, exitCode: 1 });
  }
  const label = (opts.label ?? opts.jail.name).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'sb';
  const id = `${label}-${crypto.randomBytes(4).toString('hex')}`;
  const dir = path.join(sandboxesDir(opts.home), id);
  const owner: SandboxOwner = { pid: process.pid, pidStart: processStart(process.pid) ?? '', jail: opts.jail.name,
    lower: path.resolve(opts.jail.path), created: new Date().toISOString() };
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (opts.tmpfsBytes !== undefined) await mountTmpfs(dir, opts.tmpfsBytes);
    fs.writeFileSync(path.join(dir, 'owner.json'), `${JSON.stringify(owner)}\n`);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d));
    await mountOverlay(owner.lower, path.join(dir, 'upper'), path.join(dir, 'work'), path.join(dir, 'merged'));
  } catch (e) {
    await removeTree(dir).catch(() => undefined);
    throw e;
  }
  const sb = new Sandbox(id, dir, opts.jail, openCgroup(`kiln-${id}`));
  opts.proc?.defer(`teardown sandbox ${id}`, () => sb.teardown());
  return sb;
}

/** Wraps a command so that it enters `dirs` (cgroup folders) before exec'ing. */
function cgroupPrefix(dirs: readonly string[]): string[] {
  if (dirs.length === 0) return [];
  return ['sh', '-c', 'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; done; shift; exec "$@"',
    'kiln-cgroup', ...dirs, '--'];
}

/** Splits chunks into lines for a line callback; {@link flush} emits a last unterminated line. */
function lineSplitter(onLine: (line: string, s: 'stdout' | 'stderr') => void) {
  const rest = { stdout: '', stderr: '' };
  return {
    push(b: Buffer, s: 'stdout' | 'stderr'): void {
      const parts = (rest[s] + b.toString('utf8')).split('\n');
      rest[s] = parts.pop()!;
      for (const l of parts) onLine(l, s);
    },
    flush(): void {
      for (const s of ['stdout', 'stderr'] as const) if (rest[s] !== '') { onLine(rest[s], s); rest[s] = ''; }
    },
  };
}

/** A real sandbox over a jail (overlayfs + bubblewrap). Make one with {@link createSandbox}. */
export class Sandbox implements SandboxSession {
  private readonly running = new Set<AbortController>();
  private closing: Promise<void> | undefined;
  private closed = false;
  /** The overlay's merged folder (the sandbox's `/` on the host). */
  readonly merged: string;
  /** The overlay's upper folder (everything the sandbox wrote). */
  readonly upper: string;

  constructor(readonly id: string, readonly dir: string, readonly jail: JailRef, private readonly cgroup: Cgroup | null) {
    this.merged = path.join(dir, 'merged');
    this.upper = path.join(dir, 'upper');
  }

  /** True when a cgroup measures and caps this sandbox (else rlimits stand in). */
  get hasCgroup(): boolean { return this.cgroup !== null; }

  hostPath(inside: string): string {
    const rel = path.posix.normalize(`/${inside}`);
    return path.join(this.merged, rel);
  }

  /**
   * Makes folder `inside` (and its parents) in the sandbox, owned by the build user (default) or root, and returns
   * its host path: where to unpack sources or stage DESTDIR before a build-user phase.
   */
  mkdir(inside: string, owner: 'build' | 'root' = 'build'): string {
    const host = this.hostPath(inside);
    fs.mkdirSync(host, { recursive: true, mode: 0o755 });
    if (owner === 'build') fs.chownSync(host, BUILD_USER.uid, BUILD_USER.gid);
    return host;
  }

  async run(cmd: SandboxCommand): Promise<SandboxResult> {
    if (this.closed || this.closing) throw new KilnError('KILN_E_SANDBOX', `sandbox ${this.id} is torn down`, { exitCode: 1 });
    const limits = cmd.limits ?? {};
    const user = cmd.user ?? 'build';
    const inner = bwrapArgv({
      root: this.merged, argv: cmd.argv, network: cmd.network ?? false, env: cmd.env ?? {}, cwd: cmd.cwd ?? '/',
      binds: cmd.binds ?? [], user: user === 'root' ? { kind: 'root' } : { kind: 'build', ...BUILD_USER },
    });
    // With a cgroup, prlimit would only set the core size: skip that exec (it is most of a build's sandbox overhead).
    const rl = this.cgroup === null ? ['prlimit', ...prlimitArgs(limits, false), '--'] : [];
    const full = [...cgroupPrefix(this.cgroup?.procsDirs ?? []), ...rl, 'bwrap', ...inner];
    const shown = cmd.argv.join(' ').slice(0, 200);
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    cmd.signal?.addEventListener('abort', onAbort, { once: true });
    if (cmd.signal?.aborted) ac.abort();
    this.running.add(ac);
    let hit: LimitName | null = null;
    const cg = this.cgroup;
    cg?.arm(limits);
    const watch = cg && (limits.nproc !== undefined || limits.memoryBytes !== undefined || limits.cpuSeconds !== undefined)
      ? setInterval(() => { const h = cg.hit(limits); if (h && hit === null) { hit = h; cg.killAll(); ac.abort(); } }, 100)
      : undefined;
    const lines = cmd.onLine ? lineSplitter(cmd.onLine) : undefined;
    const started = Date.now();
    try {
      const r = await run(full[0]!, full.slice(1), {
        timeoutMs: limits.wallMs, noOutputMs: limits.noOutputMs, signal: ac.signal, allowFailure: true,
        onOutput: lines ? (b, s) => lines.push(b, s) : undefined, input: cmd.input, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      hit ??= cg?.hit(limits) ?? null;
      if (hit === null && cg === null && limits.cpuSeconds !== undefined && r.status === 128 + 24) hit = 'cpu'; // SIGXCPU
      if (hit !== null) throw new LimitError(hit, shown, describeLimit(hit, limits));
      const status = r.status ?? 1;
      if (status !== 0 && !cmd.allowFailure) {
        throw new ExecError({ command: shown, reason: 'exit', exitStatus: status, signal: null, stdout: r.stdout, stderr: r.stderr });
      }
      return { status, stdout: r.stdout, stderr: r.stderr, wallMs: Date.now() - started, cpuMs: cg?.cpuMs() ?? 0 };
    } catch (e) {
      if (e instanceof LimitError) throw e;
      hit ??= cg?.hit(limits) ?? null;
      if (hit !== null) throw new LimitError(hit, shown, describeLimit(hit, limits));
      if (e instanceof ExecError && e.reason === 'timeout') throw new LimitError('wall', shown, describeLimit('wall', limits));
      if (e instanceof ExecError && e.reason === 'no-output') throw new LimitError('no-output', shown, describeLimit('no-output', limits));
      throw e;
    } finally {
      if (watch) clearInterval(watch);
      lines?.flush();
      cmd.signal?.removeEventListener('abort', onAbort);
      this.running.delete(ac);
      cg?.killAll();
    }
  }

  /** Kills what still runs, unmounts, removes the sandbox folder. Idempotent; safe to call concurrently. */
  teardown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing ??= (async () => {
      for (const ac of this.running) ac.abort();
      await this.cgroup?.remove();
      await unmountUnder(this.dir);
      await discardTree(this.dir, trashDir(path.dirname(this.dir)));
      this.closed = true;
    })().finally(() => { this.closing = undefined; });
    return this.closing;
  }
}

/** The real {@link SandboxRunner}: overlayfs + bubblewrap sandboxes under `HOME/sandboxes`. */
export class BwrapRunner implements SandboxRunner {
  constructor(private readonly home: string) {}
  open(opts: OpenSandboxOptions): Promise<SandboxSession> {
    return createSandbox({ ...opts, home: this.home });
  }
}

/**
 * The host-side apt package cache for the system-dependency phase: bind it at `/var/cache/apt/archives` so every
 * sandbox downloads a Debian package at most once. Creates `HOME/cache/apt/archives/partial`.
 */
export function aptCacheBind(home: string): BindMount {
  const source = path.join(home, 'cache', 'apt', 'archives');
  fs.mkdirSync(path.join(source, 'partial'), { recursive: true });
  return { source, dest: '/var/cache/apt/archives' };
}
