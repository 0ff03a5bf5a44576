/**
 * A sandbox: an overlayfs over a jail root (`HOME/sandboxes/ID/{upper,work,merged}`), commands run inside it with
 * bubblewrap under limits, and an idempotent teardown (kill the process tree, unmount, remove the upper layer).
 */
import fs from 'node:fs';
import path from 'node:path';
import { run, ExecError, exitError } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { bwrapArgv, type BindMount } from './argv.js';
import type { Cgroup } from './cgroup.js';
import { LimitError, describeLimit, prlimitArgs, type LimitName, type Limits } from './limits.js';
import { mountOverlay, mountsUnder } from './mounts.js';
import { ARCHIVE_SOCKET_DIR, archiveRules, startArchiveProxy, withForwarder, type ArchiveProxy } from './archive.js';
import { promoteDownloads } from './apt-cache.js';
import { runHelper, usernsPrefix } from './userns.js';
import { launcher, limitWatch, lineSplitter } from './command.js';
import { removeSandbox, umountAll } from './teardown.js';
import {
  BUILD_USER,
  type JailRef,
  type SandboxCommand,
  type SandboxResult,
  type SandboxSession,
  type SandboxUserns,
} from './session.js';

/** Start time of a process (field 22 of /proc/PID/stat), or null if it is gone. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
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

  private runs = 0;
  private bindSeq = 0;
  /** Bind sources already mounted at the gate → their gate path. */
  private readonly gated = new Map<string, string>();
  private aptCacheMounted = false;

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly jail: JailRef,
    private readonly cgroup: Cgroup | null,
    /** The user namespace (null: none, root inside is host root). */
    readonly userns: SandboxUserns | null = null,
    /** The size of the file system the writable layer is on (null: the host's). */
    private readonly disk: Pick<Limits, 'diskBytes' | 'files'> | null = null,
  ) {
    this.merged = path.join(dir, 'merged');
    this.upper = path.join(dir, 'upper');
  }

  /** Host uid (= gid) of uid `inside` in the sandbox. */
  hostId(inside: number): number {
    return (this.userns?.base ?? 0) + inside;
  }

  /** True when a cgroup measures and caps this sandbox (else rlimits stand in). */
  get hasCgroup(): boolean {
    return this.cgroup !== null;
  }

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
    const id = this.hostId(owner === 'build' ? BUILD_USER.uid : 0);
    fs.chownSync(host, id, id);
    return host;
  }

  async run(cmd: SandboxCommand): Promise<SandboxResult> {
    if (this.closed || this.closing)
      throw new KilnError('KILN_E_SANDBOX', `sandbox ${this.id} is torn down`, { exitCode: 1 });
    const limits = cmd.limits ?? {};
    const { argv, extra, proxy } = await this.networkAndCache(cmd);
    const { full, argsFile } = await this.commandLine(cmd, argv, extra, limits);
    const shown = cmd.argv.join(' ').slice(0, 200);
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    cmd.signal?.addEventListener('abort', onAbort, { once: true });
    if (cmd.signal?.aborted) ac.abort();
    this.running.add(ac);
    const cg = this.cgroup;
    const watch = limitWatch(cg, limits, ac);
    const lines = cmd.onLine ? lineSplitter(cmd.onLine) : undefined;
    const started = Date.now();
    try {
      const r = await run(full[0]!, full.slice(1), {
        timeoutMs: limits.wallMs,
        noOutputMs: limits.noOutputMs,
        signal: ac.signal,
        allowFailure: true,
        onOutput: lines ? (b, s) => lines.push(b, s) : undefined,
        input: cmd.input,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      watch.hit ??= cg?.hit(limits) ?? null;
      if (watch.hit === null && cg === null && limits.cpuSeconds !== undefined && r.status === 128 + 24)
        watch.hit = 'cpu'; // SIGXCPU
      watch.hit ??= this.diskHit();
      if (watch.hit !== null)
        throw new LimitError(watch.hit, shown, describeLimit(watch.hit, { ...limits, ...this.diskDetail() }));
      return this.result(cmd, r, shown, started);
    } catch (e) {
      if (e instanceof LimitError) throw e;
      watch.hit ??= cg?.hit(limits) ?? null;
      watch.hit ??= this.diskHit();
      if (watch.hit !== null)
        throw new LimitError(watch.hit, shown, describeLimit(watch.hit, { ...limits, ...this.diskDetail() }));
      if (e instanceof ExecError && e.reason === 'timeout')
        throw new LimitError('wall', shown, describeLimit('wall', limits));
      if (e instanceof ExecError && e.reason === 'no-output')
        throw new LimitError('no-output', shown, describeLimit('no-output', limits));
      throw e;
    } finally {
      if (proxy) {
        await proxy.close();
        for (const x of proxy.refused.slice(0, 20)) cmd.onLine?.(`kiln: the archive proxy refused ${x}`, 'stderr');
      }
      fs.rmSync(argsFile, { force: true });
      watch.stop();
      lines?.flush();
      cmd.signal?.removeEventListener('abort', onAbort);
      this.running.delete(ac);
      cg?.killAll();
    }
  }

  /**
   * A command's apt cache layer and archive proxy, as it asks: the extra binds, the argv (wrapped in the proxy's
   * forwarder for `network: 'archive'`) and the proxy to close when it ends.
   */
  private async networkAndCache(
    cmd: SandboxCommand,
  ): Promise<{ argv: readonly string[]; extra: BindMount[]; proxy: ArchiveProxy | undefined }> {
    const extra: BindMount[] = [];
    let argv = cmd.argv;
    let proxy: ArchiveProxy | undefined;
    if (cmd.aptCache !== undefined)
      extra.push({ source: await this.aptCacheLayer(cmd.aptCache), dest: '/var/cache/apt/archives' });
    if (cmd.network === 'archive') {
      const sockDir = path.join(this.dir, 'archive');
      fs.mkdirSync(sockDir, { recursive: true, mode: 0o755 });
      proxy = await startArchiveProxy(path.join(sockDir, 'proxy.sock'), archiveRules(this.jail.path));
      extra.push({ source: sockDir, dest: ARCHIVE_SOCKET_DIR });
      argv = withForwarder(argv);
    }
    return { argv, extra, proxy };
  }

  /** The host command line that runs `argv` in the sandbox, and the file its bwrap options are in (fd 3). */
  private async commandLine(
    cmd: SandboxCommand,
    argv: readonly string[],
    extra: readonly BindMount[],
    limits: Limits,
  ): Promise<{ full: string[]; argsFile: string }> {
    const user = cmd.user ?? 'build';
    const binds = await this.gateBinds([...(cmd.binds ?? []), ...extra]);
    const inner = bwrapArgv({
      root: this.userns ? path.join(this.userns.gate, 'root') : this.merged,
      argv,
      network: cmd.network === true,
      env: cmd.env ?? {},
      cwd: cmd.cwd ?? '/',
      binds,
      tmpInRoot: this.disk !== null,
      user: user === 'root' ? { kind: 'root' } : { kind: 'build', ...BUILD_USER },
    });
    // With a cgroup, prlimit would only set the core size: skip that exec (it is most of a build's sandbox overhead).
    const rl = this.cgroup === null ? ['prlimit', ...prlimitArgs(limits, false), '--'] : [];
    // bwrap reads its arguments from fd 3 (a file only the host sees), so /proc/1/cmdline inside names no host path.
    const argsFile = path.join(this.dir, `args-${++this.runs}`);
    // (Only its options: bwrap takes the command from its own argv.)
    const dash = inner.indexOf('--');
    fs.writeFileSync(
      argsFile,
      inner
        .slice(0, dash)
        .map((x) => `${x}\0`)
        .join(''),
      { mode: 0o600 },
    );
    const full = [
      ...launcher(argsFile, this.cgroup?.procsDirs ?? []),
      ...rl,
      ...(this.userns ? usernsPrefix(this.userns.nsFile) : []),
      'bwrap',
      '--args',
      '3',
      ...inner.slice(dash),
    ];
    return { full, argsFile };
  }

  /**
   * A finished command's result: a non-zero status throws ExecError (unless `allowFailure`); after a good download
   * step, its new `.deb`s are promoted into the shared apt cache (refusals told through `onLine`).
   */
  private result(
    cmd: SandboxCommand,
    r: { status: number | null; stdout: string; stderr: string },
    shown: string,
    started: number,
  ): SandboxResult {
    const status = r.status ?? 1;
    const failed = exitError(shown, { exitStatus: status, stdout: r.stdout, stderr: r.stderr }, cmd.allowFailure);
    if (failed) throw failed;
    if (status === 0 && cmd.aptCache !== undefined && cmd.network === 'archive') {
      const p = promoteDownloads(path.join(this.dir, 'apt-upper'), cmd.aptCache, this.jail.path);
      for (const x of p.refused) cmd.onLine?.(`kiln: ${x.name} not kept in the shared apt cache: ${x.why}`, 'stderr');
    }
    return {
      status,
      stdout: r.stdout,
      stderr: r.stderr,
      wallMs: Date.now() - started,
      cpuMs: this.cgroup?.cpuMs() ?? 0,
    };
  }

  /** The sandbox's own layer over the shared apt cache `shared`, mounted on first use; returns its merged folder. */
  private async aptCacheLayer(shared: string): Promise<string> {
    const merged = path.join(this.dir, 'apt-cache');
    if (this.aptCacheMounted) return merged;
    const upper = path.join(this.dir, 'apt-upper');
    const root = this.hostId(0);
    for (const d of [upper, path.join(upper, 'partial'), path.join(this.dir, 'apt-work')])
      fs.mkdirSync(d, { mode: 0o755 });
    fs.chownSync(upper, root, root);
    fs.chownSync(path.join(upper, 'partial'), root, root);
    fs.chmodSync(path.join(upper, 'partial'), 0o700);
    fs.writeFileSync(path.join(upper, 'lock'), '', { mode: 0o640 });
    fs.chownSync(path.join(upper, 'lock'), root, root);
    fs.mkdirSync(merged);
    await mountOverlay(shared, upper, path.join(this.dir, 'apt-work'), merged);
    this.aptCacheMounted = true;
    return merged;
  }

  /**
   * Where an interactive shell enters this sandbox as its build steps do (`openShell`): the root folder and `binds`
   * as bubblewrap takes them (the gate's paths in a user namespace), and the namespace's nsfs file (none without).
   */
  async shellTarget(binds: readonly BindMount[]): Promise<{ root: string; binds: BindMount[]; nsFile?: string }> {
    if (this.userns === null) return { root: this.merged, binds: [...binds] };
    return {
      root: path.join(this.userns.gate, 'root'),
      binds: await this.gateBinds(binds),
      nsFile: this.userns.nsFile,
    };
  }

  /**
   * In a user namespace, root inside cannot walk the host paths of `binds` (a private kiln home): each source is
   * bind-mounted once at `GATE/bN` (one helper process for all new ones; kept until teardown, as a build's steps
   * bind the same sources) and bubblewrap takes it from there.
   */
  private async gateBinds(binds: readonly BindMount[]): Promise<BindMount[]> {
    if (this.userns === null || binds.length === 0) return [...binds];
    const u = this.userns;
    const ops: ['bind', string, string][] = [];
    const out = binds.map((b) => {
      let at = this.gated.get(b.source);
      if (at === undefined) {
        at = path.join(u.gate, `b${++this.bindSeq}`);
        if (fs.statSync(b.source).isDirectory()) fs.mkdirSync(at);
        else fs.writeFileSync(at, '', { flag: 'wx', mode: 0o600 });
        ops.push(['bind', b.source, at]);
      }
      return { ...b, source: at };
    });
    await runHelper(u.bin, ops);
    for (const [, src, at] of ops) this.gated.set(src, at);
    return out;
  }

  /** 'disk' when the writable layer's file system is full (of bytes or of inodes), else null. */
  private diskHit(): LimitName | null {
    if (this.disk === null) return null;
    try {
      const st = fs.statfsSync(this.dir);
      const full = st.bavail * st.bsize < 1 << 20 || st.ffree < 64;
      return full ? 'disk' : null;
    } catch {
      return null;
    }
  }

  /** Which of the disk's limits is reached, for the message (`N MiB` or `N files`). */
  private diskDetail(): Pick<Limits, 'diskBytes' | 'files'> {
    if (this.disk === null) return {};
    try {
      const st = fs.statfsSync(this.dir);
      if (st.ffree < 64 && st.bavail * st.bsize >= 1 << 20) return { diskBytes: undefined, files: this.disk.files };
    } catch {
      /* gone */
    }
    return { diskBytes: this.disk.diskBytes };
  }

  /**
   * Tears the sandbox down as {@link teardown} does, after putting its writable layer at `dest` (which must not
   * exist): a rename once the overlay is unmounted, or a copy when the layer is on a file system of its own (a disk
   * limit or tmpfs). Call it only when nothing runs in the sandbox.
   */
  async teardownKeepingUpper(dest: string): Promise<void> {
    try {
      if (this.disk === null) await umountAll(this.dir, this.userns?.gate);
      let moved = false;
      if (this.disk === null && mountsUnder(this.dir).length === 0) {
        try {
          fs.renameSync(this.upper, dest);
          moved = true;
        } catch {
          // another file system (EXDEV): copied below
        }
      }
      if (!moved) await run('cp', ['-a', '--reflink=auto', '--', this.upper, dest]);
    } finally {
      await this.teardown();
    }
  }

  /** Kills what still runs, unmounts, removes the sandbox folder. Idempotent; safe to call concurrently. */
  teardown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing ??= (async () => {
      for (const ac of this.running) ac.abort();
      await this.cgroup?.remove();
      await umountAll(this.dir, this.userns?.gate);
      await removeSandbox(this.dir, this.userns?.gate);
      this.closed = true;
    })().finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }
}
