/**
 * The package layer of an image, on a copy of the base root: kiln's packages installed with apt from the signed
 * repository of (jail, tree), bound read-only into the root as a `file:` source and pinned above Debian's archive;
 * their system dependencies come from the Debian lists kept in the base. Then the overlay folder, the hostname,
 * and the removal of what differs from run to run (logs, caches, package lists).
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import type { PhaseLogger } from '../util/phases.js';
import { KEYRING_FILE, currentGeneration, repoDir, repoName } from '../repo/index.js';

/** Where kiln's repository is bound inside the root while apt runs (on a tmpfs: nothing is left behind). */
const REPO_MOUNT = '/run/kiln-repo';
/** The source, key and pin files the package layer adds for apt and removes afterwards (except the key). */
const SOURCE_FILE = 'etc/apt/sources.list.d/kiln-image.list';
const PIN_FILE = 'etc/apt/preferences.d/kiln-image.pref';
const KEY_FILE = 'etc/apt/keyrings/kiln-archive-keyring.gpg';

/** Files that change from run to run although nothing else does: removed before packing (as mmdebstrap does). */
const VOLATILE = [
  'var/log/dpkg.log',
  'var/log/alternatives.log',
  'var/log/apt/history.log',
  'var/log/apt/term.log',
  'var/log/apt/eipp.log.xz',
  'var/cache/ldconfig/aux-cache',
  'var/lib/dpkg/available',
  'var/cache/apt/pkgcache.bin',
  'var/cache/apt/srcpkgcache.bin',
  'var/lib/dpkg/status-old',
  'var/lib/dpkg/diversions-old',
  'var/lib/dpkg/statoverride-old',
  'var/cache/debconf/config.dat-old',
  'var/cache/debconf/templates.dat-old',
  'var/cache/debconf/passwords.dat-old',
];

/** The served generation folder of the repository of (jail, tree), or KILN_E_IMAGE saying how to make one. */
export function repoGeneration(home: string, jail: string, tree: string): string {
  const dir = repoDir(home, repoName(jail, tree));
  const gen = currentGeneration(dir);
  if (gen === null) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `there is no repository of jail ${jail} and tree ${tree} in ${path.join(home, 'repos')}`,
      {
        hint: `build the packages first: kiln bulk -j ${jail} -p ${tree} -f LIST`,
        exitCode: 1,
      },
    );
  }
  return fs.realpathSync(path.join(dir, 'current'));
}

/** Package names in the generation's `Packages` index for `arch` (and `all`, which is listed there too). */
export function repoPackages(gen: string, jail: string, arch: string): Set<string> {
  const file = path.join(gen, 'dists', jail, 'main', `binary-${arch}`, 'Packages');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    /* no index for that arch: nothing is there */
  }
  return new Set([...text.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]!));
}

/** Unpacks a base tarball into `root` (an empty folder), keeping owners, modes and extended attributes. */
export async function unpackBase(tarball: string, root: string): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  await run('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-xpf', tarball, '-C', root]);
}

/** What {@link installPackages} needs. */
export interface PackageLayer {
  /** The root folder (a copy of the base). */
  readonly root: string;
  /** The repository generation folder ({@link repoGeneration}). */
  readonly generation: string;
  /** The jail's name: the repository's suite. */
  readonly suite: string;
  /** Package names to install (kiln's; their dependencies follow). */
  readonly packages: readonly string[];
  readonly log: PhaseLogger;
  readonly signal?: AbortSignal;
}

/** Runs `argv` inside `root` as root through bubblewrap, with the repository bound at {@link REPO_MOUNT}. */
async function inRoot(
  root: string,
  generation: string,
  argv: readonly string[],
  log: PhaseLogger,
  signal?: AbortSignal,
): Promise<void> {
  const resolv = path.join(root, 'etc/resolv.conf');
  // The host's resolver for apt's downloads, bound over a regular (or briefly created) /etc/resolv.conf only.
  const st = fs.lstatSync(resolv, { throwIfNoEntry: false });
  const bindResolv = fs.existsSync('/etc/resolv.conf') && (st === undefined || st.isFile());
  const madeResolv = bindResolv && st === undefined;
  if (madeResolv) fs.writeFileSync(resolv, '');
  const bwrap = [
    '--bind',
    root,
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/run',
    '--ro-bind',
    generation,
    REPO_MOUNT,
    ...(bindResolv ? ['--ro-bind', '/etc/resolv.conf', '/etc/resolv.conf'] : []),
    '--cap-add',
    'ALL',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/sbin:/usr/bin:/sbin:/bin',
    '--setenv',
    'DEBIAN_FRONTEND',
    'noninteractive',
    '--setenv',
    'LC_ALL',
    'C.UTF-8',
    '--setenv',
    'HOME',
    '/root',
    '--',
    ...argv,
  ];
  let rest = '';
  try {
    await run('bwrap', bwrap, {
      signal,
      onOutput: (b) => {
        const p = (rest + b.toString()).split('\n');
        rest = p.pop()!;
        for (const l of p) log(l);
      },
    });
  } finally {
    if (madeResolv) fs.rmSync(resolv, { force: true });
  }
}

