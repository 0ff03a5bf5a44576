/**
 * The `package` phase of a recipe build: the finishing script (strip into debug files, compress manuals, fix
 * permissions, clamp times) run by the build user inside the sandbox, then the binary packages made on the host
 * from the finished tree (src/package: split, metadata, shlibs, `-dbgsym`).
 */
import fs from 'node:fs';
import { KilnError } from '../util/errors.js';
import { maintainerOf } from '../config/index.js';
import { sandboxIds, type BindMount, type SandboxCommand, type SandboxSession } from '../sandbox/index.js';
import { dpkgSonameResolver, finishScript, packagePort, type PortPackages } from '../package/index.js';
import type { BuildPortInput } from './build.js';
import { SANDBOX_PATHS } from './script.js';

/** Where the finishing script keeps the detached debug files, and where the per-package roots are made. */
const DBG_DIR = '/kiln/dbgsym';
const PKG_DIR = '/kiln/pkg';

/** The Maintainer when the bulk passes none. */

/** What the package phase needs from the build. */
export interface PackagePhaseInput {
  readonly inp: BuildPortInput;
  readonly sb: SandboxSession;
  readonly sbRun: (cmd: SandboxCommand) => Promise<void>;
  /** The build's environment (SOURCE_DATE_EPOCH among it). */
  readonly env: Readonly<Record<string, string>>;
  readonly binds: readonly BindMount[];
  readonly log: (line: string) => void;
}

/** Runs the package phase; returns the `.deb`s to publish and the `-dbgsym` ones. */
export async function packagePhase(o: PackagePhaseInput): Promise<PortPackages> {
  const { inp, sb } = o;
  const r = inp.port.recipe;
  const destdir = sb.hostPath(SANDBOX_PATHS.destdir);
  if (fs.readdirSync(destdir).length === 0) {
    throw new KilnError('KILN_E_PACKAGE', `the install step put nothing in DESTDIR for ${inp.port.origin}`, {
      hint: 'the build must install into "$DESTDIR" (see build.system in the port spec)',
      exitCode: 1,
    });
  }
  // Made by root before the script runs: the build user cannot write /kiln itself, so neither can exist yet.
  const dbg = sb.hostPath(DBG_DIR);
  fs.mkdirSync(dbg, { mode: 0o755 });
  const ids = sandboxIds(sb); // the build user's host id (a user namespace maps it)
  fs.chownSync(dbg, ids.build, ids.build);
  await o.sbRun({
    argv: ['sh', '-ec', finishScript({ destdir: SANDBOX_PATHS.destdir, dbgdir: DBG_DIR })],
    user: 'build',
    network: false,
    env: { ...o.env, SOURCE_DATE_EPOCH: String(inp.sourceDateEpoch) },
    cwd: SANDBOX_PATHS.src,
    binds: [...o.binds],
  });
  const work = sb.hostPath(PKG_DIR);
  fs.mkdirSync(work, { mode: 0o755 });
  const version = `${r.version}-k${r.revision}`;
  const scripts = Object.fromEntries(
    (['preinst', 'postinst', 'prerm', 'postrm'] as const)
      .filter((k) => r.install[k] !== undefined)
      .map((k) => [k, r.install[k]!]),
  );
  return packagePort({
    origin: inp.port.origin,
    name: inp.port.pkgname,
    version,
    arch: r.arch === 'all' ? 'all' : inp.jail.arch,
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    ...(r.homepage ? { homepage: r.homepage } : {}),
    ...(r.license ? { license: r.license } : {}),
    ...(r.section ? { section: r.section } : {}),
    ...(r.packages ? { packages: r.packages } : {}),
    maintainer: inp.maintainer ?? maintainerOf(undefined),
    identity: inp.identity,
    epoch: inp.sourceDateEpoch,
    destdir,
    srcDir: sb.hostPath(SANDBOX_PATHS.src),
    dbgDir: dbg,
    workDir: work,
    outDir: inp.outDir,
    kilnRun: inp.kilnRun,
    systemRun: r.depends.system_run,
    ...(inp.kilnSonames ? { kilnSonames: inp.kilnSonames } : {}),
    resolver: dpkgSonameResolver(sb.hostPath('/')),
    conffiles: r.install.conffiles,
    scripts,
    // The dist master checks a worker's .debs by this field (src/dist); it is the one field of kiln's own left.
    extra: { 'X-Kiln-Identity': inp.identity },
    log: o.log,
    ...(inp.signal ? { signal: inp.signal } : {}),
    // Symbol versions are upstream versions, as Debian's are (lintian: no Debian revision in a symbols file).
    symbols: (pkg) => gensymbols(o, pkg, r.version),
  });
}

/** Largest `symbols` file kept (a library exporting tens of thousands of symbols stays under it). */
const MAX_SYMBOLS_BYTES = 8 * 1024 * 1024;

/**
 * `dpkg-gensymbols` (dpkg-dev, in every build jail) on a split package's root, as the build user in the sandbox:
 * the ELF files it reads are the build's. Its output (stdout) becomes the package's `symbols` file; a failure or an
 * oversized output only means no symbols file (the `shlibs` file still serves dpkg-shlibdeps).
 */
async function gensymbols(o: PackagePhaseInput, pkg: string, upstream: string): Promise<string | undefined> {
  // dpkg ≥ 1.22 (trixie) reads debian/control: a minimal one in a fresh folder of the sandbox (never host-written).
  const script =
    'd=$(mktemp -d) && mkdir "$d/debian" && printf "Source: %s\\n\\nPackage: %s\\nArchitecture: any\\n" "$1" "$1" >"$d/debian/control"' +
    ' && cd "$d" && exec dpkg-gensymbols "-p$1" "-P$2" "-v$3" -O -q';
  const res = await o.sb.run({
    argv: ['sh', '-c', script, 'gensymbols', pkg, `${PKG_DIR}/${pkg}`, upstream],
    user: 'build',
    network: false,
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8', TMPDIR: '/tmp' },
    cwd: '/kiln/home',
    allowFailure: true,
    limits: o.inp.limits,
    ...(o.inp.signal ? { signal: o.inp.signal } : {}),
  });
  if (res.status !== 0 || res.stdout.length > MAX_SYMBOLS_BYTES || !/^\S+ \S/.test(res.stdout)) {
    o.log(
      `${pkg}: no symbols file (dpkg-gensymbols exit status ${res.status}${res.stderr ? `: ${res.stderr.split('\n')[0]}` : ''})`,
    );
    return undefined;
  }
  return res.stdout;
}
