/**
 * Jails: Debian roots made with mmdebstrap (variant buildd) under `HOME/jails/NAME/root`, with the build user
 * and a manifest of installed packages whose hash, with release and arch, is the jail's identity.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { PhaseFailure, Procedure, type PhaseLogger } from '../util/phases.js';
import { availableSuites, hostMirror, hostSecurityMirror, resolveRelease } from '../debian/index.js';
import { JAIL_SOURCES, jailSourcesText, jailSuites, writeJailSources } from './sources.js';
import type { JailRecord, Store } from '../store/index.js';
import { BUILD_USER, bwrapArgv, overlaysOver, removeTree } from '../sandbox/index.js';
import { dropJailLayers } from '../layers/index.js';
import { checkArch } from './arch.js';
import { DPKG_QUERY_FORMAT, diffManifests, jailIdentity, parseDpkgQuery, sha256 } from './manifest.js';

/** Where a jail's files are. */
export interface JailPaths {
  /** `HOME/jails/NAME` */
  readonly dir: string;
  /** `HOME/jails/NAME/root`: the Debian root. */
  readonly root: string;
  /** `HOME/jails/NAME/manifest.txt`: `package=version` lines, sorted. */
  readonly manifest: string;
}

/** The paths of jail `name` in `home`. */
export function jailPaths(home: string, name: string): JailPaths {
  const dir = path.join(path.resolve(home), 'jails', name);
  return { dir, root: path.join(dir, 'root'), manifest: path.join(dir, 'manifest.txt') };
}

/** What {@link createJail} makes. */
export interface CreateJailOptions {
  readonly home: string;
  readonly store: Store;
  readonly name: string;
  /**
   * Debian release: a codename (`trixie`, `forky`, `sid`) or a suite (`stable`, `testing`); default: the codename the
   * mirror's `stable` names at creation. The jail records the codename.
   */
  readonly release?: string;
  /** Debian architecture (default amd64). */
  readonly arch?: string;
  /** Archive URL; default: the host's apt sources ({@link hostMirror}). */
  readonly mirror?: string;
  /** Security archive URL; default: the host's apt sources ({@link hostSecurityMirror}). */
  readonly securityMirror?: string;
  /** `REL-updates` and `REL-security` besides `REL` (default true); false makes a frozen jail of the release alone. */
  readonly updates?: boolean;
  /** Extra Debian packages to install. */
  readonly include?: readonly string[];
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new KilnError('KILN_E_USAGE', `invalid jail name "${name}"`, {
      hint: 'use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit (at most 63)',
      exitCode: 2,
    });
  }
}

/** Reads the manifest of a root from its dpkg database (no program of the jail runs, so any arch works). */
async function readManifest(root: string): Promise<string> {
  const r = await run('dpkg-query', [`--admindir=${path.join(root, 'var/lib/dpkg')}`, '-W', '-f', DPKG_QUERY_FORMAT]);
  const m = parseDpkgQuery(r.stdout);
  if (m === '') throw new KilnError('KILN_E_JAIL_CREATE', `no packages are installed in ${root}`, { exitCode: 1 });
  return m;
}