/**
 * Installs `packages` from kiln's repository into the root with apt: the repository's key, a `file:` source and a
 * pin (priority 1001 for origin kiln) are added, only that source is updated (Debian's lists come from the base),
 * then apt installs, and the source, pin, lists and caches are removed. The key stays in /etc/apt/keyrings.
 */
export async function installPackages(l: PackageLayer): Promise<void> {
  if (l.packages.length === 0) return;
  const key = path.join(l.generation, KEYRING_FILE);
  if (!fs.existsSync(key))
    throw new KilnError('KILN_E_IMAGE', `the repository generation ${l.generation} has no ${KEYRING_FILE}`, {
      exitCode: 1,
    });
  fs.mkdirSync(path.join(l.root, 'etc/apt/keyrings'), { recursive: true });
  fs.mkdirSync(path.join(l.root, 'etc/apt/preferences.d'), { recursive: true });
  fs.copyFileSync(key, path.join(l.root, KEY_FILE));
  fs.chmodSync(path.join(l.root, KEY_FILE), 0o644);
  fs.writeFileSync(path.join(l.root, SOURCE_FILE), `deb [signed-by=/${KEY_FILE}] file:${REPO_MOUNT} ${l.suite} main\n`);
  fs.writeFileSync(path.join(l.root, PIN_FILE), 'Package: *\nPin: release o=kiln\nPin-Priority: 1001\n');
  const script = [
    'set -e',
    `apt-get -q update -o Dir::Etc::SourceList=/${SOURCE_FILE} -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0`,
    `apt-get -q -y --no-install-recommends -o Dpkg::Options::=--force-confold install ${l.packages.map((p) => `'${p}'`).join(' ')}`,
    'apt-get clean',
  ].join('\n');
  try {
    await inRoot(l.root, l.generation, ['sh', '-c', script], l.log, l.signal);
  } catch (e) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `installing ${l.packages.join(', ')} into the image failed: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: "the log has apt's output; a system dependency must exist in the Debian release of the jail",
        exitCode: 1,
        cause: e,
      },
    );
  } finally {
    fs.rmSync(path.join(l.root, SOURCE_FILE), { force: true });
    fs.rmSync(path.join(l.root, PIN_FILE), { force: true });
  }
}

/** Copies the overlay folder on top of the root (files owned by root, modes and symlinks kept). */
export async function copyOverlay(overlay: string, root: string): Promise<void> {
  if (!fs.statSync(overlay, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KilnError('KILN_E_IMAGE', `--overlay ${overlay} is not a folder`, {
      hint: 'give a folder whose tree is copied onto the image root',
      exitCode: 2,
    });
  }
  await run('cp', [
    '-dR',
    '--preserve=mode,timestamps,links',
    '--no-preserve=ownership',
    '--',
    `${overlay}/.`,
    `${root}/`,
  ]);
}

/** Writes /etc/hostname and the `127.0.1.1` line of /etc/hosts. */
export function setHostname(root: string, hostname: string): void {
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(hostname)) {
    throw new KilnError('KILN_E_USAGE', `invalid --hostname "${hostname}"`, {
      hint: 'letters, digits and inner "-", at most 63',
      exitCode: 2,
    });
  }
  // Written, then chmod'ed: writeFileSync's mode applies only to a new file, and the base's may be 0755.
  fs.writeFileSync(path.join(root, 'etc/hostname'), `${hostname}\n`);
  fs.chmodSync(path.join(root, 'etc/hostname'), 0o644);
  const hostsFile = path.join(root, 'etc/hosts');
  const old = fs.existsSync(hostsFile) ? fs.readFileSync(hostsFile, 'utf8') : '127.0.0.1\tlocalhost\n';
  const lines = old.split('\n').filter((l) => l !== '' && !/^127\.0\.1\.1\s/.test(l));
  lines.splice(1, 0, `127.0.1.1\t${hostname}`);
  fs.writeFileSync(hostsFile, `${lines.join('\n')}\n`);
  fs.chmodSync(hostsFile, 0o644);
}

/** Removes run-to-run noise (logs, caches, apt lists, /tmp) so that the same inputs give the same bytes. */
export function removeVolatile(root: string): void {
  for (const f of VOLATILE) fs.rmSync(path.join(root, f), { force: true });
  for (const d of ['var/lib/apt/lists', 'tmp', 'var/tmp', 'var/cache/apt/archives/partial']) {
    const dir = path.join(root, d);
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names)
      if (n !== 'lock' && n !== 'partial') fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
}
