/**
 * Test helpers for the repository: small real `.deb`s made with `dpkg-deb --build`, and a fresh Debian root made
 * with mmdebstrap (cached as a tarball under /var/cache/kiln-test by its parameters) where apt runs through bwrap.
 * Not part of the public surface; only tests import it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from '../util/exec.js';
import { hostMirror } from '../debian/index.js';

/** What {@link makeDeb} builds. */
export interface TestDebSpec {
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  /** What `/usr/bin/NAME` prints (a shell script). */
  readonly says?: string;
  readonly depends?: string;
  /** dpkg-deb -Z compression (default xz, dpkg's own default). */
  readonly compress?: 'xz' | 'gzip' | 'none';
  readonly description?: string;
  /** More control fields, in this order after Depends (`Multi-Arch`, `Source`, `Homepage`...). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Extra description lines (each written with its leading space). */
  readonly longDescription?: readonly string[];
}

/** Builds `DIR/NAME_VERSION_ARCH.deb` with a shell script `/usr/bin/NAME` that prints `says`. Returns its path. */
export async function makeDeb(dir: string, spec: TestDebSpec): Promise<string> {
  const arch = spec.arch ?? 'amd64';
  const root = fs.mkdtempSync(path.join(dir, '.debroot-'));
  try {
    fs.mkdirSync(path.join(root, 'DEBIAN'));
    fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
    const control = [
      `Package: ${spec.name}`,
      `Version: ${spec.version}`,
      `Architecture: ${arch}`,
      'Maintainer: kiln tests <kiln@localhost>',
      'Installed-Size: 1',
      ...(spec.depends ? [`Depends: ${spec.depends}`] : []),
      ...Object.entries(spec.fields ?? {}).map(([k, v]) => `${k}: ${v}`),
      'Section: misc',
      'Priority: optional',
      `Description: ${spec.description ?? `test program ${spec.name}`}`,
      ' Prints a line and exits.',
      ...(spec.longDescription ?? []),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(root, 'DEBIAN/control'), control);
    fs.writeFileSync(
      path.join(root, 'usr/bin', spec.name),
      `#!/bin/sh\necho '${spec.says ?? `${spec.name} ${spec.version}`}'\n`,
      { mode: 0o755 },
    );
    const out = path.join(dir, `${spec.name}_${spec.version}_${arch}.deb`);
    await run('dpkg-deb', ['--root-owner-group', `-Z${spec.compress ?? 'xz'}`, '--build', root, out]);
    return out;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Where cached Debian roots live. */
export const TEST_CACHE = '/var/cache/kiln-test';

/** A minbase Debian root tarball for `suite`/`arch` (default: the mirror's stable, as the test jail) from the host's mirror, made once and cached. */
export async function cachedRootTarball(suite = 'stable', arch = 'amd64'): Promise<string> {
  const mirror = hostMirror();
  const key = `debroot-${suite}-${arch}-minbase-${crypto.createHash('sha256').update(mirror).digest('hex').slice(0, 12)}`;
  fs.mkdirSync(TEST_CACHE, { recursive: true });
  const tarball = path.join(TEST_CACHE, `${key}.tar`);
  if (fs.existsSync(tarball)) return tarball;
  const tmp = path.join(TEST_CACHE, `${key}.tmp-${process.pid}.tar`);
  await run(
    'mmdebstrap',
    ['--variant=minbase', '--format=tar', `--architectures=${arch}`, '--quiet', suite, tmp, mirror],
    { timeoutMs: 15 * 60_000 },
  );
  fs.renameSync(tmp, tarball);
  return tarball;
}

/** A fresh, writable Debian root in a temp folder whose apt sources are emptied; `dispose()` removes it. */
export interface TestRoot {
  readonly dir: string;
  /** Runs a command inside the root (bwrap: root bind, /proc, /dev, the host's network). */
  exec(args: readonly string[], opts?: { allowFailure?: boolean }): Promise<RunResult>;
  dispose(): void;
}

/** Unpacks the cached root into a temp folder, with no apt sources (tests add theirs). */
export async function freshRoot(suite = 'stable', arch = 'amd64'): Promise<TestRoot> {
  const tarball = await cachedRootTarball(suite, arch);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-aptroot-'));
  try {
    await run('tar', ['-xf', tarball, '-C', dir]);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(path.join(dir, 'etc/apt/sources.list.d'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'etc/apt/sources.list.d'));
  fs.writeFileSync(path.join(dir, 'etc/apt/sources.list'), '');
  fs.mkdirSync(path.join(dir, 'etc/apt/keyrings'), { recursive: true });
  return {
    dir,
    exec: (args, opts) =>
      run(
        'bwrap',
        [
          '--bind',
          dir,
          '/',
          '--proc',
          '/proc',
          '--dev',
          '/dev',
          '--cap-add',
          'ALL',
          '--setenv',
          'PATH',
          '/usr/sbin:/usr/bin:/sbin:/bin',
          '--setenv',
          'DEBIAN_FRONTEND',
          'noninteractive',
          '--',
          ...args,
        ],
        { timeoutMs: 5 * 60_000, allowFailure: opts?.allowFailure },
      ),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