/** Adds the build user and group with fixed ids by editing the account files (runs nothing inside the root). */
function addBuildUser(root: string): void {
  const u = BUILD_USER;
  const add = (file: string, line: string, key: string): void => {
    const f = path.join(root, 'etc', file);
    const text = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
    if (text.split('\n').some((l) => l.startsWith(`${key}:`))) return;
    fs.writeFileSync(f, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`);
  };
  add('group', `${u.name}:x:${u.gid}:`, u.name);
  add('gshadow', `${u.name}:!::`, u.name);
  add('passwd', `${u.name}:x:${u.uid}:${u.gid}:kiln build user:${u.home}:/bin/sh`, u.name);
  add('shadow', `${u.name}:!:19000:0:99999:7:::`, u.name);
  const home = path.join(root, u.home);
  fs.mkdirSync(home, { recursive: true });
  fs.chownSync(home, u.uid, u.gid);
}

/** True when `pid` runs (a zombie does not count). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Removes leftovers of creations of jail `name` whose process died (`HOME/jails/.NAME.tmp-PID`), unmounting what
 * a killed mmdebstrap left mounted in them; with `all`, every leftover (the caller holds a lock that excludes
 * other creators).
 */
export async function removeStaleTemps(home: string, name: string, all = false): Promise<void> {
  const jails = path.join(home, 'jails');
  let names: string[] = [];
  try {
    names = fs.readdirSync(jails);
  } catch {
    return;
  }
  for (const n of names) {
    const m = new RegExp(`^\\.${name.replace(/\./g, '\\.')}\\.tmp-(\\d+)$`).exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (all || pid === process.pid || !running(pid)) await removeTree(path.join(jails, n));
  }
}

/**
 * Turns a {@link PhaseFailure} into a KilnError that names the phase and keeps the cause's code and hint (a
 * non-kiln cause becomes KILN_E_JAIL_CREATE), so the CLI prints it as one clear line.
 */
function phaseError(doing: string, e: unknown): unknown {
  if (!(e instanceof PhaseFailure)) return e;
  const c = e.cause;
  const msg = c instanceof Error ? c.message : String(c);
  return c instanceof KilnError
    ? new KilnError(c.code, `${doing} failed in phase ${e.phase}: ${msg}`, {
        hint: c.hint,
        exitCode: c.exitCode,
        cause: c,
      })
    : new KilnError('KILN_E_JAIL_CREATE', `${doing} failed in phase ${e.phase}: ${msg}`, { exitCode: 1, cause: c });
}

/** Turns a failure of a phase's child process into KILN_E_JAIL_CREATE with what to check. */
function createError(what: string, e: unknown): KilnError {
  if (e instanceof KilnError && e.code !== 'KILN_E_EXEC') return e;
  return new KilnError('KILN_E_JAIL_CREATE', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
    hint: "check the mirror in the host's apt sources (or --mirror), the network and free disk space; the log above has mmdebstrap's output",
    exitCode: 1,
    cause: e,
  });
}

/**
 * Creates jail `name` with mmdebstrap (variant buildd) through a temporary folder renamed when complete, so a
 * failed create leaves nothing half-made; adds the build user; writes the manifest; records it in the store.
 */
export async function createJail(opts: CreateJailOptions, log: PhaseLogger): Promise<JailRecord> {
  const arch = opts.arch ?? 'amd64';
  const include = [...(opts.include ?? [])].sort();
  const proc = new Procedure(log);
  const paths = jailPaths(opts.home, opts.name);
  const tmp = path.join(opts.home, 'jails', `.${opts.name}.tmp-${process.pid}`);
  try {
    const { mirror, release, suites } = await proc.phase('check', async () => {
      checkName(opts.name);
      if (opts.store.getJail(opts.name) || fs.existsSync(paths.dir)) {
        throw new KilnError('KILN_E_JAIL_EXISTS', `jail ${opts.name} exists already`, {
          hint: `use \`kiln jail update ${opts.name}\`, or \`kiln jail delete ${opts.name}\` first`,
          exitCode: 2,
        });
      }
      for (const p of include) {
        if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p))
          throw new KilnError('KILN_E_USAGE', `invalid package name "${p}" in --include`, { exitCode: 2 });
      }
      await checkArch(arch);
      await removeStaleTemps(opts.home, opts.name);
      const m = hostMirror(opts.mirror);
      const codename = await resolveRelease(m, opts.release);
      const ss = await availableSuites({
        mirror: m,
        security: hostSecurityMirror(opts.securityMirror),
        codename,
        updates: opts.updates ?? true,
        log,
      });
      log(
        `release ${codename}${opts.release === undefined ? " (the mirror's stable)" : ''}; suites ${ss.map((x) => x.suite).join(', ')}`,
      );
      return { mirror: m, release: codename, suites: ss };
    });
    proc.defer('remove temporary jail folder', () => removeTree(tmp));
    await proc.phase('mmdebstrap', async () => {
      fs.mkdirSync(tmp, { recursive: true });
      const args = [
        '--variant=buildd',
        `--architectures=${arch}`,
        '--skip=cleanup/apt/lists',
        '--format=directory',
        ...(include.length ? [`--include=${include.join(',')}`] : []),
        release,
        path.join(tmp, 'root'),
        ...suites.map((x) => `deb ${x.url} ${x.suite} main`),
      ];
      log(`mmdebstrap ${args.join(' ')}`);
      let rest = '';
      try {
        // If kiln dies, mmdebstrap dies too (it runs in its own process group, so nothing else would stop it).
        await run('setpriv', ['--pdeathsig', 'KILL', '--', 'mmdebstrap', ...args], {
          onOutput: (b) => {
            const parts = (rest + b.toString()).split('\n');
            rest = parts.pop()!;
            for (const l of parts) log(l);
          },
        });
      } catch (e) {
        throw createError('mmdebstrap failed', e);
      }
    });
    await proc.phase('sources', () => {
      writeJailSources(path.join(tmp, 'root'), suites);
      log(jailSourcesText(path.join(tmp, 'root'), suites));
    });
    await proc.phase('build-user', () => addBuildUser(path.join(tmp, 'root')));
    await proc.phase('apt-cache', () => aptGencaches(path.join(tmp, 'root'), log));
    const manifest = await proc.phase('manifest', async () => {
      const m = await readManifest(path.join(tmp, 'root'));
      fs.writeFileSync(path.join(tmp, 'manifest.txt'), m);
      log(`${m.split('\n').length - 1} packages`);
      return m;
    });
    await proc.phase('install', () => {
      if (fs.existsSync(paths.dir))
        throw new KilnError('KILN_E_JAIL_EXISTS', `jail ${opts.name} appeared while it was being made`, {
          exitCode: 1,
        });
      fs.renameSync(tmp, paths.dir);
    });
    return await proc.phase('record', () =>
      opts.store.putJail({
        name: opts.name,
        release,
        arch,
        mirror,
        path: paths.root,
        identity: jailIdentity(release, arch, manifest),
        manifestHash: sha256(manifest),
      }),
    );
  } catch (e) {
    throw phaseError(`creating jail ${opts.name}`, e);
  } finally {
    await proc.close();
  }
}

