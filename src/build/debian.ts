/**
 * The build of a Debian source package (`build.system: debian`): fetch the `.dsc` and its files from the archive's
 * pool (sha256-checked, cached with the distfiles) → sandbox → `extract` (`dpkg-source -x`) → `patch` (the overlay's
 * patches) → `version` (kiln's changelog entry: `+kilnN`, signed by kiln.yaml's `maintainer`) → `build-depends`
 * (apt, from the jail's archive and kiln's own `.deb`s, kiln's preferred) → `build` (`dpkg-buildpackage -b -uc -us`,
 * no network) → `package` (every `.deb` the `.changes` names, into the output folder; with `debug_symbols`, the
 * `-dbgsym` packages into its `dbgsym/` folder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { ExecError } from '../util/exec.js';
import { loadConfig, maintainerOf } from '../config/index.js';
import type { Procedure } from '../util/phases.js';
import type { DebianPortSource } from '../recipe/index.js';
import { fetchDistfiles } from '../fetch/index.js';
import { buildDependNames, debianKilnVersion, hostMirror, upstreamVersion } from '../debian/index.js';
import {
  BwrapRunner,
  resolveInside,
  sandboxIds,
  type BindMount,
  type SandboxCommand,
  type SandboxResult,
  type SandboxSession,
} from '../sandbox/index.js';
import { aptLine, aptOptions, installDepends, type AptStep } from './install.js';
import { shq } from './script.js';
import {
  aptComplaint,
  changesDdebs,
  changesDebs,
  debBuildWords,
  kilnChangelog,
  rulesNeedNoRoot,
} from './debian-text.js';
import type { BuildPortInput } from './build.js';
import { debianLayerRequest, dependencyLayer, satisfiedByLayer } from './layer-phase.js';
import { layerStack, readInstalled } from '../layers/index.js';
import { ccacheBind, systemWithCcache } from './ccache-bind.js';
import { debPackageName } from './deps.js';
import { debianCcacheEnv, DEBIAN_CONFIGURE_SUBDIR, pruneConfigureCaches, writeConfigSite } from './debian-cache.js';

/** What `buildPort` lends the debian procedure: its phase runner, log and sandbox command runner. */
export interface DebianBuildContext {
  readonly inp: BuildPortInput;
  readonly proc: Procedure;
  /** Runs one named phase (logged, timed, told to `onPhase`). */
  readonly phase: <T>(name: string, fn: () => Promise<T> | T) => Promise<T>;
  readonly log: (line: string) => void;
  /** Runs a command in the sandbox under the build's limits, logging its output and counting its CPU time. */
  readonly run: (sb: SandboxSession, cmd: SandboxCommand) => Promise<SandboxResult>;
}

/** Inside the sandbox: the source files (read-only), the build folder, kiln's `.deb`s as an apt source. */
const DSC_DIR = '/kiln/distfiles';
const BUILD_DIR = '/kiln/src';
const DEBS_DIR = '/kiln/debs';

/** The `.deb` version of a debian port: the archive's version, then `+kilnREVISION`. */
export function debianPortVersion(debian: Pick<DebianPortSource, 'version'>, revision: number): string {
  return debianKilnVersion(debian.version, revision);
}

/** The folder of `outDir` that holds a Debian rebuild's `-dbgsym` packages (for the repository's debug suite). */
export const DBGSYM_DIR = 'dbgsym';

/** The URL of a pool file: `directory` is relative to the mirror, or absolute (a suite of another archive: security). */
export function poolFileUrl(mirror: string, directory: string, name: string): string {
  return /^https?:\/\//.test(directory) ? `${directory}/${name}` : `${mirror.replace(/\/+$/, '')}/${directory}/${name}`;
}

/** What a Debian rebuild made: its `.deb`s, and its `-dbgsym` packages (only with kiln.yaml `debug_symbols: true`). */
export interface DebianBuildOutput {
  /** `.deb`s (and `.udeb`s) in `outDir`. */
  readonly debs: string[];
  /** `-dbgsym` packages in `outDir/dbgsym/`, each `NAME-dbgsym_VERSION_ARCH.deb` (an Ubuntu-style `.ddeb` renamed). */
  readonly dbgsym: string[];
}

