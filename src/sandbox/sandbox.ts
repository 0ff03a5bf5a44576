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
import {
  checkOverlayPaths,
  discardTree,
  mountDisk,
  mountOverlay,
  mountTmpfs,
  mountsUnder,
  removeTree,
  unmountUnder,
} from './mounts.js';
import { ARCHIVE_SOCKET_DIR, archiveRules, startArchiveProxy, withForwarder, type ArchiveProxy } from './archive.js';
import { promoteDownloads } from './apt-cache.js';
import { gateDir, idmapHelper, pickIdBase, runHelper, usernsPrefix } from './userns.js';

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
  /**
   * Network: false (default) none at all; `'archive'` none either, but an HTTP proxy at {@link ARCHIVE_PROXY} that
   * reaches only the jail's Debian archives (the download step); true the host's network (legacy, avoid).
   */
  readonly network?: boolean | 'archive';
  /**
   * The host's shared apt cache folder: seen read-only at `/var/cache/apt/archives` as the lower layer of the
   * sandbox's own cache layer; after a command with `network: 'archive'` that succeeds, its new `.deb`s are
   * promoted into the shared folder when the jail's Packages index vouches for their sha256.
   */
  readonly aptCache?: string;
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
  /**
   * The build's limits: `diskBytes` (and `files`) put the sandbox's writable layer on a file system of that size
   * (a sparse ext4 image on a loop device), so a build fills its own disk, never the host's.
   */
  readonly limits?: Limits;
  /**
   * Dependency layers (host folders, topmost first) stacked read-only between the sandbox's writable layer and the
   * jail, each owned as the jail is (root is host uid 0): see `src/layers/`. The sandbox can never write them.
   */
  readonly layers?: readonly string[];
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
  /** With `tmpfsBytes`: the most files (inodes) the sandbox may make (poudriere's MAX_FILES). */
  readonly files?: number;
  /** false: no user namespace (root inside is host root; for tests comparing both). Default: one when possible. */
  readonly userns?: boolean;
}

/** Content of `HOME/sandboxes/ID/owner.json`, which lets a later kiln find leaked sandboxes. */
export interface SandboxOwner {
  readonly pid: number;
  /** Field 22 of `/proc/PID/stat`, so a reused pid is not mistaken for the owner. */
  readonly pidStart: string;
  readonly jail: string;
  readonly lower: string;
  readonly created: string;
  /** Host uid/gid of root inside (0: no user namespace). */
  readonly idBase?: number;
  /** The dependency layers under it (while the owner lives, they are not evicted). */
  readonly layers?: readonly string[];
}

/** The sandboxes folder of a kiln home. */
export function sandboxesDir(home: string): string {
  return path.join(home, 'sandboxes');
}

/** Where torn-down sandboxes wait for their background deletion (`HOME/sandboxes/.trash`). */
export function trashDir(sandboxes: string): string {
  return path.join(sandboxes, '.trash');
}

/** A sandbox's user namespace: its host id range, its nsfs file, the helper, and its gate folder. */
export interface SandboxUserns {
  /** Host uid/gid of root inside. */
  readonly base: number;
  readonly nsFile: string;
  /** The idmap helper binary. */
  readonly bin: string;
  /** `/run/kiln/ID`: the sandbox's root (`root`) and bind sources, reachable by root inside. */
  readonly gate: string;
}

/** The sparse image of a disk-limited sandbox's file system (`HOME/sandboxes/.disks/ID.img`). */
export function diskImage(dir: string): string {
  return path.join(path.dirname(dir), '.disks', `${path.basename(dir)}.img`);
}