/** A registered jail, or KILN_E_JAIL_NOT_FOUND. */
export function getJail(store: Store, name: string): JailRecord {
  const j = store.getJail(name);
  if (!j)
    throw new KilnError('KILN_E_JAIL_NOT_FOUND', `no jail named ${name}`, {
      hint: 'see `kiln jail list`',
      exitCode: 2,
    });
  return j;
}

/** Throws KILN_E_JAIL_BUSY when a sandbox overlay is mounted over the jail's root. */
function refuseIfBusy(j: JailRecord, doing: string): void {
  const busy = overlaysOver(j.path);
  if (busy.length > 0) {
    throw new KilnError(
      'KILN_E_JAIL_BUSY',
      `cannot ${doing} jail ${j.name}: ${busy.length} sandbox(es) are mounted over it (${busy.map((m) => m.target).join(', ')})`,
      {
        hint: 'wait for the running builds to end; if none runs, `kiln bulk --resume` removes leaked sandboxes',
        exitCode: 1,
      },
    );
  }
}

/** What {@link updateJail} did. */
export interface UpdateJailResult {
  readonly record: JailRecord;
  /** The package set changed (so the identity changed and dependents rebuild). */
  readonly changed: boolean;
  /** Per-package changes (`pkg: old -> new`, `+pkg=v`, `-pkg=v`). */
  readonly changes: readonly string[];
}

/**
 * `apt-get update` and `upgrade` inside the jail root (bubblewrap, root, network) from its suites (a jail made
 * before kiln wrote them gets `REL-updates` and `REL-security` first), then recomputes manifest and identity.
 * Refuses while a sandbox is mounted over the jail.
 */
