/**
 * `kiln image`: a Debian root for a jail's release and architecture with kiln's packages installed, packed as tar,
 * squashfs or a raw GPT disk. Phases: check → base (cached by identity) → unpack → packages → overlay →
 * configure → pack, with the work folder removed whatever happens.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { have } from '../util/exec.js';
import { KilnError } from '../util/errors.js';
import { PhaseFailure, Procedure, type PhaseLogger, type PhaseTiming } from '../util/phases.js';
import { BOOTABLE_ARCHES, bootPackages, ensureBase } from './base.js';
import { imageSuites } from './suites.js';
import {
  copyOverlay,
  installPackages,
  removeVolatile,
  repoGeneration,
  repoPackages,
  setHostname,
  unpackBase,
} from './root.js';
import { packSquashfs, packTar } from './pack.js';
import { makeRaw } from './raw.js';

/** Output formats. */
export const IMAGE_TYPES = ['tar', 'squashfs', 'raw'] as const;
/** One of {@link IMAGE_TYPES}. */
export type ImageType = (typeof IMAGE_TYPES)[number];

/** The jail fields an image uses: the release, the architecture and the archive of its base. */
export interface ImageJail {
  readonly name: string;
  readonly release: string;
  readonly arch: string;
  readonly mirror: string;
  /** The jail's root: the base takes the suites of its apt sources (default: those the archives carry for the release). */
  readonly path?: string;
}

/** What {@link buildImage} makes. */
export interface ImageOptions {
  readonly home: string;
  readonly jail: ImageJail;
  /** The tree's name: the repository is that of (jail, tree). */
  readonly tree: string;
  /** kiln package names to install (their dependencies come along). */
  readonly packages: readonly string[];
  readonly type: ImageType;
  /** The image file to write (replaced atomically). */
  readonly output: string;
  /** A folder copied on top of the root after the packages. */
  readonly overlay?: string;
  /** Size of a raw image (default 2 GiB). */
  readonly sizeBytes?: number;
  /** /etc/hostname (default `kiln`). */
  readonly hostname?: string;
  /** raw only: a kernel, an initrd, an init and a bootloader (amd64: SYSLINUX for BIOS; arm64: GRUB for UEFI), so that the disk boots. */
  readonly bootable?: boolean;
  /** Extra Debian packages in the base layer. */
  readonly debianPackages?: readonly string[];
  /** Clamp times to this (seconds since 1970) for byte-identical images; default `SOURCE_DATE_EPOCH` if set. */
  readonly sourceDateEpoch?: number;
  /** Where base roots are cached (default `HOME/cache/image-bases`). */
  readonly baseCache?: string;
  readonly signal?: AbortSignal;
}

/** What {@link buildImage} made. */
export interface ImageResult {
  readonly output: string;
  readonly bytes: number;
  /** The base layer's identity and whether it came from the cache. */
  readonly base: { readonly identity: string; readonly reused: boolean };
  readonly timings: readonly PhaseTiming[];
}

/** The tools each image type needs (program → Debian package). */
const TOOLS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  tar: [['tar', 'tar']],
  squashfs: [['mksquashfs', 'squashfs-tools']],
  raw: [
    ['sfdisk', 'fdisk'],
    ['mkfs.ext4', 'e2fsprogs'],
  ],
  'bootable-amd64': [
    ['mkfs.fat', 'dosfstools'],
    ['mcopy', 'mtools'],
    ['syslinux', 'syslinux syslinux-common'],
  ],
  'bootable-arm64': [
    ['mkfs.fat', 'dosfstools'],
    ['mcopy', 'mtools'],
    ['mmd', 'mtools'],
  ],
};

/** `SOURCE_DATE_EPOCH` from the environment as a number, or undefined. */
export function envSourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v))
    throw new KilnError('KILN_E_USAGE', `SOURCE_DATE_EPOCH=${v} is not a number of seconds`, { exitCode: 2 });
  return Number(v);
}