/** Runs the debian phases of one build; returns what it wrote to `outDir`. Throws on failure (as PhaseFailure). */
export async function buildDebianSource(ctx: DebianBuildContext): Promise<DebianBuildOutput> {
  const { inp, phase, log } = ctx;
  const cfg = loadConfig(inp.home);
  const r = inp.port.recipe;
  const origin = inp.port.origin;
  const deb = inp.port.debian;
  const version = deb ? debianPortVersion(deb, r.revision) : '';
  const files = await phase('fetch', () => {
    if (!deb) {
      throw new KilnError('KILN_E_BUILD', `${origin} has build.system: debian but no Debian source package`, {
        hint: "a build.system: debian port must stand over a source package of the tree's archive (same SECTION/SOURCE origin)",
        exitCode: 1,
      });
    }
    const mirror = (inp.debianMirror ?? hostMirror()).replace(/\/+$/, '');
    return fetchDistfiles(
      {
        origin,
        sources: deb.files.map((f) => ({
          url: poolFileUrl(mirror, deb.directory, f.name),
          sha256: f.sha256,
          filename: f.name,
        })),
      },
      {
        home: inp.home,
        debianMirror: mirror,
        release: inp.jail.release,
        log,
        ...(inp.deadHosts ? { deadHosts: inp.deadHosts } : {}),
      },
    );
  });
  const src = deb!;
  const dsc =
    src.files.find((f) => f.name.endsWith('.dsc'))?.name ?? `${src.package}_${src.version.replace(/^\d+:/, '')}.dsc`;
  const srcDir = `${BUILD_DIR}/${src.package}-${upstreamVersion(src.version)}`;

  // DEB_BUILD_OPTIONS and profiles: the layer's apt, the build-depends check and the build all take them.
  const words = debBuildWords({
    recipe: r,
    options: inp.options,
    jobs: inp.jobs,
    withTests: inp.withTests ?? false,
    debugSymbols: cfg.debug_symbols,
  });
  // ccache comes with the build dependencies unless the jail has it (`kiln jail create --include ccache`: faster).
  const system = systemWithCcache(r.depends.system, inp.ccache !== undefined, inp.jail.path);
  // The archive's Build-Depends as a dependency layer; kiln's own .debs (preferred) go on top per build.
  const dscFile = files.find((f) => f.filename === dsc);
  const layer =
    inp.layers && dscFile
      ? await phase('layer', () =>
          dependencyLayer(
            { inp, log, run: ctx.run },
            debianLayerRequest({
              dscPath: `${DSC_DIR}/${dsc}`,
              dscSource: dscFile.path,
              dscSha256: src.files.find((f) => f.name === dsc)?.sha256 ?? '',
              profiles: words.profiles,
              system,
              needs: buildDependNames(
                [src.buildDepends, src.buildDependsArch, src.buildDependsIndep],
                inp.jail.arch,
                new Set(inp.withTests ? [] : ['nocheck']),
              ),
            }),
          ),
        )
      : undefined;
  const sb = await phase('sandbox', async () => {
    const runner = inp.runner ?? new BwrapRunner(inp.home);
    const s = await runner.open({
      jail: { name: inp.jail.name, path: inp.jail.path },
      label: origin,
      proc: ctx.proc,
      limits: inp.limits,
      ...(layer ? { layers: layerStack(layer) } : {}),
    });
    const ids = sandboxIds(s);
    for (const d of [BUILD_DIR, '/kiln/home']) {
      fs.mkdirSync(s.hostPath(d), { recursive: true });
      fs.chownSync(s.hostPath(d), ids.build, ids.build);
    }
    fs.mkdirSync(s.hostPath(DSC_DIR), { recursive: true });
    fs.mkdirSync(s.hostPath('/kiln/port'), { recursive: true });
    // root's inside: the build-depends step writes its Packages index there.
    fs.mkdirSync(s.hostPath(DEBS_DIR), { recursive: true });
    fs.chownSync(s.hostPath(DEBS_DIR), ids.root, ids.root);
    for (const f of files) fs.writeFileSync(s.hostPath(`${DSC_DIR}/${f.filename}`), '');
    for (const d of new Set(inp.depDebs.map((x) => path.basename(x))))
      fs.writeFileSync(s.hostPath(`${DEBS_DIR}/${d}`), '');
    if (inp.ccache) writeConfigSite((inside) => s.hostPath(inside));
    return s;
  });
  const srcBinds: BindMount[] = files.map((f) => ({
    source: f.path,
    dest: `${DSC_DIR}/${f.filename}`,
    readonly: true,
  }));
  const buildEnvBase = {
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: '/kiln/home',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
  };

  await phase('extract', () =>
    ctx.run(sb, {
      argv: ['dpkg-source', '--no-copy', '-x', `${DSC_DIR}/${dsc}`, srcDir],
      user: 'build',
      network: false,
      env: buildEnvBase,
      cwd: BUILD_DIR,
      binds: srcBinds,
    }),
  );

  await phase('patch', async () => {
    if (r.patches.length === 0) {
      log('no patches');
      return;
    }
    for (const p of r.patches) {
      const res = await ctx.run(sb, {
        argv: ['sh', '-ec', `patch -p1 --forward --batch --no-backup-if-mismatch < /kiln/port/${shq(p)}`],
        user: 'build',
        network: false,
        env: buildEnvBase,
        cwd: srcDir,
        binds: [{ source: inp.port.dir, dest: '/kiln/port', readonly: true }],
        allowFailure: true,
      });
      if (res.status !== 0) {
        const why = `${res.stdout}\n${res.stderr}`
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /FAILED|malformed|No such file|can't find|Reversed/i.test(l))[0];
        throw new KilnError(
          'KILN_E_BUILD',
          `patch ${p} of ${origin} does not apply to ${src.package} ${src.version}${why ? `: ${why}` : ` (exit status ${res.status})`}`,
          {
            hint: `refresh ${path.join(inp.port.dir, p)} against the unpacked source (dpkg-source -x ${dsc})`,
            exitCode: 1,
          },
        );
      }
    }
  });

  await phase('version', () => {
    // Resolved inside the sandbox: the build user could have made these symlinks to host files.
    const changelog = resolveInside(sb, `${srcDir}/debian/changelog`);
    const maintainer = maintainerOf(cfg);
    fs.writeFileSync(
      changelog,
      kilnChangelog(fs.readFileSync(changelog, 'utf8'), {
        version,
        identity: inp.identity,
        sourceDateEpoch: inp.sourceDateEpoch,
        maintainer,
      }),
    );
    log(`version ${version}, changelog entry by ${maintainer}`);
  });

  await phase('build-depends', async () => {
    // With kiln's .debs, apt must run: the layer holds the archive's versions, kiln's replace them here.
    if (
      layer &&
      inp.depDebs.length === 0 &&
      (await satisfiedByLayer({ ...ctx, sb, srcDir, env: buildEnvBase, profiles: words.profiles }))
    ) {
      log(`Build-Depends satisfied by dependency layer ${layer.meta.key.slice(0, 16)} (dpkg-checkbuilddeps)`);
      return;
    }
    const needRoot = !rulesNeedNoRoot(fs.readFileSync(resolveInside(sb, `${srcDir}/debian/control`), 'utf8'));
    const binds: BindMount[] = inp.depDebs.map((d) => ({
      source: d,
      dest: `${DEBS_DIR}/${path.basename(d)}`,
      readonly: true,
    }));
    const aptOpts = aptOptions();
    const lines = ['set -e'];
    if (inp.depDebs.length > 0) {
      // kiln's .debs as a local apt source, pinned above the archive (and +kilnN sorts above the archive's version).
      fs.writeFileSync(
        sb.hostPath('/etc/apt/sources.list.d/kiln-local.list'),
        `deb [trusted=yes] file:${DEBS_DIR} ./\n`,
      );
      fs.writeFileSync(
        sb.hostPath('/etc/apt/preferences.d/kiln-local.pref'),
        'Package: *\nPin: origin ""\nPin-Priority: 990\n',
      );
      lines.push(
        `cd ${DEBS_DIR} && dpkg-scanpackages --multiversion . > Packages 2>/dev/null && cd /`,
        `apt-get update -q ${aptOpts} -o Dir::Etc::sourcelist=sources.list.d/kiln-local.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0`,
      );
    }
    const profiles = words.profiles.length > 0 ? ['-o', `APT::Build-Profiles=${words.profiles.join(',')}`] : [];
    // fakeroot unless the rules need no root; and the overlay recipe's `depends.system`, if any.
    const extra = [...(needRoot ? ['fakeroot'] : []), ...system, ...(layer ? kilnOverLayer(sb, inp.depDebs) : [])];
    // Download (archive proxy only; the local source's index is made then), then install with no network (install.ts).
    const step = (s: AptStep): string =>
      [aptLine(s, 'build-dep', [srcDir], profiles), ...(extra.length > 0 ? [aptLine(s, 'install', extra)] : [])].join(
        '\n',
      );
    let out = '';
    try {
      await installDepends({
        home: inp.home,
        binds,
        download: `${lines.join('\n')}\n${step('download')}`,
        install: step('install'),
        run: (cmd) => ctx.run(sb, cmd),
        onLine: (l) => {
          if (out.length < 200_000) out += `${l}\n`;
        },
      });
    } catch (e) {
      if (!(e instanceof ExecError)) throw e;
      const why = aptComplaint(out) || `apt-get exited with status ${e.exitStatus}`;
      throw new KilnError('KILN_E_BUILD', `the Build-Depends of ${origin} cannot be installed: ${why}`, {
        hint: 'add the missing package to the bulk (its port builds it) or patch debian/control',
        exitCode: 1,
      });
    }
  });

  await phase('build', async () => {
    // kiln.yaml ccache: true: the port's own compiler and autoconf caches (debian-cache.ts).
    const cc = inp.ccache;
    if (cc) pruneConfigureCaches(path.join(cc.dir, DEBIAN_CONFIGURE_SUBDIR));
    const binds = cc ? [...srcBinds, ccacheBind(sb, cc)] : srcBinds;
    const env = {
      ...buildEnvBase,
      ...(cc ? { PATH: `/usr/lib/ccache:${buildEnvBase.PATH}`, ...debianCcacheEnv(cc, BUILD_DIR) } : {}),
      LC_ALL: 'C.UTF-8',
      DEB_BUILD_OPTIONS: words.options.join(' '),
      DEB_BUILD_PROFILES: words.profiles.join(' '),
      KILN_ORIGIN: origin,
      KILN_VERSION: version,
      ...r.build.env,
    };
    // With ccache, this build's hits and misses after it, from its own stats log (no `ccache -z` over the cache's
    // counters first), in the same sandbox command; a failed build keeps its exit status (and prints none).
    const build = ['dpkg-buildpackage', '-b', '-uc', '-us'];
    await ctx.run(sb, {
      argv: cc ? ['sh', '-c', `${build.join(' ')} && { ccache --show-log-stats || true; }`] : build,
      user: 'build',
      network: false,
      cwd: srcDir,
      binds,
      env,
    });
  });

  return phase('package', async () => {
    const dir = sb.hostPath(BUILD_DIR);
    const changes = fs.readdirSync(dir).filter((f) => f.endsWith('.changes'));
    const texts = changes.map((c) => fs.readFileSync(resolveInside(sb, `${BUILD_DIR}/${c}`), 'utf8'));
    const names = [...new Set(texts.flatMap(changesDebs))];
    if (names.length === 0) {
      throw new KilnError('KILN_E_PACKAGE', `dpkg-buildpackage made no .deb for ${origin}`, {
        hint: 'read the build log: the .changes file names no binary package',
        exitCode: 1,
      });
    }
    fs.mkdirSync(inp.outDir, { recursive: true });
    const debs: string[] = [];
    for (const n of names) {
      const dest = path.join(inp.outDir, n);
      const from = resolveInside(sb, `${BUILD_DIR}/${n}`);
      if (!fs.statSync(from).isFile())
        throw new KilnError('KILN_E_PACKAGE', `${n} made by ${origin} is not a regular file`, { exitCode: 1 });
      fs.copyFileSync(from, `${dest}.tmp`);
      fs.renameSync(`${dest}.tmp`, dest); // never rewrite in place: the repository pool may hard-link a published file
      debs.push(dest);
    }
    const dbgsym: string[] = [];
    for (const n of cfg.debug_symbols ? [...new Set(texts.flatMap(changesDdebs))] : []) {
      const dest = path.join(inp.outDir, DBGSYM_DIR, n.replace(/\.ddeb$/, '.deb'));
      fs.rmSync(path.join(inp.outDir, n), { force: true }); // never beside the .debs the repository publishes
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const from = resolveInside(sb, `${BUILD_DIR}/${n}`);
      if (!fs.statSync(from).isFile())
        throw new KilnError('KILN_E_PACKAGE', `${n} made by ${origin} is not a regular file`, { exitCode: 1 });
      fs.copyFileSync(from, `${dest}.tmp`);
      fs.renameSync(`${dest}.tmp`, dest);
      dbgsym.push(dest);
    }
    log(
      `built ${names.join(', ')}${dbgsym.length > 0 ? `; debug symbols ${dbgsym.map((d) => path.basename(d)).join(', ')}` : ''}`,
    );
    return { debs, dbgsym };
  });
}

/**
 * The binaries of kiln's `.deb`s that the dependency layer installed in their archive version: build-dep leaves a
 * satisfied relation alone, so they are named to apt, which takes kiln's (pinned above the archive, +kilnN higher).
 */
function kilnOverLayer(sb: SandboxSession, depDebs: readonly string[]): string[] {
  const installed = new Set(readInstalled(resolveInside(sb, '/var/lib/dpkg/status')).map((p) => p.split(':')[0]!));
  const names = depDebs.map(debPackageName).filter((n) => installed.has(n));
  return [...new Set(names)].sort();
}
