/**
 * Raw disk images without loop devices: the file is made sparse with the wanted size, partitioned with sfdisk (GPT),
 * the ext4 root is made from the root folder with `mkfs.ext4 -d` in a file of its own and copied in with
 * `dd conv=notrunc`. `--bootable` adds a FAT boot partition made with mkfs.fat and filled with mtools (kernel,
 * initrd, syslinux.cfg), SYSLINUX installed into it with `syslinux --install` on the file (mtools again, no mount),
 * and SYSLINUX's GPT MBR code in the first 440 bytes: SeaBIOS (qemu's BIOS) boots it. On arm64 the FAT partition
 * is an EFI system partition holding GRUB's EFI loader (made by the image's own grub-mkimage): UEFI boots it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec.js';
import { KilnError } from '../util/errors.js';

/** One partition, in 512-byte sectors. */
export interface PartitionSpan {
  readonly start: number;
  readonly sectors: number;
}

/** Where the partitions of a raw image go. */
export interface RawLayout {
  readonly totalSectors: number;
  /** The FAT boot partition (only `--bootable`). */
  readonly boot?: PartitionSpan;
  readonly root: PartitionSpan;
}

const MIB = 2048; // sectors
/** Size of the boot partition of `--bootable` images. */
export const BOOT_PARTITION_MIB = 256;

/** GPT type of the root partition per Debian architecture (Discoverable Partitions), else Linux filesystem. */
const ROOT_TYPE: Readonly<Record<string, string>> = {
  amd64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  arm64: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
};
const LINUX_FS = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C91EC93B';

/** The partition layout of an image of `sizeBytes` (pure): 1 MiB aligned, the last MiB left for GPT's backup. */
export function rawLayout(sizeBytes: number, bootable: boolean): RawLayout {
  const totalSectors = Math.floor(sizeBytes / (512 * MIB)) * MIB;
  let start = MIB;
  const boot = bootable ? { start, sectors: BOOT_PARTITION_MIB * MIB } : undefined;
  if (boot) start += boot.sectors;
  const root = { start, sectors: totalSectors - MIB - start };
  if (root.sectors < 64 * MIB) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `--size ${sizeBytes} bytes leaves ${Math.max(0, root.sectors / MIB)} MiB for the root partition`,
      {
        hint: `give --size of at least ${(start + 65 * MIB) / MIB}M`,
        exitCode: 2,
      },
    );
  }
  return { totalSectors, ...(boot ? { boot } : {}), root };
}

