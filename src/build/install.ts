/**
 * Dependency installation (the `system-depends`, `kiln-depends` and Debian `build-depends` phases), in two steps
 * run as root in the sandbox's user namespace (root inside, nobody on the host):
 * 1. **download**: apt resolves and fetches the `.deb`s (`--download-only`) with no network but the archive proxy
 *    (`network: 'archive'`: only the jail's Debian archives), into the sandbox's own layer over the shared cache;
 *    the host then promotes new files into the shared cache when their sha256 matches the jail's index;
 * 2. **install**: apt and dpkg unpack and configure with **no network at all**, so no maintainer
 *    script (a Debian package's, or a kiln-built dependency's `postinst`) ever has a network.
 * No apt step runs any code of the port (apt reads a kiln `.deb`'s control, nothing more, before step 2).
 */
import type { BindMount, SandboxCommand, SandboxResult } from '../sandbox/index.js';
import { ARCHIVE_PROXY, sharedAptCache } from '../sandbox/index.js';
import { shq } from './script.js';

/** The environment of apt in the sandbox. */
export const APT_ENV: Readonly<Record<string, string>> = {
  DEBIAN_FRONTEND: 'noninteractive',
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
};

/** Options of every apt-get run: no pty, no `_apt` sandbox user, no recommends. */
const APT_OPTS = ['-o', 'Dpkg::Use-Pty=0', '-o', 'APT::Sandbox::User=root', '-o', 'APT::Install-Recommends=false'];
/** The download step's proxy (command-line options win over a jail's own proxy setting). */
const PROXY_OPTS = ['-o', `Acquire::http::Proxy=${ARCHIVE_PROXY}`, '-o', `Acquire::https::Proxy=${ARCHIVE_PROXY}`];

/** Which step an apt line is for. */
export type AptStep = 'download' | 'install';

/**
 * One shell-quoted apt-get line for `step`: `apt-get VERB -y -q OPTIONS [--download-only + the proxy] ARGS`.
 * `verb` is `install` or `build-dep`; `extra` are more options (e.g. build profiles).
 */
export function aptLine(
  step: AptStep,
  verb: 'install' | 'build-dep',
  args: readonly string[],
  extra: readonly string[] = [],
): string {
  // The install step has no network at all, so whatever is not downloaded yet fails; (apt's `--no-download` would
  // also refuse a local `.deb` given by path.)
  const mode = step === 'download' ? ['--download-only', ...PROXY_OPTS] : [];
  return ['apt-get', verb, '-y', '-q', ...APT_OPTS, ...mode, ...extra, ...args].map(shq).join(' ');
}

/** apt-get's options for lines a caller writes itself (`apt-get update` of a local source). */
export function aptOptions(): string {
  return APT_OPTS.map(shq).join(' ');
}

/** What {@link installDepends} needs. */
export interface InstallDependsInput {
  readonly home: string;
  /** Runs one command in the build's sandbox (under the build's limits, logged). */
  readonly run: (cmd: SandboxCommand) => Promise<SandboxResult | void>;
  /** The shell script of each step (run with `sh -ec`). */
  readonly download: string;
  readonly install: string;
  /** Read-only binds both steps need (kiln's `.deb`s). */
  readonly binds?: readonly BindMount[];
  /** Every output line of both steps. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** Runs the download step, then the install step (see the module's comment). Throws as `run` does. */
export async function installDepends(i: InstallDependsInput): Promise<void> {
  const aptCache = sharedAptCache(i.home);
  const base = {
    user: 'root' as const,
    env: APT_ENV,
    binds: i.binds ?? [],
    aptCache,
    ...(i.onLine ? { onLine: i.onLine } : {}),
  };
  await i.run({ ...base, argv: ['sh', '-ec', i.download], network: 'archive' });
  await i.run({ ...base, argv: ['sh', '-ec', i.install], network: false });
}

/**
 * The two steps for `apt-get install NAMES` (Debian package names or `.deb` paths inside the sandbox). `extra` are
 * more apt options: kiln's own dependency `.deb`s go in with `--allow-downgrades`, since a port's dependency on
 * another port means that port's package even when the jail holds a newer namesake (a split `libfoo1`).
 */
export function installPackages(
  names: readonly string[],
  extra: readonly string[] = [],
): { download: string; install: string } {
  return {
    download: aptLine('download', 'install', names, extra),
    install: aptLine('install', 'install', names, extra),
  };
}
