/**
 * The install test (piuparts-like): in a fresh sandbox of the jail, install the port's packages and what they depend
 * on with apt (kiln's own packages from a local index of the pair's package folder, pinned above the archive, the
 * rest from the jail's archive), check that every file `dpkg -L` lists exists, remove, purge, and report the files
 * left behind outside the places a package may leave things. Downloading runs with network (the trusted archive, as
 * the system-depends phase); installing, the maintainer scripts, removing and purging run without.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ExecError } from '../util/exec.js';
import {
  controlFromBytes,
  controlWithDpkg,
  controlValue,
  parseControl,
  renderPackages,
  type PackageEntry,
} from '../repo/index.js';
import {
  createSandbox,
  sharedAptCache,
  type BindMount,
  type JailRef,
  type Limits,
  type Sandbox,
} from '../sandbox/index.js';
import { APT_ENV, aptLine } from '../build/index.js';

/** What the install test found. */
export interface InstallResult {
  readonly ok: boolean;
  /** The packages tested, `NAME=VERSION`. */
  readonly packages: string[];
  /** Files `dpkg -L` lists that are not there after the install. */
  readonly missing: string[];
  /** Files left after the purge outside the allowed places, that no installed package owns. */
  readonly leftovers: string[];
  /** What failed (apt, a maintainer script, ...), when `ok` is false. */
  readonly reason?: string;
}

/** Places a purge may leave files in (apt's and dpkg's state, caches, logs, run-time folders). */
const ALLOWED =
  /^\/(var\/lib\/(apt|dpkg|ucf|systemd)|var\/cache|var\/log|etc\/apt|run|tmp|var\/tmp|root|kiln)(\/|$)|^\/etc\/ld\.so\.cache$/;

/** The allowed-places filter, for tests. */
export function allowedLeftover(p: string): boolean {
  return ALLOWED.test(p);
}

/** A Packages index of `debs` (paths relative to `root`), read on the host; `names` maps each to `NAME=VERSION`. */
export async function packagesIndex(
  root: string,
  debs: readonly string[],
): Promise<{ text: string; names: Map<string, string> }> {
  const entries: PackageEntry[] = [];
  const names = new Map<string, string>();
  for (const d of debs) {
    const buf = fs.readFileSync(d);
    let text: string | null = null;
    try {
      text = controlFromBytes(buf);
    } catch {
      continue;
    }
    text ??= await controlWithDpkg(d);
    const control = parseControl(text);
    names.set(d, `${controlValue(control, 'Package')}=${controlValue(control, 'Version')}`);
    entries.push({
      control,
      filename: path.relative(root, d),
      size: buf.length,
      md5: crypto.createHash('md5').update(buf).digest('hex'),
      sha256: crypto.createHash('sha256').update(buf).digest('hex'),
    });
  }
  return { text: `${renderPackages(entries)}\n`, names };
}

/**
 * Read-only binds of `debs` at `dest/NAME`: their folder when anyone may read it, else each file on its own (in the
 * sandbox's user namespace, root inside is nobody to the host, so a private folder such as a 0700 temporary one
 * would be closed to apt).
 */
export function debBinds(debs: readonly string[], dest: string): BindMount[] {
  const dirs = [...new Set(debs.map((d) => path.dirname(d)))];
  const open = (d: string): boolean => {
    try {
      return (fs.statSync(d).mode & 0o005) === 0o005;
    } catch {
      return false;
    }
  };
  if (dirs.length === 1 && open(dirs[0]!)) return [{ source: dirs[0]!, dest, readonly: true }];
  return debs.map((d) => ({ source: d, dest: `${dest}/${path.basename(d)}`, readonly: true }));
}

/** Options of {@link installTest}. */
export interface InstallTestOptions {
  readonly home: string;
  readonly jail: JailRef;
  /** The port's packages. */
  readonly debs: readonly string[];
  /** kiln's other packages of the pair (the package folder), for dependencies. */
  readonly repoDebs: readonly string[];
  readonly label: string;
  readonly log: (line: string) => void;
  readonly limits?: Limits;
  readonly signal?: AbortSignal;
}