/** A UUID derived from `seed` and `what` (pure): images made from the same inputs get the same ids. */
export function seededUuid(seed: string, what: string): string {
  const h = crypto.createHash('sha256').update(`${seed}\0${what}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The ids an image's partitions and filesystems get. */
export interface RawIds {
  readonly disk: string;
  readonly boot: string;
  readonly root: string;
  readonly rootFs: string;
  readonly hashSeed: string;
  /** FAT volume id, 8 hex digits. */
  readonly bootVolume: string;
}

/** The ids for `seed` (pure). */
export function rawIds(seed: string): RawIds {
  return {
    disk: seededUuid(seed, 'disk'),
    boot: seededUuid(seed, 'boot'),
    root: seededUuid(seed, 'root'),
    rootFs: seededUuid(seed, 'rootfs'),
    hashSeed: seededUuid(seed, 'hash'),
    bootVolume: seededUuid(seed, 'fat').slice(0, 8),
  };
}

/** sfdisk's input for a layout (pure). */
export function sfdiskScript(l: RawLayout, ids: RawIds, arch: string): string {
  const lines = ['label: gpt', `label-id: ${ids.disk}`, 'unit: sectors', 'sector-size: 512', ''];
  // amd64 boots by BIOS (SYSLINUX's gptmbr.bin looks for the LegacyBIOSBootable partition), arm64 by UEFI (the ESP type).
  if (l.boot)
    lines.push(
      `start=${l.boot.start}, size=${l.boot.sectors}, type=${ESP}, uuid=${ids.boot}, name="kiln-boot"${arch === 'amd64' ? ', attrs="LegacyBIOSBootable"' : ''}`,
    );
  lines.push(
    `start=${l.root.start}, size=${l.root.sectors}, type=${ROOT_TYPE[arch] ?? LINUX_FS}, uuid=${ids.root}, name="kiln-root"`,
  );
  return `${lines.join('\n')}\n`;
}

/** SYSLINUX's configuration: the kernel on the serial console and the screen, the root by PARTUUID (pure). */
export function syslinuxConfig(rootPartUuid: string): string {
  return [
    'SERIAL 0 115200',
    'DEFAULT kiln',
    'PROMPT 0',
    'TIMEOUT 10',
    'LABEL kiln',
    '  LINUX /vmlinuz',
    '  INITRD /initrd.img',
    `  APPEND root=PARTUUID=${rootPartUuid} rw console=tty0 console=ttyS0,115200`,
    '',
  ].join('\n');
}

/** The FAT label of the boot partition (GRUB finds it by this). */
export const BOOT_LABEL = 'KILNBOOT';

/**
 * GRUB's configuration embedded in the arm64 EFI loader (pure): the boot partition found by its label, the kernel
 * and initrd from it, the root by PARTUUID, the console on the PL011 serial port (qemu virt's) and the screen.
 */
export function grubConfig(rootPartUuid: string): string {
  return [
    'set timeout=0',
    `search --no-floppy --set=root --label ${BOOT_LABEL}`,
    "echo 'kiln: GRUB loads the kernel'",
    `linux /vmlinuz root=PARTUUID=${rootPartUuid} rw console=tty0 console=ttyAMA0,115200`,
    'initrd /initrd.img',
    'boot',
    '',
  ].join('\n');
}

/** GRUB modules built into the arm64 EFI loader. */
const GRUB_MODULES = [
  'part_gpt',
  'fat',
  'ext2',
  'linux',
  'normal',
  'search',
  'search_label',
  'echo',
  'configfile',
  'gzio',
  'all_video',
];

/** The newest kernel and its initrd in the root's /boot. */
export function findKernel(root: string): { kernel: string; initrd: string } {
  const boot = path.join(root, 'boot');
  const kernels = (fs.existsSync(boot) ? fs.readdirSync(boot) : []).filter((n) => n.startsWith('vmlinuz-')).sort();
  const k = kernels[kernels.length - 1];
  const initrd = k ? path.join(boot, `initrd.img-${k.slice('vmlinuz-'.length)}`) : '';
  if (!k || !fs.existsSync(initrd)) {
    throw new KilnError('KILN_E_IMAGE', `no kernel with an initrd in ${boot}`, {
      hint: 'a --bootable image installs linux-image-ARCH and initramfs-tools in its base; remove the cached base if it was made without them',
      exitCode: 1,
    });
  }
  return { kernel: path.join(boot, k), initrd };
}

/** What {@link makeRaw} makes. */
export interface RawOptions {
  readonly root: string;
  readonly out: string;
  readonly sizeBytes: number;
  readonly bootable: boolean;
  readonly arch: string;
  /** Seed of the partition and filesystem ids. */
  readonly seed: string;
  /** Work folder for the filesystem files (removed by the caller). */
  readonly work: string;
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
}

/** Makes the raw disk image `out` from the root folder (writes /etc/fstab into the root first). */
export async function makeRaw(o: RawOptions): Promise<RawLayout> {
  const layout = rawLayout(o.sizeBytes, o.bootable);
  const ids = rawIds(o.seed);
  const env = {
    ...process.env,
    ...(o.sourceDateEpoch !== undefined
      ? { E2FSPROGS_FAKE_TIME: String(o.sourceDateEpoch), SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) }
      : {}),
  };
  const used = Number((await run('du', ['-sxb', o.root])).stdout.split('\t')[0]);
  if (used > layout.root.sectors * 512 * 0.9) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `the root (${Math.ceil(used / 1048576)} MiB) does not fit its ${layout.root.sectors / MIB} MiB partition`,
      {
        hint: `give a larger --size (at least ${Math.ceil((used / 0.85 + (layout.root.start + MIB) * 512) / 1048576)}M)`,
        exitCode: 1,
      },
    );
  }
  fs.writeFileSync(
    path.join(o.root, 'etc/fstab'),
    `# made by kiln image\nPARTUUID=${ids.root} / ext4 rw,errors=remount-ro 0 1\n`,
  );
  fs.rmSync(o.out, { force: true });
  fs.writeFileSync(o.out, '');
  fs.truncateSync(o.out, layout.totalSectors * 512);
  await run('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', o.out], {
    input: sfdiskScript(layout, ids, o.arch),
    signal: o.signal,
  });
  const rootFs = path.join(o.work, 'root.ext4');
  try {
    await run(
      'mkfs.ext4',
      [
        '-q',
        '-F',
        '-L',
        'kiln-root',
        '-U',
        ids.rootFs,
        '-E',
        `hash_seed=${ids.hashSeed}`,
        '-b',
        '4096',
        '-d',
        o.root,
        rootFs,
        `${layout.root.sectors / 2}k`,
      ],
      { env, signal: o.signal },
    );
  } catch (e) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `mkfs.ext4 -d could not make the root filesystem: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: 'give a larger --size',
        exitCode: 1,
        cause: e,
      },
    );
  }
  if (o.sourceDateEpoch !== undefined) await pinInodeTimes(rootFs, o.root, o.sourceDateEpoch, env, o.work, o.signal);
  await ddInto(rootFs, o.out, layout.root.start, o.signal);
  fs.rmSync(rootFs, { force: true });
  if (layout.boot) await bootPartition(o, layout.boot, ids, env);
  return layout;
}

/** One path of the root and its mtime in seconds, as {@link inodeTimeScript} wants it. */
export interface RootEntry {
  /** Absolute in the image (`/`, `/etc/hostname`). */
  readonly path: string;
  readonly mtime: number;
}

/**
 * A path as one debugfs argument (pure): in double quotes, a quote doubled (debugfs's parser reads `""` inside
 * quotes as one `"`; a backslash is an ordinary character, as in systemd's `system-systemd\x2dcryptsetup.slice`).
 * A newline cannot be said in debugfs's line-based script: such a name is refused.
 */