/** Start time of a process (field 22 of /proc/PID/stat), or null if it is gone. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Mounts an overlay over `opts.jail` and returns the open {@link Sandbox}. */
export async function createSandbox(opts: CreateSandboxOptions): Promise<Sandbox> {
  if (!fs.existsSync(path.join(opts.jail.path, 'usr'))) {
    throw new KilnError('KILN_E_SANDBOX', `jail ${opts.jail.name} has no root at ${opts.jail.path}`, {
      hint: `recreate it: kiln jail delete ${opts.jail.name} && kiln jail create ${opts.jail.name}`,
      exitCode: 1,
    });
  }
  const label =
    (opts.label ?? opts.jail.name)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'sb';
  const id = `${label}-${crypto.randomBytes(4).toString('hex')}`;
  const dir = path.join(sandboxesDir(opts.home), id);
  const bin = opts.userns === false ? null : await idmapHelper();
  const disk = opts.limits?.diskBytes;
  const files = opts.files ?? opts.limits?.files;
  const owner: SandboxOwner = {
    pid: process.pid,
    pidStart: processStart(process.pid) ?? '',
    jail: opts.jail.name,
    lower: path.resolve(opts.jail.path),
    created: new Date().toISOString(),
    idBase: bin ? pickIdBase() : 0,
    ...(opts.layers && opts.layers.length > 0 ? { layers: opts.layers.map((l) => path.resolve(l)) } : {}),
  };
  const layers = owner.layers ?? [];
  const ns = path.join(dir, 'ns');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (opts.tmpfsBytes !== undefined) await mountTmpfs(dir, opts.tmpfsBytes, files);
    else if (disk !== undefined) await mountDisk(dir, diskImage(dir), disk, files);
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, 'owner.json'), `${JSON.stringify(owner)}\n`);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d));
    if (bin) {
      // In one helper process: the user namespace, the jail and each layer idmapped through it (their root-owned
      // files are root's inside), the overlay over them, and the overlay bound at the gate for bubblewrap.
      const lowers = [...layers.map((_, i) => path.join(dir, `layer${i}`)), path.join(dir, 'lower')];
      for (const l of lowers) fs.mkdirSync(l);
      const st = fs.statSync(owner.lower);
      fs.chownSync(path.join(dir, 'upper'), owner.idBase!, owner.idBase!);
      fs.chmodSync(path.join(dir, 'upper'), st.mode & 0o7777);
      fs.mkdirSync(gateDir(), { recursive: true, mode: 0o711 });
      fs.chmodSync(gateDir(), 0o711);
      fs.mkdirSync(path.join(gateDir(), id, 'root'), { recursive: true, mode: 0o711 });
      fs.chmodSync(path.join(gateDir(), id), 0o711);
      const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(dir, d)) as [
        string,
        string,
        string,
      ];
      checkOverlayPaths([owner.lower, ...layers, ...lowers, upper, work, merged]);
      await runHelper(bin, [
        ['userns', owner.idBase!, ns],
        ...[...layers, owner.lower].map((src, i) => ['idmap', src, lowers[i]!] as const),
        ['overlay', lowers.join(':'), upper, work, merged],
        ['bind', merged, path.join(gateDir(), id, 'root')],
      ]);
    } else {
      await mountOverlay(
        [...layers, owner.lower],
        path.join(dir, 'upper'),
        path.join(dir, 'work'),
        path.join(dir, 'merged'),
      );
    }
  } catch (e) {
    await removeTree(path.join(gateDir(), id)).catch(() => undefined);
    await removeTree(dir).catch(() => undefined);
    throw e;
  }
  const sb = new Sandbox(
    id,
    dir,
    opts.jail,
    openCgroup(`kiln-${id}`),
    bin ? { base: owner.idBase!, nsFile: ns, bin, gate: path.join(gateDir(), id) } : null,
    opts.tmpfsBytes !== undefined || disk !== undefined ? { diskBytes: opts.tmpfsBytes ?? disk, files } : null,
  );
  opts.proc?.defer(`teardown sandbox ${id}`, () => sb.teardown());
  return sb;
}