/** Runs the install test in a fresh sandbox (torn down at the end). Never throws for a failing package. */
export async function installTest(o: InstallTestOptions): Promise<InstallResult> {
  const sb: Sandbox = await createSandbox({ home: o.home, jail: o.jail, label: `qa-${o.label}` });
  try {
    const own = o.debs.map((d) => path.resolve(d));
    const others = o.repoDebs.map((d) => path.resolve(d)).filter((d) => !own.includes(d) && d.endsWith('.deb'));
    // The index names files under /kiln/qa/new and /kiln/qa/repo, bound read-only from the host. /kiln and
    // /kiln/qa belong to the sandbox's root (its host id in the user namespace), so that bwrap, as that root, can
    // make the mount points, and the script can write its snapshots in /kiln.
    sb.mkdir('/kiln', 'root');
    const fsDir = sb.mkdir('/kiln/qa', 'root');
    const rel = (d: string): string => (own.includes(d) ? `new/${path.basename(d)}` : `repo/${path.basename(d)}`);
    const idx = await packagesIndex('/', [...own, ...others]);
    const text = idx.text.replace(/^Filename: (.*)$/gm, (_m, f: string) => `Filename: ${rel(`/${f}`)}`);
    fs.writeFileSync(path.join(fsDir, 'Packages'), text);
    const pkgs = own.map((d) => idx.names.get(d)!).filter(Boolean);
    const names = pkgs.map((p) => p.split('=')[0]!);
    fs.writeFileSync(sb.hostPath('/etc/apt/sources.list.d/kiln-qa.list'), 'deb [trusted=yes] file:/kiln/qa ./\n');
    fs.writeFileSync(
      sb.hostPath('/etc/apt/preferences.d/kiln-qa.pref'),
      'Package: *\nPin: origin ""\nPin-Priority: 990\n',
    );
    const binds = [...debBinds(own, '/kiln/qa/new'), ...debBinds(others, '/kiln/qa/repo')];
    // As a build's dependency phases: apt's cache is the sandbox's own layer over the shared one (new downloads are
    // promoted when the jail's index vouches for them).
    const aptCache = sharedAptCache(o.home);
    const lines: string[] = [];
    const sh = async (script: string, network: 'archive' | false): Promise<number> => {
      const r = await sb.run({
        argv: ['sh', '-ec', script],
        user: 'root',
        network,
        env: APT_ENV,
        binds,
        aptCache,
        allowFailure: true,
        signal: o.signal,
        ...(o.limits ? { limits: o.limits } : {}),
        onLine: (l, s) => {
          lines.push(l);
          o.log(`${s === 'stderr' ? '! ' : ''}${l}`);
        },
      });
      return r.status;
    };
    const snap = `find / -xdev -path /kiln -prune -o -print 2>/dev/null | LC_ALL=C sort`;
    const listUpdate = `apt-get update -q -o APT::Sandbox::User=root -o Acquire::Languages=none -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/kiln-qa.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0`;
    o.log(`install test of ${pkgs.join(' ')}`);
    // Downloading reaches only the jail's archives (the proxy); installing and the maintainer scripts have no network.
    if ((await sh(`${listUpdate}\n${aptLine('download', 'install', pkgs)}`, 'archive')) !== 0) {
      return {
        ok: false,
        packages: pkgs,
        missing: [],
        leftovers: [],
        reason: `apt cannot install ${pkgs.join(' ')}: ${aptError(lines)}`,
      };
    }
    lines.length = 0;
    const status = await sh(
      [
        `${snap} > /kiln/qa-before`,
        `echo '>>> install'`,
        aptLine('install', 'install', pkgs),
        `echo '>>> files'`,
        `for p in ${names.join(' ')}; do dpkg -L "$p" | while IFS= read -r f; do [ -e "$f" ] || [ -L "$f" ] || echo "kiln-qa: missing: $f"; done; done`,
        `echo '>>> remove'`,
        `dpkg --remove ${names.join(' ')}`,
        `echo '>>> purge'`,
        `dpkg --purge ${names.join(' ')}`,
        `cat /var/lib/dpkg/info/*.list | LC_ALL=C sort -u > /kiln/qa-owned`,
        `${snap} > /kiln/qa-after`,
        `LC_ALL=C comm -13 /kiln/qa-before /kiln/qa-after | LC_ALL=C comm -23 - /kiln/qa-owned | sed 's/^/kiln-qa: left: /'`,
      ].join('\n'),
      false,
    );
    const missing = lines
      .filter((l) => l.startsWith('kiln-qa: missing: '))
      .map((l) => l.slice('kiln-qa: missing: '.length));
    const leftovers = lines
      .filter((l) => l.startsWith('kiln-qa: left: '))
      .map((l) => l.slice('kiln-qa: left: '.length))
      .filter((p) => !allowedLeftover(p));
    if (status !== 0) {
      const stage =
        [...lines]
          .reverse()
          .find((l) => l.startsWith('>>> '))
          ?.slice(4) ?? 'install';
      return {
        ok: false,
        packages: pkgs,
        missing,
        leftovers,
        reason: `the ${stage} step failed (exit status ${status}): ${aptError(lines)}`,
      };
    }
    return {
      ok: missing.length === 0,
      packages: pkgs,
      missing,
      leftovers,
      ...(missing.length > 0
        ? { reason: `${missing.length} file(s) dpkg -L lists are missing: ${missing.slice(0, 3).join(', ')}` }
        : {}),
    };
  } catch (e) {
    if (e instanceof ExecError && e.reason === 'aborted') throw e;
    return {
      ok: false,
      packages: [],
      missing: [],
      leftovers: [],
      reason: e instanceof Error ? e.message.split('\n')[0]! : String(e),
    };
  } finally {
    await sb.teardown();
  }
}

/** The line that says why apt or dpkg failed (`E: ...`, `dpkg: error ...`, a maintainer script's complaint). */
export function aptError(lines: readonly string[]): string {
  const rev = [...lines].reverse();
  // Most telling first: a maintainer script's failure, then dpkg's, then apt's own E: line.
  for (const re of [/script (subprocess )?returned error exit status/, /^dpkg: error/, /^E: /]) {
    const hit = rev.find((l) => re.test(l));
    if (hit !== undefined) return hit.trim();
  }
  return lines.at(-1) ?? 'no output';
}