export async function updateJail(
  opts: { home: string; store: Store; name: string },
  log: PhaseLogger,
): Promise<UpdateJailResult> {
  const proc = new Procedure(log);
  try {
    const j = await proc.phase('check', () => {
      const found = getJail(opts.store, opts.name);
      refuseIfBusy(found, 'update');
      return found;
    });
    const before = fs.existsSync(jailPaths(opts.home, j.name).manifest)
      ? fs.readFileSync(jailPaths(opts.home, j.name).manifest, 'utf8')
      : await readManifest(j.path);
    await proc.phase('sources', async () => {
      // A jail made before kiln wrote suites (one `REL main` line) gets REL, REL-updates and REL-security now.
      if (fs.existsSync(path.join(j.path, JAIL_SOURCES))) {
        log(`suites: ${jailSuites(j.path).join(', ')}`);
        return;
      }
      const suites = await availableSuites({
        mirror: j.mirror,
        security: hostSecurityMirror(),
        codename: j.release,
        log,
      });
      writeJailSources(j.path, suites);
      log(`suites added: ${suites.map((x) => x.suite).join(', ')}`);
    });
    await proc.phase('upgrade', async () => {
      const script = `apt-get update && apt-get -y -o Dpkg::Options::=--force-confold upgrade && apt-get clean && ${GENCACHES}`;
      const argv = bwrapArgv({
        root: j.path,
        user: { kind: 'root' },
        network: true,
        argv: ['sh', '-ec', script],
        env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' },
      });
      let rest = '';
      try {
        await run('bwrap', argv, {
          onOutput: (b) => {
            const p = (rest + b.toString()).split('\n');
            rest = p.pop()!;
            for (const l of p) log(l);
          },
        });
      } catch (e) {
        throw createError('upgrading the jail failed', e);
      }
    });
    const after = await proc.phase('manifest', async () => {
      const m = await readManifest(j.path);
      fs.writeFileSync(jailPaths(opts.home, j.name).manifest, m);
      return m;
    });
    const changes = diffManifests(before, after);
    for (const c of changes) log(c);
    const record = await proc.phase('record', () =>
      opts.store.putJail({
        name: j.name,
        release: j.release,
        arch: j.arch,
        mirror: j.mirror,
        path: j.path,
        identity: jailIdentity(j.release, j.arch, after),
        manifestHash: sha256(after),
      }),
    );
    if (record.identity !== j.identity) {
      // Layers belong to one state of the jail: the old ones can never be used again.
      const bytes = await dropJailLayers(opts.home, j.name);
      if (bytes > 0) log(`dependency layers of the jail's previous state removed (${Math.round(bytes / 1048576)} MiB)`);
    }
    return { record, changed: record.identity !== j.identity, changes };
  } catch (e) {
    throw phaseError(`updating jail ${opts.name}`, e);
  } finally {
    await proc.close();
  }
}

/** Every registered jail, by name. */
export function listJails(store: Store): JailRecord[] {
  return store.listJails();
}

/** Deletes jail `name` (its folder and its record). Refuses while a sandbox over it is mounted. */
export async function deleteJail(opts: { home: string; store: Store; name: string }): Promise<void> {
  const j = getJail(opts.store, opts.name);
  refuseIfBusy(j, 'delete');
  const paths = jailPaths(opts.home, j.name);
  if (path.resolve(j.path) !== paths.root) {
    throw new KilnError(
      'KILN_E_JAIL_CREATE',
      `jail ${j.name} is recorded at ${j.path}, not in this home (${paths.root}); not deleting it`,
      {
        hint: 'use the --home the jail was created with',
        exitCode: 1,
      },
    );
  }
  await removeTree(paths.dir);
  await dropJailLayers(opts.home, j.name);
  opts.store.deleteJail(j.name);
}

/** The manifest text of a jail (`package=version` lines). */
export function jailManifest(home: string, name: string): string {
  return fs.readFileSync(jailPaths(home, name).manifest, 'utf8');
}

/** apt's binary caches of the jail's lists and dpkg status, kept in the jail (see {@link aptGencaches}). */
const GENCACHES = 'apt-cache gencaches';

/**
 * Writes apt's `pkgcache.bin`/`srcpkgcache.bin` into the jail (`apt-cache gencaches`, no network), so that each apt
 * run in a sandbox maps them instead of parsing ~50 MB of lists again: the split dependency install runs apt twice
 * per build. They sit in the read-only lower layer; a sandbox that installs packages rebuilds its own in its layer.
 */
async function aptGencaches(root: string, log: (line: string) => void): Promise<void> {
  const argv = bwrapArgv({
    root,
    user: { kind: 'root' },
    network: false,
    argv: ['sh', '-ec', GENCACHES],
    env: { LC_ALL: 'C.UTF-8' },
  });
  try {
    await run('bwrap', argv);
    log('apt caches written (pkgcache.bin, srcpkgcache.bin)');
  } catch (e) {
    throw createError('apt-cache gencaches failed in the new jail', e);
  }
}
