/**
 * The bubblewrap command line of one sandboxed command, built by a pure function so that it can be read and
 * golden-tested. Choices, and why (bubblewrap 0.8, run as root):
 * - the overlay's merged folder is bound as `/`, with a fresh `/proc` (own PID namespace), a minimal `/dev` and
 *   an empty `/tmp`;
 * - namespaces: IPC, PID, UTS, cgroup and (unless the phase needs the archive) network. Not a user namespace:
 *   as root, bwrap would map only uid 0, and a build user switched to inside it would still be root on disk.
 *   `--unshare-all` implies `--unshare-user-try`, hence the explicit list;
 * - the build user is reached with `setpriv` inside the sandbox (real uid/gid, no groups, no capabilities,
 *   no new privileges), so file permissions of the jail apply to it as to any user;
 * - the root phase keeps only Docker's default capability set (enough for apt and dpkg);
 * - `--die-with-parent` and `--new-session`; the environment is cleared and set explicitly.
 */

/** A folder of the host made visible inside the sandbox. */
export interface BindMount {
  /** Host path. */
  readonly source: string;
  /** Path inside the sandbox. */
  readonly dest: string;
  /** Mount it read-only (default false). */
  readonly readonly?: boolean;
}

/** Who runs the command inside the sandbox. */
export type SandboxUser =
  | { readonly kind: 'root' }
  | {
      readonly kind: 'build';
      readonly uid: number;
      readonly gid: number;
      readonly name?: string;
      readonly home?: string;
    };

/** Everything {@link bwrapArgv} needs. */
export interface BwrapSpec {
  /** Host folder bound as `/` (an overlay's merged folder, or a jail root for `jail update`). */
  readonly root: string;
  /** The command and its arguments, run inside. */
  readonly argv: readonly string[];
  readonly user: SandboxUser;
  /** Allow network (only for phases that need Debian's archive). Default false. */
  readonly network?: boolean;
  /** Host file bound read-only at `/etc/resolv.conf` when `network` is on (default `/etc/resolv.conf`). */
  readonly resolvConf?: string;
  /** The complete environment (nothing else is inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working folder inside (default `/`). */
  readonly cwd?: string;
  readonly binds?: readonly BindMount[];
  /** Host name inside (default `kiln`). */
  readonly hostname?: string;
  /** Keep the root's own `/tmp` (on a disk-limited sandbox, so `/tmp` counts too) instead of a fresh tmpfs. */
  readonly tmpInRoot?: boolean;
}

/** Capabilities kept by the root phase (Docker's default set). */
export const ROOT_CAPS: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

/**
 * Capabilities bwrap keeps for the build phase: setpriv's to become the build user, and DAC_READ_SEARCH so that
 * bwrap can `--chdir` into a build-user-owned 0700 folder. setpriv drops them all on the way.
 */
const SETPRIV_CAPS: readonly string[] = ['CAP_DAC_READ_SEARCH', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP'];

/** The PATH a sandboxed command gets when `env` has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Builds the `bwrap` argument vector (without `bwrap` itself) for `spec`. Pure. */
export function bwrapArgv(spec: BwrapSpec): string[] {
  const a: string[] = [
    '--bind',
    spec.root,
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...(spec.tmpInRoot ? [] : ['--perms', '1777', '--tmpfs', '/tmp']),
    '--unshare-ipc',
    '--unshare-pid',
    '--unshare-uts',
    '--unshare-cgroup-try',
  ];
  if (!spec.network) a.push('--unshare-net');
  a.push('--hostname', spec.hostname ?? 'kiln', '--die-with-parent', '--new-session');
  if (spec.network) a.push('--ro-bind', spec.resolvConf ?? '/etc/resolv.conf', '/etc/resolv.conf');
  for (const b of spec.binds ?? []) a.push(b.readonly ? '--ro-bind' : '--bind', b.source, b.dest);
  a.push('--cap-drop', 'ALL');
  // The build user: just enough for setpriv to switch user and empty the bounding set, then nothing.
  for (const c of spec.user.kind === 'root' ? ROOT_CAPS : SETPRIV_CAPS) a.push('--cap-add', c);
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...(spec.env ?? {}) };
  if (spec.user.kind === 'root') {
    env.HOME ??= '/root';
    env.USER ??= 'root';
  }
  if (spec.user.kind === 'build' && spec.user.home !== undefined) env.HOME ??= spec.user.home;
  if (spec.user.kind === 'build' && spec.user.name !== undefined) env.USER ??= spec.user.name;
  a.push('--clearenv');
  for (const k of Object.keys(env).sort()) a.push('--setenv', k, env[k]!);
  a.push('--chdir', spec.cwd ?? '/', '--');
  if (spec.user.kind === 'build') {
    a.push(
      'setpriv',
      `--reuid=${spec.user.uid}`,
      `--regid=${spec.user.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    );
  }
  a.push(...spec.argv);
  return a;
}
