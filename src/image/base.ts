/**
 * The base layer of an image: a Debian root made with mmdebstrap (minbase) for a release, its suites (those of the
 * jail: `REL`, `REL-updates`, `REL-security`), an architecture and a set of Debian packages, cached as a tarball by
 * that identity. Changing the overlay or a kiln package reuses it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import type { PhaseLogger } from '../util/phases.js';
import type { BaseSuite } from './suites.js';

/** What a base root is made of; its hash is the base's identity. */
export interface BaseSpec {
  readonly release: string;
  readonly arch: string;
  /** Debian archive URL. */
  readonly mirror: string;
  /** The suites, in order, each from its archive (default: the release alone from `mirror`). */
  readonly suites?: readonly BaseSuite[];
  /** Debian packages installed besides minbase (sorted, unique). */
  readonly include: readonly string[];
  /** `SOURCE_DATE_EPOCH` the base was made with (part of the identity: it changes the bytes). */
  readonly sourceDateEpoch?: number;
}

/** Version of the base recipe below; bump it when the mmdebstrap call changes. */
const BASE_FORMAT = 2;

/** The Debian packages a `--bootable` amd64 image needs in its base: a kernel, its initramfs tool and an init. */
export const BOOT_PACKAGES: readonly string[] = ['initramfs-tools', 'linux-image-amd64', 'systemd-sysv'];

/** Architectures `--bootable` can make a disk for: amd64 (BIOS, SYSLINUX) and arm64 (UEFI, GRUB). */
export const BOOTABLE_ARCHES: readonly string[] = ['amd64', 'arm64'];

/**
 * The Debian packages a `--bootable` image of `arch` needs in its base (pure): amd64 {@link BOOT_PACKAGES};
 * arm64 the arm64 kernel, initramfs-tools, systemd-sysv and GRUB's arm64 EFI modules (its EFI loader is made from them).
 */
export function bootPackages(arch: string): readonly string[] {
  return arch === 'arm64'
    ? ['grub-efi-arm64-bin', 'initramfs-tools', 'linux-image-arm64', 'systemd-sysv']
    : BOOT_PACKAGES;
}

/** A base spec with `include` normalized (sorted, unique) and `suites` filled in (the release alone by default). */
export function baseSpec(s: BaseSpec): BaseSpec & { readonly suites: readonly BaseSuite[] } {
  const suites = s.suites && s.suites.length > 0 ? s.suites : [{ suite: s.release, url: s.mirror }];
  return {
    ...s,
    include: [...new Set(s.include)].sort(),
    suites: suites.map((x) => ({ suite: x.suite, url: x.url.replace(/\/+$/, '') })),
  };
}

/** The apt source lines mmdebstrap is given (pure): one `deb URL SUITE main` per suite; it writes them to sources.list. */
export function baseSourceLines(s: BaseSpec): string[] {
  return baseSpec(s).suites.map((x) => `deb ${x.url} ${x.suite} main`);
}

/** The identity of a base root (pure): sha256 of its normalized spec. */
export function baseIdentity(s: BaseSpec): string {
  const n = baseSpec(s);
  const text = JSON.stringify({
    format: BASE_FORMAT,
    release: n.release,
    arch: n.arch,
    mirror: n.mirror,
    suites: n.suites.map((x) => [x.suite, x.url]),
    include: n.include,
    sourceDateEpoch: n.sourceDateEpoch ?? null,
  });
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** A cached base: its tarball and whether this call made it. */
export interface BaseRoot {
  readonly identity: string;
  readonly tarball: string;
  /** True when it was found in the cache (the image reused it). */
  readonly reused: boolean;
}

/**
 * The base root of `spec` as a tarball in `cacheDir` (`base-ID.tar`), made with mmdebstrap on first use through a
 * temporary file renamed when complete. The Debian package lists are kept in it, so the package layer resolves
 * system dependencies against the same snapshot of the archive (and needs no `apt-get update` of Debian).
 */
export async function ensureBase(
  spec: BaseSpec,
  cacheDir: string,
  log: PhaseLogger,
  signal?: AbortSignal,
): Promise<BaseRoot> {
  const s = baseSpec(spec);
  const identity = baseIdentity(s);
  const tarball = path.join(cacheDir, `base-${identity.slice(0, 32)}.tar`);
  if (fs.existsSync(tarball)) {
    log(`base ${identity.slice(0, 12)} reused from ${tarball}`);
    return { identity, tarball, reused: true };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${tarball}.tmp-${process.pid}`;
  const args = [
    '--variant=minbase',
    `--architectures=${s.arch}`,
    '--format=tar',
    '--skip=cleanup/apt/lists',
    ...(s.include.length > 0 ? [`--include=${s.include.join(',')}`] : []),
    s.release,
    tmp,
    ...baseSourceLines(s),
  ];
  log(`mmdebstrap ${args.join(' ')}`);
  const env = {
    ...process.env,
    ...(s.sourceDateEpoch !== undefined ? { SOURCE_DATE_EPOCH: String(s.sourceDateEpoch) } : {}),
  };
  let rest = '';
  try {
    await run('setpriv', ['--pdeathsig', 'KILL', '--', 'mmdebstrap', ...args], {
      env,
      signal,
      onOutput: (b) => {
        const p = (rest + b.toString()).split('\n');
        rest = p.pop()!;
        for (const l of p) log(l);
      },
    });
    fs.renameSync(tmp, tarball);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new KilnError(
      'KILN_E_IMAGE',
      `making the base root (${s.suites.map((x) => x.suite).join(' ')}/${s.arch}${s.include.length ? ` + ${s.include.join(',')}` : ''}) failed: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: "check the Debian archive in the host's apt sources and free disk space; the log has mmdebstrap's output",
        exitCode: 1,
        cause: e,
      },
    );
  }
  return { identity, tarball, reused: false };
}