/** Wraps a command so that it enters `dirs` (cgroup folders) and gets `argsFile` on fd 3 before exec'ing. */
function launcher(argsFile: string, dirs: readonly string[]): string[] {
  return [
    'sh',
    '-c',
    'a=$1; shift; while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; done; shift; exec "$@" 3<"$a"',
    'kiln-sandbox',
    argsFile,
    ...dirs,
    '--',
  ];
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
      for (const s of ['stdout', 'stderr'] as const)
        if (rest[s] !== '') {
          onLine(rest[s], s);
          rest[s] = '';
        }
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
    const user = cmd.user ?? 'build';
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
    const shown = cmd.argv.join(' ').slice(0, 200);
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    cmd.signal?.addEventListener('abort', onAbort, { once: true });
    if (cmd.signal?.aborted) ac.abort();
    this.running.add(ac);
    let hit: LimitName | null = null;
    const cg = this.cgroup;
    cg?.arm(limits);
    const watch =
      cg && (limits.nproc !== undefined || limits.memoryBytes !== undefined || limits.cpuSeconds !== undefined)
        ? setInterval(() => {
            const h = cg.hit(limits);
            if (h && hit === null) {
              hit = h;
              cg.killAll();
              ac.abort();
            }
          }, 100)
        : undefined;
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
      hit ??= cg?.hit(limits) ?? null;
      if (hit === null && cg === null && limits.cpuSeconds !== undefined && r.status === 128 + 24) hit = 'cpu'; // SIGXCPU
      hit ??= this.diskHit();
      if (hit !== null) throw new LimitError(hit, shown, describeLimit(hit, { ...limits, ...this.diskDetail() }));
      const status = r.status ?? 1;
      if (status !== 0 && !cmd.allowFailure) {
        throw new ExecError({
          command: shown,
          reason: 'exit',
          exitStatus: status,
          signal: null,
          stdout: r.stdout,
          stderr: r.stderr,
        });
      }
      if (status === 0 && cmd.aptCache !== undefined && cmd.network === 'archive') {
        const p = promoteDownloads(path.join(this.dir, 'apt-upper'), cmd.aptCache, this.jail.path);
        for (const x of p.refused) cmd.onLine?.(`kiln: ${x.name} not kept in the shared apt cache: ${x.why}`, 'stderr');
      }
      return { status, stdout: r.stdout, stderr: r.stderr, wallMs: Date.now() - started, cpuMs: cg?.cpuMs() ?? 0 };
    } catch (e) {
      if (e instanceof LimitError) throw e;
      hit ??= cg?.hit(limits) ?? null;
      hit ??= this.diskHit();
      if (hit !== null) throw new LimitError(hit, shown, describeLimit(hit, { ...limits, ...this.diskDetail() }));
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
      if (watch) clearInterval(watch);
      lines?.flush();
      cmd.signal?.removeEventListener('abort', onAbort);
      this.running.delete(ac);
      cg?.killAll();
    }
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
      const all = [...(this.userns ? mountsUnder(this.userns.gate) : []), ...mountsUnder(this.dir)];
      if (this.disk === null && all.length > 0) {
        all.sort((a, b) => b.seq - a.seq);
        await run(
          'umount',
          all.map((m) => m.target),
          { allowFailure: true },
        );
      }
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
      // One umount for the gate's and the sandbox's mounts, newest first (each is one process under load).
      const all = [...(this.userns ? mountsUnder(this.userns.gate) : []), ...mountsUnder(this.dir)];
      all.sort((a, b) => b.seq - a.seq);
      if (all.length > 0)
        await run(
          'umount',
          all.map((m) => m.target),
          { allowFailure: true },
        );
      if (this.userns) await removeTree(this.userns.gate);
      await unmountUnder(this.dir);
      await discardTree(this.dir, trashDir(path.dirname(this.dir)));
      fs.rmSync(diskImage(this.dir), { force: true });
      this.closed = true;
    })().finally(() => {
      this.closing = undefined;
    });
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
 * Host uid/gid of root and of the build user in a sandbox (they differ from 0 and 2000 when it has a user
 * namespace), read from the owner of its `/` (so it works through any {@link SandboxSession} wrapper). Call it
 * before anything ran inside, when preparing folders.
 */
export function sandboxIds(sb: SandboxSession): { readonly root: number; readonly build: number } {
  let root = 0;
  try {
    root = fs.lstatSync(sb.hostPath('/')).uid;
  } catch {
    root = 0;
  }
  return { root, build: root + BUILD_USER.uid };
}

/**
 * The host path of `inside` for host-side reads and writes after the sandbox ran code: symlinks resolved, and
 * refused (`KILN_E_SANDBOX`) when they lead out of the sandbox's root (an absolute symlink planted by a build
 * resolves against the host's `/` on the host side). Nothing runs in the sandbox meanwhile, so the check holds.
 */
export function resolveInside(sb: SandboxSession, inside: string): string {
  const root = fs.realpathSync(sb.hostPath('/'));
  const real = fs.realpathSync(sb.hostPath(inside));
  if (real !== root && !real.startsWith(`${root}/`)) {
    throw new KilnError('KILN_E_SANDBOX', `${inside} in the sandbox leads outside it (a symlink to ${real})`, {
      hint: 'the build planted a symlink where kiln reads or writes; the port is hostile or broken',
      exitCode: 1,
    });
  }
  return real;
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