export function debugfsQuote(p: string): string {
  if (p.includes('\n')) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `cannot pin the times of ${JSON.stringify(p)} in a reproducible raw image (a newline in its name)`,
      {
        hint: 'rename it, or unset SOURCE_DATE_EPOCH',
        exitCode: 1,
      },
    );
  }
  return `"${p.replace(/"/g, '""')}"`;
}

/**
 * debugfs commands (pure) that give every entry atime = ctime = `sde` and clamp its mtime to `sde`: `mkfs.ext4 -d`
 * (e2fsprogs 1.47.0) copies atime and ctime from the source folder, and ctime cannot be set there.
 */
export function inodeTimeScript(entries: readonly RootEntry[], sde: number): string {
  const lines: string[] = [];
  for (const e of entries) {
    const q = debugfsQuote(e.path);
    lines.push(`sif ${q} atime @${sde}`, `sif ${q} ctime @${sde}`);
    if (e.mtime > sde) lines.push(`sif ${q} mtime @${sde}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every entry of `root` (itself included), depth first in name order, with its mtime (lstat: links not followed). */
export function rootEntries(root: string): RootEntry[] {
  const out: RootEntry[] = [];
  const walk = (dir: string, rel: string): void => {
    out.push({ path: rel === '' ? '/' : rel, mtime: Math.floor(fs.lstatSync(dir).mtimeMs / 1000) });
    for (const d of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, d.name);
      if (d.isDirectory()) walk(full, `${rel}/${d.name}`);
      else out.push({ path: `${rel}/${d.name}`, mtime: Math.floor(fs.lstatSync(full).mtimeMs / 1000) });
    }
  };
  walk(root, '');
  return out;
}

/** Pins the times of every inode `root` was copied into in the ext4 file `fsFile` (debugfs -w), for byte-identical images. */
async function pinInodeTimes(
  fsFile: string,
  root: string,
  sde: number,
  env: NodeJS.ProcessEnv,
  work: string,
  signal?: AbortSignal,
): Promise<void> {
  const script = path.join(work, 'times.debugfs');
  fs.writeFileSync(script, inodeTimeScript(rootEntries(root), sde));
  const r = await run('debugfs', ['-w', '-f', script, fsFile], { env, signal, timeoutMs: 30 * 60_000 });
  // debugfs exits 0 whatever its commands did: any line on stderr but its banner is a failed command.
  const errors = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^debugfs \d/.test(l));
  if (errors.length > 0) {
    throw new KilnError(
      'KILN_E_IMAGE',
      `debugfs could not pin the inode times of the root filesystem: ${errors.slice(0, 3).join('; ')}`,
      { exitCode: 1 },
    );
  }
  fs.rmSync(script, { force: true });
}

/** Copies `file` into `image` at sector `start`, keeping holes and the rest of the image. */
async function ddInto(file: string, image: string, start: number, signal?: AbortSignal): Promise<void> {
  await run('dd', [`if=${file}`, `of=${image}`, 'bs=1M', `seek=${start / MIB}`, 'conv=notrunc,sparse', 'status=none'], {
    signal,
  });
}

/** The FAT boot partition with kernel, initrd and SYSLINUX, and SYSLINUX's GPT MBR code. */
async function bootPartition(o: RawOptions, span: PartitionSpan, ids: RawIds, env: NodeJS.ProcessEnv): Promise<void> {
  const { kernel, initrd } = findKernel(o.root);
  const fat = path.join(o.work, 'boot.fat');
  fs.rmSync(fat, { force: true });
  // --invariant: a fixed time on the volume label's entry (-i still sets the volume id); mtools takes SOURCE_DATE_EPOCH.
  await run(
    'mkfs.fat',
    [
      ...(o.sourceDateEpoch !== undefined ? ['--invariant'] : []),
      '-F',
      '32',
      '-n',
      BOOT_LABEL,
      '-i',
      ids.bootVolume,
      '-h',
      String(span.start),
      '-C',
      fat,
      String(span.sectors / 2),
    ],
    { env },
  );
  const mtoolsEnv = { ...env, MTOOLS_SKIP_CHECK: '1' };
  for (const [src, dst] of [
    [kernel, 'vmlinuz'],
    [initrd, 'initrd.img'],
  ] as const) {
    await run('mcopy', ['-i', fat, '-o', src, `::/${dst}`], { env: mtoolsEnv });
  }
  if (o.arch === 'arm64') {
    await grubEfi(o, fat, ids, mtoolsEnv);
  } else {
    const cfg = path.join(o.work, 'syslinux.cfg');
    fs.writeFileSync(cfg, syslinuxConfig(ids.root));
    await run('mcopy', ['-i', fat, '-o', cfg, '::/syslinux.cfg'], { env: mtoolsEnv });
    await run('syslinux', ['--install', fat], { env: mtoolsEnv });
  }
  await ddInto(fat, o.out, span.start, o.signal);
  fs.rmSync(fat, { force: true });
  if (o.arch === 'arm64') return;
  const mbr = ['/usr/lib/syslinux/mbr/gptmbr.bin', '/usr/share/syslinux/gptmbr.bin'].find((f) => fs.existsSync(f));
  if (!mbr)
    throw new KilnError('KILN_E_IMAGE', "SYSLINUX's gptmbr.bin is not installed", {
      hint: 'apt-get install syslinux-common',
      exitCode: 1,
    });
  await run('dd', [`if=${mbr}`, `of=${o.out}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
}

/**
 * arm64 (UEFI): GRUB's EFI loader made by the image's own `grub-mkimage` (grub-efi-arm64-bin, run in the root
 * through chroot, so under qemu-user on an amd64 host) with {@link grubConfig} built in, copied to the removable
 * media path `/EFI/BOOT/BOOTAA64.EFI` that UEFI firmware boots without any NVRAM entry.
 */
async function grubEfi(o: RawOptions, fat: string, ids: RawIds, mtoolsEnv: NodeJS.ProcessEnv): Promise<void> {
  if (!fs.existsSync(path.join(o.root, 'usr/lib/grub/arm64-efi'))) {
    throw new KilnError('KILN_E_IMAGE', "GRUB's arm64 EFI modules are not in the image root", {
      hint: 'a --bootable arm64 image installs grub-efi-arm64-bin in its base; remove the cached base if it was made without it',
      exitCode: 1,
    });
  }
  const tag = `kiln-grub-${process.pid}`;
  const cfgIn = path.join(o.root, 'tmp', `${tag}.cfg`);
  const efiIn = path.join(o.root, 'tmp', `${tag}.efi`);
  fs.writeFileSync(cfgIn, grubConfig(ids.root));
  try {
    await run(
      'chroot',
      [
        o.root,
        'grub-mkimage',
        '-O',
        'arm64-efi',
        '-o',
        `/tmp/${tag}.efi`,
        '-c',
        `/tmp/${tag}.cfg`,
        '-p',
        '/EFI/BOOT',
        ...GRUB_MODULES,
      ],
      { env: mtoolsEnv, signal: o.signal, timeoutMs: 10 * 60_000 },
    );
    await run('mmd', ['-i', fat, '::/EFI', '::/EFI/BOOT'], { env: mtoolsEnv });
    await run('mcopy', ['-i', fat, '-o', efiIn, '::/EFI/BOOT/BOOTAA64.EFI'], { env: mtoolsEnv });
  } finally {
    fs.rmSync(cfgIn, { force: true });
    fs.rmSync(efiIn, { force: true });
  }
}
