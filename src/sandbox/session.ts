/**
 * What a sandbox is to its users: the commands it runs and what they leave, the options that open one, its owner
 * record and folders, and the host-side views of its ids and paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import type { Procedure } from '../util/phases.js';
import type { BindMount } from './argv.js';
import type { Limits } from './limits.js';

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