async function check(o: ImageOptions): Promise<string> {
  if (!IMAGE_TYPES.includes(o.type))
    throw new KilnError('KILN_E_USAGE', `unknown image type "${o.type}"`, {
      hint: `use ${IMAGE_TYPES.join(', ')}`,
      exitCode: 2,
    });
  if (o.bootable && o.type !== 'raw') throw new KilnError('KILN_E_USAGE', '--bootable needs -t raw', { exitCode: 2 });
  if (o.bootable && !BOOTABLE_ARCHES.includes(o.jail.arch)) {
    throw new KilnError(
      'KILN_E_USAGE',
      `--bootable images are made for ${BOOTABLE_ARCHES.join(' and ')} only (jail ${o.jail.name} is ${o.jail.arch})`,
      {
        hint: `make a tar or squashfs root for ${o.jail.arch}, or a raw image without --bootable${o.jail.arch === 'arm64' ? ' (arm64 UEFI boot with GRUB is not done yet)' : ''}`,
        exitCode: 2,
      },
    );
  }
  if (!fs.existsSync(path.dirname(path.resolve(o.output)))) {
    throw new KilnError('KILN_E_USAGE', `the folder of -o ${o.output} does not exist`, { exitCode: 2 });
  }
  const missing: string[] = [];
  for (const [cmd, pkg] of [...TOOLS[o.type]!, ...(o.bootable ? (TOOLS[`bootable-${o.jail.arch}`] ?? []) : [])])
    if (!(await have(cmd))) missing.push(pkg);
  if (missing.length > 0) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `-t ${o.type}${o.bootable ? ' --bootable' : ''} needs programs that are not installed`,
      {
        hint: `apt-get install --no-install-recommends ${missing.join(' ')} (see \`kiln doctor\`)`,
        exitCode: 1,
      },
    );
  }
  const gen = repoGeneration(o.home, o.jail.name, o.tree);
  const have_ = repoPackages(gen, o.jail.name, o.jail.arch);
  const absent = o.packages.filter((p) => !have_.has(p));
  if (absent.length > 0) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `not in the repository of jail ${o.jail.name} and tree ${o.tree}: ${absent.join(', ')}`,
      {
        hint: `build them first: kiln bulk -j ${o.jail.name} -p ${o.tree} ${absent.length === 1 ? 'ORIGIN' : '-f LIST'}`,
        exitCode: 1,
      },
    );
  }
  return gen;
}

/** Makes the image. The base layer is reused from the cache when its identity matches. */
export async function buildImage(o: ImageOptions, log: PhaseLogger): Promise<ImageResult> {
  const proc = new Procedure(log);
  const sde = o.sourceDateEpoch ?? envSourceDateEpoch();
  const work = path.join(o.home, 'tmp', `image-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const root = path.join(work, 'root');
  const tmpOut = `${path.resolve(o.output)}.tmp-${process.pid}`;
  try {
    const gen = await proc.phase('check', () => check(o));
    proc.defer('remove work folder', () => fs.rmSync(work, { recursive: true, force: true }));
    proc.defer('remove partial output', () => fs.rmSync(tmpOut, { force: true }));
    const base = await proc.phase('base', async () =>
      ensureBase(
        {
          release: o.jail.release,
          arch: o.jail.arch,
          mirror: o.jail.mirror,
          suites: await imageSuites(o.jail, log, o.signal),
          sourceDateEpoch: sde,
          include: [...(o.debianPackages ?? []), ...(o.bootable ? bootPackages(o.jail.arch) : [])],
        },
        o.baseCache ?? path.join(o.home, 'cache', 'image-bases'),
        log,
        o.signal,
      ),
    );
    await proc.phase('unpack', () => unpackBase(base.tarball, root));
    await proc.phase('packages', () =>
      installPackages({ root, generation: gen, suite: o.jail.name, packages: o.packages, log, signal: o.signal }),
    );
    if (o.overlay !== undefined) await proc.phase('overlay', () => copyOverlay(o.overlay!, root));
    await proc.phase('configure', () => {
      setHostname(root, o.hostname ?? 'kiln');
      removeVolatile(root);
    });
    await proc.phase(`pack-${o.type}`, async () => {
      if (o.type === 'tar') await packTar(root, tmpOut, sde, o.signal);
      else if (o.type === 'squashfs') await packSquashfs(root, tmpOut, sde, o.signal);
      else {
        const seed = JSON.stringify({
          base: base.identity,
          packages: [...o.packages].sort(),
          hostname: o.hostname ?? 'kiln',
          size: o.sizeBytes,
          sde,
        });
        await makeRaw({
          root,
          out: tmpOut,
          sizeBytes: o.sizeBytes ?? 2 * 1024 ** 3,
          bootable: o.bootable ?? false,
          arch: o.jail.arch,
          seed,
          work,
          sourceDateEpoch: sde,
          signal: o.signal,
        });
      }
      fs.renameSync(tmpOut, o.output);
    });
    return {
      output: o.output,
      bytes: fs.statSync(o.output).size,
      base: { identity: base.identity, reused: base.reused },
      timings: proc.timings,
    };
  } catch (e) {
    if (e instanceof PhaseFailure) {
      const c = e.cause;
      const msg = `making the image failed in phase ${e.phase}: ${c instanceof Error ? c.message : String(c)}`;
      throw c instanceof KilnError
        ? new KilnError(c.code, msg, { hint: c.hint, exitCode: c.exitCode, cause: c })
        : new KilnError('KILN_E_IMAGE', msg, { exitCode: 1, cause: c });
    }
    throw e;
  } finally {
    await proc.close();
  }
}
